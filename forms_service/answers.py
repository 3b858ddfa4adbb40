"""Answering "more information needed" online, without an account.

The applicant looks the request up (reference + mobile). For a case in `needs_info`, the
lookup opens an *access*: a random token in the session, its hash on the server with the
case, a draft that holds the files chosen so far, and, when SMS is set up, a one-time code
sent to the request's mobile that must be typed before anything else is shown (CODE_AGE,
CODE_TRIES; a code is sent at most once every CODE_GAP). Sending the answer attaches the files
to the case, records the reply (an event of its own, apart from staff notes) and makes the
applicant's move `needs_info` → `verifying`, all in one transaction; then every access of
the case ends, so the applicant can answer again only when asked again.
"""

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from . import drafts, notify, queue, sms
from .clock import iso, now_utc, parse
from .db import Database, immediate
from .events import Event, record
from .lifecycle import Role, State

ACCESS_AGE = drafts.ANSWER_ACCESS_AGE  # a lookup may answer for this long
CODE_AGE = dt.timedelta(minutes=10)
CODE_TRIES = 5  # wrong codes before the access ends (look the request up again)
CODE_GAP = dt.timedelta(seconds=60)  # at most one code a minute for one access
CODE_DIGITS = 6
ACTOR = "applicant"  # the events' actor for what the applicant does


@dataclass(frozen=True)
class Access:
    token_hash: str
    submission_id: int
    draft_id: str
    created_at: str
    code_hash: str | None
    code_sent_at: str | None
    code_tries: int
    verified_at: str | None

    @property
    def verified(self) -> bool:
        return self.verified_at is not None


class CodeTooSoon(Exception):
    """A code was sent less than CODE_GAP ago."""


_COLUMNS = (
    "token_hash, submission_id, draft_id, created_at, code_hash, code_sent_at, code_tries, "
    "verified_at"
)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _code_hash(secret: str, token_hash: str, code: str) -> str:
    # Keyed and bound to the access: a copy of the database does not give the code away
    # by trying the million codes against it.
    return hmac.new(secret.encode(), f"{token_hash}\0{code}".encode(), hashlib.sha256).hexdigest()


def open_access(db: Database, submission_id: int, lang: str, *, verified: bool) -> str:
    """A new access for this case; `verified` when no code is asked (SMS is off)."""
    token, draft_id, moment = secrets.token_urlsafe(24), drafts.new_id(), iso(now_utc())
    with immediate(db):
        drafts.save(db, draft_id, lang, [])
        db.execute(
            "INSERT INTO answer_access (token_hash, submission_id, draft_id, created_at, "
            "verified_at) VALUES (?, ?, ?, ?, ?)",
            [_hash(token), submission_id, draft_id, moment, moment if verified else None],
        )
    return token


def get(db: Database, token: object, now: dt.datetime | None = None) -> Access | None:
    """The live access of a token, or None (no token, unknown, or older than ACCESS_AGE)."""
    if not isinstance(token, str) or not token:
        return None
    row = db.execute(
        f"SELECT {_COLUMNS} FROM answer_access WHERE token_hash = ? AND created_at >= ?",  # noqa: S608
        [_hash(token), iso((now or now_utc()) - ACCESS_AGE)],
    ).fetchone()
    return Access(*row) if row else None


def new_code(db: Database, access: Access, secret: str, now: dt.datetime | None = None) -> str:
    """A fresh code for this access (the old one stops working); CodeTooSoon within CODE_GAP."""
    now = now or now_utc()
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    with immediate(db):
        changed = db.execute(
            "UPDATE answer_access SET code_hash = ?, code_sent_at = ?, code_tries = 0 "
            "WHERE token_hash = ? AND (code_sent_at IS NULL OR code_sent_at <= ?)",
            [
                _code_hash(secret, access.token_hash, code),
                iso(now),
                access.token_hash,
                iso(now - CODE_GAP),
            ],
        ).rowcount
        if not changed:
            raise CodeTooSoon
        record(db, Event("answer_code_sent", ACTOR, access.submission_id), now)
    return code


