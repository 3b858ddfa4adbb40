"""The data subject's rights (Saudi PDPL): everything held about one person, found by
national ID or by mobile in any writing, as JSON (`subject_export`), or removed
(`subject_erase`). That includes support requests still in progress (drafts), whose fields
are kept as typed and are normalised to be compared.
"""

import datetime as dt
import json
from pathlib import Path

from . import clock, events, identifiers, queue
from . import drafts as drafts_module
from .db import Database, immediate
from .facts import facts
from .queue import chunks, marks
from .retention import _utc


class SubjectError(ValueError):
    """The person was not identified: no identifier, two, or one that cannot be valid."""


# ---------------------------------------------------------------- the data subject


def _mobile_writings(e164: str) -> list[str]:
    """+966512345678 and the other ways it could have been stored."""
    local = e164[4:]  # 5XXXXXXXX
    return [e164, "0" + local, local, "966" + local, "00966" + local]


def _identify(national_id: str | None, mobile: str | None) -> tuple[str, str]:
    given = [
        (name, value)
        for name, value in (("national_id", national_id), ("mobile", mobile))
        if value and value.strip()
    ]
    if len(given) != 1:
        raise SubjectError("give exactly one of a national ID or a mobile number")
    name, value = given[0]
    if name == "national_id":
        number = identifiers.clean_number(value)
        if not number.isdigit():
            raise SubjectError("a national ID or iqama number is digits only")
        return name, number
    e164 = identifiers.normalise_mobile(value)
    if e164 is None:
        raise SubjectError("not a Saudi mobile number")
    return name, e164


def _cases_of(db: Database, name: str, value: str) -> list[int]:
    """The person's cases, and feedback that names one of their references."""
    if name == "national_id":
        ids = queue.select_ids(
            db, "SELECT id FROM submissions WHERE national_id = ? ORDER BY id", [value]
        )
    else:
        writings = _mobile_writings(value)
        ids = queue.select_ids(
            db,
            f"SELECT id FROM submissions WHERE mobile IN ({marks(writings)}) ORDER BY id",  # noqa: S608
            writings,
        )
    references = queue.select_in(db, "SELECT reference FROM submissions WHERE id IN ({marks})", ids)
    ids += queue.select_in(
        db,
        "SELECT id FROM submissions WHERE kind = 'feedback' "
        "AND json_extract(data, '$.reference') IN ({marks})",
        references,
    )
    return sorted(set(ids))


def subject_cases(
    db: Database, national_id: str | None = None, mobile: str | None = None
) -> list[int]:
    """The ids of the person's cases (reads only; nothing recorded)."""
    return _cases_of(db, *_identify(national_id, mobile))


def _typed_pairs(data: str) -> list[tuple[str, str]]:
    """A draft's fields, (name, value) as typed; nothing for a row that is not such a list."""
    try:
        pairs = json.loads(data)
    except ValueError:
        return []
    if not isinstance(pairs, list):
        return []
    return [
        (pair[0], pair[1])
        for pair in pairs
        if isinstance(pair, list | tuple) and len(pair) == 2 and isinstance(pair[1], str)
    ]


def _is_theirs(name: str, value: str, typed: str) -> bool:
    """Whether what was typed is the person's identifier once normalised (any digits, spaces)."""
    if name == "national_id":
        return identifiers.clean_number(typed) == value
    return identifiers.normalise_mobile(typed) == value


def _drafts_of(db: Database, name: str, value: str) -> list[str]:
    """The person's support requests in progress: drafts whose typed ID or mobile is theirs.

    Drafts live a day at most and are few: each is read and compared in Python, because
    what they hold was never normalised (٠٥١ ٢٣٤ ٥٦٧٨, +966 51…, 1 000 000 008).
    """
    rows = db.execute("SELECT id, data FROM drafts ORDER BY created_at, rowid").fetchall()
    return [
        draft_id
        for draft_id, data in rows
        if any(
            field == name and _is_theirs(name, value, typed) for field, typed in _typed_pairs(data)
        )
    ]


def subject_drafts(
    db: Database, national_id: str | None = None, mobile: str | None = None
) -> list[str]:
    """The ids of the person's support requests in progress (reads only; nothing recorded)."""
    return _drafts_of(db, *_identify(national_id, mobile))


def _words(row: dict, prefix: str) -> dict | None:
    if not row.get(f"{prefix}_text"):
        return None
    return {k: row[f"{prefix}_{k}"] for k in ("text", "version", "lang", "at")}


