"""Search results as a donor reads them: an account number in its own order, no permalink
sign, a count in natural words, a field with a visible border, and the words kept when
switching language."""

import re

import pytest

from forms_service.facts import facts
from tests.conftest import format_violations

pytestmark = pytest.mark.browser
LRI, PDI = "\u2066", "\u2069"


def results_for(page, live_server, path, term):
    page.goto(f"{live_server}{path}?q={term}")
    page.wait_for_selector(".pagefind-ui__result-link", timeout=10_000)
    page.wait_for_selector(".pagefind-ui__message")
    return page


def test_an_account_number_keeps_its_order_and_no_sign_is_indexed(page, live_server, axe):
    zakat = next(a for a in facts()["accounts"] if a["code"] == "zakat")["number"]
    results_for(page, live_server, "/search/", "زكاه")
    text = page.inner_text("#search")
    assert "¶" not in text
    excerpts = page.eval_on_selector_all(
        ".pagefind-ui__result-excerpt", "nodes => nodes.map(n => n.textContent)"
    )
    joined = "".join(excerpts)
    # The excerpt shows the number's first groups (Pagefind cuts excerpts by words), in their
    # own order, isolated left-to-right.
    first_groups = " ".join(zakat.split()[:4])
    assert f"{LRI}{first_groups}" in joined, joined
    message = page.inner_text(".pagefind-ui__message")
    assert re.fullmatch(r"(عدد النتائج لـ«زكاه»: [0-9]+|نتيجة واحدة لـ«زكاه»)", message), message
    violations = axe(page)
    assert violations == [], format_violations(violations)


@pytest.mark.parametrize(
    ("path", "term", "other"),
    [("/search/", "زكاة", "/en/search/"), ("/en/search/", "zakat", "/search/")],
)
def test_switching_language_keeps_the_words(page, live_server, path, term, other):
    results_for(page, live_server, path, term)
    href = page.eval_on_selector("a.portal-lang", "a => a.href")  # resolved
    assert href.startswith(f"{live_server}{other}?q="), href
    page.fill(".pagefind-ui__search-input", "policy")
    page.wait_for_function("() => document.querySelector('a.portal-lang').href.includes('policy')")
    page.click("a.portal-lang")
    page.wait_for_url(re.compile(r"q=policy"))


def test_the_search_field_has_a_visible_border(page, live_server):
    results_for(page, live_server, "/search/", "زكاة")
    border = page.eval_on_selector(
        ".pagefind-ui__search-input",
        "e => { const s = getComputedStyle(e); return [s.borderTopWidth, s.borderTopColor]; }",
    )
    assert float(border[0].removesuffix("px")) >= 1.5
    assert border[1] not in ("rgba(0, 0, 0, 0)", "transparent")
