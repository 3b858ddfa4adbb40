"""Error pages (400 CSRF, 404, 405, 413, 429, 500) in both languages: the page's own language
and direction, a human title in that language, no stack trace, no exception names, and
nothing of what was posted. A 500's log line names the exception's type only.
"""

import io
import logging
import re

import pytest
from babel.messages.pofile import read_po
from bs4 import BeautifulSoup
from flask import request

from forms_service import auth
from forms_service import db as dbm
from tests.conftest import LANGS, ROOT, make_app
from tests.forms.helpers import PDF, get_form, hidden_fields, prefix

ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]")
TITLES = {
    400: "The form could not be sent",
    404: "Page not found",
    405: "This page cannot be used that way",
    413: "The files are too large",
    429: "Too many attempts",
    500: "Sorry, something went wrong",
}
DIRECTION = {"ar": "rtl", "en": "ltr"}
# Werkzeug's own page titles and exception names, and what a stack trace looks like.
LEAK_WORDS = re.compile(
    r"Traceback|File \"|\b[A-Za-z_]+(?:Error|Exception)\b|BadRequest|NotFound|MethodNotAllowed"
    r"|RequestEntityTooLarge|TooManyRequests|CSRF|werkzeug|jinja2|\.py\b"
    r"|Bad Request|Not Found|Method Not Allowed|Request Entity Too Large|Too Many Requests"
    r"|Internal Server Error"
)
PASSWORD = "correct horse battery staple"

# What a person might have typed when the error came: never to be seen on an error page.
POSTED = {
    "full_name": "منيرة عبدالعزيز حمد السبيعي",
    "national_id": "١٠٨٤٧٢٦٣٩٥",
    "mobile": "0557318264",
    "email": "munira.subaie@example.org",
}
POSTED_FORMS = (
    *POSTED.values(),
    "1084726395",
    "+966557318264",
    "557318264",
    "السبيعي",
    "munira.subaie",
)


def arabic_titles() -> dict:
    path = ROOT / "forms_service" / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    return {code: catalog[title].string for code, title in TITLES.items()}


ARABIC_TITLES = arabic_titles()


def visible_text(soup) -> str:
    for hidden in soup(["script", "style", "template"]):
        hidden.decompose()
    return soup.get_text(" ", strip=True)


def assert_page_in_language(response, lang: str, posted=POSTED_FORMS):
    """Language and direction, a human title in that language, no trace, no posted value."""
    html = response.get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html.get("lang") == lang, soup.html.attrs
    assert soup.html.get("dir") == DIRECTION[lang], soup.html.attrs
    h1 = soup.h1.get_text(" ", strip=True)
    title = soup.title.get_text(" ", strip=True)
    assert h1 and h1 in title, (h1, title)
    if lang == "ar":
        assert ARABIC_LETTERS.search(h1), h1
    else:
        assert not ARABIC_LETTERS.search(h1), h1
    assert "Traceback" not in html and 'File "' not in html
    text = visible_text(soup)
    assert not LEAK_WORDS.search(text), LEAK_WORDS.search(text).group(0)
    for value in posted:
        assert value not in html, value
        assert value not in text, value
    return soup, h1


def assert_error_page(response, code: int, lang: str, posted=POSTED_FORMS):
    assert response.status_code == code, response.status_code
    assert response.mimetype == "text/html"
    _soup, h1 = assert_page_in_language(response, lang, posted)
    assert h1 == (TITLES[code] if lang == "en" else ARABIC_TITLES[code]), h1
    assert response.headers.get("Cache-Control") == "no-store"


