"""Who may open what, sessions that really end, throttling, the second factor."""

import re
from pathlib import Path

import pyotp
import pytest
from bs4 import BeautifulSoup

from forms_service import auth, lifecycle, queue
from forms_service.staff import session as staff_session
from tests.conftest import make_app
from tests.staff.conftest import PASSWORD, ROLES, TOTP_SECRET, csrf_of, password_only, sign_in

SAMPLE_ARGS = {
    "kind": "assistance",
    "case_id": 1,
    "document_id": 1,
    "username": "officer",
    "fmt": "csv",
    "meeting_id": 1,
    "direction": "up",
    "page": 1,
}


# What an allowed GET answers when it is not the page itself: the index sends to the list;
# the sample document does not exist.
ALLOWED_GET = {
    "index": 302,
    "document": 404,
    "document_view": 404,
    "document_page": 404,
    # The sample meeting does not exist.
    **dict.fromkeys(
        ("meeting", "meeting_pack", "meeting_agenda_csv", "meeting_agenda_xlsx", "minutes"), 404
    ),
}


def staff_rules(app):
    """Every URL rule of the staff blueprints (Arabic and English)."""
    return [
        r for r in app.url_map.iter_rules() if r.endpoint.startswith(("staff_ar.", "staff_en."))
    ]


def url_of(rule) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = re.sub(rf"<(?:[^:<>]+:)?{name}>", str(SAMPLE_ARGS[name]), path)
    return path


def test_every_staff_route_has_an_access_rule(app):
    views = {r.endpoint.rpartition(".")[2] for r in staff_rules(app)}
    missing = views - set(staff_session.ACCESS) - staff_session.PUBLIC
    assert missing == set(), f"add these views to staff_session.ACCESS: {missing}"


@pytest.fixture
def a_case(app, staff_db):
    with app.test_request_context():
        queue.submit(staff_db, kind=lifecycle.Kind.ASSISTANCE, lang="ar", fields={"full_name": "س"})
    return 1


def test_anonymous_is_sent_to_login_everywhere(app, staff_db, a_case):
    client = app.test_client()
    for rule in staff_rules(app):
        view = rule.endpoint.rpartition(".")[2]
        if view in staff_session.PUBLIC:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url_of(rule), method=method)
            assert response.status_code == 302, (rule.rule, method)
            assert "/staff/login" in response.headers["Location"]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_its_pages_and_403_elsewhere(app, signed_in, role, a_case):
    client = signed_in(role)
    for rule in staff_rules(app):
        view = rule.endpoint.rpartition(".")[2]
        if view in staff_session.PUBLIC or "GET" not in rule.methods:
            continue
        response = client.get(url_of(rule))
        allowed = role in staff_session.ACCESS[view]
        if allowed:
            expected = ALLOWED_GET.get(view, 200)
            assert response.status_code == expected, (rule.rule, role, response.status_code)
        else:
            assert response.status_code == 403, (rule.rule, role, response.status_code)


def test_posts_without_a_token_are_refused(signed_in, a_case):
    client = signed_in("admin")
    for url in (
        "/staff/case/1/transition",
        "/staff/case/1/note",
        "/staff/case/1/assign",
        "/staff/logout",
    ):
        assert client.post(url, data={"target": "verifying"}).status_code == 400, url


