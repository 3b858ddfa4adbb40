"""The staff back office: login, the queue, the case, actions, staff entry, users. Thin views."""

import datetime as dt
import re
import secrets
from pathlib import Path

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    session,
)
from flask_babel import gettext as _

from . import auth, choices, lifecycle, listing, queue, staff_session, uploads
from .dashboard import stats as dashboard_stats
from .db import get_db
from .export import export_response
from .i18n import lang_url
from .identifiers import format_reference
from .lifecycle import Kind
from .records import assistance_record
from .staff_forms import (
    STAFF_ENTRY_VERSION,
    ActionForm,
    AssignForm,
    CodeForm,
    LoginForm,
    MessageForm,
    NoteForm,
    PasswordForm,
    StaffEntryForm,
    TotpReplaceForm,
    TransitionForm,
    UserAddForm,
    UserUpdateForm,
)
from .staff_session import actor
from .templating import state_label

bp = Blueprint("staff", __name__)
bp.before_request(staff_session.load_and_guard)


def register(app):
    app.register_blueprint(bp, url_prefix="/staff", name="staff_ar")
    app.register_blueprint(bp, url_prefix="/en/staff", name="staff_en")


def _client() -> str:
    return request.remote_addr or ""


# ------------------------------------------------------------ signing in and out


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    db = get_db()
    error = None
    if form.validate_on_submit():
        secret = current_app.config["SECRET_KEY"]
        if auth.throttled(db, form.username.data, _client(), secret):
            error = _("Too many failed attempts. Wait 15 minutes and try again.")
        else:
            user = auth.authenticate(db, form.username.data, form.password.data, _client(), secret)
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
            auth.second_factor_done(db, staff_session.token())
            return redirect(lang_url("staff.index"))
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
                    return redirect(lang_url("staff.index"))
                error = _("The code is not right. Check the time on your phone and try again.")
        except auth.CodeLockout:
            return _locked_out()
    return render_template(
        "staff/totp.html", form=form, secret=secret, qr=_qr(secret), error=error
    ), 400 if (error or form.errors) else 200


def _replace_check(db, form, key) -> str | None:
    """Replacing an authenticator: the password, then a code from the current one."""
    if auth.throttled(db, actor(), _client(), key):
        return _("Too many failed attempts. Wait 15 minutes and try again.")
    if not auth.authenticate(db, actor(), form.password.data, _client(), key):
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
        if auth.throttled(db, actor(), _client(), key):
            error = _("Too many failed attempts. Wait 15 minutes and try again.")
        elif auth.authenticate(db, actor(), form.current.data, _client(), key):
            auth.set_password(db, actor(), form.new.data, actor=actor())
            token = auth.start_session(db, actor(), second_factor_ok=True)
            flash(_("Your password was changed. Other sessions were signed out."))
            return staff_session.set_cookie(redirect(lang_url("staff.index")), token)
        else:
            error = _("The current password is not right.")
    return render_template("staff/password.html", form=form, error=error), 400 if (
        error or form.errors
    ) else 200


# ------------------------------------------------------------ the queue


@bp.get("/")
def index():
    return redirect(lang_url("staff.queue", kind="assistance"))


def _filters(kind: Kind) -> listing.Filters:
    args = request.args

    def day(name):
        try:
            return dt.date.fromisoformat(args.get(name, ""))
        except ValueError:
            return None

    return listing.Filters(
        kind=kind,
        state=args.get("state", "") if args.get("state", "") in lifecycle.STATES_OF[kind] else "",
        assigned=args.get("assigned", "") if args.get("assigned") in ("me", "none") else "",
        overdue=args.get("overdue") == "1",
        since=day("since"),
        until=day("until"),
        channel=args.get("channel", ""),
        # Searches hold names and IDs: kept in the server-side session, never in a URL or cookie.
        q=auth.searches(g.staff).get(str(kind), ""),
        newest_first=args.get("sort") == "newest",
        # [0-9] only: str.isdigit() also accepts "²" and "٣", which int() may refuse.
        page=min(int(args["page"]), 10_000)
        if re.fullmatch(r"[1-9][0-9]{0,5}", args.get("page", ""))
        else 1,
        me=actor(),
        late_days=current_app.config["PORTAL_ANSWER_DAYS"],
    )


def _queue(kind):
    kind = Kind(kind)
    if request.method == "POST":
        return _search_redirect(kind)
    filters = _filters(kind)
    rows, total = listing.page(get_db(), filters)
    counts = listing.counts(get_db(), filters)
    return render_template(
        "staff/list.html",
        kind=kind,
        filters=filters,
        rows=rows,
        total=total,
        counts=counts,
        page_size=listing.PAGE_SIZE,
    )


