"""The research committee's meetings: a date, the members present, an agenda of cases in
`committee`, a decision for each, and minutes that are frozen when the meeting closes.

A decision is the lifecycle's own move (`queue.transition`, the one table of legal moves),
its event carrying the meeting; "deferred" leaves the case with the committee and records a
`deferred` event. Every write runs inside BEGIN IMMEDIATE with its audit event. A closed
meeting is frozen by the database itself (migration m006: triggers refuse to change or
delete a closed meeting, its members and its agenda); a correction is a new event, shown
under the minutes. The reason for a decision lives in its event only, so erasing a case
(`queue.delete_cases`) anonymises it in the minutes too.
"""

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

from . import events, queue
from .clock import iso, now_utc
from .db import Database, immediate
from .lifecycle import NEEDS_REASON, Kind, Role, State

# Who runs meetings (builds the agenda, decides, closes); everyone else reads the minutes.
RUNNERS = frozenset({Role.COMMITTEE, Role.ADMIN})
DEFERRED = "deferred"
DECISIONS = (str(State.ACCEPTED), str(State.REJECTED), DEFERRED)
MAX_NAMES = 20  # members without an account, per meeting
NAME_LENGTH = 100
CORRECTION_LENGTH = 4000
RECENT = 12  # meetings on the dashboard


class MeetingError(Exception):
    """A change to a meeting that cannot be made; nothing was changed."""


class NoSuchMeeting(MeetingError):
    pass


class NotAllowed(MeetingError):
    """Only committee members and administrators run meetings."""


class MeetingClosed(MeetingError):
    """The meeting is closed: its minutes are frozen."""


class MeetingOpen(MeetingError):
    """A correction is for the minutes of a closed meeting; an open one is changed directly."""


class NotOnAgenda(MeetingError):
    pass


class NotWithCommittee(MeetingError):
    """Only a support request in `committee` can go on an agenda."""


class OnAnotherAgenda(MeetingError):
    """The case waits on the agenda of another open meeting."""


class AlreadyDecided(MeetingError):
    pass


class CaseGone(MeetingError):
    """The case is no longer held (erased)."""


class Undecided(MeetingError):
    """Closing needs a decision for every case on the agenda."""

    def __init__(self, count: int):
        super().__init__(count)
        self.count = count


class NoMembers(MeetingError, ValueError):
    pass


def may_run(role: Role | str) -> bool:
    return role in {str(r) for r in RUNNERS}


def _require_runner(role: Role | str) -> None:
    if not may_run(role):
        raise NotAllowed(role)


# ---------------------------------------------------------------- reading


def get(db: Database, meeting_id: int) -> dict | None:
    """The meeting with its members present, or None."""
    row = next(db.query("SELECT * FROM meetings WHERE id = ?", [meeting_id]), None)
    if row is None:
        return None
    return {**row, "members": members_of(db, meeting_id)}


def members_of(db: Database, meeting_id: int) -> list[dict]:
    return list(
        db.query(
            "SELECT username, name FROM meeting_members WHERE meeting_id = ? ORDER BY position, id",
            [meeting_id],
        )
    )


def committee_accounts(db: Database) -> list[str]:
    """The active committee accounts: the members who can be marked present."""
    return [
        row[0]
        for row in db.execute(
            "SELECT username FROM staff WHERE role = 'committee' AND active ORDER BY username"
        )
    ]


def all_meetings(db: Database) -> list[dict]:
    """Every meeting, the latest first, with its agenda's counts."""
    return list(
        db.query(
            """
            SELECT m.id, m.held_on, m.closed_at, count(i.id) AS cases,
                   count(i.decision) AS decided,
                   coalesce(sum(i.decision = 'accepted'), 0) AS accepted,
                   coalesce(sum(i.decision = 'rejected'), 0) AS rejected,
                   coalesce(sum(i.decision = 'deferred'), 0) AS deferred
            FROM meetings m LEFT JOIN meeting_items i ON i.meeting_id = m.id
            GROUP BY m.id ORDER BY m.held_on DESC, m.id DESC
            """
        )
    )


# When a case was last sent to the research committee (its latest move into `committee`).
_SENT = (
    "(SELECT max(e.at) FROM events e WHERE e.submission_id = {id} AND e.action = 'transition' "
    "AND e.to_state = 'committee')"
)


