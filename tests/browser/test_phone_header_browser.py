"""Finding the way on a phone: the association's logo and name in the first screen of every
page, and the menu leads to the support request and the status check."""

import pytest

from tests.browser.test_forms_browser import PHONE
from tests.conftest import LANGS

pytestmark = pytest.mark.browser
NAMES = {"ar": "جمعية رعاية الأيتام بالجموم", "en": "Jamoum Orphan Care Association"}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["", "policy/", "donate/"])
def test_the_logo_name_and_forms_on_a_phone(phone, live_server, screenshot, lang, path):
    prefix = "/en/" if lang == "en" else "/"
    phone.goto(f"{live_server}{prefix}{path}")
    logo = phone.locator(".md-header .md-logo")
    assert logo.is_visible()
    name = phone.locator(".md-header__topic").first
    assert name.is_visible() and name.inner_text().strip() == NAMES[lang]
    box = name.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    if not path:
        screenshot(phone, "header")
    # Scrolled down, the name stays (Material would fade it for the page's title).
    phone.mouse.wheel(0, 1500)
    phone.wait_for_timeout(400)
    assert float(name.evaluate("e => getComputedStyle(e).opacity")) == 1.0
    phone.evaluate("window.scrollTo(0, 0)")
    phone.click(".md-header label[for=__drawer]")
    links = phone.locator(".md-nav--primary a.md-nav__link")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    start = "/en" if lang == "en" else ""
    assert f"{start}/forms/assistance/" in hrefs and f"{start}/forms/status/" in hrefs
