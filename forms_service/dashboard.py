"""The staff dashboard: figures and trends from grouped SQL (charts drawn by `charts`).

Weeks (Monday to Sunday, ISO) and months are counted on the stored UTC timestamps, like
every other date in the back office.
"""

import datetime as dt
from typing import Any

from markupsafe import Markup

from . import clock
from .charts import Series, bar_chart
from .clock import iso, now_utc
from .config import ANSWER_DAYS
from .db import Database
from .facts import facts
from .lifecycle import STATES_OF, Kind
from .listing import Filters, where

WEEKS = MONTHS = 12
OLDEST = 5
RATINGS = ("rating_courtesy", "rating_clarity", "rating_speed", "rating_overall")
_AVERAGES = ", ".join(f"avg(json_extract(data, '$.{name}'))" for name in RATINGS)


class Stats(dict):
    """The figures; the template draws its charts with `stats.bar_chart(...)`."""

    @staticmethod
    def bar_chart(series: Series, **options: Any) -> Markup:
        return bar_chart(series, **options)


def stats(db: Database, now: dt.datetime | None = None, late_days: int = ANSWER_DAYS) -> dict:
    now = now or now_utc()
    now = now.replace(tzinfo=dt.UTC) if now.tzinfo is None else now.astimezone(dt.UTC)
    today = clock.local_today(now)  # weeks and months as people in the Kingdom count them
    sunday = clock.week_start(today)
    weeks = [sunday - dt.timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]
    months = _months(today, MONTHS)
    weekly = _weekly(db, weeks)
    decisions = _decisions(db, months)
    satisfaction = _satisfaction(db, months)
    responses = _responses(db, months)
    return Stats(
        now=iso(now),
        by_state=_by_state(db),
        overdue=_overdue(db, now, late_days),
        week_start=sunday.isoformat(),
        new_this_week={kind: weekly[-1][kind] for kind in map(str, Kind)},
        weekly=weekly,
        decisions=decisions,
        satisfaction=satisfaction,
        responses=responses,
        series={
            "weekly": [(w["week"], w["assistance"]) for w in weekly],
            "decisions": [
                (m["month"], (m["accepted"], m["rejected"])) for m in decisions["months"]
            ],
            "satisfaction": [(m["month"], m["rating_overall"]) for m in satisfaction["months"]],
        },
    )


def _months(today: dt.date, count: int) -> list[str]:
    """The `count` months up to today's, oldest first, as YYYY-MM."""
    index = today.year * 12 + today.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def _utc_start(day: dt.date) -> str:
    """The stored (UTC) time at which a Riyadh day begins."""
    start = dt.datetime(day.year, day.month, day.day, tzinfo=clock.LOCAL)
    return clock.iso(start.astimezone(dt.UTC))


def _month_start(month: str) -> str:
    return _utc_start(dt.date(int(month[:4]), int(month[5:]), 1))


def _month_after(month: str) -> str:
    return _months(dt.date(int(month[:4]), int(month[5:]), 1) + dt.timedelta(days=31), 1)[0]


def _by_state(db: Database) -> dict:
    found = {
        (kind, state): count
        for kind, state, count in db.execute(
            "SELECT kind, state, count(*) FROM submissions GROUP BY kind, state"
        )
    }
    return {
        str(kind): {str(state): found.get((str(kind), str(state)), 0) for state in STATES_OF[kind]}
        for kind in Kind
    }


def _overdue(db: Database, now: dt.datetime, late_days: int) -> dict:
    """Support requests still open past the committee's period: the queue's own 'late' filter."""
    clause, params = where(
        Filters(kind=Kind.ASSISTANCE, overdue=True, late_days=late_days), now=now
    )
    # The clause is built from constants and placeholders only.
    count_sql = f"SELECT count(*) FROM submissions s WHERE {clause}"  # noqa: S608
    rows_sql = (
        f"SELECT s.id, s.reference, s.state, s.created_at FROM submissions s WHERE {clause} "  # noqa: S608
        "ORDER BY s.created_at, s.id LIMIT ?"
    )
    oldest = [
        {
            "id": id_,
            "reference": reference,
            "state": state,
            "received": clock.local(created).date().isoformat(),
            "days": clock.days_waited(created, now),
        }
        for id_, reference, state, created in db.execute(rows_sql, [*params, OLDEST])
    ]
    count = db.execute(count_sql, params).fetchone()[0]
    return {"count": count, "days": late_days, "oldest": oldest}


def _weekly(db: Database, weeks: list[dt.date]) -> list[dict]:
    """New submissions per week (Sunday to Saturday, Riyadh time, named by its Sunday)."""
    end = weeks[-1] + dt.timedelta(weeks=1)
    # kind IN (…) lets SQLite range-scan the (kind, created_at) index once per kind.
    rows = db.execute(
        "SELECT kind, date(created_at, ?, '-6 days', 'weekday 0') AS week, count(*) "
        "FROM submissions WHERE kind IN ('assistance', 'volunteer', 'feedback') "
        "AND created_at >= ? AND created_at < ? GROUP BY kind, week",
        [clock.LOCAL_OFFSET, _utc_start(weeks[0]), _utc_start(end)],
    )
    found = {(kind, week): count for kind, week, count in rows}
    return [
        {
            "week": w.isoformat(),
            **{kind: found.get((kind, w.isoformat()), 0) for kind in map(str, Kind)},
        }
        for w in weeks
    ]


