"""The policy page publishes the seed's Arabic faithfully; English has the same sections."""

import re
import unicodedata

from bs4 import BeautifulSoup

from tests.conftest import built_path
from tests.static_site.test_facts import SEED

# Lines of the PDF's repeated headers and footers, and its table of contents.
BOILERPLATE = re.compile(
    r"^(جمعية رعاية الأيتام بالجموم|Jamoum Orphan Care Association|ترخيص رقم|32400 |حساب |✉|"
    r"\[?aljumumorphan|جدول المحتويات|# جمعية رعاية)"
)
TOC_LINE = re.compile(r"[٠-٩]\s*$")


def normalise(text: str) -> str:
    """Letters and digits only: whitespace, punctuation and markup characters dropped."""
    text = text.replace("مختل ف", "مختلف")  # a word split by the PDF extraction
    return "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")


def seed_blocks():
    """Each heading, paragraph and list item of the policy body, in order."""
    text = SEED.read_text(encoding="utf-8")
    body = text[text.index("## تمهيد") :]
    blocks = []
    for raw in re.split(r"\n", body):
        line = raw.strip().lstrip("#").strip()
        line = re.sub(r"^[0-9]+\s*-\s*", "", line)  # the list's own numbers: the page uses <ol>
        if (
            not line
            or BOILERPLATE.match(line)
            or (TOC_LINE.search(line) and len(line) < 80 and "بتاريخ" not in line)
        ):
            continue
        for cell in line.split("\t"):
            if normalise(cell):
                blocks.append(cell.strip())
    return blocks


def page_text(lang):
    soup = BeautifulSoup(built_path("policy", lang).read_text(encoding="utf-8"), "html.parser")
    return soup.select_one("article")


def test_seed_has_the_policy_body():
    blocks = seed_blocks()
    assert any(b.startswith("تمهيد") for b in blocks)
    assert any("أسبوعين" in b for b in blocks)
    assert any("الحمراي" in b for b in blocks)
    assert len(blocks) > 35


def test_every_seed_block_is_on_the_arabic_page(site_dir):
    published = normalise(page_text("ar").get_text(" "))
    missing = [b for b in seed_blocks() if normalise(b) not in published]
    assert missing == []


def test_seed_blocks_appear_in_order(site_dir):
    published = normalise(page_text("ar").get_text(" "))
    position = 0
    for block in seed_blocks():
        found = published.find(normalise(block), position)
        assert found >= 0, block
        position = found


def test_english_has_the_same_sections(site_dir):
    ar, en = page_text("ar"), page_text("en")
    assert len(ar.select("h2")) == len(en.select("h2")) >= 7
    assert [len(ol.select(":scope > li")) for ol in ar.select("ol")] == [
        len(ol.select(":scope > li")) for ol in en.select("ol")
    ]
    assert len(ar.select("table")) == len(en.select("table")) >= 1
    assert "Anwar" in en.get_text() and "2024" in en.get_text()
