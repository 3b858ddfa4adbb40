"""The public forms on a real SQLite file, in both languages, as a browser would post them."""

import datetime as dt
import hashlib
import io
import json
import re

import pytest
from bs4 import BeautifulSoup

from forms_service.facts import facts
from tests.conftest import LANGS, make_app
from tests.forms.helpers import (
    PDF,
    assistance_data,
    documents,
    errors_in,
    feedback_data,
    get_form,
    prefix,
    reference_on,
    submit_assistance,
    summary_links,
    volunteer_data,
)

ARABIC = re.compile(r"[\u0621-\u064A]")


def count(db, kind=None):
    where = f" WHERE kind = '{kind}'" if kind else ""
    return db.execute(f"SELECT count(*) FROM submissions{where}").fetchone()[0]  # noqa: S608


def post_form(client, url, data):
    return client.post(url, data={**get_form(client, url), **data})


# ---------------------------------------------------------------- support request


@pytest.mark.parametrize("lang", LANGS)
def test_support_request_is_stored_with_every_field(client, db, lang):
    seen = {}
    page = submit_assistance(client, lang, seen=seen)
    reference = reference_on(page).replace("-", "")
    row = next(db["submissions"].rows_where("reference = ?", [reference]))
    assert (row["kind"], row["lang"], row["state"], row["channel"]) == (
        "assistance",
        lang,
        "received",
        "website",
    )
    assert row["national_id"] == "1000000008"
    assert row["mobile"] == "+966512345678"
    assert row["full_name"] == "فاطمة محمد أحمد الزهراني"
    assert row["email"] == "fatima@example.com"
    data = json.loads(row["data"])
    assert data == {
        "birth_date": "1985-04-02",
        "nationality": "saudi",
        "city": "الجموم",
        "district": "حي النزهة",
        "marital_status": "widowed",
        "relation_to_orphans": "mother",
        "family_size": 4,
        "monthly_income": 2500,
        "income_sources": ["social_security", "alimony"],
        "housing": "rented",
        "support_type": ["financial", "education"],
        "description": "نحتاج دعمًا لتعليم الأطفال.",
    }
    created = dt.datetime.fromisoformat(row["created_at"].replace("Z", "+00:00")).date()
    assert row["answer_from"] == (created + dt.timedelta(days=14)).isoformat()
    assert row["attestation_lang"] == lang and row["consent_lang"] == lang
    # Stored word for word as the person saw them, with the notice's version.
    assert row["attestation_text"] == seen["attestation"]
    version = facts()["privacy_notice"]["version"]
    assert row["consent_text"].startswith(seen["consent"] + " (")
    assert version in row["consent_text"] and row["consent_version"] == f"privacy-{version}"
    assert row["attestation_at"] and row["consent_at"]
    if lang == "ar":
        assert ARABIC.search(row["attestation_text"])
    orphans = list(db["orphans"].rows_where("submission_id = ?", [row["id"]], order_by="position"))
    assert [(o["name"], o["birth_date"], o["gender"], o["school_stage"]) for o in orphans] == [
        ("سارة محمد أحمد", "2015-03-27", "female", "primary"),
        ("عمر محمد أحمد", "2018-09-01", "male", "kindergarten"),
    ]
    docs = list(db["documents"].rows_where("submission_id = ?", [row["id"]]))
    assert sorted(d["kind"] for d in docs) == ["death_certificate", "family_record", "id_card"]
    for doc in docs:
        assert (
            doc["sha256"]
            == hashlib.sha256(
                client.application.config["PORTAL_UPLOADS"]
                and open(  # noqa: SIM115
                    f"{client.application.config['PORTAL_UPLOADS']}/{doc['stored_name']}", "rb"
                ).read()
            ).hexdigest()
        )
        assert doc["original_name"] in {"هوية.pdf", "death.pdf", "family.png"}
        assert doc["original_name"] not in doc["stored_name"]
    events = list(db["events"].rows_where("submission_id = ?", [row["id"]]))
    assert [(e["action"], e["actor"], e["to_state"]) for e in events] == [
        ("submitted", "applicant", "received")
    ]
    assert db["drafts"].count == 0


