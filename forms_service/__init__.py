"""The Jamoum Orphan Care portal: the forms service, serving the built site beside it."""

from pathlib import Path

from flask import Flask

from . import config


def create_app(test_config=None):
    """Build the app: defaults, then environment, then test overrides."""
    app = Flask(__name__)
    app.config.from_mapping(config.from_environment(test_config))

    from . import health, static_site

    app.register_blueprint(health.bp)
    static_site.init_app(app, Path(app.config["PORTAL_SITE"]))
    return app
