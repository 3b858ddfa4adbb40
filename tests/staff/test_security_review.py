"""Attacks from the security review of the back office, each pinned so it stays closed.

Findings 1, 2, 4 (staff side), 5, 8, 11 and 13; see SECURITY.md.
"""

import base64
import datetime as dt
import json
import logging
import re
import time
import zlib

import pyotp
import pytest

from forms_service import auth, clock, ratelimit
from forms_service.staff import session as staff_session
from tests.conftest import make_app
from tests.forms.helpers import VALID_ID
from tests.staff.conftest import PASSWORD, TOTP_SECRET, csrf_of, password_only, sign_in

ATTACKER_SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"
KEY = "test-only-key"


def token_of(client, url):
    return csrf_of(client, url)


def events(db, action):
    return db.execute("SELECT actor, detail FROM events WHERE action = ?", [action]).fetchall()


def stored_secret(db, username="admin"):
    return db.execute("SELECT totp_secret FROM staff WHERE username = ?", [username]).fetchone()[0]


def next_code(secret, steps=1):
    """A valid code of a later time step than the current one (the current one may be used)."""
    totp = pyotp.TOTP(secret)
    return totp.at(time.time() + steps * totp.interval)


# ------------------------------------------------------------ 1. the second factor


def test_a_password_only_session_cannot_enrol_its_own_authenticator(app, staff_db):
    client = password_only(app.test_client())
    # The enrolment page is closed to it: the account has an authenticator already.
    response = client.get("/staff/totp")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")
    token = token_of(client, "/staff/login/code")
    response = client.post(
        "/staff/totp",
        data={
            "csrf_token": token,
            "secret": ATTACKER_SECRET,
            "code": pyotp.TOTP(ATTACKER_SECRET).now(),
        },
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")
    assert client.get("/staff/users").status_code == 302  # not through
    assert stored_secret(staff_db) == TOTP_SECRET  # the owner's app still works
    assert auth.check_code(staff_db, "admin", pyotp.TOTP(TOTP_SECRET).now(), secret=KEY)


def test_the_enrolled_secret_is_the_servers_not_the_forms(app, staff_db):
    auth.add_user(staff_db, "newadmin", "admin", PASSWORD, actor="test")
    client = password_only(app.test_client(), "newadmin")
    page = client.get("/staff/totp").get_data(as_text=True)
    assert 'name="secret"' not in page
    shown = re.search(r'<code dir="ltr" translate="no">([A-Z2-7]+)</code>', page).group(1)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    # A secret of the attacker's choosing, with a valid code for it, is refused.
    response = client.post(
        "/staff/totp",
        data={
            "csrf_token": token,
            "secret": ATTACKER_SECRET,
            "code": pyotp.TOTP(ATTACKER_SECRET).now(),
        },
    )
    assert response.status_code == 400
    assert stored_secret(staff_db, "newadmin") is None
    # The page keeps offering the same server-side secret, and its code turns it on.
    again = client.get("/staff/totp").get_data(as_text=True)
    assert shown in again
    response = client.post(
        "/staff/totp", data={"csrf_token": token, "code": pyotp.TOTP(shown).now()}
    )
    assert response.status_code == 302
    assert stored_secret(staff_db, "newadmin") == shown
    assert [a for a, _d in events(staff_db, "totp_enrolled")] == ["newadmin"]


def test_replacing_an_authenticator_needs_the_password_and_a_current_code(app, signed_in, staff_db):
    client = signed_in("admin")
    other = app.test_client()  # another browser of the same person, fully signed in
    other.set_cookie(
        staff_session.COOKIE, auth.start_session(staff_db, "admin", second_factor_ok=True)
    )
    assert other.get("/staff/users").status_code == 200
    page = client.get("/staff/totp").get_data(as_text=True)
    new_secret = re.search(r'<code dir="ltr" translate="no">([A-Z2-7]+)</code>', page).group(1)
    token = token_of(client, "/staff/totp")
    new_code = pyotp.TOTP(new_secret).now()
    # A new code alone is not enough, nor a wrong password, nor a missing current code.
    for data in (
        {"code": new_code},
        {"code": new_code, "password": "not the password!", "current_code": "000000"},
        {"code": new_code, "password": PASSWORD, "current_code": ""},
    ):
        response = client.post("/staff/totp", data={"csrf_token": token, **data})
        assert response.status_code == 400, data
        assert stored_secret(staff_db) == TOTP_SECRET
    response = client.post(
        "/staff/totp",
        data={
            "csrf_token": token,
            "code": new_code,
            "password": PASSWORD,
            "current_code": next_code(TOTP_SECRET),
        },
    )
    assert response.status_code == 302
    assert stored_secret(staff_db) == new_secret
    assert events(staff_db, "totp_replaced")
    assert client.get("/staff/users").status_code == 200
    assert other.get("/staff/users").status_code == 302  # other sessions end


def test_a_malformed_secret_posted_to_enrolment_is_not_an_error_500(app, staff_db):
    auth.add_user(staff_db, "newadmin", "admin", PASSWORD, actor="test")
    client = password_only(app.test_client(), "newadmin")
    token = token_of(client, "/staff/totp")
    for secret in ("!!!", "a" * 5000, "０", ""):
        response = client.post(
            "/staff/totp", data={"csrf_token": token, "secret": secret, "code": "123456"}
        )
        assert response.status_code == 400, secret


# ------------------------------------------------------------ 2. guessing codes


def test_wrong_codes_end_the_half_session_and_lock_the_account(site_dir, tmp_path, staff_db):
    # Two app instances on one database: the count is shared by every worker.
    apps = [make_app(tmp_path), make_app(tmp_path)]
    client = password_only(apps[0].test_client())
    token = token_of(client, "/staff/login/code")
    wrong = f"{(int(pyotp.TOTP(TOTP_SECRET).now()) + 1) % 1_000_000:06d}"
    for attempt in range(auth.MAX_CODE_FAILURES - 1):
        response = client.post("/staff/login/code", data={"csrf_token": token, "code": wrong})
        assert response.status_code == 400, attempt
    second = password_only(apps[1].test_client())
    token2 = token_of(second, "/staff/login/code")
    response = second.post("/staff/login/code", data={"csrf_token": token2, "code": wrong})
    assert response.status_code == 302 and response.headers["Location"].endswith("/staff/login")
    # The half session is gone: even the right code no longer gets in, in either browser.
    for browser, csrf in ((client, token), (second, token2)):
        browser.post(
            "/staff/login/code", data={"csrf_token": csrf, "code": pyotp.TOTP(TOTP_SECRET).now()}
        )
        assert browser.get("/staff/users").status_code == 302
    assert (
        staff_db.execute("SELECT count(*) FROM staff_sessions WHERE username = 'admin'").fetchone()[
            0
        ]
        == 0
    )
    assert len(events(staff_db, "code_failed")) == auth.MAX_CODE_FAILURES
    assert len(events(staff_db, "second_factor_locked")) == 1
    # The account's sign-in throttle now applies: the right password is refused.
    response = sign_in(apps[1].test_client(), "admin")
    assert response.status_code == 400 and "15" in response.get_data(as_text=True)


def test_300_guesses_do_not_end_with_the_right_code_working(app, staff_db):
    client = password_only(app.test_client())
    token = token_of(client, "/staff/login/code")
    for guess in range(300):
        client.post("/staff/login/code", data={"csrf_token": token, "code": f"{guess:06d}"})
    response = client.post(
        "/staff/login/code", data={"csrf_token": token, "code": pyotp.TOTP(TOTP_SECRET).now()}
    )
    assert response.headers["Location"].endswith("/staff/login")  # the session had ended
    assert client.get("/staff/users").status_code == 302
    assert len(events(staff_db, "code_failed")) == auth.MAX_CODE_FAILURES


# ------------------------------------------------------------ 4. cookies


def cookie_payload(value: str) -> str:
    """What anyone holding Flask's session cookie can read without the key."""
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    data = json.loads(zlib.decompress(raw) if compressed else raw)
    return json.dumps(data, ensure_ascii=False)


def all_cookie_text(client) -> str:
    text = []
    for name in ("portal_session", "__Host-portal_session"):
        cookie = client.get_cookie(name)
        if cookie is not None:
            text.append(cookie_payload(cookie.value))
    return " ".join(text)


def test_staff_search_words_stay_on_the_server(app, signed_in, staff_db):
    client = signed_in("officer")
    token = token_of(client, "/staff/assistance/")
    name = "فاطمة الزهراني"
    for words in (VALID_ID, name):
        response = client.post("/staff/assistance/", data={"csrf_token": token, "q": words})
        assert response.status_code == 302
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert f'value="{words}"' in page  # the search is still applied
        assert words not in all_cookie_text(client)
        assert words not in response.headers["Location"]
    # Signing out ends the search with the session; signing in again starts empty.
    client.post("/staff/logout", data={"csrf_token": token_of(client, "/staff/assistance/")})
    sign_in(client, "officer")
    assert name not in client.get("/staff/assistance/").get_data(as_text=True)


def test_signing_in_and_out_clears_what_the_browser_held(app, staff_db):
    client = app.test_client()
    with client.session_transaction() as saved:
        saved["draft"] = "left-by-an-earlier-visitor"
    sign_in(client, "officer")
    with client.session_transaction() as saved:
        assert "draft" not in saved
        saved["draft"] = "again"
    client.post("/staff/logout", data={"csrf_token": token_of(client, "/staff/assistance/")})
    with client.session_transaction() as saved:
        assert "draft" not in saved


@pytest.mark.parametrize("setting", ["auto", "1"])
def test_cookies_are_secure_with_a_host_prefix_over_https(site_dir, tmp_path, setting):
    app = make_app(tmp_path, PORTAL_SECURE_COOKIES=setting)
    from forms_service import db as dbm

    database = dbm.connect(app.config["PORTAL_DB"])
    auth.add_user(database, "officer", "officer", PASSWORD, actor="test")
    client = app.test_client()
    base = "https://portal.example" if setting == "auto" else "http://127.0.0.1"
    page = client.get("/staff/login", base_url=base)
    session_header = page.headers["Set-Cookie"]
    assert session_header.startswith("__Host-portal_session=") and "Secure" in session_header
    assert "Domain" not in session_header and "Path=/" in session_header
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(True))
    response = client.post(
        "/staff/login",
        base_url=base,
        data={"csrf_token": token.group(1), "username": "officer", "password": PASSWORD},
    )
    staff_cookie = next(h for h in response.headers.getlist("Set-Cookie") if "portal_staff" in h)
    assert staff_cookie.startswith(f"{staff_session.SECURE_COOKIE}=") and "Secure" in staff_cookie
    assert client.get("/staff/assistance/", base_url=base).status_code == 200
    database.close()


