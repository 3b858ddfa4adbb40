"""Telling the applicant what changed: SMS first, e-mail when given.

Messages are written into the outbox in the transaction of the event that causes them,
never sent inside the request, and sent by `outbox.send_due` through a fake SMS gateway on
loopback (tests/forms/test_sms.py) and a fake SMTP server (tests/forms/test_mail.py). Clocks
are passed in (`now=`): no time travel library.
"""

import datetime as dt
import json
import re
import smtplib
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from forms_service import auth, lifecycle, notify, outbox, queue, sms
from forms_service import db as dbm
from forms_service.identifiers import format_reference
from tests.conftest import SMS_ACCEPTED, SMS_PUBLIC_URL, make_app, sms_settings
from tests.forms.helpers import (
    get_form,
    reference_on,
    submit_assistance,
    volunteer_data,
)
from tests.forms.test_mail import FakeSMTP
from tests.forms.test_sms import (  # no_proxy: its autouse fixture, for this file too
    free_port,
    no_proxy,  # noqa: F401
)
from tests.staff.conftest import sign_in

ROOT = Path(__file__).resolve().parents[2]

PUBLIC = SMS_PUBLIC_URL
# As long a public address as notify.MAX_PUBLIC_URL allows: the SMS budget's worst case.
LONGEST_PUBLIC = "https://portal.jamoum-orphans-care.org.sa"[: notify.MAX_PUBLIC_URL]
SMTP = {"PORTAL_SMTP_HOST": "smtp.example", "PORTAL_SMTP_FROM": "portal@example.org"}
T0 = dt.datetime(2026, 12, 6, 9, 0, tzinfo=dt.UTC)
ACCEPTED = SMS_ACCEPTED

# The applicant of helpers.assistance_data(), in every writing the SMS must never carry.
PERSONAL = (
    "فاطمة",
    "الزهراني",
    "سارة",
    "1000000008",
    "0512345678",
    "512345678",
    "+966512345678",
    "fatima@example.com",
)
ARABIC_LETTERS = re.compile(r"[\u0621-\u064a]")


