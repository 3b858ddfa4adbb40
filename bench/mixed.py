"""Mixed traffic: static pages, form views, submissions, status lookups and staff lists/search.

Seeds a temporary database with N submissions (bench/staff_bench.py's seed, default 100,000)
and a staff user, starts `portal serve` as bench/load.py does (rate limits off), signs each
client in as that officer, then runs two closed loops with the same clients:

- baseline: static site pages only (10 s);
- mixed: each request drawn from a weighted mix (20 s): 50 % static pages, 20 % form views,
  10 % volunteer submissions, 10 % status lookups (a real reference and its mobile), 10 %
  staff pages (list, a state filter, a search by name or national ID then its list).

    .venv/bin/python bench/mixed.py [--rows 100000] [--clients 8] [--seconds 20]

Per request type: count, requests/s, p50/p95/p99 ms, errors (any status but the expected).
Bounded: it stops itself (server included) after --time-limit seconds whatever happens.
"""

import argparse
import collections
import http.client
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import load  # noqa: E402
import staff_bench  # noqa: E402

STATIC = ["/", "/policy/", "/en/", "/donate/", "/assets/stylesheets/portal.css"]
FORM_VIEWS = ["/forms/assistance/", "/forms/volunteer/", "/en/forms/feedback/"]
MIX = [("static page", 50), ("form view", 20), ("submission", 10), ("status lookup", 10)]
MIX += [("staff page", 10)]
USER, PASSWORD = "officer", "correct horse battery staple"


class Portal(load.Servers):
    """Only the portal's gunicorn (load.Servers starts the bare app too)."""

    def start(self) -> None:
        bare = self._start
        self._start = lambda name, args, env: bare(name, args, env) if name == "portal" else None
        self.bare_port = self.portal_port
        try:
            super().start()
        finally:
            self._start = bare


def seed(db: Path, rows: int) -> tuple[float, list, list]:
    from forms_service import auth
    from forms_service.db import connect
    from forms_service.identifiers import normalise_mobile

    seconds = staff_bench.seed(str(db), rows, random.Random(7))
    conn = connect(str(db))
    auth.add_user(conn, USER, "officer", PASSWORD, actor="bench")
    lookups = conn.execute(
        "SELECT reference, mobile FROM submissions WHERE mobile IS NOT NULL "
        "ORDER BY random() LIMIT 500"
    ).fetchall()
    searches = conn.execute(
        "SELECT full_name, national_id FROM submissions WHERE kind = 'assistance' "
        "ORDER BY random() LIMIT 500"
    ).fetchall()
    conn.close()
    # The seed draws mobiles at random; the form accepts only valid Saudi numbers (the
    # phonenumbers library's ranges), so lookups use the rows a person could have entered.
    lookups = [row for row in lookups if normalise_mobile(row[1]) == row[1]]
    terms = [name if i % 2 else nid for i, (name, nid) in enumerate(searches)]
    return seconds, [tuple(r) for r in lookups], terms


