"""Staff accounts: argon2id passwords, server-side sessions, login throttling, TOTP."""

import datetime as dt
import functools
import hashlib
import hmac
import json
import re
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .clock import iso, now_utc
from .db import Database, immediate, insert
from .events import Event, record
from .identifiers import clean_number
from .lifecycle import STAFF_ROLES, Role
from .ratelimit import client_key

MIN_PASSWORD = 12
IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
THROTTLE_WINDOW = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
MAX_CODE_FAILURES = 5  # wrong second-factor codes per account in a throttle window
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps the time of "no such user" equal to "wrong password"."""
    return _hasher.hash(secrets.token_hex(16))


class AccountError(ValueError):
    pass


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---------------------------------------------------------------- accounts


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")


def _staff_role(role: str) -> Role:
    if role not in STAFF_ROLES:
        raise AccountError(f"no such staff role: {role!r}")
    return Role(role)


def add_user(db: Database, username: str, role: str, password: str, *, actor: str) -> None:
    check_password_rules(password)
    _staff_role(role)
    moment = iso(now_utc())
    with immediate(db):
        if db.execute("SELECT 1 FROM staff WHERE username = ?", [username]).fetchone():
            raise AccountError(f"user {username!r} exists")
        insert(
            db,
            "staff",
            {
                "username": username,
                "password_hash": _hasher.hash(password),
                "role": role,
                "active": 1,
                "created_at": moment,
                "password_changed_at": moment,
            },
        )
        record(db, Event("staff_added", actor, detail={"username": username, "role": role}))


def get_user(db: Database, username: str) -> dict | None:
    rows = list(db["staff"].rows_where("username = ?", [username]))
    return rows[0] if rows else None


def users(db: Database) -> list[dict]:
    return list(db["staff"].rows_where(order_by="username"))


def set_password(db: Database, username: str, password: str, *, actor: str) -> None:
    check_password_rules(password)
    with immediate(db):
        changed = db.execute(
            "UPDATE staff SET password_hash = ?, password_changed_at = ? WHERE username = ?",
            [_hasher.hash(password), iso(now_utc()), username],
        ).rowcount
        if not changed:
            raise AccountError(f"no user {username!r}")
        # A new password ends every other session of that user.
        db.execute("DELETE FROM staff_sessions WHERE username = ?", [username])
        record(db, Event("password_set", actor, detail={"username": username}))


def set_active(db: Database, username: str, active: bool, *, actor: str) -> None:
    with immediate(db):
        if not db.execute(
            "UPDATE staff SET active = ? WHERE username = ?", [int(active), username]
        ).rowcount:
            raise AccountError(f"no user {username!r}")
        if not active:
            db.execute("DELETE FROM staff_sessions WHERE username = ?", [username])
        action = "staff_enabled" if active else "staff_disabled"
        record(db, Event(action, actor, detail={"username": username}))


def set_role(db: Database, username: str, role: str, *, actor: str) -> None:
    _staff_role(role)
    with immediate(db):
        if not db.execute(
            "UPDATE staff SET role = ? WHERE username = ?", [role, username]
        ).rowcount:
            raise AccountError(f"no user {username!r}")
        db.execute("DELETE FROM staff_sessions WHERE username = ?", [username])
        record(db, Event("staff_role", actor, detail={"username": username, "role": role}))


def clear_totp(db: Database, username: str, *, actor: str) -> None:
    with immediate(db):
        db.execute(
            "UPDATE staff SET totp_secret = NULL, totp_last_step = NULL WHERE username = ?",
            [username],
        )
        db.execute("DELETE FROM staff_sessions WHERE username = ?", [username])
        record(db, Event("totp_cleared", actor, detail={"username": username}))


# ---------------------------------------------------------------- login


def _key(secret: str, kind: str, value: str) -> str:
    """A keyed hash: counters never hold a user name or an address."""
    return hmac.new(secret.encode(), f"login\0{kind}\0{value}".encode(), "sha256").hexdigest()[:32]


def _window(now: float | None = None) -> int:
    return int((now or time.time()) // THROTTLE_WINDOW) * THROTTLE_WINDOW


def _throttle_keys(username: str, address: str, secret: str) -> list[tuple[str, int]]:
    return [
        (_key(secret, "user", username.lower()), MAX_FAILURES_PER_ACCOUNT),
        (_key(secret, "addr", client_key(address)), MAX_FAILURES_PER_ADDRESS),
    ]


def _count(db: Database, key: str, window: int) -> int:
    row = db.execute(
        "SELECT count FROM rate_limits WHERE key = ? AND window_start = ?", [key, window]
    ).fetchone()
    return row[0] if row else 0


def _bump(db: Database, key: str, window: int, at_least: int = 1) -> int:
    """Add one to a counter (or raise it to at_least); inside the caller's transaction."""
    return db.execute(
        "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, ?) "
        "ON CONFLICT (key, window_start) DO UPDATE SET count = max(count + 1, excluded.count) "
        "RETURNING count",
        [key, window, at_least],
    ).fetchone()[0]


