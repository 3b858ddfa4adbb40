"""Every write to a case: submit, transition, notes, messages, assignment, documents.

The rules are `lifecycle`'s table; each write runs inside BEGIN IMMEDIATE with its audit
event (`events`) in the same transaction.
"""

import datetime as dt
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from . import identifiers
from .choices import DOCUMENT_KIND
from .clock import iso, now_utc
from .db import Database, immediate, insert
from .events import Event, record
from .lifecycle import INITIAL_STATE, NEEDS_REASON, TRANSITIONS, Kind, Role, State, may
from .migrations import ERASED_DETAIL
from .notify import after_submit, after_transition
from .uploads import StoredFile, document_row

DOCUMENT_KINDS = tuple(code for code, _label in DOCUMENT_KIND)

# ---------------------------------------------------------------- submit


@dataclass(frozen=True)
class Attestation:
    """The exact words a person agreed to, their version and language."""

    text: str
    version: str
    lang: str


@dataclass(frozen=True)
class Receipt:
    submission_id: int
    reference: str
    created_at: str
    answer_from: str | None
    is_new: bool


PERSON_COLUMNS = ("full_name", "national_id", "mobile", "email")


def submit(
    db: Database,
    *,
    kind: Kind,
    lang: str,
    fields: dict,
    channel: str = "website",
    orphans: Sequence[dict] = (),
    draft_id: str | None = None,
    form_key: str | None = None,
    attestation: Attestation | None = None,
    consent: Attestation | None = None,
    answer_days: int | None = None,
    actor: str = "applicant",
    mail: dict | None = None,
    at: dt.datetime | None = None,
    notify: Mapping[str, Any] | None = None,
) -> Receipt:
    """Store one submission with its orphans, documents and event; retries return the first.

    The applicant's "received" message (SMS, e-mail) goes into the outbox in the same
    transaction, addressed with `notify` (the settings; default: the running app's); a ready
    `mail` row replaces the e-mail one. Nothing is sent here.
    """
    at = at or now_utc()
    form_key = scoped_key(kind, form_key)
    with immediate(db):
        if form_key:
            existing = db.execute(
                "SELECT id, reference, created_at, answer_from FROM submissions WHERE form_key = ?",
                [form_key],
            ).fetchone()
            if existing:
                old_id, old_reference, old_created_at, old_answer_from = existing
                return Receipt(old_id, old_reference, old_created_at, old_answer_from, is_new=False)
        reference = _unique_reference(db)
        # Never reuse the id of an erased or purged case: its audit trail keeps that id.
        new_id = db.execute(
            "SELECT max(coalesce((SELECT max(id) FROM submissions), 0), "
            "coalesce((SELECT max(submission_id) FROM events), 0)) + 1"
        ).fetchone()[0]
        answer_from = (
            (at.date() + dt.timedelta(days=answer_days)).isoformat() if answer_days else None
        )
        row = {
            "id": new_id,
            "reference": reference,
            "kind": str(kind),
            "lang": lang,
            "state": str(INITIAL_STATE[kind]),
            "channel": channel,
            "created_at": iso(at),
            "updated_at": iso(at),
            "answer_from": answer_from,
            "form_key": form_key,
            **{column: fields.get(column) or None for column in PERSON_COLUMNS},
            "name_norm": identifiers.fold_arabic(fields.get("full_name") or "") or None,
            "data": json.dumps(
                {k: v for k, v in fields.items() if k not in PERSON_COLUMNS},
                ensure_ascii=False,
                default=str,
            ),
        }
        for prefix, words in (("attestation", attestation), ("consent", consent)):
            if words:
                row |= {
                    f"{prefix}_text": words.text,
                    f"{prefix}_version": words.version,
                    f"{prefix}_lang": words.lang,
                    f"{prefix}_at": iso(at),
                }
        submission_id = insert(db, "submissions", row)
        for position, orphan in enumerate(orphans):
            insert(
                db,
                "orphans",
                {
                    "submission_id": submission_id,
                    "position": position,
                    "name_norm": identifiers.fold_arabic(orphan["name"]),
                    **orphan,
                },
            )
        documents = 0
        if draft_id:
            documents = db.execute(
                "UPDATE documents SET submission_id = ?, draft_id = NULL WHERE draft_id = ?",
                [submission_id, draft_id],
            ).rowcount
            db.execute("DELETE FROM drafts WHERE id = ?", [draft_id])
        record(
            db,
            Event(
                "submitted",
                actor,
                submission_id,
                to_state=row["state"],
                detail={
                    "kind": str(kind),
                    "channel": channel,
                    "lang": lang,
                    "orphans": len(orphans),
                    "documents": documents,
                },
            ),
            at,
        )
        if mail:
            insert(db, "outbox", {"submission_id": submission_id, "created_at": iso(at), **mail})
        after_submit(db, submission_id, kind, notify, at, email=not mail)
        return Receipt(submission_id, reference, row["created_at"], answer_from, is_new=True)


