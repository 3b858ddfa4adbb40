"""Flask glue for staff sessions: the cookie, the current user, and who may open what."""

from urllib.parse import urlsplit

from flask import abort, g, redirect, request

from .. import auth, events
from ..db import get_db, immediate
from ..i18n import lang_url
from ..security import secure_cookies

COOKIE = "portal_staff"
SECURE_COOKIE = "__Host-portal_staff"  # over HTTPS: Secure, this host only, path /

# Every staff endpoint and the roles that may open it. A route missing here is refused
# (and a test fails), so a new page cannot ship without a rule.
EVERYONE = frozenset({"officer", "researcher", "committee", "admin"})
PUBLIC = frozenset({"login", "login_code"})
# Allowed before the second factor: signing out, and enrolling one when the account has none.
HALF_LOGGED_IN = frozenset({"totp", "logout"})
ACCESS = {
    "index": EVERYONE,
    "dashboard": EVERYONE,
    "queue": EVERYONE,
    "case": EVERYONE,
    "case_print": EVERYONE,
    "document": EVERYONE,
    "document_view": EVERYONE,
    "document_page": EVERYONE,
    "transition": EVERYONE,  # the lifecycle table decides the move itself
    "note": EVERYONE,
    "message": frozenset({"officer", "researcher", "admin"}),
    "assign": frozenset({"officer", "admin"}),
    "entry": frozenset({"officer", "admin"}),
    "export": frozenset({"committee", "admin"}),
    "password": EVERYONE,
    "totp": EVERYONE,
    "logout": EVERYONE,
    "users": frozenset({"admin"}),
    "user_update": frozenset({"admin"}),
    # The research committee's meetings: committee members and administrators run them
    # (the agenda, the decisions, closing, corrections); everyone reads the minutes.
    "meetings": EVERYONE,
    "minutes": EVERYONE,
    **dict.fromkeys(
        (
            "meeting_new",
            "meeting",
            "meeting_update",
            "meeting_agenda_add",
            "meeting_agenda_remove",
            "meeting_agenda_move",
            "meeting_decide",
            "meeting_close",
            "meeting_pack",
            "meeting_agenda_csv",
            "meeting_agenda_xlsx",
            "meeting_correction",
        ),
        frozenset({"committee", "admin"}),
    ),
}


def may_open(view: str) -> bool:
    """Whether the signed-in person's role may open this back-office view (from ACCESS):
    templates ask this instead of listing roles."""
    staff = g.get("staff")
    if staff is None or half_signed_in():
        return False
    return staff["role"] in ACCESS.get(view, ())


def view_name() -> str:
    return (request.endpoint or "").rpartition(".")[2]


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no '//' (no open redirect)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or not target.startswith(("/staff", "/en/staff")):
        return None
    return target


def cookie_name() -> str:
    return SECURE_COOKIE if secure_cookies() else COOKIE


def token() -> str | None:
    """This browser's staff session token, from the cookie of this scheme."""
    return request.cookies.get(cookie_name())


def half_signed_in() -> bool:
    """Passed the password, not yet the second factor this account needs."""
    return auth.needs_second_factor(g.staff) and not g.staff["second_factor_ok"]


def load_and_guard():
    """before_request of the staff blueprint."""
    db = get_db()
    g.staff = auth.session_user(db, token())
    view = view_name()
    if view in PUBLIC:
        return None
    if g.staff is None:
        return redirect(lang_url("staff.login", next=request.full_path.rstrip("?")))
    if half_signed_in():
        # Before the code, an account that has an authenticator may only type its code:
        # enrolling another one would replace the owner's (and skip the second factor).
        replacing = view == "totp" and g.staff["totp_secret"]
        if view not in HALF_LOGGED_IN or replacing:
            target = "staff.login_code" if g.staff["totp_secret"] else "staff.totp"
            return redirect(lang_url(target))
        return None
    if g.staff["role"] not in ACCESS.get(view, ()):
        # Refused access is recorded (who and which page; never the address or query).
        with immediate(db):
            events.record(db, events.Event("access_refused", actor(), detail={"view": view}))
        abort(403)
    return None


def set_cookie(response, value: str):
    response.set_cookie(
        cookie_name(), value, httponly=True, samesite="Lax", secure=secure_cookies(), path="/"
    )
    return response


def clear_cookie(response):
    response.delete_cookie(cookie_name(), path="/", secure=secure_cookies(), samesite="Lax")
    return response


def actor() -> str:
    return g.staff["username"]