@pytest.fixture
def smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.contexts, FakeSMTP.fail = [], [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


@pytest.fixture
def app(site_dir, tmp_path, gateway, smtp):
    """SMS through the fake gateway and e-mail through the fake SMTP server."""
    return make_app(tmp_path, **sms_settings(gateway.url), **SMTP)


@pytest.fixture
def db(app):
    database = dbm.connect(app.config["PORTAL_DB"])
    yield database
    database.close()


def rows(db, **where) -> list[dict]:
    clause = " AND ".join(f"{k} = ?" for k in where) or "1"
    return list(db.query(f"SELECT * FROM outbox WHERE {clause} ORDER BY id", list(where.values())))  # noqa: S608


def events(db, prefix="notification_") -> list[dict]:
    return [
        {**e, "detail": json.loads(e["detail"])}
        for e in db.query("SELECT * FROM events WHERE action LIKE ? ORDER BY id", [prefix + "%"])
    ]


def gateway_texts(gateway) -> list[str]:
    return [json.loads(r.body)["body"] for r in gateway.requests]


def new_case(app, db, lang="ar", kind=lifecycle.Kind.ASSISTANCE, **fields) -> queue.Receipt:
    """A request stored straight through queue.submit, inside the app (its settings)."""
    person = {"full_name": "فاطمة محمد الزهراني", "mobile": "+966512345678"}
    person |= {"email": "fatima@example.com", "national_id": "1000000008"}
    with app.app_context():
        return queue.submit(db, kind=kind, lang=lang, fields={**person, **fields}, at=T0)


def move(app, db, case_id, *targets, reason="x"):
    with app.app_context():
        for target in targets:
            queue.transition(db, case_id, target, actor="t", role="admin", reason=reason, at=T0)


# ---------------------------------------------------------------- written with the event


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_request_writes_one_sms_and_one_email_and_sends_nothing(app, db, gateway, smtp, lang):
    reference = reference_on(submit_assistance(app.test_client(), lang)).replace("-", "")
    assert gateway.requests == [] and smtp.sent == []  # nothing is sent inside the request
    (text,) = rows(db, channel="sms")
    (mail,) = rows(db, channel="email")
    for row in (text, mail):
        assert row["message_kind"] == "received" and row["lang"] == lang
        assert row["status"] == "waiting" and row["attempts"] == 0 and row["sent_at"] is None
    assert text["to_addr"] == "+966512345678" and mail["to_addr"] == "fatima@example.com"
    link = f"{PUBLIC}/en/forms/status/" if lang == "en" else f"{PUBLIC}/forms/status/"
    assert format_reference(reference) in text["body"] and text["body"].endswith(link)
    assert format_reference(reference) in mail["subject"] and link in mail["body"]
    assert events(db) == []


def test_without_an_email_address_only_the_sms(app, db):
    new_case(app, db, email=None)
    assert [r["channel"] for r in rows(db)] == ["sms"]


def test_without_sms_settings_only_the_email(site_dir, tmp_path, smtp):
    app = make_app(tmp_path, **SMTP)
    database = dbm.connect(app.config["PORTAL_DB"])
    new_case(app, database)
    assert [r["channel"] for r in rows(database)] == ["email"]


def test_a_volunteer_sign_up_writes_its_own_message(app, db, gateway):
    client = app.test_client()
    fields = get_form(client, "/en/forms/volunteer/")
    response = client.post("/en/forms/volunteer/", data={**fields, **volunteer_data()})
    assert response.status_code == 302
    assert gateway.requests == []
    assert {(r["channel"], r["message_kind"]) for r in rows(db)} == {
        ("sms", "volunteer_received"),
        ("email", "volunteer_received"),
    }


def test_feedback_writes_no_message(app, db):
    new_case(app, db, kind=lifecycle.Kind.FEEDBACK)
    assert rows(db) == []


def test_a_failing_outbox_insert_rolls_back_the_submission(app, db):
    db.execute(
        "CREATE TRIGGER outbox_refuses BEFORE INSERT ON outbox "
        "BEGIN SELECT RAISE(ABORT, 'outbox refused'); END"
    )
    with pytest.raises(sqlite3.DatabaseError, match="outbox refused"):
        new_case(app, db)
    assert db["submissions"].count == 0 and db["events"].count == 0


def test_a_failing_outbox_insert_rolls_back_the_move(app, db):
    receipt = new_case(app, db)
    db.execute(
        "CREATE TRIGGER outbox_refuses BEFORE INSERT ON outbox "
        "BEGIN SELECT RAISE(ABORT, 'outbox refused'); END"
    )
    move(app, db, receipt.submission_id, "verifying")  # no message: goes through
    with pytest.raises(sqlite3.DatabaseError, match="outbox refused"):
        move(app, db, receipt.submission_id, "needs_info")
    assert queue.get(db, receipt.submission_id)["state"] == "verifying"
    assert [e["to_state"] for e in queue.history(db, receipt.submission_id)][-1] == "verifying"


ROUTES = {
    "needs_info": ("verifying", "needs_info"),
    "accepted": ("verifying", "committee", "accepted"),
    "rejected": ("verifying", "committee", "rejected"),
    "registered": ("verifying", "committee", "accepted", "registered"),
    "served": ("verifying", "committee", "accepted", "registered", "served"),
}


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("target", list(ROUTES))
def test_each_move_writes_its_message_in_the_requests_language(app, db, lang, target):
    receipt = new_case(app, db, lang=lang)
    move(app, db, receipt.submission_id, *ROUTES[target])
    last = [r for r in rows(db) if r["message_kind"] != "received"]
    kinds = [r["message_kind"] for r in last if r["channel"] == "sms"]
    expected = [k for k in ROUTES[target] if k in notify.SMS_TEXTS]
    assert kinds == expected  # one message per move that tells the applicant, in order
    prefix = f"{PUBLIC}/en/forms/" if lang == "en" else f"{PUBLIC}/forms/"
    grouped = format_reference(receipt.reference)
    for row in last:
        assert row["lang"] == lang
        text = row["body"]
        assert grouped in (row["subject"] if row["channel"] == "email" else text)
        links = re.findall(r"https?://\S+", text)
        assert links and all(link.startswith(prefix) for link in links), text
    if target == "served":
        (served,) = [r for r in last if r["channel"] == "sms" and r["message_kind"] == "served"]
        assert served["body"].endswith(f"{prefix}feedback/?reference={receipt.reference}")


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_a_volunteer_accepted_is_told(app, db, lang):
    receipt = new_case(app, db, lang=lang, kind=lifecycle.Kind.VOLUNTEER)
    move(app, db, receipt.submission_id, "contacted", "accepted", "active")
    kinds = [r["message_kind"] for r in rows(db, channel="sms")]
    assert kinds == ["volunteer_received", "volunteer_accepted"]


def test_arabic_requests_get_arabic_messages(app, db):
    """Needs the Arabic of the notification messages in the catalog."""
    receipt = new_case(app, db, lang="ar")
    move(app, db, receipt.submission_id, *ROUTES["served"])
    for row in rows(db):
        assert ARABIC_LETTERS.search(row["body"]), row["body"]
        if row["channel"] == "email":
            assert ARABIC_LETTERS.search(row["subject"]), row["subject"]


def test_moves_that_tell_nothing_write_nothing(app, db):
    receipt = new_case(app, db)
    move(app, db, receipt.submission_id, "verifying", "social_research", "committee")
    move(app, db, new_case(app, db).submission_id, "withdrawn")
    assert {r["message_kind"] for r in rows(db)} == {"received"}


# ---------------------------------------------------------------- what an SMS may say


def test_the_staff_message_never_goes_into_a_message(app, db):
    receipt = new_case(app, db)
    secret = "أرسلي صورة هوية فاطمة 1000000008 وعقد الإيجار"
    move(app, db, receipt.submission_id, "verifying")
    with app.app_context():
        queue.transition(
            db, receipt.submission_id, "needs_info", actor="t", role="admin", reason=secret
        )
    for row in rows(db, message_kind="needs_info"):
        assert "1000000008" not in row["body"] and "عقد الإيجار" not in row["body"]
    assert queue.get(db, receipt.submission_id)["applicant_message"] == secret  # status page


ASKED_WORDS = {
    "en": ["The documents asked for:", "- Father's death certificate", "- Lease contract"],
    "ar": ["المستندات المطلوبة:", "- شهادة وفاة الأب", "- عقد الإيجار"],
}


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_the_email_asking_for_more_names_the_documents_asked(app, db, lang):
    """What is asked goes to the applicant: the e-mail lists the documents by the request
    form's words; the SMS (two segments) points to the status page; the staff's own words
    reach neither."""
    receipt = new_case(app, db, lang=lang)
    move(app, db, receipt.submission_id, "verifying")
    with app.app_context():
        queue.transition(
            db,
            receipt.submission_id,
            "needs_info",
            actor="t",
            role="admin",
            reason="رقم 1000000008",
            missing=["death_certificate", "lease"],
            at=T0,
        )
    (mail,) = rows(db, channel="email", message_kind="needs_info")
    (text,) = rows(db, channel="sms", message_kind="needs_info")
    lines = mail["body"].splitlines()
    start = lines.index(ASKED_WORDS[lang][0])
    assert lines[start : start + 3] == ASKED_WORDS[lang]
    assert "1000000008" not in mail["body"] + text["body"]
    move(app, db, receipt.submission_id, "verifying", "committee", "accepted")
    (accepted,) = rows(db, channel="email", message_kind="accepted")
    assert ASKED_WORDS[lang][0] not in accepted["body"]


def test_no_personal_data_in_any_sms(app, db, gateway):
    submit_assistance(app.test_client(), "ar")
    (case_id,) = [r["id"] for r in db.query("SELECT id FROM submissions")]
    move(app, db, case_id, *ROUTES["served"])
    texts = [r["body"] for r in rows(db, channel="sms")]
    assert len(texts) == 4  # received, accepted, registered, served
    outbox.send_due(db, app.config, now=T0)
    sent = gateway_texts(gateway)
    assert sorted(sent) == sorted(texts)
    for text in sent:
        for value in PERSONAL:
            assert value not in text, (value, text)


@pytest.mark.parametrize("lang", ["ar", "en"])
@pytest.mark.parametrize("kind", list(notify.SMS_TEXTS))
def test_every_sms_fits_two_segments(app, lang, kind):
    """The longest public address allowed and a reference (always 8 characters; grouped 10)."""
    with app.app_context():
        text = notify.sms_text(kind, "WWWWWWWW", lang, LONGEST_PUBLIC)
    assert "WWW-WWW-WW" in text and LONGEST_PUBLIC in text
    if lang == "ar":
        assert ARABIC_LETTERS.search(text), "the Arabic of this SMS is not in the catalog"
    assert sms.fits(text, 2), (sms.segments(text), len(text), text)


# ---------------------------------------------------------------- the sender


def test_send_due_sends_and_records_without_the_number_or_the_text(app, db, gateway, smtp):
    receipt = new_case(app, db, lang="en")
    texts = {r["channel"]: r["body"] for r in rows(db)}
    counts = outbox.send_due(db, app.config, now=T0)
    assert counts == {"sent": 2, "retrying": 0, "failed": 0, "unknown": 0}
    (request,) = gateway.requests
    payload = json.loads(request.body)
    assert payload["recipients"] == ["966512345678"]
    assert format_reference(receipt.reference) in payload["body"]
    assert payload["body"].endswith(f"{PUBLIC}/en/forms/status/")
    (message,) = smtp.sent
    assert message["To"] == "fatima@example.com" and message["From"] == "portal@example.org"
    assert format_reference(receipt.reference) in message["Subject"]
    for row in rows(db):
        assert row["status"] == "sent" and row["sent_at"] == "2026-12-06T09:00:00Z"
        assert row["to_addr"] == "" and row["body"] == "" and row["claimed_by"] is None
    assert rows(db, channel="sms")[0]["provider_id"] == "7321"
    recorded = events(db)
    assert [(e["action"], e["submission_id"]) for e in recorded] == [
        ("notification_sent", receipt.submission_id)
    ] * 2
    assert [e["detail"] for e in recorded] == [
        {"channel": "sms", "kind": "received"},
        {"channel": "email", "kind": "received"},
    ]
    everything = json.dumps(list(db.query("SELECT * FROM events")), ensure_ascii=False)
    assert "512345678" not in everything and "fatima@" not in everything
    assert texts["sms"] not in everything
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(days=1))["sent"] == 0


