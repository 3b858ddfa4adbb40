"""The append-only audit trail: who did what, when. Never updated, never deleted by the app."""

import datetime as dt
import json
from dataclasses import asdict, dataclass, field

from .clock import iso, now_utc
from .db import Database, insert


@dataclass(frozen=True)
class Event:
    """One line of the append-only audit trail. `detail` never holds personal data."""

    action: str
    actor: str
    submission_id: int | None = None
    from_state: str | None = None
    to_state: str | None = None
    detail: dict = field(default_factory=dict)


def record(db: Database, event: Event, at: dt.datetime | None = None) -> None:
    row = asdict(event)
    row["detail"] = json.dumps(row["detail"], ensure_ascii=False, sort_keys=True)
    row["at"] = iso(at or now_utc())
    insert(db, "events", row)
