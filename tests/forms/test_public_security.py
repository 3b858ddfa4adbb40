"""Security review of the public forms: the disk cannot be filled from outside (finding 3),
receipts stay on the server (finding 4) and no form tells references apart (finding 10)."""

import datetime as dt
import hmac
import io
import json
import os
import re
import secrets
import time
from pathlib import Path

import pytest
import sqlite_utils
from bs4 import BeautifulSoup

from forms_service import clock, drafts, queue
from forms_service.uploads import StoredFile
from tests.conftest import LANGS, make_app
from tests.forms.helpers import (
    PDF,
    assistance_data,
    documents,
    feedback_data,
    get_form,
    hidden_fields,
    prefix,
    reference_on,
    submit_assistance,
    volunteer_data,
)

ARABIC = re.compile(r"[\u0621-\u064A]")
NAME, MOBILE, NATIONAL_ID = "فاطمة محمد أحمد الزهراني", "512345678", "1000000008"


def post_assistance(client, url, data=None, files=None):
    payload = {**get_form(client, url), **(data or assistance_data()), **(files or {})}
    return client.post(url, data=payload, content_type="multipart/form-data")


def text_of(response) -> str:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text(" ", strip=True)


def session_of(client) -> dict:
    """The Flask session cookie, decoded (signed, not encrypted: anyone holding it can)."""
    cookie = client.get_cookie("portal_session")
    if cookie is None:
        return {}
    app = client.application
    return app.session_interface.get_signing_serializer(app).loads(cookie.value)


def integers_in(value) -> list[int]:
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, dict):
        return [n for item in value.values() for n in integers_in(item)]
    if isinstance(value, list | tuple):
        return [n for item in value for n in integers_in(item)]
    return []


def minutes_ago(minutes: int) -> str:
    return clock.iso(clock.now_utc() - dt.timedelta(minutes=minutes))


# ================================================================ finding 3: filling the disk


@pytest.mark.parametrize("lang", LANGS)
def test_draft_saves_are_limited_per_address_across_workers(site_dir, tmp_path, lang):
    workers = [make_app(tmp_path, PORTAL_DRAFT_RATE_LIMIT="3/hour") for _ in range(2)]
    url = prefix(lang) + "/forms/assistance/"
    responses = [  # a new browser session each time: each save is a new draft
        post_assistance(workers[i % 2].test_client(), url, files=documents()) for i in range(5)
    ]
    assert [r.status_code for r in responses[:3]] == [302, 302, 302]
    for refused in responses[3:]:
        assert refused.status_code == 429
        assert refused.headers.get("Retry-After")
        html = refused.get_data(as_text=True)
        assert f'<html lang="{lang}"' in html
        if lang == "en":
            assert "try again" in text_of(refused)
        else:
            assert "حاول مرة أخرى" in text_of(refused)
    # Refused saves stored nothing: three drafts of three documents each, as many files.
    config = workers[0].config
    with sqlite_utils.Database(config["PORTAL_DB"]) as database:
        assert database["drafts"].count == 3
        assert database["documents"].count == 9
    assert len(list(Path(config["PORTAL_UPLOADS"]).iterdir())) == 9


def test_only_the_forms_own_fields_are_kept_in_the_draft(client, db):
    extra = {
        "evil": "x" * 1000,
        "orphans-0-evil": "x",
        "orphans-15-name": "خارج الحد",
        "orphans-999-name": "خارج الحد",
        "documents-id_card": "not a file",
        "csrf_token": get_form(client, "/forms/assistance/")["csrf_token"],
        "description": ["وصف"] * 50,
    }
    response = post_assistance(client, "/forms/assistance/", {**assistance_data(), **extra})
    assert response.status_code == 200  # "documents-id_card" is text, not a file: asked again
    (row,) = db["drafts"].rows
    names = [name for name, _value in json.loads(row["data"])]
    assert "evil" not in names and "orphans-0-evil" not in names
    assert "orphans-15-name" not in names and "orphans-999-name" not in names
    assert "documents-id_card" not in names and "csrf_token" not in names
    assert names.count("description") == 1
    assert {"full_name", "orphans-0-name", "orphans-1-school_stage", "support_type"} <= set(names)
    assert names.count("support_type") == 2  # a multiple choice keeps each ticked box


