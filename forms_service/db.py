"""The database: one connection per request, migrations at start, writes that lock up front."""

import contextlib
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import sqlite_utils
from flask import Flask, current_app, g

from .files import private_dir, private_file
from .migrations import migrations

BUSY_TIMEOUT_MS = 10_000
# The type of a connection, for annotations everywhere: `from .db import Database`.
Database = sqlite_utils.Database


def connect(path: str) -> Database:
    """A connection with the portal's settings: WAL, full sync, foreign keys, a busy wait."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA foreign_keys = ON")
    return sqlite_utils.Database(conn)


def prepare(path: str) -> None:
    """Create the folder, switch to WAL (outside any transaction) and apply migrations."""
    private_dir(Path(path).parent)
    private_file(path)
    db = connect(path)
    try:
        _wal(db)
        with immediate(db):
            migrations.apply(db)
    finally:
        db.close()


def _wal(db: Database, seconds: float = 30) -> None:
    """Switch to WAL once. Workers start together: while one switches or migrates, another's
    switch fails at once with "database is locked" (no busy wait for it), so wait and retry."""
    deadline = time.monotonic() + seconds
    while db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
        try:
            db.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# The tables the portal writes rows into (their names go into SQL: only these).
TABLES = frozenset(
    {"submissions", "orphans", "documents", "events", "outbox", "staff", "staff_sessions"}
)
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def insert(db: Database, table: str, row: Mapping[str, Any]) -> int:
    """INSERT one row; its rowid. The values as sqlite-utils stores them (lists and dicts as
    JSON with Arabic unescaped, dates in ISO 8601), without Table.insert's look-ups of the
    schema (about 0.1 ms each on this database, several to a submission): the migrations
    made the tables, and a column that is not there is an error, as it was."""
    if table not in TABLES or not all(_NAME.match(column) for column in row):
        raise ValueError(f"not a table or column of the portal: {table} {sorted(row)}")
    columns = ", ".join(row)
    marks = ", ".join("?" * len(row))
    values = [sqlite_utils.db.jsonify_if_needed(value) for value in row.values()]
    # Only the checked names above are formatted into the SQL; the values are placeholders.
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608  # nosec B608
    rowid = db.execute(sql, values).lastrowid
    if rowid is None:  # never for a table with rowids
        raise RuntimeError(f"no rowid for the row inserted into {table}")
    return rowid


# Connections inside one of our write transactions (so a nested write becomes a savepoint).
_depth: dict[int, int] = {}


@contextlib.contextmanager
def immediate(db: Database) -> Iterator[Database]:
    """A write transaction that takes the lock at BEGIN, so it never fails half way on a busy DB.

    Nested inside another `immediate` on the same connection it is a savepoint: a request
    that rate-limits, stores and issues its receipt commits once (one fsync), and a part that
    fails undoes alone. sqlite-utils' own atomic() begins a deferred transaction; writes
    inside this block that use sqlite-utils helpers nest as savepoints.
    """
    key = id(db.conn)
    depth = _depth.get(key, 0)
    if depth:
        name = f"portal_{depth}"
        db.execute(f"SAVEPOINT {name}")
        _depth[key] = depth + 1
        try:
            yield db
        except BaseException:
            db.execute(f"ROLLBACK TO {name}")
            db.execute(f"RELEASE {name}")
            raise
        else:
            db.execute(f"RELEASE {name}")
        finally:
            _depth[key] = depth
        return
    db.execute("BEGIN IMMEDIATE")
    _depth[key] = 1
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    else:
        db.execute("COMMIT")
    finally:
        _depth.pop(key, None)


_local = threading.local()


def get_db() -> Database:
    """This thread's connection to the app's database, kept open between requests.

    Opening a connection per request costs more than the request's own work, and closing
    the last one makes SQLite checkpoint and delete the WAL every time.
    """
    path = current_app.config["PORTAL_DB"]
    connections = _local.__dict__.setdefault("connections", {})
    db = connections.get(path)
    if db is None:
        if len(connections) >= 4:  # one app uses one path; tests make many apps in a thread
            connections.pop(next(iter(connections))).close()
        db = connections[path] = connect(path)
    g.db = db
    return db


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None and db.conn.in_transaction:
        db.conn.rollback()  # never carry a transaction over to the next request


def init_app(app: Flask) -> None:
    prepare(app.config["PORTAL_DB"])
    app.teardown_appcontext(close_db)
