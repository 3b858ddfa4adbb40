"""Time: stored in UTC (ISO 8601 with Z), shown in Asia/Riyadh; one place to read the clock.

Saudi Arabia keeps UTC+3 all year (no daylight saving), which the SQL of the dashboard
relies on (`LOCAL_OFFSET`), and the exports (`LOCAL_DELTA`); the weeks people count start
on Sunday.
"""

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL = ZoneInfo("Asia/Riyadh")
LOCAL_OFFSET = "+3 hours"  # for SQLite's date functions on stored UTC times
LOCAL_DELTA = dt.timedelta(hours=3)  # the same offset, for long runs of times (exports)


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def parse(stored: str) -> dt.datetime:
    """A stored time ('2026-12-01T21:30:00Z') as an aware UTC datetime."""
    moment = dt.datetime.fromisoformat(stored.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def local(moment: dt.datetime | str) -> dt.datetime:
    """A stored or aware time as people in the Kingdom read it."""
    if isinstance(moment, str):
        moment = parse(moment)
    return moment.astimezone(LOCAL)


def local_today(now: dt.datetime | None = None) -> dt.date:
    return local(now or now_utc()).date()


def days_waited(stored: str, now: dt.datetime | None = None) -> int:
    """Whole days since a stored time, counted on Riyadh dates (received yesterday: 1)."""
    return (local_today(now) - local(stored).date()).days


def late_before(late_days: int, now: dt.datetime | None = None) -> str:
    """The one rule of "late": what was stored before this moment has waited more than
    `late_days` Riyadh days (`days_waited` > late_days). It is the start, in stored UTC, of
    the Riyadh day `late_days` days before today: the queue's filter compares it in SQL, the
    badges in Python (`is_late`), so the two never disagree."""
    day = local_today(now) - dt.timedelta(days=late_days)
    return iso(dt.datetime.combine(day, dt.time(), LOCAL).astimezone(dt.UTC))


def is_late(stored: str, late_days: int, now: dt.datetime | None = None) -> bool:
    """Stored (as the portal stores times) before `late_before`."""
    return stored < late_before(late_days, now)


def week_start(day: dt.date) -> dt.date:
    """The Sunday a week (Sunday to Saturday) begins on."""
    return day - dt.timedelta(days=(day.weekday() + 1) % 7)


def local_text(stored: str | None) -> str:
    """'2026-12-02 00:30' in Riyadh time, for a stored UTC time ('' for none)."""
    if not stored:
        return ""
    try:
        return local(stored).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stored
