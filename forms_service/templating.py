"""Helpers the templates use: error lists, words for codes, dates, masked identifiers."""

import datetime as dt

from . import choices, identifiers
from .queue import APPLICANT_LABELS, State

CHOICE_FIELDS = ("ChoiceField", "MultiCheckboxField")
SKIPPED = ("CSRFTokenField", "HiddenField")


def error_items(*forms) -> list[tuple[str, str]]:
    """(id of the input to focus, message) for every error, nested fields included, in order."""
    items = []
    for form in forms:
        if form is None:
            continue
        for field in form:
            items.extend(_field_errors(field))
    return items


def _field_errors(field):
    if field.type in SKIPPED:
        return []
    if field.type == "FormField":
        return error_items(field.form)
    if field.type == "FieldList":
        return [item for entry in field.entries for item in _field_errors(entry)]
    if not field.errors:
        return []
    target = f"{field.id}-0" if field.type in CHOICE_FIELDS else field.id
    return [(target, str(field.errors[0]))]


def as_date(value) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not value:
        return None
    return dt.date.fromisoformat(str(value)[:10])


def applicant_label(state: str) -> str:
    return str(APPLICANT_LABELS[State(state)])


def init_app(app):
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        error_items=error_items,
        choices=choices,
        label=choices.label,
        labels=choices.labels,
        as_date=as_date,
        applicant_label=applicant_label,
        format_reference=identifiers.format_reference,
        display_mobile=identifiers.display_mobile,
        mask_national_id=identifiers.mask_national_id,
    )
