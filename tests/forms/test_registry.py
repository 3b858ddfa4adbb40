"""The field registry is the one definition: a field anywhere else must be in it.

These need no built site: a bare Flask app with Babel is enough to read labels.
"""

import pytest
from bs4 import BeautifulSoup
from flask import Flask, g
from flask_babel import Babel, force_locale
from wtforms import FieldList, FileField, FormField

from forms_service import case_view, choices, export_writers, records, registry, words
from forms_service.forms import (
    AssistanceRequestForm,
    FeedbackForm,
    OrphanForm,
    VolunteerForm,
)
from forms_service.lifecycle import Kind
from forms_service.registry import Type
from forms_service.staff.forms import StaffEntryForm
from tests.forms.helpers import assistance_data, submit_assistance

# Not answers: the one-time key, the honeypot, the token, and the consent (stored word for
# word with its version, beside the fields).
NOT_ANSWERS = {"form_key", "website", "csrf_token", "consent"}


@pytest.fixture
def ctx():
    app = Flask(__name__)
    app.config["WTF_CSRF_ENABLED"] = False
    Babel(app)
    with app.test_request_context():
        g.lang = "en"
        yield app


def answer_keys(form_class, **kwargs) -> set[str]:
    """Every answer a form asks for, as registry keys (groups joined with a dot)."""
    form = form_class(**kwargs)
    keys = set()
    for field in form:
        if field.name in NOT_ANSWERS or isinstance(field, FileField):
            continue
        if isinstance(field, FieldList):
            continue  # the orphans: checked against registry.ORPHAN
        if isinstance(field, FormField):
            if field.name == "documents":
                continue  # uploads: documents are rows of their own, by kind
            keys |= {f"{field.name}.{sub.short_name}" for sub in field.form}
            continue
        keys.add(field.name)
    return keys


def registry_keys(fields, *, staff=False) -> set[str]:
    return {f.key for f in fields if staff or f.section != registry.Section.STAFF}


def test_the_forms_ask_exactly_what_the_registry_defines(ctx):
    assert answer_keys(AssistanceRequestForm) == registry_keys(registry.ASSISTANCE)
    assert answer_keys(VolunteerForm) == registry_keys(registry.VOLUNTEER)
    assert answer_keys(FeedbackForm) == registry_keys(registry.FEEDBACK)
    assert {f.short_name for f in OrphanForm()} == registry_keys(registry.ORPHAN)
    staff_only = answer_keys(StaffEntryForm) - answer_keys(AssistanceRequestForm)
    assert staff_only == {"channel", "id_override_reason", "attested_on_paper"}
    assert "id_override_reason" in registry_keys(registry.ASSISTANCE, staff=True)


def test_the_records_stored_are_the_registry_keys(ctx):
    from werkzeug.datastructures import MultiDict

    form = AssistanceRequestForm(formdata=MultiDict({"orphans-0-name": "س"}))
    fields, orphans = records.assistance_record(form)
    assert set(fields) == registry_keys(registry.ASSISTANCE)
    assert [set(o) for o in orphans] == [registry_keys(registry.ORPHAN)]
    volunteer = records.volunteer_record(VolunteerForm(formdata=MultiDict()))
    flat = {k for k in volunteer if k != "availability"} | {
        f"availability.{k}" for k in volunteer["availability"]
    }
    assert flat == registry_keys(registry.VOLUNTEER)


def every_value(kind: str) -> dict:
    """A stored row where every registry field has a value."""
    row = {"kind": kind, "data": {}}
    for field in registry.fields_of(kind):
        value = {
            registry.Type.CODE: field.codes[0][0] if field.codes else None,
            registry.Type.CODES: [field.codes[0][0]] if field.codes else None,
            registry.Type.DATE: "2015-03-27",
            registry.Type.NUMBER: "3",
            registry.Type.MOBILE: "+966512345678",
            registry.Type.REFERENCE: "K7M4QX9T",
            registry.Type.YES_NO: True,
            registry.Type.CHANNEL: "website",
        }.get(field.type, "x")
        target = row if field.path == field.key else row["data"]
        for part in field.key.split(".")[:-1]:
            target = target.setdefault(part, {})
        target[field.key.split(".")[-1]] = value
    return row


