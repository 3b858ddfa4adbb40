"""The sitemap and robots.txt: the site's pages and the first page of each public form, in
both languages; never the forms' shell (a layout, not a page), the staff pages or a form's
later steps (check your answers, confirmation, status results), which say noindex.

Addresses start with site_url, which `portal build` takes from PORTAL_PUBLIC_URL.
"""

import gzip
import re
from pathlib import Path
from xml.sax.saxutils import escape

# The first page of each public form: what a family searching for the association finds.
FORM_PAGES = ("forms/assistance/", "forms/volunteer/", "forms/feedback/", "forms/status/")
NOT_LISTED = ("shell/",)
_URL = re.compile(r"\s*<url>.*?</url>", re.S)
_LOC = re.compile(r"<loc>([^<]*)</loc>")


def _entry(base: str, path: str, today: str) -> str:
    ar, en = escape(base + path), escape(base + "en/" + path)
    return "".join(
        f"""
    <url>
        <loc>{loc}</loc>
        <lastmod>{today}</lastmod>
        <xhtml:link rel="alternate" hreflang="ar" href="{ar}"/>
        <xhtml:link rel="alternate" hreflang="en" href="{en}"/>
    </url>"""
        for loc in (ar, en)
    )


def sitemap(xml: str, base: str, today: str) -> str:
    """The sitemap MkDocs wrote, without the shell, with the form pages added."""
    hidden = {base + p for p in NOT_LISTED} | {base + "en/" + p for p in NOT_LISTED}

    def keep(match):
        loc = _LOC.search(match.group(0))
        return "" if loc and loc.group(1) in hidden else match.group(0)

    xml = _URL.sub(keep, xml)
    forms = "".join(_entry(base, path, today) for path in FORM_PAGES)
    return xml.replace("</urlset>", forms + "\n</urlset>", 1)


def robots(base: str) -> str:
    return f"User-agent: *\nDisallow: /staff/\nDisallow: /en/staff/\n\nSitemap: {base}sitemap.xml\n"


def on_post_build(config):
    site = Path(config["site_dir"])
    base = config["site_url"] or "/"
    base = base if base.endswith("/") else base + "/"
    path = site / "sitemap.xml"
    if path.exists():
        xml = path.read_text(encoding="utf-8")
        found = re.search(r"<lastmod>([0-9-]+)</lastmod>", xml)
        xml = sitemap(xml, base, found.group(1) if found else "")
        path.write_text(xml, encoding="utf-8")
        (site / "sitemap.xml.gz").write_bytes(gzip.compress(xml.encode("utf-8"), mtime=0))
    (site / "robots.txt").write_text(robots(base), encoding="utf-8")
