"""Personal data over time (Saudi PDPL): the retention schedule of facts.yml
(`retention_months`), applied with a given clock.

`purge_plan()` says what a purge would do; `purge()` does it: closed cases deleted with
their orphans and documents, old feedback stripped of its contact, expired drafts and stray
uploads removed. Files are removed only after the transaction that deleted their rows has
committed: a failed purge never leaves a row without its file.
"""

import calendar
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import clock, events, lifecycle, queue
from . import drafts as drafts_module
from .db import Database, immediate
from .facts import facts
from .queue import chunks, marks

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
# An unreferenced upload younger than this may belong to a form being sent right now (the
# public forms' own sweep, drafts.sweep(), uses a shorter age; both share drafts.stray_files).
STRAY_MIN_AGE = dt.timedelta(days=1)


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


def _stray_files(db: Database, uploads_dir: str | Path | None) -> list[str]:
    """Files in the uploads folder that no document row names, older than a day."""
    return drafts_module.stray_files(db, uploads_dir, STRAY_MIN_AGE)


def purge_plan(
    db: Database,
    now: dt.datetime,
    schedule: Mapping[str, int],
    uploads_dir: str | Path | None = None,
) -> Plan:
    """What a purge at `now` would do (reads only). `uploads_dir`: also look for stray files."""
    now = _utc(now)
    steps, files = [], {}
    closed = [str(s) for s in CLOSED_REQUEST_STATES]
    for rule, kind, states in (
        (REQUESTS, lifecycle.Kind.ASSISTANCE, closed),
        (VOLUNTEERS, lifecycle.Kind.VOLUNTEER, [str(lifecycle.State.DECLINED)]),
    ):
        before = _cutoff(now, schedule[rule])
        ids = queue.select_ids(
            db,
            f"SELECT id FROM submissions WHERE kind = ? AND state IN ({marks(states)}) "  # noqa: S608
            "AND updated_at < ? ORDER BY id",
            [str(kind), *states, before],
        )
        files[rule] = queue.document_files(db, ids)
        steps.append(Step(rule, "delete", len(ids), ids, schedule[rule], before, len(files[rule])))
    before = _cutoff(now, schedule[FEEDBACK])
    ids = queue.select_ids(
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


def purge(
    db: Database, now: dt.datetime, schedule: Mapping[str, int], uploads_dir: str | Path, actor: str
) -> dict:
    """Apply the schedule at `now`: one transaction and one audit event, then the files.

    Returns the plan that was carried out (`plan`, printable with .lines(done=True)),
    `events_anonymised` and `files_removed` (the files actually removed from disk).
    """
    now = _utc(now)
    queue.secure_deletes(db)
    with immediate(db):
        plan = purge_plan(db, now, schedule, uploads_dir)
        files, anonymised = [], 0
        for rule in (REQUESTS, VOLUNTEERS):
            removed_files, counts = queue.delete_cases(db, plan.step(rule).ids)
            files += removed_files
            anonymised += counts["events_anonymised"]
        anonymised += queue.anonymise_contact(db, plan.step(FEEDBACK).ids)
        for chunk in chunks(plan._files[UNLINKED]):
            db.execute(
                f"DELETE FROM documents WHERE stored_name IN ({marks(chunk)})",  # noqa: S608
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
        queue.scrub(db)
    return {
        "plan": plan,
        "events_anonymised": anonymised,
        "files_removed": drafts_module.remove_files(uploads_dir, files),
    }