def throttled(
    db: Database, username: str, address: str, secret: str, now: float | None = None
) -> bool:
    """True when this account or this address failed too often lately (shared by all workers)."""
    window = _window(now)
    return any(
        _count(db, key, window) >= limit for key, limit in _throttle_keys(username, address, secret)
    )


def _failed(db: Database, username: str, address: str, secret: str) -> None:
    window = _window()
    with immediate(db):
        for key, _limit in _throttle_keys(username, address, secret):
            _bump(db, key, window)
        # What was typed as a user name may be a password or an ID: it is not recorded.
        record(db, Event("login_failed", "anonymous"))


def authenticate(
    db: Database, username: str, password: str, address: str, secret: str
) -> dict | None:
    """The active user for these credentials, or None (the same for every kind of failure)."""
    user = get_user(db, username)
    try:
        _hasher.verify(user["password_hash"] if user else _dummy_hash(), password)
        ok = user is not None and bool(user["active"])
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        _failed(db, username, address, secret)
        return None
    return user


# ---------------------------------------------------------------- sessions


def needs_second_factor(user: dict) -> bool:
    return bool(user["totp_secret"]) or user["role"] == Role.ADMIN


def start_session(db: Database, username: str, *, second_factor_ok: bool) -> str:
    """A new session id (rotated at every login); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    moment = iso(now_utc())
    with immediate(db):
        insert(
            db,
            "staff_sessions",
            {
                "token_hash": _hash_token(token),
                "username": username,
                "created_at": moment,
                "last_seen": moment,
                "second_factor_ok": int(second_factor_ok),
            },
        )
        record(db, Event("login", username))
    return token


def session_user(db: Database, token: str | None, now: dt.datetime | None = None) -> dict | None:
    """The user of a live session: active, not idle too long, not too old."""
    if not token:
        return None
    now = now or now_utc()
    rows = list(
        db.query(
            "SELECT s.token_hash, s.created_at AS session_created, s.last_seen, "
            "s.second_factor_ok, s.searches, u.username, u.role, u.totp_secret "
            "FROM staff_sessions s JOIN staff u ON u.username = s.username "
            "WHERE s.token_hash = ? AND u.active = 1",
            [_hash_token(token)],
        )
    )
    if not rows:
        return None
    user = rows[0]
    last_seen = dt.datetime.fromisoformat(user["last_seen"].replace("Z", "+00:00"))
    created = dt.datetime.fromisoformat(user["session_created"].replace("Z", "+00:00"))
    if now - last_seen > IDLE_TIMEOUT or now - created > ABSOLUTE_TIMEOUT:
        end_session(db, token)
        return None
    if now - last_seen > dt.timedelta(minutes=1):  # one write a minute at most
        with immediate(db):
            db.execute(
                "UPDATE staff_sessions SET last_seen = ? WHERE token_hash = ?",
                [iso(now), user["token_hash"]],
            )
    return user


def end_session(db: Database, token: str | None, actor: str | None = None) -> None:
    if not token:
        return
    with immediate(db):
        db.execute("DELETE FROM staff_sessions WHERE token_hash = ?", [_hash_token(token)])
        if actor:
            record(db, Event("logout", actor))


def second_factor_done(db: Database, token: str) -> None:
    with immediate(db):
        db.execute(
            "UPDATE staff_sessions SET second_factor_ok = 1 WHERE token_hash = ?",
            [_hash_token(token)],
        )


def searches(user: dict) -> dict:
    """The search words of this session, by list (kept on the server, never in a cookie)."""
    try:
        value = json.loads(user.get("searches") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def save_searches(db: Database, token: str, words: dict) -> None:
    with immediate(db):
        db.execute(
            "UPDATE staff_sessions SET searches = ? WHERE token_hash = ?",
            [json.dumps(words, ensure_ascii=False), _hash_token(token)],
        )


# ---------------------------------------------------------------- TOTP


class CodeLockout(Exception):
    """Too many wrong codes for this account: the half-signed-in session was ended."""


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def _matching_step(secret: str, code: str | None, now: float | None = None) -> int | None:
    """The time step whose code this is (one step of clock drift either way), or None."""
    code = clean_number(code or "")
    if not re.fullmatch(r"[0-9]{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    now = now or time.time()
    for offset in (0, -1, 1):
        step = int(now // totp.interval) + offset
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            return step
    return None


def codes_locked(db: Database, username: str, secret: str) -> bool:
    """True while this account has had too many wrong codes (shared by every worker)."""
    return _count(db, _key(secret, "code", username.lower()), _window()) >= MAX_CODE_FAILURES


def _code_failed(db: Database, username: str, secret: str) -> bool:
    """Count a wrong code; at the limit, lock codes and password sign-in for the window."""
    window = _window()
    with immediate(db):
        count = _bump(db, _key(secret, "code", username.lower()), window)
        record(db, Event("code_failed", username))
        if count >= MAX_CODE_FAILURES:
            _bump(db, _key(secret, "user", username.lower()), window, MAX_FAILURES_PER_ACCOUNT)
            record(db, Event("second_factor_locked", username))
    return count >= MAX_CODE_FAILURES


def check_code(db: Database, username: str, code: str | None, *, secret: str) -> bool:
    """Check a sign-in code against the account's own authenticator; each code works once.

    Wrong codes are counted per account; at the limit `CodeLockout` is raised and even
    the right code is refused until the window ends.
    """
    user = get_user(db, username)
    if not user or not user["totp_secret"]:
        return False
    if codes_locked(db, username, secret):
        raise CodeLockout
    step = _matching_step(user["totp_secret"], code)
    if step is not None and _use_step(db, username, step):
        return True
    if _code_failed(db, username, secret):
        raise CodeLockout
    return False


def _use_step(db: Database, username: str, step: int) -> bool:
    with immediate(db):
        return bool(
            db.execute(
                "UPDATE staff SET totp_last_step = ? WHERE username = ? "
                "AND (totp_last_step IS NULL OR totp_last_step < ?)",
                [step, username, step],
            ).rowcount
        )


def pending_secret(db: Database, token: str) -> str:
    """The secret this session is enrolling: made once and kept on the server, never sent
    back by the browser."""
    token_hash = _hash_token(token)
    with immediate(db):
        row = db.execute(
            "SELECT totp_pending FROM staff_sessions WHERE token_hash = ?", [token_hash]
        ).fetchone()
        if row and row[0]:
            return row[0]
        secret = new_totp_secret()
        db.execute(
            "UPDATE staff_sessions SET totp_pending = ? WHERE token_hash = ?", [secret, token_hash]
        )
    return secret


def enrol_totp(db: Database, token: str, username: str, code: str | None, *, secret: str) -> bool:
    """Turn on (or replace) the account's authenticator with this session's pending secret.

    The caller checks who may enrol. On success the session has passed the second factor,
    every other session of the user ends and the event is recorded.
    """
    token_hash = _hash_token(token)
    row = db.execute(
        "SELECT totp_pending FROM staff_sessions WHERE token_hash = ? AND username = ?",
        [token_hash, username],
    ).fetchone()
    pending = row[0] if row else None
    step = _matching_step(pending, code) if pending else None
    if step is None:
        if codes_locked(db, username, secret) or _code_failed(db, username, secret):
            raise CodeLockout
        return False
    with immediate(db):
        had = db.execute("SELECT totp_secret FROM staff WHERE username = ?", [username]).fetchone()
        db.execute(
            "UPDATE staff SET totp_secret = ?, totp_last_step = ? WHERE username = ?",
            [pending, step, username],
        )
        db.execute(
            "UPDATE staff_sessions SET totp_pending = NULL, second_factor_ok = 1 "
            "WHERE token_hash = ?",
            [token_hash],
        )
        db.execute(
            "DELETE FROM staff_sessions WHERE username = ? AND token_hash != ?",
            [username, token_hash],
        )
        action = "totp_replaced" if had and had[0] else "totp_enrolled"
        record(db, Event(action, username, detail={"username": username}))
    return True
