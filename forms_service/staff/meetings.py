"""The research committee's meetings: the list, one meeting (building its agenda, then the
decisions), the agenda pack and the agenda as CSV, the minutes and their corrections.

Thin views over `meetings`, where the rules are. ACCESS says who opens what: committee
members and administrators run meetings; everyone reads the minutes. A write to a closed
meeting is answered 409 with the reason, whatever it was.
"""

import datetime as dt
import io

from flask import Response, abort, flash, g, redirect, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from .. import clock, lifecycle, queue, registry, words
from .. import meetings as data
from ..db import get_db
from ..export_writers import MIMETYPES, table_csv, table_xlsx
from ..facts import facts
from ..i18n import lang_url
from .blueprint import bp
from .forms import ActionForm
from .meeting_forms import AgendaForm, CorrectionForm, DecisionForm, MeetingForm
from .session import actor

FIELDS = registry.by_key(registry.fields_of("assistance"))


def _role() -> str:
    return g.staff["role"]


def _meeting_or_404(meeting_id: int) -> dict:
    meeting = data.get(get_db(), meeting_id)
    if meeting is None:
        abort(404)
    return meeting


def _validated(form) -> bool:
    """Validate a form; a missing or wrong CSRF token is refused outright (400)."""
    valid = form.validate()
    if "csrf_token" in form and form.csrf_token.errors:
        abort(400)
    return valid


def _checked_token() -> None:
    if not ActionForm().validate():
        abort(400)


def _problem(error: Exception) -> str:
    """What to tell the person when a change was refused."""
    if isinstance(error, data.MeetingClosed):
        return _(
            "This meeting is closed: nothing about it can be changed. "
            "To correct its minutes, add a correction under them."
        )
    if isinstance(error, data.Undecided):
        return _(
            "Every case on the agenda needs a decision before the meeting closes: accept, "
            "reject or defer it, or take it off the agenda. Cases without a decision: %(num)d.",
            num=error.count,
        )
    if isinstance(error, queue.LostRace):
        return _(
            "Someone else moved this case first. Nothing was changed; "
            "check its state, then take it off the agenda."
        )
    messages = {
        data.NotOnAgenda: _("This case is not on the agenda of this meeting."),
        data.NotWithCommittee: _(
            "Only support requests with the research committee can go on the agenda."
        ),
        data.OnAnotherAgenda: _("This case is already on the agenda of another open meeting."),
        data.AlreadyDecided: _(
            "This case already has its decision at this meeting. Nothing was changed."
        ),
        data.CaseGone: _("This case is no longer held. Take it off the agenda."),
        data.MeetingOpen: _(
            "This meeting is still open: change it directly. Corrections are for minutes."
        ),
    }
    return messages.get(type(error), _("This change cannot be made. Nothing was changed."))


def _refused(meeting_id: int, error: Exception):
    """A change that was refused: the page again, with the reason, answered 409."""
    if isinstance(error, data.NotAllowed):
        abort(403)
    meeting = _meeting_or_404(meeting_id)
    if meeting["closed_at"]:
        return _minutes_page(meeting, problem=_problem(error), status=409)
    return _meeting_page(meeting, problem=_problem(error), status=409)


def _back(meeting_id: int, case_id: int | None = None):
    anchor = {"_anchor": f"item-{case_id}"} if case_id else {}
    return redirect(lang_url("staff.meeting", meeting_id=meeting_id, **anchor))


# ---------------------------------------------------------------- the list, a new meeting


def _meeting_form(**values) -> MeetingForm:
    return MeetingForm(**values).set_members(data.committee_accounts(get_db()))


@bp.get("/meetings")
def meetings():
    return _meetings_page(_meeting_form(held_on=clock.local_today()))


def _meetings_page(form: MeetingForm, status: int = 200):
    return render_template(
        "staff/meetings.html", rows=data.all_meetings(get_db()), form=form
    ), status


@bp.post("/meetings/new")
def meeting_new():
    form = _meeting_form()
    if not _validated(form):
        return _meetings_page(form, 400)
    try:
        meeting_id = data.create(
            get_db(),
            held_on=form.held_on.data,
            members=form.members.data,
            names=form.name_list(),
            actor=actor(),
            role=_role(),
        )
    except data.NotAllowed:
        abort(403)
    except ValueError:  # an account that is no longer an active committee member
        abort(400)
    flash(_("The meeting is open. Now put the cases on its agenda."))
    return redirect(lang_url("staff.meeting", meeting_id=meeting_id))


# ---------------------------------------------------------------- one meeting


