"""gunicorn, run in-process: the production WSGI server behind `portal serve`."""

from pathlib import Path

from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from . import db
from .config import from_environment
from .logtext import log_safe


class AccessLogger(Logger):
    """gunicorn's logger, with every value of an access line made safe for one line."""

    def atoms(self, resp, req, environ, request_time):
        return {
            key: log_safe(value) if isinstance(value, str) else value
            for key, value in super().atoms(resp, req, environ, request_time).items()
        }


class PortalServer(BaseApplication):
    def __init__(self, options):
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from . import create_app

        return create_app()


class SiteNotBuilt(RuntimeError):
    pass


def check_site(site: Path) -> None:
    """The forms are drawn inside the built site's page shell: without it every form page
    would fail. Say so plainly before serving anything."""
    missing = [p for p in (site / "index.html", site / "shell" / "index.html") if not p.exists()]
    if missing:
        raise SiteNotBuilt(
            f"The site is not built ({missing[0]} is missing): run `portal build` "
            "(or `make run`, which builds it first), then start the server again."
        )


def serve(port: int, workers: int = 2, host: str = "127.0.0.1"):
    settings = from_environment()
    check_site(Path(settings["PORTAL_SITE"]))
    # The database is made ready once, before the workers start.
    db.prepare(settings["PORTAL_DB"])
    PortalServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": 4,
            "timeout": 30,
            "graceful_timeout": 10,
            # One portal per machine may not be the only gunicorn: no shared control socket.
            "control_socket_disable": True,
            # Access lines carry only method, path and status: never query strings.
            "accesslog": "-",
            "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms',
            "logger_class": AccessLogger,
        }
    ).run()
