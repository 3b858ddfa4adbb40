"""Personal data over time (Saudi PDPL): retention purges and the data subject's rights.

- `purge_plan()` / `purge()`: the retention schedule of facts.yml (`retention_months`),
  applied with a given clock: closed cases deleted with their orphans and documents, old
  feedback stripped of its contact, expired drafts and stray uploads removed.
- `subject_export()` / `subject_erase()`: everything held about one person (found by national
  ID or by mobile in any writing), as JSON; or removed. That includes support requests still
  in progress (drafts), whose fields are kept as typed and are normalised to be compared.

The audit trail outlives the cases: events stay, keyed by the old submission id. Their
`detail` never holds personal data except what staff typed (notes, messages to the applicant,
reasons of transitions): those are replaced by the erased marker, the one update the
append-only table allows (migration m003). Files are removed only after the transaction that
deleted their rows has committed: a failed purge never leaves a row without its file.
"""

import calendar
import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import clock, events, identifiers, lifecycle, queue
from . import drafts as drafts_module
from .db import immediate
from .facts import facts
from .migrations import ERASED_DETAIL

# The rules of the schedule, as named in facts.yml `retention_months`.
REQUESTS = "rejected_or_withdrawn_requests"
VOLUNTEERS = "declined_volunteers"
FEEDBACK = "feedback_contact_details"
RULES = (REQUESTS, VOLUNTEERS, FEEDBACK)
# Housekeeping that is not a schedule (no months): always applied by a purge.
DRAFTS = "expired_drafts"
UNLINKED = "unlinked_documents"
STRAY = "stray_files"

CLOSED_REQUEST_STATES = (
    lifecycle.State.REJECTED,
    lifecycle.State.WITHDRAWN,
    lifecycle.State.DUPLICATE,
)
# Events whose detail holds words staff typed (which may name the person).
FREE_TEXT_ACTIONS = ("note", "message", "transition")
# An unreferenced upload younger than this may belong to a form being sent right now (the
# public forms' own sweep, drafts.sweep(), uses a shorter age; both share drafts.stray_files).
STRAY_MIN_AGE = dt.timedelta(days=1)
_CHUNK = 500  # ids per statement (well under SQLite's parameter limit)


class SubjectError(ValueError):
    """The person was not identified: no identifier, two, or one that cannot be valid."""


# ---------------------------------------------------------------- the clock and the schedule


def schedule_from_facts(**overrides: int | None) -> dict[str, int]:
    """facts.yml `retention_months`, with the given rules overridden (None: keep the fact)."""
    schedule = {rule: int(months) for rule, months in facts()["retention_months"].items()}
    for rule, months in overrides.items():
        if rule not in RULES:
            raise ValueError(f"unknown retention rule: {rule}")
        if months is not None:
            schedule[rule] = int(months)
    for rule in RULES:
        if rule not in schedule:
            raise ValueError(f"retention_months has no {rule}")
        if schedule[rule] < 0:
            raise ValueError(f"{rule}: months cannot be negative")
    return schedule


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def months_before(moment: dt.datetime, months: int) -> dt.datetime:
    """The same time `months` calendar months earlier (31 March − 1 month → 28/29 February)."""
    year, month0 = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month0 + 1)[1])
    return moment.replace(year=year, month=month0 + 1, day=day)


def _cutoff(now: dt.datetime, months: int) -> str:
    return clock.iso(months_before(_utc(now), months).replace(microsecond=0))


def _chunks(ids: list, size: int = _CHUNK) -> Iterable[list]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _marks(values: list) -> str:
    return ",".join("?" * len(values))


# ---------------------------------------------------------------- the plan


@dataclass
class Step:
    """One rule of a purge: what it does to how many cases (ids are internal numbers)."""

    rule: str
    action: str  # "delete" or "anonymise"
    count: int
    ids: list[int] = field(default_factory=list)
    months: int | None = None
    before: str | None = None  # the cut-off moment (ISO, UTC)
    documents: int = 0  # files removed with it