@bp.get("/meeting/<int:meeting_id>")
def meeting(meeting_id):
    found = _meeting_or_404(meeting_id)
    if found["closed_at"]:
        return redirect(lang_url("staff.minutes", meeting_id=meeting_id))
    return _meeting_page(found)


def _meeting_page(
    meeting: dict,
    *,
    status: int = 200,
    problem: str = "",
    details_form: MeetingForm | None = None,
    agenda_form: AgendaForm | None = None,
    failed: DecisionForm | None = None,
    failed_case: int | None = None,
):
    db = get_db()
    items = data.agenda(db, meeting["id"])
    decision_forms = {
        item["id"]: DecisionForm(prefix=f"case-{item['id']}", formdata=None)
        for item in items
        if not item["decision"]
    }
    if failed is not None and failed_case in decision_forms:
        decision_forms[failed_case] = failed
    if details_form is None:
        details_form = _meeting_form(
            formdata=None,
            held_on=dt.date.fromisoformat(meeting["held_on"]),
            members=[m["username"] for m in meeting["members"] if m["username"]],
            names="\n".join(m["name"] for m in meeting["members"] if m["name"]),
        )
    candidates = data.candidates(db, meeting["id"])
    if agenda_form is None:
        agenda_form = AgendaForm(formdata=None)
    agenda_form.cases.choices = [(str(c["id"]), _candidate_label(c)) for c in candidates]
    return render_template(
        "staff/meeting.html",
        meeting=meeting,
        items=items,
        totals=data.totals(items),
        decision_forms=decision_forms,
        details_form=details_form,
        agenda_form=agenda_form,
        candidates=candidates,
        problem=problem,
        failed=failed,
        next_item=next((i["id"] for i in items if not i["decision"]), None),
        decision_word=decision_word,
    ), status


def _candidate_label(case: dict) -> Markup:
    sent = words.as_date(case["sent_at"] or case["created_at"])
    return Markup('<bdi dir="ltr">{}</bdi> — <bdi>{}</bdi> — {}').format(
        words.reference_text(case["reference"]),
        case["full_name"] or "—",
        _("with the committee since %(day)s", day=sent.isoformat() if sent else "—"),
    )


@bp.post("/meeting/<int:meeting_id>/details")
def meeting_update(meeting_id):
    found = _meeting_or_404(meeting_id)
    form = _meeting_form()
    if not _validated(form):
        if found["closed_at"]:
            return _refused(meeting_id, data.MeetingClosed(meeting_id))
        return _meeting_page(found, status=400, details_form=form)
    try:
        data.update(
            get_db(),
            meeting_id,
            held_on=form.held_on.data,
            members=form.members.data,
            names=form.name_list(),
            actor=actor(),
            role=_role(),
        )
    except data.MeetingError as error:
        return _refused(meeting_id, error)
    except ValueError:
        abort(400)
    flash(_("The date and the members present are saved."))
    return redirect(lang_url("staff.meeting", meeting_id=meeting_id))


@bp.post("/meeting/<int:meeting_id>/agenda")
def meeting_agenda_add(meeting_id):
    found = _meeting_or_404(meeting_id)
    form = AgendaForm()
    candidates = data.candidates(get_db(), meeting_id)
    form.cases.choices = [(str(c["id"]), _candidate_label(c)) for c in candidates]
    if not _validated(form):
        if found["closed_at"]:
            return _refused(meeting_id, data.MeetingClosed(meeting_id))
        if any(code not in dict(form.cases.choices) for code in form.cases.data or []):
            # A case that is not (or no longer) one to add: say which rule refused it.
            return _refused(meeting_id, data.NotWithCommittee())
        return _meeting_page(found, status=400, agenda_form=form)
    try:
        added = data.add_to_agenda(
            get_db(), meeting_id, [int(c) for c in form.cases.data], actor=actor(), role=_role()
        )
    except (data.MeetingError, queue.LostRace) as error:
        return _refused(meeting_id, error)
    flash(
        _("Cases added to the agenda: %(num)d.", num=len(added))
        if added
        else _("Those cases were already on the agenda.")
    )
    return redirect(lang_url("staff.meeting", meeting_id=meeting_id, _anchor="agenda-title"))


@bp.post("/meeting/<int:meeting_id>/agenda/<int:case_id>/remove")
def meeting_agenda_remove(meeting_id, case_id):
    _meeting_or_404(meeting_id)
    _checked_token()
    try:
        data.remove_from_agenda(get_db(), meeting_id, case_id, actor=actor(), role=_role())
    except data.MeetingError as error:
        return _refused(meeting_id, error)
    flash(_("The case is off the agenda. It is still with the research committee."))
    return redirect(lang_url("staff.meeting", meeting_id=meeting_id, _anchor="agenda-title"))


