"""Helpers the templates use: error lists, words for codes, dates, masked identifiers."""

import datetime as dt
import re
from collections.abc import Callable

from flask import current_app, g
from flask_babel import format_date, gettext
from markupsafe import Markup

from . import answers, case_view, choices, clock, identifiers, listing, registry, timeline, words
from .db import get_db
from .facts import facts
from .i18n import DEFAULT, long_date
from .lifecycle import (
    ACTION_LABELS,
    APPLICANT_LABELS,
    ROLE_LABELS,
    STAFF_LABELS,
    STATES_OF,
    WAITING_STATES,
    Kind,
    Role,
    State,
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


def applicant_label(state: str) -> str:
    return str(APPLICANT_LABELS[State(state)])


def state_label(state: str) -> str:
    return str(STAFF_LABELS[State(state)])


def action_label(state: str) -> str:
    return str(ACTION_LABELS[State(state)])


def role_label(role: str) -> str:
    return str(ROLE_LABELS[Role(role)])


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


def duplicate_reason(reason: str) -> str:
    return {
        "national_id": gettext("same national ID"),
        "mobile": gettext("same mobile"),
        "orphan": gettext("same orphan name and birth date"),
    }.get(reason, reason)


def event_text(event: dict) -> str | Markup:
    """One line of a case's history in the viewer's language."""
    action, detail = event["action"], event["detail"]
    if action == "submitted":
        return gettext(
            "Submitted through: %(channel)s", channel=channel_label(detail.get("channel", ""))
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
        return words.filled(gettext("Assigned to %(name)s"), name=words.user_name(detail.get("to")))
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


def by_month(series: list) -> list:
    """A chart's series with its months named."""
    return [(month_name(label), value) for label, value in series]


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
        asked_sections=[
            (title, registry.in_section(section))
            for section, title in registry.SECTION_TITLES.items()
        ],
        duplicate_reason=duplicate_reason,
        event_text=event_text,
        error_items=error_items,
        choices=choices,
        label=choices.label,
        labels=choices.labels,
        as_date=words.as_date,
        user_name=words.user_name,
        applicant_label=applicant_label,
        state_label=state_label,
        days_since=days_since,
        local_time=clock.local_text,
        is_late=is_late,
        field_error=field_error,
        field_of=field_of,
        shown=shown,
        waited_too_long=waited_too_long,
        month_name=month_name,
        by_month=by_month,
        next_words=timeline.next_words,
        waiting_for_committee=timeline.waiting_for_committee,
        asked_documents=answers.asked,
        states_of=lambda kind: STATES_OF[Kind(kind)],
        open_states=lambda kind: [str(s) for s in WAITING_STATES[Kind(kind)]],
        action_label=action_label,
        role_label=role_label,
        channel_label=channel_label,
        format_reference=identifiers.format_reference,
        display_mobile=identifiers.display_mobile,
        mask_national_id=identifiers.mask_national_id,
        # The back office's own layout (templates/staff/layout.html): its name and menu counts.
        association_name=lambda: facts()["name"][g.get("lang", DEFAULT)],
        open_counts=lambda: listing.open_counts(get_db()),
    )
