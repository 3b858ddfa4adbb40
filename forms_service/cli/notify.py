"""`portal notify test --mobile M`: one test SMS with the configured provider."""

import click

from .. import sms
from ..config import from_environment


@click.group()
def notify():
    """Messages to applicants (SMS)."""


@notify.command("test")
@click.option("--mobile", required=True, help="A Saudi mobile to send one test message to.")
def notify_test(mobile):
    """Send one test SMS and say plainly whether it worked, and if not, what to check."""
    settings = from_environment()
    sentence = sms.check_setup(settings, mobile)
    click.echo(sentence)
    if not sentence.startswith("SMS works"):
        raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(notify)
