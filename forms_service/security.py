"""Security settings and headers on every response of the app."""

from .uploads import MAX_REQUEST_BYTES

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "X-Frame-Options": "DENY",
}


def init_app(app):
    app.config.setdefault("MAX_CONTENT_LENGTH", MAX_REQUEST_BYTES + 1024 * 1024)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("SESSION_COOKIE_NAME", "portal_session")
    # A long form on a phone can take a while: tokens last 6 hours.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", 6 * 3600)

    @app.after_request
    def headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
