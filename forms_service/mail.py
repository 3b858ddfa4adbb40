"""Confirmation e-mails: written to the outbox with the submission, sent after it commits.

A mail failure never loses or blocks a submission: the row stays in the outbox for
`portal outbox send` (run it from cron) to retry.

Mail goes over TLS whose certificate is checked: the system's trusted authorities, or the
one in PORTAL_SMTP_CA_FILE (a server with a private or self-signed certificate). STARTTLS on
the submission port (587), or TLS from the first byte on port 465 (PORTAL_SMTP_TLS=implicit
on another port). PORTAL_SMTP_TLS=off is for a relay on this machine only.
"""

import contextlib
import ipaddress
import logging
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

from flask_babel import gettext

from .clock import iso, now_utc
from .db import Database
from .identifiers import format_reference

log = logging.getLogger(__name__)

TLS_MODES = ("starttls", "implicit", "off")
TIMEOUT_SECONDS = 10


def enabled(config: Mapping[str, Any]) -> bool:
    return bool(config.get("PORTAL_SMTP_HOST"))


def _port(config: Mapping[str, Any]) -> int:
    return int(config.get("PORTAL_SMTP_PORT") or 587)


def _loopback(host: str) -> bool:
    """Whether the mail server is this machine (where plain text never crosses a network)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def tls_mode(config: Mapping[str, Any]) -> str:
    """PORTAL_SMTP_TLS, or what the port implies: 465 implicit TLS, any other STARTTLS."""
    mode = str(config.get("PORTAL_SMTP_TLS") or "").strip().lower()
    mode = mode or ("implicit" if _port(config) == 465 else "starttls")
    if mode not in TLS_MODES:
        raise ValueError(f"PORTAL_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {mode!r}")
    if mode == "off" and not _loopback(config["PORTAL_SMTP_HOST"]):
        raise ValueError("PORTAL_SMTP_TLS=off is only for a relay on this machine (localhost)")
    return mode


def tls_context(config: Mapping[str, Any]) -> ssl.SSLContext:
    """Certificates checked, host name included: the system's authorities, or only the
    certificate(s) in PORTAL_SMTP_CA_FILE when it is set."""
    return ssl.create_default_context(cafile=config.get("PORTAL_SMTP_CA_FILE") or None)


def _connect(config: Mapping[str, Any], mode: str) -> smtplib.SMTP:
    """An SMTP session ready for login and sending: over TLS unless mode is "off"."""
    host, port = config["PORTAL_SMTP_HOST"], _port(config)
    if mode == "implicit":
        return smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=tls_context(config))
    smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
    try:
        if mode == "starttls":  # no STARTTLS offered: SMTPNotSupportedError, never plain text
            smtp.starttls(context=tls_context(config))
    except BaseException:
        smtp.close()
        raise
    return smtp


def _send(config: Mapping[str, Any], mode: str, message: EmailMessage) -> None:
    """Deliver one message; raise (OSError, SMTPException) if it was not accepted."""
    smtp = _connect(config, mode)
    try:
        if config.get("PORTAL_SMTP_USER"):
            smtp.login(config["PORTAL_SMTP_USER"], config.get("PORTAL_SMTP_PASSWORD", ""))
        smtp.send_message(message)
        with contextlib.suppress(OSError, smtplib.SMTPException):
            smtp.quit()  # accepted already: a lost goodbye does not unsend it
    finally:
        smtp.close()


def _error_text(error: Exception) -> str:
    """What went wrong, for the outbox row and the log: the kind, and a certificate's reason."""
    name = type(error).__name__
    reason = getattr(error, "verify_message", None)
    return f"{name}: {reason}" if reason else name


def confirmation(fields: dict, lang: str, config: Mapping[str, Any]) -> dict | None:
    """The outbox row for a confirmation e-mail, or None (no address or no SMTP)."""
    if not fields.get("email") or not enabled(config):
        return None
    return {
        "to_addr": fields["email"],
        "subject": gettext("Your support request was received"),
        "body": gettext(
            "We received your support request. Keep your reference number to check where "
            "it stands at the status page, with the mobile number you gave.\n\n"
            "The research committee studies each request and answers acceptance or "
            "rejection within a period of not less than two weeks."
        ),
    }


def send_pending(db: Database, config: Mapping[str, Any], limit: int = 20) -> int:
    """Send what waits in the outbox; return how many were sent."""
    if not enabled(config):
        return 0
    mode = tls_mode(config)  # a wrong setting: raise before touching any row
    sent = 0
    rows = db.execute(
        "SELECT o.id, o.to_addr, o.subject, o.body, s.reference FROM outbox o "
        "LEFT JOIN submissions s ON s.id = o.submission_id "
        "WHERE o.channel = 'email' AND o.sent_at IS NULL AND o.attempts < 5 "
        "ORDER BY o.id LIMIT ?",
        [limit],
    ).fetchall()
    for outbox_id, to_addr, subject, body, reference in rows:
        message = EmailMessage()
        message["From"] = (
            config.get("PORTAL_SMTP_FROM") or config.get("PORTAL_SMTP_USER") or "no-reply@localhost"
        )
        message["To"] = to_addr
        message["Subject"] = f"{subject} — {format_reference(reference)}" if reference else subject
        message.set_content(body + (f"\n\n{format_reference(reference)}" if reference else ""))
        try:
            _send(config, mode, message)
        except (OSError, smtplib.SMTPException) as error:  # ssl.SSLError is an OSError
            # Not sent: the row stays, with the error, for the next `portal outbox send`.
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [_error_text(error), outbox_id],
            )
            db.conn.commit()
            log.warning("outbox message %s not sent: %s", outbox_id, _error_text(error))
            continue
        # Sent: the address and the text are not kept any longer.
        db.execute(
            "UPDATE outbox SET sent_at = ?, attempts = attempts + 1, to_addr = '', body = '' "
            "WHERE id = ?",
            [iso(now_utc()), outbox_id],
        )
        db.conn.commit()
        sent += 1
    return sent


def send_pending_quietly(db: Database, config: Mapping[str, Any]) -> None:
    try:
        send_pending(db, config, limit=1)
    except Exception:  # a mail problem must never turn a stored submission into an error page
        log.exception("outbox: sending failed")
