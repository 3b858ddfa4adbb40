"""The outbox under kills: does it lose or double an SMS when its senders die mid-send?

`make -C bench outbox` (about a minute). A temporary database gets N support requests, each
with its "received" SMS in the outbox. A fake SMS gateway (Taqnyat's API) on loopback takes
every message after a delay (the window in which a sender can die holding one); two sender
processes (`outbox.send_due` in a loop, as `portal outbox send --loop` runs it) share the
database while a killer sends SIGKILL to one of them at random moments and starts it again.
When nothing is waiting, the claims the dead left behind are settled as the sender does after
CLAIM_SECONDS (its clock moved on, not waited for).

Then every row is checked against what the gateway received. The outbox promises (see
forms_service/outbox.py): an SMS is never sent twice; a row is `sent` only if the gateway
has it; a message the gateway may have had but whose sender died before recording it is
`unknown` (staff see it on the case) and never retried. The baseline in the same run: the
same messages with no kill.
"""

import argparse
import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from crashlib import code_version, machine  # noqa: E402 - bench/ on sys.path

from forms_service import create_app, lifecycle, outbox, queue  # noqa: E402
from forms_service import db as dbm  # noqa: E402

# One sender: send what is due, again and again (a loop with no pause between rounds, so
# that kills find it busy), until the stop file appears.
SENDER = textwrap.dedent(
    """
    import json, os, sys, time
    sys.path.insert(0, {root!r})
    from forms_service import db, outbox
    path, settings, stop = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    connection = db.connect(path)
    stopping = lambda: os.path.exists(stop)  # between rows, as SIGTERM stops the --loop
    while not stopping():
        counts = outbox.send_due(connection, settings, limit=50, stop=stopping)
        if not counts["sent"] and not counts["retrying"]:
            time.sleep(0.02)
    """
)


