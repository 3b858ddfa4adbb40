"""The back office's blueprint, guarded before every view (see `session.load_and_guard`)."""

from flask import Blueprint, request

from . import session

bp = Blueprint("staff", __name__)
bp.before_request(session.load_and_guard)


def client() -> str:
    """The client's address (after the trusted proxies)."""
    return request.remote_addr or ""
