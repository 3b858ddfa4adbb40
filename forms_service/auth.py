"""Staff accounts: argon2id passwords, server-side sessions, login throttling, TOTP."""

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets
import time

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .db import immediate
from .identifiers import clean_number
from .queue import Event, Role, iso, now_utc, record

MIN_PASSWORD = 12
IDLE_TIMEOUT = dt.timedelta(minutes=30)
ABSOLUTE_TIMEOUT = dt.timedelta(hours=12)
THROTTLE_WINDOW = 15 * 60
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
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


def add_user(db, username: str, role: str, password: str, *, actor: str) -> None:
    check_password_rules(password)
    Role(role)
    moment = iso(now_utc())
    with immediate(db):
        if db.execute("SELECT 1 FROM staff WHERE username = ?", [username]).fetchone():
            raise AccountError(f"user {username!r} exists")
        db["staff"].insert(
            {
                "username": username,
                "password_hash": _hasher.hash(password),
                "role": role,
                "active": 1,
                "created_at": moment,
                "password_changed_at": moment,
            }
        )
        record(db, Event("staff_added", actor, detail={"username": username, "role": role}))


def get_user(db, username: str) -> dict | None:
    rows = list(db["staff"].rows_where("username = ?", [username]))
    return rows[0] if rows else None


def users(db) -> list[dict]:
    return list(db["staff"].rows_where(order_by="username"))


def set_password(db, username: str, password: str, *, actor: str) -> None:
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


def set_active(db, username: str, active: bool, *, actor: str) -> None:
    with immediate(db):
        if not db.execute(
            "UPDATE staff SET active = ? WHERE username = ?", [int(active), username]
        ).rowcount:
            raise AccountError(f"no user {username!r}")
        if not active:
            db.execute("DELETE FROM staff_sessions WHERE username = ?", [username])
        action = "staff_enabled" if active else "staff_disabled"
        record(db, Event(action, actor, detail={"username": username}))


def set_role(db, username: str, role: str, *, actor: str) -> None:
    Role(role)
    with immediate(db):
        if not db.execute(
            "UPDATE staff SET role = ? WHERE username = ?", [role, username]
        ).rowcount:
            raise AccountError(f"no user {username!r}")
        db.execute("DELETE FROM staff_sessions WHERE username = ?", [username])
        record(db, Event("staff_role", actor, detail={"username": username, "role": role}))


def clear_totp(db, username: str, *, actor: str) -> None:
    with immediate(db):
        db.execute(
            "UPDATE staff SET totp_secret = NULL, totp_last_step = NULL WHERE username = ?",
            [username],
        )
        db.execute("DELETE FROM staff_sessions WHERE username = ?", [username])
        record(db, Event("totp_cleared", actor, detail={"username": username}))


# ---------------------------------------------------------------- login


def _throttle_keys(username: str, address: str, secret: str) -> list[tuple[str, int]]:
    def key(kind, value):
        return hmac.new(secret.encode(), f"login\0{kind}\0{value}".encode(), "sha256").hexdigest()[
            :32
        ]

    return [
        (key("user", username.lower()), MAX_FAILURES_PER_ACCOUNT),
        (key("addr", address), MAX_FAILURES_PER_ADDRESS),
    ]


def throttled(db, username: str, address: str, secret: str, now: float | None = None) -> bool:
    """True when this account or this address failed too often lately (shared by all workers)."""
    window = int((now or time.time()) // THROTTLE_WINDOW) * THROTTLE_WINDOW
    for key, limit in _throttle_keys(username, address, secret):
        row = db.execute(
            "SELECT count FROM rate_limits WHERE key = ? AND window_start = ?", [key, window]
        ).fetchone()
        if row and row[0] >= limit:
            return True
    return False


def _failed(db, username: str, address: str, secret: str) -> None:
    window = int(time.time() // THROTTLE_WINDOW) * THROTTLE_WINDOW
    with immediate(db):
        for key, _limit in _throttle_keys(username, address, secret):
            db.execute(
                "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) "
                "ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1",
                [key, window],
            )
        # What was typed as a user name may be a password or an ID: it is not recorded.
        record(db, Event("login_failed", "anonymous"))


def authenticate(db, username: str, password: str, address: str, secret: str) -> dict | None:
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


def start_session(db, username: str, *, second_factor_ok: bool) -> str:
    """A new session id (rotated at every login); only its hash is stored."""
    token = secrets.token_urlsafe(32)
    moment = iso(now_utc())
    with immediate(db):
        db["staff_sessions"].insert(
            {
                "token_hash": _hash_token(token),
                "username": username,
                "created_at": moment,
                "last_seen": moment,
                "second_factor_ok": int(second_factor_ok),
            }
        )
        record(db, Event("login", username))
    return token


def session_user(db, token: str | None, now: dt.datetime | None = None) -> dict | None:
    """The user of a live session: active, not idle too long, not too old."""
    if not token:
        return None
    now = now or now_utc()
    rows = list(
        db.query(
            "SELECT s.token_hash, s.created_at AS session_created, s.last_seen, "
            "s.second_factor_ok, u.username, u.role, u.totp_secret "
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


def end_session(db, token: str | None, actor: str | None = None) -> None:
    if not token:
        return
    with immediate(db):
        db.execute("DELETE FROM staff_sessions WHERE token_hash = ?", [_hash_token(token)])
        if actor:
            record(db, Event("logout", actor))


def second_factor_done(db, token: str) -> None:
    with immediate(db):
        db.execute(
            "UPDATE staff_sessions SET second_factor_ok = 1 WHERE token_hash = ?",
            [_hash_token(token)],
        )


# ---------------------------------------------------------------- TOTP


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, username: str, issuer: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=issuer)


def verify_totp(db, username: str, code: str, secret: str | None = None) -> bool:
    """Check a code; each time step is accepted once (a code works once)."""
    user = get_user(db, username)
    secret = secret or (user and user["totp_secret"])
    code = clean_number(code or "")
    if not user or not secret or not re.fullmatch(r"[0-9]{6}", code):
        return False
    totp = pyotp.TOTP(secret)
    now = time.time()
    for offset in (0, -1, 1):  # one step of clock drift either way
        step = int(now // totp.interval) + offset
        if hmac.compare_digest(totp.at(step * totp.interval), code):
            with immediate(db):
                used = db.execute(
                    "UPDATE staff SET totp_last_step = ?, totp_secret = ? WHERE username = ? "
                    "AND (totp_last_step IS NULL OR totp_last_step < ?)",
                    [step, secret, username, step],
                ).rowcount
            return bool(used)
    return False
