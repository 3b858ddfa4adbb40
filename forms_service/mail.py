"""Sending e-mail over SMTP for the outbox (`outbox.py` decides what and when).

Mail goes over TLS whose certificate is checked: the system's trusted authorities, or the
one in PORTAL_SMTP_CA_FILE (a server with a private or self-signed certificate). STARTTLS on
the submission port (587), or TLS from the first byte on port 465 (PORTAL_SMTP_TLS=implicit
on another port). PORTAL_SMTP_TLS=off is for a relay on this machine only.
"""

import contextlib
import ipaddress
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

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


def send(config: Mapping[str, Any], mode: str, message: EmailMessage) -> None:
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


def error_text(error: Exception) -> str:
    """What went wrong, for the outbox row and the log: the kind, and a certificate's reason."""
    name = type(error).__name__
    reason = getattr(error, "verify_message", None)
    return f"{name}: {reason}" if reason else name
