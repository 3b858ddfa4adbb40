"""`portal staff …`: staff accounts of the back office."""

import click

from .. import auth
from .common import app_and_db, operator, password


@click.group()
def staff():
    """Staff accounts of the back office (no account exists until one is added)."""


@staff.command("add")
@click.argument("username")
@click.option(
    "--role", required=True, type=click.Choice(["officer", "researcher", "committee", "admin"])
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def staff_add(username, role, password_stdin):
    """Add a staff user."""
    _app, database = app_and_db()
    try:
        auth.add_user(database, username, role, password(password_stdin), actor=operator())
    except auth.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"added {username} ({role})"
        + ("; two-step sign-in is set up at first login" if role == "admin" else "")
    )


@staff.command("disable")
@click.argument("username")
def staff_disable(username):
    """Disable a user and end their sessions."""
    _app, database = app_and_db()
    try:
        auth.set_active(database, username, False, actor=operator())
    except auth.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"disabled {username}")


@staff.command("enable")
@click.argument("username")
def staff_enable(username):
    """Enable a disabled user."""
    _app, database = app_and_db()
    auth.set_active(database, username, True, actor=operator())
    click.echo(f"enabled {username}")


@staff.command("reset")
@click.argument("username")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.option(
    "--reset-totp", is_flag=True, help="Also remove two-step sign-in (the user sets it up again)."
)
def staff_reset(username, password_stdin, reset_totp):
    """Set a new password (ends the user's sessions)."""
    _app, database = app_and_db()
    try:
        auth.set_password(database, username, password(password_stdin), actor=operator())
        if reset_totp:
            auth.clear_totp(database, username, actor=operator())
    except auth.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"password reset for {username}")


@staff.command("list")
def staff_list():
    """List staff users."""
    _app, database = app_and_db()
    for user in auth.users(database):
        state = "active" if user["active"] else "disabled"
        totp = "2fa" if user["totp_secret"] else "-"
        click.echo(f"{user['username']}\t{user['role']}\t{state}\t{totp}")


def register(group: click.Group) -> None:
    group.add_command(staff)