def test_plain_http_cookies_keep_their_plain_names(app, staff_db):
    response = sign_in(app.test_client(), "officer")
    assert response.headers["Set-Cookie"].startswith(f"{staff_session.COOKIE}=")
    assert "Secure" not in response.headers["Set-Cookie"]


# ------------------------------------------------------------ 5. users page


def test_an_administrator_disables_a_user_and_changes_a_role(app, signed_in, staff_db):
    admin = signed_in("admin")
    officer = signed_in("officer")
    page = admin.get("/staff/users").get_data(as_text=True)
    token = re.search(r'name="officer-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = admin.post(
        "/staff/users/officer", data={"officer-csrf_token": token, "officer-role": "researcher"}
    )
    assert response.status_code == 302
    row = staff_db.execute("SELECT role, active FROM staff WHERE username = 'officer'").fetchone()
    assert tuple(row) == ("researcher", 0)
    assert officer.get("/staff/assistance/").status_code == 302  # the leaver is cut off
    assert events(staff_db, "staff_disabled") and events(staff_db, "staff_role")


def test_an_administrator_removes_a_users_second_factor(app, signed_in, staff_db):
    staff_db.execute("UPDATE staff SET totp_secret = ? WHERE username = 'officer'", [TOTP_SECRET])
    staff_db.conn.commit()
    admin = signed_in("admin")
    page = admin.get("/staff/users").get_data(as_text=True)
    token = re.search(r'name="officer-csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = admin.post(
        "/staff/users/officer",
        data={
            "officer-csrf_token": token,
            "officer-role": "officer",
            "officer-active": "y",
            "officer-reset_totp": "y",
        },
    )
    assert response.status_code == 302
    assert stored_secret(staff_db, "officer") is None
    detail = [json.loads(d) for _a, d in events(staff_db, "totp_cleared")]
    assert detail == [{"username": "officer"}]
    assert not events(staff_db, "staff_role")  # nothing else changed, nothing else recorded


