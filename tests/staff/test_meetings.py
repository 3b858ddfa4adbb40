"""The research committee's meetings: who may do what, the decision as the table's move,
the agenda's rules, lost races, deferral, the minutes, and a closed meeting frozen by the
database itself."""

import csv
import datetime as dt
import io
import re
import sqlite3

import openpyxl
import pytest
from bs4 import BeautifulSoup
from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from forms_service import meetings, migrations, queue
from forms_service.identifiers import format_reference
from forms_service.lifecycle import Kind, State
from forms_service.staff import session as staff_session
from tests.staff.conftest import ROLES
from tests.staff.test_access import staff_rules

RUNNERS = ("committee", "admin")
READERS = ("officer", "researcher")
DAY = dt.date(2026, 12, 9)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def with_committee(app, db, name="فاطمة محمد أحمد", sent="2026-12-01T09:00", **fields) -> int:
    """A support request the officer sent to the research committee at `sent`."""
    with app.test_request_context():
        receipt = queue.submit(
            db,
            kind=Kind.ASSISTANCE,
            lang="ar",
            fields={"full_name": name, "city": "الجموم", **fields},
            orphans=[
                {
                    "name": "سارة محمد",
                    "birth_date": "2015-03-27",
                    "gender": "female",
                    "school_stage": "primary",
                }
            ],
            at=at("2026-11-20T08:00"),
        )
        for state, when in (("verifying", "2026-11-21T08:00"), ("committee", sent)):
            queue.transition(
                db, receipt.submission_id, state, actor="officer", role="officer", at=at(when)
            )
    return receipt.submission_id


def open_meeting(db, *cases, role="committee", names=("أحمد علي",)) -> int:
    meeting_id = meetings.create(
        db, held_on=DAY, members=["committee"], names=list(names), actor=role, role=role
    )
    if cases:
        meetings.add_to_agenda(db, meeting_id, cases, actor=role, role=role)
    return meeting_id


def state_of(db, case_id) -> str:
    return db.execute("SELECT state FROM submissions WHERE id = ?", [case_id]).fetchone()[0]


def events_of(db, case_id, action=None) -> list[dict]:
    return [e for e in queue.history(db, case_id) if action is None or e["action"] == action]


@pytest.fixture
def three(app, staff_db):
    """Three cases with the committee, on the agenda of one open meeting."""
    cases = [
        with_committee(app, staff_db, name, sent)
        for name, sent in (
            ("فاطمة محمد أحمد", "2026-12-01T09:00"),
            ("مريم علي حسن", "2026-11-20T09:00"),
            ("خديجة سعيد عمر", "2026-12-05T09:00"),
        )
    ]
    return open_meeting(staff_db, *cases), cases


def form_fields(html: str, action_end: str) -> dict:
    """The hidden fields of the form posting to a URL ending with `action_end`."""
    soup = BeautifulSoup(html, "html.parser")
    form = soup.find("form", action=re.compile(re.escape(action_end) + "$"))
    assert form is not None, action_end
    return {i["name"]: i.get("value", "") for i in form.select("input[type=hidden]")}


def post_form(client, page_url, action_url, **data):
    """Post a form of the page as a browser would: its hidden fields (the token), then data."""
    fields = form_fields(client.get(page_url).get_data(as_text=True), action_url)
    return client.post(action_url, data={**fields, **data})


