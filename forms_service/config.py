"""Configuration: defaults, then the environment, then test overrides."""

import os
import secrets
from pathlib import Path

from .files import private_dir

ROOT = Path(__file__).resolve().parent.parent
# The policy: the committee answers "within a period of not less than two weeks". The
# earliest answer date shown to applicants, and when staff see a request as late.
ANSWER_DAYS = 14


def _secret_key(var_dir: Path) -> str:
    """PORTAL_SECRET_KEY, or a key generated once and kept in var/."""
    if os.environ.get("PORTAL_SECRET_KEY"):
        return os.environ["PORTAL_SECRET_KEY"]
    path = var_dir / "secret_key"
    if not path.exists():
        private_dir(var_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip()


def from_environment(overrides: dict | None = None) -> dict:
    overrides = overrides or {}
    var_dir = Path(os.environ.get("PORTAL_VAR", ROOT / "var"))
    settings = {
        "PORTAL_DB": os.environ.get("PORTAL_DB", str(var_dir / "portal.sqlite3")),
        "PORTAL_UPLOADS": os.environ.get("PORTAL_UPLOADS", str(var_dir / "uploads")),
        "PORTAL_SITE": os.environ.get("PORTAL_SITE", str(ROOT / "site")),
        "PORTAL_RATE_LIMIT": os.environ.get("PORTAL_RATE_LIMIT", "10/hour"),
        "PORTAL_ANSWER_DAYS": int(os.environ.get("PORTAL_ANSWER_DAYS", ANSWER_DAYS)),
        # Saves of a support request in progress (each may carry uploads), per client address.
        "PORTAL_DRAFT_RATE_LIMIT": os.environ.get("PORTAL_DRAFT_RATE_LIMIT", "60/hour"),
        # All documents of requests in progress together, in MB: past it, "try again later".
        "PORTAL_DRAFTS_MAX_MB": int(os.environ.get("PORTAL_DRAFTS_MAX_MB", "2048")),
        # Cookies Secure with a __Host- name: "auto" (when the request came over HTTPS),
        # "1" (always: TLS ends at a proxy that does not say so) or "0" (never).
        "PORTAL_SECURE_COOKIES": os.environ.get("PORTAL_SECURE_COOKIES", "auto"),
        # Reverse proxies in front of the app (nginx: 1): client address and HTTPS from them.
        "PORTAL_PROXIES": int(os.environ.get("PORTAL_PROXIES", "0")),
        # The public address: every link sent to people (SMS, e-mail) starts with it.
        "PORTAL_PUBLIC_URL": os.environ.get("PORTAL_PUBLIC_URL", "http://127.0.0.1:8000").rstrip(
            "/"
        ),
        # SMS: taqnyat | unifonic | msegat; unset or empty: no SMS is sent.
        "PORTAL_SMS_PROVIDER": os.environ.get("PORTAL_SMS_PROVIDER", "").strip().lower(),
        "PORTAL_SMS_TOKEN": os.environ.get("PORTAL_SMS_TOKEN", ""),
        "PORTAL_SMS_SENDER": os.environ.get("PORTAL_SMS_SENDER", ""),
        "PORTAL_SMS_URL": os.environ.get("PORTAL_SMS_URL", ""),
        **{
            key: os.environ[key]
            for key in (
                "PORTAL_SMTP_HOST",
                "PORTAL_SMTP_PORT",
                "PORTAL_SMTP_USER",
                "PORTAL_SMTP_PASSWORD",
                "PORTAL_SMTP_FROM",
                "PORTAL_SMTP_TLS",
                "PORTAL_SMTP_CA_FILE",
            )
            if os.environ.get(key)
        },
    }
    settings.update(overrides)
    settings["PORTAL_OVERRIDES"] = tuple(overrides)
    if "SECRET_KEY" not in settings:
        settings["SECRET_KEY"] = _secret_key(var_dir)
    return settings
