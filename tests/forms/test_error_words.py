"""Errors that say which field, a summary heading that agrees in number, and what was typed
shown back as the person wrote it."""

import base64
import datetime as dt
import re

import pytest
from bs4 import BeautifulSoup

from forms_service import db as dbm
from forms_service import queue
from forms_service.facts import facts
from tests.conftest import SITE
from tests.forms.helpers import (
    assistance_data,
    documents,
    errors_in,
    feedback_data,
    get_form,
    reference_on,
    submit_assistance,
    volunteer_data,
)


def post(client, url, data, files=None):
    fields = get_form(client, url)
    payload = {**fields, **data, **(files or {})}
    return client.post(url, data=payload, content_type="multipart/form-data")


def soup_of(response):
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "Error: Choose a rating from 1 to 5 for “Speed of service”."),
        ("ar", "خطأ: اختر تقييمًا من 1 إلى 5 لـ«سرعة إنجاز الخدمة»."),
    ],
)
def test_a_missing_rating_says_which_one(client, lang, expected):
    url = ("/en" if lang == "en" else "") + "/forms/feedback/"
    response = post(client, url, feedback_data(rating_speed=None))
    assert errors_in(response) == [expected]


def test_a_word_in_a_number_field_names_the_field_and_is_kept_as_typed(client):
    response = post(
        client, "/en/forms/assistance/", assistance_data(family_size="a few"), documents()
    )
    assert errors_in(response) == [
        "Error: Enter a whole number in “Number of people in the family”, like 3."
    ]
    assert soup_of(response).select_one("#family_size")["value"] == "a few"


CHILD_AND_LENGTH = {
    "en": [
        "Use 80 characters or fewer in “City”.",
        "Child 2: Enter the child's full name.",
        "Child 2: Enter a date in the past in “Date of birth”.",
    ],
    "ar": [
        "استخدم في «المدينة» 80 حرفًا أو أقل.",
        "الطفل 2: أدخل الاسم الكامل للطفل.",
        "الطفل 2: أدخل في «تاريخ الميلاد» تاريخًا قبل تاريخ اليوم.",
    ],
}


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_every_message_names_its_field_and_its_child(client, lang):
    """A length, a child's field, a date in the future: each message says which field (and
    which child), the same in the summary and beside the field; what was typed is kept."""
    url = ("/en" if lang == "en" else "") + "/forms/assistance/"
    long_city = "الجموم " * 15
    data = assistance_data(city=long_city)
    data |= {"orphans-1-name": "", "orphans-1-birth_date": "2999-01-01"}
    response = post(client, url, data, documents())
    summary = [a.get_text(" ", strip=True) for a in soup_of(response).select(".error-summary a")]
    assert summary == CHILD_AND_LENGTH[lang]
    prefix = "Error: " if lang == "en" else "خطأ: "
    assert errors_in(response) == [prefix + message for message in CHILD_AND_LENGTH[lang]]
    kept = soup_of(response)
    assert kept.select_one("#city")["value"] == long_city.strip()
    assert kept.select_one("#orphans-1-birth_date")["value"] == "2999-01-01"


@pytest.mark.parametrize(
    ("lang", "one", "several"),
    [("en", "There is a problem", "There are problems"), ("ar", "يوجد خطأ", "توجد أخطاء")],
)
def test_the_summary_heading_agrees_in_number(client, lang, one, several):
    url = ("/en" if lang == "en" else "") + "/forms/feedback/"
    single = post(client, url, feedback_data(rating_speed=None))
    assert soup_of(single).select_one("#error-summary-title").get_text(strip=True) == one
    three = post(
        client, url, feedback_data(rating_speed=None, rating_clarity=None, rating_overall=None)
    )
    assert soup_of(three).select_one("#error-summary-title").get_text(strip=True) == several
    if lang == "ar":  # two: Arabic's dual
        two = post(client, url, feedback_data(rating_speed=None, rating_clarity=None))
        assert soup_of(two).select_one("#error-summary-title").get_text(strip=True) == "يوجد خطآن"


def test_a_mobile_comes_back_as_the_person_writes_it(client):
    response = post(client, "/en/forms/assistance/", assistance_data(description=""), documents())
    assert response.status_code == 200
    assert soup_of(response).select_one("#mobile")["value"] == "051 234 5678"


# ---------------------------------------------------------------- the support request's draft