@bp.post("/meeting/<int:meeting_id>/agenda/<int:case_id>/<any(up, down):direction>")
def meeting_agenda_move(meeting_id, case_id, direction):
    _meeting_or_404(meeting_id)
    _checked_token()
    step = -1 if direction == "up" else 1
    try:
        data.move(get_db(), meeting_id, case_id, step, actor=actor(), role=_role())
    except data.MeetingError as error:
        return _refused(meeting_id, error)
    return _back(meeting_id, case_id)


@bp.post("/meeting/<int:meeting_id>/decide/<int:case_id>")
def meeting_decide(meeting_id, case_id):
    found = _meeting_or_404(meeting_id)
    form = DecisionForm(prefix=f"case-{case_id}")
    valid = _validated(form)
    decision = form.decision.data
    if decision not in data.DECISIONS:
        abort(400)
    if not valid:
        if found["closed_at"]:
            return _refused(meeting_id, data.MeetingClosed(meeting_id))
        return _meeting_page(found, status=400, failed=form, failed_case=case_id)
    # An acceptance or a rejection moves the case and tells the applicant: confirmed first,
    # on a page of its own (checked as the decision itself would be).
    confirming = decision in lifecycle.NEEDS_CONFIRMING and form.confirmed.data != "1"
    try:
        if confirming:
            data.check_decision(
                get_db(), meeting_id, case_id, decision, reason=form.reason.data, role=_role()
            )
            return _confirm_decision(found, case_id, form, decision)
        data.decide(
            get_db(),
            meeting_id,
            case_id,
            decision,
            reason=form.reason.data,
            actor=actor(),
            role=_role(),
        )
    except queue.ReasonRequired:
        form.reason.errors = [_("Write the reason for rejecting.")]
        return _meeting_page(found, status=400, failed=form, failed_case=case_id)
    except (data.MeetingError, queue.LostRace) as error:
        return _refused(meeting_id, error)
    except queue.InvalidTransition:
        abort(403)
    # The reference kept left-to-right inside an Arabic sentence (LRI … PDI).
    reference = (
        "\u2066" + words.reference_text(_reference_on_agenda(meeting_id, case_id)) + "\u2069"
    )
    flash(_("%(reference)s: %(decision)s.", reference=reference, decision=decision_word(decision)))
    after = next((i["id"] for i in data.agenda(get_db(), meeting_id) if not i["decision"]), None)
    if after is None:
        return redirect(lang_url("staff.meeting", meeting_id=meeting_id, _anchor="close-title"))
    return _back(meeting_id, after)


def _confirm_decision(meeting: dict, case_id: int, form: DecisionForm, decision: str):
    """The decision to confirm: the case, the decision and its reason, sent again with
    `confirmed`; or back to the meeting."""
    g.alternate_page = ("staff.meeting", {"meeting_id": meeting["id"]})
    back = lang_url("staff.meeting", meeting_id=meeting["id"], _anchor=f"item-{case_id}")
    return render_template(
        "staff/confirm_move.html",
        row=queue.get(get_db(), case_id),
        target=decision,
        reason=form.reason.data,
        token=form.csrf_token,
        action=lang_url("staff.meeting_decide", meeting_id=meeting["id"], case_id=case_id),
        hidden=[
            (form.decision.name, decision),
            (form.reason.name, form.reason.data or ""),
            (form.confirmed.name, "1"),
        ],
        back_url=back,
        back_text=_("Back to the meeting"),
    )


def _reference_on_agenda(meeting_id: int, case_id: int) -> str:
    items = {i["id"]: i for i in data.agenda(get_db(), meeting_id)}
    return items[case_id]["reference"] if case_id in items else ""


def decision_word(decision: str | None) -> str:
    return {
        "accepted": _("Accepted"),
        "rejected": _("Rejected"),
        "deferred": _("Deferred to the next meeting"),
    }.get(decision or "", _("No decision yet"))


@bp.post("/meeting/<int:meeting_id>/close")
def meeting_close(meeting_id):
    _meeting_or_404(meeting_id)
    _checked_token()
    try:
        closed_now = data.close(get_db(), meeting_id, actor=actor(), role=_role())
    except data.MeetingError as error:
        return _refused(meeting_id, error)
    if closed_now:
        flash(_("The meeting is closed. These are its minutes; they can no longer change."))
    else:
        flash(_("This meeting was already closed. Nothing was changed."))
    return redirect(lang_url("staff.minutes", meeting_id=meeting_id))


