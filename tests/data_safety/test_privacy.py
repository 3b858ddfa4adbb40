"""Retention purges and data-subject requests (Saudi PDPL), on a frozen clock.

Cases are seeded through queue.submit/transition with explicit times; the purge is run with
an explicit `now`. Nothing sleeps.
"""

import datetime as dt
import hashlib
import json
import os
import secrets
import sqlite3
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from forms_service import clock, drafts, queue, retention, subjects
from forms_service.cli.privacy import register
from forms_service.db import connect
from forms_service.lifecycle import Kind, State
from forms_service.uploads import StoredFile
from tests.conftest import SITE
from tests.forms.helpers import PDF, VALID_ID, VALID_IQAMA

NOW = dt.datetime(2027, 6, 15, 12, 0, tzinfo=dt.UTC)
SCHEDULE = {retention.REQUESTS: 12, retention.VOLUNTEERS: 6, retention.FEEDBACK: 6}
DAY = dt.timedelta(days=1)
ATTESTATION = queue.Attestation("أقر بأن البيانات صحيحة وأتحمل مسؤوليتها", "attestation-test", "ar")
CONSENT = queue.Attestation("أوافق على إشعار الخصوصية", "privacy-2026-11-25", "ar")


def months_ago(months: int, days: int = 0) -> dt.datetime:
    return retention.months_before(NOW, months) + dt.timedelta(days=days)


@pytest.fixture
def fk(app):
    """A connection as the portal opens it (foreign keys enforced), for the privacy calls."""
    database = connect(app.config["PORTAL_DB"])
    yield database
    database.close()


