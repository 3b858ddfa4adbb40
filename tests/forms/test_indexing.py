"""Families find the forms from a search engine: the first page of each public form may be
indexed (with its canonical address on PORTAL_PUBLIC_URL) and is in the sitemap; its later
steps, results, error pages and the back office say noindex."""

import re

import pytest
from bs4 import BeautifulSoup
from mkdocs.config import load_config

from hooks import sitemap as sitemap_hook
from tests.conftest import ROOT, make_app
from tests.forms.helpers import (
    assistance_data,
    documents,
    get_form,
    submit_assistance,
)

PUBLIC = "https://portal.example.org"
FIRST_PAGES = ("/forms/assistance/", "/forms/volunteer/", "/forms/feedback/", "/forms/status/")


@pytest.fixture
def app(site_dir, tmp_path):
    return make_app(tmp_path, PORTAL_PUBLIC_URL=PUBLIC)


def head_of(response):
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    robots = [m["content"] for m in soup.select("head meta[name=robots]")]
    canonical = [link["href"] for link in soup.select("head link[rel=canonical]")]
    return robots, canonical


@pytest.mark.parametrize("lang_prefix", ["", "/en"])
@pytest.mark.parametrize("path", FIRST_PAGES)
def test_the_first_page_of_each_form_may_be_indexed(client, lang_prefix, path):
    response = client.get(lang_prefix + path)
    assert response.status_code == 200
    assert head_of(response) == ([], [f"{PUBLIC}{lang_prefix}{path}"])


def test_a_prefilled_survey_names_the_plain_address(client):
    response = client.get("/forms/feedback/?reference=K7M4QX9T")
    assert head_of(response)[1] == [f"{PUBLIC}/forms/feedback/"]


def test_later_steps_results_and_errors_say_noindex(app, client):
    noindex = (["noindex"], [])
    # An error page of the first step.
    fields = get_form(client, "/forms/volunteer/")
    assert head_of(client.post("/forms/volunteer/", data={**fields, "full_name": ""})) == noindex
    # Check your answers and the confirmation.
    base = "/forms/assistance/"
    fields = get_form(client, base)
    response = client.post(
        base,
        data={**fields, **assistance_data(), **documents()},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    assert head_of(client.get(base + "check")) == noindex
    done = submit_assistance(app.test_client())
    assert head_of(done) == noindex
    # A status result.
    reference = BeautifulSoup(done.get_data(as_text=True), "html.parser").select_one(".reference")
    other = app.test_client()
    fields = get_form(other, "/forms/status/")
    found = other.post(
        "/forms/status/",
        data={**fields, "reference": reference.get_text(strip=True), "mobile": "0512345678"},
    )
    assert head_of(other.get(found.headers["Location"])) == noindex
    # The back office.
    assert head_of(client.get("/staff/login")) == noindex


def test_the_sitemap_lists_the_form_pages_and_not_the_shell(site_dir):
    xml = (site_dir / "sitemap.xml").read_text(encoding="utf-8")
    locs = re.findall(r"<loc>([^<]+)</loc>", xml)
    base = locs[0].split("/", 3)[:3]
    origin = "/".join(base)
    for path in FIRST_PAGES:
        assert f"{origin}{path}" in locs
        assert f"{origin}/en{path}" in locs
    assert not [loc for loc in locs if "/shell/" in loc or "/staff/" in loc or "/check" in loc]
    assert len(locs) == len(set(locs))
    robots = (site_dir / "robots.txt").read_text(encoding="utf-8")
    assert "Disallow: /staff/" in robots
    assert f"Sitemap: {origin}/sitemap.xml" in robots


def test_the_sitemap_hook_uses_the_public_address():
    xml = (
        '<?xml version="1.0"?><urlset>'
        "<url><loc>https://p.example/</loc></url>"
        "<url><loc>https://p.example/shell/</loc></url>"
        "<url><loc>https://p.example/en/shell/</loc></url></urlset>"
    )
    out = sitemap_hook.sitemap(xml, "https://p.example/", "2026-12-02")
    assert "shell" not in out
    assert "<loc>https://p.example/forms/assistance/</loc>" in out
    assert "<loc>https://p.example/en/forms/status/</loc>" in out
    assert out.count("<url>") == 1 + 2 * len(sitemap_hook.FORM_PAGES)


def test_site_url_is_portal_public_url(monkeypatch):
    monkeypatch.setenv("PORTAL_PUBLIC_URL", "https://portal.example.org")
    config = load_config(str(ROOT / "mkdocs.yml"))
    assert config["site_url"] == "https://portal.example.org/"
