"""The one definition of every field a person fills in, per kind of submission.

Each entry says what the field is called (its form `name`, which is also its stored key),
its label, its type, its code list, whether it is personal data, its text direction, the
section it belongs to and its export column's width. The forms' stored records, the case
page, the committee's sheet, the check-your-answers page and the exports all read it:
adding a question is one entry here (plus its form field and its translation).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l

from . import choices


class Type(StrEnum):
    TEXT = "text"
    NUMBER = "number"  # a whole number
    DATE = "date"  # stored as ISO yyyy-mm-dd
    CODE = "code"  # one code of `codes`
    CODES = "codes"  # a list of codes of `codes`
    CHANNEL = "channel"  # one of the policy's eight channels (from the facts file)
    MOBILE = "mobile"  # stored +9665XXXXXXXX, shown 05X XXX XXXX
    REFERENCE = "reference"  # a request reference, shown grouped
    YES_NO = "yes_no"


class Section(StrEnum):
    APPLICANT = "applicant"
    FAMILY = "family"
    INCOME = "income"
    SUPPORT = "support"
    STAFF = "staff"  # recorded by staff, never asked of the public


SECTION_TITLES = {
    Section.APPLICANT: _l("About you"),
    Section.FAMILY: _l("The family"),
    Section.INCOME: _l("Income and housing"),
    Section.SUPPORT: _l("The support you need"),
}
# The support request's parts, in the order the form asks them: the sections of fields, and
# the orphans and the documents, which are asked in their own way (rows, files).
ASSISTANCE_PARTS = (
    (str(Section.APPLICANT), SECTION_TITLES[Section.APPLICANT]),
    (str(Section.FAMILY), SECTION_TITLES[Section.FAMILY]),
    ("orphans", _l("The orphans")),
    (str(Section.INCOME), SECTION_TITLES[Section.INCOME]),
    (str(Section.SUPPORT), SECTION_TITLES[Section.SUPPORT]),
    ("documents", _l("Documents")),
)
# Values kept in their own columns of a submission (searched and indexed); the rest are
# in its `data`. Every field of an orphan has its own column.
COLUMNS = frozenset({"full_name", "national_id", "mobile", "email"})


@dataclass(frozen=True)
class Ask:
    """How the public form asks a question that needs no code of its own: the question, the
    message when it is left empty (None: optional), a hint. The form field is built from
    it (forms.add_questions), so a plain question is one registry entry and its words."""

    question: Any
    required: Any = None
    hint: Any = None
    long: bool = False  # a text box of several lines
    minimum: int = 0  # numbers
    maximum: int = 1_000_000


@dataclass(frozen=True)
class Field:
    key: str  # the form field's name and the stored key (a dot: inside a group)
    label: Any  # a lazy string: the one label on every page and in every export
    type: Type = Type.TEXT
    codes: Sequence | None = None
    personal: bool = False  # identifies or describes a person: staff only, never logged
    ltr: bool = False  # digits, e-mails, references: left-to-right inside Arabic text
    section: Section | None = None
    width: int = 16  # the export column's width, in characters
    optional: bool = False  # shown on the case page only when given
    own_column: bool = False  # set for the orphan table, whose fields are all columns
    ask: Ask | None = None  # the form field is built from this (else: written in forms.py)

    @property
    def path(self) -> str:
        """Where the value is in a stored record (a dotted path)."""
        if self.own_column or self.key in COLUMNS:
            return self.key
        return f"data.{self.key}"

    def value(self, record: dict) -> Any:
        value: Any = record
        for part in self.path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value


ASSISTANCE: tuple[Field, ...] = (
    Field("full_name", _l("Full name"), personal=True, section=Section.APPLICANT, width=32),
    Field(
        "national_id",
        _l("National ID or iqama number"),
        personal=True,
        ltr=True,
        section=Section.APPLICANT,
        width=14,
    ),
    Field(
        "birth_date",
        _l("Date of birth"),
        Type.DATE,
        personal=True,
        section=Section.APPLICANT,
        width=12,
    ),
    Field(
        "nationality",
        _l("Nationality"),
        Type.CODE,
        choices.NATIONALITY,
        section=Section.APPLICANT,
        width=12,
    ),
    Field(
        "mobile",
        _l("Mobile number"),
        Type.MOBILE,
        personal=True,
        ltr=True,
        section=Section.APPLICANT,
        width=14,
    ),
    Field(
        "email",
        _l("E-mail"),
        personal=True,
        ltr=True,
        section=Section.APPLICANT,
        width=26,
        optional=True,
    ),
    Field("city", _l("City"), section=Section.FAMILY, width=14),
    Field("district", _l("District"), personal=True, section=Section.FAMILY, width=14),
    Field(
        "marital_status",
        _l("Marital status"),
        Type.CODE,
        choices.MARITAL_STATUS,
        personal=True,
        section=Section.FAMILY,
    ),
    Field(
        "relation_to_orphans",
        _l("Relation to the orphans"),
        Type.CODE,
        choices.RELATION_TO_ORPHANS,
        section=Section.FAMILY,
    ),
    Field(
        "family_size",
        _l("Number of people in the family"),
        Type.NUMBER,
        ltr=True,
        section=Section.FAMILY,
        width=10,
    ),
    Field(
        "monthly_income",
        _l("Total monthly income of the family (riyals)"),
        Type.NUMBER,
        personal=True,
        ltr=True,
        section=Section.INCOME,
    ),
    Field(
        "income_sources",
        _l("Sources of income"),
        Type.CODES,
        choices.INCOME_SOURCES,
        personal=True,
        section=Section.INCOME,
        width=24,
    ),
    Field("housing", _l("Housing"), Type.CODE, choices.HOUSING, section=Section.INCOME),
    Field(
        "support_type",
        _l("Support needed"),
        Type.CODES,
        choices.SUPPORT_TYPE,
        section=Section.SUPPORT,
        width=24,
    ),
    Field(
        "description",
        _l("Description of the situation"),
        personal=True,
        section=Section.SUPPORT,
        width=60,
    ),
    Field(
        "id_override_reason",
        _l("Reason the ID was accepted despite the check digit"),
        section=Section.STAFF,
        optional=True,
    ),
)
ORPHAN: tuple[Field, ...] = (
    Field("name", _l("Child's full name"), personal=True, width=32, own_column=True),
    Field("birth_date", _l("Date of birth"), Type.DATE, personal=True, width=12, own_column=True),
    Field("gender", _l("Gender"), Type.CODE, choices.GENDER, width=10, own_column=True),
    Field(
        "school_stage",
        _l("School stage"),
        Type.CODE,
        choices.SCHOOL_STAGE,
        width=18,
        own_column=True,
    ),
)
VOLUNTEER: tuple[Field, ...] = (
    Field("full_name", _l("Full name"), personal=True, width=28),
    Field("gender", _l("Gender"), Type.CODE, choices.GENDER, width=10),
    Field("birth_date", _l("Date of birth"), Type.DATE, personal=True, width=12),
    Field("mobile", _l("Mobile number"), Type.MOBILE, personal=True, ltr=True, width=14),
    Field("email", _l("E-mail"), personal=True, ltr=True, width=26),
    Field("city", _l("City"), width=14),
    Field("education", _l("Education"), Type.CODE, choices.EDUCATION),
    Field("skills", _l("Skills"), Type.CODES, choices.SKILLS, width=30),
    Field("interests", _l("Interests"), width=40),
    Field("availability.days", _l("Days"), Type.CODES, choices.DAYS, width=24),
    Field("availability.times", _l("Times"), Type.CODES, choices.TIMES, width=20),
    Field("hours_per_week", _l("Hours a week"), Type.NUMBER, ltr=True, width=10),
    Field("experience", _l("Volunteering experience"), width=40),
    Field(
        "national_volunteer_id",
        _l("National volunteering platform number"),
        ltr=True,
        width=18,
        optional=True,
    ),
)
FEEDBACK: tuple[Field, ...] = (
    # The request rated and how the person dealt with the association: not the feedback's
    # own reference and channel.
    Field("reference", _l("Request reference"), Type.REFERENCE, ltr=True, width=12),
    Field("channel", _l("How they dealt with the association"), Type.CHANNEL, width=22),
    Field("rating_courtesy", _l("Courtesy and respect"), Type.NUMBER, ltr=True, width=10),
    Field("rating_clarity", _l("Clarity of information"), Type.NUMBER, ltr=True, width=10),
    Field("rating_speed", _l("Speed of service"), Type.NUMBER, ltr=True, width=10),
    Field("rating_overall", _l("Overall satisfaction"), Type.NUMBER, ltr=True, width=10),
    Field("comments", _l("Comments"), width=50),
    Field("may_contact", _l("May be contacted"), Type.YES_NO, width=10),
    Field("mobile", _l("Mobile number"), Type.MOBILE, personal=True, ltr=True, width=14),
)
FIELDS: dict[str, tuple[Field, ...]] = {
    "assistance": ASSISTANCE,
    "volunteer": VOLUNTEER,
    "feedback": FEEDBACK,
}


def fields_of(kind: str) -> tuple[Field, ...]:
    return FIELDS[str(kind)]


def by_key(fields: Sequence[Field]) -> dict[str, Field]:
    return {f.key: f for f in fields}


def personal_keys(kind: str) -> frozenset[str]:
    return frozenset(f.key for f in fields_of(kind) if f.personal)


def in_section(section: Section) -> tuple[Field, ...]:
    return tuple(f for f in ASSISTANCE if f.section == section)
