"""Answering "more information needed" online: staff tick the documents missing, the
applicant looks the request up, types the code sent by SMS (when SMS is set up), uploads
what was asked and replies; the case goes back to `verifying` as the applicant's move.

Attacks first: an answer without the code, a replayed cookie, guessed codes, codes asked a
thousand times, a file that lies about its type, an answer after staff moved the case.
"""

import datetime as dt
import hashlib
import io
import json
import re

import pytest
from bs4 import BeautifulSoup

from forms_service import answers, auth, drafts, queue
from forms_service import db as dbm
from forms_service.lifecycle import State
from tests.conftest import make_app, sms_settings
from tests.forms.helpers import (
    PDF,
    PNG,
    errors_in,
    get_form,
    hidden_fields,
    reference_on,
    submit_assistance,
)
from tests.forms.test_sms import no_proxy  # noqa: F401 (its autouse fixture, here too)
from tests.staff.conftest import csrf_of, sign_in
from tests.staff.test_security_review import all_cookie_text

MOBILE = "0512345678"  # helpers.assistance_data()'s, as the applicant types it
ASKED = ["income_proof", "lease"]


@pytest.fixture
def app(site_dir, tmp_path, gateway):
    return make_app(tmp_path, **sms_settings(gateway.url))


@pytest.fixture
def no_sms_app(site_dir, tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def db(app):
    database = dbm.connect(app.config["PORTAL_DB"])
    yield database
    database.close()


def prefix(lang):
    return "/en" if lang == "en" else ""


def submitted(app, lang="ar") -> tuple[int, str]:
    """A support request sent through the public form: (case id, reference)."""
    page = submit_assistance(app.test_client(), lang)
    reference = reference_on(page).replace("-", "")
    database = dbm.connect(app.config["PORTAL_DB"])
    case_id = database.execute(
        "SELECT id FROM submissions WHERE reference = ?", [reference]
    ).fetchone()[0]
    database.close()
    return case_id, reference


def ask(app, case_id, missing=ASKED, reason="أرسلي عقد الإيجار وإثبات الدخل من فضلك."):
    """An officer asks for more information through the case page, ticking `missing`."""
    database = dbm.connect(app.config["PORTAL_DB"])
    if not database.execute("SELECT 1 FROM staff WHERE username = 'officer'").fetchone():
        auth.add_user(database, "officer", "officer", "correct horse battery staple", actor="t")
    database.close()
    staff = app.test_client()
    assert sign_in(staff, "officer").status_code == 302
    for target in ("verifying", "needs_info"):
        token = csrf_of(staff, f"/staff/case/{case_id}")
        data = {
            "csrf_token": token,
            "target": target,
            "reason": reason if target == "needs_info" else "",
        }
        if target == "needs_info":
            data["missing"] = list(missing)
        response = staff.post(f"/staff/case/{case_id}/transition", data=data)
        assert response.status_code == 302
    return staff


def look_up(client, reference, mobile=MOBILE, lang="ar"):
    url = prefix(lang) + "/forms/status/"
    fields = get_form(client, url)
    response = client.post(url, data={**fields, "reference": reference, "mobile": mobile})
    assert response.status_code == 302
    return client.get(response.headers["Location"])


def asked_and_looked_up(app, lang="ar", missing=ASKED):
    """A request asked for `missing` by an officer, then looked up by its applicant:
    (case id, reference, the applicant's client, the officer's client)."""
    case_id, reference = submitted(app, lang)
    staff = ask(app, case_id, missing)
    client = app.test_client()
    look_up(client, reference, lang=lang)
    return case_id, reference, client, staff


def answer_page(client, lang="ar"):
    return client.get(prefix(lang) + "/forms/status/answer")


def post_answer(client, data, files=None, lang="ar"):
    page = answer_page(client, lang)
    fields = hidden_fields(page.get_data(as_text=True))
    payload = {**fields, **data, **(files or {})}
    return client.post(
        prefix(lang) + "/forms/status/answer", data=payload, content_type="multipart/form-data"
    )


def sent_code(gateway) -> str:
    body = json.loads(gateway.requests[-1].body)["body"]
    return re.search(r"\b([0-9]{6})\b", body).group(1)


def verify(client, gateway, lang="ar"):
    assert post_answer(client, {"action": "send-code"}, lang=lang).status_code == 302
    response = post_answer(client, {"action": "code", "code": sent_code(gateway)}, lang=lang)
    assert response.status_code == 302, errors_in(response)


def the_case(db, case_id) -> dict:
    return queue.get(db, case_id)


# ---------------------------------------------------------------- staff ask


def test_staff_tick_the_documents_missing(app, db):
    case_id, _ref = submitted(app)
    ask(app, case_id)
    row = the_case(db, case_id)
    assert row["state"] == "needs_info"
    assert answers.asked(row) == ASKED
    event = db.execute(
        "SELECT detail FROM events WHERE submission_id = ? AND to_state = 'needs_info'", [case_id]
    ).fetchone()[0]
    assert json.loads(event)["missing"] == ASKED


def test_a_kind_that_is_no_document_is_refused(app, db):
    case_id, _ref = submitted(app)
    staff = app.test_client()
    auth.add_user(db, "officer", "officer", "correct horse battery staple", actor="t")
    assert sign_in(staff, "officer").status_code == 302
    token = csrf_of(staff, f"/staff/case/{case_id}")
    staff.post(
        f"/staff/case/{case_id}/transition", data={"csrf_token": token, "target": "verifying"}
    )
    token = csrf_of(staff, f"/staff/case/{case_id}")
    response = staff.post(
        f"/staff/case/{case_id}/transition",
        data={"csrf_token": token, "target": "needs_info", "reason": "x", "missing": ["passport"]},
    )
    assert response.status_code == 400
    assert the_case(db, case_id)["state"] == "verifying"


# ---------------------------------------------------------------- the whole answer


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_applicant_answers_with_the_code(app, db, gateway, lang):
    case_id, reference = submitted(app, lang)
    ask(app, case_id)
    client = app.test_client()
    status = look_up(client, reference, lang=lang)
    html = status.get_data(as_text=True)
    assert "أرسلي عقد الإيجار" in html
    assert prefix(lang) + "/forms/status/answer" in html

    # Before the code: only the button that sends it; an answer is refused.
    page = answer_page(client, lang)
    assert 'value="send-code"' in page.get_data(as_text=True)
    assert 'name="reply"' not in page.get_data(as_text=True)
    refused = post_answer(client, {"action": "answer", "reply": "x"}, lang=lang)
    assert refused.status_code == 400
    assert the_case(db, case_id)["state"] == "needs_info"

    # The code goes to the request's mobile, in the request's language, and nothing else.
    before = len(gateway.requests)
    assert post_answer(client, {"action": "send-code"}, lang=lang).status_code == 302
    assert len(gateway.requests) == before + 1
    message = json.loads(gateway.requests[-1].body)
    assert message["recipients"] == ["966512345678"]
    assert ("رمز" in message["body"]) == (lang == "ar")
    assert "فاطمة" not in message["body"] and reference not in message["body"]

    wrong = "000000" if sent_code(gateway) != "000000" else "111111"
    response = post_answer(client, {"action": "code", "code": wrong}, lang=lang)
    assert response.status_code == 400
    assert errors_in(response)
    response = post_answer(client, {"action": "code", "code": sent_code(gateway)}, lang=lang)
    assert response.status_code == 302

    page = answer_page(client, lang).get_data(as_text=True)
    assert 'name="documents-income_proof"' in page and 'name="documents-lease"' in page
    assert 'name="documents-id_card"' not in page  # only what was asked

    reply = "هذا عقد الإيجار وإثبات الدخل."
    response = post_answer(
        client,
        {"action": "answer", "reply": reply},
        {
            "documents-income_proof": (io.BytesIO(PDF), "دخل.pdf"),
            "documents-lease": (io.BytesIO(PNG), "lease.png"),
        },
        lang=lang,
    )
    assert response.status_code == 302
    done = client.get(response.headers["Location"])
    assert done.status_code == 200
    assert reference in done.get_data(as_text=True).replace("-", "")

    row = the_case(db, case_id)
    assert row["state"] == "verifying"
    assert row["answered_at"] is not None
    assert row["applicant_message"] is None  # the ask is answered: no longer shown
    kinds = sorted(d["kind"] for d in queue.documents_of(db, case_id))
    assert kinds == sorted(["id_card", "death_certificate", "family_record", *ASKED])
    last = db.execute(
        "SELECT actor, from_state, to_state FROM events WHERE submission_id = ? "
        "AND action = 'transition' ORDER BY id DESC LIMIT 1",
        [case_id],
    ).fetchone()
    assert last == ("applicant", "needs_info", "verifying")
    detail = json.loads(
        db.execute(
            "SELECT detail FROM events WHERE submission_id = ? AND action = 'applicant_reply'",
            [case_id],
        ).fetchone()[0]
    )
    assert detail == {"documents": ASKED, "text": reply}

    # Answered once: the same cookie cannot answer again (nor can a copy of it).
    assert answer_page(client, lang).status_code == 302
    replay = post_answer(client, {"action": "answer", "reply": "again"}, lang=lang)
    assert replay.status_code == 302
    assert (
        db.execute(
            "SELECT count(*) FROM events WHERE submission_id = ? AND action = 'applicant_reply'",
            [case_id],
        ).fetchone()[0]
        == 1
    )


def test_without_sms_the_lookup_is_enough(no_sms_app):
    case_id, reference = submitted(no_sms_app)
    ask(no_sms_app, case_id)
    client = no_sms_app.test_client()
    look_up(client, reference)
    page = answer_page(client).get_data(as_text=True)
    assert 'name="reply"' in page and 'name="code"' not in page
    response = post_answer(client, {"action": "answer", "reply": "سأحضر العقد غدًا."})
    assert response.status_code == 302
    db = dbm.connect(no_sms_app.config["PORTAL_DB"])
    assert queue.get(db, case_id)["state"] == "verifying"
    db.close()


def test_a_request_that_asks_nothing_offers_no_answer(app, gateway):
    _case_id, reference = submitted(app)
    client = app.test_client()
    html = look_up(client, reference).get_data(as_text=True)
    assert "/forms/status/answer" not in html
    assert answer_page(client).status_code == 302
    assert post_answer(client, {"action": "send-code"}).status_code == 302


def test_an_answer_page_without_a_lookup_is_closed(app):
    client = app.test_client()
    assert answer_page(client).status_code == 302
    response = client.post("/forms/status/answer", data={"action": "answer", "reply": "x"})
    assert response.status_code == 302


# ---------------------------------------------------------------- attacks on the code


def test_five_wrong_codes_end_the_lookup(app, db, gateway):
    _case_id, _reference, client, _staff = asked_and_looked_up(app)
    post_answer(client, {"action": "send-code"})
    right = sent_code(gateway)
    wrong = [c for c in ("000000", "111111", "222222", "333333", "444444", "555555") if c != right]
    for code in wrong[:4]:
        assert post_answer(client, {"action": "code", "code": code}).status_code == 400
    assert post_answer(client, {"action": "code", "code": wrong[4]}).status_code == 429
    # The right code no longer helps: the lookup has ended.
    assert answer_page(client).status_code == 302
    assert db.execute("SELECT count(*) FROM answer_access").fetchone()[0] == 0
    assert (
        db.execute("SELECT count(*) FROM events WHERE action = 'answer_code_spent'").fetchone()[0]
        == 1
    )


def test_a_code_expires_after_ten_minutes_and_a_new_one_replaces_it(app, db):
    case_id, _ref = submitted(app)
    ask(app, case_id)
    token = answers.open_access(db, case_id, "ar", verified=False)
    access = answers.get(db, token)
    t0 = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
    code = answers.new_code(db, access, "k", now=t0)
    later = t0 + answers.CODE_AGE + dt.timedelta(seconds=1)
    assert answers.check_code(db, access, code, "k", now=later) == "expired"
    with pytest.raises(answers.CodeTooSoon):
        answers.new_code(db, access, "k", now=t0 + dt.timedelta(seconds=30))
    fresh = answers.new_code(db, access, "k", now=later)
    if fresh != code:
        assert answers.check_code(db, access, code, "k", now=later) == "wrong"
    assert answers.check_code(db, access, fresh, "k", now=later) == "ok"
    assert answers.get(db, token).verified


def test_the_code_is_stored_keyed_never_as_typed(app, db):
    case_id, _ref = submitted(app)
    ask(app, case_id)
    token = answers.open_access(db, case_id, "ar", verified=False)
    code = answers.new_code(db, answers.get(db, token), "k")
    stored = db.execute("SELECT code_hash FROM answer_access").fetchone()[0]
    assert code not in stored
    assert stored != hashlib.sha256(code.encode()).hexdigest()


def test_codes_asked_again_and_again_are_limited(app, db, gateway):
    case_id, reference = submitted(app)
    ask(app, case_id)
    before = len(gateway.requests)
    answered = []
    for _ in range(8):  # each time a fresh lookup, so CODE_GAP does not stop it
        client = app.test_client()
        look_up(client, reference)
        answered.append(post_answer(client, {"action": "send-code"}).status_code)
    assert answered.count(302) == 5  # CODES_PER_CASE
    assert set(answered[5:]) == {429}
    assert len(gateway.requests) == before + 5


def test_a_second_code_within_a_minute_is_not_sent(app, gateway):
    _case_id, _reference, client, _staff = asked_and_looked_up(app)
    before = len(gateway.requests)
    assert post_answer(client, {"action": "send-code"}).status_code == 302
    assert post_answer(client, {"action": "send-code"}).status_code == 429
    assert len(gateway.requests) == before + 1


def test_a_gateway_that_fails_says_so_and_keeps_the_lookup(app, gateway):
    case_id, reference = submitted(app)
    ask(app, case_id)
    gateway.answer(500, {"message": "down"})
    client = app.test_client()
    look_up(client, reference)
    response = post_answer(client, {"action": "send-code"})
    assert response.status_code == 503
    assert "رمز" in response.get_data(as_text=True) or "code" in response.get_data(as_text=True)
    assert answer_page(client).status_code == 200


def test_the_session_cookie_carries_no_case_and_no_code(app, gateway):
    case_id, reference, client, _staff = asked_and_looked_up(app)
    post_answer(client, {"action": "send-code"})
    text = all_cookie_text(client)
    assert '"answer"' in text  # the random token only
    assert sent_code(gateway) not in text
    assert reference not in text and MOBILE[1:] not in text
    assert f":{case_id}," not in text and f":{case_id}}}" not in text


# ---------------------------------------------------------------- bad answers


def test_a_file_that_lies_about_its_type_is_refused_and_the_reply_kept(app, db, gateway):
    case_id, _reference, client, _staff = asked_and_looked_up(app)
    verify(client, gateway)
    reply = "أرفقت المستندات المطلوبة"
    response = post_answer(
        client,
        {"action": "answer", "reply": reply},
        {"documents-lease": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "lease.pdf")},
    )
    assert response.status_code == 400
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert soup.select_one("textarea[name=reply]").get_text().lstrip("\r\n") == reply  # as shown
    assert soup.select_one("#documents-lease-error")
    assert re.search(r"[\u0621-\u064a]", soup.select_one("#documents-lease-error").get_text())
    assert the_case(db, case_id)["state"] == "needs_info"


