"""Public forms: support request (form → check your answers → confirmation), volunteer
sign-up, satisfaction survey and status lookup. Thin views: forms validate, `queue` writes.

The session cookie holds random keys only (a draft id, a receipt token): what was typed,
the documents and the receipts stay on the server (`drafts`). Saves of a request in progress
are limited per address, and their documents together are capped (PORTAL_DRAFTS_MAX_MB).
"""

import base64
import functools
import logging
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, FormField

from . import (
    answers,
    choices,
    drafts,
    identifiers,
    lifecycle,
    notify,
    queue,
    ratelimit,
    sms,
    timeline,
    uploads,
)
from .db import Database, get_db, immediate
from .errors import render_error
from .facts import facts
from .fields import MultiCheckboxField
from .forms import (
    MAX_ORPHANS,
    AnswerCodeForm,
    AnswerForm,
    AssistanceRequestForm,
    AttestationForm,
    FeedbackForm,
    SafeForm,
    StatusForm,
    VolunteerForm,
    missing_document_message,
)
from .i18n import lang_url, other_language
from .records import assistance_record, attestation_of, feedback_record, volunteer_record

log = logging.getLogger(__name__)
bp = Blueprint("public", __name__)
NOT_TYPED = {"csrf_token", "action", "website"}
MAX_VALUE_CHARS = 4000  # the longest field's limit: a draft never keeps more of one value
BUSY_RETRY_SECONDS = 3600
CODES_PER_CASE = "5/hour"  # one-time codes sent to one request's mobile, whoever asks


def register(app):
    app.register_blueprint(bp, url_prefix="/forms", name="public_ar")
    app.register_blueprint(bp, url_prefix="/en/forms", name="public_en")


def _allowed(scope: str, setting: str = "PORTAL_RATE_LIMIT") -> bool:
    return ratelimit.allow(
        get_db(),
        scope=scope,
        client=request.remote_addr or "",
        spec=current_app.config[setting],
        secret=current_app.config["SECRET_KEY"],
    )


def _too_many(spec: str):
    """The "too many attempts, try again later" page, with when to retry (from the limit's
    spec, like 10/hour)."""
    limit = ratelimit.parse(spec)
    page, code = render_error(429)
    return page, code, {"Retry-After": str(limit[1] if limit else BUSY_RETRY_SECONDS)}


def _busy():
    """The documents of all requests in progress are at their cap: nothing more is stored."""
    page = render_template(
        "errors/error.html",
        title=_l("The service is busy"),
        message=_l(
            "We cannot take more documents right now. What you typed is kept. "
            "Please try again later, and choose the files again."
        ),
        back_url=lang_url("public.assistance"),
        back_text=_l("Back to the form"),
    )
    return page, 503, {"Retry-After": str(BUSY_RETRY_SECONDS)}


def _expired(form) -> bool:
    """The CSRF token was missing or too old: show the form again with what was typed."""
    return "csrf_token" in form and bool(form.csrf_token.errors)


def _uploads() -> Path:
    return Path(current_app.config["PORTAL_UPLOADS"])


@bp.after_request
def _sweep(response):
    """Housekeeping carried by the public forms' own traffic, so that no command is needed:
    expired drafts and receipts, and stray uploads (at most once a period, for all workers)."""
    try:
        drafts.sweep(get_db(), _uploads())
    except (sqlite3.Error, OSError) as error:  # the next period tries again
        log.warning("draft sweep failed: %s", type(error).__name__)
    return response


def _done(kind: str, submission_id: int):
    """The confirmation by redirect: the session holds a random token, the server the rest."""
    session["receipt"] = drafts.new_receipt(get_db(), kind, submission_id)
    return redirect(lang_url(f"public.{kind}_done"))


def _store(kind: str, submit: Callable[[Database], queue.Receipt]):
    """Count the submission against the address's limit, store it and issue its receipt in
    one transaction (one write to disk); past the limit nothing is stored (429)."""
    db = get_db()
    with immediate(db):
        allowed = _allowed("submit")
        if allowed:
            receipt = submit(db)
            token = drafts.new_receipt(db, kind, receipt.submission_id)
    if not allowed:
        abort(429)
    session["receipt"] = token
    return redirect(lang_url(f"public.{kind}_done"))


