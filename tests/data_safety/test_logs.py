"""No personal data in logs or URLs.

The real flows (a support request with files, a volunteer sign-up, a survey with contact
details, a status look-up; staff signing in, searching by national ID, mobile and name,
opening the case and exporting) run twice: through the Flask test client with every logger
captured at DEBUG, and against the real production server (`portal serve`: gunicorn, its
access and error logs captured from its stdout and stderr) driven over HTTP with a cookie
jar. Then no national ID, mobile, name or e-mail from the test data may appear in any log
line, in any URL requested or redirected to, in any link on the pages seen, or in the paths
of the access log (which carries no query strings at all).

Mail is configured towards a closed port, so the confirmation e-mail fails and the service
logs that failure: the capture is shown to catch the service's own log lines.
"""

import contextlib
import http.cookiejar
import io
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import unquote_plus, urljoin, urlsplit

import pytest
import sqlite_utils
from bs4 import BeautifulSoup

from forms_service import auth, outbox
from forms_service import db as dbm
from forms_service.identifiers import fold_arabic
from tests.conftest import ROOT, make_app
from tests.forms.helpers import PDF, PNG

PASSWORD = "correct horse battery staple"

# ---------------------------------------------------------------- the test data

NATIONAL_ID = "1084726395"  # Luhn-valid
MOBILE = "0557318264"
VOLUNTEER_MOBILE = "0548203917"
FEEDBACK_MOBILE = "0569134702"
VOLUNTEER_PLATFORM_ID = "58213904417"
APPLICANT = "نورة عبدالرحمن سليمان القحطاني"
ORPHANS = ("ريما فهد سليمان", "بدر فهد سليمان")
VOLUNTEER = "هيفاء ناصر العتيبي"
EMAIL = "noura.qahtani@example.org"
VOLUNTEER_EMAIL = "Haifa.Otaibi@example.net"

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
TO_ASCII = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

# How each number was typed in the flows below, and the forms the service makes of them.
TYPED = {
    "assistance national_id": "١٠٨ ٤٧٢ ٦٣٩٥",
    "assistance mobile": "٠٥٥ ٧٣١ ٨٢٦٤",
    "volunteer mobile": "+٩٦٦ ٥٤٨ ٢٠٣ ٩١٧",
    "feedback mobile": "۰۵۶-۹۱۳-۴۷۰۲",
    "status mobile": "00966557318264",
    "search national_id": NATIONAL_ID.translate(ARABIC_INDIC),
    "search mobile": "+966 55 731 8264",
}
# Digits alone: found however the number is written, spaced, encoded or prefixed.
DIGIT_NEEDLES = (
    NATIONAL_ID,
    MOBILE[1:],
    VOLUNTEER_MOBILE[1:],
    FEEDBACK_MOBILE[1:],
    VOLUNTEER_PLATFORM_ID,
)
TEXT_NEEDLES = tuple(
    dict.fromkeys(
        [
            APPLICANT,
            *APPLICANT.split()[1:],  # the distinctive parts of the name
            *ORPHANS,
            VOLUNTEER,
            *VOLUNTEER.split()[1:],
            fold_arabic(APPLICANT),
            *map(fold_arabic, ORPHANS),
            fold_arabic(VOLUNTEER),
            EMAIL,
            VOLUNTEER_EMAIL.lower(),
            EMAIL.split("@")[0],
            VOLUNTEER_EMAIL.split("@")[0].lower(),
            NATIONAL_ID,
            NATIONAL_ID.translate(ARABIC_INDIC),
            NATIONAL_ID.translate(PERSIAN),
            *TYPED.values(),
            *(f"+966{m[1:]}" for m in (MOBILE, VOLUNTEER_MOBILE, FEEDBACK_MOBILE)),
            *(f"{m[:3]} {m[3:6]} {m[6:]}" for m in (MOBILE, VOLUNTEER_MOBILE, FEEDBACK_MOBILE)),
        ]
    )
)


def _flat(text: str) -> str:
    """Numbers as plain ASCII digits with every separator gone."""
    return re.sub(r"[\s\-\u00a0\u200e\u200f\u2066-\u2069.()+]", "", text.translate(TO_ASCII))