def send_code(
    db: Database, access: Access, row: dict, config: dict, now: dt.datetime | None = None
) -> None:
    """Make a new code and send it at once to the request's mobile, in its language.

    The one message sent inside a request, because the applicant is waiting for it; it never
    goes through the outbox, so the code is never stored as typed. CodeTooSoon within
    CODE_GAP; sms.SmsError (or ValueError) when it could not be sent."""
    code = new_code(db, access, config["SECRET_KEY"], now)
    sms.send(config, row["mobile"], notify.code_text(code, row["lang"]))


def check_code(
    db: Database, access: Access, code: str, secret: str, now: dt.datetime | None = None
) -> str:
    """ "ok" (the access is verified), "wrong", "expired" (ask for a new code) or "spent"
    (CODE_TRIES tries without the right code: the access has ended)."""
    now = now or now_utc()
    with immediate(db):
        row = db.execute(
            "UPDATE answer_access SET code_tries = code_tries + 1 WHERE token_hash = ? "
            "RETURNING code_hash, code_sent_at, code_tries",
            [access.token_hash],
        ).fetchone()
        if row is None:
            return "spent"
        stored, sent_at, tries = row
        live = stored is not None and parse(sent_at) >= now - CODE_AGE
        if live and hmac.compare_digest(stored, _code_hash(secret, access.token_hash, code)):
            db.execute(
                "UPDATE answer_access SET verified_at = ?, code_hash = NULL WHERE token_hash = ?",
                [iso(now), access.token_hash],
            )
            return "ok"
        if tries >= CODE_TRIES:
            _end(db, access)
            record(db, Event("answer_code_spent", ACTOR, access.submission_id), now)
            return "spent"
    return "wrong" if live else "expired"


def _end(db: Database, access: Access) -> None:
    """End one access: its row and its draft. The files chosen in it, now pointed to by no
    row, go with the drafts' sweep (drafts.stray_files)."""
    drafts.discard(db, access.draft_id)
    db.execute("DELETE FROM answer_access WHERE token_hash = ?", [access.token_hash])


def end(db: Database, access: Access) -> None:
    with immediate(db):
        _end(db, access)


def asked(row: dict) -> list[str]:
    """The document kinds a case in needs_info asks for, in the form's order."""
    wanted = set(queue.decode_missing(row))
    return [kind for kind in queue.DOCUMENT_KINDS if kind in wanted]


def answer(db: Database, access: Access, reply: str, *, at: dt.datetime | None = None) -> list[str]:
    """Send the answer: attach the chosen files, record the reply, move the case to
    verifying as the applicant, end every access of the case. Return the kinds attached.

    queue.LostRace when the case is no longer in needs_info (nothing is changed)."""
    at = at or now_utc()
    reply = (reply or "").strip()
    with immediate(db):
        kinds = [
            r[0]
            for r in db.execute(
                "SELECT kind FROM documents WHERE draft_id = ? ORDER BY id", [access.draft_id]
            ).fetchall()
        ]
        queue.transition(
            db,
            access.submission_id,
            State.VERIFYING,
            actor=ACTOR,
            role=Role.APPLICANT,
            expected=State.NEEDS_INFO,
            at=at,
        )
        db.execute(
            "UPDATE documents SET submission_id = ?, draft_id = NULL WHERE draft_id = ?",
            [access.submission_id, access.draft_id],
        )
        record(
            db,
            Event(
                "applicant_reply",
                ACTOR,
                access.submission_id,
                detail={"documents": kinds} | ({"text": reply} if reply else {}),
            ),
            at,
        )
        left = db.execute(
            f"SELECT {_COLUMNS} FROM answer_access WHERE submission_id = ?",  # noqa: S608
            [access.submission_id],
        ).fetchall()
        for row in left:
            _end(db, Access(*row))
    return kinds
