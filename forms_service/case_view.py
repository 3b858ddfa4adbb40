"""A case made readable: every stored value with its registry label, codes as words, dates
both ways. Used by the case page and the committee's sheet."""

import datetime as dt

import wtforms
from flask import g

from . import records, registry, words
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