def test_back_off_then_failed(app, db, gateway):
    gateway.answer(503, {"message": "busy"})
    new_case(app, db, email=None)
    at = T0
    assert outbox.send_due(db, app.config, now=at)["retrying"] == 1
    for step, delay in enumerate(outbox.BACKOFF_SECONDS, start=2):
        (row,) = rows(db)
        assert row["status"] == "waiting" and row["attempts"] == step - 1
        due = at + dt.timedelta(seconds=delay)
        assert row["next_attempt_at"] == due.isoformat().replace("+00:00", "Z")
        early = outbox.send_due(db, app.config, now=due - dt.timedelta(seconds=1))
        assert sum(early.values()) == 0 and len(gateway.requests) == step - 1
        counts = outbox.send_due(db, app.config, now=due)
        assert len(gateway.requests) == step
        at = due
    assert counts["failed"] == 1
    (row,) = rows(db)
    assert row["status"] == "failed" and row["attempts"] == 6
    assert row["to_addr"] == "" and row["body"] == "" and "server" in row["last_error"]
    assert [e["action"] for e in events(db)] == ["notification_failed"] * 6
    assert outbox.send_due(db, app.config, now=at + dt.timedelta(days=7))["sent"] == 0
    assert len(gateway.requests) == 6


def test_a_5xx_is_retried_later_and_then_sent(app, db, gateway):
    gateway.answer(500, {"message": "oops"})
    new_case(app, db, email=None)
    assert outbox.send_due(db, app.config, now=T0)["retrying"] == 1
    gateway.answer(201, ACCEPTED)
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(seconds=30))["sent"] == 0
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(seconds=60))["sent"] == 1
    assert len(gateway.requests) == 2
    assert [e["action"] for e in events(db)] == ["notification_failed", "notification_sent"]