@pytest.fixture
def uploads(app) -> Path:
    folder = Path(app.config["PORTAL_UPLOADS"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def person(n: int, **changes) -> dict:
    """Distinct, searchable personal data for person n."""
    fields = {
        "full_name": f"فاطمة{n} محمد أحمد الزهراني",
        "national_id": None,
        "mobile": f"+96651234{n:04d}",
        "email": f"person{n}@example.com",
        "city": "الجموم",
        "description": f"وصف خاص بالشخص{n}",
    }
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def submit(app, db, kind, at, fields, orphans=(), **kwargs) -> queue.Receipt:
    with app.test_request_context():
        return queue.submit(
            db, kind=kind, lang="ar", fields=fields, orphans=orphans, at=at, **kwargs
        )


def move(app, db, case_id, path, at, reason="") -> None:
    with app.test_request_context():
        for target in path:
            queue.transition(
                db, case_id, target, actor="officer1", role="admin", reason=reason, at=at
            )


def attach(app, db, uploads, case_id, original_name, content=PDF) -> StoredFile:
    stored_name = secrets.token_hex(16) + ".pdf"
    (uploads / stored_name).write_bytes(content)
    stored = StoredFile(
        original_name,
        stored_name,
        "application/pdf",
        len(content),
        hashlib.sha256(content).hexdigest(),
    )
    with app.test_request_context():
        queue.attach_document(db, case_id, "id_card", stored, actor="officer1")
    return stored


def orphan(name: str) -> dict:
    return {"name": name, "birth_date": "2015-03-27", "gender": "female", "school_stage": "primary"}


def snapshot(db, uploads) -> dict:
    tables = ("submissions", "orphans", "documents", "events", "outbox", "drafts")
    state = {t: db.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}  # noqa: S608
    state["files"] = sorted(p.name for p in uploads.iterdir())
    return state


def everything_in(db) -> str:
    """Every value of every row of the tables that can hold personal data, as one text."""
    tables = ("submissions", "orphans", "documents", "events", "outbox", "drafts")
    return json.dumps(
        {t: db.execute(f"SELECT * FROM {t}").fetchall() for t in tables},  # noqa: S608
        ensure_ascii=False,
    )


# ---------------------------------------------------------------- the retention world


@pytest.fixture
def world(app, db, uploads, monkeypatch):
    """Cases either side of every cut-off, a stale draft, stray files; returns their ids."""
    w = {}
    # Rejected a day past the 12 months: due. With orphan, document, note, reason, e-mail.
    due_at = months_ago(12, days=-1)
    w["rejected_due"] = submit(
        app,
        db,
        Kind.ASSISTANCE,
        months_ago(14),
        person(1, national_id=VALID_ID),
        orphans=(orphan("سارة1 محمد"),),
        mail={"to_addr": "person1@example.com", "subject": "s", "body": "b"},
    ).submission_id
    with app.test_request_context():
        queue.add_note(db, w["rejected_due"], "اتصلت فاطمة1 من جوال 0512340001", actor="officer1")
    w["rejected_due_file"] = attach(app, db, uploads, w["rejected_due"], "هوية-فاطمة1.pdf")
    move(app, db, w["rejected_due"], [State.VERIFYING, State.COMMITTEE], months_ago(13))
    move(app, db, w["rejected_due"], [State.REJECTED], due_at, reason="فاطمة1 لا تستحق")
    # Rejected a day short of the 12 months: not yet.
    w["rejected_kept"] = submit(
        app, db, Kind.ASSISTANCE, months_ago(14), person(2, national_id=VALID_IQAMA)
    ).submission_id
    w["rejected_kept_file"] = attach(app, db, uploads, w["rejected_kept"], "هوية-فاطمة2.pdf")
    move(app, db, w["rejected_kept"], [State.VERIFYING, State.COMMITTEE], months_ago(13))
    move(app, db, w["rejected_kept"], [State.REJECTED], months_ago(12, days=1), reason="فاطمة2")
    # Withdrawn and duplicate long ago: due.
    w["withdrawn"] = submit(app, db, Kind.ASSISTANCE, months_ago(30), person(3)).submission_id
    move(app, db, w["withdrawn"], [State.WITHDRAWN], months_ago(29), reason="سحبته فاطمة3")
    w["duplicate"] = submit(app, db, Kind.ASSISTANCE, months_ago(30), person(4)).submission_id
    move(app, db, w["duplicate"], [State.DUPLICATE], months_ago(29), reason="مكرر فاطمة4")
    # Accepted, very old: never purged.
    w["accepted"] = submit(app, db, Kind.ASSISTANCE, months_ago(40), person(5)).submission_id
    move(app, db, w["accepted"], [State.VERIFYING, State.COMMITTEE, State.ACCEPTED], months_ago(39))
    # Volunteers: declined a day past 6 months (due), a day short (kept), accepted (kept).
    w["declined_due"] = submit(app, db, Kind.VOLUNTEER, months_ago(8), person(6)).submission_id
    move(app, db, w["declined_due"], [State.CONTACTED], months_ago(7))
    move(app, db, w["declined_due"], [State.DECLINED], months_ago(6, days=-1), reason="فاطمة6")
    w["declined_kept"] = submit(app, db, Kind.VOLUNTEER, months_ago(8), person(7)).submission_id
    move(app, db, w["declined_kept"], [State.CONTACTED], months_ago(7))
    move(app, db, w["declined_kept"], [State.DECLINED], months_ago(6, days=1), reason="فاطمة7")
    w["volunteer_ok"] = submit(app, db, Kind.VOLUNTEER, months_ago(40), person(8)).submission_id
    move(app, db, w["volunteer_ok"], [State.CONTACTED, State.ACCEPTED], months_ago(39))
    # Feedback: old with contact (anonymised), recent with contact, old anonymous.
    ratings = {"rating_courtesy": 5, "rating_clarity": 4, "rating_speed": 3, "rating_overall": 4}
    contact = {"channel": "website", "comments": "شكرًا", "may_contact": True, **ratings}
    w["feedback_old"] = submit(
        app, db, Kind.FEEDBACK, months_ago(6, days=-1), {**contact, "mobile": "+966512340009"}
    ).submission_id
    w["feedback_new"] = submit(
        app, db, Kind.FEEDBACK, months_ago(6, days=1), {**contact, "mobile": "+966512340010"}
    ).submission_id
    w["feedback_anonymous"] = submit(
        app, db, Kind.FEEDBACK, months_ago(30), {**contact, "may_contact": False}
    ).submission_id
    # A draft untouched for two days, with its uploaded document; one touched an hour ago.
    for name, moment in (("draft_old", NOW - 2 * DAY), ("draft_live", NOW - DAY / 24)):
        monkeypatch.setattr(drafts, "now_utc", lambda moment=moment: moment)
        w[name] = drafts.new_id()
        drafts.save(db, w[name], "ar", [["full_name", "مسودة"]])
        stored_name = secrets.token_hex(16) + ".pdf"
        (uploads / stored_name).write_bytes(PDF)
        drafts.add_document(
            db, w[name], "id_card", StoredFile("x.pdf", stored_name, "application/pdf", 3, "0")
        )
        w[f"{name}_file"] = stored_name
    monkeypatch.undo()
    # Files no row names: one two days old (left by a failed form), one being sent now.
    w["stray_old"], w["stray_new"] = secrets.token_hex(16) + ".pdf", secrets.token_hex(16) + ".pdf"
    (uploads / w["stray_old"]).write_bytes(PDF)
    (uploads / w["stray_new"]).write_bytes(PDF)
    two_days_ago = time.time() - 2 * 86400
    os.utime(uploads / w["stray_old"], (two_days_ago, two_days_ago))
    # An old file that store() did not name (a mis-set folder): never touched.
    (uploads / "portal.sqlite3").write_bytes(b"not ours")
    os.utime(uploads / "portal.sqlite3", (two_days_ago, two_days_ago))
    return w


EXPECTED = {
    retention.REQUESTS: 3,
    retention.VOLUNTEERS: 1,
    retention.FEEDBACK: 1,
    retention.DRAFTS: 1,
    retention.UNLINKED: 0,
    retention.STRAY: 1,
}
PERSONAL = ["فاطمة", "0512340001", "+966512340001", "@example.com", "سارة1", VALID_ID, "شخص"]


def test_dry_run_changes_nothing_and_matches_the_real_run(app, fk, world, uploads):
    before = snapshot(fk, uploads)
    plan = retention.purge_plan(fk, NOW, SCHEDULE, uploads)
    assert snapshot(fk, uploads) == before
    assert plan.counts() == EXPECTED
    assert set(plan.step(retention.REQUESTS).ids) == {
        world["rejected_due"],
        world["withdrawn"],
        world["duplicate"],
    }
    assert plan.step(retention.VOLUNTEERS).ids == [world["declined_due"]]
    assert plan.step(retention.FEEDBACK).ids == [world["feedback_old"]]
    # The printable plan: counts, cut-offs and ids; no names, numbers, files or draft keys.
    printable = json.dumps(plan.as_dict(), ensure_ascii=False) + "\n".join(plan.lines())
    for secret in [*PERSONAL, world["draft_old"], world["stray_old"], "هوية"]:
        assert secret not in printable
    assert "would delete 3 cases" in "\n".join(plan.lines())

    report = retention.purge(fk, NOW, SCHEDULE, uploads, "cli:tester")
    assert report["plan"].counts() == plan.counts()
    assert report["files_removed"] == 3  # one case document, one draft document, one stray
    # Run again at the same moment: nothing left to do.
    assert set(retention.purge_plan(fk, NOW, SCHEDULE, uploads).counts().values()) == {0}


def test_purge_deletes_exactly_what_is_due_with_files(app, fk, world, uploads):
    # Two days earlier the rejected request is not yet due: not a day early.
    early = retention.purge_plan(fk, NOW - 2 * DAY, SCHEDULE, uploads)
    assert world["rejected_due"] not in early.step(retention.REQUESTS).ids
    assert world["declined_due"] not in early.step(retention.VOLUNTEERS).ids

    retention.purge(fk, NOW, SCHEDULE, uploads, "cli:tester")
    left = {row[0] for row in fk.execute("SELECT id FROM submissions").fetchall()}
    gone = {world[k] for k in ("rejected_due", "withdrawn", "duplicate", "declined_due")}
    kept = {
        world[k]
        for k in (
            "rejected_kept",
            "accepted",
            "declined_kept",
            "volunteer_ok",
            "feedback_old",
            "feedback_new",
            "feedback_anonymous",
        )
    }
    assert left == kept
    marks = ",".join("?" * len(gone))
    for table in ("orphans", "documents", "outbox"):
        sql = f"SELECT count(*) FROM {table} WHERE submission_id IN ({marks})"  # noqa: S608
        assert fk.execute(sql, list(gone)).fetchone()[0] == 0, table
    assert not (uploads / world["rejected_due_file"].stored_name).exists()
    assert (uploads / world["rejected_kept_file"].stored_name).exists()
    # The stale draft and its file are gone; the live one stays.
    assert fk.execute("SELECT id FROM drafts").fetchall() == [(world["draft_live"],)]
    assert not (uploads / world["draft_old_file"]).exists()
    assert (uploads / world["draft_live_file"]).exists()
    assert not (uploads / world["stray_old"]).exists()
    assert (uploads / world["stray_new"]).exists()
    assert (uploads / "portal.sqlite3").exists()
    # The schedule can be tightened: with 0 months the recently declined volunteer is due.
    tighter = retention.schedule_from_facts(declined_volunteers=0)
    assert tighter[retention.REQUESTS] == 12
    assert retention.purge_plan(fk, NOW, tighter).step(retention.VOLUNTEERS).ids == [
        world["declined_kept"]
    ]


def test_feedback_loses_its_contact_and_keeps_its_ratings(app, fk, world, uploads):
    retention.purge(fk, NOW, SCHEDULE, uploads, "cli:tester")
    old, new = queue.get(fk, world["feedback_old"]), queue.get(fk, world["feedback_new"])
    assert old["mobile"] is None and old["data"]["may_contact"] is False
    assert old["data"]["rating_overall"] == 4 and old["data"]["rating_courtesy"] == 5
    assert old["data"]["comments"] == "شكرًا"
    assert new["mobile"] == "+966512340010" and new["data"]["may_contact"] is True


def test_events_survive_with_no_personal_data(app, fk, world, uploads):
    before = fk.execute("SELECT count(*) FROM events").fetchone()[0]
    retention.purge(fk, NOW, SCHEDULE, uploads, "cli:tester")
    trail = queue.history(fk, world["rejected_due"])
    assert [e["action"] for e in trail] == [
        "submitted",
        "note",
        "document_added",
        "transition",
        "transition",
        "transition",
    ]
    assert trail[1]["detail"] == {"erased": True}
    assert trail[-1]["detail"] == {"erased": True} and trail[-1]["to_state"] == "rejected"
    assert trail[-2]["detail"] == {}  # a move without a reason had nothing to erase
    # Not a word typed about a purged person is left anywhere.
    text = everything_in(fk)
    for n in (1, 3, 4, 6):
        assert f"فاطمة{n}" not in text
        assert f"person{n}@example.com" not in text
    assert "سارة1" not in text and "0512340001" not in text
    # Kept cases keep their reasons.
    assert "فاطمة2" in text and "فاطمة7" in text
    # One purge event: actor, counts per rule, no ids.
    purges = fk.execute("SELECT actor, detail, submission_id FROM events WHERE action = 'purge'")
    (actor, detail, submission_id), *more = purges.fetchall()
    assert not more and actor == "cli:tester" and submission_id is None
    detail = json.loads(detail)
    assert detail["counts"] == EXPECTED
    assert detail["months"] == SCHEDULE
    assert fk.execute("SELECT count(*) FROM events").fetchone()[0] == before + 1


def test_the_trail_stays_append_only(app, fk, world):
    case = world["rejected_kept"]
    refused = [
        "UPDATE events SET actor = 'x' WHERE submission_id = ?",
        "UPDATE events SET detail = '{}' WHERE submission_id = ?",
        "UPDATE events SET detail = '{\"erased\": false}' WHERE submission_id = ?",
        "UPDATE events SET detail = '{\"erased\": true}', at = 'x' WHERE submission_id = ?",
        "UPDATE events SET detail = '{\"erased\": true}', submission_id = 999 "
        "WHERE submission_id = ?",
        "UPDATE events SET to_state = NULL WHERE submission_id = ?",
        "DELETE FROM events WHERE submission_id = ?",
    ]
    before = fk.execute("SELECT * FROM events ORDER BY id").fetchall()
    for sql in refused:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            fk.execute(sql, [case])
        fk.conn.rollback()
    assert fk.execute("SELECT * FROM events ORDER BY id").fetchall() == before
    # The one update allowed: a detail replaced by the erased marker, nothing else.
    changed = fk.execute(
        "UPDATE events SET detail = '{\"erased\": true}' WHERE submission_id = ? AND action = 'note'",
        [world["rejected_due"]],
    ).rowcount
    fk.conn.commit()
    assert changed == 1
    # And no foreign key ties an event to its case any more.
    assert fk.execute("PRAGMA foreign_key_list(events)").fetchall() == []


# ---------------------------------------------------------------- the data subject


@pytest.fixture
def subject(app, db, uploads):
    """Person P: a support request (ID, mobile, orphans, documents), a volunteer sign-up with
    the same mobile, feedback on the request; person Q: a request of their own."""
    p = {}
    p["request"] = submit(
        app,
        db,
        Kind.ASSISTANCE,
        NOW - 40 * DAY,
        person(21, national_id=VALID_ID, mobile="+966512345678"),
        orphans=(orphan("سارة21 محمد"), orphan("عمر21 محمد")),
        attestation=ATTESTATION,
        consent=CONSENT,
        mail={"to_addr": "person21@example.com", "subject": "s", "body": "b"},
    )
    p["files"] = [
        attach(app, db, uploads, p["request"].submission_id, "هوية فاطمة21.pdf"),
        attach(app, db, uploads, p["request"].submission_id, "صك.pdf", content=PDF + b"2"),
    ]
    with app.test_request_context():
        queue.add_note(db, p["request"].submission_id, "زوج فاطمة21 متوفى", actor="officer1")
    move(app, db, p["request"].submission_id, [State.VERIFYING], NOW - 30 * DAY)
    move(app, db, p["request"].submission_id, [State.NEEDS_INFO], NOW - 29 * DAY, reason="أرسلي")
    p["volunteer"] = submit(
        app, db, Kind.VOLUNTEER, NOW - 20 * DAY, person(21, mobile="+966512345678")
    )
    feedback = {"reference": p["request"].reference, "rating_overall": 5, "channel": "website"}
    p["feedback"] = submit(app, db, Kind.FEEDBACK, NOW - 10 * DAY, feedback)
    p["other"] = submit(
        app, db, Kind.ASSISTANCE, NOW - 40 * DAY, person(22, national_id=VALID_IQAMA)
    )
    p["other_file"] = attach(app, db, uploads, p["other"].submission_id, "q.pdf")
    return p


@pytest.mark.parametrize(
    "mobile", ["٠٥١ ٢٣٤ ٥٦٧٨", "05 1234 5678", "+966 51 234 5678", "00966512345678", "512345678"]
)
def test_subject_export_by_mobile_in_any_writing(app, fk, subject, mobile):
    export = subjects.subject_export(fk, mobile=mobile, actor="cli:tester", now=NOW)
    references = [case["reference"] for case in export["cases"]]
    assert sorted(references) == sorted(
        [
            subject["request"].reference,
            subject["volunteer"].reference,
            subject["feedback"].reference,
        ]
    )
    assert export["identified_by"] == {"mobile": "+966512345678"}
    json.dumps(export, ensure_ascii=False)  # JSON-able as it is


def test_subject_export_by_national_id_has_everything(app, fk, subject):
    export = subjects.subject_export(fk, national_id="١٠٠ ٠٠٠ ٠٠٠٨", actor="cli:tester", now=NOW)
    by_kind = {case["kind"]: case for case in export["cases"]}
    # The ID is on the request only; the feedback names the request's reference.
    assert set(by_kind) == {"assistance", "feedback"}
    request = by_kind["assistance"]
    assert request["full_name"] == "فاطمة21 محمد أحمد الزهراني"
    assert request["national_id"] == VALID_ID and request["mobile"] == "+966512345678"
    assert request["fields"]["description"] == "وصف خاص بالشخص21"
    assert [o["name"] for o in request["orphans"]] == ["سارة21 محمد", "عمر21 محمد"]
    assert request["attestation"]["text"] == ATTESTATION.text
    assert request["consent"]["text"] == CONSENT.text
    assert request["consent"]["version"] == "privacy-2026-11-25"
    documents = request["documents"]
    assert [(d["original_name"], d["size"], d["sha256"]) for d in documents] == [
        (f.original_name, f.size, f.sha256) for f in subject["files"]
    ]
    for document, stored in zip(documents, subject["files"], strict=True):
        assert "stored_name" not in document and "content" not in document
        on_disk = (Path(app.config["PORTAL_UPLOADS"]) / stored.stored_name).read_bytes()
        assert hashlib.sha256(on_disk).hexdigest() == document["sha256"]
    events = request["events"]
    assert [e["action"] for e in events][:2] == ["submitted", "document_added"]
    assert events[-1] == {
        "at": clock.iso(NOW - 29 * DAY),
        "action": "transition",
        "actor": "officer1",
        "from_state": "verifying",
        "to_state": "needs_info",
    }
    assert "زوج" not in json.dumps(export, ensure_ascii=False)  # staff notes stay internal
    # Recorded: a count, never who.
    (actor, detail), *_ = fk.execute(
        "SELECT actor, detail FROM events WHERE action = 'subject_exported'"
    ).fetchall()
    assert actor == "cli:tester" and json.loads(detail) == {"cases": 2, "drafts": 0}


def test_subject_export_needs_one_valid_identifier(fk):
    for kwargs in ({}, {"national_id": VALID_ID, "mobile": "0512345678"}, {"mobile": "12"}):
        with pytest.raises(subjects.SubjectError):
            subjects.subject_export(fk, **kwargs)
    with pytest.raises(subjects.SubjectError):
        subjects.subject_erase(fk, "/nonexistent", national_id="abc", actor="t")


def test_subject_erase_removes_everything_and_keeps_an_anonymous_trail(app, fk, subject, uploads):
    ids = [subject[k].submission_id for k in ("request", "volunteer", "feedback")]
    report = subjects.subject_erase(fk, uploads, mobile="٠٥١٢٣٤٥٦٧٨", actor="cli:tester", now=NOW)
    assert report["cases"] == 3 and report["orphans"] == 2 and report["documents"] == 2
    assert report["files_removed"] == 2 and report["outbox"] == 1
    assert report["events_anonymised"] == 2  # the note and the reason
    for stored in subject["files"]:
        assert not (uploads / stored.stored_name).exists()
    assert (uploads / subject["other_file"].stored_name).exists()
    left = [row[0] for row in fk.execute("SELECT id FROM submissions").fetchall()]
    assert left == [subject["other"].submission_id]
    text = everything_in(fk)
    for secret in ("فاطمة21", "سارة21", "عمر21", "person21@", "512345678", VALID_ID, "أرسلي"):
        assert secret not in text
    assert "فاطمة22" in text  # the other person is untouched
    # Nor in the file's free pages, the WAL, or the search index's leftover name trigrams.
    raw = b"".join(
        path.read_bytes()
        for path in Path(app.config["PORTAL_DB"]).parent.glob("portal.sqlite3*")
        if path.is_file()
    )
    for secret in ("فاطمة21", "ه21", "person21@", "+966512345678"):
        assert secret.encode() not in raw, secret
    assert "ه22".encode() in raw
    # The trail of the erased request stays, keyed by its old id, anonymised.
    trail = queue.history(fk, subject["request"].submission_id)
    assert [e["action"] for e in trail][:3] == ["submitted", "document_added", "document_added"]
    assert {json.dumps(e["detail"]) for e in trail if e["action"] == "note"} == {'{"erased": true}'}
    (actor, detail, case), *_ = fk.execute(
        "SELECT actor, detail, submission_id FROM events WHERE action = 'subject_erased'"
    ).fetchall()
    assert json.loads(detail) == {"cases": 3, "drafts": 0}
    assert actor == "cli:tester" and case is None
    assert subjects.subject_export(fk, national_id=VALID_ID)["cases"] == []
    assert set(ids).isdisjoint(left)


def test_a_new_case_never_inherits_an_erased_cases_trail(app, db, fk, uploads):
    erased = submit(app, db, Kind.VOLUNTEER, NOW, person(31)).submission_id
    subjects.subject_erase(fk, uploads, mobile=person(31)["mobile"], actor="t", now=NOW)
    new = submit(app, db, Kind.VOLUNTEER, NOW, person(32)).submission_id
    assert new != erased
    assert [e["action"] for e in queue.history(db, new)] == ["submitted"]


# ---------------------------------------------------------------- the command line


@pytest.fixture
def portal(app):
    group = click.Group("portal")
    register(group)
    env = {
        "PORTAL_DB": app.config["PORTAL_DB"],
        "PORTAL_UPLOADS": app.config["PORTAL_UPLOADS"],
        "PORTAL_SECRET_KEY": "test-only-key",
        "PORTAL_SITE": str(SITE),
    }
    runner = CliRunner()

    def run(*args, input=None):
        return runner.invoke(group, list(args), env=env, input=input, catch_exceptions=False)

    return run


def test_cli_purge(app, db, fk, uploads, portal):
    # The command runs on the real clock: one request rejected long ago, one today.
    old = submit(app, db, Kind.ASSISTANCE, dt.datetime(2020, 1, 1, tzinfo=dt.UTC), person(41))
    move(app, db, old.submission_id, [State.WITHDRAWN], dt.datetime(2020, 1, 2, tzinfo=dt.UTC), "x")
    stored = attach(app, db, uploads, old.submission_id, "old.pdf")
    recent = submit(app, db, Kind.ASSISTANCE, clock.now_utc(), person(42))
    move(app, db, recent.submission_id, [State.WITHDRAWN], clock.now_utc(), reason="y")
    before = snapshot(fk, uploads)

    result = portal("purge", "--dry-run", "--rejected-months", "12")
    assert result.exit_code == 0, result.output
    assert f"would delete 1 cases, 1 documents — ids {old.submission_id}" in result.output
    assert snapshot(fk, uploads) == before
    result = portal("purge", "--declined-volunteer-months", "3", "--feedback-contact-months", "1")
    assert result.exit_code == 0, result.output
    assert "rejected_or_withdrawn_requests (12 months" in result.output
    assert "declined_volunteers (3 months" in result.output
    assert "deleted 1 cases" in result.output and "files removed from disk: 1" in result.output
    assert "فاطمة" not in result.output and "@" not in result.output
    assert not (uploads / stored.stored_name).exists()
    left = [row[0] for row in fk.execute("SELECT id FROM submissions").fetchall()]
    assert left == [recent.submission_id]
    actor, detail = fk.execute("SELECT actor, detail FROM events WHERE action = 'purge'").fetchone()
    assert actor.startswith("cli:") and json.loads(detail)["months"]["declined_volunteers"] == 3
    assert portal("purge", "--rejected-months", "-1").exit_code == 2


def test_cli_subject_export_and_erase(app, fk, subject, uploads, portal, tmp_path):
    out = tmp_path / "person.json"
    result = portal("subject", "export", "--mobile", "٠٥١ ٢٣٤ ٥٦٧٨", "-o", str(out))
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "فاطمة21 محمد أحمد الزهراني" in text  # UTF-8, not \u escapes
    assert len(json.loads(text)["cases"]) == 3
    result = portal("subject", "export", "--national-id", VALID_ID)
    assert json.loads(result.output)["cases"][0]["national_id"] == VALID_ID
    assert portal("subject", "export").exit_code == 2
    assert (
        portal("subject", "export", "--national-id", VALID_ID, "--mobile", "0512345678").exit_code
        == 2
    )
    assert portal("subject", "export", "--mobile", "123").exit_code == 2

    # Erase asks first; "no" changes nothing.
    result = portal("subject", "erase", "--national-id", VALID_ID, input="n\n")
    assert result.exit_code == 1 and "Erase 2 cases" in result.output
    assert fk.execute("SELECT count(*) FROM submissions").fetchone()[0] == 4
    result = portal("subject", "erase", "--mobile", "0512345678", "--yes")
    assert result.exit_code == 0, result.output
    assert "erased 3 cases, 2 orphans, 2 documents (2 files removed)" in result.output
    assert "0 requests in progress" in result.output
    assert fk.execute("SELECT count(*) FROM submissions").fetchone()[0] == 1
    actions = [
        (row[0], json.loads(row[1]), row[2].startswith("cli:"))
        for row in fk.execute(
            "SELECT action, detail, actor FROM events WHERE action LIKE 'subject_%' ORDER BY id"
        ).fetchall()
    ]
    assert actions == [
        ("subject_exported", {"cases": 3, "drafts": 0}, True),
        ("subject_exported", {"cases": 2, "drafts": 0}, True),
        ("subject_erased", {"cases": 3, "drafts": 0}, True),
    ]


# ---------------------------------------------------------------- requests in progress (drafts)


def start_request(db, uploads, national_id: str, mobile: str) -> dict:
    """A support request left before check-your-answers: the draft as typed, with a document."""
    draft_id = drafts.new_id()
    typed = [
        ["full_name", "منى سعيد"],
        ["national_id", national_id],
        ["mobile", mobile],
        ["city", "الجموم"],
    ]
    drafts.save(db, draft_id, "ar", typed)
    stored_name = secrets.token_hex(16) + ".pdf"
    (uploads / stored_name).write_bytes(PDF)
    drafts.add_document(
        db, draft_id, "id_card", StoredFile("هوية.pdf", stored_name, "application/pdf", 3, "0")
    )
    return {"id": draft_id, "file": stored_name}


@pytest.mark.parametrize(
    "identifier",
    [{"mobile": "0512345678"}, {"national_id": VALID_ID}],
    ids=["by-mobile", "by-national-id"],
)
def test_subject_erase_removes_requests_in_progress_as_typed(app, db, fk, uploads, identifier):
    # Typed as people type: Arabic-Indic digits, spaces, +966 — never normalised in a draft.
    mine = start_request(db, uploads, "١٠٠ ٠٠٠ ٠٠٠٨", "٠٥١ ٢٣٤ ٥٦٧٨")
    mine_too = start_request(
        db,
        uploads,
        national_id="1 000 000 008" if "national_id" in identifier else "2000000006",
        mobile="+966 51 234 5678" if "mobile" in identifier else "0512340099",
    )
    other = start_request(db, uploads, VALID_IQAMA, "0512340099")

    export = subjects.subject_export(fk, **identifier, actor="cli:tester", now=NOW)
    assert len(export["drafts"]) == 2
    assert {"national_id": "١٠٠ ٠٠٠ ٠٠٠٨"}.items() <= export["drafts"][0]["fields"].items()
    assert export["drafts"][0]["documents"][0]["original_name"] == "هوية.pdf"

    report = subjects.subject_erase(fk, uploads, **identifier, actor="cli:tester", now=NOW)
    assert report["drafts"] == 2 and report["documents"] == 2 and report["files_removed"] == 2
    left = [row[0] for row in fk.execute("SELECT id FROM drafts").fetchall()]
    assert left == [other["id"]]
    assert fk.execute("SELECT draft_id FROM documents").fetchall() == [(other["id"],)]
    assert not (uploads / mine["file"]).exists() and not (uploads / mine_too["file"]).exists()
    assert (uploads / other["file"]).exists()
    detail = fk.execute("SELECT detail FROM events WHERE action = 'subject_erased'").fetchone()[0]
    assert json.loads(detail) == {"cases": 0, "drafts": 2}
    # Not in the file's free pages or the WAL either.
    raw = b"".join(
        path.read_bytes()
        for path in Path(app.config["PORTAL_DB"]).parent.glob("portal.sqlite3*")
        if path.is_file()
    )
    for secret in ("١٠٠ ٠٠٠ ٠٠٠٨", "٠٥١ ٢٣٤ ٥٦٧٨", "+966 51 234 5678"):
        assert secret.encode() not in raw, secret