def _receipt(kind: str):
    """The submission this browser may see on its confirmation page (for RECEIPT_AGE only)."""
    submission_id = drafts.receipt(get_db(), session.get("receipt"), kind)
    return queue.get(get_db(), submission_id) if submission_id is not None else None


# ------------------------------------------------------------ support request


def _draft_names(form) -> dict[str, int]:
    """The names the support request reads, each with how many values it may keep: the form's
    own fields, and each child's fields for the first MAX_ORPHANS children. Nothing else
    sent is stored."""
    names = {}
    for field in form:
        if isinstance(field, FieldList):
            subs = [sub.name for sub in field.unbound_field.args[0]()]
            for n in range(field.max_entries or MAX_ORPHANS):
                names |= {f"{field.name}-{n}-{sub}": 1 for sub in subs}
        elif not isinstance(field, FormField) and field.name not in NOT_TYPED:
            many = isinstance(field, MultiCheckboxField)
            names[field.name] = len(field.choices) if many else 1
    return names


def _typed(form, form_data, drop_prefix: str | None = None) -> list:
    """What was typed, as (name, value) pairs, for the form's own fields only."""
    allowed, kept, typed = _draft_names(form), {}, []
    for name, value in form_data.items(multi=True):
        if name not in allowed or (drop_prefix and name.startswith(drop_prefix)):
            continue
        kept[name] = kept.get(name, 0) + 1
        if kept[name] <= allowed[name]:
            typed.append((name, str(value)[:MAX_VALUE_CHARS]))
    return typed


def _size(chosen) -> int:
    """An upload's size before reading it (at most what store() would read)."""
    stream = chosen.stream
    try:
        start = stream.tell()
        stream.seek(0, os.SEEK_END)
        end = stream.tell()
        stream.seek(start)
    except (AttributeError, OSError, ValueError):  # not seekable: count the most it can be
        return uploads.MAX_FILE_BYTES
    return min(end - start, uploads.MAX_FILE_BYTES)


def _store_documents(db, draft_id: str, kinds: list[str] | None = None) -> tuple[dict, bool]:
    """Save each chosen file (of `kinds`; default all) to the draft: ({kind: message} for the
    ones refused, whether the drafts' space was full). Past the cap a file is not kept (nor
    written, when its size says so beforehand)."""
    refused, cap = {}, current_app.config["PORTAL_DRAFTS_MAX_MB"] * 1024 * 1024
    for kind in queue.DOCUMENT_KINDS if kinds is None else kinds:
        chosen = request.files.get(f"documents-{kind}")
        if not chosen or not chosen.filename:
            continue
        if drafts.space_used(db, draft_id, kind) + _size(chosen) > cap:
            return refused, True
        try:
            stored = uploads.store(chosen, _uploads())
        except uploads.UploadError as error:
            refused[kind] = error.args[0]
            continue
        try:
            old = drafts.add_document(db, draft_id, kind, stored, max_bytes=cap)
        except drafts.Full:  # another worker took the space meanwhile
            uploads.remove(_uploads(), stored.stored_name)
            return refused, True
        if old:
            uploads.remove(_uploads(), old)
    return refused, False