def scoped_key(kind: Kind | str, form_key: str | None) -> str | None:
    """A one-time key belongs to one kind of form: the same key sent to another form is new."""
    return f"{Kind(kind)}:{form_key}" if form_key else None


def _unique_reference(db: Database) -> str:
    while True:
        reference = identifiers.new_reference()
        if not db.execute("SELECT 1 FROM submissions WHERE reference = ?", [reference]).fetchone():
            return reference


# ---------------------------------------------------------------- reading


def get(db: Database, submission_id: int) -> dict | None:
    rows = list(db["submissions"].rows_where("id = ?", [submission_id]))
    return _decode(rows[0]) if rows else None


def by_reference(db: Database, reference: str) -> dict | None:
    rows = list(db["submissions"].rows_where("reference = ?", [reference]))
    return _decode(rows[0]) if rows else None


def by_form_key(db: Database, kind: Kind | str, form_key: str) -> dict | None:
    rows = list(db["submissions"].rows_where("form_key = ?", [scoped_key(kind, form_key)]))
    return _decode(rows[0]) if rows else None


def orphans_of(db: Database, submission_id: int) -> list[dict]:
    return list(db["orphans"].rows_where("submission_id = ?", [submission_id], order_by="position"))


def documents_of(db: Database, submission_id: int) -> list[dict]:
    return list(db["documents"].rows_where("submission_id = ?", [submission_id], order_by="id"))


# Compared against when a reference is unknown or has no mobile: as long as a stored mobile
# (+9665XXXXXXXX), and never equal to one (letters where digits are).
NO_MOBILE = "+966XXXXXXXXX"


def status_lookup(db: Database, reference: str, mobile: str | None) -> dict | None:
    """The request for a reference and the mobile given with it; the same None for any miss.

    An unknown reference and a known one with another mobile take the same path: one SELECT,
    one constant-time comparison (against NO_MOBILE when there is no row), so neither the
    answer nor the work done tells whether a reference exists.
    """
    found = db.execute(
        "SELECT id, coalesce(mobile, ?) FROM submissions WHERE reference = ?",
        [NO_MOBILE, reference],
    ).fetchone()
    submission_id, stored = found or (None, NO_MOBILE)
    same = hmac.compare_digest(stored.encode(), (mobile or "").encode())
    return get(db, submission_id) if same and submission_id is not None else None


def decode_missing(row: Mapping[str, Any]) -> list[str]:
    """The document kinds the current "more information needed" asks for."""
    return json.loads(row.get("missing_documents") or "[]")


def _decode(row: dict) -> dict:
    row = dict(row)
    row["data"] = json.loads(row["data"] or "{}")
    return row


# ---------------------------------------------------------------- staff actions


class InvalidTransition(Exception):
    """This role may not make this move from this state."""


class LostRace(Exception):
    """Someone else moved the case first; nothing was changed."""


class ReasonRequired(ValueError):
    pass


