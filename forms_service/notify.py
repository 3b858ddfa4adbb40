"""Messages to the applicant: which event causes which message, its words in the request's
language, and the outbox rows that carry it.

The rows are written in the transaction of the event that causes them (`queue.submit` and
`queue.transition` call `after_submit` / `after_transition`), and sent later by
`outbox.send_due` (`portal outbox send`), never inside the request that commits.

- SMS when SMS is set up (PORTAL_SMS_PROVIDER) and the request has a mobile; e-mail as well
  when it has an e-mail address and SMTP is set up (PORTAL_SMTP_HOST).
- An SMS carries the reference (grouped, K7M-4QX-9T) and a link on PORTAL_PUBLIC_URL (the
  status page; for "served", the satisfaction survey with the reference filled in), and
  never a name, an ID, a number or the words staff typed: the status page shows those to
  whoever knows the reference and the mobile. Every SMS fits two Arabic segments (134
  characters) with a public address of up to MAX_PUBLIC_URL characters.
- All of them are transactional (about the person's own request), none is marketing.
"""

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from flask import current_app, has_app_context
from flask_babel import force_locale, gettext
from flask_babel import lazy_gettext as _l

from . import choices, mail, sms
from .clock import iso
from .db import Database, insert
from .facts import facts
from .identifiers import format_reference
from .lifecycle import Kind, State

# Every kind of message the outbox carries (the migration's CHECK lists the same).
MESSAGE_KINDS = (
    "received",
    "needs_info",
    "accepted",
    "rejected",
    "registered",
    "served",
    "volunteer_received",
    "volunteer_accepted",
    "test",
)
CHANNELS = ("sms", "email")
SMS_SEGMENTS = 2
MAX_PUBLIC_URL = 40  # characters: every SMS fits SMS_SEGMENTS with an address this long

ON_SUBMIT: dict[Kind, str] = {Kind.ASSISTANCE: "received", Kind.VOLUNTEER: "volunteer_received"}
ON_TRANSITION: dict[tuple[Kind, State], str] = {
    (Kind.ASSISTANCE, State.NEEDS_INFO): "needs_info",
    (Kind.ASSISTANCE, State.ACCEPTED): "accepted",
    (Kind.ASSISTANCE, State.REJECTED): "rejected",
    (Kind.ASSISTANCE, State.REGISTERED): "registered",
    (Kind.ASSISTANCE, State.SERVED): "served",
    (Kind.VOLUNTEER, State.ACCEPTED): "volunteer_accepted",
}

# ---------------------------------------------------------------- the words

# SMS: short, no personal data, the reference and one link (kept ASCII-only in English so
# that an English SMS stays in the GSM alphabet: 160 characters a segment).
SMS_TEXTS = {
    "received": _l(
        "We received your support request. Reference: %(reference)s. See where it stands: %(link)s"
    ),
    "needs_info": _l(
        "Your request %(reference)s needs more information. Please see the status page: %(link)s"
    ),
    "accepted": _l("The research committee accepted your request %(reference)s. Details: %(link)s"),
    "rejected": _l(
        "The research committee did not accept your request %(reference)s. Details: %(link)s"
    ),
    "registered": _l(
        "Your registration with the association is complete (request %(reference)s). "
        "Details: %(link)s"
    ),
    "served": _l(
        "The service for your request %(reference)s was provided. Please rate it: %(link)s"
    ),
    "volunteer_received": _l(
        "We received your volunteer sign-up. Reference: %(reference)s. "
        "See where it stands: %(link)s"
    ),
    "volunteer_accepted": _l(
        "Your volunteer sign-up %(reference)s was accepted; we will contact you. Details: %(link)s"
    ),
}

EMAIL_SUBJECTS = {
    "received": _l("Your support request was received"),
    "needs_info": _l("More information is needed for your request"),
    "accepted": _l("Your request was accepted"),
    "rejected": _l("The research committee's decision on your request"),
    "registered": _l("Your registration is complete"),
    "served": _l("Please rate the service you received"),
    "volunteer_received": _l("Your volunteer sign-up was received"),
    "volunteer_accepted": _l("Your volunteer sign-up was accepted"),
}