@dataclass
class Plan:
    now: str
    steps: list[Step]
    # Stored names of files to remove: random names, never printed (internal to purge()).
    _files: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def step(self, rule: str) -> Step:
        return next(s for s in self.steps if s.rule == rule)

    def counts(self) -> dict[str, int]:
        return {s.rule: s.count for s in self.steps}

    def as_dict(self) -> dict:
        """The printable form: counts, cut-offs and case ids; no names, numbers or files."""
        return {
            "now": self.now,
            "rules": {
                s.rule: {
                    "action": s.action,
                    "count": s.count,
                    "documents": s.documents,
                    **({"months": s.months, "before": s.before} if s.months is not None else {}),
                    **({"ids": s.ids} if s.ids else {}),
                }
                for s in self.steps
            },
        }

    def lines(self, done: bool = False) -> list[str]:
        """One line a rule, for a person: "would delete" (dry run) or "deleted"."""
        verbs = {
            "delete": "deleted" if done else "would delete",
            "anonymise": "anonymised" if done else "would anonymise",
        }
        out = []
        for s in self.steps:
            when = f" ({s.months} months, before {s.before})" if s.months is not None else ""
            what = "files" if s.rule == STRAY else "rows" if s.rule in (DRAFTS, UNLINKED) else ""
            line = f"{s.rule}{when}: {verbs[s.action]} {s.count}"
            line += f" {what}" if what else " cases"
            if s.documents and s.rule != STRAY:
                line += f", {s.documents} documents"
            if s.ids:
                line += f" — ids {', '.join(map(str, s.ids))}"
            out.append(line)
        return out


def _ids(db, sql: str, params: list) -> list[int]:
    return [row[0] for row in db.execute(sql, params).fetchall()]


def _document_files(db, ids: list[int]) -> list[str]:
    files = []
    for chunk in _chunks(ids):
        files += [
            row[0]
            for row in db.execute(
                f"SELECT stored_name FROM documents WHERE submission_id IN ({_marks(chunk)})",  # noqa: S608
                chunk,
            ).fetchall()
        ]
    return files


def _stray_files(db, uploads_dir: Path | None) -> list[str]:
    """Files in the uploads folder that no document row names, older than a day."""
    return drafts_module.stray_files(db, uploads_dir, STRAY_MIN_AGE)


def purge_plan(db, now: dt.datetime, schedule: Mapping[str, int], uploads_dir=None) -> Plan:
    """What a purge at `now` would do (reads only). `uploads_dir`: also look for stray files."""
    now = _utc(now)
    steps, files = [], {}
    closed = [str(s) for s in CLOSED_REQUEST_STATES]
    for rule, kind, states in (
        (REQUESTS, lifecycle.Kind.ASSISTANCE, closed),
        (VOLUNTEERS, lifecycle.Kind.VOLUNTEER, [str(lifecycle.State.DECLINED)]),
    ):
        before = _cutoff(now, schedule[rule])
        ids = _ids(
            db,
            f"SELECT id FROM submissions WHERE kind = ? AND state IN ({_marks(states)}) "  # noqa: S608
            "AND updated_at < ? ORDER BY id",
            [str(kind), *states, before],
        )
        files[rule] = _document_files(db, ids)
        steps.append(Step(rule, "delete", len(ids), ids, schedule[rule], before, len(files[rule])))
    before = _cutoff(now, schedule[FEEDBACK])
    ids = _ids(
        db,
        "SELECT id FROM submissions WHERE kind = ? AND created_at < ? AND ("
        "mobile IS NOT NULL OR email IS NOT NULL OR full_name IS NOT NULL "
        "OR national_id IS NOT NULL OR coalesce(json_extract(data, '$.may_contact'), 0) != 0"
        ") ORDER BY id",
        [str(lifecycle.Kind.FEEDBACK), before],
    )
    steps.append(Step(FEEDBACK, "anonymise", len(ids), ids, schedule[FEEDBACK], before))
    draft_cutoff = clock.iso(_utc(now) - drafts_module.MAX_AGE)
    draft_count = db.execute(
        "SELECT count(*) FROM drafts WHERE updated_at < ?", [draft_cutoff]
    ).fetchone()[0]
    draft_documents = db.execute(
        "SELECT count(*) FROM documents WHERE draft_id IN "
        "(SELECT id FROM drafts WHERE updated_at < ?)",
        [draft_cutoff],
    ).fetchone()[0]
    steps.append(Step(DRAFTS, "delete", draft_count, documents=draft_documents))
    # Document rows that belong to nothing: no case, and no live draft.
    unlinked = db.execute(
        "SELECT id, stored_name FROM documents WHERE submission_id IS NULL AND "
        "(draft_id IS NULL OR draft_id NOT IN (SELECT id FROM drafts)) ORDER BY id"
    ).fetchall()
    files[UNLINKED] = [row[1] for row in unlinked]
    steps.append(Step(UNLINKED, "delete", len(unlinked), documents=len(unlinked)))
    files[STRAY] = _stray_files(db, uploads_dir)
    steps.append(Step(STRAY, "delete", len(files[STRAY]), documents=len(files[STRAY])))
    return Plan(clock.iso(now.replace(microsecond=0)), steps, files)