class Mixed:
    """One client's setup (staff sign-in, form tokens) and one request of each type."""

    def __init__(self, port, lookups, terms, rng):
        self.port, self.lookups, self.terms, self.rng = port, lookups, terms, rng

    def setup(self, client):
        status, _, page = client.request("GET", "/staff/login")
        token = load.csrf_token(page)
        body = urlencode({"csrf_token": token, "username": USER, "password": PASSWORD})
        status, location, _ = client.request("POST", "/staff/login", body.encode())
        if status != 302:
            raise RuntimeError(f"staff sign-in: {status} {location}")
        status, _, page = client.request("GET", "/staff/assistance/")
        if status != 200:
            raise RuntimeError(f"GET /staff/assistance/: {status}")
        client.staff_token = load.csrf_token(page)
        status, _, page = client.request("GET", "/forms/volunteer/")
        client.volunteer = urlencode([*load.VOLUNTEER, ("csrf_token", load.csrf_token(page))])
        status, _, page = client.request("GET", "/forms/status/")
        client.status_token = load.csrf_token(page)

    def one(self, client, kind) -> list[tuple[str, str, str, set]]:
        """The requests of one action: (label, method, path, body, expected statuses)."""
        rng = self.rng
        if kind == "static page":
            return [("GET", rng.choice(STATIC), None, {200})]
        if kind == "form view":
            return [("GET", rng.choice(FORM_VIEWS), None, {200})]
        if kind == "submission":
            body = f"{client.volunteer}&form_key={secrets.token_urlsafe(18)}"
            return [("POST", "/forms/volunteer/", body.encode(), {302})]
        if kind == "status lookup":
            reference, mobile = rng.choice(self.lookups)
            body = urlencode(
                {"csrf_token": client.status_token, "reference": reference, "mobile": mobile}
            )
            return [("POST", "/forms/status/", body.encode(), {302})]
        pick = rng.randrange(3)
        if pick == 0:
            return [("GET", "/staff/assistance/", None, {200})]
        if pick == 1:
            return [("GET", "/staff/assistance/?state=committee", None, {200})]
        body = urlencode({"csrf_token": client.staff_token, "q": rng.choice(self.terms)})
        return [
            ("POST", "/staff/assistance/", body.encode(), {302}),
            ("GET", "/staff/assistance/", None, {200}),
        ]


def send(client, kind, steps, out) -> None:
    """The requests of one action, timed one by one; the first unexpected answer ends it."""
    for method, path, body, expected in steps:
        sent = time.perf_counter()
        try:
            status, _, _ = client.request(method, path, body)
        except (OSError, http.client.HTTPException) as error:
            out[kind][1][type(error).__name__] += 1
            return
        took = time.perf_counter() - sent
        if status not in expected:
            out[kind][1][f"{status} {method} {path.split('?')[0]}"] += 1
            return
        out[kind][0].append(took)


def closed(port, clients, seconds, setup, draw, label) -> dict:
    """`clients` threads sending back to back; per type: latencies, errors, and the span."""
    stop = [0.0]
    outs = [collections.defaultdict(lambda: ([], collections.Counter())) for _ in range(clients)]
    # The clock starts when every client is set up, before any is released (as load.py).
    ready = threading.Barrier(
        clients + 1, action=lambda: stop.__setitem__(0, time.perf_counter() + seconds), timeout=60
    )

    def thread(out):
        client = load.Client(port)
        try:
            try:
                setup(client)
            except (OSError, http.client.HTTPException, RuntimeError) as error:
                out["setup"][1][f"{type(error).__name__}: {error}"] += 1
                ready.wait()
                return
            ready.wait()
            while time.perf_counter() < stop[0]:
                kind, steps = draw(client)
                send(client, kind, steps, out)
        finally:
            client.close()

    threads = [threading.Thread(target=thread, args=(o,), daemon=True) for o in outs]
    for t in threads:
        t.start()
    print(f"{label}: {clients} clients, {seconds:g} s…", file=sys.stderr, flush=True)
    ready.wait()
    started = stop[0] - seconds
    for t in threads:
        t.join(max(0.0, stop[0] + 2 * load.TIMEOUT - time.perf_counter()))
    elapsed = time.perf_counter() - started
    merged = collections.defaultdict(lambda: ([], collections.Counter()))
    for out in outs:
        for kind, (lat, err) in out.items():
            merged[kind][0].extend(lat)
            merged[kind][1].update(err)
    return {"seconds": elapsed, "types": merged}


