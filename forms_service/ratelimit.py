"""Rate limits per client address, shared by every gunicorn worker through SQLite.

The address itself is never stored: only a keyed hash of it, per fixed time window.
"""

import hashlib
import hmac
import ipaddress
import re
import time

from .db import Database, immediate

PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse(spec: str) -> tuple[int, int] | None:
    """'10/hour' → (10, 3600); 'off' → None."""
    if not spec or spec.strip().lower() == "off":
        return None
    match = re.fullmatch(r"\s*([0-9]+)\s*/\s*(second|minute|hour|day)\s*", spec.lower())
    if not match:
        raise ValueError(f"PORTAL_RATE_LIMIT must look like 10/hour or off, not {spec!r}")
    return int(match[1]), PERIODS[match[2]]


def client_key(address: str) -> str:
    """What counts as one client: the address, or its /64 network for IPv6 (one household or
    phone gets a whole /64, and can change addresses inside it at will)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def allow(
    db: Database, *, scope: str, client: str, spec: str, secret: str, now: float | None = None
) -> bool:
    """Count one hit for this client and scope; False once the window's limit is passed."""
    limit = parse(spec)
    if limit is None:
        return True
    count, seconds = limit
    key = hmac.new(
        secret.encode(), f"{scope}\0{client_key(client)}".encode(), hashlib.sha256
    ).hexdigest()[:32]
    window = int((now or time.time()) // seconds) * seconds
    with immediate(db):
        hits = db.execute(
            "INSERT INTO rate_limits (key, window_start, count) VALUES (?, ?, 1) "
            "ON CONFLICT (key, window_start) DO UPDATE SET count = count + 1 RETURNING count",
            [key, window],
        ).fetchone()[0]
        db.execute("DELETE FROM rate_limits WHERE window_start < ?", [window - 86400])
    return hits <= count
