"""Validated forms → the values stored: codes, ISO dates, ASCII digits."""

from collections.abc import Iterable
from typing import Any

import wtforms
from flask import g
from flask_babel import gettext

from . import registry
from .facts import facts
from .queue import Attestation

ATTESTATION_VERSION = "attestation-2026-11-25"


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def value_in(form: wtforms.Form, key: str) -> Any:
    """A field's value by its registry key; a dot goes into a group (availability.days)."""
    for part in key.split(".")[:-1]:
        form = form[part].form
    return _iso(form[key.split(".")[-1]].data)


def _put(record: dict, key: str, value: Any) -> None:
    *groups, name = key.split(".")
    for part in groups:
        record = record.setdefault(part, {})
    record[name] = value


def record_of(form: wtforms.Form, fields: Iterable[registry.Field]) -> dict:
    """The values to store for these registry fields, read from a validated form."""
    record: dict = {}
    for field in fields:
        _put(record, field.key, value_in(form, field.key))
    return record


def _asked() -> tuple:
    """The fields the public form asks (staff-only ones are added by the staff entry)."""
    return tuple(f for f in registry.ASSISTANCE if f.section != registry.Section.STAFF)


def assistance_record(form: wtforms.Form) -> tuple[dict, list[dict]]:
    orphans = [record_of(entry.form, registry.ORPHAN) for entry in form.orphans.entries]
    return record_of(form, _asked()), orphans


def volunteer_record(form: wtforms.Form) -> dict:
    return record_of(form, registry.VOLUNTEER)


def feedback_record(form: wtforms.Form) -> dict:
    fields = record_of(form, registry.FEEDBACK)
    for field in registry.FEEDBACK:
        if field.type == registry.Type.NUMBER:
            fields[field.key] = int(fields[field.key])
    # A mobile is kept only when the person asked to be contacted.
    fields["mobile"] = form.mobile.data if form.may_contact.data else None
    return fields


def attestation_of(field: wtforms.Field, privacy: bool = False) -> Attestation:
    """The exact words agreed to (as shown, in the page's language) and their version."""
    text = str(field.label.text)
    if privacy:
        version = facts()["privacy_notice"]["version"]
        notice = gettext("Privacy notice version %(version)s", version=version)
        text = f"{text} ({notice})"
        return Attestation(text, f"privacy-{version}", g.lang)
    return Attestation(text, ATTESTATION_VERSION, g.lang)