def token(client, url="/en/staff/meetings") -> str:
    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token"(?: type="hidden")? value="([^"]+)"', html).group(1)


def decide(client, meeting_id, case_id, decision, reason="", confirmed="1"):
    """A decision as the meeting page posts it; `confirmed` as its confirmation page sends it
    again ("" for the first press of the button)."""
    page = f"/en/staff/meeting/{meeting_id}"
    action = f"{page}/decide/{case_id}"
    prefix = f"case-{case_id}"
    fields = {f"{prefix}-decision": decision, f"{prefix}-reason": reason}
    return post_form(client, page, action, **fields, **{f"{prefix}-confirmed": confirmed})


# ---------------------------------------------------------------- who may do what


def meeting_rules(app):
    return [r for r in staff_rules(app) if r.endpoint.rpartition(".")[2] in MEETING_VIEWS]


MEETING_VIEWS = {
    "meetings",
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
    "minutes",
    "meeting_correction",
}


def test_every_meeting_view_has_its_rule_runners_and_readers(app):
    assert {r.endpoint.rpartition(".")[2] for r in meeting_rules(app)} == MEETING_VIEWS
    for view in MEETING_VIEWS:
        allowed = staff_session.ACCESS[view]
        if view in ("meetings", "minutes"):
            assert allowed == set(ROLES), view
        else:
            assert allowed == set(RUNNERS), view


@pytest.mark.parametrize("role", ROLES)
def test_each_role_opens_the_meeting_pages_it_may_and_gets_403_elsewhere(
    app, signed_in, staff_db, three, role
):
    meeting_id, cases = three
    meetings.decide(staff_db, meeting_id, cases[0], "accepted", actor="admin", role="admin")
    client = signed_in(role)
    values = {"meeting_id": meeting_id, "case_id": cases[1], "direction": "up"}
    for rule in meeting_rules(app):
        if "GET" not in rule.methods:
            continue
        view = rule.endpoint.rpartition(".")[2]
        url = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
        response = client.get(url)
        expected = 200 if role in staff_session.ACCESS[view] else 403
        assert response.status_code == expected, (url, role, response.status_code)


def test_the_menu_offers_the_meetings_to_everyone(signed_in):
    for role in ROLES:
        html = signed_in(role).get("/staff/dashboard").get_data(as_text=True)
        menu = BeautifulSoup(html, "html.parser").select("nav.staff-bar ul a")
        assert "/staff/meetings" in [a["href"] for a in menu], role


@pytest.mark.parametrize("role", READERS)
def test_only_committee_members_and_administrators_run_meetings(app, staff_db, three, role):
    meeting_id, cases = three
    with pytest.raises(meetings.NotAllowed):
        meetings.create(staff_db, held_on=DAY, members=["committee"], actor=role, role=role)
    for attempt in (
        lambda: meetings.decide(staff_db, meeting_id, cases[0], "accepted", actor=role, role=role),
        lambda: meetings.add_to_agenda(staff_db, meeting_id, cases, actor=role, role=role),
        lambda: meetings.move(staff_db, meeting_id, cases[0], 1, actor=role, role=role),
        lambda: meetings.close(staff_db, meeting_id, actor=role, role=role),
    ):
        with pytest.raises(meetings.NotAllowed):
            attempt()
    assert [state_of(staff_db, c) for c in cases] == ["committee"] * 3


def test_a_researcher_posting_a_decision_gets_403_and_nothing_moves(signed_in, staff_db, three):
    meeting_id, cases = three
    researcher = signed_in("researcher")
    response = researcher.post(
        f"/staff/meeting/{meeting_id}/decide/{cases[0]}",
        data={
            "csrf_token": token(researcher),
            f"case-{cases[0]}-csrf_token": token(researcher),
            f"case-{cases[0]}-decision": "accepted",
        },
    )
    assert response.status_code == 403
    assert state_of(staff_db, cases[0]) == "committee"
    refused = staff_db.execute(
        "SELECT detail FROM events WHERE action = 'access_refused' ORDER BY id DESC"
    ).fetchone()
    assert '"meeting_decide"' in refused[0]


def test_writes_without_a_token_are_refused_400(app, signed_in, staff_db, three):
    meeting_id, cases = three
    client = signed_in("committee")
    before = staff_db.execute("SELECT count(*) FROM events").fetchone()[0]
    for url in (
        "/staff/meetings/new",
        f"/staff/meeting/{meeting_id}/details",
        f"/staff/meeting/{meeting_id}/agenda",
        f"/staff/meeting/{meeting_id}/agenda/{cases[0]}/remove",
        f"/staff/meeting/{meeting_id}/agenda/{cases[0]}/down",
        f"/staff/meeting/{meeting_id}/decide/{cases[0]}",
        f"/staff/meeting/{meeting_id}/close",
        f"/staff/meeting/{meeting_id}/correction",
    ):
        data = {"held_on": "2026-12-10", "cases": str(cases[0]), "text": "x"}
        data[f"case-{cases[0]}-decision"] = "accepted"
        assert client.post(url, data=data).status_code == 400, url
    after = staff_db.execute("SELECT count(*) FROM events").fetchone()[0]
    assert after == before


# ---------------------------------------------------------------- the agenda


def test_a_committee_member_opens_a_meeting_and_builds_its_agenda(app, signed_in, staff_db):
    cases = [with_committee(app, staff_db, sent=f"2026-12-0{n}T09:00") for n in (3, 1, 2)]
    client = signed_in("committee")
    today = dt.date.today()
    response = post_form(
        client,
        "/staff/meetings",
        "/staff/meetings/new",
        held_on=today.isoformat().translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),
        members="committee",
        names="أحمد علي\n\n  سعيد   عمر \nأحمد علي",
    )
    assert response.status_code == 302
    meeting_id = int(response.headers["Location"].rsplit("/", 1)[1])
    found = meetings.get(staff_db, meeting_id)
    assert found["held_on"] == today.isoformat() and not found["closed_at"]
    assert found["members"] == [
        {"username": "committee", "name": None},
        {"username": None, "name": "أحمد علي"},
        {"username": None, "name": "سعيد عمر"},
    ]
    page = f"/staff/meeting/{meeting_id}"
    html = client.get(page).get_data(as_text=True)
    offered = [i["value"] for i in BeautifulSoup(html, "html.parser").select("input[name=cases]")]
    assert offered == [str(cases[1]), str(cases[2]), str(cases[0])]  # longest waiting first
    response = post_form(client, page, f"{page}/agenda", cases=[str(cases[0]), str(cases[1])])
    assert response.status_code == 302
    response = post_form(client, page, f"{page}/agenda/{cases[1]}/up")
    assert response.status_code == 302
    assert [i["id"] for i in meetings.agenda(staff_db, meeting_id)] == [cases[1], cases[0]]
    response = post_form(client, page, f"{page}/agenda/{cases[0]}/remove")
    assert response.status_code == 302
    assert [i["id"] for i in meetings.agenda(staff_db, meeting_id)] == [cases[1]]
    assert state_of(staff_db, cases[0]) == "committee"


def test_a_meeting_needs_a_date_and_members_present(signed_in, staff_db):
    client = signed_in("committee")
    response = post_form(
        client, "/en/staff/meetings", "/en/staff/meetings/new", held_on="", names=""
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Enter the date of the meeting." in html and "Choose the members present" in html
    assert staff_db.execute("SELECT count(*) FROM meetings").fetchone()[0] == 0
    with pytest.raises(meetings.NoMembers):
        meetings.create(staff_db, held_on=DAY, members=[], names=[" "], actor="x", role="admin")


@pytest.mark.parametrize("state", ["received", "verifying", "social_research", "accepted"])
def test_a_case_not_with_the_committee_cannot_go_on_an_agenda(app, signed_in, staff_db, state):
    case_id = with_committee(app, staff_db)
    staff_db.execute("UPDATE submissions SET state = ? WHERE id = ?", [state, case_id])
    staff_db.conn.commit()
    meeting_id = open_meeting(staff_db)
    with pytest.raises(meetings.NotWithCommittee):
        meetings.add_to_agenda(staff_db, meeting_id, [case_id], actor="admin", role="admin")
    # Through the page: a case that is not offered, posted anyway, is refused with a reason.
    client = signed_in("committee")
    page = f"/en/staff/meeting/{meeting_id}"
    fields = {"csrf_token": token(client, page), "cases": str(case_id)}
    response = client.post(f"{page}/agenda", data=fields)
    assert response.status_code == 409
    assert "Only support requests with the research committee" in response.get_data(as_text=True)
    assert meetings.agenda(staff_db, meeting_id) == []


def test_a_volunteer_or_an_unknown_case_cannot_go_on_an_agenda(app, staff_db):
    with app.test_request_context():
        volunteer = queue.submit(staff_db, kind=Kind.VOLUNTEER, lang="ar", fields={})
    meeting_id = open_meeting(staff_db)
    for case_id in (volunteer.submission_id, 999):
        with pytest.raises(meetings.NotWithCommittee):
            meetings.add_to_agenda(staff_db, meeting_id, [case_id], actor="admin", role="admin")


def test_a_case_waits_on_one_open_agenda_at_a_time(app, staff_db, three):
    meeting_id, cases = three
    other = open_meeting(staff_db)
    with pytest.raises(meetings.OnAnotherAgenda):
        meetings.add_to_agenda(staff_db, other, [cases[0]], actor="admin", role="admin")
    assert meetings.candidates(staff_db, other) == []
    # Adding the same case twice to its own agenda changes nothing.
    assert meetings.add_to_agenda(staff_db, meeting_id, cases, actor="x", role="admin") == []


# ---------------------------------------------------------------- decisions


def test_a_decision_is_the_tables_move_with_the_meeting_in_its_event(app, staff_db, three):
    meeting_id, cases = three
    meetings.decide(staff_db, meeting_id, cases[0], "accepted", actor="committee", role="committee")
    with pytest.raises(queue.ReasonRequired):
        meetings.decide(staff_db, meeting_id, cases[1], "rejected", actor="c", role="committee")
    assert state_of(staff_db, cases[1]) == "committee"
    meetings.decide(
        staff_db,
        meeting_id,
        cases[1],
        "rejected",
        reason="الدخل يتجاوز الحد",
        actor="committee",
        role="committee",
    )
    accepted = events_of(staff_db, cases[0], "transition")[-1]
    rejected = events_of(staff_db, cases[1], "transition")[-1]
    assert (accepted["from_state"], accepted["to_state"]) == ("committee", "accepted")
    assert accepted["detail"] == {"meeting": meeting_id}
    assert (rejected["from_state"], rejected["to_state"]) == ("committee", "rejected")
    assert rejected["detail"] == {"meeting": meeting_id, "reason": "الدخل يتجاوز الحد"}
    assert [state_of(staff_db, c) for c in cases[:2]] == ["accepted", "rejected"]
    # The same move as anywhere else: the case page's table offers nothing more now.
    with pytest.raises(meetings.AlreadyDecided):
        meetings.decide(
            staff_db, meeting_id, cases[0], "rejected", reason="x", actor="c", role="admin"
        )


def test_queue_transition_takes_the_meeting_as_one_optional_keyword(app, staff_db):
    case_id = with_committee(app, staff_db)
    with app.test_request_context():
        queue.transition(staff_db, case_id, "accepted", actor="c", role="committee", meeting_id=7)
    assert events_of(staff_db, case_id, "transition")[-1]["detail"] == {"meeting": 7}
    other = with_committee(app, staff_db)
    with app.test_request_context():
        queue.transition(staff_db, other, "rejected", actor="c", role="committee", reason="r")
    assert events_of(staff_db, other, "transition")[-1]["detail"] == {"reason": "r"}


@pytest.mark.parametrize(("decision", "reason"), [("accepted", ""), ("rejected", "الدخل أعلى")])
def test_a_meeting_decision_is_confirmed_on_its_own_page_first(
    signed_in, staff_db, three, decision, reason
):
    """The button records nothing yet: a page shows the case, the decision and its reason,
    whose form sends them again with the confirmation; its language link opens the meeting."""
    meeting_id, cases = three
    client = signed_in("committee")
    first = decide(client, meeting_id, cases[0], decision, reason, confirmed="")
    assert first.status_code == 200
    assert state_of(staff_db, cases[0]) == "committee"
    assert meetings.agenda(staff_db, meeting_id)[0]["decision"] is None
    html = first.get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")
    assert soup.select_one("a.staff-lang")["href"] == f"/staff/meeting/{meeting_id}"
    again = form_fields(html, f"/staff/meeting/{meeting_id}/decide/{cases[0]}")
    prefix = f"case-{cases[0]}"
    assert again[f"{prefix}-decision"] == decision and again[f"{prefix}-confirmed"] == "1"
    assert again[f"{prefix}-reason"] == reason
    confirmed = client.post(f"/en/staff/meeting/{meeting_id}/decide/{cases[0]}", data=again)
    assert confirmed.status_code == 302
    assert state_of(staff_db, cases[0]) == decision


def test_deferring_needs_no_confirmation(signed_in, staff_db, three):
    meeting_id, cases = three
    response = decide(signed_in("committee"), meeting_id, cases[1], "deferred", confirmed="")
    assert response.status_code == 302
    assert meetings.agenda(staff_db, meeting_id)[1]["decision"] == "deferred"


def test_a_confirmation_is_never_offered_for_what_cannot_be_recorded(signed_in, staff_db, three):
    """Rejecting without a reason asks for it on the meeting page; a case moved meanwhile
    is reported; a closed meeting refuses: before any confirmation page."""
    meeting_id, cases = three
    client = signed_in("committee")
    no_reason = decide(client, meeting_id, cases[2], "rejected", "", confirmed="")
    assert no_reason.status_code == 400 and "Confirm the decision" not in no_reason.get_data(
        as_text=True
    )
    with staff_db.conn:
        staff_db.execute("UPDATE submissions SET state = 'verifying' WHERE id = ?", [cases[0]])
    moved = decide(client, meeting_id, cases[0], "accepted", confirmed="")
    assert "Confirm the decision" not in moved.get_data(as_text=True)
    assert state_of(staff_db, cases[0]) == "verifying"


def test_rejecting_without_a_reason_asks_for_one_on_the_page(signed_in, staff_db, three):
    meeting_id, cases = three
    client = signed_in("committee")
    response = decide(client, meeting_id, cases[1], "rejected", reason="   ")
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    summary = soup.select_one(".error-summary a")
    assert summary["href"] == f"#case-{cases[1]}-reason"
    assert soup.select_one(f"#case-{cases[1]}-reason-error")
    assert state_of(staff_db, cases[1]) == "committee"


def test_deferred_stays_with_the_committee_for_the_next_meeting(app, signed_in, staff_db, three):
    meeting_id, cases = three
    client = signed_in("committee")
    response = decide(client, meeting_id, cases[2], "deferred")
    assert response.status_code == 302
    assert state_of(staff_db, cases[2]) == "committee"
    deferred = events_of(staff_db, cases[2], "deferred")
    assert len(deferred) == 1 and deferred[0]["detail"] == {"meeting": meeting_id}
    assert deferred[0]["actor"] == "committee"
    assert events_of(staff_db, cases[2], "transition")[-1]["to_state"] == "committee"
    # Not offered again at this meeting; offered to the next one.
    assert cases[2] not in [c["id"] for c in meetings.candidates(staff_db, meeting_id)]
    for case_id in cases[:2]:
        meetings.decide(staff_db, meeting_id, case_id, "accepted", actor="c", role="committee")
    meetings.close(staff_db, meeting_id, actor="c", role="committee")
    following = open_meeting(staff_db)
    assert [c["id"] for c in meetings.candidates(staff_db, following)] == [cases[2]]
    meetings.add_to_agenda(staff_db, following, [cases[2]], actor="c", role="committee")
    meetings.decide(staff_db, following, cases[2], "accepted", actor="c", role="committee")
    assert state_of(staff_db, cases[2]) == "accepted"


def test_a_case_decided_elsewhere_meanwhile_is_reported_not_overwritten(
    app, signed_in, staff_db, three
):
    meeting_id, cases = three
    client = signed_in("committee")
    page_before = client.get(f"/en/staff/meeting/{meeting_id}").get_data(as_text=True)
    # Meanwhile, from the case page: the first case is accepted, the second withdrawn.
    with app.test_request_context():
        queue.transition(staff_db, cases[0], "accepted", actor="admin", role="admin")
        queue.transition(
            staff_db, cases[1], "withdrawn", actor="officer", role="officer", reason="r"
        )
    with pytest.raises(queue.LostRace):
        meetings.decide(
            staff_db, meeting_id, cases[0], "rejected", reason="x", actor="c", role="committee"
        )
    with pytest.raises(queue.LostRace):
        meetings.decide(staff_db, meeting_id, cases[1], "deferred", actor="c", role="committee")
    fields = form_fields(page_before, f"/decide/{cases[0]}")
    response = client.post(
        f"/en/staff/meeting/{meeting_id}/decide/{cases[0]}",
        data={**fields, f"case-{cases[0]}-decision": "rejected", f"case-{cases[0]}-reason": "x"},
    )
    assert response.status_code == 409
    assert "Someone else moved this case first" in response.get_data(as_text=True)
    assert [state_of(staff_db, c) for c in cases[:2]] == ["accepted", "withdrawn"]
    assert [i["decision"] for i in meetings.agenda(staff_db, meeting_id)] == [None] * 3
    assert len(events_of(staff_db, cases[0], "transition")) == 3  # verifying, committee, accepted


def test_a_decision_for_a_case_not_on_the_agenda_is_refused(app, signed_in, staff_db, three):
    meeting_id, _cases = three
    stranger = with_committee(app, staff_db)
    with pytest.raises(meetings.NotOnAgenda):
        meetings.decide(staff_db, meeting_id, stranger, "accepted", actor="c", role="committee")
    client = signed_in("committee")
    prefix = f"case-{stranger}"
    response = client.post(
        f"/en/staff/meeting/{meeting_id}/decide/{stranger}",
        data={
            f"{prefix}-csrf_token": token(client),
            f"{prefix}-decision": "accepted",
        },
    )
    assert response.status_code == 409
    assert "not on the agenda" in response.get_data(as_text=True)
    assert state_of(staff_db, stranger) == "committee"


def test_a_forged_decision_is_refused(signed_in, staff_db, three):
    meeting_id, cases = three
    client = signed_in("admin")
    for decision in ("served", "", "withdrawn"):
        response = decide(client, meeting_id, cases[0], decision, reason="r")
        assert response.status_code == 400, decision
    assert state_of(staff_db, cases[0]) == "committee"


# ---------------------------------------------------------------- closing and the minutes


def close_three(staff_db, meeting_id, cases):
    meetings.decide(staff_db, meeting_id, cases[0], "accepted", actor="committee", role="committee")
    meetings.decide(
        staff_db,
        meeting_id,
        cases[1],
        "rejected",
        reason="الدخل يتجاوز الحد",
        actor="committee",
        role="committee",
    )
    meetings.decide(staff_db, meeting_id, cases[2], "deferred", actor="committee", role="committee")
    assert meetings.close(staff_db, meeting_id, actor="committee", role="committee") is True


def test_closing_needs_a_decision_for_every_case(signed_in, staff_db, three):
    meeting_id, cases = three
    meetings.decide(staff_db, meeting_id, cases[0], "accepted", actor="c", role="committee")
    with pytest.raises(meetings.Undecided) as refused:
        meetings.close(staff_db, meeting_id, actor="c", role="committee")
    assert refused.value.count == 2
    with pytest.raises(sqlite3.IntegrityError, match="needs a decision"):
        staff_db.execute("UPDATE meetings SET closed_at = 'now' WHERE id = ?", [meeting_id])
    staff_db.conn.rollback()
    response = post_form(
        signed_in("committee"),
        f"/en/staff/meeting/{meeting_id}",
        f"/en/staff/meeting/{meeting_id}/close",
    )
    assert response.status_code == 409
    assert "Cases without a decision: 2" in response.get_data(as_text=True)
    assert not meetings.get(staff_db, meeting_id)["closed_at"]


def test_the_minutes_say_exactly_what_was_decided(signed_in, staff_db, three):
    meeting_id, cases = three
    close_three(staff_db, meeting_id, cases)
    book = meetings.minutes(staff_db, meeting_id)
    assert book["totals"] == {"accepted": 1, "rejected": 1, "deferred": 1, "total": 3}
    assert [(c["id"], c["decision"], c["reason"]) for c in book["cases"]] == [
        (cases[0], "accepted", ""),
        (cases[1], "rejected", "الدخل يتجاوز الحد"),
        (cases[2], "deferred", ""),
    ]
    for prefix in ("", "/en"):
        html = signed_in("officer").get(f"{prefix}/staff/meeting/{meeting_id}/minutes")
        assert html.status_code == 200
        soup = BeautifulSoup(html.get_data(as_text=True), "html.parser")
        rows = soup.select("table.minutes-decisions tbody tr")
        assert [r["data-decision"] for r in rows] == ["accepted", "rejected", "deferred"]
        references = [r.th.get_text(strip=True) for r in rows]
        assert references == [format_reference(queue.get(staff_db, c)["reference"]) for c in cases]
        assert "الدخل يتجاوز الحد" in rows[1].get_text()
        totals = {td["data-total"]: td.get_text(strip=True) for td in soup.select("[data-total]")}
        assert totals == {"accepted": "1", "rejected": "1", "deferred": "1", "total": "3"}
        signatures = soup.select("table.signatures tbody tr")
        assert [s.th.get_text(strip=True) for s in signatures] == ["committee", "أحمد علي"]
        assert "size: A4" in html.get_data(as_text=True)
        if prefix == "/en":
            assert "Minutes of the research committee meeting" in soup.h1.get_text()
            assert "Signature" in soup.get_text()
        # The full names are not in the minutes: cases by reference only.
        assert "فاطمة" not in soup.get_text()
        # Readers get no correction form.
        assert not soup.select("form[action$='/correction']")


def test_a_closed_meeting_is_frozen_by_the_database_itself(staff_db, three):
    meeting_id, cases = three
    close_three(staff_db, meeting_id, cases)
    for sql, params in (
        ("UPDATE meetings SET held_on = '2026-01-01' WHERE id = ?", [meeting_id]),
        ("UPDATE meetings SET closed_at = NULL WHERE id = ?", [meeting_id]),
        ("DELETE FROM meetings WHERE id = ?", [meeting_id]),
        ("UPDATE meeting_items SET decision = 'accepted' WHERE meeting_id = ?", [meeting_id]),
        ("UPDATE meeting_items SET position = 9 WHERE meeting_id = ?", [meeting_id]),
        ("DELETE FROM meeting_items WHERE meeting_id = ?", [meeting_id]),
        (
            "INSERT INTO meeting_items (meeting_id, submission_id, reference, position) "
            "VALUES (?, 99, 'X', 9)",
            [meeting_id],
        ),
        ("UPDATE meeting_members SET name = 'x' WHERE meeting_id = ?", [meeting_id]),
        ("DELETE FROM meeting_members WHERE meeting_id = ?", [meeting_id]),
        (
            "INSERT INTO meeting_members (meeting_id, position, name) VALUES (?, 9, 'x')",
            [meeting_id],
        ),
    ):
        # (A decided row's own trigger may answer first: a decision is final anyway.)
        with pytest.raises(sqlite3.IntegrityError, match=r"closed|final"):
            staff_db.execute(sql, params)
        staff_db.conn.rollback()
    # Moving a row of an open meeting into the closed one is refused too.
    other = open_meeting(staff_db)
    with pytest.raises(sqlite3.IntegrityError, match="closed"):
        staff_db.execute(
            "UPDATE meeting_members SET meeting_id = ? WHERE meeting_id = ?", [meeting_id, other]
        )
    staff_db.conn.rollback()
    assert meetings.minutes(staff_db, meeting_id)["totals"]["total"] == 3
    # And the data layer says so before the database has to.
    with pytest.raises(meetings.MeetingClosed):
        meetings.update(
            staff_db, meeting_id, held_on=DAY, members=[], names=["x"], actor="a", role="admin"
        )
    with pytest.raises(meetings.MeetingClosed):
        meetings.remove_from_agenda(staff_db, meeting_id, cases[2], actor="a", role="admin")


def test_a_decision_is_final_in_an_open_meeting_too(staff_db, three):
    meeting_id, cases = three
    meetings.decide(staff_db, meeting_id, cases[0], "accepted", actor="c", role="committee")
    with pytest.raises(sqlite3.IntegrityError, match="final"):
        staff_db.execute(
            "UPDATE meeting_items SET decision = 'rejected' WHERE submission_id = ?", [cases[0]]
        )
    staff_db.conn.rollback()
    with pytest.raises(sqlite3.IntegrityError, match="final"):
        staff_db.execute("DELETE FROM meeting_items WHERE submission_id = ?", [cases[0]])
    staff_db.conn.rollback()
    with pytest.raises(meetings.AlreadyDecided):
        meetings.remove_from_agenda(staff_db, meeting_id, cases[0], actor="c", role="admin")


def test_every_write_to_a_closed_meeting_is_refused_409(app, signed_in, staff_db, three):
    meeting_id, cases = three
    client = signed_in("committee")
    base = f"/en/staff/meeting/{meeting_id}"
    open_page = client.get(base).get_data(as_text=True)
    close_three(staff_db, meeting_id, cases)
    fresh = with_committee(app, staff_db)
    before = staff_db.execute("SELECT count(*) FROM events").fetchone()[0]
    attempts = {
        f"{base}/details": {"held_on": "2026-12-10", "names": "x"},
        f"{base}/agenda": {"cases": str(fresh)},
        f"{base}/agenda/{cases[2]}/remove": {},
        f"{base}/agenda/{cases[2]}/up": {},
        f"{base}/decide/{cases[2]}": {f"case-{cases[2]}-decision": "accepted"},
    }
    for url, data in attempts.items():
        fields = form_fields(open_page, url.removeprefix(base)) if "decide" in url else {}
        fields = fields or {"csrf_token": token(client)}
        response = client.post(url, data={**fields, **data})
        assert response.status_code == 409, url
        assert "This meeting is closed" in response.get_data(as_text=True), url
    assert staff_db.execute("SELECT count(*) FROM events").fetchone()[0] == before
    assert state_of(staff_db, cases[2]) == "committee"
    # Opening the meeting's page now shows its minutes.
    response = client.get(base)
    assert response.status_code == 302 and response.headers["Location"].endswith("/minutes")


def test_a_replayed_close_changes_nothing(signed_in, staff_db, three):
    meeting_id, cases = three
    for case_id in cases:
        meetings.decide(staff_db, meeting_id, case_id, "deferred", actor="c", role="committee")
    client = signed_in("committee")
    fields = form_fields(
        client.get(f"/staff/meeting/{meeting_id}").get_data(as_text=True), "/close"
    )
    first = client.post(f"/staff/meeting/{meeting_id}/close", data=fields)
    closed_at = meetings.get(staff_db, meeting_id)["closed_at"]
    again = client.post(f"/staff/meeting/{meeting_id}/close", data=fields)
    assert first.status_code == again.status_code == 302
    assert again.headers["Location"].endswith(f"/meeting/{meeting_id}/minutes")
    assert meetings.get(staff_db, meeting_id)["closed_at"] == closed_at
    closings = staff_db.execute(
        "SELECT count(*) FROM events WHERE action = 'meeting_closed'"
    ).fetchone()[0]
    assert closings == 1
    assert meetings.close(staff_db, meeting_id, actor="c", role="committee") is False


def test_a_correction_is_a_new_event_under_the_minutes(signed_in, staff_db, three):
    meeting_id, cases = three
    with pytest.raises(meetings.MeetingOpen):
        meetings.add_correction(staff_db, meeting_id, "x", actor="c", role="committee")
    close_three(staff_db, meeting_id, cases)
    before = meetings.minutes(staff_db, meeting_id)
    client = signed_in("committee")
    page = f"/staff/meeting/{meeting_id}/minutes"
    response = post_form(client, page, f"/staff/meeting/{meeting_id}/correction", text="")
    assert response.status_code == 400
    response = post_form(
        client, page, f"/staff/meeting/{meeting_id}/correction", text="سقط اسم العضو سعيد عمر"
    )
    assert response.status_code == 302
    after = meetings.minutes(staff_db, meeting_id)
    assert after["cases"] == before["cases"] and after["meeting"] == before["meeting"]
    assert [(c["actor"], c["text"]) for c in after["corrections"]] == [
        ("committee", "سقط اسم العضو سعيد عمر")
    ]
    html = client.get(page).get_data(as_text=True)
    soup = BeautifulSoup(html, "html.parser")
    assert "سقط اسم العضو سعيد عمر" in soup.select_one(".minutes__corrections").get_text()
    with pytest.raises(meetings.NotAllowed):
        meetings.add_correction(staff_db, meeting_id, "x", actor="o", role="officer")


def test_erasing_a_case_anonymises_its_reason_in_the_minutes(staff_db, three):
    """The reason is kept in the decision's event only: erasure reaches the minutes, and the
    frozen minutes do not stop the retention schedule or an erasure."""
    meeting_id, cases = three
    close_three(staff_db, meeting_id, cases)
    queue.delete_cases(staff_db, [cases[1]])
    staff_db.conn.commit()
    rejected = meetings.minutes(staff_db, meeting_id)["cases"][1]
    assert rejected["decision"] == "rejected" and rejected["reason"] == ""
    assert rejected["reason_erased"] is True
    assert meetings.minutes(staff_db, meeting_id)["totals"]["total"] == 3


# ---------------------------------------------------------------- before the meeting


def test_the_agenda_pack_shows_each_case_and_records_one_view_each(signed_in, staff_db, three):
    meeting_id, cases = three
    client = signed_in("committee")
    for prefix in ("", "/en"):
        response = client.get(f"{prefix}/staff/meeting/{meeting_id}/pack")
        assert response.status_code == 200
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        sections = soup.select("section.pack-case")
        assert len(sections) == 3
        assert "سارة محمد" in sections[0].get_text()  # the orphans, as on the case sheet
    for case_id in cases:
        views = [e for e in events_of(staff_db, case_id, "view")]
        assert [e["detail"] for e in views] == [{"what": "agenda_pack"}] * 2


def agenda_of_two(app, staff_db, second_sent: str) -> int:
    """A meeting whose agenda holds a case named like a formula and a case of five people
    (sent to the committee at `second_sent`) rejected with a reason like a formula."""
    cases = [
        with_committee(app, staff_db, name='=HYPERLINK("x")', sent="2026-11-01T09:00"),
        with_committee(app, staff_db, sent=second_sent, family_size=5),
    ]
    meeting_id = open_meeting(staff_db, *cases)
    meetings.decide(
        staff_db, meeting_id, cases[1], "rejected", reason="+سبب", actor="c", role="admin"
    )
    return meeting_id


def test_the_agenda_as_csv_opens_in_excel(app, signed_in, staff_db):
    meeting_id = agenda_of_two(app, staff_db, "2026-11-02T09:00")
    response = signed_in("committee").get(f"/en/staff/meeting/{meeting_id}/agenda.csv")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0][:3] == ["Agenda item", "Reference", "Full name"]
    assert rows[1][2] == '\'=HYPERLINK("x")'  # neutralised
    assert rows[2][0] == "2" and rows[2][4] == "5" and rows[2][-2:] == ["Rejected", "'+سبب"]
    exported = staff_db.execute(
        "SELECT detail FROM events WHERE action = 'export' ORDER BY id DESC"
    ).fetchone()[0]
    assert '"meeting_agenda"' in exported and '"rows": 2' in exported


def test_the_agenda_as_xlsx_right_to_left_with_real_times_and_inert_formulas(
    app, signed_in, staff_db
):
    meeting_id = agenda_of_two(app, staff_db, "2026-11-02T21:30")
    response = signed_in("committee").get(f"/staff/meeting/{meeting_id}/agenda.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    book = openpyxl.load_workbook(io.BytesIO(response.get_data()))
    sheet = book.worksheets[0]
    assert sheet.title == "جدول الأعمال"
    assert sheet.sheet_view.rightToLeft
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][:3] == ["البند", "الرقم المرجعي", "الاسم الكامل"]
    assert rows[1][2] == '\'=HYPERLINK("x")'  # text, never a formula
    assert rows[1][0] == 1 and rows[2][4] == 5
    # 21:30 UTC on 2 November is 00:30 on the 3rd in Riyadh: a real date and time.
    sent = rows[2][len(rows[0]) - 3]
    assert sent == dt.datetime(2026, 11, 3, 0, 30)
    assert rows[2][-1] == "'+سبب"
    exported = staff_db.execute(
        "SELECT detail FROM events WHERE action = 'export' ORDER BY id DESC"
    ).fetchone()[0]
    assert '"format": "xlsx"' in exported and '"rows": 2' in exported


# ---------------------------------------------------------------- the dashboard


def test_the_dashboard_counts_meetings_and_the_time_to_decision(app, signed_in, staff_db):
    first = [with_committee(app, staff_db, sent="2026-11-01T09:00") for _ in range(3)]
    meeting_id = open_meeting(staff_db, *first)
    meetings.decide(
        staff_db,
        meeting_id,
        first[0],
        "accepted",
        actor="c",
        role="admin",
        at=at("2026-11-08T09:00"),
    )
    meetings.decide(
        staff_db,
        meeting_id,
        first[1],
        "rejected",
        reason="r",
        actor="c",
        role="admin",
        at=at("2026-11-21T09:00"),
    )
    meetings.decide(
        staff_db,
        meeting_id,
        first[2],
        "deferred",
        actor="c",
        role="admin",
        at=at("2026-11-21T09:00"),
    )
    meetings.close(staff_db, meeting_id, actor="c", role="admin")
    open_meeting(staff_db)  # not held yet: not counted
    figures = meetings.stats(staff_db, answer_days=14)
    assert figures["held"] == 1 and figures["decided"] == 2
    assert figures["average_days"] == 13.5 and figures["late"] == 1 and figures["within"] == 1
    (row,) = figures["meetings"]
    assert (row["accepted"], row["rejected"], row["deferred"], row["late"]) == (1, 1, 1, 1)
    assert figures["series"] == [(f"2026-12-09 ({meeting_id})", (1, 1))]
    for prefix in ("", "/en"):
        html = signed_in("officer").get(f"{prefix}/staff/dashboard").get_data(as_text=True)
        soup = BeautifulSoup(html, "html.parser")
        section = soup.select_one("section[aria-labelledby=meetings-title]")
        assert section.select_one("svg#chart-meetings, svg[aria-labelledby=chart-meetings]")
        assert section.select_one(f"a[href$='/meeting/{meeting_id}/minutes']")
        assert "13.5" in section.get_text()


# ---------------------------------------------------------------- the schema


def test_the_meetings_step_runs_before_or_after_any_other_new_step(tmp_path):
    """Steps run in the order they are defined; m006 creates only its own tables, so it
    works whether it runs before or after a step appended beside it (m005 and m006 may be
    defined in either order in the file)."""
    steps = {m.name: m.fn for m in migrations.migrations._migrations}
    assert "m006_meetings" in steps
    others = [name for name in steps if name != "m006_meetings"]
    for order in ([*others[:4], "m006_meetings", *others[4:]], [*others, "m006_meetings"]):
        shuffled = Migrations("portal")
        for name in order:
            shuffled(name=name)(steps[name])
        db = Database(str(tmp_path / f"{len(order)}-{order.index('m006_meetings')}.sqlite3"))
        shuffled.apply(db)
        tables = set(db.table_names())
        assert {"meetings", "meeting_members", "meeting_items", "submissions"} <= tables
        triggers = {t.name for t in db.triggers}
        assert "meetings_closed_no_update" in triggers and "events_no_update" in triggers
        db.close()


def test_meeting_states_are_the_lifecycles_words():
    assert meetings.DECISIONS == (State.ACCEPTED, State.REJECTED, "deferred")
