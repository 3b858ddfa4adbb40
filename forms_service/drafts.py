"""A visitor's state between requests, kept on the server: a support request in progress
(what was typed and the documents) and the receipt shown after a submission.

Only random keys live in the session cookie (signed, not encrypted: whoever holds a copy can
read it): a draft id, a receipt token. The data stays on the server, and `sweep()` removes
what has expired, with the upload files nothing points to, without a manual command.
"""

import datetime as dt
import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable
from pathlib import Path

from .clock import iso, now_utc
from .db import Database, immediate, insert
from .uploads import ALLOWED, StoredFile, document_row, remove

MAX_AGE = dt.timedelta(days=1)
# A confirmation page is shown this long after the submission; then only the status lookup.
RECEIPT_AGE = dt.timedelta(minutes=30)
# A status lookup may answer "more information needed" this long (`answers`).
ANSWER_ACCESS_AGE = dt.timedelta(minutes=30)
# The sweep runs at most once a period, whichever worker claims it first.
SWEEP_EVERY = dt.timedelta(minutes=10)
SWEEP_KEY = "sweep"  # its claim, a row of rate_limits (whose own keys are 32 hex digits)
# An unreferenced upload younger than this may belong to a form being sent right now.
STRAY_MIN_AGE = dt.timedelta(hours=1)
# Only names uploads.store() gives are ever stray: a mis-set PORTAL_UPLOADS (say, var/) must
# never lose the database or anything else that happens to sit in the folder.
STORED_NAME = re.compile(
    r"[0-9a-f]{32}(" + "|".join(re.escape(ext) for ext in sorted(set(ALLOWED.values()))) + ")"
)


class Full(Exception):
    """The documents of all requests in progress would pass their cap."""


def new_id() -> str:
    return secrets.token_urlsafe(24)


def load(db: Database, draft_id: str | None) -> list | None:
    """The typed fields as (name, value) pairs, or None when there is no live draft."""
    if not draft_id:
        return None
    row = db.execute("SELECT data, updated_at FROM drafts WHERE id = ?", [draft_id]).fetchone()
    if row is None:
        return None
    return [tuple(pair) for pair in json.loads(row[0])]


def saved_at(db: Database, draft_id: str | None) -> str | None:
    """When the draft was last saved (stored UTC), or None when there is none."""
    if not draft_id:
        return None
    row = db.execute("SELECT updated_at FROM drafts WHERE id = ?", [draft_id]).fetchone()
    return row[0] if row else None


def discard(db: Database, draft_id: str) -> list[str]:
    """Forget a draft now (the person chose to start again); return its files to remove."""
    with immediate(db):
        files = [
            r[0]
            for r in db.execute(
                "SELECT stored_name FROM documents WHERE draft_id = ?", [draft_id]
            ).fetchall()
        ]
        db.execute("DELETE FROM documents WHERE draft_id = ?", [draft_id])
        db.execute("DELETE FROM drafts WHERE id = ?", [draft_id])
    return files


def save(db: Database, draft_id: str, lang: str, pairs: list) -> None:
    moment = iso(now_utc())
    with immediate(db):
        db.execute(
            "INSERT INTO drafts (id, lang, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data, lang = excluded.lang, "
            "updated_at = excluded.updated_at",
            [draft_id, lang, json.dumps(pairs, ensure_ascii=False), moment, moment],
        )


def space_used(db: Database, draft_id: str | None = None, kind: str | None = None) -> int:
    """Bytes of every draft's documents, but the one of this kind in this draft (a new one
    replaces it)."""
    return db.execute(
        "SELECT coalesce(sum(size), 0) FROM documents WHERE draft_id IS NOT NULL "
        "AND (draft_id IS NOT ? OR kind IS NOT ?)",
        [draft_id, kind],
    ).fetchone()[0]


def add_document(
    db: Database, draft_id: str, kind: str, stored: StoredFile, max_bytes: int | None = None
) -> str | None:
    """Attach a document to the draft, replacing one of the same kind; return the old file.

    With `max_bytes`, raise Full (and change nothing) when all drafts' documents would pass it.
    """
    with immediate(db):
        if max_bytes is not None and space_used(db, draft_id, kind) + stored.size > max_bytes:
            raise Full
        old = db.execute(
            "SELECT stored_name FROM documents WHERE draft_id = ? AND kind = ?", [draft_id, kind]
        ).fetchone()
        db.execute("DELETE FROM documents WHERE draft_id = ? AND kind = ?", [draft_id, kind])
        insert(db, "documents", document_row(stored, kind, draft_id=draft_id))
    return old[0] if old else None


def documents(db: Database, draft_id: str | None) -> dict:
    if not draft_id:
        return {}
    rows = db["documents"].rows_where("draft_id = ?", [draft_id], order_by="id")
    return {row["kind"]: row for row in rows}


def expired(db: Database, now: dt.datetime | None = None) -> list[str]:
    """Drafts untouched for a day: delete them; return their files to remove."""
    cutoff = iso((now or now_utc()) - MAX_AGE)
    with immediate(db):
        files = [
            r[0]
            for r in db.execute(
                "SELECT stored_name FROM documents WHERE draft_id IN "
                "(SELECT id FROM drafts WHERE updated_at < ?)",
                [cutoff],
            ).fetchall()
        ]
        db.execute(
            "DELETE FROM documents WHERE draft_id IN (SELECT id FROM drafts WHERE updated_at < ?)",
            [cutoff],
        )
        db.execute("DELETE FROM drafts WHERE updated_at < ?", [cutoff])
    return files