@pytest.mark.parametrize("lang", LANGS)
def test_confirmation_page_tells_what_happens_next(client, lang):
    page = submit_assistance(client, lang).get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    text = soup.select_one("article").get_text(" ", strip=True)
    assert "••••••0008" in text and "1000000008" not in text
    assert soup.select_one(".reference bdi[dir=ltr]")
    assert "/forms/status/" in page and "/forms/feedback/" in page
    answer = dt.date.today() + dt.timedelta(days=14)
    assert str(answer.year) in text
    if lang == "en":
        assert "not less than two weeks" in text and "AH" in text
    else:
        assert "أسبوعين" in text and "هـ" in text


def test_going_back_keeps_what_was_typed_and_the_files(client):
    submit_page = get_form(client, "/forms/assistance/")
    client.post(
        "/forms/assistance/",
        data={**submit_page, **assistance_data(), **documents()},
        content_type="multipart/form-data",
    )
    back = client.get("/forms/assistance/").get_data(as_text=True)
    soup = BeautifulSoup(back, "html.parser")
    assert soup.select_one("#full_name")["value"] == "فاطمة محمد أحمد الزهراني"
    assert soup.select_one("#national_id")["value"] == "1000000008"
    assert soup.select_one("#orphans-1-name")["value"] == "عمر محمد أحمد"
    assert soup.select_one("#housing-1").has_attr("checked")
    assert "هوية.pdf" in back  # the uploaded file is kept and named


def test_children_can_be_added_and_removed_without_javascript(client):
    fields = get_form(client, "/forms/assistance/")
    data = assistance_data(action="add")
    page = client.post(
        "/forms/assistance/", data={**fields, **data}, content_type="multipart/form-data"
    )
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    assert len(soup.select("fieldset.repeat")) == 3
    assert not soup.select(".field__error"), "adding a child shows no errors"
    data = assistance_data(action="remove-orphans-0")
    page = client.post(
        "/forms/assistance/", data={**fields, **data}, content_type="multipart/form-data"
    )
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    names = [i["value"] for i in soup.select("input[id$='-name']") if i.get("value")]
    assert names == ["عمر محمد أحمد"]


INVALID = [
    ("full_name", "فاطمة محمد", "four-part"),
    ("national_id", "1000000009", "not valid"),
    ("national_id", "3000000001", "start with 1 or 2"),
    ("birth_date", "2999-01-01", "in the past"),
    ("mobile", "0112345678", "Saudi mobile"),
    ("email", "not-an-email", "e-mail address"),
    ("family_size", "0", "from 1 to 30"),
    ("family_size", "abc", "whole number"),
    ("monthly_income", "", "monthly income"),
    ("orphans-0-birth_date", "2000-01-01", "under 18"),
    ("marital_status", "pirate", "options given"),
    ("support_type", [], "at least one kind"),
    ("description", "", "Describe"),
]


