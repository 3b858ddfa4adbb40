"""Security headers on every response: pages, forms, the site's files, errors."""

import pytest

URLS = [
    "/",
    "/en/policy/",
    "/assets/stylesheets/portal.css",
    "/forms/assistance/",
    "/en/forms/status/",
    "/staff/login",
    "/healthz",
    "/nope",
    "/forms/nope",
]


@pytest.mark.parametrize("url", URLS)
def test_headers_everywhere(client, url):
    response = client.get(url)
    csp = response.headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'none'" in csp
        and "script-src 'self'" in csp
        and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    )
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] and response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_no_inline_script_in_any_built_page(site_dir):
    from bs4 import BeautifulSoup

    for page in site_dir.rglob("*.html"):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        inline = [
            s
            for s in soup.find_all("script")
            if not s.get("src") and s.get("type") != "application/json"
        ]
        assert inline == [], page
        assert not soup.select("[onclick], [onload], [onerror]"), page


def test_form_pages_have_no_inline_script(client):
    from bs4 import BeautifulSoup

    for url in ("/forms/assistance/", "/en/forms/volunteer/", "/forms/feedback/", "/staff/login"):
        soup = BeautifulSoup(client.get(url).get_data(as_text=True), "html.parser")
        inline = [
            s
            for s in soup.find_all("script")
            if not s.get("src") and s.get("type") != "application/json"
        ]
        assert inline == [], url
