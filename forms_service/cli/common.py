"""What the commands share: the app and its database, who runs them, a password."""

import getpass

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
