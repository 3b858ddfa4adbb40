"""A case made readable: every stored value with its label, codes as words, dates both ways."""

from flask_babel import lazy_gettext as _l

from . import choices, identifiers
from .i18n import long_date
from .templating import as_date, channel_label


def _date(value):
    day = as_date(value)
    return long_date(day) if day else "—"


def _yes(value):
    return str(_l("Yes")) if value else str(_l("No"))


# (key, label, how to show it, left-to-right?)
ASSISTANCE = [
    ("full_name", _l("Full name (four parts)"), None, False),
    ("national_id", _l("National ID or iqama number"), None, True),
    ("birth_date", _l("Date of birth"), _date, False),
    ("nationality", _l("Nationality"), lambda v: choices.label(choices.NATIONALITY, v), False),
    ("mobile", _l("Mobile number"), identifiers.display_mobile, True),
    ("email", _l("E-mail"), None, True),
    ("city", _l("City"), None, False),
    ("district", _l("District"), None, False),
    (
        "marital_status",
        _l("Marital status"),
        lambda v: choices.label(choices.MARITAL_STATUS, v),
        False,
    ),
    (
        "relation_to_orphans",
        _l("Relation to the orphans"),
        lambda v: choices.label(choices.RELATION_TO_ORPHANS, v),
        False,
    ),
    ("family_size", _l("Number of people in the family"), None, True),
    ("monthly_income", _l("Total monthly income of the family (riyals)"), None, True),
    (
        "income_sources",
        _l("Sources of income"),
        lambda v: choices.labels(choices.INCOME_SOURCES, v),
        False,
    ),
    ("housing", _l("Housing"), lambda v: choices.label(choices.HOUSING, v), False),
    (
        "support_type",
        _l("Support needed"),
        lambda v: choices.labels(choices.SUPPORT_TYPE, v),
        False,
    ),
    ("description", _l("Description of the situation"), None, False),
    ("id_override_reason", _l("Reason the ID was accepted despite the check digit"), None, False),
]
VOLUNTEER = [
    ("full_name", _l("Full name"), None, False),
    ("gender", _l("Gender"), lambda v: choices.label(choices.GENDER, v), False),
    ("birth_date", _l("Date of birth"), _date, False),
    ("mobile", _l("Mobile number"), identifiers.display_mobile, True),
    ("email", _l("E-mail"), None, True),
    ("city", _l("City"), None, False),
    ("education", _l("Education"), lambda v: choices.label(choices.EDUCATION, v), False),
    ("skills", _l("Skills"), lambda v: choices.labels(choices.SKILLS, v), False),
    ("interests", _l("Interests"), None, False),
    (
        "availability",
        _l("Availability"),
        lambda v: " — ".join(
            filter(
                None,
                [
                    choices.labels(choices.DAYS, (v or {}).get("days")),
                    choices.labels(choices.TIMES, (v or {}).get("times")),
                ],
            )
        ),
        False,
    ),
    ("hours_per_week", _l("Hours a week"), None, True),
    ("experience", _l("Volunteering experience"), None, False),
    ("national_volunteer_id", _l("National volunteering platform number"), None, True),
]
FEEDBACK = [
    (
        "reference",
        _l("Request reference"),
        lambda v: identifiers.format_reference(v) if v else "—",
        True,
    ),
    ("channel", _l("Channel"), channel_label, False),
    ("rating_courtesy", _l("Courtesy and respect"), None, True),
    ("rating_clarity", _l("Clarity of information"), None, True),
    ("rating_speed", _l("Speed of service"), None, True),
    ("rating_overall", _l("Overall satisfaction"), None, True),
    ("comments", _l("Comments"), None, False),
    ("may_contact", _l("May be contacted"), _yes, False),
    ("mobile", _l("Mobile number"), identifiers.display_mobile, True),
]
SPECS = {"assistance": ASSISTANCE, "volunteer": VOLUNTEER, "feedback": FEEDBACK}


def details(row: dict) -> list[tuple[str, str, bool]]:
    """(label, shown value, ltr) for every field of the case, in the form's order."""
    values = {**row["data"], **{k: row[k] for k in ("full_name", "national_id", "mobile", "email")}}
    shown = []
    for key, label, show, ltr in SPECS[row["kind"]]:
        value = values.get(key)
        if value in (None, "", []) and key in (
            "id_override_reason",
            "email",
            "national_volunteer_id",
        ):
            continue
        text = show(value) if show else value
        shown.append((str(label), "—" if text in (None, "") else str(text), ltr))
    return shown


def orphan_rows(orphans: list[dict]) -> list[dict]:
    return [
        {
            "name": o["name"],
            "birth_date": _date(o["birth_date"]),
            "age": _age(o["birth_date"]),
            "gender": choices.label(choices.GENDER, o["gender"]),
            "school_stage": choices.label(choices.SCHOOL_STAGE, o["school_stage"]),
        }
        for o in orphans
    ]


def _age(value) -> int | None:
    import datetime as dt

    day = as_date(value)
    if not day:
        return None
    today = dt.date.today()
    return today.year - day.year - ((today.month, today.day) < (day.month, day.day))
