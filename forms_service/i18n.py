"""Languages: Arabic at the root, English under /en; the language comes from the URL."""

import datetime as dt
from functools import cache

from babel import Locale
from flask import g, request, url_for
from flask_babel import Babel, format_date
from hijridate import Gregorian

LANGUAGES = ("ar", "en")
DEFAULT = "ar"
PREFIX = {"ar": "", "en": "/en"}


def url_language(path: str) -> str:
    return "en" if path == "/en" or path.startswith("/en/") else DEFAULT


def get_locale() -> str:
    return g.get("lang") or url_language(request.path)


@cache
def text_direction(lang: str) -> str:
    return Locale.parse(lang).text_direction


def other_language(lang: str) -> str:
    return "en" if lang == "ar" else "ar"


def lang_url(endpoint: str, lang: str | None = None, **values) -> str:
    """url_for on the blueprint registered for a language: lang_url('public.status')."""
    blueprint, _, view = endpoint.partition(".")
    return url_for(f"{blueprint}_{lang or g.lang}.{view}", **values)


def site_path(path: str) -> str:
    """A page of the static site in the current language: site_path('privacy/')."""
    return f"{PREFIX[g.get('lang', DEFAULT)]}/{path}"


def alternate_url() -> str:
    """The same page in the other language (view arguments only: never form data).

    A page answered to a POST (a confirmation) has no address of its own to open: the link
    goes to the page its view names in `g.alternate_page` (endpoint, arguments), or home."""
    other = other_language(g.lang)
    if request.url_rule is not None and "GET" not in (request.url_rule.methods or ()):
        named, values = g.get("alternate_page", ("", {}))
        return lang_url(named, other, **values) if named else f"{PREFIX[other]}/"
    endpoint = request.endpoint or ""
    blueprint, _, view = endpoint.rpartition(".")
    if blueprint.endswith(("_ar", "_en")):
        return url_for(f"{blueprint[:-3]}_{other}.{view}", **(request.view_args or {}))
    return f"{PREFIX[other]}/"


def long_date(day: dt.date) -> str:
    """9 December 2026 (29 Jumada al-Akhirah 1448 AH) — Gregorian with the Hijri date beside it."""
    hijri = Gregorian(day.year, day.month, day.day).to_hijri()
    lang = g.get("lang", DEFAULT)
    # "Jumada al-Akhirah": a non-breaking hyphen, so that a month's name is never split.
    month = hijri.month_name("ar" if lang == "ar" else "en").replace("-", "\u2011")
    suffix = "هـ" if lang == "ar" else "AH"
    return f"{format_date(day, 'd MMMM y')} ({hijri.day} {month} {hijri.year} {suffix})"


def init_app(app):
    Babel(app, locale_selector=get_locale, default_domain="messages")

    @app.before_request
    def set_language():
        g.lang = url_language(request.path)

    @app.context_processor
    def language_context():
        lang = g.get("lang", DEFAULT)
        return {
            "lang": lang,
            "dir": text_direction(lang),
            "lang_url": lang_url,
            "site_path": site_path,
            "alternate_url": alternate_url() if request else "/",
            "long_date": long_date,
        }
