"""The site's page shell (header, language link, footer, CSS, fonts) as the forms' base layout.

`portal build` emits site/shell/index.html and site/en/shell/index.html from the same
theme as every page. This loader turns each into a Jinja template with blocks, so the
forms and the site share one source of layout.
"""

import re
from pathlib import Path
from urllib.parse import urljoin

from jinja2 import BaseLoader, TemplateNotFound

SHELL_URLS = {"ar": "/shell/", "en": "/en/shell/"}
_ATTR_URL = re.compile(r'(?P<attr>\b(?:href|src|action)=")(?P<url>[^"#][^"]*)"')
_CANONICAL = re.compile(r'\s*<link rel="canonical" href="[^"]*">')
_CONFIG_BASE = re.compile(r'"base": "([./]+)"')
_MARKERS = {
    "@@PORTAL_TITLE@@": None,  # first: the block; later uses: its value again
    "@@PORTAL_DESCRIPTION@@": "{% block description %}{% endblock %}",
    "<!--@@PORTAL_HEAD@@-->": "{% block head %}{% endblock %}",
    "<!--@@PORTAL_CONTENT@@-->": "{% block content %}{% endblock %}",
    "@@PORTAL_ALTERNATE@@": "{{ alternate_url }}",
}
_SPLIT = re.compile("(" + "|".join(re.escape(m) for m in _MARKERS) + ")")


def _absolute(html: str, base: str) -> str:
    """Relative links in the shell are relative to /shell/: make them absolute."""

    def fix(match):
        url = match["url"]
        if re.match(r"^(?:[a-z]+:|/|@@)", url):
            return match.group(0)
        return f'{match["attr"]}{urljoin(base, url)}"'

    html = _ATTR_URL.sub(fix, html)
    html = _CANONICAL.sub("", html)  # the shell is not a page of its own
    return _CONFIG_BASE.sub(lambda m: f'"base": "{urljoin(base, m[1])}"', html)


def to_template(html: str, lang: str) -> str:
    html = _absolute(html, SHELL_URLS[lang])
    out, title_seen = [], False
    for part in _SPLIT.split(html):
        if part == "@@PORTAL_TITLE@@":
            out.append("{{ self.title() }}" if title_seen else "{% block title %}{% endblock %}")
            title_seen = True
        elif part in _MARKERS:
            out.append(_MARKERS[part])
        elif part:
            out.append("{% raw %}" + part + "{% endraw %}")
    return "".join(out)


class ShellLoader(BaseLoader):
    """Templates named shell/ar.html and shell/en.html, read from the built site."""

    def __init__(self, site_dir: Path):
        self.site_dir = Path(site_dir)

    def get_source(self, environment, template):
        match = re.fullmatch(r"shell/(ar|en)\.html", template)
        if not match:
            raise TemplateNotFound(template)
        lang = match[1]
        path = self.site_dir / SHELL_URLS[lang].strip("/") / "index.html"
        if not path.exists():
            raise TemplateNotFound(f"{template} (run `portal build`: {path} is missing)")
        mtime = path.stat().st_mtime
        source = to_template(path.read_text(encoding="utf-8"), lang)
        return source, str(path), lambda: path.exists() and path.stat().st_mtime == mtime
