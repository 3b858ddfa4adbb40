"""Signing in and out: the password, the second factor (and enrolling one), a new password."""

import segno
from flask import (
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _

from .. import auth, events
from ..db import get_db, immediate
from ..i18n import lang_url
from . import session as staff_session
from .blueprint import bp, client
from .forms import (
    ActionForm,
    CodeForm,
    LoginForm,
    PasswordForm,
    TotpReplaceForm,
)
from .session import actor


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    db = get_db()
    error = None
    if form.validate_on_submit():
        secret = current_app.config["SECRET_KEY"]
        if auth.throttled(db, form.username.data, client(), secret):
            error = _("Too many failed attempts. Wait 15 minutes and try again.")
        else:
            user = auth.authenticate(db, form.username.data, form.password.data, client(), secret)
            if user is None:
                error = _("The user name or password is not right.")
            else:
                auth.end_session(db, staff_session.token())
                token = auth.start_session(
                    db, user["username"], second_factor_ok=not auth.needs_second_factor(user)
                )
                target = staff_session.safe_next(request.args.get("next")) or lang_url(
                    "staff.index"
                )
                session.clear()  # nothing of an earlier visit carries over into the back office
                return staff_session.set_cookie(redirect(target), token)
    status = 400 if (error or form.errors) else 200
    return render_template("staff/login.html", form=form, error=error), status


def _locked_out():
    """Too many wrong codes: the half session ends; signing in again waits for the window."""
    auth.end_session(get_db(), staff_session.token())
    session.clear()
    flash(_("Too many wrong codes. Wait 15 minutes, then sign in again."), "error")
    return staff_session.clear_cookie(redirect(lang_url("staff.login")))


def _fully_signed_in(db, response):
    """The second factor passed: a new session id (the half session's ends), recorded."""
    username = actor()
    auth.end_session(db, staff_session.token())
    token = auth.start_session(db, username, second_factor_ok=True)
    with immediate(db):
        events.record(db, events.Event("second_factor_passed", username))
    return staff_session.set_cookie(response, token)


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    if g.staff is None:
        return redirect(lang_url("staff.login"))
    if not g.staff["totp_secret"]:
        return redirect(lang_url("staff.totp"))
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        db = get_db()
        try:
            ok = auth.check_code(
                db, actor(), form.code.data, secret=current_app.config["SECRET_KEY"]
            )
        except auth.CodeLockout:
            return _locked_out()
        if ok:
            return _fully_signed_in(db, redirect(lang_url("staff.index")))
        error = _("The code is not right, or was already used. Wait for the next code.")
    return render_template("staff/code.html", form=form, error=error), 400 if error else 200


@bp.route("/totp", methods=["GET", "POST"])
def totp():
    """Enrol an authenticator app (required for administrators), or replace one.

    The secret is made and kept on the server for this session. Replacing an existing
    authenticator needs the password and a code from the current one (the guard lets a
    half-signed-in session here only when the account has none).
    """
    db = get_db()
    replacing = bool(g.staff["totp_secret"])
    form = TotpReplaceForm() if replacing else CodeForm()
    secret = auth.pending_secret(db, staff_session.token())
    key = current_app.config["SECRET_KEY"]
    error = None
    if form.validate_on_submit():
        try:
            error = _replace_check(db, form, key) if replacing else None
            if error is None:
                if auth.enrol_totp(db, staff_session.token(), actor(), form.code.data, secret=key):
                    flash(_("Two-step sign-in is on."))
                    return _fully_signed_in(db, redirect(lang_url("staff.index")))
                error = _("The code is not right. Check the time on your phone and try again.")
        except auth.CodeLockout:
            return _locked_out()
    return render_template(
        "staff/totp.html", form=form, secret=secret, qr=_qr(secret), error=error
    ), 400 if (error or form.errors) else 200


def _replace_check(db, form, key) -> str | None:
    """Replacing an authenticator: the password, then a code from the current one."""
    if auth.throttled(db, actor(), client(), key):
        return _("Too many failed attempts. Wait 15 minutes and try again.")
    if not auth.authenticate(db, actor(), form.password.data, client(), key):
        return _("The current password is not right.")
    if not auth.check_code(db, actor(), form.current_code.data, secret=key):
        return _("The code from your current app is not right, or was already used.")
    return None


def _qr(secret: str) -> str:
    uri = auth.totp_uri(
        secret, actor(), current_app.config.get("PORTAL_TOTP_ISSUER", "Jamoum Orphan Care")
    )
    return segno.make(uri, error="m").svg_inline(
        scale=4, title=_("QR code for the authenticator app")
    )


@bp.post("/logout")
def logout():
    if not ActionForm().validate():
        abort(400)
    auth.end_session(get_db(), staff_session.token(), actor())
    session.clear()
    return staff_session.clear_cookie(redirect(lang_url("staff.login")))


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        db = get_db()
        key = current_app.config["SECRET_KEY"]
        if auth.throttled(db, actor(), client(), key):
            error = _("Too many failed attempts. Wait 15 minutes and try again.")
        elif auth.authenticate(db, actor(), form.current.data, client(), key):
            auth.set_password(db, actor(), form.new.data, actor=actor())
            token = auth.start_session(db, actor(), second_factor_ok=True)
            flash(_("Your password was changed. Other sessions were signed out."))
            return staff_session.set_cookie(redirect(lang_url("staff.index")), token)
        else:
            error = _("The current password is not right.")
    return render_template("staff/password.html", form=form, error=error), 400 if (
        error or form.errors
    ) else 200
