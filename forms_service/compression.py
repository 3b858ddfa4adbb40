"""The public forms' pages compressed (Brotli or gzip), where that cannot leak a secret.

A form page is about 29 KB of HTML and 6 KB compressed: on a phone's connection that is the
difference between a first view that waits and one that does not. But a compressed page
that holds a secret (the CSRF token, personal data) and also repeats words a third party
chose (a query string, typed input sent back) lets the size of the answer reveal the secret
(BREACH). So only what no third party shaped is compressed: the public forms' pages fetched
by GET without a query string. The back office, form posts and anything with a query string
go out as they are. The built site is compressed ahead of time (WhiteNoise).
"""

from flask import Flask, Response, request
from flask_compress import Compress

compress = Compress()
BLUEPRINTS = ("public_ar", "public_en")


def init_app(app: Flask) -> None:
    """Register first, so that it runs after every other after_request hook."""
    app.config.setdefault("COMPRESS_REGISTER", False)  # never for every response
    app.config.setdefault("COMPRESS_MIMETYPES", ["text/html"])
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    compress.init_app(app)
    app.after_request(compressed)


def safe_to_compress() -> bool:
    return request.method == "GET" and not request.query_string and request.blueprint in BLUEPRINTS


def compressed(response: Response) -> Response:
    return compress.after_request(response) if safe_to_compress() else response
