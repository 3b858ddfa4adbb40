"""The public forms in real Chromium on a phone-sized screen, in Arabic and English."""

import re

import pytest

from tests.browser.words import broken_words
from tests.conftest import LANGS, format_violations
from tests.forms.helpers import PDF, PNG, prefix

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        bypass_csp=True, viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def files(tmp_path):
    paths = {}
    for name, content in (("id.pdf", PDF), ("death.pdf", PDF), ("family.png", PNG)):
        path = tmp_path / name
        path.write_bytes(content)
        paths[name] = str(path)
    return paths


def no_axe_violations(page, axe):
    violations = axe(page)
    assert violations == [], format_violations(violations)


def fill_assistance(page, files):
    page.fill("#full_name", "فاطمة محمد أحمد الزهراني")
    page.fill("#national_id", "١٠٠٠٠٠٠٠٠٨")
    page.fill("#birth_date", "1985-04-02")
    page.check("#nationality-0")
    page.fill("#mobile", "٠٥١ ٢٣٤ ٥٦٧٨")
    page.fill("#city", "الجموم")
    page.fill("#district", "حي النزهة")
    page.check("#marital_status-0")
    page.check("#relation_to_orphans-0")
    page.fill("#family_size", "٣")
    page.fill("#orphans-0-name", "سارة محمد أحمد")
    page.fill("#orphans-0-birth_date", "2015-03-27")
    page.check("#orphans-0-gender-0")
    page.check("#orphans-0-school_stage-2")
    page.fill("#monthly_income", "٢٥٠٠")
    page.check("#income_sources-0")
    page.check("#housing-1")
    page.check("#support_type-0")
    page.fill("#description", "نحتاج دعمًا لتعليم الأطفال.")
    page.set_input_files("#documents-id_card", files["id.pdf"])
    page.set_input_files("#documents-death_certificate", files["death.pdf"])
    page.set_input_files("#documents-family_record", files["family.png"])


@pytest.mark.parametrize("lang", LANGS)
def test_support_request_from_form_to_status(phone, live_server, axe, lang, files, screenshot):
    page = phone
    page.goto(f"{live_server}{prefix(lang)}/forms/assistance/")
    no_axe_violations(page, axe)
    screenshot(page, "empty")
    # Add a second child, then remove it again: the page works without JavaScript.
    fill_assistance(page, files)
    page.click("button[value=add]")
    assert page.locator("fieldset.repeat").count() == 2
    # The page comes back at the new child: its first field has the focus, on the screen.
    page.wait_for_function("document.activeElement.id === 'orphans-1-name'")
    box = page.locator("#orphans-1-name").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    page.click("button[value='remove-orphans-1']")
    assert page.locator("fieldset.repeat").count() == 1
    assert page.input_value("#full_name") == "فاطمة محمد أحمد الزهراني"
    # Files were kept on the server: the page names them.
    assert page.locator(".uploaded").count() == 3
    page.click("button.md-button--primary")
    page.wait_for_url(re.compile(r"/forms/assistance/check$"))
    no_axe_violations(page, axe)
    screenshot(page, "check")
    # No word, reference or date broken in the middle on a phone (tables scroll or stack).
    assert page.locator("main table td, main dd").count() > 10
    assert broken_words(page, "main table, main dl") == []
    page.check("#attestation")
    page.check("#consent")
    page.click("button.md-button--primary")
    page.wait_for_url(re.compile(r"/forms/assistance/done$"))
    no_axe_violations(page, axe)
    screenshot(page, "confirmation")
    assert broken_words(page, "main .reference, main dl") == []
    reference = page.inner_text(".reference")
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{2}", reference)
    # Look the request up, typing the mobile in Arabic-Indic digits.
    page.click(f".receipt a[href^='{prefix(lang)}/forms/status/?reference=']")
    assert page.input_value("#reference") == reference  # the link carries it
    page.fill("#reference", reference.lower())
    page.fill("#mobile", "٠٥١٢٣٤٥٦٧٨")
    page.click("button.md-button--primary")
    page.wait_for_selector(".status-result")
    no_axe_violations(page, axe)
    screenshot(page, "status")
    assert reference in page.inner_text(".status-result")