def candidates(db: Database, meeting_id: int) -> list[dict]:
    """Support requests with the committee that may go on this agenda: not on it already,
    not waiting on another open meeting's; the longest with the committee first."""
    sent = _SENT.format(id="s.id")
    return list(
        db.query(
            f"""
            SELECT s.id, s.reference, s.full_name, s.created_at, {sent} AS sent_at
            FROM submissions s
            WHERE s.kind = 'assistance' AND s.state = 'committee' AND NOT EXISTS (
                SELECT 1 FROM meeting_items i JOIN meetings m ON m.id = i.meeting_id
                WHERE i.submission_id = s.id
                  AND (i.meeting_id = ? OR (m.closed_at IS NULL AND i.decision IS NULL))
            )
            ORDER BY coalesce(sent_at, s.created_at), s.id
            """,  # noqa: S608 - a constant subquery
            [meeting_id],
        )
    )


def agenda(db: Database, meeting_id: int) -> list[dict]:
    """The agenda in order: each case (None fields when it is no longer held), when it was
    sent to the committee, and its decision with the reason from the decision's event."""
    sent = _SENT.format(id="i.submission_id")
    rows = db.query(
        f"""
        SELECT i.submission_id AS id, i.reference, i.position, i.decision, i.decided_at,
               i.decided_by, coalesce(i.sent_at, {sent}) AS sent_at,
               s.state, s.full_name, s.created_at, s.data,
               (SELECT count(*) FROM orphans o WHERE o.submission_id = i.submission_id)
                   AS orphan_count,
               e.detail AS event_detail
        FROM meeting_items i
        LEFT JOIN submissions s ON s.id = i.submission_id
        LEFT JOIN events e ON e.id = i.event_id
        WHERE i.meeting_id = ? ORDER BY i.position, i.id
        """,  # noqa: S608 - a constant subquery
        [meeting_id],
    )
    return [_item(row) for row in rows]


def _item(row: dict) -> dict:
    detail = json.loads(row.pop("event_detail") or "{}")
    data = row.pop("data")
    return {
        **row,
        "held": row["state"] is not None,
        "data": json.loads(data) if data else {},
        "reason": detail.get("reason", ""),
        "reason_erased": detail.get("erased", False),
    }


def corrections(db: Database, meeting_id: int) -> list[dict]:
    """Corrections recorded after the meeting closed, oldest first."""
    rows = db.query(
        "SELECT at, actor, detail FROM events WHERE action = 'meeting_correction' "
        "AND json_extract(detail, '$.meeting') = ? ORDER BY id",
        [meeting_id],
    )
    return [
        {"at": r["at"], "actor": r["actor"], "text": json.loads(r["detail"]).get("text", "")}
        for r in rows
    ]


def totals(items: Iterable[dict]) -> dict[str, int]:
    counts = dict.fromkeys(DECISIONS, 0)
    total = 0
    for item in items:
        total += 1
        if item["decision"] in counts:
            counts[item["decision"]] += 1
    return {**counts, "total": total}


def minutes(db: Database, meeting_id: int) -> dict | None:
    """What the minutes say: the meeting, who was present, each case by reference with its
    decision and reason, the totals, and the corrections recorded since."""
    meeting = get(db, meeting_id)
    if meeting is None:
        return None
    items = [
        {
            key: item[key]
            for key in ("id", "reference", "decision", "reason", "reason_erased", "decided_at")
        }
        for item in agenda(db, meeting_id)
    ]
    return {
        "meeting": meeting,
        "cases": items,
        "totals": totals(items),
        "corrections": corrections(db, meeting_id),
    }


# ---------------------------------------------------------------- writing


def _meeting(db: Database, meeting_id: int) -> dict:
    row = next(db.query("SELECT * FROM meetings WHERE id = ?", [meeting_id]), None)
    if row is None:
        raise NoSuchMeeting(meeting_id)
    return row


def _open_meeting(db: Database, meeting_id: int) -> dict:
    row = _meeting(db, meeting_id)
    if row["closed_at"]:
        raise MeetingClosed(meeting_id)
    return row


def clean_names(names: Iterable[str]) -> list[str]:
    """Names typed for members without an account: trimmed, each once, in the order given."""
    seen: dict[str, None] = {}
    for name in names:
        name = " ".join((name or "").split())[:NAME_LENGTH]
        if name:
            seen.setdefault(name, None)
    return list(seen)[:MAX_NAMES]


