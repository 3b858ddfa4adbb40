"""A research committee meeting in real Chromium, in Arabic and in English: open it, build
an agenda of three cases, accept one, reject one with a reason, defer one, close it; the
minutes say exactly that and refuse changes; axe on every meeting page."""

import re

import pytest
from flask_babel import force_locale

from forms_service import auth, queue
from forms_service import db as dbm
from forms_service.lifecycle import STAFF_LABELS, Kind, State
from tests.browser.staff import PASSWORD, sign_in
from tests.conftest import LANGS, format_violations

pytestmark = pytest.mark.browser
REASON = {"ar": "دخل الأسرة يتجاوز حد الاستحقاق", "en": "The family's income is above the limit"}


@pytest.fixture(scope="module")
def database(live_app):
    database = dbm.connect(live_app.config["PORTAL_DB"])
    for username, role in (("m-committee", "committee"), ("m-officer", "officer")):
        if not auth.get_user(database, username):
            auth.add_user(database, username, role, PASSWORD, actor="test")
    database.conn.commit()
    yield database
    database.close()


def with_committee(app, database, name: str) -> int:
    """A support request sent to the research committee, as the officer would."""
    with app.test_request_context():
        receipt = queue.submit(
            database,
            kind=Kind.ASSISTANCE,
            lang="ar",
            fields={"full_name": name, "city": "الجموم", "family_size": 4},
            orphans=[
                {
                    "name": "سارة محمد",
                    "birth_date": "2015-03-27",
                    "gender": "female",
                    "school_stage": "primary",
                }
            ],
        )
        for state in ("verifying", "committee"):
            queue.transition(
                database, receipt.submission_id, state, actor="m-officer", role="officer"
            )
    return receipt.submission_id


def clean(page, axe, lang):
    assert page.evaluate("document.documentElement.lang") == lang
    violations = axe(page)
    assert violations == [], format_violations(violations)


def state_of(database, case_id) -> str:
    return database.execute("SELECT state FROM submissions WHERE id = ?", [case_id]).fetchone()[0]