# ---------------------------------------------------------------- before the meeting


@bp.get("/meeting/<int:meeting_id>/pack")
def meeting_pack(meeting_id):
    """Each case's sheet, one after the other, for the members to read; each one recorded
    as a view of the case, as the case sheet is."""
    db = get_db()
    found = _meeting_or_404(meeting_id)
    cases = []
    for item in data.agenda(db, meeting_id):
        row = queue.get(db, item["id"]) if item["held"] else None
        if row is not None:
            queue.record_view(db, item["id"], actor=actor(), what="agenda_pack")
        cases.append(
            {
                "item": item,
                "row": row,
                "orphans": queue.orphans_of(db, item["id"]) if row else [],
                "documents": queue.documents_of(db, item["id"]) if row else [],
            }
        )
    return render_template("staff/meeting_pack.html", meeting=found, cases=cases)


AGENDA_COLUMNS = ("full_name", "city", "family_size", "monthly_income", "support_type")


def _agenda_table(items: list[dict]) -> tuple[list[str], list[list]]:
    """The agenda's headers (in the page's language) and typed cells, one row a case."""
    headers = [
        _("Agenda item"),
        _("Reference"),
        *(str(FIELDS[key].label) for key in AGENDA_COLUMNS),
        _("Number of orphans"),
        _("Sent to the committee (Riyadh time)"),
        _("Decision"),
        _("Reason"),
    ]
    rows = []
    for number, item in enumerate(items, 1):
        record = {"full_name": item["full_name"], "data": item["data"]}
        rows.append(
            [
                number,
                words.reference_text(item["reference"]),
                *(
                    words.cell(FIELDS[key], FIELDS[key].value(record), g.lang)
                    for key in AGENDA_COLUMNS
                ),
                item["orphan_count"] if item["held"] else None,
                clock.local(item["sent_at"]) if item["sent_at"] else None,
                decision_word(item["decision"]) if item["decision"] else "",
                _reason_text(item),
            ]
        )
    return headers, rows


@bp.get("/meeting/<int:meeting_id>/agenda.csv", endpoint="meeting_agenda_csv")
@bp.get("/meeting/<int:meeting_id>/agenda.xlsx", endpoint="meeting_agenda_xlsx")
def meeting_agenda(meeting_id):
    """The agenda as CSV or XLSX for Excel (headers in the page's language, right-to-left in
    Arabic, formulas neutralised), recorded as an export."""
    db = get_db()
    found = _meeting_or_404(meeting_id)
    fmt = request.path.rpartition(".")[2]
    items = data.agenda(db, meeting_id)
    headers, rows = _agenda_table(items)
    if fmt == "csv":
        response = Response(table_csv(headers, rows), mimetype="text/csv; charset=utf-8")
    else:
        out = io.BytesIO()
        table_xlsx(_("Agenda"), headers, rows, g.lang, out)
        response = Response(out.getvalue(), mimetype=MIMETYPES["xlsx"])
    data.record_agenda_export(db, meeting_id, fmt=fmt, lang=g.lang, rows=len(items), actor=actor())
    name = f"agenda-{found['held_on']}-{meeting_id}.{fmt}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _reason_text(item: dict) -> str:
    return _("(erased)") if item["reason_erased"] else item["reason"]


# ---------------------------------------------------------------- the minutes


@bp.get("/meeting/<int:meeting_id>/minutes")
def minutes(meeting_id):
    return _minutes_page(_meeting_or_404(meeting_id))


def _minutes_page(meeting: dict, *, status: int = 200, problem: str = "", form=None):
    book = data.minutes(get_db(), meeting["id"])
    return render_template(
        "staff/minutes.html",
        book=book,
        meeting=book["meeting"],
        association=facts()["name"][g.lang],
        closed_at=clock.local(meeting["closed_at"]) if meeting["closed_at"] else None,
        correction_form=form or CorrectionForm(formdata=None),
        problem=problem,
        decision_word=decision_word,
    ), status


@bp.post("/meeting/<int:meeting_id>/correction")
def meeting_correction(meeting_id):
    found = _meeting_or_404(meeting_id)
    form = CorrectionForm()
    if not _validated(form):
        return _minutes_page(found, status=400, form=form)
    try:
        data.add_correction(get_db(), meeting_id, form.text.data, actor=actor(), role=_role())
    except data.MeetingError as error:
        return _refused(meeting_id, error)
    flash(_("The correction is recorded under the minutes."))
    return redirect(lang_url("staff.minutes", meeting_id=meeting_id, _anchor="corrections-title"))
