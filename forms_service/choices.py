"""Coded answers: the database stores the code, screens and exports show the words.

Each list is (code, lazy label) pairs; `label(choices, code)` gives the word in the
viewer's language.
"""

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from .facts import facts

NATIONALITY = [("saudi", _l("Saudi")), ("non_saudi", _l("Non-Saudi"))]
MARITAL_STATUS = [
    ("widowed", _l("Widowed")),
    ("divorced", _l("Divorced")),
    ("married", _l("Married")),
    ("single", _l("Single")),
]
RELATION_TO_ORPHANS = [
    ("mother", _l("Mother")),
    ("grandmother", _l("Grandmother")),
    ("grandfather", _l("Grandfather")),
    ("sibling", _l("Brother or sister")),
    ("uncle_aunt", _l("Uncle or aunt")),
    ("other_relative", _l("Other relative")),
    ("guardian", _l("Legal guardian (not a relative)")),
]
GENDER = [("female", _l("Female")), ("male", _l("Male"))]
SCHOOL_STAGE = [
    ("not_in_school", _l("Not yet in school")),
    ("kindergarten", _l("Kindergarten")),
    ("primary", _l("Primary")),
    ("intermediate", _l("Intermediate")),
    ("secondary", _l("Secondary")),
    ("not_studying", _l("Left school")),
]
INCOME_SOURCES = [
    ("social_security", _l("Social security")),
    ("pension", _l("Pension")),
    ("work", _l("Work")),
    ("alimony", _l("Alimony or family support")),
    ("charity", _l("Help from charities")),
    ("none", _l("No income")),
    ("other", _l("Other")),
]
HOUSING = [
    ("owned", _l("Own home")),
    ("rented", _l("Rented")),
    ("with_relatives", _l("Living with relatives")),
    ("other", _l("Other")),
]
SUPPORT_TYPE = [
    ("financial", _l("Financial support")),
    ("food", _l("Food")),
    ("education", _l("Education")),
    ("health", _l("Health")),
    ("housing", _l("Housing")),
    ("clothing", _l("Clothing")),
    ("other", _l("Other")),
]
DOCUMENT_KIND = [
    ("id_card", _l("Applicant's national ID or iqama")),
    ("death_certificate", _l("Father's death certificate")),
    ("family_record", _l("Family record")),
    ("income_proof", _l("Proof of income")),
    ("lease", _l("Lease contract")),
]
REQUIRED_DOCUMENTS = ("id_card", "death_certificate", "family_record")
# Asked only when its label's condition holds ("if you rent"): no "(optional)" mark beside it.
CONDITIONAL_DOCUMENTS = ("lease",)
EDUCATION = [
    ("below_secondary", _l("Below secondary")),
    ("secondary", _l("Secondary")),
    ("diploma", _l("Diploma")),
    ("bachelor", _l("Bachelor's degree")),
    ("postgraduate", _l("Postgraduate")),
]
SKILLS = [
    ("teaching", _l("Teaching and tutoring")),
    ("it", _l("Computers and technology")),
    ("design_media", _l("Design and media")),
    ("administration", _l("Administration")),
    ("accounting", _l("Accounting")),
    ("health", _l("Health care")),
    ("social_work", _l("Social work")),
    ("driving", _l("Driving and delivery")),
    ("events", _l("Organising events")),
    ("translation", _l("Translation")),
    ("other", _l("Other")),
]
DAYS = [
    ("sat", _l("Saturday")),
    ("sun", _l("Sunday")),
    ("mon", _l("Monday")),
    ("tue", _l("Tuesday")),
    ("wed", _l("Wednesday")),
    ("thu", _l("Thursday")),
    ("fri", _l("Friday")),
]
TIMES = [("morning", _l("Mornings")), ("afternoon", _l("Afternoons")), ("evening", _l("Evenings"))]
RATING = [
    ("1", _l("1 — very poor")),
    ("2", _l("2 — poor")),
    ("3", _l("3 — acceptable")),
    ("4", _l("4 — good")),
    ("5", _l("5 — excellent")),
]


def channels(lang: str):
    """The policy's eight channels, named in the viewer's language (from the facts file)."""
    return [(c["code"], c["name"][lang]) for c in facts()["channels"]]


def label(choices, code) -> str:
    return str(dict(choices).get(code, code or ""))


def labels(choices, codes) -> str:
    return gettext(", ").join(label(choices, c) for c in codes or [])
