"""The sender: what waits in the outbox goes out by SMS or e-mail, after the request.

`send_due` (run by `portal outbox send`, or every 30 s by `portal outbox send --loop` under
systemd) takes one due row at a time and:

1. claims it: one short transaction, `UPDATE … SET status = 'sending', claimed_by = <this
   sender's token> … WHERE id = (the oldest due row that nobody holds) RETURNING …`, so that
   several senders (threads, processes, machines on one database) never take the same row;
2. sends it (sms.send, or SMTP over verified TLS through mail.py);
3. records the result at once, in its own short transaction, with an event on the case
   (`notification_sent` / `notification_failed`, channel and message kind only: never the
   address or the text): sent (the address and the text are then cleared), or waiting again
   after a back-off of 1 min, 5 min, 30 min, 2 h, 12 h, or failed (a refusal that a retry
   cannot change — SmsError.retry False, a bad number, a mailbox refused — or the last
   back-off spent).

A claim holds for CLAIM_SECONDS (10 minutes: far longer than one send, whose timeouts are
seconds). A claim older than that was abandoned: the sender died between claiming and
recording. Whether the provider accepted the message in that window cannot be known, so:

- SMS is at-most-once: once the connection is open and right before the message goes, the
  row is marked handed over (`handed_at`, its own commit: sms.send's hand-over hook). An
  abandoned SMS claim that was handed over becomes `unknown`, is recorded
  (`notification_unknown`) and is never re-sent automatically; staff see it on the case
  page. A kill between the provider's accept and the record loses the record, never
  doubles the message. The same holds when the message went but no answer came (the answer
  timed out, the connection broke): `unknown`, not retried. A claim abandoned before the
  hand-over, or a failure before it (no connection), never reached the provider: it is
  sent again, so a kill before the message went loses nothing. What stays `unknown` is only
  what may have reached the provider (`make -C bench outbox` measures it under kills).
- E-mail is at-least-once: an abandoned e-mail claim is claimed again and sent again (while
  it has attempts left; then `unknown`). A kill in the same window can deliver an e-mail
  twice, with the same Message-ID (one per row), so the recipient's mail system shows it
  once; one that never left is not lost.

The window is one HTTP request or SMTP session long, and the record follows the send at
once. Stopping the loop (SIGTERM) finishes the row in hand first. Any error other than a
provider's or the network's leaves the claim in place, settled like a kill.
"""

import datetime as dt
import logging
import os
import secrets
import smtplib
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from typing import Any

from . import mail, sms
from .clock import iso, now_utc
from .db import Database, immediate
from .events import Event, record
from .notify import CHANNEL_LABELS, KIND_LABELS, STATUS_LABELS

log = logging.getLogger(__name__)

CLAIM_SECONDS = 600
BACKOFF_SECONDS = (60, 300, 1800, 7200, 43200)  # after the 1st … 5th failed attempt
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
ACTOR = "outbox"  # who the events name
ERROR_CHARS = 300
ABANDONED = "abandoned: the sender stopped between claiming and recording; it may have been sent"
_FIELDS = ("id", "submission_id", "channel", "to_addr", "subject", "body", "message_kind")


def new_sender_id() -> str:
    """This sender's claim token: the process and a random part (never reused)."""
    return f"{os.getpid()}-{secrets.token_hex(6)}"


def _clock(now: dt.datetime | None) -> Callable[[], str]:
    """The time as stored (ISO, UTC, whole seconds): the one given, or the real clock."""
    if now is not None:
        fixed = iso(now.astimezone(dt.UTC).replace(microsecond=0))
        return lambda: fixed
    return lambda: iso(now_utc())


def _later(moment: str, seconds: int) -> str:
    """`moment` (stored ISO) plus some seconds, stored the same way."""
    start = dt.datetime.fromisoformat(moment.replace("Z", "+00:00"))
    return iso(start + dt.timedelta(seconds=seconds))


def _earlier(moment: str, seconds: int) -> str:
    return _later(moment, -seconds)


def channels(config: Mapping[str, Any]) -> list[str]:
    """The channels this sender can send on. A setting that is wrong raises ValueError here,
    before any row is touched (rows of a channel that is not set up keep waiting)."""
    ready = []
    if sms.provider(config) is not None:
        ready.append("sms")
    if mail.enabled(config):
        mail.tls_mode(config)
        ready.append("email")
    return ready


# ---------------------------------------------------------------- claim