def leaks(text: str) -> list[str]:
    """The personal values found in a log line or URL, however written or encoded."""
    forms = {text, unquote_plus(text), unquote_plus(unquote_plus(text))}
    found = [n for n in TEXT_NEEDLES for form in forms if n.lower() in form.lower()]
    found += [n for n in DIGIT_NEEDLES for form in forms if n in _flat(form)]
    return sorted(set(found))


def test_the_leak_detector_sees_every_writing():
    seen = [
        "/x?q=%D9%A1%D9%A0%D9%A8+%D9%A4%D9%A7%D9%A2+%D9%A6%D9%A3%D9%A9%D9%A5",
        "mobile=%2B966557318264",
        "055 731 8264",
        "٠٥٥-٧٣١-٨٢٦٤",
        "/staff/?name=%D9%86%D9%88%D8%B1%D8%A9+%D8%B9%D8%A8%D8%AF%D8%A7%D9%84%D8%B1%D8%AD%D9%85%D9%86",
        "to NOURA.QAHTANI@EXAMPLE.ORG",
        "القحطاني",
    ]
    for text in seen:
        assert leaks(text), text
    clean = '127.0.0.1 "POST /forms/assistance/check" 302 199 12ms'
    assert not leaks(clean)


# ---------------------------------------------------------------- two ways to browse


@dataclass
class Page:
    url: str
    status: int
    location: str | None
    text: str


class Browser:
    """Records every URL requested, every Location header, and every link seen."""

    def __init__(self):
        self.requested: list[str] = []
        self.urls: list[str] = []  # requested or redirected to
        self.links: list[str] = []

    def _seen(self, page: Page) -> Page:
        self.requested.append(page.url)
        self.urls.append(page.url)
        if page.location:
            self.urls.append(page.location)
        if "html" in page.text[:200].lower():
            soup = BeautifulSoup(page.text, "html.parser")
            self.links += [a["href"] for a in soup.find_all(href=True)]
            self.links += [f["action"] for f in soup.find_all("form", action=True)]
            self.links += [s["src"] for s in soup.find_all(src=True)]
        return page

    def follow(self, page: Page) -> Page:
        assert page.status == 302, (page.url, page.status)  # the portal redirects with 302
        return self.get(urljoin(page.url, page.location))


