"""The templates' wiring: the globals they call (words, rules and records come from their own
modules), and how a form's errors are listed and named."""

import re
from collections.abc import Callable

from flask import current_app, g
from flask_babel import gettext

from . import answers, case_view, choices, clock, identifiers, listing, registry, timeline, words
from .db import get_db
from .facts import facts
from .i18n import DEFAULT, long_date
from .lifecycle import (
    STATES_OF,
    WAITING_STATES,
    Kind,
)

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
    return [(target, field_error(field))]


# The entries of a list of sub-forms, by the list's name: an error in one says which entry
# ("Child 2: Enter the child's full name."), in the summary and beside the field alike.
ENTRY_NAMES: dict[str, Callable[[int], str]] = {
    "orphans": lambda number: gettext("Child %(num)d", num=number),
}
_ENTRY = re.compile(r"^([a-z_]+)-([0-9]+)-")


def field_error(field) -> str:
    """A field's first error as shown to the person, naming the entry it belongs to."""
    message = str(field.errors[0])
    if field.type == "FileField":  # what is wrong with a file, and which document it is
        label = str(field.label.text)
        if label in message:
            return message
        return gettext("%(entry)s: %(message)s", entry=label, message=message)
    entry = _ENTRY.match(field.id or "")
    if entry and entry.group(1) in ENTRY_NAMES:
        name = ENTRY_NAMES[entry.group(1)](int(entry.group(2)) + 1)
        return gettext("%(entry)s: %(message)s", entry=name, message=message)
    return message


def channel_label(code: str) -> str:
    return words.channel_name(code, g.get("lang", DEFAULT))


def waited_too_long(moment: str | None) -> bool:
    """More than the policy's period (PORTAL_ANSWER_DAYS) since a stored moment: the rule of
    the queue's "late" filter (clock.late_before)."""
    return bool(moment) and clock.is_late(moment, current_app.config["PORTAL_ANSWER_DAYS"])


def is_late(row: dict) -> bool:
    """Late: in a waiting state and received more than PORTAL_ANSWER_DAYS ago."""
    waiting = WAITING_STATES[Kind(row["kind"])]
    return row["state"] in waiting and waited_too_long(row["created_at"])


def days_since(moment: str) -> int:
    """Whole days since a stored moment, counted on Riyadh dates."""
    try:
        return clock.days_waited(moment)
    except (AttributeError, TypeError, ValueError):  # no time, or not one
        return 0


def by_month(series: list) -> list:
    """A chart's series with its months named."""
    return [(words.month_name(label), value) for label, value in series]


def field_of(kind: str, key: str) -> registry.Field:
    """A field of the registry, for a page that shows a few of them by name."""
    return registry.by_key(registry.fields_of(kind))[key]


def shown(field: registry.Field, record: dict) -> str:
    """A registry field's value in a stored record, as a page shows it (words for codes)."""
    return words.shown(field, field.value(record), g.get("lang", DEFAULT), long_date)


def init_app(app):
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.globals.update(
        details=case_view.details,
        actor_name=case_view.actor_name,
        agreed=case_view.agreed,
        orphan_rows=case_view.orphan_rows,
        orphan_fields=registry.ORPHAN,
        answer=case_view.answer,
        change_target=case_view.change_target,
        section_fields=lambda name: registry.in_section(registry.Section(name)),
        assistance_parts=registry.ASSISTANCE_PARTS,
        asked_sections=[
            (title, registry.in_section(section))
            for section, title in registry.SECTION_TITLES.items()
        ],
        duplicate_reason=words.duplicate_reason,
        event_text=lambda event: words.event_text(event, g.get("lang", DEFAULT)),
        error_items=error_items,
        choices=choices,
        label=choices.label,
        labels=choices.labels,
        as_date=words.as_date,
        user_name=words.user_name,
        applicant_label=words.applicant_label,
        state_label=words.state_label,
        days_since=days_since,
        local_time=clock.local_text,
        is_late=is_late,
        field_error=field_error,
        field_of=field_of,
        shown=shown,
        waited_too_long=waited_too_long,
        month_name=words.month_name,
        by_month=by_month,
        next_words=timeline.next_words,
        waiting_for_committee=timeline.waiting_for_committee,
        asked_documents=answers.asked,
        states_of=lambda kind: STATES_OF[Kind(kind)],
        open_states=lambda kind: [str(s) for s in WAITING_STATES[Kind(kind)]],
        action_label=words.action_label,
        role_label=words.role_label,
        channel_label=channel_label,
        format_reference=identifiers.format_reference,
        display_mobile=identifiers.display_mobile,
        mask_national_id=identifiers.mask_national_id,
        # The back office's own layout (templates/staff/layout.html): its name and menu counts.
        association_name=lambda: facts()["name"][g.get("lang", DEFAULT)],
        open_counts=lambda: listing.open_counts(get_db()),
    )
