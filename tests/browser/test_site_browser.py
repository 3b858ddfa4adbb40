"""The public site in real Chromium, in Arabic and English."""

import pytest

from tests.conftest import LANGS, format_violations, page_slugs, url_path

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", LANGS)
def test_home_renders_in_its_direction(page, live_server, lang, screenshot):
    page.goto(live_server + url_path("index", lang))
    direction = page.evaluate("getComputedStyle(document.body).direction")
    assert direction == ("rtl" if lang == "ar" else "ltr")
    assert page.evaluate("document.documentElement.lang") == lang
    # The self-hosted font is the one in use.
    page.wait_for_function("document.fonts.status === 'loaded'")
    family, sample = ("Plex Arabic", "جمعية") if lang == "ar" else ("Plex Latin", "Association")
    assert page.evaluate(f"document.fonts.check('16px \"{family}\"', '{sample}')")
    assert page.evaluate(
        "[...document.fonts].some(f => f.family.includes('Plex') && f.status === 'loaded')"
    )
    screenshot(page, "home")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("slug", ["index", "policy", "donate"])
def test_language_switch_lands_on_the_same_page(page, live_server, lang, slug):
    other = "en" if lang == "ar" else "ar"
    page.goto(live_server + url_path(slug, lang))
    page.click(f"a.portal-lang[hreflang={other}]")
    page.wait_for_load_state()
    assert page.url == live_server + url_path(slug, other)
    assert page.evaluate("document.documentElement.lang") == other


def _search(page, live_server, lang, term):
    page.goto(live_server + url_path("index", lang))
    page.fill("#portal-search-q", term)
    page.press("#portal-search-q", "Enter")
    page.wait_for_selector(".pagefind-ui__result-link", timeout=10_000)
    return [a.get_attribute("href") for a in page.query_selector_all(".pagefind-ui__result-link")]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("خدمة", "/services/"),
        ("الخدمات", "/services/"),
        ("ايتام", "/"),
        ("الأيتام", "/"),
        ("الزكاة", "/donate/"),
        ("زكاة", "/donate/"),
    ],
)
def test_arabic_search_finds_arabic_pages(page, live_server, term, expected):
    results = _search(page, live_server, "ar", term)
    assert results, term
    assert all(not r.startswith("/en/") for r in results), results
    assert expected in results, results


def test_english_search_stays_english(page, live_server):
    results = _search(page, live_server, "en", "zakat")
    assert "/en/donate/" in results
    assert all(r.startswith("/en/") for r in results), results


@pytest.mark.parametrize("lang", LANGS)
def test_copy_button_puts_the_exact_number_on_the_clipboard(browser, live_server, lang):
    context = browser.new_context(
        bypass_csp=True, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.goto(live_server + url_path("donate", lang))
    button = page.locator("#account-zakat").locator("xpath=..").locator("button.copy-button")
    button.click()
    status = page.locator("#account-zakat").locator("xpath=..").locator(".copy-status")
    expected_word = "تم" if lang == "ar" else "copied"
    status.filter(has_text=expected_word).wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == "32400 0010 0060 8043 1053"
    context.close()


@pytest.mark.parametrize("lang", LANGS)
def test_policy_fits_a_320px_phone(browser, live_server, lang, screenshot):
    context = browser.new_context(bypass_csp=True, viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(live_server + url_path("policy", lang))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320
    screenshot(page, "policy-320")
    context.close()


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("slug", page_slugs())
def test_axe_finds_no_violations(page, live_server, axe, lang, slug, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(live_server + url_path(slug, lang))
    if slug == "search":
        page.fill(".pagefind-ui__search-input", "الجمعية" if lang == "ar" else "association")
        page.wait_for_selector(".pagefind-ui__result-link")
    violations = axe(page)
    assert violations == [], format_violations(violations)


@pytest.mark.parametrize(
    "path", ["/", "/en/policy/", "/search/?q=زكاة", "/forms/assistance/", "/en/forms/feedback/"]
)
def test_no_content_security_policy_violations(browser, live_server, path):
    page = browser.new_context().new_page()  # the real policy, not bypassed
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(live_server + path)
    page.wait_for_load_state("networkidle")
    if path.startswith("/search/"):
        page.wait_for_selector(".pagefind-ui__result-link")
    assert problems == []
