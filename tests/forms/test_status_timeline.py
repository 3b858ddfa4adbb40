"""The status page tells the whole story: each step with the date it was reached, the current
one marked, what happens next, the committee's earliest date only while it is waiting, and a
message only while it is current. Never a state's internal name, never a staff note."""

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from forms_service import db as dbm
from forms_service import queue
from forms_service.lifecycle import State
from tests.forms.helpers import get_form

S = State
T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
MOBILE = "+966512345678"
INTERNAL = ("needs_info", "social_research", "verifying", "registered", "served")


@pytest.fixture
def db(app):
    database = dbm.connect(app.config["PORTAL_DB"])
    yield database
    database.close()


def case(app, db, lang="ar", *moves) -> str:
    """A request and its moves, a day apart from T0; returns the reference."""
    with app.app_context():
        receipt = queue.submit(
            db,
            kind="assistance",
            lang=lang,
            fields={"full_name": "فاطمة محمد الزهراني", "mobile": MOBILE},
            at=T0,
            answer_days=14,
        )
        for day, (target, reason) in enumerate(moves, start=1):
            queue.transition(
                db, receipt.submission_id, target, actor="officer", role="admin",
                reason=reason, at=T0 + dt.timedelta(days=day),
            )  # fmt: skip
    return receipt.reference


def status_page(app, reference, lang="ar"):
    client = app.test_client()
    url = ("/en" if lang == "en" else "") + "/forms/status/"
    fields = get_form(client, url)
    response = client.post(url, data={**fields, "reference": reference, "mobile": "0512345678"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    return BeautifulSoup(page.get_data(as_text=True), "html.parser")


def steps(soup) -> list[tuple[str, str, bool]]:
    return [
        (
            li.select_one(".steps__label").get_text(strip=True),
            li.select_one(".steps__date").get_text(strip=True).split(" (")[0],  # no Hijri
            li.get("aria-current") == "step",
        )
        for li in soup.select("ol.steps li")
    ]


def test_a_served_request_shows_every_step_and_no_old_message(app, db):
    reference = case(
        app, db, "en",
        (S.VERIFYING, ""), (S.NEEDS_INFO, "Please send the lease."), (S.VERIFYING, ""),
        (S.COMMITTEE, ""), (S.ACCEPTED, ""), (S.REGISTERED, ""), (S.SERVED, ""),
    )  # fmt: skip
    soup = status_page(app, reference, "en")
    assert steps(soup) == [
        ("Received", "1 November 2026", False),
        ("Being reviewed", "2 November 2026", False),
        ("With the research committee", "5 November 2026", False),
        ("Accepted", "6 November 2026", False),
        ("Registration", "7 November 2026", False),
        ("Service provided", "8 November 2026", True),
    ]
    text = soup.get_text(" ", strip=True)
    assert "Please send the lease." not in text
    assert "Earliest date for the committee" not in text
    assert "satisfaction survey" in text
    assert soup.select_one(f'a[href="/en/forms/feedback/?reference={reference}"]')


def test_with_the_committee_the_earliest_answer_date_and_the_steps_to_come(app, db):
    reference = case(app, db, "ar", (S.VERIFYING, ""), (S.COMMITTEE, ""))
    soup = status_page(app, reference)
    found = steps(soup)
    assert [label for label, _, _ in found] == [
        "تم الاستلام",
        "قيد المراجعة",
        "لدى لجنة البحث",
        "قرار اللجنة",
        "التسجيل",
        "تم تقديم الخدمة",
    ]
    assert [current for _, _, current in found] == [False, False, True, False, False, False]
    assert [date for _, date, _ in found][3:] == ["لم تصل بعد"] * 3
    text = soup.get_text(" ", strip=True)
    assert "أقرب موعد لرد اللجنة" in text
    assert "تدرس لجنة البحث طلبك" in text


def test_a_rejected_request_ends_at_the_decision(app, db):
    reference = case(
        app, db, "en", (S.VERIFYING, ""), (S.COMMITTEE, ""), (S.REJECTED, "Income above the limit.")
    )
    soup = status_page(app, reference, "en")
    assert [(label, current) for label, _, current in steps(soup)] == [
        ("Received", False),
        ("Being reviewed", False),
        ("With the research committee", False),
        ("Not accepted", True),
    ]
    assert "Income above the limit." not in soup.get_text()  # the committee's reason is staff's


def test_a_withdrawn_request_shows_where_it_closed(app, db):
    reference = case(app, db, "en", (S.VERIFYING, ""), (S.WITHDRAWN, "The applicant asked."))
    soup = status_page(app, reference, "en")
    assert [(label, current) for label, _, current in steps(soup)] == [
        ("Received", False),
        ("Being reviewed", False),
        ("Withdrawn", True),
    ]
    assert "This request is closed." in soup.get_text()


def test_needs_info_shows_the_message_while_it_is_current(app, db):
    reference = case(app, db, "en", (S.VERIFYING, ""), (S.NEEDS_INFO, "Please send the lease."))
    soup = status_page(app, reference, "en")
    assert "Please send the lease." in soup.select_one(".applicant-message").get_text()
    assert [current for *_, current in steps(soup)] == [False, True, False, False, False, False]


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_never_an_internal_name_or_a_staff_note(app, db, lang):
    reference = case(app, db, lang, (S.VERIFYING, ""), (S.NEEDS_INFO, "x"), (S.VERIFYING, ""))
    with app.app_context():
        row = queue.by_reference(db, reference)
        queue.add_note(db, row["id"], "ملاحظة داخلية سرية", actor="officer")
    soup = status_page(app, reference, lang)
    main = soup.select_one("main") or soup
    text = main.get_text(" ", strip=True)
    assert "ملاحظة داخلية سرية" not in text
    for name in INTERNAL:
        assert name not in text
