"""Load: committed form submissions per second, the portal beside a bare Flask + sqlite3 app.

Starts `portal serve` (gunicorn, a temporary database and uploads folder, rate limits off)
and bench/bare_app.py (the same gunicorn settings, one INSERT per POST) on loopback, then
for each target runs a closed loop (N clients posting back to back for a fixed time) and an
open loop (a fixed rate; latency measured from each request's scheduled start, so a server
that falls behind is not hidden by a client that waits for it). Only the committing POST is
measured, and only its success redirect counts: anything else is an error. At the end the
rows in each SQLite file are counted against the committed POSTs.

    .venv/bin/python bench/load.py [--closed-seconds 15] [--rate 300] [--open-seconds 10]

Bounded: it stops itself (servers included) after --time-limit seconds whatever happens.
"""

import argparse
import collections
import http.client
import itertools
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = secrets.token_hex(32)  # one per run, shared by the servers it starts
TIMEOUT = 10.0
FORM = "application/x-www-form-urlencoded"
CSRF = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]*)"')

# The fields a browser sends, as in tests/forms (valid values: national ID 1000000008, …).
# The fields a browser sends: one list, shared with the crash test.
from crashlib import (  # noqa: E402 - bench/ on sys.path
    ASSISTANCE,
    VOLUNTEER,
    code_version,
    machine,
    real_pdf,
    real_png,
)

PDF = real_pdf("load")  # real documents: the portal parses PDFs and re-encodes photos
PNG = real_png("load")
DOCUMENTS = [
    ("documents-id_card", "id.pdf", "application/pdf", PDF),
    ("documents-death_certificate", "death.pdf", "application/pdf", PDF),
    ("documents-family_record", "family.png", "image/png", PNG),
]


# ---------------------------------------------------------------- HTTP


class Client:
    """One keep-alive connection and one cookie jar, as one browser tab."""

    def __init__(self, port: int):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body=None, content_type=FORM):
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = content_type
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except BaseException:
            self.conn.close()  # the next request opens a new connection
            raise
        for header in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value:
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        if response.will_close:
            self.conn.close()
        return response.status, urlsplit(response.getheader("Location", "")).path, data

    def close(self):
        self.conn.close()


def csrf_token(page: bytes) -> str:
    tag = CSRF.search(page.decode())
    value = VALUE.search(tag.group(0)) if tag else None
    if not value:
        raise RuntimeError("no csrf_token on the page")
    return value.group(1)


def multipart(fields: list, files: list) -> tuple[bytes, str]:
    boundary = "----load" + secrets.token_hex(12)
    parts = []
    for name, value in fields:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for name, filename, content_type, content in files:
        parts.append(
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'
            ).encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------- targets


class Target:
    """What one client does before it is timed (setup) and the body of each timed POST."""

    name = ""
    port = 0
    path = ""
    done = ""

    def setup(self, client: Client) -> None:
        pass

    def body(self, client: Client) -> bytes | None:
        raise NotImplementedError


class Bare(Target):
    name = "bare Flask + sqlite3"
    path = "/submit"
    done = "/done"
    payload = urlencode(VOLUNTEER).encode()

    def body(self, client):
        return self.payload


class Volunteer(Target):
    """One GET per client (cookie + CSRF token), then POSTs each with a new form_key."""

    name = "portal: volunteer"
    path = "/forms/volunteer/"
    done = "/forms/volunteer/done"

    def setup(self, client):
        status, _, page = client.request("GET", self.path)
        if status != 200:
            raise RuntimeError(f"GET {self.path}: {status}")
        client.fields = urlencode([*VOLUNTEER, ("csrf_token", csrf_token(page))])

    def body(self, client):
        return f"{client.fields}&form_key={secrets.token_urlsafe(18)}".encode()