def test_replaying_the_first_cookie_reuses_one_draft(client, db):
    url = "/forms/assistance/"
    fields = get_form(client, url)
    first_cookie = client.get_cookie("portal_session").value
    for _ in range(3):
        client.set_cookie("portal_session", first_cookie)
        client.post(
            url,
            data={**fields, **assistance_data(full_name=None)},
            content_type="multipart/form-data",
        )
    assert db["drafts"].count == 1


def _fill_drafts_space(db, mb: int, room: int) -> None:
    """Another draft's document takes all of `mb` but `room` bytes."""
    stored = StoredFile("x.pdf", secrets.token_hex(16) + ".pdf", "application/pdf", 1, "0")
    drafts.save(db, "someone-else", "ar", [])
    drafts.add_document(db, "someone-else", "id_card", stored)
    db.execute("UPDATE documents SET size = ?", [mb * 1024 * 1024 - room])
    db.conn.commit()


@pytest.mark.parametrize("lang", LANGS)
def test_uploads_past_the_drafts_cap_are_not_stored(site_dir, tmp_path, lang):
    app = make_app(tmp_path, PORTAL_DRAFTS_MAX_MB=1)
    client = app.test_client()
    with sqlite_utils.Database(app.config["PORTAL_DB"]) as db:
        _fill_drafts_space(db, 1, room=len(PDF) + 10)  # room for one PDF, not three files
    url = prefix(lang) + "/forms/assistance/"
    response = post_assistance(client, url, files=documents())
    assert response.status_code == 503  # the service is full, not this visitor's fault
    assert response.headers.get("Retry-After")
    html = response.get_data(as_text=True)
    assert f'<html lang="{lang}"' in html
    if lang == "en":
        assert "try again later" in text_of(response).lower()
        assert "kept" in text_of(response)
    uploads = Path(app.config["PORTAL_UPLOADS"])
    with sqlite_utils.Database(app.config["PORTAL_DB"]) as db:
        assert drafts.space_used(db) <= 1024 * 1024
        stored = {r["stored_name"] for r in db["documents"].rows}
        assert set(os.listdir(uploads)) <= stored  # no file without its row
        mine = [r for r in db["drafts"].rows if r["id"] != "someone-else"]
        assert len(mine) == 1 and NAME in mine[0]["data"]  # what was typed is kept


def test_the_sweep_removes_expired_drafts_receipts_and_stray_files(client, app, db):
    uploads = Path(app.config["PORTAL_UPLOADS"])
    uploads.mkdir(parents=True, exist_ok=True)

    def draft_with_file(draft_id: str, updated_at: str) -> str:
        name = secrets.token_hex(16) + ".pdf"
        (uploads / name).write_bytes(PDF)
        drafts.save(db, draft_id, "ar", [["full_name", "مسودة"]])
        drafts.add_document(
            db, draft_id, "id_card", StoredFile("x.pdf", name, "application/pdf", 3, "0")
        )
        db.execute("UPDATE drafts SET updated_at = ? WHERE id = ?", [updated_at, draft_id])
        db.conn.commit()
        return name

    def stray(age_seconds: float) -> str:
        name = secrets.token_hex(16) + ".pdf"
        (uploads / name).write_bytes(PDF)
        os.utime(uploads / name, (time.time() - age_seconds, time.time() - age_seconds))
        return name

    old_file = draft_with_file("old", minutes_ago(2 * 24 * 60))
    live_file = draft_with_file("live", minutes_ago(60))
    old_stray, new_stray = stray(2 * 3600), stray(60)
    not_ours = uploads / "notes.txt"
    not_ours.write_bytes(b"not an upload")
    os.utime(not_ours, (time.time() - 86400 * 3, time.time() - 86400 * 3))
    reference = reference_on(submit_assistance(app.test_client(), "ar"))
    submission_id = db.execute(
        "SELECT id FROM submissions WHERE reference = ?", [reference.replace("-", "")]
    ).fetchone()[0]
    for token_hash, created in (("expired", minutes_ago(120)), ("live", minutes_ago(1))):
        db["receipts"].insert(
            {
                "token_hash": token_hash,
                "kind": "assistance",
                "submission_id": submission_id,
                "created_at": created,
            }
        )
    db.execute("DELETE FROM rate_limits")  # a new period: the next public request sweeps
    db.conn.commit()

    assert client.get("/forms/volunteer/").status_code == 200

    assert {r["id"] for r in db["drafts"].rows} == {"live"}
    assert not (uploads / old_file).exists() and (uploads / live_file).exists()
    assert not (uploads / old_stray).exists() and (uploads / new_stray).exists()
    assert not_ours.exists()
    assert {r["token_hash"] for r in db["receipts"].rows} >= {"live"}
    assert "expired" not in {r["token_hash"] for r in db["receipts"].rows}
    # Not again in the same period (one claim shared by every worker)...
    db.execute("UPDATE drafts SET updated_at = ? WHERE id = 'live'", [minutes_ago(3 * 24 * 60)])
    db.conn.commit()
    make_app(Path(app.config["PORTAL_DB"]).parent).test_client().get("/en/forms/status/")
    assert db["drafts"].count == 1
    # ...and again once the period is over.
    db.execute("DELETE FROM rate_limits")
    db.conn.commit()
    client.get("/en/forms/feedback/")
    assert db["drafts"].count == 0 and not (uploads / live_file).exists()


