"""The back office's own layout in real Chromium, at 1366×900, in Arabic and in English: no
public menu or site search, the staff menu with each queue's open requests, at least 15
requests above the fold, axe clean; a committee member lands on the committee's requests."""

import datetime as dt

import pytest

from forms_service import auth, listing, queue
from forms_service import db as dbm
from forms_service.clock import now_utc
from forms_service.lifecycle import Kind
from tests.browser.staff import PASSWORD
from tests.browser.staff import sign_in as staff_sign_in
from tests.browser.words import broken_words
from tests.conftest import ARTIFACTS, LANGS, format_violations

pytestmark = pytest.mark.browser
WIDTH, HEIGHT = 1366, 900
NAMES = (
    "عبدالرحمن محمد عبدالله الغامدي",
    "فاطمة علي",
    "مريم سعيد عمر الزهراني",
    "خديجة أحمد",
    "Sarah Ahmed Al-Harbi",
    "نورة عبدالعزيز بن سليمان القحطاني",
)
CHANNELS = ("website", "interview", "phone", "branch_delegate", "letter")


@pytest.fixture(scope="module")
def database(live_app):
    """Two staff accounts, and 30 support requests of every length of name, some late,
    some moved on."""
    database = dbm.connect(live_app.config["PORTAL_DB"])
    for username, role in (("l-officer", "officer"), ("l-committee", "committee")):
        if not auth.get_user(database, username):
            auth.add_user(database, username, role, PASSWORD, actor="test")
    database.conn.commit()
    with live_app.test_request_context():
        for number in range(30):
            receipt = queue.submit(
                database,
                kind=Kind.ASSISTANCE,
                lang="ar",
                channel=CHANNELS[number % len(CHANNELS)],
                fields={"full_name": NAMES[number % len(NAMES)], "city": "الجموم"},
                at=now_utc() - dt.timedelta(days=30 - number),
            )
            moves = {1: ["verifying"], 2: ["verifying", "committee"]}.get(number % 4, [])
            for state in moves:
                queue.transition(
                    database, receipt.submission_id, state, actor="l-officer", role="officer"
                )
    yield database
    database.close()


def sign_in(browser, base, username, prefix=""):
    return staff_sign_in(browser, base, username, prefix, width=WIDTH, height=HEIGHT)


def above_the_fold(page, selector) -> int:
    """How many of these elements end within the first screen (scrolled to the top)."""
    page.evaluate("window.scrollTo(0, 0)")
    return page.eval_on_selector_all(
        selector,
        f"rows => rows.filter(r => r.getBoundingClientRect().bottom <= {HEIGHT}).length",
    )


