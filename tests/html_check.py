"""A check run on every HTML page the forms service renders in the tests.

What the best government form services check on every page: the language and direction on
<html>, a title, ids used once, and every field with a label a screen reader announces.
"""

from html.parser import HTMLParser

LABELLED_BY_ATTRIBUTE = ("aria-label", "aria-labelledby", "title")
NOT_FIELDS = {"hidden", "submit", "button", "reset", "image"}


class _Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.html_attrs: dict = {}
        self.title = ""
        self._in_title = False
        self.ids: list[str] = []
        self.label_for: set[str] = set()
        self.fields: list[tuple[str, dict, bool]] = []  # (tag, attributes, inside a label)
        self._labels_open = 0

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        if tag == "html":
            self.html_attrs = attrs
        if "id" in attrs:
            self.ids.append(attrs["id"])
        if tag == "title":
            self._in_title = True
        elif tag == "label":
            self._labels_open += 1
            if attrs.get("for"):
                self.label_for.add(attrs["for"])
        elif tag in ("input", "select", "textarea"):
            # Material's state toggles (the menu drawer, search) are hidden checkboxes the
            # theme's script uses, not fields a person fills in.
            toggle = "md-toggle" in attrs.get("class", "").split()
            if not toggle and (tag != "input" or attrs.get("type", "text") not in NOT_FIELDS):
                self.fields.append((tag, attrs, self._labels_open > 0))

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "label":
            self._labels_open = max(0, self._labels_open - 1)

    def handle_data(self, data):
        if self._in_title:
            self.title += data


def problems(html: str) -> list[str]:
    """What is wrong with a page, in words ([] when nothing)."""
    page = _Page()
    page.feed(html)
    found = []
    lang, direction = page.html_attrs.get("lang"), page.html_attrs.get("dir")
    if lang not in ("ar", "en") or direction != {"ar": "rtl", "en": "ltr"}.get(lang):
        found.append(f"<html> lang/dir: {lang!r}/{direction!r}")
    if not page.title.strip():
        found.append("no <title>")
    seen, repeated = set(), set()
    for name in page.ids:
        (repeated if name in seen else seen).add(name)
    if repeated:
        found.append(f"ids used more than once: {sorted(repeated)}")
    for tag, attrs, wrapped in page.fields:
        labelled = (
            wrapped
            or attrs.get("id") in page.label_for
            or any(attrs.get(a) for a in LABELLED_BY_ATTRIBUTE)
        )
        if not labelled:
            found.append(f"<{tag} name={attrs.get('name')!r}> has no label")
    return found


def check_response(response):
    """after_request hook for test apps: a page with problems fails the test that made it."""
    # Redirects carry werkzeug's own stub page, which no person sees.
    page = response.mimetype == "text/html" and not 300 <= response.status_code < 400
    if page and not response.is_streamed:
        html = response.get_data(as_text=True)
        if html.lstrip().lower().startswith("<!doctype html"):
            found = problems(html)
            assert not found, f"HTML check: {found}"
    return response