def test_cookie_flags_and_rotation(app, staff_db):
    client = app.test_client()
    client.set_cookie(staff_session.COOKIE, "planted-before-login")
    response = sign_in(client, "officer")
    header = response.headers["Set-Cookie"]
    assert header.startswith(f"{staff_session.COOKIE}=")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    value = header.split(";")[0].split("=", 1)[1]
    assert value != "planted-before-login" and len(value) >= 40
    secure = app.test_client()
    fields_page = secure.get("/staff/login", base_url="https://portal.example")
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', fields_page.get_data(as_text=True)
    )
    response = secure.post(
        "/staff/login",
        base_url="https://portal.example",
        data={"csrf_token": token.group(1), "username": "officer", "password": PASSWORD},
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_logout_then_replaying_the_old_cookie_is_refused(app, signed_in):
    client = signed_in("officer")
    old = client.get_cookie(staff_session.COOKIE).value
    assert client.get("/staff/assistance/").status_code == 200
    client.post("/staff/logout", data={"csrf_token": csrf_of(client, "/staff/assistance/")})
    replay = app.test_client()
    replay.set_cookie(staff_session.COOKIE, old)
    response = replay.get("/staff/assistance/")
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_a_disabled_users_session_dies(app, signed_in, staff_db):
    client = signed_in("officer")
    assert client.get("/staff/assistance/").status_code == 200
    auth.set_active(staff_db, "officer", False, actor="admin")
    assert client.get("/staff/assistance/").status_code == 302
    assert sign_in(app.test_client(), "officer").status_code == 400


def test_idle_sessions_end(app, signed_in, staff_db):
    client = signed_in("officer")
    staff_db.execute("UPDATE staff_sessions SET last_seen = '2000-01-01T00:00:00Z'")
    staff_db.conn.commit()
    assert client.get("/staff/assistance/").status_code == 302


def test_login_throttling_is_shared_by_two_app_instances(site_dir, tmp_path):
    first, second = make_app(tmp_path), make_app(tmp_path)
    from forms_service import db as dbm

    database = dbm.connect(first.config["PORTAL_DB"])
    auth.add_user(database, "officer", "officer", PASSWORD, actor="test")
    clients = [first.test_client(), second.test_client()]
    for attempt in range(auth.MAX_FAILURES_PER_ACCOUNT):
        assert sign_in(clients[attempt % 2], "officer", "wrong password!!").status_code == 400
    # Now even the right password is refused, on either instance.
    for client in clients:
        response = sign_in(client, "officer")
        assert response.status_code == 400
        assert "15" in response.get_data(as_text=True)


def test_admins_must_enrol_a_second_factor(app, staff_db):
    auth.add_user(staff_db, "newadmin", "admin", PASSWORD, actor="test")
    client = app.test_client()
    response = sign_in(client, "newadmin")
    assert response.status_code == 302
    response = client.get("/staff/assistance/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/totp")
    page = client.get("/staff/totp").get_data(as_text=True)
    secret = re.search(r'<code dir="ltr" translate="no">([A-Z2-7]+)</code>', page).group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/staff/totp", data={"csrf_token": token, "code": pyotp.TOTP(secret).now()}
    )
    assert response.status_code == 302
    assert client.get("/staff/users").status_code == 200
    stored = staff_db.execute("SELECT totp_secret FROM staff WHERE username = 'newadmin'")
    assert stored.fetchone()[0] == secret


