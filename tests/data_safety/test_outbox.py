"""The outbox under real processes: senders racing on one database, a sender SIGKILLed
while the provider answers, `portal outbox send --loop` stopping cleanly, and the e-mails
queued before the outbox carried SMS.

Delivery: SMS at most once (an abandoned claim becomes `unknown`, never re-sent), e-mail at
least once (an abandoned claim is sent again). See forms_service/outbox.py.
"""

import datetime as dt
import json
import os
import signal
import smtplib
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms_service import db as dbm
from forms_service import lifecycle, outbox, queue
from forms_service.cli import main
from forms_service.migrations import migrations
from tests.conftest import make_app, sms_settings
from tests.forms.test_mail import FakeSMTP
from tests.forms.test_sms import (  # no_proxy: its autouse fixture, for this file too
    no_proxy,  # noqa: F401
)

ROOT = Path(__file__).resolve().parents[2]
ACCEPTED = {"statusCode": 201, "messageId": 99}
pytestmark = pytest.mark.timeout(120)

# One sender in its own process: waits for the start signal, sends what is due, prints counts.
SENDER = textwrap.dedent(
    """
    import json, os, sys, time
    from forms_service import db, outbox
    path, settings, go = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    connection = db.connect(path)
    open(go + "." + str(os.getpid()), "w").close()
    while not os.path.exists(go):
        time.sleep(0.005)
    print(json.dumps(outbox.send_due(connection, settings, limit=1000)))
    """
)


def requests_with_sms(site_dir, tmp_path, gateway, count: int):
    """An app sending SMS to the gateway, its database, and `count` requests in the outbox."""
    app = make_app(tmp_path, **sms_settings(gateway.url))
    database = dbm.connect(app.config["PORTAL_DB"])
    with app.app_context():
        for _ in range(count):
            queue.submit(
                database,
                kind=lifecycle.Kind.ASSISTANCE,
                lang="ar",
                fields={"full_name": "فاطمة", "mobile": "+966512345678"},
            )
    return app, database


