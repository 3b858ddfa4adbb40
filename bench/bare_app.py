"""The load benchmark's baseline: bare Flask + sqlite3, one POST that does one INSERT.

Same database settings as forms_service/db.py (WAL, synchronous=FULL, busy_timeout, a
connection per request, BEGIN IMMEDIATE … COMMIT) and the same gunicorn settings as
`portal serve`: forms_service.server.serve() runs it, so workers, threads, timeouts and the
access log follow the portal's whenever they change. No CSRF, no session, no templates, no
validation: what is left is Flask routing, form parsing, one committed row and a redirect.

    python bench/bare_app.py --port 8001 --db /tmp/bare.sqlite3 [--workers 2]
"""

import argparse
import json
import sqlite3
import sys
from pathlib import Path

from flask import Flask, redirect, request

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

BUSY_TIMEOUT_MS = 10_000  # as forms_service.db


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


def prepare(path: str) -> None:
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS submissions ("
            "id INTEGER PRIMARY KEY, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, "
            "data TEXT NOT NULL)"
        )
    finally:
        conn.close()


def create_app(db_path: str) -> Flask:
    prepare(db_path)
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.post("/submit")
    def submit():
        data = json.dumps(request.form.to_dict(flat=False), ensure_ascii=False)
        conn = connect(db_path)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute("INSERT INTO submissions (data) VALUES (?)", [data])
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()
        return redirect("/done")

    @app.get("/done")
    def done():
        return "ok"

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    from forms_service import server

    app = create_app(args.db)

    class BareServer(server.PortalServer):
        def load(self):
            return app

    # serve() builds the portal's exact gunicorn options; only the app it loads changes.
    server.PortalServer = BareServer
    server.serve(port=args.port, workers=args.workers)


if __name__ == "__main__":
    main()