class Gateway(BaseHTTPRequestHandler):
    """Taqnyat's POST /v1/messages: takes the message (recorded), then answers 201 after
    `delay` seconds."""

    received: ClassVar[list[str]] = []
    lock = threading.Lock()
    delay = 0.02

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with Gateway.lock:
            Gateway.received.append(json.loads(body)["body"])
            number = len(Gateway.received)
        time.sleep(Gateway.delay)
        answer = json.dumps({"statusCode": 201, "messageId": number}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a sender killed while waiting for its answer: the pipe is broken, as expected


def settings_for(folder: Path, gateway_url: str) -> dict:
    return {
        "PORTAL_DB": str(folder / "portal.sqlite3"),
        "PORTAL_UPLOADS": str(folder / "uploads"),
        "PORTAL_SITE": str(ROOT / "site"),
        "SECRET_KEY": "bench",
        "PORTAL_SMS_PROVIDER": "taqnyat",
        "PORTAL_SMS_TOKEN": "bench-token",
        "PORTAL_SMS_SENDER": "JamoumCare",
        "PORTAL_SMS_URL": gateway_url,
        "PORTAL_PUBLIC_URL": "https://portal.example.org",
    }


def queue_messages(settings: dict, count: int) -> dict[str, str]:
    """`count` support requests, each with its SMS in the outbox: {reference: grouped}."""
    app = create_app(settings)
    database = dbm.connect(settings["PORTAL_DB"])
    references = {}
    with app.app_context():
        for _ in range(count):
            receipt = queue.submit(
                database,
                kind=lifecycle.Kind.ASSISTANCE,
                lang="ar",
                fields={"full_name": "فاطمة", "mobile": "+966512345678"},
            )
            r = receipt.reference
            references[r] = f"{r[:3]}-{r[3:6]}-{r[6:]}"
    database.close()
    return references


def start_sender(settings: dict, stop: Path) -> subprocess.Popen:
    script = SENDER.format(root=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", script, settings["PORTAL_DB"], json.dumps(settings), str(stop)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def waiting(path: str) -> int:
    database = dbm.connect(path)
    try:
        return database.execute("SELECT count(*) FROM outbox WHERE status = 'waiting'").fetchone()[
            0
        ]
    finally:
        database.close()


def run(count: int, kill: bool, seed: int, mean_gap: float) -> dict:
    """One run; what the rows say against what the gateway received."""
    Gateway.received = []
    server = Server(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    rng = random.Random(seed)
    kills = 0
    with tempfile.TemporaryDirectory() as tmp:
        settings = settings_for(Path(tmp), f"http://127.0.0.1:{server.server_port}")
        references = queue_messages(settings, count)
        stop = Path(tmp) / "stop"
        began = time.perf_counter()
        senders = [start_sender(settings, stop) for _ in range(2)]
        try:
            while waiting(settings["PORTAL_DB"]):
                time.sleep(rng.expovariate(1 / mean_gap) if kill else 0.05)
                if kill:
                    victim = rng.randrange(len(senders))
                    senders[victim].send_signal(signal.SIGKILL)
                    senders[victim].wait()
                    kills += 1
                    senders[victim] = start_sender(settings, stop)
            stop.touch()  # the living finish the row in hand and stop
            for process in senders:
                process.wait(60)
        finally:
            for process in senders:
                if process.poll() is None:
                    process.send_signal(signal.SIGKILL)
                    process.wait()
        elapsed = time.perf_counter() - began
        database = dbm.connect(settings["PORTAL_DB"])
        # The dead senders' claims, once CLAIM_SECONDS have passed (the clock moved on, not
        # waited for): a sender takes those never handed over and settles the others.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=outbox.CLAIM_SECONDS + 60)
        while sum(outbox.send_due(database, settings, now=later).values()):
            pass
        rows = database.execute(
            "SELECT s.reference, o.status FROM outbox o JOIN submissions s "
            "ON s.id = o.submission_id WHERE o.channel = 'sms'"
        ).fetchall()
        events = Counter(
            action
            for (action,) in database.execute(
                "SELECT action FROM events WHERE action LIKE 'notification_%'"
            )
        )
        database.close()
    server.shutdown()
    times = Counter(
        next((r for r, g in references.items() if g in text), "?") for text in Gateway.received
    )
    status = dict(rows)
    sent = [r for r, s in status.items() if s == "sent"]
    unknown = [r for r, s in status.items() if s == "unknown"]
    return {
        "messages": count,
        "kills": kills,
        "seconds to send": elapsed,
        "sent": len(sent),
        "unknown, the gateway had it": sum(times[r] == 1 for r in unknown),
        "unknown, never left": sum(times[r] == 0 for r in unknown),
        "other states": sum(s not in ("sent", "unknown") for s in status.values()),
        "received twice or more": sum(n > 1 for n in times.values()),
        "sent but not received": sum(times[r] == 0 for r in sent),
        "events match rows": events["notification_sent"] == len(sent)
        and events["notification_unknown"] == len(unknown),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--mean-gap", type=float, default=0.3, help="seconds between kills")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1")
    results = [
        ("no kill (baseline)", run(args.messages, False, args.seed, args.mean_gap)),
        (
            f"SIGKILL every ~{args.mean_gap:.1f} s",
            run(args.messages, True, args.seed, args.mean_gap),
        ),
    ]
    print(f"# Outbox under kills — {machine()}; code {code_version()}")
    print(
        f"2 sender processes, a fake Taqnyat gateway taking each message in "
        f"{Gateway.delay * 1000:.0f} ms; seed {args.seed}.\n"
    )
    keys = list(results[0][1])
    print("| run | " + " | ".join(keys) + " |")
    print("| --- " * (len(keys) + 1) + "|")
    for name, figures in results:
        cells = [
            f"{v:.1f}"
            if isinstance(v, float)
            else ("yes" if v is True else "no" if v is False else f"{v:,}")
            for v in figures.values()
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")
    broken = [
        name
        for name, f in results
        if f["received twice or more"]
        or f["sent but not received"]
        or f["other states"]
        or not f["events match rows"]
        or f["sent"] + f["unknown, the gateway had it"] + f["unknown, never left"] != f["messages"]
    ]
    print(
        "\nverdict:", "a promise broken in " + ", ".join(broken) if broken else "every promise kept"
    )
    sys.exit(1 if broken else 0)


if __name__ == "__main__":
    main()