def test_a_good_file_is_kept_when_another_is_refused(app, db, gateway):
    case_id, _reference, client, _staff = asked_and_looked_up(app)
    verify(client, gateway)
    response = post_answer(
        client,
        {"action": "answer"},
        {
            "documents-income_proof": (io.BytesIO(PDF), "income.pdf"),
            "documents-lease": (io.BytesIO(b"not a file at all"), "lease.png"),
        },
    )
    assert response.status_code == 400
    assert "income.pdf" in response.get_data(as_text=True)  # "Uploaded: income.pdf"
    response = post_answer(
        client, {"action": "answer"}, {"documents-lease": (io.BytesIO(PNG), "lease.png")}
    )
    assert response.status_code == 302
    kinds = {d["kind"] for d in queue.documents_of(db, case_id)}
    assert set(ASKED) <= kinds


def test_an_empty_answer_says_what_to_do(app, gateway):
    _case_id, _reference, client, _staff = asked_and_looked_up(app, "en")
    verify(client, gateway, lang="en")
    response = post_answer(client, {"action": "answer", "reply": "  "}, lang="en")
    assert response.status_code == 400
    assert errors_in(response) == ["Error: Choose a document or write a reply."]


def test_a_document_that_was_not_asked_for_is_not_taken(app, db, gateway):
    case_id, _reference, client, _staff = asked_and_looked_up(app, missing=["lease"])
    verify(client, gateway)
    before = len(queue.documents_of(db, case_id))
    response = post_answer(
        client,
        {"action": "answer", "reply": "x"},
        {"documents-id_card": (io.BytesIO(PDF), "other.pdf")},
    )
    assert response.status_code == 302
    assert len(queue.documents_of(db, case_id)) == before