class ClientBrowser(Browser):
    def __init__(self, client):
        super().__init__()
        self.client = client

    def _page(self, url, response) -> Page:
        return self._seen(
            Page(url, response.status_code, response.headers.get("Location"), response.text)
        )

    def get(self, url: str) -> Page:
        return self._page(url, self.client.get(url))

    def post(self, url: str, fields: list, files: list | None = None) -> Page:
        from werkzeug.datastructures import MultiDict

        data = MultiDict(fields)
        for name, filename, content in files or []:
            data.add(name, (io.BytesIO(content), filename))
        kind = "multipart/form-data" if files else "application/x-www-form-urlencoded"
        return self._page(url, self.client.post(url, data=data, content_type=kind))


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class HttpBrowser(Browser):
    """urllib with a cookie jar, redirects followed by hand so that each one is seen."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirects()
        )

    def _open(self, url: str, body: bytes | None = None, content_type: str | None = None):
        full = urljoin(self.base, url)
        request = urllib.request.Request(full, data=body)  # noqa: S310 - http://127.0.0.1
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            response = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:  # 3xx and 4xx/5xx come here
            response = error
        with response:
            text = response.read().decode("utf-8", "replace")
            return self._seen(Page(full, response.status, response.headers.get("Location"), text))

    def get(self, url: str) -> Page:
        return self._open(url)

    def post(self, url: str, fields: list, files: list | None = None) -> Page:
        if not files:
            from urllib.parse import urlencode

            body = urlencode(fields).encode()
            return self._open(url, body, "application/x-www-form-urlencoded")
        boundary = "----portal" + secrets.token_hex(8)
        chunks = []
        for name, value in fields:
            chunks.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
                + value.encode()
                + b"\r\n"
            )
        for name, filename, content in files:
            chunks.append(
                f"--{boundary}\r\nContent-Disposition: form-data; "
                f'name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode()
                + content
                + b"\r\n"
            )
        body = b"".join(chunks) + f"--{boundary}--\r\n".encode()
        return self._open(url, body, f"multipart/form-data; boundary={boundary}")


# ---------------------------------------------------------------- the flows


def hidden(page: Page, form_selector: str = "form.portal-form") -> list:
    soup = BeautifulSoup(page.text, "html.parser")
    form = soup.select_one(form_selector)
    assert form is not None, (page.url, page.status)
    return [
        (i["name"], i.get("value", "")) for i in form.select("input[type=hidden]") if i.get("name")
    ]


def assistance_fields() -> list:
    return [
        ("full_name", APPLICANT),
        ("national_id", TYPED["assistance national_id"]),
        ("birth_date", "1984-06-11"),
        ("nationality", "saudi"),
        ("mobile", TYPED["assistance mobile"]),
        ("email", EMAIL),
        ("city", "الجموم"),
        ("district", "حي الروابي"),
        ("marital_status", "widowed"),
        ("relation_to_orphans", "mother"),
        ("family_size", "٣"),
        ("orphans-0-name", ORPHANS[0]),
        ("orphans-0-birth_date", "2014-02-03"),
        ("orphans-0-gender", "female"),
        ("orphans-0-school_stage", "primary"),
        ("orphans-1-name", ORPHANS[1]),
        ("orphans-1-birth_date", "2017-08-19"),
        ("orphans-1-gender", "male"),
        ("orphans-1-school_stage", "kindergarten"),
        ("monthly_income", "١٨٠٠"),
        ("income_sources", "social_security"),
        ("housing", "rented"),
        ("support_type", "financial"),
        ("support_type", "education"),
        ("description", "نحتاج مساعدة في رسوم المدرسة."),
        ("action", "continue"),
    ]


DOCUMENTS = [
    ("documents-id_card", "هوية.pdf", PDF),
    ("documents-death_certificate", "death.pdf", PDF),
    ("documents-family_record", "family.png", PNG),
]


def reference_of(page: Page) -> str:
    match = re.search(r'class="reference"><bdi[^>]*>([A-Z0-9-]+)<', page.text)
    assert match, (page.url, page.status)
    return match.group(1)


def public_flows(b: Browser) -> str:
    """Support request (Arabic) → volunteer (English) → survey with contact → status."""
    url = "/forms/assistance/"
    page = b.post(url, hidden(b.get(url)) + assistance_fields(), DOCUMENTS)
    assert page.status == 302, page.text[:2000]
    check = b.follow(page)
    page = b.post(url + "check", [*hidden(check), ("attestation", "y"), ("consent", "y")])
    assert page.status == 302
    reference = reference_of(b.follow(page))

    url = "/en/forms/volunteer/"
    fields = [
        ("full_name", VOLUNTEER),
        ("gender", "female"),
        ("birth_date", "1992-12-01"),
        ("mobile", TYPED["volunteer mobile"]),
        ("email", VOLUNTEER_EMAIL),
        ("city", "مكة"),
        ("education", "bachelor"),
        ("skills", "teaching"),
        ("availability-days", "sat"),
        ("availability-times", "evening"),
        ("hours_per_week", "4"),
        ("national_volunteer_id", VOLUNTEER_PLATFORM_ID),
        ("consent", "y"),
    ]
    page = b.post(url, hidden(b.get(url)) + fields)
    assert page.status == 302, page.text[:2000]
    reference_of(b.follow(page))

    url = "/forms/feedback/"
    fields = [
        ("reference", reference.lower()),
        ("channel", "website"),
        *((f"rating_{r}", "5") for r in ("courtesy", "clarity", "speed", "overall")),
        ("comments", f"شكرًا، أنا {APPLICANT} ورقمي {MOBILE}"),
        ("may_contact", "y"),
        ("mobile", TYPED["feedback mobile"]),
    ]
    page = b.post(url, hidden(b.get(url)) + fields)
    assert page.status == 302, page.text[:2000]
    b.follow(page)

    url = "/en/forms/status/"
    fields = [("reference", reference), ("mobile", TYPED["status mobile"])]
    page = b.post(url, hidden(b.get(url)) + fields)
    assert page.status == 302, page.text[:2000]
    assert "Received" in b.follow(page).text
    return reference


def sign_in(b: Browser, username: str):
    page = b.get("/staff/")  # → the sign-in page, with ?next=
    assert page.status == 302
    login = b.follow(page)
    page = b.post(login.url, [*hidden(login), ("username", username), ("password", PASSWORD)])
    assert page.status == 302, page.text[:2000]
    return b.follow(page)


def search(b: Browser, words: str) -> Page:
    url = "/staff/assistance/"
    page = b.post(url, [*hidden(b.get(url), "form.filters"), ("q", words)])
    assert page.status == 302
    return b.follow(page)


def staff_flows(officer: Browser, committee: Browser):
    """The officer searches (ID, mobile, name) and opens the case; the committee exports."""
    sign_in(officer, "officer")
    for words in (TYPED["search national_id"], TYPED["search mobile"], APPLICANT.split()[0]):
        listing = search(officer, words)
        cases = BeautifulSoup(listing.text, "html.parser").select('a[href*="/staff/case/"]')
        assert len(cases) == 1, words
    case = officer.get(urljoin(listing.url, cases[0]["href"]))
    assert case.status == 200 and APPLICANT in case.text

    sign_in(committee, "committee")
    listing = search(committee, NATIONAL_ID)
    soup = BeautifulSoup(listing.text, "html.parser")
    for fmt in ("csv", "json"):
        link = soup.select_one(f'a[href*="export.{fmt}"]')
        export = committee.get(urljoin(listing.url, link["href"]))
        assert export.status == 200 and NATIONAL_ID in export.text


def add_staff(path: str):
    dbm.prepare(path)
    database = dbm.connect(path)
    try:
        auth.add_user(database, "officer", "officer", PASSWORD, actor="test")
        auth.add_user(database, "committee", "committee", PASSWORD, actor="test")
    finally:
        database.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_no_leaks(where: str, lines):
    found = {line: leaks(line) for line in lines if leaks(line)}
    assert not found, f"personal data in {where}: {found}"


# ---------------------------------------------------------------- (a) the test client


def test_no_personal_data_in_logs_or_urls_through_the_test_client(site_dir, tmp_path, caplog):
    app = make_app(
        tmp_path,
        PORTAL_SMTP_HOST="127.0.0.1",
        PORTAL_SMTP_PORT=str(free_port()),  # closed: the confirmation e-mail fails, is logged
        PORTAL_SMTP_FROM="portal@example.com",
    )
    add_staff(app.config["PORTAL_DB"])
    caplog.set_level(logging.DEBUG)
    for name in ("", "forms_service", "werkzeug", "flask", "flask_wtf", "gunicorn", "sqlite_utils"):
        caplog.set_level(logging.DEBUG, logger=name)
    public, officer, committee = (ClientBrowser(app.test_client()) for _ in range(3))
    public_flows(public)
    staff_flows(officer, committee)
    with app.app_context(), sqlite_utils.Database(app.config["PORTAL_DB"]) as db:
        outbox.send_due(db, app.config)  # the sender's log lines too (the SMTP port is closed)

    lines = []
    for record in caplog.records:
        lines += [record.getMessage(), str(record.args), record.exc_text or ""]
    lines += caplog.text.splitlines()
    assert any(r.name == "forms_service.outbox" for r in caplog.records), "no service log captured"
    assert_no_leaks("the log", lines)
    browsers = (public, officer, committee)
    assert_no_leaks("a URL", [u for b in browsers for u in b.urls])
    assert_no_leaks("a link", [u for b in browsers for u in b.links])


# ---------------------------------------------------------------- (b) the real server


@pytest.fixture
def served(site_dir, tmp_path):
    """`portal serve` (gunicorn) on a free port, its stdout and stderr going to a file."""
    db_path = str(tmp_path / "portal.sqlite3")
    add_staff(db_path)
    port = free_port()
    log_path = tmp_path / "server.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "PORTAL_DB": db_path,
        "PORTAL_UPLOADS": str(tmp_path / "uploads"),
        "PORTAL_SECRET_KEY": secrets.token_hex(32),
        "PORTAL_RATE_LIMIT": "off",
        "PORTAL_SITE": str(ROOT / "site"),
        "PORTAL_VAR": str(tmp_path / "var"),
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(free_port()),
        "PORTAL_SMTP_FROM": "portal@example.com",
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "forms_service.cli", "serve"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        server.env = env  # for the outbox sender, run beside it as in production
        try:
            deadline = time.monotonic() + 30
            while True:
                assert server.poll() is None, log_path.read_text(errors="replace")
                with (
                    contextlib.suppress(OSError),
                    urllib.request.urlopen(base + "/healthz", timeout=2) as response,  # noqa: S310
                ):
                    if response.status == 200:
                        break
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
            yield base, server, log_path
        finally:
            if server.poll() is None:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


ACCESS_LINE = re.compile(r'^\S+ "(?P<method>[A-Z]+) (?P<path>[^"]*)" (?P<status>\d{3}) ')


def test_no_personal_data_in_the_servers_logs_or_urls(served):
    base, server, log_path = served
    public, officer, committee = (HttpBrowser(base) for _ in range(3))
    public_flows(public)
    staff_flows(officer, committee)
    # A request that the service may fail on, with personal data all around it: whatever
    # happens, the error log says only the exception's type, the method and the path.
    public.post(
        "/forms/status/",
        [("mobile", MOBILE)],
        [("reference", f"{APPLICANT} {NATIONAL_ID}.txt", EMAIL.encode())],
    )
    server.send_signal(signal.SIGTERM)  # flush and close the logs before reading them
    server.wait(timeout=20)
    with log_path.open("ab") as log:  # the sender, as its systemd unit runs it
        subprocess.run(
            [sys.executable, "-m", "forms_service.cli", "outbox", "send"],
            cwd=ROOT,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=60,
        )

    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    access = [m for m in map(ACCESS_LINE.match, lines) if m]
    requests = sum(len(b.requested) for b in (public, officer, committee))
    assert len(access) >= requests >= 30, "the access log was not captured"
    assert any("outbox message" in line for line in lines), "the service's log was not captured"
    assert_no_leaks("the server's log", lines)
    for match in access:
        assert "?" not in match["path"], f"a query string in the access log: {match.group(0)}"
    assert_no_leaks("an access log path", [m["path"] for m in access])
    browsers = (public, officer, committee)
    assert_no_leaks("a URL", [u for b in browsers for u in b.urls])
    assert_no_leaks("a link", [u for b in browsers for u in b.links])
    # Some requests did carry a query string (sign-in's ?next=, the export's filters):
    # the access log printed their paths only.
    assert any(urlsplit(u).query for b in browsers for u in b.urls)


def test_a_line_break_in_a_path_cannot_forge_a_log_line(served):
    """ASVS 16.4.1: %0a in a path is written out, never a new line of the log."""
    base, server, log_path = served
    forged = '203.0.113.66 "GET /staff/users" 200 0 1ms'
    for path in (f"/x%0a{forged.replace(' ', '%20')}", f"/x%0d%0a{forged.replace(' ', '%20')}"):
        with contextlib.suppress(urllib.error.HTTPError):
            urllib.request.urlopen(base + path, timeout=5)  # noqa: S310
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=20)
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    assert not [line for line in lines if line.startswith("203.0.113.66")]
    assert [line for line in lines if "\\x0a203.0.113.66" in line], "the request was not logged"


def test_log_safe_writes_out_controls_and_bidi_overrides():
    from forms_service.logtext import log_safe

    assert log_safe("a\nb\rc\td") == "a\\x0ab\\x0dc\\x09d"
    assert log_safe("x\u202ey\u2066") == "x\\u202ey\\u2066"
    assert log_safe("/forms/الطلب/") == "/forms/الطلب/"  # Arabic stays readable
