"""gunicorn, run in-process: the production WSGI server behind `portal serve`."""

from gunicorn.app.base import BaseApplication


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


def serve(port: int, workers: int = 2, host: str = "127.0.0.1"):
    from . import db
    from .config import from_environment

    # The database is made ready once, before the workers start.
    db.prepare(from_environment()["PORTAL_DB"])
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
        }
    ).run()