# ================================================================ finding 4: receipts


def _submit(client, kind: str, lang: str = "en"):
    """Submit one form; return the confirmation page."""
    if kind == "assistance":
        return submit_assistance(client, lang)
    url = prefix(lang) + f"/forms/{kind}/"
    data = volunteer_data() if kind == "volunteer" else feedback_data()
    response = client.post(url, data={**get_form(client, url), **data})
    assert response.status_code == 302
    return client.get(response.headers["Location"])


@pytest.mark.parametrize("kind", ["assistance", "volunteer", "feedback"])
def test_the_session_cookie_holds_no_receipt_data(client, db, kind):
    page = _submit(client, kind)
    assert reference_on(page)
    saved = session_of(client)
    (submission_id,) = [r["id"] for r in db["submissions"].rows]
    assert submission_id not in integers_in(saved)
    raw = json.dumps(saved, ensure_ascii=False)
    for secret in (NAME, MOBILE, NATIONAL_ID, "خالد", reference_on(page).replace("-", "")):
        assert secret not in raw
    assert "id" not in raw.replace('"', " ").split()


def test_the_status_lookup_keeps_no_row_id_in_the_cookie(client, db):
    reference = reference_on(submit_assistance(client, "en"))
    url = "/en/forms/status/"
    found = client.post(
        url, data={**get_form(client, url), "reference": reference, "mobile": "0512345678"}
    )
    assert found.status_code == 302
    (submission_id,) = [r["id"] for r in db["submissions"].rows]
    assert submission_id not in integers_in(session_of(client))
    assert "Received" in text_of(client.get(url))
    assert "Received" not in text_of(client.get(url))  # shown once


@pytest.mark.parametrize("kind", ["assistance", "volunteer", "feedback"])
def test_a_copied_cookie_shows_nothing_once_the_receipt_expired(app, client, db, kind):
    _submit(client, kind)
    url = f"/en/forms/{kind}/done"
    copy = app.test_client()
    copy.set_cookie("portal_session", client.get_cookie("portal_session").value)
    db.execute("UPDATE receipts SET created_at = ?", [minutes_ago(31)])
    db.conn.commit()
    for browser in (client, copy):
        response = browser.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].endswith(f"/en/forms/{kind}/")
        assert NAME not in text_of(response) and MOBILE not in text_of(response)


def test_a_replayed_check_after_expiry_shows_no_receipt(app, client, db):
    base = "/en/forms/assistance/"
    post_assistance(client, base, files=documents())
    check = client.get(base + "check")
    confirm = {**hidden_fields(check.get_data(as_text=True)), "attestation": "y", "consent": "y"}
    before = client.get_cookie("portal_session").value
    assert client.post(base + "check", data=confirm).status_code == 302
    # Soon after (an answer lost on the way): the same receipt again.
    retry = app.test_client()
    retry.set_cookie("portal_session", before)
    again = retry.post(base + "check", data=confirm)
    assert again.headers["Location"].endswith("/en/forms/assistance/done")
    assert NAME in retry.get(again.headers["Location"]).get_data(as_text=True)
    # Long after: a copy of the old cookie shows nothing.
    db.execute("UPDATE submissions SET created_at = ?", [minutes_ago(31)])
    db.conn.commit()
    late = app.test_client()
    late.set_cookie("portal_session", before)
    response = late.post(base + "check", data=confirm)
    assert response.status_code == 302
    page = late.get(response.headers["Location"], follow_redirects=True)
    assert NAME not in page.get_data(as_text=True)
    assert MOBILE not in page.get_data(as_text=True)


