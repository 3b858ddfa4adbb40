"""`portal backup`, `portal restore` and `portal outbox send`: the data kept safe and moving."""

import logging
import secrets
import signal
import threading

import click

from .. import backup
from .. import outbox as sender
from ..config import from_environment
from .common import app_and_db, progress, say

LOOP_SECONDS = 30
log = logging.getLogger(__name__)


@click.group()
def outbox():
    """Messages to applicants (SMS and e-mail) waiting to be sent."""


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items())


@outbox.command("send")
@click.option(
    "--loop",
    is_flag=True,
    help=f"Keep sending every {LOOP_SECONDS} s until stopped (SIGTERM, Ctrl-C): a service.",
)
def outbox_send(loop):
    """Send (or retry) the SMS and e-mails that are due; with --loop, keep doing it."""
    app, database = app_and_db()
    try:
        sender.channels(app.config)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    if not loop:
        click.echo(_summary(sender.send_due(database, app.config, limit=500)))
        return
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())  # finish the row in hand, then stop
    click.echo(f"sending the outbox every {LOOP_SECONDS} s")
    while not stopping.is_set():
        try:
            counts = sender.send_due(database, app.config, limit=500, stop=stopping.is_set)
        except Exception:  # a database or provider surprise: say so, try again next round
            log.exception("outbox: sending failed")
        else:
            if any(counts.values()):
                click.echo(_summary(counts))
        stopping.wait(LOOP_SECONDS)
    click.echo("stopped")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file):
    """Write a consistent backup (database and documents) while the service runs."""
    settings = from_environment()
    with progress("Backing up") as bar:
        manifest = backup.backup(settings["PORTAL_DB"], settings["PORTAL_UPLOADS"], file, bar)
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    say(f"backup written to {file}: {counts}, {len(manifest['documents'])} documents")


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
