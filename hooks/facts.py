"""MkDocs hook: the association's facts and the theme's words, for templates and pages.

Templates read ``config.extra.facts`` and ``config.extra.ui[language]``;
Markdown pages may use Jinja such as ``{{ facts.licence }}`` or
``{% for a in facts.accounts %}`` (with ``lang`` set to the page's language).
"""

import re
from pathlib import Path

import jinja2
import yaml
from babel import Locale

ROOT = Path(__file__).resolve().parent.parent
FACTS_FILE = ROOT / "forms_service" / "facts.yml"
STRINGS_FILE = ROOT / "theme" / "strings.yml"


def _yaml(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def on_config(config):
    config.extra["facts"] = _yaml(FACTS_FILE)
    config.extra["ui"] = _yaml(STRINGS_FILE)
    return config


def on_page_markdown(markdown, page, config, files):
    if "{{" not in markdown and "{%" not in markdown:
        return markdown
    # Markdown, not HTML, is rendered here: the values are our own facts file.
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 # nosec B701
    lang = config.theme["language"]
    return env.from_string(markdown).render(facts=config.extra["facts"], lang=lang)


ALTERNATE_LINK = re.compile(r'\s*<link rel="alternate" href="[^"]*" hreflang="[^"]*">')


def on_post_page(output, page, config):
    # Material puts dir on <body>; the document's direction belongs on <html> too.
    lang = config.theme["language"]
    direction = Locale.parse(lang).text_direction
    output = re.sub(
        r'<html lang="([a-z-]+)"', rf'<html lang="\1" dir="{direction}"', output, count=1
    )
    # The headings' permalink sign (¶) is not text to index or to show in search results.
    output = output.replace('class="headerlink"', 'class="headerlink" data-pagefind-ignore')
    # Material's script fetches sitemap.xml beside every <link rel=alternate> (404s in the
    # console); the header's language link carries hreflang instead.
    return ALTERNATE_LINK.sub("", output)


def on_post_template(output, template_name, config):
    # One 404.html serves every path on a plain web server: Arabic first (both languages are
    # in it), and its language link goes to the English home, not to the last page built.
    if template_name != "404.html":
        return output
    output = re.sub(r'<html lang="[a-z-]+"', '<html lang="ar" dir="rtl"', output, count=1)
    output = re.sub(r'<body dir="[a-z]+"', '<body dir="rtl"', output, count=1)
    output = re.sub(r'(<a class="md-header__button portal-lang" href=")[^"]*"', r'\1/en/"', output)
    return ALTERNATE_LINK.sub("", output)
