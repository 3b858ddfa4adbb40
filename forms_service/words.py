"""Stored values → what people read: codes as words, dates both ways, mobiles as written.

One module for the case page, the committee's sheet, check-your-answers and the exports:
pages get text (`shown`), spreadsheets get typed cells (`cell`: real dates and numbers).
States, roles, months and a case's history lines are named here too.
"""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flask_babel import format_date, gettext
from markupsafe import Markup, escape

from . import choices, clock, identifiers
from .lifecycle import ACTION_LABELS, APPLICANT_LABELS, ROLE_LABELS, STAFF_LABELS, Role, State
from .registry import Field, Type

EMPTY = "—"


def as_date(value: object) -> dt.date | None:
    """A date, or the Riyadh date of a stored moment ('…T21:30:00Z' is the next day there)."""
    if isinstance(value, dt.datetime):
        return clock.local(value).date()
    if isinstance(value, dt.date):
        return value
    if not value:
        return None
    text = str(value)
    try:
        if len(text) > 10 and "T" in text:
            return clock.local(text).date()
        return dt.date.fromisoformat(text[:10])
    except (ValueError, OverflowError):  # not a date, or past the calendar's last day there
        return None


def channel_name(code: str | None, lang: str) -> str:
    return dict(choices.channels(lang)).get(code or "", code or "")


def reference_text(value: str | None) -> str:
    if value and len(value) == identifiers.REFERENCE_LENGTH:
        return identifiers.format_reference(value)
    return value or ""


def yes_no(value: object) -> str:
    return gettext("Yes") if value else gettext("No")


def _words(field: Field, value: Any, lang: str) -> str:
    """A code or codes as words in the viewer's language ("" when none)."""
    if field.type == Type.CODE:
        return choices.label(field.codes, value) if value else ""
    if field.type == Type.CODES:
        return choices.labels(field.codes, value) if value else ""
    if field.type == Type.CHANNEL:
        return channel_name(value, lang)
    if field.type == Type.YES_NO:
        return yes_no(value)
    raise ValueError(field.type)


CODED = frozenset({Type.CODE, Type.CODES, Type.CHANNEL, Type.YES_NO})


def shown(field: Field, value: Any, lang: str, long_date: Callable[[dt.date], str]) -> str:
    """The value as a page shows it; `long_date` writes a date (Gregorian and Hijri)."""
    if field.type in CODED:
        text = _words(field, value, lang)
    elif field.type == Type.DATE:
        day = as_date(value)
        text = long_date(day) if day else ""
    elif field.type == Type.MOBILE:
        text = identifiers.display_mobile(value)
    elif field.type == Type.REFERENCE:
        text = reference_text(value)
    else:
        text = "" if value is None else str(value)
    return text or EMPTY


def cell(field: Field, value: Any, lang: str) -> Any:
    """The value as a spreadsheet cell: words for codes, dates as dates, numbers as numbers."""
    if field.type in CODED:
        return _words(field, value, lang) or None
    if field.type == Type.DATE:
        return as_date(value) or (value or None)
    if field.type == Type.NUMBER:
        if isinstance(value, str) and re.fullmatch(r"[0-9]{1,15}", value):
            return int(value)
        return value
    if field.type == Type.MOBILE:
        return identifiers.display_mobile(value) or None
    if field.type == Type.REFERENCE:
        return reference_text(value) or None
    return value


def depends_on_code_only(field: Field) -> bool:
    """True when the cell is a function of the code alone (worth computing once per code)."""
    return field.type in CODED


def user_name(name: str | None) -> Markup:
    """A staff user name (Latin letters) isolated, to sit in the words of either language."""
    return Markup('<bdi dir="ltr">%s</bdi>') % (name or "—")


def filled(message: str, **values: object) -> Markup:
    """A translated message, its %(…)s filled: values escaped, unless they are Markup."""
    return escape(message) % values


# ---------------------------------------------------------------- states, roles, history


def applicant_label(state: str) -> str:
    return str(APPLICANT_LABELS[State(state)])


def state_label(state: str) -> str:
    return str(STAFF_LABELS[State(state)])


def action_label(state: str) -> str:
    return str(ACTION_LABELS[State(state)])


def role_label(role: str) -> str:
    return str(ROLE_LABELS[Role(role)])


def duplicate_reason(reason: str) -> str:
    return {
        "national_id": gettext("same national ID"),
        "mobile": gettext("same mobile"),
        "orphan": gettext("same orphan name and birth date"),
    }.get(reason, reason)


def event_text(event: dict, lang: str) -> str | Markup:
    """One line of a case's history, in `lang` (the viewer's)."""
    action, detail = event["action"], event["detail"]
    if action == "submitted":
        return gettext(
            "Submitted through: %(channel)s",
            channel=channel_name(detail.get("channel", ""), lang),
        )
    if action == "transition":
        return gettext(
            "Moved from %(source)s to %(target)s",
            source=state_label(event["from_state"]),
            target=state_label(event["to_state"]),
        )
    named = {
        "note": gettext("Internal note"),
        "message": gettext("Message to the applicant"),
        "view": gettext("Viewed the case"),
        "export": gettext("Exported"),
        "document_added": gettext("Document added"),
        "deferred": gettext("Deferred to the next meeting"),
        "notification_sent": gettext("Message sent to the applicant"),
        "notification_failed": gettext("Message to the applicant not sent"),
        "notification_unknown": gettext("Message to the applicant: not known whether it went"),
        "applicant_reply": gettext("The applicant answered online"),
        "answer_code_sent": gettext("A code to answer online was sent to the applicant"),
        "answer_code_spent": gettext("Too many wrong codes: the applicant must look up again"),
    }
    if action == "assignment":
        return filled(gettext("Assigned to %(name)s"), name=user_name(detail.get("to")))
    if action == "view" and str(detail.get("what", "")).startswith("document:"):
        if str(detail["what"]).endswith(":shown"):
            return gettext("Looked at a document")
        return gettext("Downloaded a document")
    return named.get(action, action)


def month_name(value: str) -> str:
    """'2026-01' as people say it in the page's language ("January 2026", «يناير 2026»)."""
    try:
        day = dt.date(int(value[:4]), int(value[5:7]), 1)
    except (TypeError, ValueError):
        return value
    return format_date(day, "MMMM y")