@pytest.mark.parametrize("lang", LANGS)
def test_error_summary_links_to_each_field(phone, live_server, axe, lang, screenshot):
    page = phone
    page.goto(f"{live_server}{prefix(lang)}/forms/volunteer/")
    page.fill("#full_name", "خالد عبدالله")
    page.fill("#mobile", "٠١١٢٣٤٥٦٧٨")
    page.click("button.md-button--primary")
    summary = page.locator(".error-summary")
    summary.wait_for()
    assert page.title().startswith("خطأ:" if lang == "ar" else "Error:")
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    no_axe_violations(page, axe)
    screenshot(page, "errors")
    assert page.input_value("#full_name") == "خالد عبدالله"  # kept
    links = summary.locator("a")
    assert links.count() >= 8
    links.first.click()
    focused = page.evaluate("document.activeElement.id")
    assert focused == links.first.get_attribute("href").lstrip("#")
    mobile_link = summary.locator("a[href='#mobile']")
    mobile_link.click()
    assert page.evaluate("document.activeElement.id") == "mobile"
    assert page.get_attribute("#mobile", "aria-invalid") == "true"
    assert "mobile-error" in page.get_attribute("#mobile", "aria-describedby")


def tab_to(page, element_id: str, limit: int = 40):
    """Press Tab (only) until the element has focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("document.activeElement.id") == element_id:
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached #{element_id}")


@pytest.mark.parametrize("lang", LANGS)
def test_volunteer_form_with_the_keyboard_only(phone, live_server, lang, screenshot):
    page = phone
    page.goto(f"{live_server}{prefix(lang)}/forms/volunteer/")
    keys = page.keyboard
    tab_to(page, "full_name")
    keys.type("خالد عبدالله")
    tab_to(page, "gender-0")
    keys.press("Space")
    tab_to(page, "birth_date")
    keys.type("01151995")  # Chromium's date field: month, day, year segments
    tab_to(page, "mobile")
    keys.type("٠٥٠٠٠٠٠٠٠٠")
    tab_to(page, "email")
    keys.type("khalid@example.com")
    tab_to(page, "city")
    keys.type("الجموم")
    tab_to(page, "education-0")
    keys.press("Space")
    tab_to(page, "skills-0")
    keys.press("Space")
    tab_to(page, "availability-days-0")
    keys.press("Space")
    tab_to(page, "availability-times-0")
    keys.press("Space")
    tab_to(page, "hours_per_week")
    keys.type("٤")
    tab_to(page, "consent")
    keys.press("Space")
    tab_to(page, "")  # on to the send button (it has no id)
    assert page.evaluate("document.activeElement.type") == "submit"
    keys.press("Enter")
    page.wait_for_url(re.compile(r"/forms/volunteer/done$"))
    screenshot(page, "done")
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{2}", page.inner_text(".reference"))


@pytest.mark.parametrize("lang", LANGS)
def test_satisfaction_survey(phone, live_server, axe, lang, screenshot):
    page = phone
    page.goto(f"{live_server}{prefix(lang)}/forms/feedback/")
    no_axe_violations(page, axe)
    page.check("#channel-6")
    for name, value in (("courtesy", 4), ("clarity", 3), ("speed", 2), ("overall", 4)):
        page.check(f"#rating_{name}-{value}")
    page.fill("#comments", "شكرًا لكم")
    page.click("button.md-button--primary")
    page.wait_for_url(re.compile(r"/forms/feedback/done$"))
    no_axe_violations(page, axe)
    screenshot(page, "thanks")


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("form", ["volunteer", "feedback", "status"])
def test_axe_on_empty_and_error_states(phone, live_server, axe, lang, form):
    page = phone
    page.goto(f"{live_server}{prefix(lang)}/forms/{form}/")
    no_axe_violations(page, axe)
    page.click("button.md-button--primary")
    page.locator(".error-summary").wait_for()
    no_axe_violations(page, axe)


@pytest.mark.parametrize("lang", LANGS)
def test_axe_on_support_request_errors(phone, live_server, axe, lang, screenshot):
    page = phone
    page.goto(f"{live_server}{prefix(lang)}/forms/assistance/")
    page.click("button.md-button--primary")
    page.locator(".error-summary").wait_for()
    no_axe_violations(page, axe)
    screenshot(page, "errors")


@pytest.mark.parametrize("lang", LANGS)
def test_switching_language_half_way_keeps_what_was_typed(phone, live_server, lang, files):
    page = phone
    page.goto(f"{live_server}{prefix(lang)}/forms/assistance/")
    page.fill("#full_name", "مريم سعيد عمر الزهراني")
    page.fill("#city", "الجموم")
    page.set_input_files("#documents-id_card", files["id.pdf"])
    page.click("a.portal-lang")
    other = "en" if lang == "ar" else "ar"
    page.wait_for_url(re.compile(rf"{prefix(other)}/forms/assistance/$"))
    assert page.evaluate("document.documentElement.lang") == other
    assert page.input_value("#full_name") == "مريم سعيد عمر الزهراني"
    assert page.input_value("#city") == "الجموم"
    assert page.locator(".uploaded").count() == 1  # the file chosen went with it
    assert page.locator(".error-summary").count() == 0  # no errors for a half-filled form