def test_the_users_form_without_its_token_is_refused(signed_in):
    admin = signed_in("admin")
    response = admin.post("/staff/users/officer", data={"officer-role": "admin"})
    assert response.status_code == 400


# ------------------------------------------------------------ 8. password change


def test_password_change_is_throttled(app, signed_in, staff_db):
    client = signed_in("officer")
    token = token_of(client, "/staff/password")
    new = "a brand new pass phrase"
    for attempt in range(8):
        response = client.post(
            "/staff/password",
            data={"csrf_token": token, "current": f"wrong guess {attempt}!", "new": new},
        )
        assert response.status_code == 400
    response = client.post(
        "/staff/password", data={"csrf_token": token, "current": PASSWORD, "new": new}
    )
    assert response.status_code == 400 and "15" in response.get_data(as_text=True)
    assert auth.authenticate(staff_db, "officer", PASSWORD, "203.0.113.9", "other-key")


# ------------------------------------------------------------ 11. client addresses


def test_ipv6_clients_are_counted_by_their_64(app, staff_db):
    settings = {"scope": "t", "spec": "2/hour", "secret": KEY}
    assert ratelimit.allow(staff_db, client="2001:db8:1:2::1", **settings)
    assert ratelimit.allow(staff_db, client="2001:db8:1:2:ffff::9", **settings)
    assert not ratelimit.allow(staff_db, client="2001:db8:1:2:abcd::7", **settings)
    assert ratelimit.allow(staff_db, client="2001:db8:1:3::1", **settings)  # another /64
    assert ratelimit.client_key("::ffff:198.51.100.7") == "198.51.100.7"
    assert ratelimit.client_key("198.51.100.7") == "198.51.100.7"


