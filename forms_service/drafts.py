"""A support request in progress: what was typed and the documents, kept between steps.

Only a random draft id lives in the (signed) session cookie; the data stays on the server.
"""

import datetime as dt
import json
import secrets

from .db import immediate
from .queue import iso, now_utc
from .uploads import StoredFile, document_row

MAX_AGE = dt.timedelta(days=1)


def new_id() -> str:
    return secrets.token_urlsafe(24)


def load(db, draft_id: str | None) -> list | None:
    """The typed fields as (name, value) pairs, or None when there is no live draft."""
    if not draft_id:
        return None
    row = db.execute("SELECT data, updated_at FROM drafts WHERE id = ?", [draft_id]).fetchone()
    if row is None:
        return None
    return [tuple(pair) for pair in json.loads(row[0])]


def save(db, draft_id: str, lang: str, pairs: list) -> None:
    moment = iso(now_utc())
    with immediate(db):
        db.execute(
            "INSERT INTO drafts (id, lang, data, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET data = excluded.data, lang = excluded.lang, "
            "updated_at = excluded.updated_at",
            [draft_id, lang, json.dumps(pairs, ensure_ascii=False), moment, moment],
        )


def add_document(db, draft_id: str, kind: str, stored: StoredFile) -> str | None:
    """Attach a document to the draft, replacing one of the same kind; return the old file."""
    with immediate(db):
        old = db.execute(
            "SELECT stored_name FROM documents WHERE draft_id = ? AND kind = ?", [draft_id, kind]
        ).fetchone()
        db.execute("DELETE FROM documents WHERE draft_id = ? AND kind = ?", [draft_id, kind])
        db["documents"].insert(document_row(stored, kind, draft_id=draft_id))
    return old[0] if old else None


def documents(db, draft_id: str | None) -> dict:
    if not draft_id:
        return {}
    rows = db["documents"].rows_where("draft_id = ?", [draft_id], order_by="id")
    return {row["kind"]: row for row in rows}


def expired(db, now: dt.datetime | None = None) -> list[str]:
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