def _set_members(
    db: Database, meeting_id: int, usernames: Sequence[str], names: Sequence[str]
) -> None:
    accounts = set(committee_accounts(db))
    unknown = [u for u in usernames if u not in accounts]
    if unknown:
        raise ValueError(f"not active committee accounts: {unknown}")
    typed = clean_names(names)
    if not usernames and not typed:
        raise NoMembers(meeting_id)
    db.execute("DELETE FROM meeting_members WHERE meeting_id = ?", [meeting_id])
    rows = [(u, None) for u in dict.fromkeys(usernames)] + [(None, n) for n in typed]
    for position, (username, name) in enumerate(rows):
        db.execute(
            "INSERT INTO meeting_members (meeting_id, position, username, name) "
            "VALUES (?, ?, ?, ?)",
            [meeting_id, position, username, name],
        )


def _record(
    db: Database, action: str, actor: str, detail: dict, at: dt.datetime | None = None
) -> None:
    events.record(db, events.Event(action, actor, None, detail=detail), at)


def create(
    db: Database,
    *,
    held_on: dt.date,
    members: Sequence[str],
    names: Sequence[str] = (),
    actor: str,
    role: Role | str,
    at: dt.datetime | None = None,
) -> int:
    """Open a meeting: its date and the members present (accounts, and names without one)."""
    _require_runner(role)
    at = at or now_utc()
    with immediate(db):
        meeting_id = db.execute(
            "INSERT INTO meetings (held_on, created_at, created_by) VALUES (?, ?, ?)",
            [held_on.isoformat(), iso(at), actor],
        ).lastrowid
        if meeting_id is None:  # never: an INSERT gives its row id
            raise RuntimeError("the meeting was stored without an id")
        _set_members(db, meeting_id, members, names)
        _record(db, "meeting_created", actor, {"meeting": meeting_id}, at)
    return meeting_id


def update(
    db: Database,
    meeting_id: int,
    *,
    held_on: dt.date,
    members: Sequence[str],
    names: Sequence[str] = (),
    actor: str,
    role: Role | str,
) -> None:
    """Change the date or the members present of an open meeting."""
    _require_runner(role)
    with immediate(db):
        _open_meeting(db, meeting_id)
        db.execute(
            "UPDATE meetings SET held_on = ? WHERE id = ?", [held_on.isoformat(), meeting_id]
        )
        _set_members(db, meeting_id, members, names)
        _record(db, "meeting_updated", actor, {"meeting": meeting_id})


def add_to_agenda(
    db: Database, meeting_id: int, case_ids: Iterable[int], *, actor: str, role: Role | str
) -> list[int]:
    """Put cases at the end of the agenda, in the order given; all or none.

    A case must be a support request in `committee`, and not waiting on another open
    meeting's agenda. A case already on this agenda is left where it is.
    """
    _require_runner(role)
    added: list[int] = []
    with immediate(db):
        _open_meeting(db, meeting_id)
        (position,) = db.execute(
            "SELECT coalesce(max(position), 0) FROM meeting_items WHERE meeting_id = ?",
            [meeting_id],
        ).fetchone()
        for case_id in dict.fromkeys(case_ids):
            found = db.execute(
                "SELECT kind, state, reference FROM submissions WHERE id = ?", [case_id]
            ).fetchone()
            if found is None or found[0] != Kind.ASSISTANCE or found[1] != State.COMMITTEE:
                raise NotWithCommittee(case_id)
            elsewhere = db.execute(
                "SELECT i.meeting_id FROM meeting_items i JOIN meetings m ON m.id = i.meeting_id "
                "WHERE i.submission_id = ? AND m.closed_at IS NULL AND i.decision IS NULL",
                [case_id],
            ).fetchone()
            if elsewhere and elsewhere[0] == meeting_id:
                continue
            if elsewhere:
                raise OnAnotherAgenda(case_id)
            if db.execute(
                "SELECT 1 FROM meeting_items WHERE meeting_id = ? AND submission_id = ?",
                [meeting_id, case_id],
            ).fetchone():
                continue  # deferred at this meeting already: it waits for the next one
            position += 1
            db.execute(
                "INSERT INTO meeting_items (meeting_id, submission_id, reference, position) "
                "VALUES (?, ?, ?, ?)",
                [meeting_id, case_id, found[2], position],
            )
            added.append(case_id)
        if added:
            _record(db, "meeting_agenda", actor, {"meeting": meeting_id, "added": added})
    return added


def _undecided_item(db: Database, meeting_id: int, case_id: int) -> dict:
    item = next(
        db.query(
            "SELECT id, position, decision FROM meeting_items "
            "WHERE meeting_id = ? AND submission_id = ?",
            [meeting_id, case_id],
        ),
        None,
    )
    if item is None:
        raise NotOnAgenda(case_id)
    if item["decision"]:
        raise AlreadyDecided(case_id)
    return item