def transition(
    db: Database,
    submission_id: int,
    target: State | str,
    *,
    actor: str,
    role: Role | str,
    reason: str = "",
    expected: State | str | None = None,
    at: dt.datetime | None = None,
    notify: Mapping[str, Any] | None = None,
    meeting_id: int | None = None,
    missing: Sequence[str] = (),
) -> None:
    """Move a case: UPDATE … WHERE state IN (sources this role may move from) plus its event.

    `expected` is the state the person saw; if the case moved since, LostRace. The message
    the move causes (notify.ON_TRANSITION) goes into the outbox in the same transaction,
    addressed with `notify` (the settings; default: the running app's).

    What the applicant reads is only ever the current ask: moving to needs_info sets the
    message (`reason`) and the documents asked for (`missing`, kinds of DOCUMENT_KIND); any
    other move clears both. The applicant's own move marks the case answered; staff's next
    move clears the mark.
    """
    at, target = at or now_utc(), State(target)
    reason = (reason or "").strip()
    if target in NEEDS_REASON and not reason:
        raise ReasonRequired(target)
    missing = list(dict.fromkeys(missing)) if target == State.NEEDS_INFO else []
    if unknown := set(missing) - set(DOCUMENT_KINDS):
        raise ValueError(f"not a document kind: {sorted(unknown)}")
    with immediate(db):
        row = db.execute(
            "SELECT kind, state FROM submissions WHERE id = ?", [submission_id]
        ).fetchone()
        if row is None:
            raise InvalidTransition("no such case")
        kind, current = Kind(row[0]), State(row[1])
        sources = [
            a for (k, a, b) in TRANSITIONS if k == kind and b == target and may(role, k, a, b)
        ]
        if not sources:
            raise InvalidTransition(f"{role} may not move {kind} to {target}")
        if expected is not None and current != State(expected):
            raise LostRace(submission_id)
        asking = target == State.NEEDS_INFO
        answered = iso(at) if Role(role) == Role.APPLICANT else None
        changed = db.execute(
            # Only placeholders are formatted into the SQL.
            "UPDATE submissions SET state = ?, updated_at = ?, applicant_message = ?, "  # noqa: S608
            "missing_documents = ?, answered_at = ? "
            f"WHERE id = ? AND state IN ({marks(sources)})",
            [
                str(target),
                iso(at),
                reason if asking else None,
                json.dumps(missing) if asking and missing else None,
                answered,
                submission_id,
                *map(str, sources),
            ],
        ).rowcount
        if changed == 0:
            raise InvalidTransition(f"{role} may not move {kind} from {current} to {target}")
        record(
            db,
            Event(
                "transition",
                actor,
                submission_id,
                str(current),
                str(target),
                # A decision taken at a committee meeting carries the meeting.
                ({"reason": reason} if reason else {})
                | ({"missing": missing} if missing else {})
                | ({} if meeting_id is None else {"meeting": meeting_id}),
            ),
            at,
        )
        after_transition(db, submission_id, kind, target, notify, at)


def _note(
    db: Database,
    submission_id: int,
    action: str,
    actor: str,
    detail: dict,
    at: dt.datetime | None = None,
    update: tuple[str, list] | None = None,
) -> None:
    with immediate(db):
        if update:
            sql, params = update
            if db.execute(sql, params).rowcount == 0:
                raise InvalidTransition("no such case")
        record(db, Event(action, actor, submission_id, detail=detail), at)


def add_note(db: Database, submission_id: int, text: str, *, actor: str) -> None:
    """An internal note: staff only, never shown to the applicant."""
    _note(db, submission_id, "note", actor, {"text": text.strip()})


def message_applicant(db: Database, submission_id: int, text: str, *, actor: str) -> None:
    """A message the applicant reads on the status page (kept apart from internal notes)."""
    at = now_utc()
    _note(
        db,
        submission_id,
        "message",
        actor,
        {"text": text.strip()},
        at,
        (
            "UPDATE submissions SET applicant_message = ?, updated_at = ? WHERE id = ?",
            [text.strip(), iso(at), submission_id],
        ),
    )


def assign(db: Database, submission_id: int, username: str | None, *, actor: str) -> None:
    _note(
        db,
        submission_id,
        "assignment",
        actor,
        {"to": username},
        update=("UPDATE submissions SET assigned_to = ? WHERE id = ?", [username, submission_id]),
    )


def record_view(db: Database, submission_id: int, *, actor: str, what: str = "case") -> None:
    """Every view of personal data is an event: the PDPL accountability trail."""
    with immediate(db):
        record(db, Event("view", actor, submission_id, detail={"what": what}))


def attach_document(
    db: Database, submission_id: int, kind: str, stored: StoredFile, *, actor: str
) -> None:
    """A document added by staff to an existing case (staff entry)."""
    with immediate(db):
        insert(db, "documents", document_row(stored, kind, submission_id=submission_id))
        record(db, Event("document_added", actor, submission_id, detail={"kind": kind}))


def history(db: Database, submission_id: int) -> list[dict]:
    rows = db["events"].rows_where("submission_id = ?", [submission_id], order_by="id")
    return [{**r, "detail": json.loads(r["detail"] or "{}")} for r in rows]