def test_a_4xx_fails_at_once_and_the_error_keeps_no_number_or_text(app, db, gateway):
    gateway.answer(400, {"statusCode": 400, "message": "Invalid number 966512345678"})
    new_case(app, db, email=None)
    (before,) = rows(db)
    assert outbox.send_due(db, app.config, now=T0)["failed"] == 1
    (row,) = rows(db)
    assert row["status"] == "failed" and len(gateway.requests) == 1
    assert "512345678" not in row["last_error"] and before["body"] not in row["last_error"]
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(days=1))["sent"] == 0
    assert len(gateway.requests) == 1


def test_a_mailbox_refused_fails_at_once(app, db, monkeypatch):
    def refuse(self, message):
        raise smtplib.SMTPRecipientsRefused({message["To"]: (550, b"no such user")})

    monkeypatch.setattr(FakeSMTP, "send_message", refuse)
    new_case(app, db, mobile=None)
    assert outbox.send_due(db, app.config, now=T0)["failed"] == 1
    (row,) = rows(db)
    assert row["last_error"] == "SMTPRecipientsRefused" and row["to_addr"] == ""


def test_a_channel_that_is_not_set_up_waits(app, db, gateway, smtp):
    new_case(app, db)
    only_mail = {k: v for k, v in app.config.items() if not k.startswith("PORTAL_SMS")}
    assert outbox.send_due(db, only_mail, now=T0)["sent"] == 1
    assert gateway.requests == [] and len(smtp.sent) == 1
    assert rows(db, channel="sms")[0]["status"] == "waiting"


