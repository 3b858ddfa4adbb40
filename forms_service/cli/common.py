"""What the commands share: the app and its database, who runs them, a password."""

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import click

from .. import create_app, db


def app_and_db():
    app = create_app()
    return app, db.connect(app.config["PORTAL_DB"])


def operator() -> str:
    """Who ran a command, for the audit trail: the machine account, never a typed name."""
    return f"cli:{getpass.getuser()}"


def password(from_stdin: bool) -> str:
    if from_stdin:
        return click.get_text_stream("stdin").readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def on_terminal() -> bool:
    """Whether a person watches (stderr is a terminal); cron and pipes get no chatter."""
    return sys.stderr.isatty()


def say(message: str) -> None:
    """A closing line for the person at the terminal; nothing in cron."""
    if on_terminal():
        click.echo(message, err=True)


class Progress:
    """A progress bar on stderr when it is a terminal, fed as `progress(step, total)`: the
    first call opens it with its total. In cron or a pipe it shows nothing."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar = None

    def __call__(self, step: int, total: int) -> None:
        if not on_terminal():
            return
        if self.bar is None:
            self.bar = click.progressbar(length=max(total, 1), label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(step)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextmanager
def progress(label: str) -> Iterator[Progress]:
    bar = Progress(label)
    try:
        yield bar
    finally:
        bar.close()