def remove_from_agenda(
    db: Database, meeting_id: int, case_id: int, *, actor: str, role: Role | str
) -> None:
    """Take a case without a decision off the agenda of an open meeting."""
    _require_runner(role)
    with immediate(db):
        _open_meeting(db, meeting_id)
        item = _undecided_item(db, meeting_id, case_id)
        db.execute("DELETE FROM meeting_items WHERE id = ?", [item["id"]])
        _record(db, "meeting_agenda", actor, {"meeting": meeting_id, "removed": case_id})


def move(
    db: Database, meeting_id: int, case_id: int, step: int, *, actor: str, role: Role | str
) -> bool:
    """Move a case one place up (step -1) or down (+1) the agenda; False at either end."""
    _require_runner(role)
    if step not in (-1, 1):
        raise ValueError(step)
    with immediate(db):
        _open_meeting(db, meeting_id)
        order = db.execute(
            "SELECT id, submission_id, position FROM meeting_items WHERE meeting_id = ? "
            "ORDER BY position, id",
            [meeting_id],
        ).fetchall()
        index = next((n for n, row in enumerate(order) if row[1] == case_id), None)
        if index is None:
            raise NotOnAgenda(case_id)
        other = index + step
        if not 0 <= other < len(order):
            return False
        # Positions are renumbered 1..n in the new order (earlier removals leave gaps).
        ids = [row[0] for row in order]
        ids[index], ids[other] = ids[other], ids[index]
        for position, item_id in enumerate(ids, 1):
            db.execute("UPDATE meeting_items SET position = ? WHERE id = ?", [position, item_id])
        _record(
            db, "meeting_agenda", actor, {"meeting": meeting_id, "moved": case_id, "step": step}
        )
    return True


def check_decision(
    db: Database,
    meeting_id: int,
    case_id: int,
    decision: str,
    *,
    reason: str = "",
    role: Role | str,
) -> None:
    """What `decide` refuses, refused the same way, without writing anything: checked before
    a decision is shown for confirming, so that the confirmation never offers what cannot
    be recorded."""
    _decidable(db, meeting_id, case_id, decision, reason, role)


def _decidable(
    db: Database, meeting_id: int, case_id: int, decision: str, reason: str, role: Role | str
) -> dict:
    """The agenda item this decision may be recorded on, or the reason it may not: a role
    that does not run meetings, a closed meeting, a case decided or off the agenda, a case
    that left the committee meanwhile (queue.LostRace), a rejection without a reason."""
    _require_runner(role)
    if decision not in DECISIONS:
        raise ValueError(decision)
    _open_meeting(db, meeting_id)
    item = _undecided_item(db, meeting_id, case_id)
    found = db.execute("SELECT state FROM submissions WHERE id = ?", [case_id]).fetchone()
    if found is None:
        raise CaseGone(case_id)
    if found[0] != State.COMMITTEE:
        raise queue.LostRace(case_id)
    if decision != DEFERRED and State(decision) in NEEDS_REASON and not (reason or "").strip():
        raise queue.ReasonRequired(State(decision))
    return item


def decide(
    db: Database,
    meeting_id: int,
    case_id: int,
    decision: str,
    *,
    reason: str = "",
    actor: str,
    role: Role | str,
    at: dt.datetime | None = None,
) -> None:
    """Record the meeting's decision on a case of its agenda.

    Accepted or rejected is the lifecycle's move from `committee` (queue.transition, with
    the meeting in its event); rejected needs a reason (queue.ReasonRequired). Deferred
    leaves the case in `committee` with a `deferred` event. A case that someone moved
    meanwhile is reported (queue.LostRace) and nothing is changed.
    """
    at = at or now_utc()
    reason = (reason or "").strip()
    with immediate(db):
        item = _decidable(db, meeting_id, case_id, decision, reason, role)
        if decision == DEFERRED:
            events.record(
                db, events.Event(DEFERRED, actor, case_id, detail={"meeting": meeting_id}), at
            )
            action = DEFERRED
        else:
            queue.transition(
                db,
                case_id,
                decision,
                actor=actor,
                role=role,
                reason=reason,
                expected=State.COMMITTEE,
                at=at,
                meeting_id=meeting_id,
            )
            action = "transition"
        (event_id,) = db.execute(
            "SELECT max(id) FROM events WHERE submission_id = ? AND action = ?",
            [case_id, action],
        ).fetchone()
        (sent_at,) = db.execute(f"SELECT {_SENT.format(id='?')}", [case_id]).fetchone()
        db.execute(
            "UPDATE meeting_items SET decision = ?, decided_at = ?, decided_by = ?, "
            "event_id = ?, sent_at = ? WHERE id = ?",
            [decision, iso(at), actor, event_id, sent_at, item["id"]],
        )