def test_a_wrong_setting_is_an_error_before_any_row_is_touched(app, db):
    new_case(app, db)
    broken = {**app.config, "PORTAL_SMS_TOKEN": ""}
    with pytest.raises(ValueError, match="PORTAL_SMS_TOKEN"):
        outbox.send_due(db, broken, now=T0)
    assert {r["status"] for r in rows(db)} == {"waiting"}


def test_two_senders_at_once_send_each_message_once(app, db, gateway):
    gateway.answer(201, ACCEPTED, delay=0.01)  # slow enough for the two to interleave
    references = {new_case(app, db, email=None).reference for _ in range(30)}
    barrier, results, errors = threading.Barrier(2), [], []

    def sender():
        connection = dbm.connect(app.config["PORTAL_DB"])
        try:
            barrier.wait()
            results.append(outbox.send_due(connection, app.config, now=T0))
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(r["sent"] for r in results) == 30
    sent = gateway_texts(gateway)
    assert len(sent) == 30
    assert sorted(re.search(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{2}", t)[0] for t in sent) == sorted(
        format_reference(r) for r in references
    )
    assert len(events(db)) == 30


# ---------------------------------------------------------------- a kill between send and record


def test_a_sender_killed_after_the_sms_went_never_sends_it_again(app, db, gateway):
    """At-most-once for SMS. The dead sender claimed the row and the provider accepted the
    message, but the record never happened: after the claim expires the row is `unknown`,
    recorded, and not sent again (staff see it on the case page)."""
    receipt = new_case(app, db, email=None)
    row = outbox.claim(db, ["sms"], "dead-sender", "2026-12-06T09:00:00Z")
    assert outbox.hand_over(db, row, "dead-sender", "2026-12-06T09:00:00Z")  # as send_one does
    sms.send(app.config, row["to_addr"], row["body"])  # accepted by the provider …
    # … and the sender dies here, before mark_sent.
    assert len(gateway.requests) == 1 and rows(db)[0]["status"] == "sending"
    soon = outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=5))
    assert sum(soon.values()) == 0 and rows(db)[0]["status"] == "sending"
    later = outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=10))
    assert later == {"sent": 0, "retrying": 0, "failed": 0, "unknown": 1}
    assert len(gateway.requests) == 1  # never twice
    (settled,) = rows(db)
    assert settled["status"] == "unknown" and settled["to_addr"] == "" and settled["body"] == ""
    (event,) = events(db)
    assert event["action"] == "notification_unknown" and event["submission_id"] == (
        receipt.submission_id
    )
    assert event["detail"] == {"channel": "sms", "kind": "received"}
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(days=1)) == {
        "sent": 0,
        "retrying": 0,
        "failed": 0,
        "unknown": 0,
    }
    assert len(gateway.requests) == 1