def test_answers_kept_from_an_earlier_visit_are_announced_and_can_go(app, client):
    url = "/en/forms/assistance/"
    response = post(client, url, assistance_data(description=""), documents())
    assert response.status_code == 200  # saved as a draft, with its error
    later = soup_of(client.get(url))
    notice = later.select_one(".notice--info")
    assert "We kept what you typed" in notice.get_text()
    assert "24 hours" in notice.get_text()
    assert later.select_one("#full_name")["value"] == "فاطمة محمد أحمد الزهراني"
    assert len(later.select(".uploaded")) == 3
    token = notice.select_one("input[name=csrf_token]")["value"]
    gone = client.post(url, data={"csrf_token": token, "action": "start-again"})
    assert gone.status_code == 302
    fresh = soup_of(client.get(url))
    assert fresh.select_one(".notice--info") is None
    assert not fresh.select_one("#full_name").get("value")
    assert not fresh.select(".uploaded")


def test_a_new_visit_says_nothing_about_kept_answers(client):
    assert soup_of(client.get("/forms/assistance/")).select_one(".notice--info") is None


def test_adding_a_child_opens_at_the_new_child(client):
    response = post(client, "/forms/assistance/", assistance_data(action="add"), documents())
    soup = soup_of(response)
    focused = soup.select("[autofocus]")
    assert [f.get("id") for f in focused] == ["orphans-2-name"]


def test_an_uploaded_file_is_offered_for_replacing_not_as_no_file(client):
    post(client, "/forms/assistance/", assistance_data(description=""), documents())
    soup = soup_of(client.get("/forms/assistance/"))
    replace = soup.select_one("#documents-id_card").find_parent("details")
    assert replace is not None and replace.select_one("summary")
    assert soup.select_one("#documents-lease").find_parent("details") is None


# ---------------------------------------------------------------- the receipt


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_receipt_names_the_association_and_can_be_kept(app, lang):
    client = app.test_client()
    page = submit_assistance(client, lang)
    soup = soup_of(page)
    issuer = soup.select_one(".receipt__issuer").get_text(" ", strip=True)
    name = facts()["name"][lang]
    assert name in issuer and facts()["licence"] in issuer and facts()["email"] in issuer
    reference = reference_on(page).replace("-", "")
    prefix = "/en" if lang == "en" else ""
    status = soup.find("a", href=f"{prefix}/forms/status/?reference={reference}")
    assert status is not None
    opened = soup_of(client.get(status["href"]))
    assert opened.select_one("#reference")["value"] == reference_on(page)
    image = client.get(f"{prefix}/forms/assistance/done/receipt.svg")
    assert image.status_code == 200
    assert image.headers["Content-Type"].startswith("image/svg+xml")
    assert "attachment" in image.headers["Content-Disposition"]
    svg = image.get_data(as_text=True)
    assert reference_on(page) in svg and name in svg
    logo = re.search(r'href="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"', svg)
    assert (
        logo and base64.b64decode(logo.group(1)) == (SITE / "assets/images/logo.svg").read_bytes()
    )
    sent = queue.by_reference(dbm.connect(app.config["PORTAL_DB"]), reference)["created_at"]
    riyadh = dt.datetime.fromisoformat(sent.replace("Z", "+00:00")) + dt.timedelta(hours=3)
    assert riyadh.strftime("%Y-%m-%d %H:%M") in svg  # the time, in Riyadh time (UTC+3)
    for personal in ("فاطمة", "1000000008", "0512345678", "512 345"):
        assert personal not in svg  # a file kept on a phone holds no personal data
    assert "<script" not in svg
    # Another browser (no receipt in its session) gets nothing.
    assert app.test_client().get(f"{prefix}/forms/assistance/done/receipt.svg").status_code == 404


@pytest.mark.parametrize(
    ("lang", "heading", "first"),
    [
        ("en", "The form has 6 parts, then a page to check your answers", "(part 1 of 6)"),
        ("ar", "للنموذج 6 أجزاء، تليها صفحة لمراجعة إجاباتك", "(الجزء 1 من 6)"),
    ],
)
def test_the_support_request_says_how_long_it_is(client, lang, heading, first):
    soup = soup_of(client.get(("/en" if lang == "en" else "") + "/forms/assistance/"))
    parts = soup.select_one("nav.form-parts")
    assert parts.select_one("h2").get_text(strip=True) == heading
    anchors = [a["href"] for a in parts.select("a")]
    assert len(anchors) == 6 and all(soup.select_one(a) for a in anchors)  # each part exists
    assert soup.select_one("#section-applicant .part-of").get_text(strip=True) == first


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_volunteers_thanks_names_the_association_too(client, lang):
    url = ("/en" if lang == "en" else "") + "/forms/volunteer/"
    done = post(client, url, volunteer_data())
    assert done.status_code == 302
    soup = soup_of(client.get(done.headers["Location"]))
    issuer = soup.select_one(".receipt__issuer").get_text(" ", strip=True)
    assert facts()["name"][lang] in issuer and facts()["licence"] in issuer
