"""The crash test's kit: the portal under load, killed with SIGKILL, then the database checked.

Used by `bench/crash.py` (the long run) and `tests/data_safety/test_crash.py` (the short run
inside `make test`); one copy of the code. Standard library, and pypdf and Pillow for the
request's documents (the portal refuses anything but a real PDF, JPEG or PNG).

What a run does:
- starts `python -m forms_service.cli serve` (gunicorn, gthread workers) in its own process
  group on loopback, with a fresh database and uploads folder and a fixed secret key (so every
  worker and every restart accepts the same CSRF tokens and session cookies);
- runs N client threads, each a loop of logical submissions as a browser makes them: volunteer
  sign-ups (a unique `form_key` per logical submission) and support requests (the form with
  three documents, then check-your-answers with attestation and consent). Any request that
  fails (connection refused or reset, timeout, a 5xx) is retried as it was, with the same key
  and cookies, until it is answered or the run ends. A submission counts as acknowledged only
  when the client got the success redirect and then read its reference on the done page;
- meanwhile a killer sends SIGKILL at random moments to a gunicorn worker, or to the whole
  process group (master and workers), and restarts the server on the same port;
- afterwards opens the SQLite file and checks: every acknowledged reference is there once,
  under its client's key, with its 'submitted' event, its orphans and its documents (files
  present, SHA-256 as recorded and as the client sent them); no row unexplained or twice;
  PRAGMA integrity_check and foreign_key_check clean. It also counts "database is locked" in
  every response body and in the server log, and HTTP 5xx answers (apart from connection
  errors, which are what a kill looks like from outside).
"""

import base64
import collections
import contextlib
import datetime as dt
import hashlib
import http.client
import io
import itertools
import json
import os
import platform
import random
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from PIL import Image
from pypdf import PdfWriter

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = secrets.token_hex(32)  # one per run: every worker and restart shares it
FORM = "application/x-www-form-urlencoded"
SESSION_COOKIE = "portal_session"
LOCKED = b"database is locked"
LOCKED_SEEN = "'database is locked' in a response"
CLIENT_ERROR = "client thread error"
STUCK = "threads still running at the end"
NOT_BACK = "server not back on /healthz within 60 s of a restart"
BOUNCED = "retry sent back to the empty form"
EXPIRED = b"notice--warning"  # the form's "your form timed out" notice (CSRF token refused)
CSRF = re.compile(r'<input[^>]*\bname="csrf_token"[^>]*>')
VALUE = re.compile(r'\bvalue="([^"]*)"')
REFERENCE = re.compile(r'class="reference"><bdi[^>]*>([A-Z0-9-]+)<')
ACCESS_STATUS = re.compile(r'^\S+ "[A-Z]+ [^"]*" (\d{3}) ', re.MULTILINE)

# The fields a browser sends (valid values, as in tests/forms/helpers.py).
VOLUNTEER = [
    ("full_name", "خالد عبدالله"),
    ("gender", "male"),
    ("birth_date", "1995-01-15"),
    ("mobile", "0512345678"),
    ("email", "khalid@example.com"),
    ("city", "الجموم"),
    ("education", "bachelor"),
    ("skills", "teaching"),
    ("skills", "it"),
    ("interests", "تعليم الأطفال"),
    ("availability-days", "sat"),
    ("availability-days", "mon"),
    ("availability-times", "evening"),
    ("hours_per_week", "6"),
    ("experience", ""),
    ("national_volunteer_id", ""),
    ("consent", "y"),
    ("website", ""),
]
ASSISTANCE = [
    ("full_name", "فاطمة محمد أحمد الزهراني"),
    ("national_id", "1000000008"),
    ("birth_date", "1985-04-02"),
    ("nationality", "saudi"),
    ("mobile", "0512345678"),
    ("email", "fatima@example.com"),
    ("city", "الجموم"),
    ("district", "حي النزهة"),
    ("marital_status", "widowed"),
    ("relation_to_orphans", "mother"),
    ("family_size", "4"),
    ("orphans-0-name", "سارة محمد أحمد"),
    ("orphans-0-birth_date", "2015-03-27"),
    ("orphans-0-gender", "female"),
    ("orphans-0-school_stage", "primary"),
    ("orphans-1-name", "عمر محمد أحمد"),
    ("orphans-1-birth_date", "2018-09-01"),
    ("orphans-1-gender", "male"),
    ("orphans-1-school_stage", "kindergarten"),
    ("monthly_income", "2500"),
    ("income_sources", "social_security"),
    ("income_sources", "alimony"),
    ("housing", "rented"),
    ("support_type", "financial"),
    ("support_type", "education"),
    ("description", "نحتاج دعمًا لتعليم الأطفال."),
    ("website", ""),
    ("action", "continue"),
]
ORPHANS = 2
DOCUMENT_KINDS = ("id_card", "death_certificate", "family_record")
KINDS = {"volunteer": "volunteer sign-ups", "assistance": "support requests"}


