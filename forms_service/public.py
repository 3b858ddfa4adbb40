"""Public forms: support request (form → check your answers → confirmation), volunteer
sign-up, satisfaction survey and status lookup. Thin views: forms validate, `queue` writes.
"""

from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session
from werkzeug.datastructures import MultiDict

from . import choices, drafts, mail, queue, ratelimit, uploads
from .db import get_db
from .forms import (
    MAX_ORPHANS,
    AssistanceRequestForm,
    AttestationForm,
    FeedbackForm,
    StatusForm,
    VolunteerForm,
    missing_document_message,
)
from .i18n import lang_url
from .records import assistance_record, attestation_of, feedback_record, volunteer_record

bp = Blueprint("public", __name__)
NOT_TYPED = {"csrf_token", "action", "website"}


def register(app):
    app.register_blueprint(bp, url_prefix="/forms", name="public_ar")
    app.register_blueprint(bp, url_prefix="/en/forms", name="public_en")


def _allowed(scope: str) -> bool:
    return ratelimit.allow(
        get_db(),
        scope=scope,
        client=request.remote_addr or "",
        spec=current_app.config["PORTAL_RATE_LIMIT"],
        secret=current_app.config["SECRET_KEY"],
    )


def _expired(form) -> bool:
    """The CSRF token was missing or too old: show the form again with what was typed."""
    return "csrf_token" in form and bool(form.csrf_token.errors)


def _uploads() -> Path:
    return Path(current_app.config["PORTAL_UPLOADS"])


def _done(kind: str, receipt) -> str:
    session["receipt"] = {"kind": kind, "id": receipt.submission_id}
    return redirect(lang_url(f"public.{kind}_done"))


def _receipt(kind: str):
    saved = session.get("receipt")
    if not saved or saved.get("kind") != kind:
        return None
    return queue.get(get_db(), saved["id"])


# ------------------------------------------------------------ support request


def _typed(form_data, drop_prefix: str | None = None) -> list:
    return [
        (name, value)
        for name, value in form_data.items(multi=True)
        if name not in NOT_TYPED and not (drop_prefix and name.startswith(drop_prefix))
    ]


def _store_documents(db, draft_id: str, form) -> dict:
    """Save each chosen file to the draft; return {kind: message} for the ones refused."""
    refused = {}
    for kind, _label in choices.DOCUMENT_KIND:
        chosen = request.files.get(f"documents-{kind}")
        if not chosen or not chosen.filename:
            continue
        try:
            stored = uploads.store(chosen, _uploads())
        except uploads.UploadError as error:
            refused[kind] = error.args[0]
            continue
        old = drafts.add_document(db, draft_id, kind, stored)
        if old:
            uploads.remove(_uploads(), old)
    return refused


def _render_assistance(form, draft_id, expired=False, status=200):
    return (
        render_template(
            "public/assistance.html",
            form=form,
            documents=drafts.documents(get_db(), draft_id),
            expired=expired,
            max_orphans=MAX_ORPHANS,
        ),
        status,
    )


@bp.route("/assistance/", methods=["GET", "POST"])
def assistance():
    draft_id = session.get("draft")
    if request.method == "GET":
        saved = drafts.load(get_db(), draft_id)
        form = AssistanceRequestForm(formdata=MultiDict(saved) if saved else None)
        return _render_assistance(form, draft_id)
    form = AssistanceRequestForm()
    valid = form.validate()
    if form.is_bot:
        abort(400)
    if _expired(form):
        return _render_assistance(form, draft_id, expired=True, status=400)
    if not draft_id:
        draft_id = session["draft"] = drafts.new_id()
    return _assistance_step(form, valid, draft_id, request.form.get("action", "continue"))


def _assistance_step(form, valid: bool, draft_id: str, action: str):
    """Keep what was typed and chosen; add or remove a child, or go on to check answers."""
    db = get_db()
    drop = action.removeprefix("remove-") + "-" if action.startswith("remove-orphans-") else None
    typed = _typed(request.form, drop)
    drafts.save(db, draft_id, g.lang, typed)
    refused = _store_documents(db, draft_id, form)
    if action != "continue":
        form = AssistanceRequestForm(formdata=MultiDict(typed))
        if action == "add" and len(form.orphans.entries) < MAX_ORPHANS:
            form.orphans.append_entry()
        return _render_assistance(form, draft_id)
    have = drafts.documents(db, draft_id)
    for kind in choices.REQUIRED_DOCUMENTS:
        if kind not in have and kind not in refused:
            refused[kind] = missing_document_message(kind)
    for kind, message in refused.items():
        form.documents[kind].errors = [message]
    if valid and not refused:
        return redirect(lang_url("public.assistance_check"))
    return _render_assistance(form, draft_id)