class Assistance(Target):
    """The final, committing POST of check-your-answers; each one uses a prepared draft."""

    name = "portal: support request"
    path = "/forms/assistance/check"
    done = "/forms/assistance/done"

    def __init__(self):
        self.drafts: collections.deque = collections.deque()
        self.prepared = 0
        self.prep_errors: collections.Counter = collections.Counter()
        self.prep_seconds = 0.0

    def body(self, client):
        try:
            cookies, token = self.drafts.popleft()
        except IndexError:
            return None
        client.cookies = cookies  # one cookie jar per draft
        return urlencode([("csrf_token", token), ("attestation", "y"), ("consent", "y")]).encode()

    def prepare(self, count: int, threads: int, deadline: float) -> None:
        """Drafts with the three documents, posted as a browser would; not timed."""
        counter = itertools.count()
        started = time.perf_counter()

        def run():
            client = Client(self.port)
            try:
                while next(counter) < count and time.perf_counter() < deadline:
                    # A new visitor each time: opening the form gives the session its own
                    # draft (one draft per browser, as a person has).
                    client.cookies = {}
                    try:
                        status, _, page = client.request("GET", "/forms/assistance/")
                        token = csrf_token(page)
                        body, content_type = multipart(
                            [*ASSISTANCE, ("csrf_token", token)], DOCUMENTS
                        )
                        status, location, _ = client.request(
                            "POST", "/forms/assistance/", body, content_type
                        )
                    except (OSError, http.client.HTTPException) as error:
                        self.prep_errors[type(error).__name__] += 1
                        continue
                    if status == 302 and location == "/forms/assistance/check":
                        self.drafts.append((dict(client.cookies), token))
                    else:
                        self.prep_errors[f"{status} {location}".strip()] += 1
            finally:
                client.close()

        workers = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(max(0.0, deadline - time.perf_counter()) + TIMEOUT)
        self.prepared += len(self.drafts)
        self.prep_seconds += time.perf_counter() - started


# ---------------------------------------------------------------- phases


@dataclass
class Phase:
    target: str
    label: str
    kind: str  # "closed" or "open"
    seconds: float = 0.0
    latencies: list = field(default_factory=list)  # seconds, committed requests only
    service: list = field(default_factory=list)  # open loop: from send, committed only
    errors: collections.Counter = field(default_factory=collections.Counter)
    server_cpu: float = 0.0  # seconds, the target's gunicorn (master and workers)
    client_cpu: float = 0.0  # seconds, this process
    other_cpu: float = 0.0  # seconds, every other process on the machine

    @property
    def cpu(self) -> dict:
        return {"server": self.server_cpu, "client": self.client_cpu, "rest": self.other_cpu}

    @property
    def committed(self) -> int:
        return len(self.latencies)

    @property
    def requests(self) -> int:
        return self.committed + sum(self.errors.values())

    @property
    def rate(self) -> float:
        return self.committed / self.seconds if self.seconds else 0.0