def real_pdf(tag: str) -> bytes:
    """A one-page PDF written by pypdf, `tag` in its metadata (so that its bytes are unique)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Subject": tag})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def real_png(tag: str) -> bytes:
    """A PNG written by Pillow, `tag` in its pixels. No metadata: the portal re-encodes photos
    and stores this one byte for byte, so its SHA-256 is still the one the client sent."""
    out = io.BytesIO()
    Image.frombytes("L", (len(tag), 1), tag.encode()).convert("RGB").save(out, "PNG")
    return out.getvalue()


def documents() -> list[tuple[str, str, str, bytes]]:
    """Three small documents, each with unique bytes, so every stored file can be traced."""
    tag = secrets.token_hex(8)
    return [
        ("id_card", "id.pdf", "application/pdf", real_pdf(tag + "-id")),
        ("death_certificate", "death.pdf", "application/pdf", real_pdf(tag + "-death")),
        ("family_record", "family.png", "image/png", real_png(tag)),
    ]


# ---------------------------------------------------------------- settings and counters


@dataclass
class Settings:
    clients: int = 50
    duration: float = 120.0  # seconds during which clients start submissions and kills happen
    worker_kills: int = 24
    server_kills: int = 3  # the whole process group, then a restart on the same port
    workers: int = 2
    grace: float = 60.0  # after `duration`: time for submissions under way to finish
    timeout: float = 30.0  # per request
    assistance_share: float = 0.5
    seed: int | None = None
    workdir: Path | None = None  # database, uploads and server log; a temporary folder if None


class Counters:
    """Thread-safe counters shared by clients and killer."""

    def __init__(self):
        self.lock = threading.Lock()
        self.counts: collections.Counter = collections.Counter()
        self.in_flight = 0
        self.samples: list[str] = []  # a few bodies of unexpected answers, for the report

    def add(self, name: str, n: int = 1) -> None:
        with self.lock:
            self.counts[name] += n

    def sample(self, text: str) -> None:
        with self.lock:
            if len(self.samples) < 10:
                self.samples.append(text)

    def flight(self, delta: int) -> None:
        with self.lock:
            self.in_flight += delta


# ---------------------------------------------------------------- HTTP


class Answer:
    def __init__(self, status: int, location: str, body: bytes):
        self.status, self.location, self.body = status, location, body


class Browser:
    """One keep-alive connection and one cookie jar: one person's browser tab."""

    def __init__(self, port: int, timeout: float, counters: Counters):
        self.port, self.timeout, self.counters = port, timeout, counters
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, ctype: str = FORM):
        """One HTTP exchange; raises OSError / HTTPException when the connection fails."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        headers = {"Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = ctype
        self.counters.flight(+1)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except BaseException:
            self.close()  # the next request opens a new connection
            raise
        finally:
            self.counters.flight(-1)
        for header in response.headers.get_all("Set-Cookie") or ():
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in header.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        if response.will_close:
            self.close()
        return Answer(response.status, urlsplit(response.getheader("Location", "")).path, data)

    def session(self) -> dict:
        """The (signed, not encrypted) Flask session cookie, decoded; {} if none."""
        value = self.cookies.get(SESSION_COOKIE, "").strip('"')
        if not value:
            return {}
        compressed = value.startswith(".")
        payload = value.lstrip(".").split(".")[0]
        raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        return json.loads(zlib.decompress(raw) if compressed else raw)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def csrf_token(page: bytes) -> str | None:
    tag = CSRF.search(page.decode("utf-8", "replace"))
    value = VALUE.search(tag.group(0)) if tag else None
    return value.group(1) if value else None


def multipart(fields: list, files: list) -> tuple[bytes, str]:
    boundary = "----crash" + secrets.token_hex(12)
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields
    ]
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the server


def processes() -> list[tuple[int, int, int, str]]:
    """(pid, ppid, pgrp, state) of every process, from /proc/*/stat."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text.rpartition(")")[2].split()
        found.append((int(stat.parent.name), int(fields[1]), int(fields[2]), fields[0]))
    return found


class Server:
    """`portal serve` in its own process group; SIGKILL to a worker or to the whole group."""

    def __init__(self, settings: Settings, workdir: Path):
        self.settings = settings
        self.port = free_port()
        self.db = workdir / "portal.sqlite3"
        self.uploads = workdir / "uploads"
        self.log = workdir / "server.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
        for key in [k for k in env if k.startswith("PORTAL_SMTP")]:
            env.pop(key)  # no mail: nothing leaves the machine
        self.env = dict(
            env,
            PORT=str(self.port),
            PORTAL_DB=str(self.db),
            PORTAL_UPLOADS=str(self.uploads),
            PORTAL_VAR=str(workdir / "var"),
            PORTAL_SITE=str(ROOT / "site"),
            PORTAL_RATE_LIMIT="off",
            PORTAL_DRAFT_RATE_LIMIT="off",
            PORTAL_SECRET_KEY=SECRET_KEY,
        )

    def start(self) -> None:
        with self.log.open("ab") as log:
            log.write(f"---- start {self.starts + 1} at {time.strftime('%X')}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "forms_service.cli",
                    "serve",
                    "--workers",
                    str(self.settings.workers),
                ],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def healthy(self) -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            conn.request("GET", "/healthz")
            ok = conn.getresponse().status == 200
            conn.close()
            return ok
        except (OSError, http.client.HTTPException):
            return False

    def wait_healthy(self, limit: float) -> float:
        """Seconds until /healthz answers; restarts the server if it exited (port not free)."""
        started = time.monotonic()
        while time.monotonic() - started < limit:
            if self.healthy():
                return time.monotonic() - started
            if self.proc is not None and self.proc.poll() is not None:
                time.sleep(0.5)
                self.start()
            time.sleep(0.05)
        raise RuntimeError(f"the server did not answer /healthz in {limit:.0f} s: see {self.log}")

    def workers(self) -> list[int]:
        master = self.proc.pid if self.proc else -1
        return [pid for pid, ppid, _, state in processes() if ppid == master and state != "Z"]

    def kill_worker(self, rng: random.Random, limit: float = 20.0) -> int | None:
        """SIGKILL one worker picked at random (waits for one to exist); its pid."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            pids = self.workers()
            if pids:
                victim = rng.choice(pids)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)
                    return victim
            time.sleep(0.05)
        return None

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at once, and wait until all are gone."""
        if self.proc is None:
            return
        group = self.proc.pid  # start_new_session: the master leads its own group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self.proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if not [p for p, _, pgrp, state in processes() if pgrp == group and state != "Z"]:
                break
            time.sleep(0.02)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self.kill_all()  # a leftover worker of a dead master, if any
            return
        self.proc.terminate()  # gunicorn's master stops its workers gracefully
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(15)
        self.kill_all()


# ---------------------------------------------------------------- clients


@dataclass
class Submission:
    """One logical submission: what one person means to send once."""

    kind: str  # "volunteer" or "assistance"
    client: int
    lang: str
    key: str | None = None  # form_key, or the draft id the support request is submitted under
    documents: dict = field(default_factory=dict)  # kind → SHA-256 the client sent
    reference: str | None = None  # as read on the done page: acknowledged
    outcome: str = "unfinished"
    commit_attempts: int = 0  # committing POSTs sent (the first and its retries)
    answer_lost: bool = False  # a try committed, yet its answer never reached the client


class Run:
    """Shared state of one run: deadlines, counters, the record of every submission."""

    def __init__(self, settings: Settings, server: Server, rng: random.Random):
        self.settings, self.server, self.rng = settings, server, rng
        self.counters = Counters()
        self.submissions: list[Submission] = []
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.stop_new = self.started + settings.duration
        self.hard = self.stop_new + settings.grace

    def over(self) -> bool:
        return time.monotonic() > self.hard

    def stored(self, key: str) -> bool:
        """Whether a row with this key is committed now (read by the harness, not the app)."""
        try:
            db = sqlite3.connect(self.server.db, timeout=30)
            try:
                # Keys are stored scoped by kind ("volunteer:…"): match the part after it.
                row = db.execute(
                    "SELECT 1 FROM submissions WHERE form_key IN (?, ?)",
                    [f"volunteer:{key}", f"assistance:{key}"],
                ).fetchone()
            finally:
                db.close()
        except sqlite3.Error as error:
            self.counters.add(f"harness read failed: {error}")
            return False
        return row is not None


class Gone(Exception):
    """The run's hard deadline passed before an answer came."""


class Person:
    """A client thread: logical submissions back to back until the run stops starting them."""

    def __init__(self, run: Run, number: int):
        self.run, self.number = run, number
        self.rng = random.Random(run.rng.random())
        self.counters = run.counters

    def ask(self, browser: Browser, method: str, path: str, body=None, ctype=FORM) -> Answer:
        """The request, repeated as it was until the server answers with anything but a 5xx."""
        pause = 0.05
        while True:
            if self.run.over():
                raise Gone
            try:
                answer = browser.request(method, path, body, ctype)
            except (OSError, http.client.HTTPException) as error:
                self.counters.add(f"connection error: {type(error).__name__}")
                self.counters.add("retries")
            else:
                self.counters.add("requests answered")
                if LOCKED in answer.body:
                    self.counters.add(LOCKED_SEEN)
                if answer.status < 500:
                    return answer
                self.counters.add(f"HTTP {answer.status}")
                self.counters.sample(f"{method} {path} → {answer.status}: {answer.body[:300]!r}")
                self.counters.add("retries")
            time.sleep(pause * (0.5 + self.rng.random()))
            pause = min(pause * 2, 1.0)

    def loop(self) -> None:
        while time.monotonic() < self.run.stop_new:
            kind = (
                "assistance"
                if self.rng.random() < self.run.settings.assistance_share
                else "volunteer"
            )
            sub = Submission(kind, self.number, self.rng.choice(("ar", "en")))
            with self.run.lock:
                self.run.submissions.append(sub)
            browser = Browser(self.run.server.port, self.run.settings.timeout, self.counters)
            try:
                (self.assistance if kind == "assistance" else self.volunteer)(sub, browser)
            except Gone:
                sub.outcome = "unfinished at the end of the run"
            except Exception as error:  # a bug in this harness: reported, never silent
                sub.outcome = f"client error: {type(error).__name__}: {error}"
                self.counters.add(CLIENT_ERROR)
            finally:
                browser.close()

    def unexpected(self, sub: Submission, step: str, answer: Answer) -> None:
        sub.outcome = f"{step}: unexpected {answer.status} {answer.location}".strip()
        self.counters.sample(f"{sub.kind} {step}: {answer.status} {answer.location}")

    def commit(self, sub: Submission, browser: Browser, path: str, body, ctype=FORM) -> Answer:
        """The committing POST, retried with the same key and cookies until answered.

        Before each retry the harness looks in the database: if the failed attempt had
        committed, its answer was lost on the way (the case a one-time key exists for).
        """
        pause = 0.05
        while True:
            if self.run.over():
                raise Gone
            sub.commit_attempts += 1
            try:
                answer = browser.request("POST", path, body, ctype)
            except (OSError, http.client.HTTPException) as error:
                self.counters.add(f"connection error: {type(error).__name__}")
                self.counters.add("retries")
                if sub.key and not sub.answer_lost and self.run.stored(sub.key):
                    sub.answer_lost = True
            else:
                self.counters.add("requests answered")
                if LOCKED in answer.body:
                    self.counters.add(LOCKED_SEEN)
                if answer.status < 500:
                    return answer
                self.counters.add(f"HTTP {answer.status}")
                self.counters.sample(f"POST {path} → {answer.status}: {answer.body[:300]!r}")
                self.counters.add("retries")
            time.sleep(pause * (0.5 + self.rng.random()))
            pause = min(pause * 2, 1.0)

    def acknowledge(self, sub: Submission, browser: Browser, done: str) -> None:
        page = self.ask(browser, "GET", done)
        match = REFERENCE.search(page.body.decode("utf-8", "replace"))
        if page.status != 200 or not match:
            self.unexpected(sub, "done page", page)
            return
        sub.reference = match.group(1).replace("-", "")
        sub.outcome = "acknowledged"

    def volunteer(self, sub: Submission, browser: Browser) -> None:
        prefix = "/en" if sub.lang == "en" else ""
        path, done = f"{prefix}/forms/volunteer/", f"{prefix}/forms/volunteer/done"
        sub.key = f"crash-{sub.client}-{secrets.token_urlsafe(12)}"
        for _ in range(3):
            page = self.ask(browser, "GET", path)
            token = csrf_token(page.body)
            if page.status != 200 or not token:
                self.unexpected(sub, "volunteer form", page)
                return
            body = urlencode([*VOLUNTEER, ("csrf_token", token), ("form_key", sub.key)]).encode()
            answer = self.commit(sub, browser, path, body)
            if answer.status == 302 and answer.location == done:
                self.acknowledge(sub, browser, done)
                return
            if answer.status == 400 and EXPIRED in answer.body:
                self.counters.add("CSRF token refused: form fetched again")
                continue  # as a person would: the page again, the same key
            self.unexpected(sub, "volunteer POST", answer)
            return
        sub.outcome = "CSRF token refused three times"

    def assistance(self, sub: Submission, browser: Browser) -> None:
        prefix = "/en" if sub.lang == "en" else ""
        form, check = f"{prefix}/forms/assistance/", f"{prefix}/forms/assistance/check"
        done = f"{prefix}/forms/assistance/done"
        page = self.ask(browser, "GET", form)
        token = csrf_token(page.body)
        if page.status != 200 or not token:
            self.unexpected(sub, "support form", page)
            return
        files = documents()
        sub.documents = {kind: hashlib.sha256(content).hexdigest() for kind, *_, content in files}
        body, ctype = multipart(
            [*ASSISTANCE, ("csrf_token", token)],
            [(f"documents-{kind}", name, ct, content) for kind, name, ct, content in files],
        )
        # The form step: a retry whose first try was lost starts another draft (left to expire).
        answer = self.ask(browser, "POST", form, body, ctype)
        if answer.status != 302 or answer.location != check:
            self.unexpected(sub, "support form POST", answer)
            return
        sub.key = browser.session().get("draft")
        page = self.ask(browser, "GET", check)
        token = csrf_token(page.body)
        if page.status != 200 or not token or not sub.key:
            self.unexpected(sub, "check page", page)
            return
        body = urlencode([("csrf_token", token), ("attestation", "y"), ("consent", "y")]).encode()
        answer = self.commit(sub, browser, check, body)
        if answer.status == 302 and answer.location == done:
            self.acknowledge(sub, browser, done)
        elif answer.status == 302 and answer.location == form:
            # The draft is gone: if it was submitted by a try whose answer was lost, the
            # person is sent back to an empty form and never sees the reference.
            sub.outcome = BOUNCED
        else:
            self.unexpected(sub, "check POST", answer)


# ---------------------------------------------------------------- the killer


@dataclass
class Kill:
    at: float  # seconds since the start
    kind: str  # "worker" or "server"
    pid: int | None = None
    in_flight: int = 0  # client requests open at that moment
    downtime: float | None = None  # server kills: seconds until /healthz answered again
    done: bool = False


def schedule(settings: Settings, rng: random.Random) -> list[Kill]:
    """Random moments in the run, at least 0.3 s apart; the server kills among them at random."""
    count = settings.worker_kills + settings.server_kills
    low, high = min(2.0, settings.duration / 4), max(1.0, settings.duration - 1.0)
    gap = min(0.3, (high - low) / (2 * count + 1))
    while True:
        moments = sorted(rng.uniform(low, high) for _ in range(count))
        if all(b - a >= gap for a, b in itertools.pairwise(moments)):
            break
    kinds = ["server"] * settings.server_kills + ["worker"] * settings.worker_kills
    rng.shuffle(kinds)
    return [Kill(at, kind) for at, kind in zip(moments, kinds, strict=True)]


def killer(run: Run, kills: list[Kill]) -> None:
    server = run.server
    for kill in kills:
        delay = run.started + kill.at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if run.over():
            return
        kill.at = time.monotonic() - run.started
        kill.in_flight = run.counters.in_flight
        if kill.kind == "worker":
            kill.pid = server.kill_worker(run.rng)
        else:
            kill.pid = server.proc.pid if server.proc else None
            server.kill_all()
            moment = time.monotonic()
            server.start()
            try:
                server.wait_healthy(60)
            except RuntimeError:
                run.counters.add(NOT_BACK)
                return
            kill.downtime = time.monotonic() - moment
        kill.done = kill.pid is not None


# ---------------------------------------------------------------- the check


@dataclass
class Check:
    integrity: str = ""
    foreign_keys: int = 0
    rows: int = 0
    events: int = 0
    documents: int = 0
    violations: list = field(default_factory=list)
    stored_not_acknowledged: collections.Counter = field(default_factory=collections.Counter)
    leftover_drafts: int = 0
    stray_files: int = 0


def sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


@dataclass
class Stored:
    """What the database holds, read once after the run."""

    rows: list  # (id, reference, kind, form_key)
    submitted: collections.Counter  # submission id → 'submitted' events
    documents: dict  # submission id → [(kind, stored_name, sha256)]
    stored_names: set
    orphans: collections.Counter  # submission id → orphan rows


def read_database(db_path: Path, result: Check) -> Stored:
    db = sqlite3.connect(db_path)
    try:
        result.integrity = "; ".join(r[0] for r in db.execute("PRAGMA integrity_check"))
        result.foreign_keys = len(db.execute("PRAGMA foreign_key_check").fetchall())
        result.leftover_drafts = db.execute("SELECT count(*) FROM drafts").fetchone()[0]
        documents = collections.defaultdict(list)
        names = set()
        for sid, kind, name, sha in db.execute(
            "SELECT submission_id, kind, stored_name, sha256 FROM documents"
        ):
            names.add(name)
            if sid is not None:
                documents[sid].append((kind, name, sha))
        return Stored(
            rows=db.execute("SELECT id, reference, kind, form_key FROM submissions").fetchall(),
            submitted=collections.Counter(
                r[0]
                for r in db.execute("SELECT submission_id FROM events WHERE action = 'submitted'")
            ),
            documents=documents,
            stored_names=names,
            orphans=collections.Counter(
                r[0] for r in db.execute("SELECT submission_id FROM orphans")
            ),
        )
    finally:
        db.close()


def check_rows(stored: Stored, uploads: Path, keys: set, bad) -> None:
    """Every row: a key some client used, one reference, one event, its files intact."""
    references = collections.Counter(ref for _, ref, _, _ in stored.rows)
    for ref, n in references.items():
        if n > 1:
            bad(f"reference {ref} stored {n} times")
    for sid, ref, kind, key in stored.rows:
        if (key or "").partition(":")[2] not in keys:  # stored scoped: "volunteer:<key>"
            bad(f"row {sid} ({kind} {ref}) has a key no client used: {key!r}")
        if stored.submitted[sid] != 1:
            bad(f"{kind} {ref} has {stored.submitted[sid]} 'submitted' events")
        for doc_kind, name, sha in stored.documents[sid]:
            if sha256_file(uploads / name) != sha:
                bad(f"{ref}: document {doc_kind} file {name} missing or not its SHA-256")


def check_acknowledged(stored: Stored, submissions: list, result: Check) -> None:
    """Every acknowledged submission: under its own key, its reference, documents, orphans."""
    bad = result.violations.append
    # Stored keys are scoped by kind ("volunteer:…"); the client knows the part after it.
    by_key = {key.partition(":")[2]: (sid, ref, kind) for sid, ref, kind, key in stored.rows if key}
    for sub in submissions:
        found = by_key.get(sub.key) if sub.key else None
        if sub.reference is None:
            if found:
                result.stored_not_acknowledged[sub.outcome] += 1
            continue
        if found is None:
            bad(f"LOST: {sub.kind} {sub.reference} acknowledged, not in the database")
            continue
        sid, ref, kind = found
        if ref != sub.reference or kind != sub.kind:
            bad(f"{sub.kind} acknowledged as {sub.reference}, stored as {kind} {ref}")
        if kind != "assistance":
            continue
        got = {doc_kind: sha for doc_kind, _, sha in stored.documents[sid]}
        if got != sub.documents:
            bad(f"{ref}: documents {sorted(got)} differ from the 3 the client sent")
        if stored.orphans[sid] != ORPHANS:
            bad(f"{ref}: {stored.orphans[sid]} orphans stored, {ORPHANS} sent")


def check_database(db_path: Path, uploads: Path, submissions: list[Submission]) -> Check:
    """Everything acknowledged is there once, whole; nothing unexplained; the file is sound."""
    result = Check()
    stored = read_database(db_path, result)
    result.rows = len(stored.rows)
    result.events = sum(stored.submitted.values())
    result.documents = sum(len(v) for v in stored.documents.values())
    check_rows(stored, uploads, {s.key for s in submissions if s.key}, result.violations.append)
    check_acknowledged(stored, submissions, result)
    acknowledged = collections.Counter(s.reference for s in submissions if s.reference)
    result.violations.extend(
        f"reference {ref} acknowledged to {n} submissions"
        for ref, n in acknowledged.items()
        if n > 1
    )
    if uploads.exists():
        result.stray_files = sum(1 for p in uploads.iterdir() if p.name not in stored.stored_names)
    if result.integrity != "ok":
        result.violations.append(f"PRAGMA integrity_check: {result.integrity}")
    if result.foreign_keys:
        result.violations.append(f"PRAGMA foreign_key_check: {result.foreign_keys} rows")
    return result


# ---------------------------------------------------------------- one run


@dataclass
class Result:
    settings: Settings
    seconds: float
    kills: list
    submissions: list
    counters: collections.Counter
    samples: list
    check: Check
    log: dict
    server_starts: int
    workdir: Path

    @property
    def acknowledged(self) -> list:
        return [s for s in self.submissions if s.reference]

    @property
    def failures(self) -> list[str]:
        """What makes the run fail: lost, twice, unsound, locked, or a 5xx."""
        found = list(self.check.violations)
        locked = self.counters[LOCKED_SEEN] + self.log["locked"]
        if locked:
            found.append(f"'database is locked' seen {locked} times")
        odd = collections.Counter(s.outcome for s in self.submissions if "unexpected" in s.outcome)
        found += [f"{n} × {outcome}" for outcome, n in odd.items()]
        if self.counters[STUCK]:
            found.append(f"{self.counters[STUCK]} {STUCK}")
        if self.counters[NOT_BACK]:
            found.append(NOT_BACK)
        if self.counters[CLIENT_ERROR]:
            found.append(f"{self.counters[CLIENT_ERROR]} submissions broke off on a client error")
        http_5xx = sum(n for k, n in self.counters.items() if k.startswith("HTTP 5"))
        if http_5xx:
            found.append(f"{http_5xx} HTTP 5xx answers (not connection errors)")
        return found


def read_log(path: Path) -> dict:
    text = path.read_text("utf-8", "replace") if path.exists() else ""
    statuses = collections.Counter(ACCESS_STATUS.findall(text))
    return {
        "locked": text.lower().count("database is locked"),
        "tracebacks": text.count("Traceback (most recent call last)"),
        "worker sigkill": text.count("was sent SIGKILL"),
        "5xx lines": sum(n for s, n in statuses.items() if s.startswith("5")),
        "lines": text.count("\n"),
    }


def run(settings: Settings) -> Result:
    """One crash run, bounded by duration + grace (+ start and stop); always stops the server."""
    import tempfile

    seed = settings.seed if settings.seed is not None else secrets.randbits(32)
    settings.seed = seed
    rng = random.Random(seed)
    workdir = settings.workdir or Path(tempfile.mkdtemp(prefix="portal-crash-"))
    workdir.mkdir(parents=True, exist_ok=True)
    server = Server(settings, workdir)
    server.start()
    try:
        server.wait_healthy(60)
        state = Run(settings, server, rng)
        kills = schedule(settings, rng)
        threads = [
            threading.Thread(target=Person(state, n).loop, daemon=True)
            for n in range(settings.clients)
        ]
        threads.append(threading.Thread(target=killer, args=(state, kills), daemon=True))
        for t in threads:
            t.start()
        end = state.hard + settings.timeout + 5
        for t in threads:
            t.join(max(0.0, end - time.monotonic()))
        state.counters.add(STUCK, sum(1 for t in threads if t.is_alive()))
        seconds = time.monotonic() - state.started
    finally:
        server.stop()
    with state.lock:
        submissions = list(state.submissions)
    return Result(
        settings=settings,
        seconds=seconds,
        kills=[k for k in kills if k.done],
        submissions=submissions,
        counters=collections.Counter(state.counters.counts),
        samples=list(state.counters.samples),
        check=check_database(server.db, server.uploads, submissions),
        log=read_log(server.log),
        server_starts=server.starts,
        workdir=workdir,
    )


# ---------------------------------------------------------------- report


def machine() -> str:
    import gunicorn

    return (
        f"{dt.date.today().isoformat()}, machine `{platform.node()}`: {platform.machine()}, "
        f"{os.cpu_count()} cores, {platform.system()} "
        f"{'.'.join(platform.release().split('.')[:2])}, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}, gunicorn {gunicorn.__version__}"
    )


def code_version() -> str:
    """The commit run, and whether the service had uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "forms_service"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{commit or 'unknown'}{' with uncommitted changes in forms_service/' if dirty else ''}"


def report(result: Result) -> str:
    s, c, k = result.settings, result.check, result.counters
    subs, acked = result.submissions, result.acknowledged
    by_kind = collections.Counter(x.kind for x in acked)
    worker_kills = [x for x in result.kills if x.kind == "worker"]
    server_kills = [x for x in result.kills if x.kind == "server"]
    lost = {kind: [x for x in subs if x.kind == kind and x.answer_lost] for kind in KINDS}
    outcomes = collections.Counter(x.outcome for x in subs)
    conn = {n.removeprefix("connection error: "): v for n, v in k.items() if "connection" in n}
    http_5xx = {n: v for n, v in k.items() if n.startswith("HTTP 5")}
    downtimes = [x.downtime for x in server_kills if x.downtime is not None]
    in_flight = [x.in_flight for x in result.kills]
    lines = [
        f"Run on {machine()}; code {code_version()}; seed {s.seed}.",
        "",
        f"- setup: {s.workers} gthread workers × 4 threads, {s.clients} clients for "
        f"{s.duration:.0f} s (+ up to {s.grace:.0f} s to finish), {result.seconds:.0f} s in all",
        f"- kills (SIGKILL): {len(worker_kills)} of a worker, {len(server_kills)} of the whole "
        f"server (master + workers, restarted on the same port; {result.server_starts} starts); "
        f"client requests open at each kill: {min(in_flight, default=0)} to "
        f"{max(in_flight, default=0)}"
        + (
            f"; back on /healthz after a whole-server kill in {median(downtimes):.1f} s median, "
            f"{max(downtimes):.1f} s max"
            if downtimes
            else ""
        ),
        f"- logical submissions started: {len(subs)}; acknowledged (reference read on the done "
        f"page): {len(acked)} ({by_kind['volunteer']} volunteer, {by_kind['assistance']} "
        f"support requests with {3 * by_kind['assistance']} documents), "
        f"{len(acked) / max(result.seconds, 1):.1f}/s",
        f"- outcomes: {dict_text(outcomes)}",
        "- submissions whose committing POST committed but whose answer was lost to a kill: "
        + "; ".join(
            f"{KINDS[kind]} {len(group)}, of which {sum(1 for x in group if x.reference)} "
            "acknowledged by a retry with the same key under the original reference"
            for kind, group in lost.items()
        ),
        f"- requests answered: {k['requests answered']}; retried: {k['retries']}; connection "
        f"errors: {dict_text(conn)}; HTTP 5xx: {dict_text(http_5xx) or 0} "
        f"(server log: {result.log['5xx lines']})",
        f"- 'database is locked': {k[LOCKED_SEEN]} in responses, {result.log['locked']} in "
        f"the server log; tracebacks in the server log: {result.log['tracebacks']}; "
        f"gunicorn logged {result.log['worker sigkill']} worker SIGKILLs",
        f"- database afterwards: integrity_check {c.integrity}, foreign_key_check "
        f"{c.foreign_keys} rows; {c.rows} submissions, {c.events} 'submitted' events, "
        f"{c.documents} documents; stored but not acknowledged: "
        f"{dict_text(c.stored_not_acknowledged) or 0}; drafts left: {c.leftover_drafts}; "
        f"upload files with no row: {c.stray_files}",
        f"- violations (lost, twice, unsound): {len(c.violations)}",
    ]
    lines += [f"  - {v}" for v in c.violations[:20]]
    if c.stored_not_acknowledged[BOUNCED]:
        lines.append(
            f"- known bug seen: {c.stored_not_acknowledged[BOUNCED]} support request(s) stored "
            "while the person, retrying the final POST with the same cookie, was sent back to "
            "an empty form (submit() deletes the draft that is the one-time key) and never "
            "saw the reference"
        )
    if result.samples:
        lines.append("- unexpected answers (first few):")
        lines += [f"  - {x}" for x in result.samples]
    return "\n".join(lines)


def median(values: list):
    if not values:
        return 0
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


def dict_text(counts) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if v)
