"""The Jamoum Orphan Care portal: the forms service, serving the built site beside it."""

from pathlib import Path

from flask import Flask
from jinja2 import ChoiceLoader

from . import config


def create_app(test_config=None):
    """Build the app: defaults, then environment, then test overrides."""
    app = Flask(__name__)
    app.config.from_mapping(config.from_environment(test_config))

    from . import (
        compression,
        db,
        errors,
        health,
        i18n,
        public,
        security,
        staff,
        static_site,
        templating,
    )
    from .shell import ShellLoader

    site = Path(app.config["PORTAL_SITE"])
    app.jinja_loader = ChoiceLoader([app.jinja_loader, ShellLoader(site)])
    compression.init_app(app)  # first: its hook runs after all the others
    db.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    security.init_app(app)
    app.register_blueprint(health.bp)
    public.register(app)
    staff.register(app)
    errors.init_app(app, static_site.init_app(app, site))
    security.wrap(app)
    return app
