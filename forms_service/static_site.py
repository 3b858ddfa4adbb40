"""The built site (site/) served beside the app: compressed, cached, 404 in the right language."""

import re
from pathlib import Path

from whitenoise import WhiteNoise

from .errors import render_error

# Material's own assets carry a content hash in their names: cache them for a year.
HASHED = re.compile(r"\.[0-9a-f]{8,}\.(?:min\.)?(?:css|js)$")


def _immutable(path, url):
    return bool(HASHED.search(url))


def init_app(app, site_dir: Path):
    app.wsgi_app = WhiteNoise(
        app.wsgi_app,
        root=str(site_dir),
        index_file=True,
        max_age=600,
        immutable_file_test=_immutable,
    )

    def not_found():
        # Every missing page answers in its path's language, in the site's shell. (The
        # built 404.html, with both languages, is for web servers that serve site/ alone.)
        return render_error(404)

    return not_found