# ---------------------------------------------------------------- removing cases
# Retention and erasure remove cases here, like every other write to a case. The audit trail
# outlives them: events stay, keyed by the old submission id, with what staff typed
# (notes, messages, reasons) replaced by the erased marker (migration m003).

# Events whose detail holds words staff typed (which may name the person).
FREE_TEXT_ACTIONS = ("note", "message", "transition", "applicant_reply")
_CHUNK = 500  # ids per statement (well under SQLite's parameter limit)


def chunks(ids: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def marks(values: list) -> str:
    return ",".join("?" * len(values))


def select_ids(db: Database, sql: str, params: list) -> list[int]:
    return [row[0] for row in db.execute(sql, params).fetchall()]


def select_in(db: Database, sql: str, values: list) -> list:
    """The first column of `sql` for every value, asked in chunks under SQLite's parameter
    limit: `sql` holds `{marks}` where the placeholders go."""
    found = []
    for chunk in chunks(values):
        found += [row[0] for row in db.execute(sql.format(marks=marks(chunk)), chunk).fetchall()]
    return found


def document_files(db: Database, ids: list[int]) -> list[str]:
    return select_in(db, "SELECT stored_name FROM documents WHERE submission_id IN ({marks})", ids)


def _anonymise_events(db: Database, ids: list[int]) -> int:
    """Replace the typed words of notes, messages and reasons of these cases by the marker."""
    changed = 0
    actions = list(FREE_TEXT_ACTIONS)
    for chunk in chunks(ids):
        changed += db.execute(
            f"UPDATE events SET detail = ? WHERE submission_id IN ({marks(chunk)}) "  # noqa: S608
            f"AND action IN ({marks(actions)}) AND detail NOT IN ('{{}}', ?)",
            [ERASED_DETAIL, *chunk, *actions, ERASED_DETAIL],
        ).rowcount
    return changed


def delete_cases(db: Database, ids: list[int]) -> tuple[list[str], dict]:
    """Delete cases with everything hanging off them; return their files and the counts.

    Explicit deletes (not only ON DELETE CASCADE): the same result on a connection without
    `PRAGMA foreign_keys`.
    """
    files = document_files(db, ids)
    counts = {"cases": 0, "orphans": 0, "documents": 0, "outbox": 0, "events_anonymised": 0}
    for chunk in chunks(ids):
        placeholders = marks(chunk)
        counts["events_anonymised"] += _anonymise_events(db, chunk)
        for table in ("outbox", "documents", "orphans"):
            counts[table] += db.execute(
                f"DELETE FROM {table} WHERE submission_id IN ({placeholders})",  # noqa: S608
                chunk,
            ).rowcount
        db.execute(f"DELETE FROM receipts WHERE submission_id IN ({placeholders})", chunk)  # noqa: S608
        counts["cases"] += db.execute(
            f"DELETE FROM submissions WHERE id IN ({placeholders})",  # noqa: S608
            chunk,
        ).rowcount
    return files, counts


def anonymise_contact(db: Database, ids: list[int]) -> int:
    """Strip the contact from feedback (ratings and comments stay); return events anonymised."""
    changed = 0
    for chunk in chunks(ids):
        db.execute(
            "UPDATE submissions SET mobile = NULL, email = NULL, full_name = NULL, "  # noqa: S608
            "national_id = NULL, name_norm = NULL, "
            "data = json_set(data, '$.may_contact', json('false')) "
            f"WHERE id IN ({marks(chunk)})",
            chunk,
        )
        changed += _anonymise_events(db, chunk)
    return changed


def secure_deletes(db: Database) -> None:
    """Deleted rows are overwritten with zeros, not left in free pages (whatever the build's
    default is)."""
    db.execute("PRAGMA secure_delete = ON")


def scrub(db: Database) -> None:
    """After a delete has committed: words must not linger where SQL no longer shows them.

    FTS5 keeps a deleted row's tokens (name trigrams) in its segments until they merge:
    'optimize' rewrites the index. The WAL keeps old page images until a checkpoint: a
    TRUNCATE checkpoint copies them back and empties it (best effort: busy readers win).
    """
    with immediate(db):
        db.execute("INSERT INTO submissions_fts (submissions_fts) VALUES ('optimize')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