def test_sign_in_throttling_counts_ipv6_by_their_64(app, staff_db):
    for n in range(auth.MAX_FAILURES_PER_ADDRESS):
        auth.authenticate(staff_db, f"nobody{n}", "x", f"2001:db8::{n + 1:x}", KEY)
    assert auth.throttled(staff_db, "someone-else", "2001:db8::ffff", KEY)
    assert not auth.throttled(staff_db, "someone-else", "2001:db8:0:1::1", KEY)


def test_forwarded_headers_without_proxies_are_reported_once(app, caplog):
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            client.get("/healthz", headers={"X-Forwarded-For": "198.51.100.23"})
    warnings = [r for r in caplog.records if "PORTAL_PROXIES" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelno >= logging.WARNING
    assert "198.51.100.23" not in caplog.text


def test_configured_proxies_are_quiet(site_dir, tmp_path, caplog):
    app = make_app(tmp_path, PORTAL_PROXIES=1)
    with caplog.at_level(logging.WARNING):
        app.test_client().get("/healthz", headers={"X-Forwarded-For": "198.51.100.23"})
    assert "PORTAL_PROXIES" not in caplog.text


# ------------------------------------------------------------ sessions (ASVS V7, V16)


def test_passing_the_second_factor_gives_a_new_session_id_and_is_recorded(app, staff_db):
    client = password_only(app.test_client())
    half = client.get_cookie(staff_session.COOKIE).value
    token = token_of(client, "/staff/login/code")
    response = client.post(
        "/staff/login/code", data={"csrf_token": token, "code": pyotp.TOTP(TOTP_SECRET).now()}
    )
    assert response.status_code == 302
    full = client.get_cookie(staff_session.COOKIE).value
    assert full != half
    assert client.get("/staff/users").status_code == 200
    replay = app.test_client()
    replay.set_cookie(staff_session.COOKIE, half)  # the half session's id is over
    assert replay.get("/staff/login/code").headers["Location"].endswith("/staff/login")
    assert [a for a, _d in events(staff_db, "second_factor_passed")] == ["admin"]


def test_a_refused_page_is_recorded(signed_in, staff_db):
    client = signed_in("researcher")
    assert client.get("/staff/users").status_code == 403
    refused = [(a, json.loads(d)) for a, d in events(staff_db, "access_refused")]
    assert refused == [("researcher", {"view": "users"})]


def test_a_session_ends_after_twelve_hours_however_busy(app, signed_in, staff_db):
    client = signed_in("officer")
    staff_db.execute(
        "UPDATE staff_sessions SET created_at = ?",
        [(clock.now_utc() - auth.ABSOLUTE_TIMEOUT - dt.timedelta(minutes=1)).isoformat()],
    )
    staff_db.conn.commit()
    response = client.get("/staff/assistance/")  # used a second ago: still too old
    assert response.status_code == 302 and "/staff/login" in response.headers["Location"]


def test_a_new_password_ends_every_other_session(app, signed_in, staff_db):
    client, other = signed_in("officer"), signed_in("officer")
    token = token_of(client, "/staff/password")
    new = "a brand new pass phrase"
    response = client.post(
        "/staff/password", data={"csrf_token": token, "current": PASSWORD, "new": new}
    )
    assert response.status_code == 302
    assert client.get("/staff/assistance/").status_code == 200
    assert other.get("/staff/assistance/").status_code == 302
    assert auth.authenticate(staff_db, "officer", new, "203.0.113.9", KEY)
