"""Security settings and headers on every response of the app."""

from flask_wtf.csrf import CSRFProtect

from .uploads import MAX_REQUEST_BYTES

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "X-Frame-Options": "DENY",
}


def init_app(app):
    defaults = {
        "MAX_CONTENT_LENGTH": MAX_REQUEST_BYTES + 1024 * 1024,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "portal_session",
        # A long form on a phone can take a while: tokens last 6 hours.
        "WTF_CSRF_TIME_LIMIT": 6 * 3600,
        # Every POST validates a form with its token; the view then keeps what was typed
        # when the token expired, which a global check before the view could not.
        "WTF_CSRF_CHECK_DEFAULT": False,
    }
    for key, value in defaults.items():
        if key not in app.config.get("PORTAL_OVERRIDES", ()):
            app.config[key] = value
    CSRFProtect(app)  # provides csrf_token() to templates

    @app.after_request
    def headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