# ---------------------------------------------------------------- 404 and 405


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("path", ["/forms/no-such-form/", "/forms/status/extra", "/staff/nope"])
def test_404(client, lang, path):
    response = client.get(f"{prefix(lang)}{path}?mobile={POSTED['mobile']}")
    assert_error_page(response, 404, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_404_for_a_case_that_does_not_exist(app, lang):
    database = dbm.connect(app.config["PORTAL_DB"])
    auth.add_user(database, "officer", "officer", PASSWORD, actor="test")
    database.close()
    client = app.test_client()
    fields = get_form(client, "/staff/login")
    client.post("/staff/login", data={**fields, "username": "officer", "password": PASSWORD})
    assert_error_page(client.get(f"{prefix(lang)}/staff/case/987654"), 404, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_the_sites_own_404_is_not_a_server_error_and_shows_no_trace(client, site_dir, lang):
    """Paths outside the app answer in their language; the built 404.html (for a web server
    serving site/ alone) holds both languages."""
    response = client.get(f"{prefix(lang)}/no-such-page/")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.html["lang"] == lang
    built = BeautifulSoup((site_dir / "404.html").read_text(encoding="utf-8"), "html.parser")
    sections = {s["lang"]: s for s in built.select("section.not-found")}
    assert sections["ar"]["dir"] == "rtl" and ARABIC_LETTERS.search(sections["ar"].get_text())
    assert sections["en"]["dir"] == "ltr" and "Page not found" in sections["en"].get_text()
    assert "Traceback" not in html and not LEAK_WORDS.search(visible_text(soup))


@pytest.mark.parametrize("lang", LANGS)
def test_the_sites_own_404_is_in_the_paths_language(client, lang):
    """The built 404.html (theme/404.html) says <html lang="en"> with <body dir="ltr"> for
    every path, and it keeps the alternates of the last page built: its language switch
    goes to /volunteer/ or /en/volunteer/."""
    response = client.get(f"{prefix(lang)}/no-such-page/")
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    links = [a["href"] for a in soup.select("a.portal-lang, link[rel=alternate]")]
    # One language link, to the other language's home (never a page built before).
    assert links == ["/" if lang == "en" else "/en/"], f"language links: {links}"
    assert soup.html.get("lang") == lang
    assert (soup.html.get("dir") or soup.body.get("dir")) == DIRECTION[lang]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    ("method", "path"),
    [("DELETE", "/forms/status/"), ("PUT", "/forms/volunteer/"), ("POST", "/forms/volunteer/done")],
)
def test_405(client, lang, method, path):
    response = client.open(f"{prefix(lang)}{path}", method=method, data=POSTED)
    assert_error_page(response, 405, lang)


# ---------------------------------------------------------------- 413


@pytest.mark.parametrize("lang", LANGS)
def test_413_more_than_21_mb(client, lang):
    url = prefix(lang) + "/forms/assistance/"
    big = io.BytesIO(PDF + b"0" * (22 * 1024 * 1024))
    response = client.post(
        url,
        data={**get_form(client, url), **POSTED, "documents-id_card": (big, "big.pdf")},
        content_type="multipart/form-data",
    )
    assert_error_page(response, 413, lang)
    assert ("20 MB" if lang == "en" else "20") in response.get_data(as_text=True)


# ---------------------------------------------------------------- 400


def volunteer_form(**changes):
    data = {
        **POSTED,
        "gender": "female",
        "birth_date": "1990-01-01",
        "city": "الجموم",
        "education": "bachelor",
        "skills": "teaching",
        "availability-days": "sat",
        "availability-times": "evening",
        "hours_per_week": "3",
        "consent": "y",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("lang", LANGS)
def test_400_wrong_csrf_token_on_a_public_form_keeps_what_was_typed(client, db, lang):
    """The public forms answer a bad token with the form again: what was typed is in the
    form's fields, and nowhere else on the page."""
    url = prefix(lang) + "/forms/volunteer/"
    fields = get_form(client, url)
    response = client.post(url, data={**fields, **volunteer_form(), "csrf_token": "forged.x.y"})
    assert response.status_code == 400
    soup, _h1 = assert_page_in_language(response, lang, posted=())
    assert soup.select_one(".notice--warning"), "the page says why it was not sent"
    assert soup.select_one("#full_name")["value"] == POSTED["full_name"]
    assert soup.select_one("#email")["value"] == POSTED["email"]
    for control in soup(["input", "textarea", "select"]):
        control.decompose()
    rest = str(soup)
    for value in POSTED_FORMS:
        assert value not in rest, f"{value} outside the form's fields"
    assert db.execute("SELECT count(*) FROM submissions").fetchone()[0] == 0


@pytest.mark.parametrize("lang", LANGS)
def test_400_wrong_csrf_token_on_a_staff_form(app, lang):
    database = dbm.connect(app.config["PORTAL_DB"])
    auth.add_user(database, "officer", "officer", PASSWORD, actor="test")
    database.close()
    client = app.test_client()
    fields = get_form(client, "/staff/login")
    client.post("/staff/login", data={**fields, "username": "officer", "password": PASSWORD})
    url = prefix(lang) + "/staff/assistance/"
    response = client.post(url, data={"csrf_token": "forged", "q": POSTED["national_id"]})
    assert_error_page(response, 400, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_400_for_a_bot_filled_form(client, lang):
    url = prefix(lang) + "/forms/volunteer/"
    data = {**get_form(client, url), **volunteer_form(website="http://spam.example")}
    assert_error_page(client.post(url, data=data), 400, lang)


# ---------------------------------------------------------------- 429


@pytest.mark.parametrize("lang", LANGS)
def test_429_after_the_limit(site_dir, tmp_path, lang):
    app = make_app(tmp_path, PORTAL_RATE_LIMIT="1/hour")
    client = app.test_client()
    url = prefix(lang) + "/forms/status/"
    codes = []
    for _ in range(2):
        data = {**get_form(client, url), "reference": "K7M-4QX-9T", "mobile": POSTED["mobile"]}
        response = client.post(url, data=data)
        codes.append(response.status_code)
    assert codes == [200, 429]
    assert_error_page(response, 429, lang, posted=(*POSTED_FORMS, "K7M-4QX-9T", "K7M4QX9T"))


# ---------------------------------------------------------------- 500


def boom():
    """A view that fails with the posted values in the exception's message."""
    values = dict(request.form) | dict(request.args)
    raise RuntimeError(f"could not process {values}")


@pytest.fixture
def failing_app(site_dir, tmp_path):
    app = make_app(tmp_path, TESTING=False)  # TESTING re-raises on purpose (errors.py)
    for lang in LANGS:
        app.add_url_rule(
            f"{prefix(lang)}/forms/boom", f"boom_{lang}", boom, methods=["GET", "POST"]
        )
    return app


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("method", ["POST", "GET"])
def test_500_page_and_log_line(failing_app, caplog, lang, method):
    caplog.set_level(logging.DEBUG)
    client = failing_app.test_client()
    url = f"{prefix(lang)}/forms/boom"
    if method == "POST":
        response = client.post(url, data=POSTED)
    else:
        response = client.get(url, query_string=POSTED)
    assert_error_page(response, 500, lang)
    assert "RuntimeError" not in response.get_data(as_text=True)
    lines = [r.getMessage() for r in caplog.records] + caplog.text.splitlines()
    assert any(f"unhandled RuntimeError on {method} {url}" in line for line in lines), lines
    for line in lines:
        for value in POSTED_FORMS:
            assert value not in line, f"{value} in the log: {line}"
        assert "could not process" not in line and "Traceback" not in line, line
    assert all(r.exc_info is None for r in caplog.records), "a stack trace was logged"


def test_error_pages_link_home_in_their_language(client):
    for lang, home in (("ar", "/"), ("en", "/en/")):
        response = client.get(f"{prefix(lang)}/forms/no-such-form/")
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        assert soup.select_one(f'.form-page a[href="{home}"]'), lang


def test_hidden_fields_helper_sees_the_status_form(client):
    # The 429 test reads the token the way a browser would; keep that helper honest here.
    assert "csrf_token" in hidden_fields(client.get("/forms/status/").get_data(as_text=True))