@pytest.mark.parametrize(("name", "value", "words"), INVALID)
def test_each_invalid_field_has_its_message_and_nothing_is_stored(client, db, name, value, words):
    fields = get_form(client, "/en/forms/assistance/")
    data = {**fields, **assistance_data(**{name: value}), **documents()}
    response = client.post("/en/forms/assistance/", data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    messages = errors_in(response)
    assert any(words in m for m in messages), messages
    target = f"{name}-0" if name in {"marital_status", "support_type"} else name
    assert any(href == f"#{target}" for href, _ in summary_links(response))
    html = response.get_data(as_text=True)
    assert "<title>Error:" in html
    soup = BeautifulSoup(html, "html.parser")
    field = soup.select_one(f"#{target}")
    if name in {"marital_status", "support_type"}:
        # A choice: the message belongs to its group, announced with the group's legend.
        group = field.find_parent("fieldset")
        assert group.select_one(".field__error") and f"{name}-error" in group["aria-describedby"]
    else:
        assert field.get("aria-invalid") == "true"
        assert f"{name}-error" in field["aria-describedby"]
    assert count(db) == 0


def test_arabic_errors_are_in_arabic(client, db):
    fields = get_form(client, "/forms/assistance/")
    response = client.post("/forms/assistance/", data={**fields, "action": "continue"})
    messages = errors_in(response)
    assert len(messages) >= 15
    assert all(ARABIC.search(m) and not re.search(r"[A-Za-z]{3,}", m) for m in messages), messages
    assert "<title>خطأ:" in response.get_data(as_text=True)
    assert count(db) == 0


def test_what_was_typed_is_kept_after_an_error(client):
    fields = get_form(client, "/forms/assistance/")
    data = {**fields, **assistance_data(national_id="١٢٣")}
    response = client.post("/forms/assistance/", data=data, content_type="multipart/form-data")
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert soup.select_one("#full_name")["value"] == "فاطمة محمد أحمد الزهراني"
    assert soup.select_one("#description").get_text().strip() == "نحتاج دعمًا لتعليم الأطفال."


def test_missing_documents_are_asked_for(client, db):
    fields = get_form(client, "/en/forms/assistance/")
    response = client.post(
        "/en/forms/assistance/",
        data={**fields, **assistance_data(), **documents(**{"documents-death_certificate": None})},
        content_type="multipart/form-data",
    )
    assert any("death certificate" in m for m in errors_in(response))
    assert client.get("/en/forms/assistance/check").status_code == 302


def test_a_mislabelled_file_is_refused(client, db):
    fields = get_form(client, "/en/forms/assistance/")
    fake = {"documents-id_card": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "id.pdf")}
    response = client.post(
        "/en/forms/assistance/",
        data={**fields, **assistance_data(), **documents(**fake)},
        content_type="multipart/form-data",
    )
    # The message says which document is wrong, in the summary and beside the field.
    expected = "Applicant's national ID or iqama: The file must be a PDF, JPEG or PNG."
    assert errors_in(response) == ["Error: " + expected]
    summary = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert [a.get_text(strip=True) for a in summary.select(".error-summary a")] == [expected]
    assert db["documents"].count == 2


def test_a_file_over_5_mb_is_refused(client, db):
    fields = get_form(client, "/en/forms/assistance/")
    big = {"documents-id_card": (io.BytesIO(PDF + b"0" * (5 * 1024 * 1024)), "big.pdf")}
    response = client.post(
        "/en/forms/assistance/",
        data={**fields, **assistance_data(), **documents(**big)},
        content_type="multipart/form-data",
    )
    assert any("5 MB" in m for m in errors_in(response))


@pytest.mark.parametrize("lang", LANGS)
def test_a_request_over_20_mb_gets_a_friendly_page(client, lang):
    url = prefix(lang) + "/forms/assistance/"
    fields = get_form(client, url)
    huge = {
        f"documents-{k}": (io.BytesIO(PDF + b"0" * (4_900_000)), f"{k}.pdf")
        for k in ("id_card", "death_certificate", "family_record", "income_proof", "lease")
    }
    response = client.post(
        url, data={**fields, **assistance_data(), **huge}, content_type="multipart/form-data"
    )
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert (
        ("20 MB" in html)
        if lang == "en"
        else ARABIC.search(BeautifulSoup(html, "html.parser").h1.text)
    )
    assert f'<html lang="{lang}"' in html


def test_check_your_answers_needs_the_attestation_and_consent(client, db):
    fields = get_form(client, "/en/forms/assistance/")
    client.post(
        "/en/forms/assistance/",
        data={**fields, **assistance_data(), **documents()},
        content_type="multipart/form-data",
    )
    check = client.get("/en/forms/assistance/check")
    hidden = {**get_form(client, "/en/forms/assistance/check")}
    response = client.post("/en/forms/assistance/check", data=hidden)
    assert response.status_code == 400
    assert len(errors_in(response)) == 2
    assert count(db) == 0
    assert "Change" in check.get_data(as_text=True)


