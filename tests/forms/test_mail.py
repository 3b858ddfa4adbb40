"""Confirmation e-mails: written with the submission, sent after; a mail failure loses nothing."""

import smtplib
import ssl
from typing import ClassVar

import pytest
import sqlite_utils

from forms_service import mail, outbox
from tests.conftest import make_app
from tests.forms.helpers import reference_on, submit_assistance

SMTP = {"PORTAL_SMTP_HOST": "smtp.example", "PORTAL_SMTP_USER": "portal@example.org"}


class FakeSMTP:
    sent: ClassVar[list] = []
    contexts: ClassVar[list] = []
    fail = False

    def __init__(self, host, port, timeout):
        if FakeSMTP.fail:
            raise smtplib.SMTPConnectError(421, "down")
        self.host = host

    def starttls(self, context=None):
        FakeSMTP.contexts.append(context)

    def login(self, user, password):
        pass

    def send_message(self, message):
        FakeSMTP.sent.append(message)

    def quit(self):
        pass

    def close(self):
        pass


@pytest.fixture
def smtp(monkeypatch):
    FakeSMTP.sent, FakeSMTP.contexts, FakeSMTP.fail = [], [], False
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def send_due(app) -> dict:
    """What the outbox sender (`portal outbox send`) does after the request."""
    with app.app_context(), sqlite_utils.Database(app.config["PORTAL_DB"]) as db:
        return outbox.send_due(db, app.config)


@pytest.mark.parametrize("lang", ["ar", "en"])
def test_confirmation_is_sent_in_the_applicants_language(site_dir, tmp_path, smtp, lang):
    app = make_app(tmp_path, **SMTP)
    client = app.test_client()
    reference = reference_on(submit_assistance(client, lang))
    assert smtp.sent == []  # never from the request that stores it
    assert send_due(app)["sent"] == 1
    assert len(smtp.sent) == 1
    message = smtp.sent[0]
    assert message["To"] == "fatima@example.com"
    assert reference in message["Subject"] and reference in message.get_content()
    body = message.get_content()
    assert ("أسبوعين" in body) if lang == "ar" else ("two weeks" in body)


def test_a_mail_failure_never_loses_the_submission(site_dir, tmp_path, smtp):
    smtp.fail = True
    app = make_app(tmp_path, **SMTP)
    client = app.test_client()
    page = submit_assistance(client, "en")
    assert page.status_code == 200 and reference_on(page)
    assert send_due(app)["sent"] == 0
    db = sqlite_utils.Database(app.config["PORTAL_DB"])
    assert db["submissions"].count == 1
    rows = list(db["outbox"].rows)
    assert len(rows) == 1 and rows[0]["sent_at"] is None and rows[0]["attempts"] == 1
    assert rows[0]["last_error"] == "SMTPConnectError"


def test_no_smtp_no_mail(client, db, smtp):
    submit_assistance(client, "ar")
    assert smtp.sent == [] and db["outbox"].count == 0


def test_portal_outbox_send_retries_what_failed(site_dir, tmp_path, smtp, monkeypatch):
    from click.testing import CliRunner

    from forms_service.cli import main

    smtp.fail = True
    app = make_app(tmp_path, **SMTP)
    submit_assistance(app.test_client(), "en")
    smtp.fail = False
    for key, value in {
        **SMTP,
        "PORTAL_DB": app.config["PORTAL_DB"],
        "PORTAL_SECRET_KEY": "t",
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(main, ["outbox", "send"])
    assert result.exit_code == 0 and "sent 1" in result.output
    assert len(smtp.sent) == 1 and smtp.sent[0]["From"] == "portal@example.org"


def test_starttls_checks_the_servers_certificate_and_name(site_dir, tmp_path, smtp):
    app = make_app(tmp_path, **SMTP)
    submit_assistance(app.test_client(), "en")
    send_due(app)
    assert len(smtp.sent) == 1
    (context,) = smtp.contexts
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


@pytest.mark.parametrize(
    ("settings", "mode"),
    [
        ({}, "starttls"),
        ({"PORTAL_SMTP_PORT": "465"}, "implicit"),
        ({"PORTAL_SMTP_TLS": "Implicit", "PORTAL_SMTP_PORT": "2465"}, "implicit"),
        ({"PORTAL_SMTP_TLS": "off", "PORTAL_SMTP_HOST": "localhost"}, "off"),
        ({"PORTAL_SMTP_TLS": "off", "PORTAL_SMTP_HOST": "127.0.0.1"}, "off"),
    ],
)
def test_tls_mode(settings, mode):
    assert mail.tls_mode({**SMTP, **settings}) == mode


@pytest.mark.parametrize("settings", [{"PORTAL_SMTP_TLS": "off"}, {"PORTAL_SMTP_TLS": "ssl"}])
def test_plain_text_only_to_this_machine_and_no_unknown_mode(settings):
    with pytest.raises(ValueError, match="PORTAL_SMTP_TLS"):
        mail.tls_mode({**SMTP, **settings})