def test_staff_moving_the_case_first_wins(app, db, gateway):
    case_id, _reference, client, staff = asked_and_looked_up(app)
    verify(client, gateway)
    token = csrf_of(staff, f"/staff/case/{case_id}")
    staff.post(
        f"/staff/case/{case_id}/transition", data={"csrf_token": token, "target": "verifying"}
    )
    response = post_answer(
        client, {"action": "answer", "reply": "x"}, {"documents-lease": (io.BytesIO(PDF), "l.pdf")}
    )
    assert response.status_code == 302
    assert "/forms/status/" in response.headers["Location"]
    assert (
        db.execute(
            "SELECT count(*) FROM events WHERE submission_id = ? AND action = 'applicant_reply'",
            [case_id],
        ).fetchone()[0]
        == 0
    )


# ---------------------------------------------------------------- staff see the answer


def test_the_queue_marks_and_filters_answered_cases_until_staff_move(app, db, gateway):
    answered_id, reference = submitted(app)
    other_id, _ = submitted(app)
    staff = ask(app, answered_id)
    client = app.test_client()
    look_up(client, reference)
    verify(client, gateway)
    post_answer(client, {"action": "answer", "reply": "تم"})
    page = staff.get("/staff/assistance/?answered=1").get_data(as_text=True)
    soup = BeautifulSoup(page, "html.parser")
    links = [a["href"] for a in soup.select("table.queue a")]
    assert links == [f"/staff/case/{answered_id}"]
    assert soup.select("table.queue .badge--answered")
    case_page = staff.get(f"/staff/case/{answered_id}").get_data(as_text=True)
    assert "تم" in BeautifulSoup(case_page, "html.parser").select_one(".panel--answer").get_text()
    token = csrf_of(staff, f"/staff/case/{answered_id}")
    staff.post(
        f"/staff/case/{answered_id}/transition", data={"csrf_token": token, "target": "committee"}
    )
    assert queue.get(db, answered_id)["answered_at"] is None
    everything = staff.get("/staff/assistance/").get_data(as_text=True)
    assert f"/staff/case/{other_id}" in everything  # the filter, not the list, left it out