def percentile(values: list, p: float) -> float:
    """Nearest rank, in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000


def post(client: Client, target: Target, body: bytes) -> str:
    """'' when the POST committed (the success redirect), else what went wrong."""
    try:
        status, location, _ = client.request("POST", target.path, body)
    except (OSError, http.client.HTTPException) as error:
        return type(error).__name__
    if status == 302 and location == target.done:
        return ""
    return f"{status} {location}".strip()


def _start_clients(target: Target, count: int, run, go) -> tuple[list, threading.Barrier, list]:
    """Threads that each set up a client, wait for all, then call run(client, out).

    go() runs once, when every client is set up and before any is released: it starts the
    clock, so setting up (a GET per client) is never inside the timed phase.
    """
    barrier = threading.Barrier(count + 1, action=go, timeout=60)
    outputs = [
        {"latencies": [], "service": [], "errors": collections.Counter(), "end": 0.0}
        for _ in range(count)
    ]

    def thread(out):
        client = Client(target.port)
        try:
            try:
                target.setup(client)
            except (OSError, http.client.HTTPException, RuntimeError) as error:
                out["errors"][f"setup: {type(error).__name__}"] += 1
                barrier.wait()
                return
            barrier.wait()
            run(client, out)
        finally:
            client.close()

    threads = [threading.Thread(target=thread, args=(out,), daemon=True) for out in outputs]
    for t in threads:
        t.start()
    return threads, barrier, outputs


def _collect(phase: Phase, threads: list, outputs: list, started: float, limit: float) -> Phase:
    for t in threads:
        t.join(max(0.0, limit - time.perf_counter()))
    for out in outputs:
        phase.latencies += out["latencies"]
        phase.service += out["service"]
        phase.errors += out["errors"]
    phase.seconds = max([started, *(out["end"] for out in outputs)]) - started
    return phase


def closed_loop(target: Target, clients: int, seconds: float) -> Phase:
    """`clients` connections posting back to back until the time is up (or drafts run out)."""
    stop = [0.0]

    def run(client, out):
        while time.perf_counter() < stop[0]:
            body = target.body(client)
            if body is None:
                return
            sent = time.perf_counter()
            outcome = post(client, target, body)
            out["end"] = time.perf_counter()
            if outcome:
                out["errors"][outcome] += 1
            else:
                out["latencies"].append(out["end"] - sent)

    def go():
        stop[0] = time.perf_counter() + seconds

    threads, barrier, outputs = _start_clients(target, clients, run, go)
    barrier.wait()
    started = stop[0] - seconds
    phase = Phase(target.name, f"closed, {clients} clients", "closed")
    return _collect(phase, threads, outputs, started, stop[0] + 2 * TIMEOUT)


def open_loop(target: Target, rate: float, seconds: float, workers: int) -> Phase:
    """`rate` POSTs a second on a fixed schedule, whatever the server's answers take."""
    total = round(rate * seconds)
    counter = itertools.count()
    start = [0.0]
    grace = 5.0  # a request not sent this long after the schedule ended is counted lost

    def run(client, out):
        while (i := next(counter)) < total:
            scheduled = start[0] + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            elif time.perf_counter() > start[0] + seconds + grace:
                out["errors"]["not sent: every connection still waiting"] += 1
                continue
            body = target.body(client)
            if body is None:
                out["errors"]["no prepared draft"] += 1
                continue
            sent = time.perf_counter()
            outcome = post(client, target, body)
            out["end"] = end = time.perf_counter()
            if outcome:
                out["errors"][outcome] += 1
            else:
                out["latencies"].append(end - scheduled)
                out["service"].append(end - sent)

    def go():
        start[0] = time.perf_counter() + 0.01

    threads, barrier, outputs = _start_clients(target, workers, run, go)
    barrier.wait()
    phase = Phase(target.name, f"open, {rate:g}/s", "open")
    return _collect(phase, threads, outputs, start[0], start[0] + seconds + grace + 2 * TIMEOUT)


# ---------------------------------------------------------------- servers


