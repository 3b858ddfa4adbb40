"""`portal backup`, `portal restore` and `portal outbox send`: the data kept safe and moving."""

import secrets

import click

from .. import backup, mail
from ..config import from_environment
from .common import app_and_db


@click.group()
def outbox():
    """Confirmation e-mails waiting to be sent."""


@outbox.command("send")
def outbox_send():
    """Send (or retry) what waits in the outbox; run it from cron when SMTP is set."""
    app, database = app_and_db()
    sent = mail.send_pending(database, app.config, limit=500)
    click.echo(f"sent {sent}")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file):
    """Write a consistent backup (database and documents) while the service runs."""
    settings = from_environment()
    manifest = backup.backup(settings["PORTAL_DB"], settings["PORTAL_UPLOADS"], file)
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    click.echo(f"backup written to {file}: {counts}, {len(manifest['documents'])} documents")


@click.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore_command(file):
    """Restore a backup into an empty data folder (PORTAL_DB and PORTAL_UPLOADS)."""
    # Restoring signs nothing: a throwaway key keeps from_environment() from creating one.
    settings = from_environment({"SECRET_KEY": secrets.token_hex(16)})
    try:
        manifest = backup.restore(file, settings["PORTAL_DB"], settings["PORTAL_UPLOADS"])
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {file} (taken {manifest['created_at']}): integrity ok, documents ok")


def register(group: click.Group) -> None:
    group.add_command(outbox)
    group.add_command(backup_command)
    group.add_command(restore_command)