def close(
    db: Database, meeting_id: int, *, actor: str, role: Role | str, at: dt.datetime | None = None
) -> bool:
    """Close the meeting: from now on it is frozen. True if this call closed it, False if it
    was already closed (a replayed close changes nothing). Every case on the agenda needs a
    decision first (Undecided)."""
    _require_runner(role)
    at = at or now_utc()
    with immediate(db):
        if _meeting(db, meeting_id)["closed_at"]:
            return False
        counts = totals(agenda(db, meeting_id))
        undecided = counts["total"] - sum(counts[d] for d in DECISIONS)
        if undecided:
            raise Undecided(undecided)
        db.execute(
            "UPDATE meetings SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
            [iso(at), actor, meeting_id],
        )
        _record(db, "meeting_closed", actor, {"meeting": meeting_id, **counts}, at)
    return True


def add_correction(
    db: Database, meeting_id: int, text: str, *, actor: str, role: Role | str
) -> None:
    """A correction to the minutes of a closed meeting: a new event shown under them; the
    minutes themselves never change."""
    _require_runner(role)
    text = (text or "").strip()
    if not text or len(text) > CORRECTION_LENGTH:
        raise ValueError("a correction needs its words")
    with immediate(db):
        if not _meeting(db, meeting_id)["closed_at"]:
            raise MeetingOpen(meeting_id)
        _record(db, "meeting_correction", actor, {"meeting": meeting_id, "text": text})


def record_agenda_export(
    db: Database, meeting_id: int, *, fmt: str, lang: str, rows: int, actor: str
) -> None:
    """The agenda leaves the system with personal data: recorded like every export."""
    with immediate(db):
        _record(
            db,
            "export",
            actor,
            {
                "kind": "meeting_agenda",
                "meeting": meeting_id,
                "format": fmt,
                "lang": lang,
                "rows": rows,
            },
        )


# ---------------------------------------------------------------- the dashboard


def stats(db: Database, answer_days: int, recent: int = RECENT) -> dict[str, Any]:
    """Meetings held (closed), cases decided at each of the latest, and the days from being
    sent to the committee to the decision, against the policy's period (answer_days)."""
    (held,) = db.execute("SELECT count(*) FROM meetings WHERE closed_at IS NOT NULL").fetchone()
    days = "julianday(i.decided_at) - julianday(i.sent_at)"
    decided = "i.decision IN ('accepted', 'rejected') AND i.sent_at IS NOT NULL"
    per_meeting = list(
        db.query(
            f"""
            SELECT m.id, m.held_on,
                   coalesce(sum(i.decision = 'accepted'), 0) AS accepted,
                   coalesce(sum(i.decision = 'rejected'), 0) AS rejected,
                   coalesce(sum(i.decision = 'deferred'), 0) AS deferred,
                   avg(CASE WHEN {decided} THEN {days} END) AS average_days,
                   coalesce(sum({decided} AND {days} > :limit), 0) AS late
            FROM meetings m LEFT JOIN meeting_items i ON i.meeting_id = m.id
            WHERE m.closed_at IS NOT NULL
            GROUP BY m.id ORDER BY m.held_on DESC, m.id DESC LIMIT :recent
            """,  # noqa: S608 - constant fragments
            {"limit": answer_days, "recent": recent},
        )
    )
    per_meeting.reverse()  # oldest first, as the chart reads
    for row in per_meeting:
        row["average_days"] = _rounded(row["average_days"])
    count, average, late = db.execute(
        f"""
        SELECT count(*), avg({days}), coalesce(sum({days} > ?), 0)
        FROM meeting_items i JOIN meetings m ON m.id = i.meeting_id
        WHERE m.closed_at IS NOT NULL AND {decided}
        """,  # noqa: S608 - constant fragments
        [answer_days],
    ).fetchone()
    return {
        "held": held,
        "answer_days": answer_days,
        "meetings": per_meeting,
        "decided": count,
        "average_days": _rounded(average),
        "within": count - late,
        "late": late,
        "series": [
            (f"{m['held_on']} ({m['id']})", (m["accepted"], m["rejected"])) for m in per_meeting
        ],
    }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