def group_cpu(pgid: int) -> float:
    """CPU seconds (user + system) of the live processes in a process group, from /proc."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy (every core), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """The two gunicorns, each in its own process group; stopped on exit, always."""

    def __init__(self, tmp: Path, workers: int):
        self.tmp = tmp
        self.workers = workers
        self.procs: list[subprocess.Popen] = []
        self.portal_db = tmp / "portal.sqlite3"
        self.bare_db = tmp / "bare.sqlite3"
        self.portal_port = free_port()
        self.bare_port = free_port()

    def _start(self, name: str, args: list, env: dict) -> None:
        log = (self.tmp / f"{name}.log").open("wb")
        self.procs.append(
            subprocess.Popen(
                args,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def start(self) -> None:
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
        env.pop("PORTAL_SMTP_HOST", None)  # no mail: the outbox stays empty
        self._start(
            "portal",
            [sys.executable, "-m", "forms_service.cli", "serve", "--workers", str(self.workers)],
            dict(
                env,
                PORT=str(self.portal_port),
                PORTAL_DB=str(self.portal_db),
                PORTAL_UPLOADS=str(self.tmp / "uploads"),
                PORTAL_VAR=str(self.tmp / "var"),
                PORTAL_RATE_LIMIT="off",
                PORTAL_DRAFT_RATE_LIMIT="off",
                PORTAL_SECRET_KEY=SECRET_KEY,
            ),
        )
        self._start(
            "bare",
            [
                sys.executable,
                str(ROOT / "bench" / "bare_app.py"),
                "--port",
                str(self.bare_port),
                "--db",
                str(self.bare_db),
                "--workers",
                str(self.workers),
            ],
            env,
        )
        for port in (self.portal_port, self.bare_port):
            self._wait_healthy(port, deadline=time.perf_counter() + 30)

    def pgid(self, port: int) -> int:
        """The process group of the gunicorn on that port (its master's pid)."""
        return self.procs[0 if port == self.portal_port else 1].pid

    def check(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"a server exited ({proc.args[1:3]}): see {self.tmp}")

    def _wait_healthy(self, port: int, deadline: float) -> None:
        while True:
            self.check()
            client = Client(port)
            try:
                if client.request("GET", "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            finally:
                client.close()
            if time.perf_counter() > deadline:
                raise RuntimeError(f"no /healthz on port {port}")
            time.sleep(0.1)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()  # gunicorn's master stops its workers gracefully
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # the group this script created
                proc.wait()


# ---------------------------------------------------------------- report


def table(phases: list[Phase]) -> str:
    lines = [
        "| target | phase | requests | committed/s | p50 ms | p95 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for p in phases:
        lines.append(
            f"| {p.target} | {p.label}, {p.seconds:.1f} s | {p.requests} | {p.rate:.0f} | "
            f"{percentile(p.latencies, 50):.1f} | {percentile(p.latencies, 95):.1f} | "
            f"{percentile(p.latencies, 99):.1f} | {sum(p.errors.values())} |"
        )
    return "\n".join(lines)


def count_rows(path: Path, sql: str, args=()) -> int:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def verify(servers: Servers, phases: list[Phase], assistance: Assistance) -> list[str]:
    committed = collections.Counter()
    for p in phases:
        committed[p.target] += p.committed
    checks = [
        (Bare.name, count_rows(servers.bare_db, "SELECT count(*) FROM submissions")),
        (
            Volunteer.name,
            count_rows(
                servers.portal_db, "SELECT count(*) FROM submissions WHERE kind = 'volunteer'"
            ),
        ),
        (
            Assistance.name,
            count_rows(
                servers.portal_db, "SELECT count(*) FROM submissions WHERE kind = 'assistance'"
            ),
        ),
    ]
    lines = []
    for name, rows in checks:
        mark = "ok" if rows == committed[name] else "MISMATCH"
        lines.append(f"- {name}: {rows} rows for {committed[name]} committed POSTs: {mark}")
    submissions = count_rows(servers.portal_db, "SELECT count(*) FROM submissions")
    events = count_rows(servers.portal_db, "SELECT count(*) FROM events WHERE action = 'submitted'")
    documents = count_rows(
        servers.portal_db, "SELECT count(*) FROM documents WHERE submission_id IS NOT NULL"
    )
    lines.append(
        f"- portal: {events} 'submitted' events for {submissions} submissions: "
        f"{'ok' if events == submissions else 'MISMATCH'}; {documents} documents attached "
        f"for {checks[2][1]} support requests: "
        f"{'ok' if documents == 3 * checks[2][1] else 'MISMATCH'}"
    )
    left = count_rows(servers.portal_db, "SELECT count(*) FROM drafts")
    lines.append(
        f"- drafts: {assistance.prepared} prepared in {assistance.prep_seconds:.1f} s "
        f"(errors: {dict(assistance.prep_errors) or 0}), {left} left unused"
    )
    return lines


# ---------------------------------------------------------------- main


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--closed-seconds", type=float, default=15.0)
    parser.add_argument("--clients", type=int, default=8, help="closed-loop clients")
    parser.add_argument("--rate", type=float, default=300.0, help="open-loop POSTs a second")
    parser.add_argument("--open-seconds", type=float, default=10.0)
    parser.add_argument("--open-workers", type=int, default=32, help="open-loop connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers, both apps")
    parser.add_argument("--max-drafts", type=int, default=1500, help="closed-loop draft pool")
    parser.add_argument("--prep-seconds", type=float, default=25.0, help="per draft pool")
    parser.add_argument("--time-limit", type=float, default=175.0, help="hard stop, seconds")
    return parser.parse_args()


def watchdog(seconds: float, servers: Servers) -> threading.Timer:
    def expire():
        print(f"\nload.py: time limit of {seconds:.0f} s reached; stopping", file=sys.stderr)
        servers.stop()
        os._exit(3)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    return timer


def run(args, servers: Servers) -> tuple[list[Phase], Assistance]:
    bare, volunteer, assistance = Bare(), Volunteer(), Assistance()
    bare.port = servers.bare_port
    volunteer.port = assistance.port = servers.portal_port
    phases = []

    def measured(target, phase_run) -> None:
        servers.check()
        pgid = servers.pgid(target.port)
        server, client, whole = group_cpu(pgid), time.process_time(), machine_cpu()
        phase = phase_run()
        phase.server_cpu = group_cpu(pgid) - server
        phase.client_cpu = time.process_time() - client
        phase.other_cpu = max(0.0, machine_cpu() - whole - phase.server_cpu - phase.client_cpu)
        phases.append(phase)
        time.sleep(1)

    def both(target, before_open=None):
        print(f"{target.name}: closed loop…", file=sys.stderr, flush=True)
        measured(target, lambda: closed_loop(target, args.clients, args.closed_seconds))
        if before_open:
            before_open()
            time.sleep(1)
        print(f"{target.name}: open loop…", file=sys.stderr, flush=True)
        measured(target, lambda: open_loop(target, args.rate, args.open_seconds, args.open_workers))

    def prepare(count):
        print(f"preparing {count} drafts…", file=sys.stderr, flush=True)
        assistance.drafts.clear()  # each phase gets its own drafts
        assistance.prepare(count, threads=6, deadline=time.perf_counter() + args.prep_seconds)

    both(bare)
    both(volunteer)
    # Drafts for the closed loop: what the volunteer form's rate would use, with a margin;
    # if they run out first, the phase ends early and its rate is over the time it ran.
    prepare(min(args.max_drafts, math.ceil(phases[-2].rate * args.closed_seconds * 1.2) + 50))
    time.sleep(1)
    both(assistance, before_open=lambda: prepare(round(args.rate * args.open_seconds)))
    servers.stop()
    return phases, assistance


def report(args, phases: list[Phase]) -> None:
    print(f"\n{machine()} Code: commit {code_version()}.\n")
    print(
        f"gunicorn: {args.workers} workers × 4 threads (gthread) for each app; closed loop "
        f"{args.clients} clients for {args.closed_seconds:g} s; open loop {args.rate:g}/s for "
        f"{args.open_seconds:g} s over {args.open_workers} connections, latency from the "
        "scheduled start. The client runs on the same cores.\n"
    )
    print(table(phases))
    closed = {p.target: p for p in phases if p.kind == "closed"}
    print()
    for name in (Volunteer.name, Assistance.name):
        ratio = closed[name].rate / closed[Bare.name].rate if closed[Bare.name].rate else 0
        print(f"- {name}: {ratio:.2f}× the bare endpoint's closed-loop throughput (target ≥ 0.8)")
    for p in phases:
        if p.kind == "open":
            print(
                f"- {p.target}, open loop: p95 {percentile(p.latencies, 95):.1f} ms from the "
                f"schedule, {percentile(p.service, 95):.1f} ms from the send (target ≤ 10 ms)"
            )
    print(
        "\nCPU, in % of one core over the phase (server: the target's gunicorn processes; "
        "client: this script; rest: everything else on the machine):"
    )
    for p in phases:
        per_post = p.server_cpu / p.committed * 1000 if p.committed else float("nan")
        share = {k: v / p.seconds * 100 if p.seconds else 0 for k, v in p.cpu.items()}
        print(
            f"- {p.target}, {p.kind}: server {share['server']:.0f} % "
            f"({per_post:.1f} ms per committed POST), client {share['client']:.0f} %, "
            f"rest {share['rest']:.0f} %"
        )
    for p in phases:
        if p.errors:
            print(f"- errors, {p.target}, {p.kind}: {dict(p.errors)}")
    busy = [p for p in phases if p.seconds and p.other_cpu / p.seconds > 0.25]
    if busy:
        print(
            "- WARNING: other processes used more than a quarter of a core during "
            + ", ".join(f"{p.target} ({p.kind})" for p in busy)
            + ": those figures are low; run again on a quiet machine"
        )


def main() -> None:
    args = arguments()
    tmp = Path(tempfile.mkdtemp(prefix="portal-load-"))
    servers = Servers(tmp, args.workers)
    timer = watchdog(args.time_limit, servers)
    try:
        servers.start()
        phases, assistance = run(args, servers)
        report(args, phases)
        print("\nRows in SQLite against committed POSTs:")
        print("\n".join(verify(servers, phases, assistance)))
    except BaseException:
        print(f"load.py: failed; server logs kept in {tmp}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        timer.cancel()
        servers.stop()


if __name__ == "__main__":
    main()