@pytest.mark.parametrize("lang", LANGS)
def test_the_back_office_has_a_full_width_layout_of_its_own(
    browser, live_server, database, axe, screenshot, lang
):
    prefix = "/en" if lang == "en" else ""
    page = sign_in(browser, live_server, "l-officer", prefix)
    assert page.url.endswith(f"{prefix}/staff/assistance/")
    html = page.locator("html")
    assert html.get_attribute("lang") == lang
    assert html.get_attribute("dir") == ("rtl" if lang == "ar" else "ltr")

    # Not the public site's shell: no site search, no public menu, no footer.
    for selector in (
        "#portal-search-q",
        "form[role=search][action*='search']",
        ".md-header",
        ".md-sidebar",
        ".md-nav",
        "footer",
        "a[href$='/donate/']",
        "a[href$='/faq/']",
        "a[href$='/policy/']",
    ):
        assert page.locator(selector).count() == 0, selector
    assert page.locator("meta[name=robots][content=noindex]").count() == 1
    sheets = page.eval_on_selector_all("link[rel=stylesheet]", "ls => ls.map(l => l.href)")
    assert all(s.startswith(live_server) for s in sheets), sheets
    assert any(s.endswith("/staff-layout.css") for s in sheets)
    assert page.locator("script:not([src])").count() == 0

    # Its own header: the association, who is signed in, the other language of this page.
    brand = page.locator(".staff-brand")
    assert brand.locator("img[src='/assets/images/logo.svg']").count() == 1
    name = "جمعية رعاية الأيتام بالجموم" if lang == "ar" else "Jamoum Orphan Care Association"
    assert name in brand.inner_text()
    assert "l-officer" in page.inner_text(".staff-bar__me")
    assert page.locator(".staff-bar__me button[type=submit]").count() == 1
    other = "en" if lang == "ar" else "ar"
    switch = page.locator(f"a.staff-lang[hreflang={other}]")
    assert switch.get_attribute("href") == ("/en" if other == "en" else "") + "/staff/assistance/"

    # The staff menu: each queue with its open requests, the pages an officer may open.
    menu = page.locator("nav.staff-bar ul a")
    hrefs = [menu.nth(i).get_attribute("href") for i in range(menu.count())]
    expected = ["assistance/", "volunteer/", "feedback/", "dashboard", "meetings", "entry"]
    assert hrefs == [f"{prefix}/staff/{path}" for path in expected]
    counts = listing.open_counts(database)
    assert counts["assistance"] >= 30
    for kind in ("assistance", "volunteer", "feedback"):
        link = page.locator(f"nav.staff-bar ul a[href='{prefix}/staff/{kind}/']")
        assert link.locator(".staff-count bdi").inner_text() == str(counts[kind])
    current = page.locator("nav.staff-bar a[aria-current=page]")
    assert current.get_attribute("href") == f"{prefix}/staff/assistance/"

    # The whole window's width, and 15 requests or more on the first screen.
    main = page.locator("main#main").bounding_box()
    assert main["width"] >= WIDTH - 20, main
    assert page.locator("table.queue").bounding_box()["width"] >= WIDTH - 100
    assert page.locator("table.queue tbody tr").count() >= 30
    shown = above_the_fold(page, "table.queue tbody tr")
    assert shown >= 15, shown
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    assert broken_words(page, "table.queue") == []  # no word, reference or date broken

    violations = axe(page)
    assert violations == [], format_violations(violations)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"staff-layout-{lang}-first-screen.png"))
    screenshot(page, "list")

    # The other staff pages wear the same layout.
    for path in ("dashboard", "entry", "meetings"):
        page.goto(f"{live_server}{prefix}/staff/{path}")
        assert page.locator(".staff-header nav.staff-bar").count() == 1, path
        assert page.locator("#portal-search-q, .md-sidebar").count() == 0, path
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
        assert broken_words(page, "main table, main dl") == [], path
        violations = axe(page)
        assert violations == [], (path, format_violations(violations))
    screenshot(page, "meetings")
    page.context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_a_committee_member_lands_on_the_requests_waiting_for_the_committee(
    browser, live_server, database, axe, screenshot, lang
):
    prefix = "/en" if lang == "en" else ""
    page = sign_in(browser, live_server, "l-committee", prefix)
    assert page.url.endswith(f"{prefix}/staff/assistance/?state=committee")
    tab = page.locator(".state-tabs a[aria-current]")
    assert "state=committee" in tab.get_attribute("href")
    waiting = database.execute(
        "SELECT count(*) FROM submissions WHERE kind = 'assistance' AND state = 'committee'"
    ).fetchone()[0]
    assert waiting >= 7
    assert page.locator("table.queue tbody tr").count() == min(waiting, listing.PAGE_SIZE)
    assert above_the_fold(page, "table.queue tbody tr") >= min(waiting, 15)
    violations = axe(page)
    assert violations == [], format_violations(violations)
    screenshot(page, "committee")
    page.context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_the_sign_in_page_has_the_layout_without_the_menu(browser, live_server, axe, lang):
    prefix = "/en" if lang == "en" else ""
    context = browser.new_context(bypass_csp=True, viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    page.goto(f"{live_server}{prefix}/staff/login")
    assert page.locator(".staff-brand").count() == 1
    assert page.locator("nav.staff-bar, .staff-bar__me, #portal-search-q").count() == 0
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.locator("a.skip-link").bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.id === 'main'")
    violations = axe(page)
    assert violations == [], format_violations(violations)
    context.close()