def _render_assistance(form, draft_id, expired=False, status=200, kept_since=None):
    return (
        render_template(
            "public/assistance.html",
            form=form,
            documents=drafts.documents(get_db(), draft_id),
            expired=expired,
            max_orphans=MAX_ORPHANS,
            kept_since=kept_since,
            kept_hours=int(drafts.MAX_AGE.total_seconds() // 3600),
        ),
        status,
    )


@bp.route("/assistance/", methods=["GET", "POST"])
def assistance():
    draft_id = session.get("draft")
    if request.method == "GET":
        saved = drafts.load(get_db(), draft_id)
        form = AssistanceRequestForm(formdata=MultiDict(saved) if saved else None)
        if not draft_id:  # named now: a replayed copy of this cookie keeps one draft
            session["draft"] = drafts.new_id()
        # Answers kept from an earlier visit are said to be kept, for how long, and can go.
        kept = drafts.saved_at(get_db(), draft_id) if saved is not None else None
        return _render_assistance(form, draft_id, kept_since=kept)
    form = AssistanceRequestForm()
    valid = form.validate()
    if form.is_bot:
        abort(400)
    if _expired(form):
        return _render_assistance(form, draft_id, expired=True, status=400)
    if not _allowed("draft", "PORTAL_DRAFT_RATE_LIMIT"):
        return _too_many(current_app.config["PORTAL_DRAFT_RATE_LIMIT"])
    if not draft_id:
        draft_id = session["draft"] = drafts.new_id()
    action = request.form.get("action", "continue")
    if action == "start-again":
        drafts.remove_files(_uploads(), drafts.discard(get_db(), draft_id))
        session["draft"] = drafts.new_id()
        return redirect(lang_url("public.assistance"))
    return _assistance_step(form, valid, draft_id, action)


def _assistance_step(form, valid: bool, draft_id: str, action: str):
    """Keep what was typed and chosen; add or remove a child, or go on to check answers."""
    db = get_db()
    drop = action.removeprefix("remove-") + "-" if action.startswith("remove-orphans-") else None
    typed = _typed(form, request.form, drop)
    drafts.save(db, draft_id, g.lang, typed)
    refused, full = _store_documents(db, draft_id)
    if full:
        return _busy()
    if action == "switch-language":  # kept: the same draft opens in the other language
        return redirect(lang_url("public.assistance", lang=other_language(g.lang)))
    if action != "continue":
        form = AssistanceRequestForm(formdata=MultiDict(typed))
        if action == "add" and len(form.orphans.entries) < MAX_ORPHANS:
            form.orphans.append_entry()
            # The page opens at the new child, its first field ready to type in.
            first = form.orphans.entries[-1].form.name
            first.render_kw = {**(first.render_kw or {}), "autofocus": True}
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
        # Only soon after: a copy of an old cookie must not open the confirmation page.
        stored = queue.by_form_key(db, lifecycle.Kind.ASSISTANCE, draft_id) if draft_id else None
        if stored is not None:
            session.pop("draft", None)
            if drafts.receipt_due(stored["created_at"]):
                return _done("assistance", stored["id"])
        return redirect(lang_url("public.assistance"))
    form = AssistanceRequestForm(formdata=MultiDict(saved), meta={"csrf": False})
    documents = drafts.documents(db, draft_id)
    if not form.validate() or any(k not in documents for k in choices.REQUIRED_DOCUMENTS):
        return redirect(lang_url("public.assistance"))
    attest = AttestationForm()
    if request.method == "POST" and attest.validate():
        fields, orphans = assistance_record(form)
        answer = _store(
            "assistance",
            lambda db: queue.submit(
                db,
                kind=lifecycle.Kind.ASSISTANCE,
                lang=g.lang,
                fields=fields,
                orphans=orphans,
                draft_id=draft_id,
                form_key=draft_id,
                attestation=attestation_of(attest.attestation),
                consent=attestation_of(attest.consent, privacy=True),
                answer_days=current_app.config["PORTAL_ANSWER_DAYS"],
            ),
        )
        session.pop("draft", None)
        return answer
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
        facts=facts(),
        orphans=queue.orphans_of(db, row["id"]),
        documents=queue.documents_of(db, row["id"]),
    )


@functools.cache
def _logo(site: str) -> str:
    """The association's logo as the site serves it, base64 for the receipt image (which
    must show it offline); "" when the site has none. Read once: the service is restarted
    after a site build (README)."""
    try:
        return base64.b64encode((Path(site) / "assets/images/logo.svg").read_bytes()).decode()
    except OSError:
        return ""