# ---------------------------------------------------------------- doing it


def _anonymise_events(db, ids: list[int]) -> int:
    """Replace the typed words of notes, messages and reasons of these cases by the marker."""
    changed = 0
    actions = list(FREE_TEXT_ACTIONS)
    for chunk in _chunks(ids):
        changed += db.execute(
            f"UPDATE events SET detail = ? WHERE submission_id IN ({_marks(chunk)}) "  # noqa: S608
            f"AND action IN ({_marks(actions)}) AND detail NOT IN ('{{}}', ?)",
            [ERASED_DETAIL, *chunk, *actions, ERASED_DETAIL],
        ).rowcount
    return changed


def _delete_cases(db, ids: list[int]) -> tuple[list[str], dict]:
    """Delete cases with everything hanging off them; return their files and the counts.

    Explicit deletes (not only ON DELETE CASCADE): the same result on a connection without
    `PRAGMA foreign_keys`.
    """
    files = _document_files(db, ids)
    counts = {"cases": 0, "orphans": 0, "documents": 0, "outbox": 0, "events_anonymised": 0}
    for chunk in _chunks(ids):
        marks = _marks(chunk)
        counts["events_anonymised"] += _anonymise_events(db, chunk)
        for table in ("outbox", "documents", "orphans"):
            counts[table] += db.execute(
                f"DELETE FROM {table} WHERE submission_id IN ({marks})",  # noqa: S608
                chunk,
            ).rowcount
        db.execute(f"DELETE FROM receipts WHERE submission_id IN ({marks})", chunk)  # noqa: S608
        counts["cases"] += db.execute(
            f"DELETE FROM submissions WHERE id IN ({marks})",  # noqa: S608
            chunk,
        ).rowcount
    return files, counts


def _anonymise_feedback(db, ids: list[int]) -> int:
    """Strip the contact from feedback (ratings and comments stay); return events anonymised."""
    changed = 0
    for chunk in _chunks(ids):
        db.execute(
            "UPDATE submissions SET mobile = NULL, email = NULL, full_name = NULL, "  # noqa: S608
            "national_id = NULL, name_norm = NULL, "
            "data = json_set(data, '$.may_contact', json('false')) "
            f"WHERE id IN ({_marks(chunk)})",
            chunk,
        )
        changed += _anonymise_events(db, chunk)
    return changed


def _secure(db) -> None:
    """Deleted rows are overwritten with zeros, not left in free pages (whatever the build's
    default is)."""
    db.execute("PRAGMA secure_delete = ON")


def _scrub(db) -> None:
    """After a delete has committed: words must not linger where SQL no longer shows them.

    FTS5 keeps a deleted row's tokens (name trigrams) in its segments until they merge:
    'optimize' rewrites the index. The WAL keeps old page images until a checkpoint: a
    TRUNCATE checkpoint copies them back and empties it (best effort: busy readers win).
    """
    with immediate(db):
        db.execute("INSERT INTO submissions_fts (submissions_fts) VALUES ('optimize')")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()


def _remove_files(uploads_dir, names: Iterable[str]) -> int:
    return drafts_module.remove_files(uploads_dir, names)


def purge(db, now: dt.datetime, schedule: Mapping[str, int], uploads_dir, actor: str) -> dict:
    """Apply the schedule at `now`: one transaction and one audit event, then the files.

    Returns the plan that was carried out (`plan`, printable with .lines(done=True)),
    `events_anonymised` and `files_removed` (the files actually removed from disk).
    """
    now = _utc(now)
    _secure(db)
    with immediate(db):
        plan = purge_plan(db, now, schedule, uploads_dir)
        files, anonymised = [], 0
        for rule in (REQUESTS, VOLUNTEERS):
            removed_files, counts = _delete_cases(db, plan.step(rule).ids)
            files += removed_files
            anonymised += counts["events_anonymised"]
        anonymised += _anonymise_feedback(db, plan.step(FEEDBACK).ids)
        for chunk in _chunks(plan._files[UNLINKED]):
            db.execute(
                f"DELETE FROM documents WHERE stored_name IN ({_marks(chunk)})",  # noqa: S608
                chunk,
            )
        files += plan._files[UNLINKED] + plan._files[STRAY]
        events.record(
            db,
            events.Event(
                "purge",
                actor,
                detail={
                    "counts": plan.counts(),
                    "months": {rule: int(schedule[rule]) for rule in RULES},
                    "documents": sum(s.documents for s in plan.steps),
                },
            ),
            now,
        )
    # Drafts have their own expiry (a day untouched); same clock, right after the commit.
    files += drafts_module.expired(db, now)
    if any(s.count for s in plan.steps):
        _scrub(db)
    return {
        "plan": plan,
        "events_anonymised": anonymised,
        "files_removed": _remove_files(uploads_dir, files),
    }