EMAIL_BODIES = {
    "received": _l(
        "We received your support request. Keep your reference number to check where "
        "it stands at the status page, with the mobile number you gave.\n\n"
        "The research committee studies each request and answers acceptance or "
        "rejection within a period of not less than two weeks."
    ),
    "needs_info": _l(
        "The association needs more information to go on with your request. Open the status "
        "page with your reference number and the mobile number you gave to read what is "
        "needed and to answer."
    ),
    "accepted": _l(
        "The research committee accepted your support request. The association will contact "
        "you about the next steps."
    ),
    "rejected": _l(
        "The research committee studied your support request and did not accept it. You may "
        "contact the association with any question about this decision."
    ),
    "registered": _l(
        "Your registration with the association is complete. The status page shows where "
        "your request stands."
    ),
    "served": _l(
        "The service for your request was provided. Please tell us how we did: the "
        "satisfaction survey takes a minute, and your reference number is already filled in. "
        "Ratings are for improvement, and you may leave your name out."
    ),
    "volunteer_received": _l(
        "Thank you for signing up to volunteer with the association. We will contact you; keep "
        "your reference number to check where your sign-up stands at the status page, with "
        "the mobile number you gave."
    ),
    "volunteer_accepted": _l(
        "Thank you: the association accepted your volunteer sign-up and will contact you about "
        "the next steps."
    ),
}