@bp.get("/assistance/done/receipt.svg")
def assistance_receipt():
    """The receipt as an image to keep on a phone (works offline): the association, the
    reference and the dates, no personal data. Only while the confirmation page may show."""
    row = _receipt("assistance")
    if row is None:
        abort(404)
    body = render_template(
        "public/receipt.svg",
        row=row,
        facts=facts(),
        status_address=notify.status_url(current_app.config["PORTAL_PUBLIC_URL"], g.lang),
        logo=_logo(current_app.config["PORTAL_SITE"]),
    )
    name = f"receipt-{identifiers.format_reference(row['reference'])}.svg"
    return (
        body,
        200,
        {
            "Content-Type": "image/svg+xml; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


# ------------------------------------------------------------ volunteer and survey


def _simple_form(kind: str, form, record, template: str):
    """One-page forms: validate, store once per form key, confirmation by redirect."""
    if request.method == "POST":
        valid = form.validate()
        if form.is_bot:
            abort(400)
        if valid:
            fields = record(form)
            consent = (
                attestation_of(form.consent, privacy=True) if hasattr(form, "consent") else None
            )
            return _store(
                kind,
                lambda db: queue.submit(
                    db,
                    kind=lifecycle.Kind(kind),
                    lang=g.lang,
                    fields=fields,
                    form_key=form.form_key.data or None,
                    consent=consent,
                ),
            )
    form.ensure_key()
    expired = _expired(form)
    return render_template(template, form=form, expired=expired), 400 if form.errors else 200


@bp.route("/volunteer/", methods=["GET", "POST"])
def volunteer():
    return _simple_form("volunteer", VolunteerForm(), volunteer_record, "public/volunteer.html")


@bp.route("/feedback/", methods=["GET", "POST"])
def feedback():
    form = FeedbackForm(reference=_linked_reference())
    return _simple_form("feedback", form, feedback_record, "public/feedback.html")


def _linked_reference() -> str | None:
    """The reference in the survey's link (?reference=K7M4QX9T, sent after the service),
    grouped to fill the form; None unless it is a GET with a well-formed reference."""
    if request.method != "GET":
        return None
    reference = identifiers.parse_reference(request.args.get("reference", ""))
    return identifiers.format_reference(reference) if reference else None


@bp.get("/volunteer/done")
def volunteer_done():
    row = _receipt("volunteer")
    return (
        render_template("public/thanks.html", row=row, facts=facts())
        if row
        else redirect(lang_url("public.volunteer"))
    )


@bp.get("/feedback/done")
def feedback_done():
    row = _receipt("feedback")
    return (
        render_template("public/thanks.html", row=row, facts=facts())
        if row
        else redirect(lang_url("public.feedback"))
    )


# ------------------------------------------------------------ status


@bp.route("/status/", methods=["GET", "POST"])
def status():
    # The confirmation page's link carries the reference: the form opens with it filled in.
    typed = identifiers.parse_reference(request.args.get("reference", "")) or ""
    form = StatusForm(data={"reference": identifiers.format_reference(typed) if typed else ""})
    found = None
    if request.method == "POST" and form.validate():
        if not _allowed("status"):
            abort(429)
        row = queue.status_lookup(get_db(), form.reference.data, form.mobile.data)
        if row is not None:
            session["status"] = drafts.new_receipt(get_db(), "status", row["id"])
            session.pop("answer", None)
            if row["state"] == lifecycle.State.NEEDS_INFO:
                session["answer"] = answers.open_access(
                    get_db(), row["id"], g.lang, verified=not sms.enabled(current_app.config)
                )
            return redirect(lang_url("public.status"))
        found = False
    if request.method == "GET" and session.get("status"):
        submission_id = drafts.take_receipt(get_db(), session.pop("status"), "status")
        found = queue.get(get_db(), submission_id) if submission_id is not None else None
    code = 400 if form.errors else 200
    return render_template(
        "public/status.html",
        form=form,
        found=found,
        steps=timeline.steps(get_db(), found) if found else None,
        may_answer=bool(found) and _live_access(found["id"]) is not None,
    ), code


# ------------------------------------------------------------ answering online


def _live_access(submission_id: int | None = None) -> answers.Access | None:
    """This browser's access to answer (for this case, when given), while it lasts."""
    access = answers.get(get_db(), session.get("answer"))
    if access is None or (submission_id is not None and access.submission_id != submission_id):
        return None
    return access


def _render_answer(row, access, *, form=None, code_form=None, problem=None, status=200):
    kinds = answers.asked(row)
    return (
        render_template(
            "public/answer.html",
            row=row,
            access=access,
            asked=kinds,
            form=form or AnswerForm(formdata=None),
            code_form=code_form or AnswerCodeForm(formdata=None),
            documents=drafts.documents(get_db(), access.draft_id),
            problem=problem,
        ),
        status,
    )


@bp.route("/status/answer", methods=["GET", "POST"])
def answer():
    """Answer "more information needed": the code (when SMS is set up), then the documents
    asked for and a reply. Only after a lookup (reference + mobile) of a case that asks."""
    db = get_db()
    access = _live_access()
    row = queue.get(db, access.submission_id) if access else None
    if access is None or row is None or row["state"] != lifecycle.State.NEEDS_INFO:
        if access is not None:
            answers.end(db, access)
        session.pop("answer", None)
        return redirect(lang_url("public.status"))
    if request.method == "GET":
        return _render_answer(row, access)
    action = request.form.get("action", "")
    if not access.verified:
        if action == "send-code":
            return _send_code(row, access)
        if action == "code":
            return _check_code(row, access)
        abort(400)
    if action != "answer":
        abort(400)
    return _take_answer(row, access)


def _send_code(row, access):
    if not SafeForm().validate():  # the CSRF token only
        abort(400)
    if not _allowed("answer-code"):
        return _too_many(current_app.config["PORTAL_RATE_LIMIT"])
    if not ratelimit.allow(
        get_db(),
        scope="answer-code-case",
        client=f"case:{row['id']}",
        spec=CODES_PER_CASE,
        secret=current_app.config["SECRET_KEY"],
    ):
        return _too_many(CODES_PER_CASE)
    try:
        answers.send_code(get_db(), access, row, current_app.config)
    except answers.CodeTooSoon:
        return _render_answer(
            row,
            access,
            problem=_l("A code was sent less than a minute ago. Wait for it."),
            status=429,
        )
    except (sms.SmsError, ValueError) as error:
        log.warning("answer code not sent: %s", getattr(error, "kind", type(error).__name__))
        return _render_answer(
            row,
            access,
            problem=_l("We could not send the code just now. Please try again in a few minutes."),
            status=503,
        )
    return redirect(lang_url("public.answer"))


def _check_code(row, access):
    code_form = AnswerCodeForm()
    if not code_form.validate():
        if "csrf_token" in code_form and code_form.csrf_token.errors:
            abort(400)
        return _render_answer(row, access, code_form=code_form, status=400)
    verdict = answers.check_code(
        get_db(), access, code_form.code.data, current_app.config["SECRET_KEY"]
    )
    if verdict == "ok":
        return redirect(lang_url("public.answer"))
    if verdict == "spent":
        session.pop("answer", None)
        return render_error(429)
    code_form.code.errors = [
        _l("This code has expired. Send a new code.")
        if verdict == "expired"
        else _l("This is not the code we sent. Check the SMS and type it again.")
    ]
    return _render_answer(row, access, code_form=code_form, status=400)


def _take_answer(row, access):
    db = get_db()
    form = AnswerForm()
    valid = form.validate()
    if _expired(form):
        abort(400)
    if not _allowed("draft", "PORTAL_DRAFT_RATE_LIMIT"):
        return _too_many(current_app.config["PORTAL_DRAFT_RATE_LIMIT"])
    kinds = answers.asked(row)
    refused, full = _store_documents(db, access.draft_id, kinds)
    if full:
        return _busy()
    for kind, message in refused.items():
        form.documents[kind].errors = [message]
    have = drafts.documents(db, access.draft_id)
    if valid and not refused and not have and not (form.reply.data or "").strip():
        form.reply.errors = [_l("Choose a document or write a reply.")]
        valid = False
    if not valid or refused:
        return _render_answer(row, access, form=form, status=400)
    try:
        answers.answer(db, access, form.reply.data or "")
    except queue.LostRace:  # staff moved the case meanwhile: nothing was taken
        session.pop("answer", None)
        return redirect(lang_url("public.status"))
    session.pop("answer", None)
    session["receipt"] = drafts.new_receipt(db, "answer", row["id"])
    return redirect(lang_url("public.answer_done"))


@bp.get("/status/answered")
def answer_done():
    row = _receipt("answer")
    if row is None:
        return redirect(lang_url("public.status"))
    return render_template("public/answered.html", row=row)
