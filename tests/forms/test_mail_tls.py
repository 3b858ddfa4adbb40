"""Confirmation e-mails go over TLS to a server whose certificate is checked.

A local SMTP server (STARTTLS on the submission port, or TLS from the first byte as on port
465) presents a self-signed certificate made for this test: trusted by nobody, so the mail
must stay in the outbox with the error recorded; sent once PORTAL_SMTP_CA_FILE trusts it and
the host name is the certificate's.
"""

import datetime as dt
import socketserver
import ssl
import threading

import pytest
import sqlite_utils

from forms_service import clock, lifecycle, outbox, queue
from tests.conftest import make_app
from tests.forms.helpers import self_signed_certificate

FROM = "portal@example.org"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for `localhost` only (not 127.0.0.1): (cert.pem, key.pem)."""
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


class SMTPHandler(socketserver.BaseRequestHandler):
    """Just enough SMTP: EHLO, STARTTLS, MAIL, RCPT, DATA, QUIT."""

    def handle(self):
        self.sock, self.tls = self.request, False
        if self.server.implicit and not self.start_tls():
            return
        self.reader = self.sock.makefile("rb")
        self.say("220 localhost ESMTP test")
        while line := self.reader.readline():
            verb = line.decode("ascii", "replace").strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                offer = "250-STARTTLS\r\n" if self.server.starttls and not self.tls else ""
                self.say(f"250-localhost\r\n{offer}250 8BITMIME")
            elif verb == "STARTTLS" and not self.tls:
                self.say("220 go ahead")
                if not self.start_tls():
                    return
                self.reader = self.sock.makefile("rb")
            elif verb == "DATA":
                self.say("354 end with .")
                self.server.messages.append(self.read_data())
                self.say("250 queued")
            elif verb == "QUIT":
                self.say("221 bye")
                return
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                self.say("250 ok")
            else:
                self.say("502 not here")

    def say(self, text: str) -> None:
        self.sock.sendall(text.encode("ascii") + b"\r\n")

    def start_tls(self) -> bool:
        try:
            self.sock = self.server.context.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as error:  # the client refused the certificate
            self.server.refused.append(type(error).__name__)
            return False
        self.tls = True
        return True

    def read_data(self) -> bytes:
        lines = []
        while (line := self.reader.readline()) not in (b".\r\n", b""):
            lines.append(line)
        return b"".join(lines)


class SMTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(certificate, implicit: bool, starttls: bool = True):
    server = SMTPServer(("127.0.0.1", 0), SMTPHandler)
    server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.context.load_cert_chain(*certificate)
    server.implicit, server.starttls = implicit, starttls
    server.messages, server.refused = [], []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def starttls_server(certificate):
    server = serve(certificate, implicit=False)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def implicit_server(certificate):
    server = serve(certificate, implicit=True)
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def plain_server(certificate):
    server = serve(certificate, implicit=False, starttls=False)
    yield server
    server.shutdown()
    server.server_close()


def queued_request(site_dir, tmp_path, server, **settings):
    """An app sending to `server`, and a support request whose confirmation is in the outbox."""
    config = {
        "PORTAL_SMTP_HOST": "localhost",
        "PORTAL_SMTP_PORT": str(server.server_address[1]),
        "PORTAL_SMTP_FROM": FROM,
        **settings,
    }
    app = make_app(tmp_path, **config)
    db = sqlite_utils.Database(app.config["PORTAL_DB"])
    with app.test_request_context():
        receipt = queue.submit(
            db,
            kind=lifecycle.Kind.ASSISTANCE,
            lang="en",
            fields={"full_name": "Fatima", "email": "fatima@example.com"},
        )
    return app, db, receipt.reference


def outbox_row(db) -> dict:
    (row,) = db["outbox"].rows
    return row


def send(db, config, minute: int) -> int:
    """`portal outbox send` at the given minute after now (a retry waits a minute or more)."""
    later = clock.now_utc() + dt.timedelta(minutes=minute)
    return outbox.send_due(db, config, now=later)["sent"]


def test_an_untrusted_certificate_is_refused_and_the_mail_waits(
    site_dir, tmp_path, starttls_server
):
    app, db, reference = queued_request(site_dir, tmp_path, starttls_server)
    assert send(db, app.config, 0) == 0
    assert starttls_server.messages == [] and starttls_server.refused
    row = outbox_row(db)
    assert row["sent_at"] is None and row["attempts"] == 1
    assert row["to_addr"] == "fatima@example.com" and reference in row["body"].replace("-", "")
    assert row["last_error"].startswith("SSLCertVerificationError")


def test_the_certificate_trusted_through_the_ca_file_is_sent(
    site_dir, tmp_path, starttls_server, certificate
):
    app, db, reference = queued_request(site_dir, tmp_path, starttls_server)
    assert send(db, app.config, 0) == 0  # not trusted yet: waits
    trusted = {**app.config, "PORTAL_SMTP_CA_FILE": certificate[0]}
    assert send(db, trusted, 2) == 1  # after its back-off
    (message,) = starttls_server.messages
    assert b"fatima@example.com" in message and reference.encode() in message.replace(b"-", b"")
    row = outbox_row(db)
    assert row["sent_at"] and row["attempts"] == 2 and row["to_addr"] == ""


def test_a_trusted_certificate_for_another_host_name_is_refused(
    site_dir, tmp_path, starttls_server, certificate
):
    # The certificate names `localhost`; the portal is told 127.0.0.1.
    app, db, _ = queued_request(
        site_dir,
        tmp_path,
        starttls_server,
        PORTAL_SMTP_HOST="127.0.0.1",
        PORTAL_SMTP_CA_FILE=certificate[0],
    )
    assert send(db, app.config, 0) == 0
    assert starttls_server.messages == []
    row = outbox_row(db)
    assert row["sent_at"] is None and row["last_error"].startswith("SSLCertVerificationError")


def test_implicit_tls_checks_the_certificate_too(site_dir, tmp_path, implicit_server, certificate):
    app, db, _ = queued_request(site_dir, tmp_path, implicit_server, PORTAL_SMTP_TLS="implicit")
    assert send(db, app.config, 0) == 0
    assert implicit_server.messages == []
    assert outbox_row(db)["last_error"].startswith("SSLCertVerificationError")
    assert send(db, {**app.config, "PORTAL_SMTP_CA_FILE": certificate[0]}, 2) == 1
    assert len(implicit_server.messages) == 1 and outbox_row(db)["sent_at"]


def test_a_server_without_starttls_gets_nothing_in_plain_text(site_dir, tmp_path, plain_server):
    app, db, _ = queued_request(site_dir, tmp_path, plain_server)
    assert send(db, app.config, 0) == 0
    assert plain_server.messages == []
    assert outbox_row(db)["last_error"] == "SMTPNotSupportedError"