def test_double_submit_makes_one_request(client, db):
    page = submit_assistance(client, "ar")
    again = client.post("/forms/assistance/check", data={"attestation": "y", "consent": "y"})
    # The draft is gone: the repeat goes back to the form, and stores nothing.
    assert again.status_code == 302 and again.headers["Location"] == "/forms/assistance/"
    assert count(db, "assistance") == 1
    assert client.get("/forms/assistance/check").status_code == 302  # back: no resubmission
    assert reference_on(page)


# ---------------------------------------------------------------- volunteer and survey


@pytest.mark.parametrize("lang", LANGS)
def test_volunteer_sign_up_is_stored(client, db, lang):
    url = prefix(lang) + "/forms/volunteer/"
    response = post_form(client, url, volunteer_data())
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert reference_on(page)
    row = next(db["submissions"].rows_where("kind = 'volunteer'"))
    assert row["mobile"] == "+966500000000" and row["lang"] == lang
    data = json.loads(row["data"])
    assert data["availability"] == {"days": ["sat", "mon"], "times": ["evening"]}
    assert data["hours_per_week"] == 6 and data["skills"] == ["teaching", "it"]
    assert row["consent_version"].startswith("privacy-")


def test_a_double_clicked_volunteer_form_is_one_row(client, db):
    fields = get_form(client, "/forms/volunteer/")
    first = client.post("/forms/volunteer/", data={**fields, **volunteer_data()})
    second = client.post("/forms/volunteer/", data={**fields, **volunteer_data()})
    assert first.status_code == second.status_code == 302
    assert count(db, "volunteer") == 1


@pytest.mark.parametrize("lang", LANGS)
def test_anonymous_feedback_is_stored(client, db, lang):
    response = post_form(client, prefix(lang) + "/forms/feedback/", feedback_data())
    assert response.status_code == 302
    row = next(db["submissions"].rows_where("kind = 'feedback'"))
    assert row["full_name"] is None and row["mobile"] is None
    data = json.loads(row["data"])
    assert (data["rating_courtesy"], data["rating_overall"], data["channel"]) == (5, 4, "website")


def test_feedback_reference_is_checked_for_its_form_only(client, db):
    # Never looked up: the survey must not tell whether a reference exists.
    response = post_form(client, "/en/forms/feedback/", feedback_data(reference="K7M-4QX"))
    assert any("8 letters and digits" in m for m in errors_in(response))
    assert count(db, "feedback") == 0
    reference = reference_on(submit_assistance(client, "en"))
    for typed in (reference.lower(), "k7m 4qx 9t"):
        response = post_form(client, "/en/forms/feedback/", feedback_data(reference=typed))
        assert response.status_code == 302
    stored = [
        json.loads(row["data"])["reference"]
        for row in db["submissions"].rows_where("kind = 'feedback'", order_by="id")
    ]
    assert stored == [reference.replace("-", ""), "K7M4QX9T"]


def test_feedback_contact_needs_a_mobile(client, db):
    response = post_form(client, "/en/forms/feedback/", feedback_data(may_contact="y"))
    assert any("mobile number" in m for m in errors_in(response))
    assert count(db) == 0


# ---------------------------------------------------------------- abuse


@pytest.mark.parametrize("url", ["/forms/volunteer/", "/en/forms/feedback/"])
def test_honeypot_stores_nothing(client, db, url):
    data = volunteer_data() if "volunteer" in url else feedback_data()
    response = post_form(client, url, {**data, "website": "http://spam.example"})
    assert response.status_code == 400
    assert count(db) == 0


@pytest.mark.parametrize("lang", LANGS)
def test_missing_or_wrong_csrf_keeps_the_input_and_stores_nothing(client, db, lang):
    url = prefix(lang) + "/forms/volunteer/"
    fields = get_form(client, url)
    for token in (None, "forged"):
        data = {**fields, **volunteer_data(), "csrf_token": token}
        response = client.post(url, data={k: v for k, v in data.items() if v is not None})
        assert response.status_code == 400
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        assert soup.select_one(".notice--warning")
        assert soup.select_one("#full_name")["value"] == "خالد عبدالله"
    assert count(db) == 0


