"""The static site: strict build, both languages complete, every page well formed."""

import re
import subprocess
import sys
from urllib.parse import urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

from tests.conftest import CONTENT, LANGS, ROOT, SITE, built_path, page_slugs, url_path

ARABIC_LETTER = re.compile(r"[\u0621-\u064A]")
LATIN_LETTER = re.compile(r"[A-Za-z]")


def test_strict_build_succeeds(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "-d", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "index.html").exists()
    assert (tmp_path / "en" / "index.html").exists()


def test_every_page_has_both_languages():
    arabic = {p.name.removesuffix(".ar.md") for p in CONTENT.glob("*.ar.md")}
    english = {p.name.removesuffix(".en.md") for p in CONTENT.glob("*.en.md")}
    assert arabic == english
    assert {
        "index",
        "policy",
        "services",
        "faq",
        "donate",
        "volunteer",
        "contact",
        "privacy",
        "accessibility",
    } <= arabic


def _soup(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _main_text(soup):
    article = soup.select_one("article") or soup
    return article.get_text(" ", strip=True)


@pytest.mark.parametrize("slug", page_slugs())
def test_english_page_is_english_not_a_fallback(site_dir, slug):
    text = _main_text(_soup(built_path(slug, "en")))
    arabic, latin = len(ARABIC_LETTER.findall(text)), len(LATIN_LETTER.findall(text))
    assert latin > 5 * arabic, f"/en/{slug}/ reads mostly Arabic ({arabic} Arabic letters)"


@pytest.mark.parametrize("slug", page_slugs())
def test_arabic_page_is_arabic(site_dir, slug):
    text = _main_text(_soup(built_path(slug, "ar")))
    assert len(ARABIC_LETTER.findall(text)) > len(LATIN_LETTER.findall(text))


def _pages():
    return [(slug, lang) for slug in page_slugs() for lang in LANGS]


@pytest.mark.parametrize(("slug", "lang"), _pages())
def test_page_head_and_language_switch(site_dir, slug, lang):
    soup = _soup(built_path(slug, lang))
    html = soup.html
    assert html["lang"] == lang
    assert html["dir"] == ("rtl" if lang == "ar" else "ltr")
    assert soup.title and soup.title.string.strip()
    description = soup.find("meta", attrs={"name": "description"})
    assert description and description["content"].strip()

    other = "en" if lang == "ar" else "ar"
    switch = soup.select(f"a.portal-lang[hreflang={other}]")
    assert len(switch) == 1, "one direct link to the other language"
    here = url_path(slug, lang)
    assert urljoin(here, switch[0]["href"]) == url_path(slug, other)


OUTSIDE = re.compile(r"^(https?:)?//", re.I)


@pytest.mark.parametrize(("slug", "lang"), _pages())
def test_no_outside_host_for_page_resources(site_dir, slug, lang):
    soup = _soup(built_path(slug, lang))
    resources = [t.get("src") for t in soup.find_all(["script", "img", "iframe", "source"])]
    resources += [
        t.get("href")
        for t in soup.find_all("link")
        if t.get("rel") != ["canonical"] and "alternate" not in (t.get("rel") or [])
    ]
    # A page has its stylesheets, scripts and icons: an empty list would prove nothing.
    assert len([r for r in resources if r]) >= 3, resources
    outside = [
        r
        for r in resources
        if r and OUTSIDE.match(r) and urlparse(r).hostname not in {"127.0.0.1", "localhost"}
    ]
    assert outside == []


def test_no_outside_host_in_stylesheets(site_dir):
    urls = [
        (css, url.strip("'\" "))
        for css in (SITE / "assets").rglob("*.css")
        for url in re.findall(r"url\(([^)]+)\)", css.read_text(encoding="utf-8"))
    ]
    assert any("fonts/" in url for _css, url in urls)  # the self-hosted font is found
    assert [(css, url) for css, url in urls if OUTSIDE.match(url)] == []


def test_heading_anchors_keep_arabic_letters(site_dir):
    soup = _soup(built_path("policy", "ar"))
    ids = [h.get("id", "") for h in soup.select("article h2")]
    assert ids and all(ARABIC_LETTER.search(i) for i in ids), ids


def test_no_instant_navigation():
    assert "navigation.instant" not in (ROOT / "mkdocs.yml").read_text(encoding="utf-8")


# The only pages that run a script, and the scripts they run: a reading page runs none
# (the drawer, the menus and the language list are HTML and CSS), so phones do not wait.
SCRIPTS = {
    "donate": ["copy.js"],
    "search": ["pagefind-ui.js", "search.js"],
}


@pytest.mark.parametrize(("slug", "lang"), _pages())
def test_a_page_loads_only_the_script_it_uses(site_dir, slug, lang):
    soup = _soup(built_path(slug, lang))
    scripts = [urlparse(t["src"]).path.rsplit("/", 1)[-1] for t in soup.find_all("script")]
    assert scripts == SCRIPTS.get(slug, []), f"/{slug}/ ({lang})"
    assert soup.find(attrs={"id": "__config"}) is None


def test_the_copy_button_has_its_script():
    donate = _soup(built_path("donate", "ar"))
    assert donate.select(".copy-button[data-copy]"), "the donate page has copy buttons"
    assert all(
        not _soup(built_path(s, "ar")).select(".copy-button") for s in page_slugs() if s != "donate"
    )
