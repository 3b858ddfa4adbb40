"""The staff queue lists: filters, search and counts as SQL with parameters (no SQL in views)."""

import datetime as dt
import re
from dataclasses import dataclass, field

from . import identifiers
from .clock import late_before
from .config import ANSWER_DAYS
from .lifecycle import OPEN_STATES, WAITING_STATES, Kind

PAGE_SIZE = 50


@dataclass
class Filters:
    kind: Kind
    state: str = ""
    assigned: str = ""  # "me" | "none" | ""
    overdue: bool = False
    answered: bool = False  # the applicant answered online since staff last moved the case
    since: dt.date | None = None
    until: dt.date | None = None
    channel: str = ""
    q: str = ""
    newest_first: bool = False
    page: int = 1
    me: str = ""
    late_days: int = ANSWER_DAYS  # PORTAL_ANSWER_DAYS: waiting longer than this is late
    extra: dict = field(default_factory=dict)

    def as_query(self) -> dict:
        """The filters as URL query values (never personal data other than what staff typed)."""
        values = {
            "state": self.state,
            "assigned": self.assigned,
            "overdue": "1" if self.overdue else "",
            "answered": "1" if self.answered else "",
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
            "channel": self.channel,
            "sort": "newest" if self.newest_first else "",
        }
        return {k: v for k, v in values.items() if v}


def _search(q: str) -> tuple[str, list]:
    """A search box that understands references, national IDs, mobiles and Arabic names."""
    reference = identifiers.parse_reference(q)
    number = identifiers.clean_number(q)
    if reference:
        return "s.reference = ?", [reference]
    if re.fullmatch(r"[12][0-9]{9}", number):
        return "s.national_id = ?", [number]
    mobile = identifiers.normalise_mobile(q) if re.fullmatch(r"\+?[0-9]{9,14}", number) else None
    if mobile:
        return "s.mobile = ?", [mobile]
    name = identifiers.fold_arabic(q)
    if len(name) >= 3:
        phrase = '"' + name.replace('"', "") + '"'
        return "s.id IN (SELECT rowid FROM submissions_fts WHERE submissions_fts MATCH ?)", [phrase]
    return "s.name_norm LIKE ?", [f"%{name}%"]


def where(filters: Filters, *, with_state: bool = True, now: dt.datetime | None = None):
    clauses, params = ["s.kind = ?"], [str(filters.kind)]
    if with_state and filters.state:
        clauses.append("s.state = ?")
        params.append(filters.state)
    if filters.assigned == "me":
        clauses.append("s.assigned_to = ?")
        params.append(filters.me)
    elif filters.assigned == "none":
        clauses.append("s.assigned_to IS NULL")
    if filters.overdue:
        open_states = [str(s) for s in WAITING_STATES[filters.kind]]
        clauses.append(f"s.state IN ({','.join('?' * len(open_states))}) AND s.created_at < ?")
        params.extend([*open_states, late_before(filters.late_days, now)])
    if filters.answered:
        clauses.append("s.answered_at IS NOT NULL")
    if filters.since:
        clauses.append("s.created_at >= ?")
        params.append(filters.since.isoformat())
    if filters.until:
        clauses.append("s.created_at < ?")
        params.append((filters.until + dt.timedelta(days=1)).isoformat())
    if filters.channel:
        clauses.append("s.channel = ?")
        params.append(filters.channel)
    if filters.q.strip():
        clause, values = _search(filters.q)
        clauses.append(clause)
        params.extend(values)
    return " AND ".join(clauses), params


COLUMNS = (
    "s.id, s.reference, s.kind, s.state, s.channel, s.created_at, s.updated_at, s.answer_from, "
    "s.full_name, s.assigned_to, s.lang, s.answered_at"
)