# ---------------------------------------------------------------- housekeeping


def test_an_old_lookup_and_its_files_are_swept(app, db, tmp_path):
    case_id, _ref = submitted(app)
    ask(app, case_id)
    token = answers.open_access(db, case_id, "ar", verified=True)
    access = answers.get(db, token)
    later = dt.datetime.now(dt.UTC) + answers.ACCESS_AGE + dt.timedelta(minutes=11)
    assert answers.get(db, token, now=later) is None
    drafts.sweep(db, app.config["PORTAL_UPLOADS"], now=later)
    assert db.execute("SELECT count(*) FROM answer_access").fetchone()[0] == 0
    assert (
        db.execute("SELECT count(*) FROM drafts WHERE id = ?", [access.draft_id]).fetchone()[0] == 0
    )


def test_the_applicant_move_is_only_from_needs_info(app, db):
    case_id, _ref = submitted(app)
    with pytest.raises(queue.InvalidTransition):
        queue.transition(db, case_id, State.VERIFYING, actor="applicant", role="applicant")
    for target in (State.COMMITTEE, State.ACCEPTED, State.WITHDRAWN):
        with pytest.raises(queue.InvalidTransition):
            queue.transition(db, case_id, target, actor="applicant", role="applicant", reason="x")


def test_no_staff_account_can_have_the_applicant_role(app, db):
    with pytest.raises(ValueError, match="role"):
        auth.add_user(db, "someone", "applicant", "correct horse battery staple", actor="t")
