"""Confirmation e-mails: written to the outbox with the submission, sent after it commits.

A mail failure never loses or blocks a submission: the row stays in the outbox for
`portal outbox send` (run it from cron) to retry.
"""

import logging
import smtplib
from email.message import EmailMessage

from flask_babel import gettext

from .identifiers import format_reference
from .queue import iso, now_utc

log = logging.getLogger(__name__)


def enabled(config) -> bool:
    return bool(config.get("PORTAL_SMTP_HOST"))


def confirmation(fields: dict, lang: str, config) -> dict | None:
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


def send_pending(db, config, limit: int = 20) -> int:
    """Send what waits in the outbox; return how many were sent."""
    if not enabled(config):
        return 0
    sent = 0
    rows = db.execute(
        "SELECT o.id, o.to_addr, o.subject, o.body, s.reference FROM outbox o "
        "LEFT JOIN submissions s ON s.id = o.submission_id "
        "WHERE o.sent_at IS NULL AND o.attempts < 5 ORDER BY o.id LIMIT ?",
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
            with smtplib.SMTP(
                config["PORTAL_SMTP_HOST"], int(config.get("PORTAL_SMTP_PORT", 587)), timeout=10
            ) as smtp:
                if config.get("PORTAL_SMTP_STARTTLS", True):
                    smtp.starttls()
                if config.get("PORTAL_SMTP_USER"):
                    smtp.login(config["PORTAL_SMTP_USER"], config.get("PORTAL_SMTP_PASSWORD", ""))
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as error:
            db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [type(error).__name__, outbox_id],
            )
            db.conn.commit()
            log.warning("outbox message %s not sent: %s", outbox_id, type(error).__name__)
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


def send_pending_quietly(db, config) -> None:
    try:
        send_pending(db, config, limit=1)
    except Exception:  # a mail problem must never turn a stored submission into an error page
        log.exception("outbox: sending failed")