def claim(
    db: Database, ready: list[str], sender: str, now: str, *, claim_seconds: int = CLAIM_SECONDS
) -> dict | None:
    """Take the oldest due row of these channels for `sender` (status 'sending'), or None.

    Due: waiting and past its back-off, or a claim abandoned with attempts left: an e-mail's
    (at least once), or an SMS's never handed over (it never reached the provider). An SMS
    handed over is settled by settle_abandoned, never taken again."""
    if not ready:
        return None
    marks = ",".join("?" * len(ready))
    with immediate(db):
        found = db.execute(
            "UPDATE outbox SET status = 'sending', claimed_by = ?, claimed_at = ?, "  # noqa: S608
            "handed_at = NULL, attempts = attempts + 1 WHERE id = (SELECT id FROM outbox "
            f"WHERE channel IN ({marks}) AND ("
            "(status = 'waiting' AND (next_attempt_at IS NULL OR next_attempt_at <= ?)) "
            "OR (status = 'sending' AND (channel = 'email' OR handed_at IS NULL) "
            "AND claimed_at <= ? AND attempts < ?)) "
            "ORDER BY coalesce(next_attempt_at, created_at), id LIMIT 1) "
            f"RETURNING {', '.join(_FIELDS)}, attempts",
            [sender, now, *ready, now, _earlier(now, claim_seconds), MAX_ATTEMPTS],
        ).fetchone()
    return dict(zip((*_FIELDS, "attempts"), found, strict=True)) if found else None


def settle_abandoned(db: Database, now: str, *, claim_seconds: int = CLAIM_SECONDS) -> int:
    """Claims older than the claim time that will not be taken again: an SMS handed over (at
    most once), and any message that has had all its attempts. They become `unknown`,
    recorded."""
    with immediate(db):
        rows = db.execute(
            "UPDATE outbox SET status = 'unknown', claimed_by = NULL, to_addr = '', body = '', "
            "last_error = ? WHERE status = 'sending' AND claimed_at <= ? "
            "AND ((channel = 'sms' AND handed_at IS NOT NULL) OR attempts >= ?) "
            "RETURNING submission_id, channel, message_kind",
            [ABANDONED, _earlier(now, claim_seconds), MAX_ATTEMPTS],
        ).fetchall()
        for submission_id, channel, message_kind in rows:
            _event(db, "notification_unknown", submission_id, channel, message_kind, now)
    return len(rows)


# ---------------------------------------------------------------- send


def message_id(sender_address: str, row: Mapping[str, Any]) -> str:
    """The e-mail's Message-ID: one per outbox row, the same on every attempt, so that an
    e-mail sent again after a kill (at least once, above) is the same message to the
    recipient's mail system, which shows it once."""
    domain = sender_address.rpartition("@")[2].strip(" <>") or "localhost"
    return f"<outbox.{row['id']}.{row['submission_id']}@{domain}>"


