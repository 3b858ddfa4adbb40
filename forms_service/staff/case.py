"""One case: everything submitted, documents, history, and the moves staff make on it."""

from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
)
from flask_babel import gettext as _

from .. import auth, lifecycle, listing, outbox, previews, queue
from ..db import get_db
from ..i18n import lang_url
from ..lifecycle import Kind
from ..words import state_label
from .blueprint import bp
from .forms import (
    AssignForm,
    MessageForm,
    NoteForm,
    TransitionForm,
)
from .session import actor


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
        messages=outbox.of_case(db, case_id),
        duplicates=listing.possible_duplicates(db, row) if row["kind"] == Kind.ASSISTANCE else [],
        moves=lifecycle.next_states(g.staff["role"], row["kind"], row["state"]),
        needs_reason=lifecycle.NEEDS_REASON,
        transition_form=TransitionForm(),
        note_form=NoteForm(),
        message_form=MessageForm(),
        assign_form=_assign_form(row),
        staff_users=[u["username"] for u in auth.users(db) if u["active"]],
        all_history=request.args.get("history") == "all",
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
    """A document as a download (an attachment, never shown in the portal's own pages)."""
    return _send_document(case_id, document_id, inline=False)


@bp.get("/case/<int:case_id>/document/<int:document_id>/view")
def document_view(case_id, document_id):
    """A document shown in the browser: a photo in the case page, a PDF in its own tab.
    The files were checked and re-encoded at upload (uploads.py); staff only, recorded."""
    return _send_document(case_id, document_id, inline=True)


@bp.get("/case/<int:case_id>/document/<int:document_id>/page/<int:page>.png")
def document_page(case_id, document_id, page):
    """A page of a PDF as an image, made for the case page each time it is asked for (by
    PDFium in a limited child process: previews.py); staff only, recorded as a view."""
    db = get_db()
    doc, path = _document_or_404(db, case_id, document_id)
    if doc["content_type"] != "application/pdf":
        abort(404)
    try:
        _count, png = previews.pdf_page(path.read_bytes(), page)
    except (OSError, ValueError):
        abort(404)  # the page shows the image's words; the PDF itself can still be opened
    if not png:
        abort(404)
    queue.record_view(db, case_id, actor=actor(), what=f"document:{doc['kind']}:page")
    response = make_response(png)
    response.mimetype = "image/png"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "no-store"
    return response


def _document_or_404(db, case_id: int, document_id: int) -> tuple[dict, Path]:
    """A document of this case and its file (404 for another case's)."""
    docs = {d["id"]: d for d in queue.documents_of(db, case_id)}
    if document_id not in docs:
        abort(404)
    doc = docs[document_id]
    return doc, Path(current_app.config["PORTAL_UPLOADS"]) / doc["stored_name"]


def _send_document(case_id: int, document_id: int, *, inline: bool):
    db = get_db()
    doc, path = _document_or_404(db, case_id, document_id)
    what = f"document:{doc['kind']}" + (":shown" if inline else "")
    queue.record_view(db, case_id, actor=actor(), what=what)
    response = make_response(
        send_file(
            path,
            mimetype=doc["content_type"],
            as_attachment=not inline,
            download_name=f"{row_ref(db, case_id)}-{doc['kind']}{path.suffix}",
        )
    )
    if inline:  # nothing in a document may run or load anything
        response.headers["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
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
    row = _case_or_404(case_id)
    form = TransitionForm()
    if not form.validate():
        abort(400)
    target = form.target.data
    needs_confirming = target in lifecycle.NEEDS_CONFIRMING and form.confirmed.data != "1"
    if needs_confirming and not (target in lifecycle.NEEDS_REASON and not form.reason.data.strip()):
        if not lifecycle.may(g.staff["role"], row["kind"], row["state"], target):
            abort(403)
        g.alternate_page = ("staff.case", {"case_id": case_id})  # the other language's link
        return render_template(
            "staff/confirm_move.html",
            row=row,
            target=target,
            reason=form.reason.data,
            token=form.csrf_token,
            action=lang_url("staff.transition", case_id=case_id),
            hidden=[
                ("target", target),
                ("expected", form.expected.data or ""),
                ("reason", form.reason.data or ""),
                ("confirmed", "1"),
            ],
            back_url=lang_url("staff.case", case_id=case_id),
            back_text=_("Back to the case"),
        )
    try:
        queue.transition(
            get_db(),
            case_id,
            form.target.data,
            actor=actor(),
            role=g.staff["role"],
            reason=form.reason.data,
            expected=form.expected.data or None,
            missing=form.missing.data or (),
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
