"""Error pages in the page's language, in the site's look: no stack traces, no personal data."""

import logging

from flask import g, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .i18n import lang_url, site_path, url_language
from .logtext import log_safe

log = logging.getLogger(__name__)

PAGES = {
    400: (
        _l("The form could not be sent"),
        _l("Something in what was sent was not right. Go back, check the form and try again."),
    ),
    403: (_l("You cannot open this page"), _l("This page is for the association's staff.")),
    404: (_l("Page not found"), _l("Check the address, or start from the home page.")),
    405: (_l("This page cannot be used that way"), _l("Go back and use the buttons on the page.")),
    413: (
        _l("The files are too large"),
        _l(
            "Each file must be 5 MB or smaller, and all files together 20 MB or smaller. "
            "Go back and choose smaller files, or photos. Files are not kept: choose them again."
        ),
    ),
    429: (
        _l("Too many attempts"),
        _l(
            "For everyone's safety the number of attempts from one connection is limited. "
            "Wait a while, then try again later."
        ),
    ),
    500: (
        _l("Sorry, something went wrong"),
        _l("Nothing you sent after the last confirmation was stored. Try again in a few minutes."),
    ),
}


# The back office's own words where they differ: its people are staff already.
STAFF_PAGES = {
    403: (
        _l("You cannot open this page"),
        _l("Your role does not open this page. Ask an administrator if your work needs it."),
    ),
    404: (
        _l("Page not found"),
        _l("The address may be mistyped, or the page has gone. Start again from the requests."),
    ),
}


def in_back_office(path: str) -> bool:
    """A path of the back office, in either language (/staff/…, /en/staff/…)."""
    return path.removeprefix("/en").startswith("/staff/")


def render_error(code: int):
    g.lang = url_language(request.path)
    title, message = PAGES.get(code, PAGES[500])
    template, back_url, back_text = "errors/error.html", site_path(""), _l("Home page")
    if in_back_office(request.path):  # the staff's own layout, their way back
        title, message = STAFF_PAGES.get(code, (title, message))
        template, back_url = "errors/staff_error.html", lang_url("staff.index")
        back_text = _l("Back to the requests")
    page = render_template(
        template, title=title, message=message, back_url=back_url, back_text=back_text
    )
    return page, code


def init_app(app, site_404):
    @app.errorhandler(HTTPException)
    def http_error(error):
        if error.code == 404 and not in_back_office(request.path):
            return site_404()
        if error.code == 400 and isinstance(error, CSRFError):
            return render_error(400)
        return render_error(error.code if error.code in PAGES else 500)

    @app.errorhandler(Exception)
    def unexpected(error):
        if app.testing:
            raise error
        # The exception's type only: messages can carry submitted values.
        log.error(
            "unhandled %s on %s %s",
            type(error).__name__,
            log_safe(request.method),
            log_safe(request.path),
        )
        return render_error(500)
