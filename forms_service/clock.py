"""Time: stored in UTC (ISO 8601 with Z), one place to read the clock."""

import datetime as dt


def now_utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