def page(db, filters: Filters, now: dt.datetime | None = None) -> tuple[list[dict], int]:
    """One page of the list, and the total count for these filters."""
    clause, params = where(filters, now=now)
    order = "DESC" if filters.newest_first else "ASC"
    count_sql = f"SELECT count(*) FROM submissions s WHERE {clause}"  # noqa: S608
    total = db.execute(count_sql, params).fetchone()[0]
    offset = (max(filters.page, 1) - 1) * PAGE_SIZE
    rows = list(
        db.query(
            f"SELECT {COLUMNS} FROM submissions s WHERE {clause} "  # noqa: S608 - built from constants
            f"ORDER BY s.created_at {order}, s.id {order} LIMIT ? OFFSET ?",
            [*params, PAGE_SIZE, offset],
        )
    )
    return rows, total


def counts(db, filters: Filters, now: dt.datetime | None = None) -> dict[str, int]:
    """Counts per state under the other filters."""
    clause, params = where(filters, with_state=False, now=now)
    sql = f"SELECT s.state, count(*) FROM submissions s WHERE {clause} GROUP BY s.state"  # noqa: S608
    return dict(db.execute(sql, params).fetchall())


def open_counts(db) -> dict[str, int]:
    """Open requests of each kind (lifecycle.OPEN_STATES), in one grouped query: the counts
    beside the queues in the staff menu. A kind with none is 0."""
    clauses, params = [], []
    for kind, states in OPEN_STATES.items():
        clauses.append(f"(s.kind = ? AND s.state IN ({','.join('?' * len(states))}))")
        params.extend([str(kind), *map(str, states)])
    sql = f"SELECT s.kind, count(*) FROM submissions s WHERE {' OR '.join(clauses)} GROUP BY s.kind"  # noqa: S608 - built from constants
    found = dict(db.execute(sql, params).fetchall())
    return {str(kind): found.get(str(kind), 0) for kind in Kind}


def by_reference(db, q: str) -> int | None:
    """The case a typed reference names, whatever its kind (a phone call does not say)."""
    reference = identifiers.parse_reference(q)
    if not reference:
        return None
    row = db.execute("SELECT id FROM submissions WHERE reference = ?", [reference]).fetchone()
    return row[0] if row else None


def matches_by_kind(db, q: str) -> dict[str, int]:
    """How many requests of each kind the search words find (every state)."""
    if not q.strip():
        return {}
    clause, params = _search(q)
    sql = f"SELECT s.kind, count(*) FROM submissions s WHERE {clause} GROUP BY s.kind"  # noqa: S608 - built from constants
    found = dict(db.execute(sql, params).fetchall())
    return {str(kind): found.get(str(kind), 0) for kind in Kind}


def rows_for_export(db, filters: Filters):
    """Every matching submission, oldest first, streamed from the database."""
    clause, params = where(filters)
    sql = f"SELECT s.* FROM submissions s WHERE {clause} ORDER BY s.created_at, s.id"  # noqa: S608
    yield from db.query(sql, params)


def possible_duplicates(db, row: dict) -> list[dict]:
    """Other requests with the same national ID, mobile, or orphan (name and birth date)."""
    return list(
        db.query(
            "SELECT DISTINCT s.id, s.reference, s.state, s.created_at, s.full_name, "
            "CASE WHEN s.national_id = :nid THEN 'national_id' "
            "WHEN s.mobile = :mobile THEN 'mobile' ELSE 'orphan' END AS reason "
            "FROM submissions s LEFT JOIN orphans o ON o.submission_id = s.id "
            "WHERE s.id != :id AND s.kind = 'assistance' AND ("
            "(:nid IS NOT NULL AND s.national_id = :nid) "
            "OR (:mobile IS NOT NULL AND s.mobile = :mobile) "
            "OR EXISTS (SELECT 1 FROM orphans mine WHERE mine.submission_id = :id "
            "AND mine.name_norm = o.name_norm AND mine.birth_date = o.birth_date)) "
            "ORDER BY s.created_at LIMIT 20",
            {"id": row["id"], "nid": row["national_id"], "mobile": row["mobile"]},
        )
    )