def _email(config: Mapping[str, Any], row: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender_address = (
        config.get("PORTAL_SMTP_FROM") or config.get("PORTAL_SMTP_USER") or "no-reply@localhost"
    )
    message["To"] = row["to_addr"]
    message["Message-ID"] = message_id(str(sender_address), row)
    message["Subject"] = row["subject"]
    message.set_content(row["body"])
    return message


def deliver(config: Mapping[str, Any], row: dict, hand_over: sms.HandOver | None = None) -> str:
    """Hand one row to its provider; the provider's message id ("" if none). Raises SmsError,
    ValueError, OSError or SMTPException when it was not accepted; for an SMS, `hand_over`
    is called right before the message goes (sms.NotHandedOver if it says no)."""
    if row["channel"] == "sms":
        return sms.send(config, row["to_addr"], row["body"], hand_over=hand_over)
    mail.send(config, mail.tls_mode(config), _email(config, row))
    return ""


def _mailbox_refused(error: Exception) -> bool:
    """An SMTP refusal of the address itself (5xx for every recipient): no retry helps."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return False


def _failure(error: Exception) -> tuple[str, bool]:
    """What went wrong (for last_error: never the address or the text) and whether final."""
    if isinstance(error, sms.SmsError):
        return f"{error.kind}: {error}", not error.retry
    # A bad number or an empty text is the same every time. A certificate the server shows is
    # an OSError too (ssl.SSLCertVerificationError is both): retried, once trusted it goes.
    if isinstance(error, ValueError) and not isinstance(error, OSError):
        return f"ValueError: {error}", True
    return mail.error_text(error), _mailbox_refused(error)


def _maybe_sent(error: Exception) -> bool:
    """An SMS the provider may have taken though no answer said so: the request went, then
    the answer timed out or the connection broke (sms.py says which phase in its words)."""
    if not isinstance(error, sms.SmsError):
        return False
    text = str(error)
    timed_out = error.kind == "timeout" and "answering" in text
    return timed_out or (error.kind == "unreachable" and "connection broke" in text)


def _event(
    db: Database, action: str, submission_id: int | None, channel: str, kind: str, now: str
) -> None:
    at = dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
    detail = {"channel": channel, "kind": kind}
    record(db, Event(action, ACTOR, submission_id, detail=detail), at)


# What an ended row no longer keeps: the address and the text.
_FORGET = "to_addr = '', body = ''"


def _record(
    db: Database, row: dict, sender: str, changes: str, values: list, action: str, now: str
) -> bool:
    """Apply an outcome (`changes`: constant SQL with ? for `values`) to a row this sender
    still holds, with its event, in one short transaction; whether it did."""
    with immediate(db):
        changed = db.execute(
            f"UPDATE outbox SET {changes}, claimed_by = NULL WHERE id = ? AND claimed_by = ?",  # noqa: S608
            [*values, row["id"], sender],
        ).rowcount
        if changed:
            _event(db, action, row["submission_id"], row["channel"], row["message_kind"], now)
    return bool(changed)


def mark_sent(db: Database, row: dict, sender: str, provider_id: str, now: str) -> None:
    """Sent: recorded at once, the address and the text no longer kept."""
    changes = f"status = 'sent', sent_at = ?, provider_id = ?, last_error = NULL, {_FORGET}"
    if not _record(db, row, sender, changes, [now, provider_id or None], "notification_sent", now):
        log.warning("outbox message %s was sent after its claim was taken over", row["id"])


def mark_failed(db: Database, row: dict, sender: str, error: str, final: bool, now: str) -> str:
    """Not sent: waiting again after its back-off, or failed (final, or no back-off left).
    Returns "failed" or "retrying"."""
    final = final or row["attempts"] >= MAX_ATTEMPTS
    if final:
        changes, values = f"status = 'failed', last_error = ?, {_FORGET}", [error[:ERROR_CHARS]]
    else:
        retry_at = _later(now, BACKOFF_SECONDS[row["attempts"] - 1])
        changes = "status = 'waiting', last_error = ?, next_attempt_at = ?, claimed_at = NULL"
        values = [error[:ERROR_CHARS], retry_at]
    _record(db, row, sender, changes, values, "notification_failed", now)
    log.warning("outbox message %s (%s) not sent: %s", row["id"], row["channel"], error)
    return "failed" if final else "retrying"


def mark_unknown(db: Database, row: dict, sender: str, error: str, now: str) -> str:
    """Maybe sent (no answer after the request went): `unknown`, recorded, never retried."""
    changes = f"status = 'unknown', last_error = ?, {_FORGET}"
    _record(db, row, sender, changes, [error[:ERROR_CHARS]], "notification_unknown", now)
    log.warning(
        "outbox message %s (%s) may not have been sent: %s", row["id"], row["channel"], error
    )
    return "unknown"


def hand_over(db: Database, row: dict, sender: str, now: str) -> bool:
    """Mark an SMS as handed to its provider (committed before the request goes): from now
    on it may have been sent, and is never claimed again. False if this sender no longer
    holds the row."""
    with immediate(db):
        return bool(
            db.execute(
                "UPDATE outbox SET handed_at = ? WHERE id = ? AND claimed_by = ? "
                "AND status = 'sending'",
                [now, row["id"], sender],
            ).rowcount
        )


def send_one(
    db: Database, config: Mapping[str, Any], row: dict, sender: str, clock: Callable[[], str]
) -> str:
    """Send a claimed row and record the result: "sent", "retrying", "failed" or "unknown".
    Any other error leaves the claim in place, to be settled like a kill (see above)."""
    handed = False

    def handing_over() -> bool:  # the connection is open, the message about to go
        nonlocal handed
        handed = hand_over(db, row, sender, clock())
        return handed

    try:
        provider_id = deliver(config, row, handing_over if row["channel"] == "sms" else None)
    except sms.NotHandedOver:
        return "retrying"  # the claim was taken over meanwhile: the other sender has it
    except (sms.SmsError, ValueError, OSError, smtplib.SMTPException) as error:
        text, final = _failure(error)
        if handed and _maybe_sent(error):  # it went, and no answer said what became of it
            return mark_unknown(db, row, sender, text, clock())
        return mark_failed(db, row, sender, text, final, clock())
    mark_sent(db, row, sender, provider_id, clock())
    return "sent"


def send_due(
    db: Database,
    config: Mapping[str, Any],
    *,
    limit: int = 100,
    now: dt.datetime | None = None,
    sender: str | None = None,
    stop: Callable[[], bool] | None = None,
) -> dict[str, int]:
    """Send what is due, one row at a time, at most `limit`; the counts of what happened
    (sent, retrying, failed, unknown). `now` fixes the clock (tests); `stop` is asked
    between rows (the loop's SIGTERM)."""
    clock = _clock(now)
    sender = sender or new_sender_id()
    ready = channels(config)
    counts = {"sent": 0, "retrying": 0, "failed": 0, "unknown": settle_abandoned(db, clock())}
    for _ in range(limit):
        if stop is not None and stop():
            break
        row = claim(db, ready, sender, clock())
        if row is None:
            break
        counts[send_one(db, config, row, sender, clock)] += 1
    return counts


# ---------------------------------------------------------------- for staff


def of_case(db: Database, submission_id: int) -> list[dict]:
    """The messages of one case, oldest first, in words (no address, no text)."""
    rows = db.execute(
        "SELECT id, channel, message_kind, status, created_at, sent_at, attempts "
        "FROM outbox WHERE submission_id = ? ORDER BY id",
        [submission_id],
    ).fetchall()
    names = ("id", "channel", "message_kind", "status", "created_at", "sent_at", "attempts")
    found = [dict(zip(names, row, strict=True)) for row in rows]
    for item in found:
        item["channel_label"] = str(CHANNEL_LABELS.get(item["channel"], item["channel"]))
        item["kind_label"] = str(KIND_LABELS.get(item["message_kind"], item["message_kind"]))
        item["status_label"] = str(STATUS_LABELS.get(item["status"], item["status"]))
    return found
