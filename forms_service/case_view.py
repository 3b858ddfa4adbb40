"""A case made readable: every stored value with its registry label, codes as words, dates
both ways. Used by the case page and the committee's sheet."""

import datetime as dt
import re

import wtforms
from flask import g
from flask_babel import format_date, gettext

from . import clock, records, registry, words
from .i18n import DEFAULT, long_date


def _lang() -> str:
    return g.get("lang", DEFAULT)


def details(row: dict) -> list[tuple[str, str, bool]]:
    """(label, shown value, ltr) for every field of the case, in the registry's order."""
    shown = []
    for field in registry.fields_of(row["kind"]):
        value = field.value(row)
        if field.optional and value in (None, "", []):
            continue
        text = words.shown(field, value, _lang(), long_date)
        shown.append((str(field.label), text, field.ltr))
    return shown


def answer(form: wtforms.Form, field: registry.Field) -> str:
    """A validated form's answer as check-your-answers shows it (the same words as the case)."""
    return words.shown(field, records.value_in(form, field.key), _lang(), long_date)


def change_target(field: registry.Field) -> str:
    """The id of the input a "Change" link goes to (a choice's first option)."""
    choice = field.type in (registry.Type.CODE, registry.Type.CODES)
    return f"{field.key}-0" if choice else field.key


ORPHAN = registry.by_key(registry.ORPHAN)


def orphan_rows(orphans: list[dict]) -> list[dict]:
    return [
        {
            **{
                key: words.shown(field, o[key], _lang(), long_date) for key, field in ORPHAN.items()
            },
            "age": age(o["birth_date"]),
        }
        for o in orphans
    ]


def age(value: object, today: dt.date | None = None) -> int | None:
    day = words.as_date(value)
    if not day:
        return None
    today = today or dt.date.today()
    return today.year - day.year - ((today.month, today.day) < (day.month, day.day))


def actor_name(actor: str) -> str:
    """Who did something, as staff read it: a user name, or the applicant in words."""
    return gettext("The applicant") if actor == "applicant" else actor


def agreed(text: str | None, version: str | None, at: str | None, lang: str | None) -> str:
    """How an attestation or consent was given, in words: when (Riyadh time), how, in which
    language, and which wording (its date, or the privacy notice's version)."""
    if not text:
        return ""
    when = clock.local_text(at) if at else "—"
    language = gettext("Arabic") if lang == "ar" else gettext("English")
    version = version or ""
    dated = re.search(r"([0-9]{4}-[0-9]{2}-[0-9]{2})$", version)
    # The wording's date, Gregorian only: a version, not a day in anyone's life.
    wording = format_date(dt.date.fromisoformat(dated.group(1)), "d MMMM y") if dated else version
    if version.startswith("privacy-"):
        return gettext(
            "Agreed on %(when)s, in %(language)s, to the privacy notice version %(version)s.",
            when=when,
            language=language,
            version=version.removeprefix("privacy-"),
        )
    if "on-paper" in version:
        return gettext(
            "Signed on paper; entered by staff on %(when)s (wording of %(wording)s).",
            when=when,
            wording=wording,
        )
    return gettext(
        "Confirmed online on %(when)s, in %(language)s (wording of %(wording)s).",
        when=when,
        language=language,
        wording=wording,
    )