# For staff: what each message was about, by channel and state (the case page).
KIND_LABELS = {
    "received": _l("Request received"),
    "needs_info": _l("More information needed"),
    "accepted": _l("Accepted"),
    "rejected": _l("Not accepted"),
    "registered": _l("Registered"),
    "served": _l("Service provided, with the survey"),
    "volunteer_received": _l("Volunteer sign-up received"),
    "volunteer_accepted": _l("Volunteer sign-up accepted"),
    "test": _l("Test message"),
}
CHANNEL_LABELS = {"sms": _l("SMS"), "email": _l("E-mail")}
STATUS_LABELS = {
    "waiting": _l("Waiting"),
    "sending": _l("Being sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
    "unknown": _l("Unknown: it may or may not have been sent"),
}


# ---------------------------------------------------------------- addresses


def status_url(public_url: str, lang: str) -> str:
    """The status page in the request's language: {PUBLIC_URL}/forms/status/ or /en/…."""
    prefix = "/en" if lang == "en" else ""
    return f"{public_url.rstrip('/')}{prefix}/forms/status/"


def survey_url(public_url: str, lang: str, reference: str) -> str:
    """The satisfaction survey with the reference filled in (the form reads ?reference=)."""
    prefix = "/en" if lang == "en" else ""
    return f"{public_url.rstrip('/')}{prefix}/forms/feedback/?reference={reference}"


def _link(message_kind: str, public_url: str, lang: str, reference: str) -> str:
    if message_kind == "served":
        return survey_url(public_url, lang, reference)
    return status_url(public_url, lang)


# ---------------------------------------------------------------- texts


def sms_text(message_kind: str, reference: str, lang: str, public_url: str) -> str:
    """The SMS for this message, in `lang` (call inside an app context for the Arabic)."""
    with force_locale(lang):
        template = str(SMS_TEXTS[message_kind])
    link = _link(message_kind, public_url, lang, reference)
    return template % {"reference": format_reference(reference), "link": link}


# The one-time code for answering online: sent at once (not through the outbox), never kept.
CODE_TEXT = _l(
    "Jamoum Orphan Care Association: your code is %(code)s. It works for 10 minutes. "
    "Do not give it to anyone."
)


def code_text(code: str, lang: str) -> str:
    with force_locale(lang):
        return str(CODE_TEXT) % {"code": code}


def _asked(missing: Sequence[str]) -> str:
    """The documents asked for, one a line, in the words of the request form (fixed words:
    never what staff typed)."""
    if not missing:
        return ""
    lines = (f"- {choices.label(choices.DOCUMENT_KIND, kind)}" for kind in missing)
    return gettext("The documents asked for:") + "\n" + "\n".join(lines)


def email_text(
    message_kind: str, reference: str, lang: str, public_url: str, missing: Sequence[str] = ()
) -> tuple[str, str]:
    """The e-mail's subject and body for this message, in `lang`; for "needs_info", the
    documents asked for (`missing`) by name."""
    link = _link(message_kind, public_url, lang, reference)
    grouped = format_reference(reference)
    with force_locale(lang):
        subject = f"{EMAIL_SUBJECTS[message_kind]} — {grouped}"
        where = (
            gettext("The satisfaction survey: %(link)s", link=link)
            if message_kind == "served"
            else gettext("The status page: %(link)s", link=link)
        )
        asked = _asked(missing) if message_kind == "needs_info" else ""
        body = "\n\n".join(
            part
            for part in (
                str(EMAIL_BODIES[message_kind]),
                asked,
                gettext("Your reference number: %(reference)s", reference=grouped) + "\n" + where,
                str(facts()["name"][lang]),
            )
            if part
        )
    return subject, body


# ---------------------------------------------------------------- the outbox rows


def settings(config: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The settings given, or the running app's; None (no messages) outside an app."""
    if config is not None:
        return config
    return current_app.config if has_app_context() else None


def rows_for(
    submission: Mapping[str, Any],
    message_kind: str,
    config: Mapping[str, Any],
    *,
    email: bool = True,
) -> list[dict]:
    """The outbox rows (without ids and times) for one message to this request's applicant:
    an SMS when SMS is set up and there is a mobile, an e-mail when SMTP is set up and there
    is an address (and `email`)."""
    lang = submission["lang"] if submission["lang"] in ("ar", "en") else "ar"
    reference, public_url = submission["reference"], str(config.get("PORTAL_PUBLIC_URL") or "")
    common = {
        "submission_id": submission["id"],
        "message_kind": message_kind,
        "lang": lang,
        "subject": "",
    }
    rows = []
    if submission.get("mobile") and sms.enabled(config):
        text = sms_text(message_kind, reference, lang, public_url)
        rows.append({**common, "channel": "sms", "to_addr": submission["mobile"], "body": text})
    if email and submission.get("email") and mail.enabled(config):
        missing = json.loads(submission.get("missing_documents") or "[]")
        subject, body = email_text(message_kind, reference, lang, public_url, missing)
        rows.append(
            {
                **common,
                "channel": "email",
                "to_addr": submission["email"],
                "subject": subject,
                "body": body,
            }
        )
    return rows


def enqueue(
    db: Database,
    submission_id: int,
    message_kind: str,
    config: Mapping[str, Any] | None,
    at: dt.datetime,
    *,
    email: bool = True,
) -> int:
    """Write the rows of one message into the outbox (inside the caller's transaction);
    return how many. Nothing is sent here."""
    config = settings(config)
    if config is None:
        return 0
    columns = ("id", "reference", "lang", "mobile", "email", "missing_documents")
    found = db.execute(
        f"SELECT {', '.join(columns)} FROM submissions WHERE id = ?",  # noqa: S608
        [submission_id],
    ).fetchone()
    if found is None:
        return 0
    submission = dict(zip(columns, found, strict=True))
    rows = rows_for(submission, message_kind, config, email=email)
    for row in rows:
        insert(db, "outbox", {**row, "created_at": iso(at), "status": "waiting"})
    return len(rows)


def after_submit(
    db: Database,
    submission_id: int,
    kind: Kind | str,
    config: Mapping[str, Any] | None,
    at: dt.datetime,
    *,
    email: bool = True,
) -> int:
    """The "received" message of a new request (none for feedback)."""
    message_kind = ON_SUBMIT.get(Kind(kind))
    if message_kind is None:
        return 0
    return enqueue(db, submission_id, message_kind, config, at, email=email)


def after_transition(
    db: Database,
    submission_id: int,
    kind: Kind | str,
    target: State | str,
    config: Mapping[str, Any] | None,
    at: dt.datetime,
) -> int:
    """The message a move causes, if it causes one (needs_info, the decision, registered,
    served; a volunteer accepted)."""
    message_kind = ON_TRANSITION.get((Kind(kind), State(target)))
    if message_kind is None:
        return 0
    return enqueue(db, submission_id, message_kind, config, at)