def _search_redirect(kind: Kind):
    """The filter form posts: the search words go to the session, the rest to the URL."""
    if not ActionForm().validate():
        abort(400)
    form = request.form
    searches = auth.searches(g.staff)
    if form.get("clear"):
        searches.pop(str(kind), None)
        auth.save_searches(get_db(), staff_session.token(), searches)
        return redirect(lang_url("staff.queue", kind=kind))
    searches[str(kind)] = form.get("q", "")[:100]
    auth.save_searches(get_db(), staff_session.token(), searches)
    keep = {
        k: form.get(k)
        for k in ("state", "assigned", "overdue", "since", "until", "channel", "sort")
    }
    return redirect(lang_url("staff.queue", kind=kind, **{k: v for k, v in keep.items() if v}))


bp.add_url_rule(
    "/<any(assistance, volunteer, feedback):kind>/", "queue", _queue, methods=["GET", "POST"]
)


# ------------------------------------------------------------ the case


def _case_or_404(case_id: int) -> dict:
    row = queue.get(get_db(), case_id)
    if row is None:
        abort(404)
    return row


@bp.get("/case/<int:case_id>")
def case(case_id):
    db = get_db()
    row = _case_or_404(case_id)
    queue.record_view(db, case_id, actor=actor())
    return render_template(
        "staff/case.html",
        row=row,
        orphans=queue.orphans_of(db, case_id),
        documents=queue.documents_of(db, case_id),
        history=queue.history(db, case_id),
        duplicates=listing.possible_duplicates(db, row) if row["kind"] == Kind.ASSISTANCE else [],
        moves=lifecycle.next_states(g.staff["role"], row["kind"], row["state"]),
        needs_reason=lifecycle.NEEDS_REASON,
        transition_form=TransitionForm(),
        note_form=NoteForm(),
        message_form=MessageForm(),
        assign_form=_assign_form(row),
        staff_users=[u["username"] for u in auth.users(db) if u["active"]],
    )


def _assign_form(row):
    form = AssignForm(username=row["assigned_to"] or "")
    form.username.choices = [("", _("Nobody"))] + [
        (u["username"], u["username"]) for u in auth.users(get_db()) if u["active"]
    ]
    return form


@bp.get("/case/<int:case_id>/print")
def case_print(case_id):
    db = get_db()
    row = _case_or_404(case_id)
    queue.record_view(db, case_id, actor=actor(), what="case_sheet")
    return render_template(
        "staff/case_print.html",
        row=row,
        orphans=queue.orphans_of(db, case_id),
        documents=queue.documents_of(db, case_id),
    )