def test_rate_limit_is_shared_by_two_app_instances(site_dir, tmp_path):
    first = make_app(tmp_path, PORTAL_RATE_LIMIT="3/hour").test_client()
    second = make_app(tmp_path, PORTAL_RATE_LIMIT="3/hour").test_client()
    codes = []
    for i in range(5):
        client = (first, second)[i % 2]
        data = {"reference": "K7M-4QX-9T", "mobile": "0512345678"}
        codes.append(post_form(client, "/forms/status/", data).status_code)
    assert codes[:3] == [200, 200, 200]
    assert codes[3:] == [429, 429]


# ---------------------------------------------------------------- status


@pytest.mark.parametrize("lang", LANGS)
def test_status_lookup(client, db, lang):
    reference = reference_on(submit_assistance(client, lang))
    url = prefix(lang) + "/forms/status/"
    right = post_form(client, url, {"reference": reference.lower(), "mobile": "٠٥١٢٣٤٥٦٧٨"})
    assert right.status_code == 302
    page = client.get(url).get_data(as_text=True)
    text = BeautifulSoup(page, "html.parser").select_one("article").get_text(" ", strip=True)
    assert ("Received" if lang == "en" else "تم الاستلام") in text
    assert "فاطمة" not in text and "1000000008" not in text and "0008" not in text
    wrong_mobile = post_form(client, url, {"reference": reference, "mobile": "0599999999"})
    wrong_reference = post_form(client, url, {"reference": "K7M-4QX-9T", "mobile": "0512345678"})

    def message(r):
        return (
            BeautifulSoup(r.get_data(as_text=True), "html.parser").select_one(".notice").get_text()
        )

    assert message(wrong_mobile) == message(wrong_reference)


def test_status_shows_the_message_left_for_the_applicant(client, db):
    reference = reference_on(submit_assistance(client, "en")).replace("-", "")
    db.execute(
        "UPDATE submissions SET applicant_message = ?, state = 'needs_info' WHERE reference = ?",
        ["Please send the lease contract.", reference],
    )
    db.conn.commit()
    post_form(client, "/en/forms/status/", {"reference": reference, "mobile": "0512345678"})
    text = client.get("/en/forms/status/").get_data(as_text=True)
    assert "Please send the lease contract." in text and "More information needed" in text
    assert "needs_info" not in text


# ---------------------------------------------------------------- pages


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("form", ["assistance", "volunteer", "feedback", "status"])
def test_form_pages_share_the_site_layout_and_switch_language(client, lang, form):
    url = prefix(lang) + f"/forms/{form}/"
    html = client.get(url).get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == lang and soup.html["dir"] == ("rtl" if lang == "ar" else "ltr")
    other = "en" if lang == "ar" else "ar"
    switch = soup.select_one(f"a.portal-lang[hreflang={other}]")
    assert switch["href"] == prefix(other) + f"/forms/{form}/"
    assert soup.select_one("footer .portal-footer")
    ids = [t["id"] for t in soup.select("[id]")]
    assert len(ids) == len(set(ids)), "ids are unique"
    for field in soup.select(
        "form.portal-form input:not([type=hidden]), form.portal-form textarea"
    ):
        if field.find_parent(class_="honeypot"):
            continue
        assert soup.select_one(f"label[for='{field['id']}']"), field


@pytest.mark.parametrize("name", ["national_id", "mobile", "family_size", "monthly_income"])
def test_number_inputs_are_ltr_numeric_and_forgiving(client, name):
    soup = BeautifulSoup(client.get("/forms/assistance/").get_data(as_text=True), "html.parser")
    field = soup.select_one(f"#{name}")
    assert field["dir"] == "ltr" and field["inputmode"] == "numeric"
    assert field.get("type", "text") == "text" and not field.get("pattern")


def test_healthz(client):
    assert client.get("/healthz").status_code == 200
