"""THE lifecycle: kinds, states, allowed transitions, submit(), and the audit events.

Every write to a submission goes through this module, inside BEGIN IMMEDIATE, with
its event in the same transaction.
"""

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from flask_babel import lazy_gettext as _l

from . import identifiers
from .db import immediate


class Kind(StrEnum):
    ASSISTANCE = "assistance"
    VOLUNTEER = "volunteer"
    FEEDBACK = "feedback"


class State(StrEnum):
    RECEIVED = "received"
    VERIFYING = "verifying"
    NEEDS_INFO = "needs_info"
    SOCIAL_RESEARCH = "social_research"
    COMMITTEE = "committee"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REGISTERED = "registered"
    SERVED = "served"
    WITHDRAWN = "withdrawn"
    DUPLICATE = "duplicate"
    CONTACTED = "contacted"
    DECLINED = "declined"
    ACTIVE = "active"
    REVIEWED = "reviewed"


INITIAL_STATE = {kind: State.RECEIVED for kind in Kind}

# What the applicant reads on the status page: plain words, never the internal names.
APPLICANT_LABELS = {
    State.RECEIVED: _l("Received"),
    State.VERIFYING: _l("Being reviewed"),
    State.NEEDS_INFO: _l("More information needed"),
    State.SOCIAL_RESEARCH: _l("Being reviewed"),
    State.COMMITTEE: _l("With the research committee"),
    State.ACCEPTED: _l("Accepted"),
    State.REJECTED: _l("Not accepted"),
    State.REGISTERED: _l("Registered"),
    State.SERVED: _l("Service provided"),
    State.WITHDRAWN: _l("Withdrawn"),
    State.DUPLICATE: _l("Closed: the same request was already received"),
    State.CONTACTED: _l("Being reviewed"),
    State.DECLINED: _l("Not accepted"),
    State.ACTIVE: _l("Active volunteer"),
    State.REVIEWED: _l("Reviewed"),
}


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """One line of the append-only audit trail. `detail` never holds personal data."""

    action: str
    actor: str
    submission_id: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    detail: dict = field(default_factory=dict)


def record(db, event: Event, at: dt.datetime | None = None) -> None:
    row = asdict(event)
    row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
    row["at"] = iso(at or now_utc())
    db["events"].insert(row)


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
    db,
    *,
    kind: Kind,
    lang: str,
    fields: dict,
    channel: str = "website",
    orphans: tuple = (),
    draft_id: str | None = None,
    form_key: str | None = None,
    attestation: Attestation | None = None,
    consent: Attestation | None = None,
    answer_days: int | None = None,
    actor: str = "applicant",
    mail: dict | None = None,
    at: dt.datetime | None = None,
) -> Receipt:
    """Store one submission with its orphans, documents and event; retries return the first."""
    at = at or now_utc()
    with immediate(db):
        if form_key:
            existing = db.execute(
                "SELECT id, reference, created_at, answer_from FROM submissions WHERE form_key = ?",
                [form_key],
            ).fetchone()
            if existing:
                return Receipt(*existing, is_new=False)
        reference = _unique_reference(db)
        answer_from = (
            (at.date() + dt.timedelta(days=answer_days)).isoformat() if answer_days else None
        )
        row = {
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
        submission_id = db["submissions"].insert(row).last_pk
        for position, orphan in enumerate(orphans):
            db["orphans"].insert({"submission_id": submission_id, "position": position, **orphan})
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
            db["outbox"].insert({"submission_id": submission_id, "created_at": iso(at), **mail})
        return Receipt(submission_id, reference, row["created_at"], answer_from, is_new=True)


def _unique_reference(db) -> str:
    while True:
        reference = identifiers.new_reference()
        if not db.execute("SELECT 1 FROM submissions WHERE reference = ?", [reference]).fetchone():
            return reference


# ---------------------------------------------------------------- reading


def get(db, submission_id: int) -> dict | None:
    rows = list(db["submissions"].rows_where("id = ?", [submission_id]))
    return _decode(rows[0]) if rows else None


def by_reference(db, reference: str) -> dict | None:
    rows = list(db["submissions"].rows_where("reference = ?", [reference]))
    return _decode(rows[0]) if rows else None


def orphans_of(db, submission_id: int) -> list[dict]:
    return list(db["orphans"].rows_where("submission_id = ?", [submission_id], order_by="position"))


def documents_of(db, submission_id: int) -> list[dict]:
    return list(db["documents"].rows_where("submission_id = ?", [submission_id], order_by="id"))


def status_lookup(db, reference: str, mobile: str) -> dict | None:
    """The request for a reference and the mobile given with it; the same None for any miss."""
    row = by_reference(db, reference)
    if row is None or row["mobile"] is None or row["mobile"] != mobile:
        return None
    return row


def _decode(row: dict) -> dict:
    row = dict(row)
    row["data"] = json.loads(row["data"] or "{}")
    return row
