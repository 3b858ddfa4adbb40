"""Crash test, the long run: the portal under 50 clients, SIGKILLed ≥ 20 times, then checked.

gunicorn (`portal serve`, gthread workers) on loopback with a fresh database; clients submit
volunteer sign-ups and support requests (three documents each) back to back and retry every
failed request with the same key and cookies; meanwhile a gunicorn worker, or now and then
the whole server, is killed with SIGKILL at random moments and the server restarted. Then
the SQLite file is checked: every acknowledged submission there once with its audit event and
its documents, nothing unexplained, integrity_check ok, no "database is locked", no 5xx.

    .venv/bin/python bench/crash.py [--clients 50] [--duration 150] [--worker-kills 24]
                                    [--server-kills 3] [--seed N] [--keep DIR]

Bounded: clients stop starting submissions after --duration seconds and give up after
--grace more; the server is stopped on exit whatever happens. Exit status 1 on any failure.
See bench/crashlib.py for what is checked, and bench/README.md for the figures.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import crashlib


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=150.0, help="seconds of load")
    parser.add_argument("--worker-kills", type=int, default=24)
    parser.add_argument("--server-kills", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--grace", type=float, default=60.0, help="seconds to finish after")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--assistance-share", type=float, default=0.5)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--keep", type=Path, help="folder for the database, uploads and log")
    args = parser.parse_args()
    settings = crashlib.Settings(
        clients=args.clients,
        duration=args.duration,
        worker_kills=args.worker_kills,
        server_kills=args.server_kills,
        workers=args.workers,
        grace=args.grace,
        timeout=args.timeout,
        assistance_share=args.assistance_share,
        seed=args.seed,
        workdir=args.keep,
    )
    result = crashlib.run(settings)
    print(crashlib.report(result))
    print(f"\nDatabase, uploads and server log: {result.workdir}")
    if result.failures:
        print("\nFAILED:\n" + "\n".join(f"- {f}" for f in result.failures))
        return 1
    print("\nOK: everything acknowledged is stored once, whole; the database is sound.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