def start_sender(app, go: Path) -> subprocess.Popen:
    settings = {k: v for k, v in app.config.items() if k.startswith("PORTAL_")}
    return subprocess.Popen(
        [sys.executable, "-c", SENDER, app.config["PORTAL_DB"], json.dumps(settings), str(go)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_three_processes_at_once_send_each_message_once(site_dir, tmp_path, gateway):
    gateway.answer(201, ACCEPTED, delay=0.005)
    app, database = requests_with_sms(site_dir, tmp_path, gateway, 60)
    references = [r[0] for r in database.execute("SELECT reference FROM submissions")]
    go = tmp_path / "go"
    senders = [start_sender(app, go) for _ in range(3)]
    wait_for(lambda: len(list(tmp_path.glob("go.*"))) == 3)
    go.touch()
    results = []
    for process in senders:
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["sent"] for r in results) == 60
    texts = [json.loads(r.body)["body"] for r in gateway.requests]
    assert len(texts) == 60  # the provider was asked once per message
    for reference in references:
        grouped = f"{reference[:3]}-{reference[3:6]}-{reference[6:]}"
        assert sum(grouped in text for text in texts) == 1
    assert database.execute("SELECT count(*) FROM outbox WHERE status = 'sent'").fetchone()[0] == 60
    recorded = database.execute(
        "SELECT count(*) FROM events WHERE action = 'notification_sent'"
    ).fetchone()[0]
    assert recorded == 60


def test_a_sender_killed_while_the_provider_accepts_never_sends_the_sms_again(
    site_dir, tmp_path, gateway
):
    """The provider has the message; the sender is SIGKILLed before it hears back and records
    it. The row stays `sending`; once the claim expires it becomes `unknown` and is never
    sent again: at most once."""
    gateway.answer(201, ACCEPTED, delay=5)
    app, database = requests_with_sms(site_dir, tmp_path, gateway, 1)
    go = tmp_path / "go"
    go.touch()
    sender = start_sender(app, go)
    try:
        wait_for(lambda: len(gateway.requests) == 1)
        sender.send_signal(signal.SIGKILL)
    finally:
        sender.wait(30)
    (status, claimed_at) = database.execute("SELECT status, claimed_at FROM outbox").fetchone()
    assert status == "sending"
    claimed = dt.datetime.fromisoformat(claimed_at.replace("Z", "+00:00"))
    early = outbox.send_due(database, app.config, now=claimed + dt.timedelta(minutes=9))
    assert early["sent"] == 0 and early["unknown"] == 0
    late = outbox.send_due(database, app.config, now=claimed + dt.timedelta(minutes=10))
    assert late == {"sent": 0, "retrying": 0, "failed": 0, "unknown": 1}
    assert len(gateway.requests) == 1
    row = database.execute("SELECT status, to_addr, body, last_error FROM outbox").fetchone()
    assert row[:3] == ("unknown", "", "") and "abandoned" in row[3]
    actions = [a for (a,) in database.execute("SELECT action FROM events ORDER BY id")]
    assert actions == ["submitted", "notification_unknown"]


def test_portal_outbox_send_loop_sends_and_stops_on_sigterm(site_dir, tmp_path, gateway):
    app, database = requests_with_sms(site_dir, tmp_path, gateway, 1)
    env = {
        **{k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
        **sms_settings(gateway.url),
        "PORTAL_DB": app.config["PORTAL_DB"],
        "PORTAL_UPLOADS": str(tmp_path / "uploads"),
        "PORTAL_SECRET_KEY": "test-only-key",
        "PORTAL_VAR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
    }
    loop = subprocess.Popen(
        [sys.executable, "-m", "forms_service.cli", "outbox", "send", "--loop"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_for(lambda: database.execute("SELECT status FROM outbox").fetchone()[0] == "sent", 30)
        loop.send_signal(signal.SIGTERM)
        out, _ = loop.communicate(timeout=20)
    finally:
        if loop.poll() is None:
            loop.kill()
    assert loop.returncode == 0, out
    assert "sent 1" in out and "stopped" in out
    assert len(gateway.requests) == 1


def test_portal_outbox_send_refuses_a_wrong_setting(site_dir, tmp_path, monkeypatch):
    for key, value in {
        "PORTAL_DB": str(tmp_path / "portal.sqlite3"),
        "PORTAL_SECRET_KEY": "t",
        "PORTAL_SMS_PROVIDER": "taqnyat",
        "PORTAL_SMS_TOKEN": "",
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["outbox", "send"])
    assert result.exit_code != 0 and "PORTAL_SMS_TOKEN" in result.output


def test_the_emails_queued_before_the_migration_keep_working(tmp_path, monkeypatch):
    path = str(tmp_path / "old.sqlite3")
    old = dbm.connect(path)
    migrations.apply(old, stop_before="m005_notifications")
    old.execute(
        "INSERT INTO submissions (id, reference, kind, lang, state, channel, created_at, "
        "updated_at) VALUES (1, 'K7M4QX9T', 'assistance', 'en', 'received', 'website', "
        "'2026-11-01T08:00:00Z', '2026-11-01T08:00:00Z')"
    )
    for to_addr, sent_at, attempts in (
        ("a@example.com", None, 1),  # waiting for a retry
        ("", "2026-11-01T08:01:00Z", 1),  # sent
        ("c@example.com", None, 5),  # the old sender had given up
    ):
        old.execute(
            "INSERT INTO outbox (submission_id, to_addr, subject, body, created_at, sent_at, "
            "attempts) VALUES (1, ?, 'Received', 'Thank you.', '2026-11-01T08:00:00Z', ?, ?)",
            [to_addr, sent_at, attempts],
        )
    old.conn.commit()
    old.close()
    dbm.prepare(path)  # m005 (and whatever follows)
    database = dbm.connect(path)
    rows = list(database.query("SELECT * FROM outbox ORDER BY id"))
    assert [r["channel"] for r in rows] == ["email"] * 3
    assert [r["status"] for r in rows] == ["waiting", "sent", "failed"]
    assert {r["lang"] for r in rows} == {"en"} and {r["message_kind"] for r in rows} == {"received"}
    assert rows[0]["subject"] == "Received — K7M-4QX-9T"
    assert rows[0]["body"] == "Thank you.\n\nK7M-4QX-9T"

    FakeSMTP.sent, FakeSMTP.fail = [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    settings = {"PORTAL_SMTP_HOST": "smtp.example", "PORTAL_SMTP_FROM": "portal@example.org"}
    assert outbox.send_due(database, settings)["sent"] == 1
    (message,) = FakeSMTP.sent
    assert message["To"] == "a@example.com" and message["Subject"] == "Received — K7M-4QX-9T"