@bp.get("/case/<int:case_id>/document/<int:document_id>")
def document(case_id, document_id):
    db = get_db()
    docs = {d["id"]: d for d in queue.documents_of(db, case_id)}
    if document_id not in docs:
        abort(404)
    doc = docs[document_id]
    queue.record_view(db, case_id, actor=actor(), what=f"document:{doc['kind']}")
    path = Path(current_app.config["PORTAL_UPLOADS"]) / doc["stored_name"]
    response = make_response(
        send_file(
            path,
            mimetype=doc["content_type"],
            as_attachment=True,
            download_name=f"{row_ref(db, case_id)}-{doc['kind']}{path.suffix}",
        )
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def row_ref(db, case_id) -> str:
    return queue.get(db, case_id)["reference"]


def _validated(form) -> bool:
    """Validate a case form; a missing or wrong token is refused outright."""
    valid = form.validate()
    if "csrf_token" in form and form.csrf_token.errors:
        abort(400)
    return valid


def _back(case_id):
    return redirect(lang_url("staff.case", case_id=case_id))


@bp.post("/case/<int:case_id>/transition")
def transition(case_id):
    _case_or_404(case_id)
    form = TransitionForm()
    if not form.validate():
        abort(400)
    try:
        queue.transition(
            get_db(),
            case_id,
            form.target.data,
            actor=actor(),
            role=g.staff["role"],
            reason=form.reason.data,
            expected=form.expected.data or None,
        )
    except queue.ReasonRequired:
        flash(_("Write the reason first."), "error")
    except queue.LostRace:
        flash(
            _("Someone else moved this case first. Nothing was changed; check its state now."),
            "error",
        )
    except (queue.InvalidTransition, ValueError):
        abort(403)
    else:
        flash(_("The case moved to: %(state)s.", state=state_word(form.target.data)))
    return _back(case_id)


def state_word(state: str) -> str:
    return state_label(state)


@bp.post("/case/<int:case_id>/note")
def note(case_id):
    _case_or_404(case_id)
    form = NoteForm()
    if _validated(form):
        queue.add_note(get_db(), case_id, form.text.data, actor=actor())
        flash(_("Note added."))
    else:
        flash(_("Write the note."), "error")
    return _back(case_id)


@bp.post("/case/<int:case_id>/message")
def message(case_id):
    _case_or_404(case_id)
    form = MessageForm()
    if _validated(form):
        queue.message_applicant(get_db(), case_id, form.text.data, actor=actor())
        flash(_("The message is on the status page."))
    else:
        flash(_("Write the message."), "error")
    return _back(case_id)


@bp.post("/case/<int:case_id>/assign")
def assign(case_id):
    row = _case_or_404(case_id)
    form = _assign_form(row)
    if not form.validate():
        abort(400)
    queue.assign(get_db(), case_id, form.username.data or None, actor=actor())
    flash(_("Assignment saved."))
    return _back(case_id)


# ------------------------------------------------------------ staff entry


@bp.route("/entry", methods=["GET", "POST"])
def entry():
    """A request received in person, by phone, by letter or through a branch delegate."""
    form = StaffEntryForm()
    form.set_channels(g.lang)
    if request.form.get("action") == "add":
        form = StaffEntryForm(formdata=request.form)
        form.set_channels(g.lang)
        form.orphans.append_entry()
        return render_template("staff/entry.html", form=form, form_key=request.form.get("form_key"))
    if request.method == "POST" and form.validate():
        fields, orphans = assistance_record(form)
        if form.id_override_reason.data:
            fields["id_override_reason"] = form.id_override_reason.data
        attestation = queue.Attestation(
            str(form.attested_on_paper.label.text), STAFF_ENTRY_VERSION, g.lang
        )
        receipt = queue.submit(
            get_db(),
            kind=Kind.ASSISTANCE,
            lang=g.lang,
            fields=fields,
            orphans=orphans,
            channel=form.channel.data,
            actor=actor(),
            attestation=attestation,
            answer_days=current_app.config["PORTAL_ANSWER_DAYS"],
            form_key=request.form.get("form_key") or None,
        )
        for kind, _label in choices.DOCUMENT_KIND:
            chosen = request.files.get(f"documents-{kind}")
            if chosen and chosen.filename:
                try:
                    stored = uploads.store(chosen, Path(current_app.config["PORTAL_UPLOADS"]))
                except uploads.UploadError as error:
                    flash(f"{choices.label(choices.DOCUMENT_KIND, kind)}: {error.args[0]}", "error")
                    continue
                queue.attach_document(get_db(), receipt.submission_id, kind, stored, actor=actor())
        flash(
            _(
                "The request was entered: %(reference)s.",
                reference=format_reference(receipt.reference),
            )
        )
        return redirect(lang_url("staff.case", case_id=receipt.submission_id))
    form_key = request.form.get("form_key") or secrets.token_urlsafe(24)
    return render_template(
        "staff/entry.html", form=form, form_key=form_key
    ), 400 if form.errors else 200


# ------------------------------------------------------------ users (admin)


@bp.route("/users", methods=["GET", "POST"])
def users():
    db = get_db()
    form = UserAddForm()
    if form.validate_on_submit():
        try:
            auth.add_user(db, form.username.data, form.role.data, form.password.data, actor=actor())
        except auth.AccountError:
            form.username.errors = [_("This user name is taken.")]
        else:
            flash(_("User %(name)s added.", name=form.username.data))
            return redirect(lang_url("staff.users"))
    rows = auth.users(db)
    updates = {
        u["username"]: UserUpdateForm(
            prefix=u["username"], role=u["role"], active=bool(u["active"])
        )
        for u in rows
    }
    return render_template(
        "staff/users.html", form=form, rows=rows, updates=updates
    ), 400 if form.errors else 200


@bp.post("/users/<username>")
def user_update(username):
    db = get_db()
    user = auth.get_user(db, username)
    if user is None:
        abort(404)
    form = UserUpdateForm(prefix=username)
    if not form.validate():
        abort(400)
    if username == actor() and (form.role.data != "admin" or not form.active.data):
        flash(_("You cannot remove your own administrator access."), "error")
        return redirect(lang_url("staff.users"))
    # Only what changed is written (and recorded); each change ends the user's sessions.
    if form.role.data != user["role"]:
        auth.set_role(db, username, form.role.data, actor=actor())
    if form.active.data != bool(user["active"]):
        auth.set_active(db, username, form.active.data, actor=actor())
    if form.reset_totp.data and user["totp_secret"]:
        auth.clear_totp(db, username, actor=actor())
    flash(_("User %(name)s updated.", name=username))
    return redirect(lang_url("staff.users"))


# ------------------------------------------------------------ dashboard and exports


@bp.get("/dashboard")
def dashboard():
    return render_template(
        "staff/dashboard.html",
        stats=dashboard_stats(get_db(), late_days=current_app.config["PORTAL_ANSWER_DAYS"]),
    )


@bp.get("/<any(assistance, volunteer, feedback):kind>/export.<any(csv, xlsx, json):fmt>")
def export(kind, fmt):
    filters = _filters(Kind(kind))
    return export_response(get_db(), filters, fmt, g.lang, actor())
