"""Stored values → what people read: codes as words, dates both ways, mobiles as written.

One module for the case page, the committee's sheet, check-your-answers and the exports:
pages get text (`shown`), spreadsheets get typed cells (`cell`: real dates and numbers).
"""

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from flask_babel import gettext
from markupsafe import Markup, escape

from . import choices, clock, identifiers
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