def test_a_totp_code_works_once(app, staff_db):
    code = pyotp.TOTP(TOTP_SECRET).now()
    assert auth.check_code(staff_db, "admin", code, secret="test-only-key")
    assert not auth.check_code(staff_db, "admin", code, secret="test-only-key")
    client = app.test_client()
    sign_in_page = client.get("/staff/login")
    token = re.search(
        r'name="csrf_token" type="hidden" value="([^"]+)"', sign_in_page.get_data(as_text=True)
    )
    client.post(
        "/staff/login",
        data={"csrf_token": token.group(1), "username": "admin", "password": PASSWORD},
    )
    code_page = client.get("/staff/login/code").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', code_page).group(1)
    assert (
        client.post("/staff/login/code", data={"csrf_token": token, "code": code}).status_code
        == 400
    )
    assert client.get("/staff/users").status_code == 302  # still not through


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/forms/status/",
    ],
)
def test_no_open_redirect_through_next(app, staff_db, target):
    client = app.test_client()
    page = client.get("/staff/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/staff/login",
        query_string={"next": target},
        data={"csrf_token": token, "username": "officer", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/staff/"


def test_passwords_are_argon2id_and_never_stored_plain(staff_db):
    row = staff_db.execute("SELECT password_hash FROM staff WHERE username = 'officer'").fetchone()
    assert row[0].startswith("$argon2id$") and PASSWORD not in row[0]
    with pytest.raises(auth.AccountError):
        auth.add_user(staff_db, "short", "officer", "too short", actor="test")


def test_the_back_office_speaks_english_under_en(signed_in):
    client = signed_in("officer")
    html = client.get("/en/staff/assistance/").get_data(as_text=True)
    assert '<html lang="en" dir="ltr"' in html and "Support requests" in html
    html = client.get("/staff/assistance/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl"' in html and "طلبات الدعم" in html
    assert "Support requests" not in html


@pytest.mark.parametrize("has_authenticator", [True, False], ids=["enrolled", "not-enrolled"])
def test_a_password_only_session_opens_nothing_but_its_second_factor(
    app, staff_db, a_case, has_authenticator
):
    """Every staff route, every method, with a valid CSRF token, from a session that has
    passed the password but not the code: only the second-factor page (and sign-out)."""
    username = "admin" if has_authenticator else "fresh-admin"
    if not has_authenticator:
        auth.add_user(staff_db, username, "admin", PASSWORD, actor="test")
    client = password_only(app.test_client(), username)
    second = "/staff/login/code" if has_authenticator else "/staff/totp"
    token = csrf_of(client, second)
    before = staff_db.execute("SELECT count(*) FROM events").fetchone()[0]
    for rule in staff_rules(app):
        view = rule.endpoint.rpartition(".")[2]
        if view in staff_session.PUBLIC or view == "logout":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url_of(rule), method=method, data={"csrf_token": token})
            if view == "totp" and not has_authenticator:
                assert response.status_code == (200 if method == "GET" else 400), method
                continue
            assert response.status_code == 302, (rule.rule, method, response.status_code)
            assert response.headers["Location"].endswith(second.removeprefix("/staff")), (
                rule.rule,
                method,
            )
    # Nothing was done on its behalf: no case moved, no note, no export, no view recorded.
    actions = {
        row[0]
        for row in staff_db.execute("SELECT action FROM events WHERE id > ?", [before]).fetchall()
    }
    assert actions == set(), actions


@pytest.mark.parametrize("role", ROLES)
def test_the_menu_offers_exactly_what_the_role_may_open(signed_in, role):
    """The menu asks the access rules (no role lists in templates)."""
    from bs4 import BeautifulSoup

    html = signed_in(role).get("/staff/dashboard").get_data(as_text=True)
    menu = BeautifulSoup(html, "html.parser").select("nav.staff-bar ul a")
    shown = {a["href"].removeprefix("/staff/").strip("/") or "index" for a in menu}
    pages = {"assistance": "queue", "volunteer": "queue", "feedback": "queue"}
    pages |= {"dashboard": "dashboard", "entry": "entry", "users": "users"}
    pages |= {"meetings": "meetings"}
    expected = {path for path, view in pages.items() if role in staff_session.ACCESS[view]}
    assert shown == expected
    current = [a["href"] for a in menu if a.get("aria-current") == "page"]
    assert current == ["/staff/dashboard"]


def test_a_password_only_session_is_offered_no_menu(app, staff_db):
    client = password_only(app.test_client())
    html = client.get("/staff/login/code").get_data(as_text=True)
    assert "/staff/users" not in html and "/staff/assistance/" not in html


def test_every_view_a_template_asks_about_is_one_access_knows():
    """may_open("…") answers False for a name ACCESS does not know, which would hide a link
    for everyone without a word: every name a template asks about is a key of ACCESS (the
    literal ones, and the views of the back office's menu)."""
    templates = Path(staff_session.__file__).parents[1] / "templates"
    asked = set()
    for template in templates.rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        asked |= set(re.findall(r"""may_open\(["']([a-z_]+)["']\)""", text))
        if "may_open(view)" in text:  # the menu: its list of (view, arguments, words)
            asked |= set(re.findall(r"""\(\s*["']([a-z_]+)["'],\s*\{""", text))
    assert {"queue", "users", "meeting", "export"} <= asked  # the scan finds what is there
    assert asked - set(staff_session.ACCESS) == set()


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_back_offices_errors_wear_its_own_layout(app, staff_db, lang):
    """A role that may not open a page, or an address that is not there, inside the back
    office: its own layout and words (not the public site's), the way back to the requests."""
    prefix = "/en" if lang == "en" else ""
    client = app.test_client()
    sign_in(client, "researcher", prefix=prefix)
    refused = client.get(f"{prefix}/staff/users")
    missing = client.get(f"{prefix}/staff/no-such-page")
    for response, code in ((refused, 403), (missing, 404)):
        assert response.status_code == code
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        assert soup.html["lang"] == lang
        assert soup.select_one("header.staff-header") is not None
        assert soup.select_one(".md-header, .md-sidebar, #portal-search-q") is None
        assert soup.find("a", href=f"{prefix}/staff/") is not None
    words = refused.get_data(as_text=True)
    assert ("Your role does not open this page" if lang == "en" else "دورك") in words
    public = app.test_client().get(f"{prefix}/forms/no-such-page")
    assert public.status_code == 404 and "staff-header" not in public.get_data(as_text=True)
