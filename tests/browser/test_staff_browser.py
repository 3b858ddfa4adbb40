"""The back office in real Chromium: one request's whole life, axe on every staff page."""

import re

import pytest

from forms_service import auth
from forms_service import db as dbm
from tests.browser import staff as staff_browser
from tests.browser.staff import PASSWORD
from tests.conftest import LANGS, format_violations
from tests.forms.helpers import PDF, PNG

pytestmark = pytest.mark.browser
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(scope="module")
def staff(live_app):
    database = dbm.connect(live_app.config["PORTAL_DB"])
    for role in ("officer", "researcher", "committee", "admin"):
        if not auth.get_user(database, f"b-{role}"):
            auth.add_user(database, f"b-{role}", role, PASSWORD, actor="test")
    database.execute(
        "UPDATE staff SET totp_secret = ?, totp_last_step = NULL WHERE username = 'b-admin'",
        [SECRET],
    )
    database.conn.commit()
    yield database
    database.close()


def sign_in(browser, base, username, prefix="", database=None):
    """The shared sign-in; an administrator's code works once, so `database` lets this
    test's administrator sign in again."""
    if database is not None:
        database.execute("UPDATE staff SET totp_last_step = NULL WHERE username = ?", [username])
        database.conn.commit()
    secret = SECRET if username.endswith("admin") else None
    return staff_browser.sign_in(browser, base, username, prefix, totp_secret=secret)


def no_violations(page, axe):
    violations = axe(page)
    assert violations == [], format_violations(violations)


def applicant_request(browser, base, tmp_path):
    """Submit a support request through the public form; return its reference."""
    context = browser.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    files = {}
    for name, content in (("id.pdf", PDF), ("death.pdf", PDF), ("family.png", PNG)):
        (tmp_path / name).write_bytes(content)
        files[name] = str(tmp_path / name)
    page.goto(f"{base}/forms/assistance/")
    from tests.browser.test_forms_browser import fill_assistance

    fill_assistance(page, files)
    page.click("button.md-button--primary")
    page.check("#attestation")
    page.check("#consent")
    page.click("button.md-button--primary")
    reference = page.inner_text(".reference")
    return context, page, reference


def status_text(page, base, reference):
    page.goto(f"{base}/forms/status/")
    page.fill("#reference", reference)
    page.fill("#mobile", "0512345678")
    page.click("button.md-button--primary")
    return page.inner_text(".status-result")


def test_a_request_from_received_to_served_in_arabic(
    browser, live_server, staff, tmp_path, screenshot, axe
):
    applicant_context, applicant, reference = applicant_request(browser, live_server, tmp_path)
    officer = sign_in(browser, live_server, "b-officer")
    researcher = sign_in(browser, live_server, "b-researcher")
    committee = sign_in(browser, live_server, "b-committee")

    def open_case(page):
        page.goto(f"{live_server}/staff/assistance/")
        page.fill("#q", reference)
        page.click("form.filters button.md-button--primary")
        page.wait_for_selector(".case__head")  # a reference opens its case at once
        assert reference in page.inner_text("h1")

    def move(page, target, reason=""):
        open_case(page)
        if reason:
            page.fill("#reason", reason)
        page.click(f"button[name=target][value={target}]")
        if target in ("accepted", "rejected"):  # confirmed on a page of its own
            page.wait_for_selector("input[name=confirmed]", state="attached")
            page.click(".confirm-move button[type=submit]")
        page.wait_for_selector(".notice--success")

    move(officer, "verifying")
    assert "قيد المراجعة" in status_text(applicant, live_server, reference)
    move(officer, "needs_info", "يرجى إرسال عقد الإيجار")
    seen = status_text(applicant, live_server, reference)
    assert "مطلوب معلومات إضافية" in seen and "عقد الإيجار" in seen
    move(officer, "verifying")
    move(officer, "social_research")
    move(researcher, "committee")
    assert "لجنة البحث" in status_text(applicant, live_server, reference)
    open_case(committee)
    # The decision and the documents are on the first screen (1280×900), each document
    # previewed in the page: the photo, and each PDF by its first page.
    committee.evaluate("window.scrollTo(0, 0)")
    for selector in ("button[name=target][value=accepted]", "#documents-title"):
        box = committee.locator(selector).bounding_box()
        assert box is not None and box["y"] + box["height"] <= 900, selector
    previews = committee.locator(".document__preview img")
    assert previews.count() == 3
    for i in range(3):
        previews.nth(i).scroll_into_view_if_needed()
        committee.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=previews.nth(i).element_handle()
        )
    committee.evaluate("window.scrollTo(0, 0)")
    no_violations(committee, axe)
    screenshot(committee, "committee-case")
    move(committee, "accepted")
    move(officer, "registered")
    move(officer, "served")
    assert "تم تقديم الخدمة" in status_text(applicant, live_server, reference)
    open_case(officer)
    history = officer.inner_text(".timeline")
    assert (
        history.count("b-officer") >= 6 and "b-researcher" in history and "b-committee" in history
    )
    screenshot(officer, "served-case")
    applicant_context.close()