@pytest.mark.parametrize("lang", LANGS)
def test_a_meeting_from_agenda_to_signed_minutes(
    browser, live_server, live_app, database, axe, screenshot, lang
):
    prefix = "/en" if lang == "en" else ""
    names = [f"{n} محمد أحمد {lang}" for n in ("فاطمة", "مريم", "خديجة")]
    cases = [with_committee(live_app, database, name) for name in names]
    references = [queue.get(database, c)["reference"] for c in cases]
    grouped = [f"{r[:3]}-{r[3:6]}-{r[6:]}" for r in references]
    page = sign_in(browser, live_server, "m-committee", prefix)

    # Open a meeting: today's date is filled in; the member present and two without account.
    page.goto(f"{live_server}{prefix}/staff/meetings")
    clean(page, axe, lang)
    page.check("input[name=members][value=m-committee]")
    page.fill("#names", "أحمد علي الغامدي\nسعيد عمر الزهراني")
    screenshot(page, "meetings-list")
    page.click("form[action$='/meetings/new'] button[type=submit]")
    page.wait_for_url(re.compile(r"/staff/meeting/[0-9]+$"))
    meeting_url = page.url
    meeting_id = int(meeting_url.rsplit("/", 1)[1])
    clean(page, axe, lang)

    # The agenda: three cases, then the last moved up one place.
    for case_id in cases:
        page.check(f"input[name=cases][value='{case_id}']")
    page.click("form[action$='/agenda'] button[type=submit]")
    page.wait_for_selector(f"#item-{cases[2]}")
    page.click(f"#item-{cases[2]} form[action$='/up'] button")
    page.wait_for_selector(f"#item-{cases[2]}")
    order = page.eval_on_selector_all("ol.agenda > li", "items => items.map(i => +i.dataset.case)")
    assert order == [cases[0], cases[2], cases[1]]
    clean(page, axe, lang)
    screenshot(page, "agenda")

    # Before the meeting: the pack, each case's sheet, and the agenda as CSV.
    page.goto(f"{meeting_url}/pack")
    assert page.locator("section.pack-case").count() == 3
    assert all(page.locator(f"text={r}").count() for r in grouped)
    clean(page, axe, lang)
    screenshot(page, "pack")
    agenda_csv = page.request.get(f"{meeting_url}/agenda.csv")
    assert agenda_csv.status == 200 and agenda_csv.text().startswith("\ufeff")
    assert [r in agenda_csv.text() for r in grouped] == [True] * 3
    page.goto(meeting_url)

    # The meeting: accept the first (confirmed on its own page); reject the second, first
    # without a reason (refused).
    page.click(f"#item-{cases[0]} button[value=accepted]")
    page.wait_for_selector(".confirm-move")
    assert state_of(database, cases[0]) == "committee"
    clean(page, axe, lang)
    screenshot(page, "confirm-accept")
    page.click(".confirm-move button[type=submit]")
    page.wait_for_selector(f"#item-{cases[0]}[data-decision=accepted]")
    page.click(f"#item-{cases[2]} button[value=rejected]")
    page.wait_for_selector(".error-summary")
    assert page.locator(f".error-summary a[href='#case-{cases[2]}-reason']").count() == 1
    assert state_of(database, cases[2]) == "committee"
    clean(page, axe, lang)
    screenshot(page, "reject-needs-a-reason")
    page.fill(f"#case-{cases[2]}-reason", REASON[lang])
    page.click(f"#item-{cases[2]} button[value=rejected]")
    page.wait_for_selector(".confirm-move")
    assert REASON[lang] in page.locator(".confirm-move .panel").inner_text()
    page.click(".confirm-move button[type=submit]")
    page.wait_for_selector(f"#item-{cases[2]}[data-decision=rejected]")
    page.click(f"#item-{cases[1]} button[value=deferred]")
    page.wait_for_selector(f"#item-{cases[1]}[data-decision=deferred]")
    clean(page, axe, lang)
    screenshot(page, "decided")
    assert [state_of(database, c) for c in cases] == ["accepted", "committee", "rejected"]

    # Closing: the minutes.
    page.click("form[action$='/close'] button[type=submit]")
    page.wait_for_url(re.compile(rf"/staff/meeting/{meeting_id}/minutes$"))
    clean(page, axe, lang)
    rows = page.locator("table.minutes-decisions tbody tr")
    assert rows.count() == 3
    assert [rows.nth(n).get_attribute("data-decision") for n in range(3)] == [
        "accepted",
        "rejected",
        "deferred",
    ]
    assert [rows.nth(n).locator("th").inner_text().strip() for n in range(3)] == [
        grouped[0],
        grouped[2],
        grouped[1],
    ]
    assert REASON[lang] in rows.nth(1).inner_text()
    totals = {
        cell.get_attribute("data-total"): cell.inner_text().strip()
        for cell in page.locator("[data-total]").all()
    }
    assert totals == {"accepted": "1", "rejected": "1", "deferred": "1", "total": "3"}
    signatures = page.locator("table.signatures tbody th").all_inner_texts()
    assert signatures == ["m-committee", "أحمد علي الغامدي", "سعيد عمر الزهراني"]
    assert not any(name in page.inner_text("main") for name in names)  # references only
    screenshot(page, "minutes")
    page.emulate_media(media="print")
    screenshot(page, "minutes-print")
    page.emulate_media(media="screen")

    # The minutes refuse changes: no form but the correction; a forged decision is 409.
    assert page.locator("form[action*='/decide/']").count() == 0
    token = page.get_attribute("form[action$='/correction'] input[name=csrf_token]", "value")
    forged = page.request.post(
        f"{meeting_url}/decide/{cases[1]}",
        form={
            f"case-{cases[1]}-csrf_token": token,
            f"case-{cases[1]}-decision": "accepted",
        },
    )
    assert forged.status == 409
    assert state_of(database, cases[1]) == "committee"
    page.goto(meeting_url)  # the meeting's own page now shows its minutes
    assert page.url.endswith("/minutes")

    # A correction is recorded under the minutes; the minutes stay as they were.
    page.fill(
        "#text", "سقط من المحضر حضور الأمين" if lang == "ar" else "The secretary was present too"
    )
    page.click("form[action$='/correction'] button[type=submit]")
    page.wait_for_selector(".minutes__corrections .timeline li")
    assert page.locator("table.minutes-decisions tbody tr").count() == 3
    clean(page, axe, lang)
    screenshot(page, "minutes-corrected")

    # The deferred case is still with the committee.
    page.goto(f"{live_server}{prefix}/staff/case/{cases[1]}")
    with live_app.test_request_context(), force_locale(lang):
        with_committee_words = str(STAFF_LABELS[State.COMMITTEE])
    assert page.inner_text(".case__head .facts strong") == with_committee_words
    page.context.close()

    # Everyone else reads the minutes, and can change nothing.
    officer = sign_in(browser, live_server, "m-officer", prefix)
    officer.goto(f"{live_server}{prefix}/staff/meetings")
    clean(officer, axe, lang)
    officer.click(f"a[href$='/meeting/{meeting_id}/minutes']")
    officer.wait_for_selector("table.minutes-decisions")
    assert officer.locator("form[action$='/correction']").count() == 0
    clean(officer, axe, lang)
    screenshot(officer, "minutes-officer")
    assert officer.goto(meeting_url).status == 403
    officer.goto(f"{live_server}{prefix}/staff/dashboard")
    officer.wait_for_selector("section[aria-labelledby=meetings-title]")
    # Every word of every chart inside its chart (a turned date once ran off the left edge).
    outside = officer.eval_on_selector_all(
        "svg.chart",
        """charts => charts.flatMap((chart) => {
            const box = chart.getBoundingClientRect();
            return [...chart.querySelectorAll("text")].filter((text) => {
                const r = text.getBoundingClientRect();
                return r.left < box.left - 0.5 || r.right > box.right + 0.5;
            }).map((text) => text.textContent);
        })""",
    )
    assert officer.locator("svg.chart").count() >= 3 and outside == []
    clean(officer, axe, lang)
    screenshot(officer, "dashboard")
    officer.context.close()