def _decisions(db: Database, months: list[str]) -> dict:
    """Accepted / rejected per month, and days from submission to the first decision."""
    # Decisions made in the window (index events_action), each kept only if it was the case's
    # first: the cost follows the months shown, not the whole history of decisions.
    rows = db.execute(
        """
        SELECT strftime('%Y-%m', e.at, ?) AS month, e.to_state, count(*),
               sum(julianday(e.at) - julianday(s.created_at))
        FROM events e JOIN submissions s ON s.id = e.submission_id
        WHERE e.action = 'transition' AND e.to_state IN ('accepted', 'rejected')
          AND e.at >= ? AND e.at < ? AND s.kind = 'assistance'
          AND NOT EXISTS (
              SELECT 1 FROM events p
              WHERE p.submission_id = e.submission_id AND p.action = 'transition'
                AND p.to_state IN ('accepted', 'rejected') AND (p.at, p.id) < (e.at, e.id)
          )
        GROUP BY month, e.to_state
        """,
        [clock.LOCAL_OFFSET, _month_start(months[0]), _month_start(_month_after(months[-1]))],
    )
    found = {(month, outcome): (count, days) for month, outcome, count, days in rows}
    table = []
    for month in months:
        accepted, accepted_days = found.get((month, "accepted"), (0, 0.0))
        rejected, rejected_days = found.get((month, "rejected"), (0, 0.0))
        table.append(
            {
                "month": month,
                "accepted": accepted,
                "rejected": rejected,
                "average_days": _average(accepted_days + rejected_days, accepted + rejected),
            }
        )
    count = sum(c for c, _ in found.values())
    return {
        "months": table,
        "count": count,
        "average_days": _average(sum(d for _, d in found.values()), count),
    }


def _average(total: float, count: int) -> float | None:
    return round(total / count, 1) if count else None


def _satisfaction(db: Database, months: list[str]) -> dict:
    """Average of each rating (1–5) and the number of answers, per month and per channel."""
    window = [_month_start(months[0]), _month_start(_month_after(months[-1]))]
    # Only the constant column lists above are joined into the SQL; values are placeholders.
    sql = (
        "SELECT {group}, count(*), " + _AVERAGES + " FROM submissions "  # noqa: S608
        "WHERE kind = 'feedback' AND created_at >= ? AND created_at < ? GROUP BY 1"
    )

    def grouped(group: str) -> dict:
        rows = db.execute(sql.format(group=group), window)
        return {key: (count, averages) for key, count, *averages in rows}

    per_month = grouped(f"strftime('%Y-%m', created_at, '{clock.LOCAL_OFFSET}')")
    # The channel rated is the survey's answer; the row's own channel is how the answer came.
    per_channel = grouped("coalesce(json_extract(data, '$.channel'), channel)")
    codes = [c["code"] for c in facts()["channels"]]
    codes += sorted(set(per_channel) - set(codes))
    return {
        "months": [{"month": m, **_ratings(per_month.get(m))} for m in months],
        "channels": [{"channel": c, **_ratings(per_channel.get(c))} for c in codes],
    }


def _responses(db: Database, months: list[str]) -> list[dict]:
    """The survey's response rate: of the support requests served each month, how many have
    a satisfaction survey that names their reference."""
    rows = db.execute(
        """
        SELECT strftime('%Y-%m', e.at, ?) AS month, count(DISTINCT s.id),
               count(DISTINCT CASE WHEN s.reference IN (
                   SELECT json_extract(f.data, '$.reference') FROM submissions f
                   WHERE f.kind = 'feedback'
               ) THEN s.id END)
        FROM events e JOIN submissions s ON s.id = e.submission_id
        WHERE e.action = 'transition' AND e.to_state = 'served' AND s.kind = 'assistance'
          AND e.at >= ? AND e.at < ?
        GROUP BY month
        """,
        [clock.LOCAL_OFFSET, _month_start(months[0]), _month_start(_month_after(months[-1]))],
    )
    found = {month: (served, surveys) for month, served, surveys in rows}
    table = []
    for month in months:
        served, surveys = found.get(month, (0, 0))
        rate = round(100 * surveys / served) if served else None
        table.append({"month": month, "served": served, "surveys": surveys, "rate": rate})
    return table


def _ratings(found: tuple[int, list[float | None]] | None) -> dict:
    count, averages = found or (0, [None] * len(RATINGS))
    rounded = [None if a is None else round(a, 1) for a in averages]
    return {"count": count, **dict(zip(RATINGS, rounded, strict=True))}
