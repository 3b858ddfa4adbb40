"""The database: one connection per request, migrations at start, writes that lock up front."""

import contextlib
import sqlite3
from pathlib import Path

import sqlite_utils
from flask import current_app, g

from .migrations import migrations

BUSY_TIMEOUT_MS = 10_000


def connect(path: str) -> sqlite_utils.Database:
    """A connection with the portal's settings: WAL, full sync, foreign keys, a busy wait."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn)


def prepare(path: str) -> None:
    """Create the folder, switch to WAL (outside any transaction) and apply migrations."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = connect(path)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        with immediate(db):
            migrations.apply(db)
    finally:
        db.close()


@contextlib.contextmanager
def immediate(db: sqlite_utils.Database):
    """A write transaction that takes the lock at BEGIN, so it never fails half way on a busy DB.

    sqlite-utils' own atomic() begins a deferred transaction; writes inside this block
    that use sqlite-utils helpers nest as savepoints.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")


def get_db() -> sqlite_utils.Database:
    if "db" not in g:
        g.db = connect(current_app.config["PORTAL_DB"])
    return g.db


def close_db(_exc=None):
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app):
    prepare(app.config["PORTAL_DB"])
    app.teardown_appcontext(close_db)