STAFF_PAGES = [
    "/staff/assistance/",
    "/staff/volunteer/",
    "/staff/feedback/",
    "/staff/dashboard",
    "/staff/entry",
    "/staff/users",
    "/staff/password",
]


@pytest.mark.parametrize("lang", LANGS)
def test_axe_on_every_staff_page(browser, live_server, staff, axe, lang, screenshot):
    prefix = "/en" if lang == "en" else ""
    anonymous = browser.new_context(bypass_csp=True).new_page()
    anonymous.goto(f"{live_server}{prefix}/staff/login")
    no_violations(anonymous, axe)
    anonymous.click("button.md-button--primary")
    anonymous.wait_for_selector(".error-summary")
    no_violations(anonymous, axe)
    page = sign_in(browser, live_server, "b-admin", prefix, database=staff)
    for path in STAFF_PAGES:
        page.goto(f"{live_server}{prefix}{path}")
        assert page.evaluate("document.documentElement.lang") == lang
        no_violations(page, axe)
    screenshot(page, "password")
    page.goto(f"{live_server}{prefix}/staff/assistance/")
    first = page.locator("table.queue a").first
    if first.count():
        first.click()
        page.wait_for_selector(".case__head")
        no_violations(page, axe)
        screenshot(page, "case")
        page.click("a[href$='/print']")
        no_violations(page, axe)


@pytest.mark.parametrize("lang", LANGS)
def test_an_administrator_cuts_off_a_leaver_and_changes_a_role(
    browser, live_server, staff, axe, lang, screenshot
):
    """Security review, finding 5: done from the users page, as an administrator would."""
    prefix = "/en" if lang == "en" else ""
    leaver, mover = f"b-leaver-{lang}", f"b-mover-{lang}"
    for name in (leaver, mover):
        if not auth.get_user(staff, name):
            auth.add_user(staff, name, "officer", PASSWORD, actor="test")
    leavers_page = sign_in(browser, live_server, leaver, prefix)
    page = sign_in(browser, live_server, "b-admin", prefix, database=staff)
    page.goto(f"{live_server}{prefix}/staff/users")
    no_violations(page, axe)
    page.uncheck(f"#{leaver}-active")
    page.click(f"form[action$='/users/{leaver}'] button[type=submit]")
    page.wait_for_selector(".notice--success")
    expected = "updated" if lang == "en" else "حُدّثت"
    assert expected in page.inner_text(".notice--success")
    page.select_option(f"#{mover}-role", "researcher")
    page.click(f"form[action$='/users/{mover}'] button[type=submit]")
    page.wait_for_selector(".notice--success")
    screenshot(page, "users")
    no_violations(page, axe)
    rows = {
        row[0]: (row[1], row[2])
        for row in staff.execute(
            "SELECT username, role, active FROM staff WHERE username IN (?, ?)", [leaver, mover]
        )
    }
    assert rows == {leaver: ("officer", 0), mover: ("researcher", 1)}
    assert not page.is_checked(f"#{leaver}-active")
    # The leaver's open session is over.
    leavers_page.goto(f"{live_server}{prefix}/staff/assistance/")
    assert re.search(r"/staff/login", leavers_page.url)