def test_a_sender_killed_after_the_email_went_sends_it_again(app, db, smtp):
    """At-least-once for e-mail: the same kill delivers the e-mail a second time once the
    claim expires (an e-mail that never left is never lost)."""
    new_case(app, db, mobile=None)
    row = outbox.claim(db, ["email"], "dead-sender", "2026-12-06T09:00:00Z")
    outbox.deliver(app.config, row)  # delivered, then the sender dies
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=9))["sent"] == 0
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=10))["sent"] == 1
    assert len(smtp.sent) == 2
    (sent,) = rows(db)
    assert sent["status"] == "sent" and sent["attempts"] == 2
    # The same message twice, as mail systems count them: one Message-ID, of this row.
    first, second = (message["Message-ID"] for message in smtp.sent)
    assert first == second == f"<outbox.{sent['id']}.{sent['submission_id']}@example.org>"


def test_an_sms_whose_answer_never_came_is_unknown_and_not_sent_again(
    app, db, gateway, monkeypatch
):
    """The request reached the provider, the answer timed out: it may have been sent, so
    at-most-once makes it `unknown` rather than a retry."""
    monkeypatch.setattr(sms, "READ_TIMEOUT", 0.3)
    gateway.answer(201, ACCEPTED, delay=1.5)
    new_case(app, db, email=None)
    assert outbox.send_due(db, app.config, now=T0)["unknown"] == 1
    (row,) = rows(db)
    assert row["status"] == "unknown" and "took too long" in row["last_error"]
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(days=1))["sent"] == 0
    assert len(gateway.requests) == 1
    assert [e["action"] for e in events(db)] == ["notification_unknown"]


def test_an_sms_that_could_not_reach_the_provider_is_retried(app, db, gateway):
    new_case(app, db, email=None)
    closed = {**app.config, "PORTAL_SMS_URL": f"http://127.0.0.1:{free_port()}"}
    assert outbox.send_due(db, closed, now=T0)["retrying"] == 1
    assert rows(db)[0]["handed_at"] is None  # no connection: the message never went
    assert outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=1))["sent"] == 1


def test_the_sms_is_handed_over_on_an_open_connection_right_before_it_goes(app, db, gateway):
    """The hand-over is committed after the connection opened and the request's head went,
    before its body: the gateway has nothing yet when the row says handed over, and a hook
    that says no sends no body at all."""
    new_case(app, db, email=None)
    row = outbox.claim(db, ["sms"], "sender", "2026-12-06T09:00:00Z")
    seen = []

    def hook():
        seen.append((rows(db)[0]["handed_at"], len(gateway.requests)))
        return outbox.hand_over(db, row, "sender", "2026-12-06T09:00:01Z")

    outbox.deliver(app.config, row, hook)
    assert seen == [(None, 0)] and len(gateway.requests) == 1
    assert rows(db)[0]["handed_at"] == "2026-12-06T09:00:01Z"
    with pytest.raises(sms.NotHandedOver):
        outbox.deliver(app.config, row, lambda: False)
    # The refused one: at most its head reached the gateway, never its body (the message).
    time.sleep(0.2)
    assert [r.body for r in gateway.requests if r.body] == [gateway.requests[0].body]


def test_a_claim_is_taken_once(app, db):
    new_case(app, db, email=None)
    assert outbox.claim(db, ["sms"], "one", "2026-12-06T09:00:00Z") is not None
    assert outbox.claim(db, ["sms"], "two", "2026-12-06T09:00:00Z") is None


# ---------------------------------------------------------------- staff see it


def test_a_sender_killed_before_handing_the_sms_over_lets_it_go_later_once(app, db, gateway):
    """The dead sender claimed the SMS but died before marking it handed over, so before
    its request could go: the message never reached the provider. Once the claim expires
    another sender takes it and sends it, once; nothing is `unknown`, nothing lost."""
    new_case(app, db, email=None)
    outbox.claim(db, ["sms"], "dead-sender", "2026-12-06T09:00:00Z")  # … and dies here
    soon = outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=5))
    assert sum(soon.values()) == 0 and gateway.requests == []
    later = outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=10))
    assert later == {"sent": 1, "retrying": 0, "failed": 0, "unknown": 0}
    assert len(gateway.requests) == 1
    (row,) = rows(db)
    assert row["status"] == "sent" and row["attempts"] == 2
    assert [e["action"] for e in events(db)] == ["notification_sent"]