# ---------------------------------------------------------------- receipts


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _receipt_cutoff(now: dt.datetime | None = None) -> str:
    return iso((now or now_utc()) - RECEIPT_AGE)


def new_receipt(db: Database, kind: str, submission_id: int) -> str:
    """A random token for the session; the server keeps only its hash and what it shows."""
    token = secrets.token_urlsafe(24)
    with immediate(db):
        db.execute(
            "INSERT INTO receipts (token_hash, kind, submission_id, created_at) "
            "VALUES (?, ?, ?, ?)",
            [_hash(token), kind, submission_id, iso(now_utc())],
        )
    return token


def receipt(db: Database, token: object, kind: str) -> int | None:
    """The submission a token shows, while RECEIPT_AGE lasts; None for anything else."""
    if not isinstance(token, str) or not token:
        return None
    row = db.execute(
        "SELECT submission_id FROM receipts WHERE token_hash = ? AND kind = ? AND created_at >= ?",
        [_hash(token), kind, _receipt_cutoff()],
    ).fetchone()
    return row[0] if row else None


def take_receipt(db: Database, token: object, kind: str) -> int | None:
    """As receipt(), once: the row is gone after it."""
    submission_id = receipt(db, token, kind)
    if submission_id is not None and isinstance(token, str):  # a str whenever a receipt is found
        with immediate(db):
            db.execute("DELETE FROM receipts WHERE token_hash = ?", [_hash(token)])
    return submission_id


def receipt_due(created_at: str, now: dt.datetime | None = None) -> bool:
    """Whether a submission made at `created_at` may still show its confirmation page."""
    return created_at >= _receipt_cutoff(now)


# ---------------------------------------------------------------- the sweep


def stray_files(
    db: Database, uploads_dir: str | Path | None, min_age: dt.timedelta = STRAY_MIN_AGE
) -> list[str]:
    """Files in the uploads folder that no document row names, older than `min_age` (real
    clock: file times are real), e.g. left behind when a form failed after its upload was
    stored."""
    if uploads_dir is None or not Path(uploads_dir).is_dir():
        return []
    known = {row[0] for row in db.execute("SELECT stored_name FROM documents").fetchall()}
    oldest = time.time() - min_age.total_seconds()
    return sorted(
        path.name
        for path in Path(uploads_dir).iterdir()
        if path.is_file()
        and path.name not in known
        and STORED_NAME.fullmatch(path.name)
        and path.stat().st_mtime < oldest
    )


def remove_files(uploads_dir: str | Path, names: Iterable[str]) -> int:
    """Remove these stored files; return how many were there."""
    folder = Path(uploads_dir)
    removed = 0
    for name in names:
        if (folder / name).exists():
            remove(folder, name)
            removed += 1
    return removed


def _claim_sweep(db: Database, now: dt.datetime) -> bool:
    """True for the one caller, in any worker, that takes this period's sweep."""
    seconds = int(SWEEP_EVERY.total_seconds())
    period = int(now.timestamp()) // seconds * seconds
    claimed = "SELECT 1 FROM rate_limits WHERE key = ? AND window_start = ?"
    if db.execute(claimed, [SWEEP_KEY, period]).fetchone():  # a read: most requests stop here
        return False
    with immediate(db):
        return (
            db.execute(
                "INSERT OR IGNORE INTO rate_limits (key, window_start, count) VALUES (?, ?, 1)",
                [SWEEP_KEY, period],
            ).rowcount
            == 1
        )


def _orphaned_documents(db: Database) -> list[str]:
    """Rows of documents whose draft is gone (and that belong to no case): delete them."""
    where = (
        "submission_id IS NULL AND draft_id IS NOT NULL AND draft_id NOT IN (SELECT id FROM drafts)"
    )
    with immediate(db):
        files = [
            r[0]
            for r in db.execute(f"SELECT stored_name FROM documents WHERE {where}").fetchall()  # noqa: S608
        ]
        db.execute(f"DELETE FROM documents WHERE {where}")  # noqa: S608
    return files


def sweep(db: Database, uploads_dir: str | Path, now: dt.datetime | None = None) -> int | None:
    """Remove expired drafts with their files, expired receipts and answer accesses, and stray
    uploads, at most
    once every SWEEP_EVERY for all workers together. Return the files removed, or None when
    this period's sweep was someone else's."""
    now = now or now_utc()
    if not _claim_sweep(db, now):
        return None
    with immediate(db):
        access_cutoff = iso(now - ANSWER_ACCESS_AGE)
        db.execute(  # an ended answer's draft goes; its files with _orphaned_documents
            "DELETE FROM drafts WHERE id IN "
            "(SELECT draft_id FROM answer_access WHERE created_at < ?)",
            [access_cutoff],
        )
        db.execute("DELETE FROM answer_access WHERE created_at < ?", [access_cutoff])
    files = expired(db, now) + _orphaned_documents(db)
    with immediate(db):
        db.execute("DELETE FROM receipts WHERE created_at < ?", [_receipt_cutoff(now)])
    files += stray_files(db, uploads_dir)
    return remove_files(uploads_dir, files)