@pytest.mark.parametrize("kind", ["assistance", "volunteer", "feedback"])
def test_the_case_page_shows_every_registry_field_with_its_label(ctx, kind, monkeypatch):
    monkeypatch.setattr(case_view, "long_date", lambda day: day.isoformat())
    shown = case_view.details(every_value(kind))
    assert [label for label, _value, _ltr in shown] == [
        str(f.label) for f in registry.fields_of(kind)
    ]
    assert all(value != "—" for _label, value, _ltr in shown)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_export_column_of_an_answer_is_a_registry_field(ctx, kind):
    fields = {f.path: f for f in registry.fields_of(kind)}
    case_columns = {
        "reference",
        "created_at",
        "state",
        "answer_from",
        "channel",
        "assigned_to",
        "lang",
        "orphans",
        "applicant_message",
    }
    columns = export_writers.COLUMNS[kind]
    answers = [c for c in columns if c.key not in case_columns]
    assert [c.key for c in answers] == list(fields)
    for column in answers:
        assert str(column.header) == str(fields[column.key].label), column.key
        assert column.width == fields[column.key].width
    orphan_columns = [c for c in export_writers.ORPHAN_COLUMNS if c.key != "reference"]
    assert [(c.key, str(c.header)) for c in orphan_columns] == [
        (f.key, str(f.label)) for f in registry.ORPHAN
    ]


def test_a_label_is_the_same_on_the_case_page_and_in_the_export(ctx):
    """The disagreement that started the registry: "Situation" against "Description of the
    situation"."""
    column = next(c for c in export_writers.COLUMNS[Kind.ASSISTANCE] if c.key == "data.description")
    shown = dict((label, value) for label, value, _ in case_view.details(every_value("assistance")))
    assert str(column.header) in shown
    assert str(column.header) == "Description of the situation"


def test_personal_data_is_marked(ctx):
    for kind in ("assistance", "volunteer"):
        assert {"full_name", "mobile", "birth_date"} <= registry.personal_keys(kind)
    assert "national_id" in registry.personal_keys("assistance")
    assert {f.key for f in registry.ORPHAN if f.personal} == {"name", "birth_date"}


def form_fields(form) -> dict:
    """The form's answer fields by registry key (groups joined with a dot), the orphan's too."""
    found = {}
    for field in form:
        if isinstance(field, FieldList):
            continue
        if isinstance(field, FormField):
            found |= {f"{field.name}.{sub.short_name}": sub for sub in field.form}
            continue
        found[field.name] = field
    return found


@pytest.mark.parametrize(
    ("form_class", "fields"),
    [
        (AssistanceRequestForm, registry.ASSISTANCE),
        (VolunteerForm, registry.VOLUNTEER),
        (FeedbackForm, registry.FEEDBACK),
        (OrphanForm, registry.ORPHAN),
    ],
)
def test_a_forms_choices_are_the_registrys_codes(ctx, form_class, fields):
    """A question with choices offers exactly the codes the registry turns into words (the
    case page, the exports): a code added on one side only would show as a bare code."""
    asked = form_fields(form_class())
    coded = [f for f in fields if f.key in asked and f.type in words.CODED - {Type.YES_NO}]
    assert coded  # every form has coded questions
    for field in coded:
        offered = [code for code, _words in asked[field.key].choices or ()]
        codes = choices.channels(g.lang) if field.type == Type.CHANNEL else field.codes
        assert offered == [code for code, _words in codes], field.key


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_confirmation_page_uses_the_registrys_labels(app, lang):
    """The receipt's summary names its fields with the registry's labels, its codes in words."""
    page = submit_assistance(app.test_client(), lang)
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    rows = {
        row.dt.get_text(strip=True): row.dd.get_text(" ", strip=True)
        for row in soup.select(".summary__row")
    }
    with app.test_request_context(), force_locale(lang):
        fields = registry.by_key(registry.ASSISTANCE)
        labels = [str(fields[k].label) for k in ("full_name", "national_id", "mobile")]
        support = fields["support_type"]
        words = choices.labels(support.codes, assistance_data()["support_type"])
        support_label = str(support.label)
    assert set(labels) <= set(rows)
    assert rows[support_label] == words