def test_a_claim_taken_over_is_not_handed_over_by_the_sender_that_lost_it(app, db, gateway):
    new_case(app, db, email=None)
    row = outbox.claim(db, ["sms"], "slow-sender", "2026-12-06T09:00:00Z")
    outbox.send_due(db, app.config, now=T0 + dt.timedelta(minutes=10))  # taken over, sent
    assert not outbox.hand_over(db, row, "slow-sender", "2026-12-06T09:10:00Z")
    assert outbox.send_one(db, app.config, row, "slow-sender", lambda: "2026-12-06T09:10:00Z")
    time.sleep(0.2)
    # The slow sender never sent it again: at most the head of its request, never the message.
    assert len([r for r in gateway.requests if r.body]) == 1


def test_the_case_page_lists_the_messages_and_whether_they_went(app, db, gateway):
    receipt = new_case(app, db, lang="ar")
    only_sms = {k: v for k, v in app.config.items() if not k.startswith("PORTAL_SMTP")}
    outbox.send_due(db, only_sms, now=T0)  # the SMS goes, the e-mail waits
    move(app, db, receipt.submission_id, "verifying", "needs_info")
    row = outbox.claim(db, ["sms"], "dead-sender", "2026-12-06T09:00:00Z")
    outbox.hand_over(db, row, "dead-sender", "2026-12-06T09:00:00Z")  # then the sender died
    outbox.send_due(db, {}, now=T0 + dt.timedelta(hours=1))  # that claim was abandoned
    auth.add_user(db, "officer", "officer", "correct horse battery staple", actor="test")
    db.conn.commit()
    client = app.test_client()
    assert sign_in(client, "officer", prefix="/en").status_code == 302
    page = client.get(f"/en/staff/case/{receipt.submission_id}").get_data(as_text=True)
    section = page[page.index('id="messages-title"') :]
    cells = [
        re.sub(r"<[^>]+>", " ", row).split()
        for row in re.findall(r'<tr class="message[^"]*">(.*?)</tr>', section)
    ]
    words = [" ".join(row) for row in cells]
    assert len(words) == 4
    when = "2026-12-06 12:00"  # 09:00 UTC is 12:00 in Riyadh
    assert re.fullmatch(f"SMS Request received {when} Sent {when}", words[0]), words[0]
    assert re.fullmatch(f"E-mail Request received {when} Waiting —", words[1]), words[1]
    assert words[2].startswith("SMS More information needed") and "Unknown:" in words[2]
    assert words[3].startswith("E-mail More information needed") and "Waiting" in words[3]
    assert "512345678" not in section and "fatima" not in section


# ---------------------------------------------------------------- the survey's link


@pytest.mark.parametrize("prefix", ["", "/en"])
def test_the_survey_link_fills_in_the_reference(app, prefix):
    page = app.test_client().get(f"{prefix}/forms/feedback/?reference=k7m4qx9t")
    assert page.status_code == 200
    assert re.search(r'name="reference"[^>]*value="K7M-4QX-9T"', page.get_data(as_text=True))


def test_a_link_with_something_else_fills_in_nothing(app):
    html = app.test_client().get('/forms/feedback/?reference="><b>x</b>').get_data(as_text=True)
    assert "<b>x</b>" not in html
    assert not re.search(r'name="reference"[^>]*value="[^"]', html)


# ---------------------------------------------------------------- never inside a request


def test_no_view_sends_anything():
    """The views write to the outbox (through queue); only the sender sends. (The one
    message sent inside a request is the one-time code the applicant asks for and waits for,
    sent by answers.send_code: tests/forms/test_answers.py.)"""
    views = [ROOT / "forms_service" / "public.py", *(ROOT / "forms_service" / "staff").glob("*.py")]
    sending = re.compile(r"send_due|sms\.send\b|mail\.send\b|outbox\.deliver")
    found = [f"{p.name}: {m[0]}" for p in views for m in sending.finditer(p.read_text("utf-8"))]
    assert found == []