# ================================================================ finding 10: no oracle


def _masked(response, *words: str) -> str:
    html = response.get_data(as_text=True)
    html = re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "", html)
    html = re.sub(r'value="[^"]*"', 'value=""', html)
    for word in words:
        html = html.replace(word, "WORD")
    return html


def test_the_survey_answers_the_same_for_known_and_unknown_references(app, db):
    reference = reference_on(submit_assistance(app.test_client(), "en"))
    unknown = "K7M-4QX-9T" if reference != "K7M-4QX-9T" else "K7M-4QX-9U"
    answers = []
    for typed in (reference.lower(), unknown):
        client = app.test_client()
        url = "/en/forms/feedback/"
        response = client.post(
            url, data={**get_form(client, url), **feedback_data(reference=typed)}
        )
        answers.append((response.status_code, response.headers.get("Location")))
    assert answers[0] == answers[1] == (302, "/en/forms/feedback/done")
    stored = [
        json.loads(r["data"])["reference"] for r in db["submissions"].rows_where("kind='feedback'")
    ]
    assert stored == [reference.replace("-", ""), unknown.replace("-", "")]


def test_the_survey_still_checks_the_reference_format(client, db):
    url = "/en/forms/feedback/"
    response = client.post(url, data={**get_form(client, url), **feedback_data(reference="12")})
    assert response.status_code == 400
    assert "8 letters and digits" in text_of(response)
    assert db["submissions"].count == 0


def test_status_lookup_does_the_same_work_for_unknown_reference_and_wrong_mobile(
    client, db, monkeypatch
):
    reference = reference_on(submit_assistance(client, "en")).replace("-", "")
    unknown = "K7M4QX9T" if reference != "K7M4QX9T" else "K7M4QX9U"
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)

    def work(typed_reference: str) -> tuple:
        statements, compared[:] = [], []
        db.conn.set_trace_callback(statements.append)
        try:
            found = queue.status_lookup(db, typed_reference, "+966599999999")
        finally:
            db.conn.set_trace_callback(None)
        masked = [re.sub(r"'[^']*'", "?", s) for s in statements]
        return found, masked, list(compared)

    wrong_mobile, unknown_reference = work(reference), work(unknown)
    assert wrong_mobile[0] is None and unknown_reference[0] is None
    assert wrong_mobile[1] == unknown_reference[1]  # the same statements
    assert wrong_mobile[2] == unknown_reference[2] == [(13, 13)]  # one constant-time compare
    assert queue.status_lookup(db, reference, "+966512345678")["reference"] == reference


def test_status_page_is_the_same_for_unknown_reference_and_wrong_mobile(app, db):
    reference = reference_on(submit_assistance(app.test_client(), "ar"))
    unknown = "H3P-8WZ-5N" if reference != "H3P-8WZ-5N" else "H3P-8WZ-5M"
    pages = []
    for typed in (reference, unknown):
        client = app.test_client()
        url = "/forms/status/"
        response = client.post(
            url, data={**get_form(client, url), "reference": typed, "mobile": "0599999999"}
        )
        pages.append((response.status_code, _masked(response, typed, typed.replace("-", ""))))
    assert pages[0][0] == pages[1][0] == 200
    assert pages[0][1] == pages[1][1]
    assert ARABIC.search(pages[0][1])


def test_a_draft_rate_limit_of_off_lets_every_save_through(site_dir, tmp_path):
    client = make_app(tmp_path, PORTAL_DRAFT_RATE_LIMIT="off").test_client()
    for _ in range(3):
        response = post_assistance(
            client, "/forms/assistance/", files={"documents-id_card": (io.BytesIO(PDF), "a.pdf")}
        )
        assert response.status_code == 200  # the rest of the form is missing: asked again
