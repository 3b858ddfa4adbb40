"""Requests received in person, by phone, by letter or through a branch delegate."""

import secrets
from pathlib import Path

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext as _

from .. import choices, queue, uploads
from ..db import get_db
from ..i18n import lang_url
from ..identifiers import format_reference
from ..lifecycle import Kind
from ..records import assistance_record
from .blueprint import bp
from .forms import (
    STAFF_ENTRY_VERSION,
    StaffEntryForm,
)
from .session import actor


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