@bp.route("/assistance/check", methods=["GET", "POST"])
def assistance_check():
    db = get_db()
    draft_id = session.get("draft")
    saved = drafts.load(db, draft_id)
    if saved is None:
        # Stored already (a retry whose first answer was lost): show the same receipt.
        stored = queue.by_form_key(db, queue.Kind.ASSISTANCE, draft_id) if draft_id else None
        if stored is not None:
            session.pop("draft", None)
            session["receipt"] = {"kind": "assistance", "id": stored["id"]}
            return redirect(lang_url("public.assistance_done"))
        return redirect(lang_url("public.assistance"))
    form = AssistanceRequestForm(formdata=MultiDict(saved), meta={"csrf": False})
    documents = drafts.documents(db, draft_id)
    if not form.validate() or any(k not in documents for k in choices.REQUIRED_DOCUMENTS):
        return redirect(lang_url("public.assistance"))
    attest = AttestationForm()
    if request.method == "POST" and attest.validate():
        if not _allowed("submit"):
            abort(429)
        fields, orphans = assistance_record(form)
        receipt = queue.submit(
            db,
            kind=queue.Kind.ASSISTANCE,
            lang=g.lang,
            fields=fields,
            orphans=orphans,
            draft_id=draft_id,
            form_key=draft_id,
            attestation=attestation_of(attest.attestation),
            consent=attestation_of(attest.consent, privacy=True),
            answer_days=current_app.config["PORTAL_ANSWER_DAYS"],
            mail=mail.confirmation(fields, g.lang, current_app.config),
        )
        session.pop("draft", None)
        mail.send_pending_quietly(db, current_app.config)
        return _done("assistance", receipt)
    status = 400 if attest.errors else 200
    return render_template(
        "public/check.html", form=form, attest=attest, documents=documents
    ), status


@bp.get("/assistance/done")
def assistance_done():
    row = _receipt("assistance")
    if row is None:
        return redirect(lang_url("public.assistance"))
    db = get_db()
    return render_template(
        "public/done.html",
        row=row,
        orphans=queue.orphans_of(db, row["id"]),
        documents=queue.documents_of(db, row["id"]),
    )


# ------------------------------------------------------------ volunteer and survey


def _simple_form(kind: str, form, record, template: str):
    """One-page forms: validate, store once per form key, confirmation by redirect."""
    if request.method == "POST":
        valid = form.validate()
        if form.is_bot:
            abort(400)
        if valid:
            if not _allowed("submit"):
                abort(429)
            receipt = queue.submit(
                get_db(),
                kind=queue.Kind(kind),
                lang=g.lang,
                fields=record(form),
                form_key=form.form_key.data or None,
                consent=attestation_of(form.consent, privacy=True)
                if hasattr(form, "consent")
                else None,
            )
            return _done(kind, receipt)
    form.ensure_key()
    expired = _expired(form)
    return render_template(template, form=form, expired=expired), 400 if form.errors else 200


@bp.route("/volunteer/", methods=["GET", "POST"])
def volunteer():
    return _simple_form("volunteer", VolunteerForm(), volunteer_record, "public/volunteer.html")


@bp.route("/feedback/", methods=["GET", "POST"])
def feedback():
    form = FeedbackForm()
    form.channel.choices = choices.channels(g.lang)
    form.reference_exists = lambda reference: queue.by_reference(get_db(), reference) is not None
    return _simple_form("feedback", form, feedback_record, "public/feedback.html")


@bp.get("/volunteer/done")
def volunteer_done():
    row = _receipt("volunteer")
    return (
        render_template("public/thanks.html", row=row)
        if row
        else redirect(lang_url("public.volunteer"))
    )


@bp.get("/feedback/done")
def feedback_done():
    row = _receipt("feedback")
    return (
        render_template("public/thanks.html", row=row)
        if row
        else redirect(lang_url("public.feedback"))
    )


# ------------------------------------------------------------ status


@bp.route("/status/", methods=["GET", "POST"])
def status():
    form = StatusForm()
    found = None
    if request.method == "POST" and form.validate():
        if not _allowed("status"):
            abort(429)
        row = queue.status_lookup(get_db(), form.reference.data, form.mobile.data)
        if row is not None:
            session["status"] = row["id"]
            return redirect(lang_url("public.status"))
        found = False
    if request.method == "GET" and session.get("status"):
        found = queue.get(get_db(), session.pop("status"))
    code = 400 if form.errors else 200
    return render_template("public/status.html", form=form, found=found), code
