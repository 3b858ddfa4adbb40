"""Security settings, and headers on every response (the built site's files included)."""

import logging

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from .uploads import MAX_REQUEST_BYTES

CSP = "; ".join(
    [
        "default-src 'self'",
        # Pagefind's search runs WebAssembly; no inline script anywhere.
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = [
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """WSGI middleware: the headers on every response, static files included; HSTS over HTTPS."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        https = environ.get("wsgi.url_scheme") == "https"

        def start(status, headers, exc_info=None):
            present = {name.lower() for name, _ in headers}
            extra = [h for h in HEADERS if h[0].lower() not in present]
            if https:
                extra.append(HSTS)
            return start_response(status, headers + extra, exc_info)

        return self.app(environ, start)


def secure_cookies() -> bool:
    """Cookies Secure with a __Host- name: over HTTPS (PORTAL_SECURE_COOKIES=auto, the
    default), always (1: TLS ends at a proxy that does not say so) or never (0)."""
    setting = str(current_app.config.get("PORTAL_SECURE_COOKIES", "auto")).strip().lower()
    if setting in ("1", "true", "yes", "on"):
        return True
    if setting in ("0", "false", "no", "off"):
        return False
    return request.is_secure


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed session cookie, named `__Host-…` and Secure whenever cookies are secure.

    It holds only the CSRF token and random keys of server-side rows, never personal data.
    """

    def get_cookie_name(self, app):
        name = super().get_cookie_name(app)
        return f"__Host-{name}" if secure_cookies() else name

    def get_cookie_secure(self, app):
        return secure_cookies()


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
        # Every message is written in our own catalog: WTForms' bundled ones are never shown,
        # so they need not be loaded on every request.
        "WTF_I18N_ENABLED": False,
    }
    for key, value in defaults.items():
        if key not in app.config.get("PORTAL_OVERRIDES", ()):
            app.config[key] = value
    app.session_interface = SessionCookie()
    CSRFProtect(app)  # provides csrf_token() to templates

    @app.after_request
    def no_store(response):
        if response.mimetype == "text/html":
            response.headers.setdefault("Cache-Control", "no-store")
        return response


log = logging.getLogger(__name__)
FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP", "HTTP_X_FORWARDED_PROTO")
UNCONFIGURED_PROXY = (
    "Requests arrive with forwarded headers (X-Forwarded-For or Forwarded) but PORTAL_PROXIES "
    "is not set: every client is counted as the proxy's address, so rate limits and sign-in "
    "throttling apply to all visitors together (a few failed sign-ins lock out every staff "
    "member). Behind one reverse proxy (nginx), set PORTAL_PROXIES=1."
)


class ProxyCheck:
    """WSGI middleware without PORTAL_PROXIES: say loudly, once per process, that forwarded
    headers arrive unconfigured. The headers' values (addresses) are never logged."""

    def __init__(self, app):
        self.app = app
        self.warned = False

    def __call__(self, environ, start_response):
        if not self.warned and any(name in environ for name in FORWARDED):
            self.warned = True
            log.error(UNCONFIGURED_PROXY)
        return self.app(environ, start_response)


def wrap(app):
    """Outermost WSGI layers: trust N proxies (PORTAL_PROXIES) for the client address and
    scheme, then add the security headers."""
    proxies = int(app.config.get("PORTAL_PROXIES", 0) or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    else:
        app.wsgi_app = ProxyCheck(app.wsgi_app)
    app.wsgi_app = SecurityHeaders(app.wsgi_app)
