"""Validated forms → the values stored: codes, ISO dates, ASCII digits."""

from flask import g
from flask_babel import gettext

from .facts import facts

ATTESTATION_VERSION = "attestation-2026-11-25"


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def assistance_record(form) -> tuple[dict, list]:
    fields = {
        name: _iso(form[name].data)
        for name in (
            "full_name",
            "national_id",
            "birth_date",
            "nationality",
            "mobile",
            "email",
            "city",
            "district",
            "marital_status",
            "relation_to_orphans",
            "family_size",
            "monthly_income",
            "income_sources",
            "housing",
            "support_type",
            "description",
        )
    }
    orphans = [
        {
            "name": entry.form.name.data,
            "birth_date": _iso(entry.form.birth_date.data),
            "gender": entry.form.gender.data,
            "school_stage": entry.form.school_stage.data,
        }
        for entry in form.orphans.entries
    ]
    return fields, orphans


def volunteer_record(form) -> dict:
    fields = {
        name: _iso(form[name].data)
        for name in (
            "full_name",
            "gender",
            "birth_date",
            "mobile",
            "email",
            "city",
            "education",
            "skills",
            "interests",
            "hours_per_week",
            "experience",
            "national_volunteer_id",
        )
    }
    fields["availability"] = {
        "days": form.availability.days.data,
        "times": form.availability.times.data,
    }
    return fields


def feedback_record(form) -> dict:
    fields = {
        name: form[name].data
        for name in (
            "reference",
            "channel",
            "rating_courtesy",
            "rating_clarity",
            "rating_speed",
            "rating_overall",
            "comments",
            "may_contact",
        )
    }
    for rating in ("rating_courtesy", "rating_clarity", "rating_speed", "rating_overall"):
        fields[rating] = int(fields[rating])
    fields["mobile"] = form.mobile.data if form.may_contact.data else None
    return fields


def attestation_of(field, privacy: bool = False):
    """The exact words agreed to (as shown, in the page's language) and their version."""
    from .queue import Attestation

    text = str(field.label.text)
    if privacy:
        version = facts()["privacy_notice"]["version"]
        notice = gettext("Privacy notice version %(version)s", version=version)
        text = f"{text} ({notice})"
        return Attestation(text, f"privacy-{version}", g.lang)
    return Attestation(text, ATTESTATION_VERSION, g.lang)