def rows(label: str, result: dict) -> list[str]:
    lines = []
    types = result["types"]
    order = [k for k, _ in MIX if k in types] + [k for k in types if k not in dict(MIX)]
    total_ok = total_err = 0
    for kind in order:
        lat, err = types[kind]
        total_ok += len(lat)
        total_err += sum(err.values())
        lines.append(
            f"| {label} | {kind} | {len(lat) + sum(err.values())} | "
            f"{len(lat) / result['seconds']:.0f} | {load.percentile(lat, 50):.1f} | "
            f"{load.percentile(lat, 95):.1f} | {load.percentile(lat, 99):.1f} | "
            f"{sum(err.values())} |"
        )
    every = [x for lat, _ in types.values() for x in lat]
    lines.append(
        f"| {label} | **all** | {total_ok + total_err} | {total_ok / result['seconds']:.0f} | "
        f"{load.percentile(every, 50):.1f} | {load.percentile(every, 95):.1f} | "
        f"{load.percentile(every, 99):.1f} | {total_err} |"
    )
    return lines


def arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="seeded submissions")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="mixed phase")
    parser.add_argument("--baseline-seconds", type=float, default=10.0, help="static only")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--time-limit", type=float, default=175.0, help="hard stop, seconds")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    tmp = Path(tempfile.mkdtemp(prefix="portal-mixed-"))
    portal = Portal(tmp, args.workers)
    timer = load.watchdog(args.time_limit, portal)
    try:
        print(f"seeding {args.rows} submissions…", file=sys.stderr, flush=True)
        seeded, lookups, terms = seed(portal.portal_db, args.rows)
        before = load.count_rows(
            portal.portal_db, "SELECT count(*) FROM submissions WHERE kind = 'volunteer'"
        )
        portal.start()
        port = portal.portal_port
        rng = random.Random(11)
        mixed = Mixed(port, lookups, terms, rng)
        kinds, weights = zip(*MIX, strict=True)

        baseline = closed(
            port,
            args.clients,
            args.baseline_seconds,
            lambda c: None,
            lambda c: ("static page", mixed.one(c, "static page")),
            "baseline (static pages only)",
        )
        portal.check()
        time.sleep(1)

        def draw(client):
            kind = rng.choices(kinds, weights)[0]
            return kind, mixed.one(client, kind)

        result = closed(port, args.clients, args.seconds, mixed.setup, draw, "mixed")
        portal.check()
        submitted = (
            load.count_rows(
                portal.portal_db, "SELECT count(*) FROM submissions WHERE kind = 'volunteer'"
            )
            - before
        )
        portal.stop()
    except BaseException:
        print(f"mixed.py: failed; server log kept in {tmp}", file=sys.stderr)
        raise
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    finally:
        timer.cancel()
        portal.stop()

    print(f"\n{load.machine()} Code: commit {load.code_version()}.\n")
    print(
        f"Database: {args.rows:,} seeded submissions (seeded in {seeded:.0f} s, not timed). "
        f"gunicorn: {args.workers} workers × 4 threads (gthread); closed loop, "
        f"{args.clients} keep-alive clients; baseline {args.baseline_seconds:g} s of static "
        f"pages only, then {args.seconds:g} s of the mix "
        + ", ".join(f"{w} % {k}" for k, w in MIX)
        + ". The client runs on the same cores. Staff search = its POST and the list GET "
        "counted as two requests.\n"
    )
    print("| run | request type | requests | req/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows("baseline", baseline)))
    print("\n".join(rows("mixed", result)))
    static_base = baseline["types"]["static page"][0]
    static_mixed = result["types"]["static page"][0]
    print(
        f"\n- static pages: p50 {load.percentile(static_mixed, 50):.1f} ms in the mix against "
        f"{load.percentile(static_base, 50):.1f} ms alone, p95 "
        f"{load.percentile(static_mixed, 95):.1f} against {load.percentile(static_base, 95):.1f}"
    )
    print(
        f"- volunteer submissions: {len(result['types']['submission'][0])} redirected to done, "
        f"{submitted} new volunteer rows in the database"
    )
    for name, res in (("baseline", baseline), ("mixed", result)):
        for kind, (_, err) in res["types"].items():
            if err:
                print(f"- errors, {name}, {kind}: {dict(err)}")


if __name__ == "__main__":
    main()
