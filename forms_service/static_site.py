"""The built site (site/) served beside the app: compressed, cached, 404 in the right language."""

import re
from pathlib import Path

from flask import request
from whitenoise import WhiteNoise

# Material's own assets carry a content hash in their names: cache them for a year.
HASHED = re.compile(r"\.[0-9a-f]{8,}\.(?:min\.)?(?:css|js)$")


APP_PATHS = re.compile(r"^/(en/)?(forms|staff)(/|$)")


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
        # The app's own paths answer in their language; the rest get the site's 404 page.
        page = site_dir / "404.html"
        if page.exists() and not APP_PATHS.match(request.path):
            return page.read_text(encoding="utf-8"), 404
        from .errors import render_error

        return render_error(404)

    return not_found