def _case_export(db: Database, submission_id: int) -> dict:
    row = queue.get(db, submission_id)
    if row is None:  # never: the ids were read in the same transaction
        raise LookupError(f"no case {submission_id}")
    return {
        "reference": row["reference"],
        "reference_display": identifiers.format_reference(row["reference"]),
        "kind": row["kind"],
        "state": row["state"],
        "lang": row["lang"],
        "channel": row["channel"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "answer_from": row["answer_from"],
        "full_name": row["full_name"],
        "national_id": row["national_id"],
        "mobile": row["mobile"],
        "email": row["email"],
        "fields": row["data"],
        "applicant_message": row["applicant_message"],
        "attestation": _words(row, "attestation"),
        "consent": _words(row, "consent"),
        "orphans": [
            {k: orphan[k] for k in ("name", "birth_date", "gender", "school_stage")}
            for orphan in queue.orphans_of(db, submission_id)
        ],
        "documents": [
            {
                k: document[k]
                for k in ("kind", "original_name", "content_type", "size", "sha256", "created_at")
            }
            for document in queue.documents_of(db, submission_id)
        ],
        "events": [
            {
                "at": event["at"],
                "action": event["action"],
                "actor": event["actor"],
                "from_state": event["from_state"],
                "to_state": event["to_state"],
            }
            for event in queue.history(db, submission_id)
        ],
    }


def _draft_export(db: Database, draft_id: str) -> dict:
    lang, data, created_at, updated_at = db.execute(
        "SELECT lang, data, created_at, updated_at FROM drafts WHERE id = ?", [draft_id]
    ).fetchone()
    fields: dict = {}
    for name, value in _typed_pairs(data):
        if name in fields:  # a field with several choices (income sources, support types)
            earlier = fields[name] if isinstance(fields[name], list) else [fields[name]]
            fields[name] = [*earlier, value]
        else:
            fields[name] = value
    keys = ("kind", "original_name", "content_type", "size", "sha256", "created_at")
    documents = db.execute(
        f"SELECT {', '.join(keys)} FROM documents WHERE draft_id = ? ORDER BY id",  # noqa: S608
        [draft_id],
    ).fetchall()
    return {
        "lang": lang,
        "created_at": created_at,
        "updated_at": updated_at,
        "fields": fields,
        "documents": [dict(zip(keys, row, strict=True)) for row in documents],
    }


def _delete_drafts(db: Database, draft_ids: list[str]) -> tuple[list[str], int]:
    """Delete drafts with their documents' rows; return the files to remove and the count."""
    files = []
    for chunk in chunks(draft_ids):
        placeholders = marks(chunk)
        files += [
            row[0]
            for row in db.execute(
                f"SELECT stored_name FROM documents WHERE draft_id IN ({placeholders})",  # noqa: S608
                chunk,
            ).fetchall()
        ]
        db.execute(f"DELETE FROM documents WHERE draft_id IN ({placeholders})", chunk)  # noqa: S608
        db.execute(f"DELETE FROM drafts WHERE id IN ({placeholders})", chunk)  # noqa: S608
    return files, len(files)


def subject_export(
    db: Database,
    national_id: str | None = None,
    mobile: str | None = None,
    *,
    actor: str = "cli",
    now: dt.datetime | None = None,
) -> dict:
    """Everything held about one person, JSON-able; recorded (the count, never who)."""
    name, value = _identify(national_id, mobile)
    now = _utc(now or clock.now_utc())
    with immediate(db):
        ids = _cases_of(db, name, value)
        cases = [_case_export(db, submission_id) for submission_id in ids]
        draft_ids = _drafts_of(db, name, value)
        in_progress = [_draft_export(db, draft_id) for draft_id in draft_ids]
        detail = {"cases": len(ids), "drafts": len(draft_ids)}
        events.record(db, events.Event("subject_exported", actor, detail=detail), now)
    return {
        "generated_at": clock.iso(now.replace(microsecond=0)),
        "controller": facts()["name"],
        "privacy_notice_version": facts()["privacy_notice"]["version"],
        "identified_by": {name: value},
        "cases": cases,
        "drafts": in_progress,
    }


def subject_erase(
    db: Database,
    uploads_dir: str | Path,
    national_id: str | None = None,
    mobile: str | None = None,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> dict:
    """Remove everything held about one person, requests in progress included; the trail
    stays, anonymised, and says so (counts only)."""
    name, value = _identify(national_id, mobile)
    now = _utc(now or clock.now_utc())
    queue.secure_deletes(db)
    with immediate(db):
        ids = _cases_of(db, name, value)
        files, counts = queue.delete_cases(db, ids)
        draft_ids = _drafts_of(db, name, value)
        draft_files, draft_documents = _delete_drafts(db, draft_ids)
        files += draft_files
        counts["documents"] += draft_documents
        counts["drafts"] = len(draft_ids)
        detail = {"cases": len(ids), "drafts": len(draft_ids)}
        events.record(db, events.Event("subject_erased", actor, detail=detail), now)
    if ids or draft_ids:
        queue.scrub(db)
    return {**counts, "files_removed": drafts_module.remove_files(uploads_dir, files)}


def to_json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
