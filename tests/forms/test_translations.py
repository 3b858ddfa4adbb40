"""The Arabic catalog is complete, and an Arabic page never shows English."""

import re

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup

from tests.conftest import ROOT
from tests.forms.helpers import get_form

PO = ROOT / "forms_service" / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]")
# Words that stay in Latin letters on Arabic pages: file types and examples of Latin input.
ALLOWED_LATIN = {"PDF", "JPEG", "PNG", "name", "example", "com", "K7M", "4QX", "9T", "XXX", "XXXX"}


def forms_of(value) -> tuple:
    """A message's id or string as a tuple: plural entries have several."""
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def catalog():
    with PO.open("rb") as f:
        return read_po(f)


def test_every_message_is_translated_and_none_is_fuzzy():
    messages = [m for m in catalog() if m.id]
    assert messages
    untranslated = [m.id for m in messages if not all(forms_of(m.string))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [] and fuzzy == []


def test_placeholders_match():
    for message in catalog():
        if message.id:
            wanted = set(PLACEHOLDER.findall(forms_of(message.id)[0]))
            for form in forms_of(message.string):
                assert set(PLACEHOLDER.findall(form)) == wanted, message.id


def test_catalog_has_every_string_in_the_code():
    method_map = [("forms_service/**.py", "python"), ("forms_service/templates/**.html", "jinja2")]
    keywords = {"_": None, "_l": None, "gettext": None, "lazy_gettext": None, "ngettext": (1, 2)}
    in_code = {
        (m[2] if isinstance(m[2], str) else m[2][0])
        for m in extract_from_dir(ROOT, method_map, keywords=keywords)
    }
    in_catalog = {forms_of(m.id)[0] for m in catalog() if m.id}
    assert in_code - in_catalog == set(), "run: make translations"


def english_words(html: str) -> list[str]:
    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article")
    for hidden in article.select(".honeypot, script, style"):
        hidden.decompose()
    words = re.findall(r"[A-Za-z][A-Za-z']{2,}", article.get_text(" "))
    return [w for w in words if w not in ALLOWED_LATIN]


@pytest.mark.parametrize("form", ["assistance", "volunteer", "feedback", "status"])
def test_arabic_form_pages_show_no_english(client, form):
    url = f"/forms/{form}/"
    assert english_words(client.get(url).get_data(as_text=True)) == []
    with_errors = client.post(url, data={**get_form(client, url), "action": "continue"})
    assert english_words(with_errors.get_data(as_text=True)) == []


def test_arabic_error_pages_show_no_english(client):
    response = client.get("/forms/nope")
    assert response.status_code == 404
    assert english_words(response.get_data(as_text=True)) == []