# ---------------------------------------------------------------- the data subject


def _mobile_writings(e164: str) -> list[str]:
    """+966512345678 and the other ways it could have been stored."""
    local = e164[4:]  # 5XXXXXXXX
    return [e164, "0" + local, local, "966" + local, "00966" + local]


def _identify(national_id: str | None, mobile: str | None) -> tuple[str, str]:
    given = [(name, value) for name, value in (("national_id", national_id), ("mobile", mobile))]
    given = [(name, value) for name, value in given if value and value.strip()]
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


def _cases_of(db, name: str, value: str) -> list[int]:
    """The person's cases, and feedback that names one of their references."""
    if name == "national_id":
        ids = _ids(db, "SELECT id FROM submissions WHERE national_id = ? ORDER BY id", [value])
    else:
        writings = _mobile_writings(value)
        ids = _ids(
            db,
            f"SELECT id FROM submissions WHERE mobile IN ({_marks(writings)}) ORDER BY id",  # noqa: S608
            writings,
        )
    references = []
    for chunk in _chunks(ids):
        references += [
            row[0]
            for row in db.execute(
                f"SELECT reference FROM submissions WHERE id IN ({_marks(chunk)})",  # noqa: S608
                chunk,
            ).fetchall()
        ]
    for chunk in _chunks(references):
        ids += _ids(
            db,
            "SELECT id FROM submissions WHERE kind = 'feedback' "  # noqa: S608
            f"AND json_extract(data, '$.reference') IN ({_marks(chunk)})",
            chunk,
        )
    return sorted(set(ids))


def subject_cases(db, national_id: str | None = None, mobile: str | None = None) -> list[int]:
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


def _drafts_of(db, name: str, value: str) -> list[str]:
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


def subject_drafts(db, national_id: str | None = None, mobile: str | None = None) -> list[str]:
    """The ids of the person's support requests in progress (reads only; nothing recorded)."""
    return _drafts_of(db, *_identify(national_id, mobile))


def _words(row: dict, prefix: str) -> dict | None:
    if not row.get(f"{prefix}_text"):
        return None
    return {k: row[f"{prefix}_{k}"] for k in ("text", "version", "lang", "at")}


def _case_export(db, submission_id: int) -> dict:
    row = queue.get(db, submission_id)
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


def _draft_export(db, draft_id: str) -> dict:
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


def _delete_drafts(db, draft_ids: list[str]) -> tuple[list[str], int]:
    """Delete drafts with their documents' rows; return the files to remove and the count."""
    files = []
    for chunk in _chunks(draft_ids):
        marks = _marks(chunk)
        files += [
            row[0]
            for row in db.execute(
                f"SELECT stored_name FROM documents WHERE draft_id IN ({marks})",  # noqa: S608
                chunk,
            ).fetchall()
        ]
        db.execute(f"DELETE FROM documents WHERE draft_id IN ({marks})", chunk)  # noqa: S608
        db.execute(f"DELETE FROM drafts WHERE id IN ({marks})", chunk)  # noqa: S608
    return files, len(files)


def subject_export(
    db,
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
    db,
    uploads_dir,
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
    _secure(db)
    with immediate(db):
        ids = _cases_of(db, name, value)
        files, counts = _delete_cases(db, ids)
        draft_ids = _drafts_of(db, name, value)
        draft_files, draft_documents = _delete_drafts(db, draft_ids)
        files += draft_files
        counts["documents"] += draft_documents
        counts["drafts"] = len(draft_ids)
        detail = {"cases": len(ids), "drafts": len(draft_ids)}
        events.record(db, events.Event("subject_erased", actor, detail=detail), now)
    if ids or draft_ids:
        _scrub(db)
    return {**counts, "files_removed": _remove_files(uploads_dir, files)}


def to_json(document: dict) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False)
