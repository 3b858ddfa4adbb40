"""The back office's blueprint, guarded before every view (see `session.load_and_guard`)."""

from flask import Blueprint, request

from . import session

bp = Blueprint("staff", __name__)
bp.before_request(session.load_and_guard)
bp.add_app_template_global(session.may_open, "may_open")


def client() -> str:
    """The client's address (after the trusted proxies)."""
    return request.remote_addr or ""
