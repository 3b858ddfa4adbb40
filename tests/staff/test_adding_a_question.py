"""Adding a question to the support request is one registry entry (plus its words): the
form asks it, check-your-answers shows it, the case page and the exports carry it."""

import csv
import io

import pytest

from forms_service import export_writers, forms, registry
from forms_service.lifecycle import Kind
from forms_service.staff.forms import StaffEntryForm
from tests.forms.helpers import assistance_data, documents, get_form, hidden_fields
from tests.staff.conftest import sign_in

ROOMS = registry.Field(
    "rooms",
    "Rooms in the home",
    registry.Type.NUMBER,
    ltr=True,
    section=registry.Section.INCOME,
    width=8,
    ask=registry.Ask(
        "How many rooms does your home have?", "Enter the number of rooms.", maximum=30
    ),
)


@pytest.fixture
def with_rooms(monkeypatch):
    """The one entry, added to the registry as a person would add it to the file."""
    monkeypatch.setattr(registry, "ASSISTANCE", (*registry.ASSISTANCE, ROOMS))
    monkeypatch.setitem(registry.FIELDS, "assistance", registry.ASSISTANCE)
    for form_class in (forms.AssistanceRequestForm, StaffEntryForm):
        monkeypatch.setattr(form_class, "rooms", forms.asked_field(ROOMS), raising=False)
    # The export's columns are built from the registry when the module loads; a running test
    # puts the new column where that build would (after the other answers).
    columns = list(export_writers.COLUMNS[Kind.ASSISTANCE])
    at = [c.key for c in columns].index("applicant_message")
    columns.insert(at, export_writers.field_column(ROOMS))
    monkeypatch.setitem(export_writers.COLUMNS, Kind.ASSISTANCE, tuple(columns))


def test_one_registry_entry_reaches_every_page_and_the_export(
    with_rooms, app, client, db, staff_db
):
    url = "/en/forms/assistance/"
    form_page = client.get(url).get_data(as_text=True)
    assert 'name="rooms"' in form_page and "How many rooms does your home have?" in form_page
    payload = {**get_form(client, url), **assistance_data(), **documents()}
    response = client.post(url, data=payload, content_type="multipart/form-data")
    assert response.status_code == 200 and "Enter the number of rooms." in response.text
    # The documents are kept from the first try; the answer is typed in Arabic-Indic digits.
    payload = {**get_form(client, url), **assistance_data(), "rooms": "٤"}
    response = client.post(url, data=payload, content_type="multipart/form-data")
    assert response.status_code == 302
    check = client.get(url + "check").get_data(as_text=True)
    assert "Rooms in the home" in check
    confirm = {**hidden_fields(check), "attestation": "y", "consent": "y"}
    assert client.post(url + "check", data=confirm).status_code == 302
    (row,) = db.execute("SELECT id, json_extract(data, '$.rooms') FROM submissions").fetchall()
    assert row[1] == 4
    officer = app.test_client()
    sign_in(officer, "officer", prefix="/en")
    case = officer.get(f"/en/staff/case/{row[0]}").get_data(as_text=True)
    assert "Rooms in the home" in case
    exported = officer.get("/en/staff/assistance/export.csv")
    assert exported.status_code == 403  # officers do not export: the committee does
    committee = app.test_client()
    sign_in(committee, "committee", prefix="/en")
    table = list(csv.reader(io.StringIO(committee.get("/en/staff/assistance/export.csv").text)))
    column = table[0].index("Rooms in the home")
    assert table[1][column] == "4"
    assert any(c.key == "data.rooms" for c in export_writers.COLUMNS[Kind.ASSISTANCE])
