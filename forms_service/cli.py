"""The `portal` command: build the site, serve everything, and the staff tools."""

import os
import secrets

# Runs our own build tools (mkdocs, pagefind) with fixed arguments.
import subprocess  # nosec B404
import sys
import time

import click

from .cli_export import register as register_export
from .cli_privacy import register as register_privacy
from .config import ROOT


@click.group()
def main():
    """Jamoum Orphan Care Association portal."""


def _run(*args):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, env=env)  # noqa: S603 # nosec B603


@main.command()
@click.option("--no-index", is_flag=True, help="Skip the Pagefind search index.")
def build(no_index):
    """Build the static site into site/ (MkDocs, then Pagefind, then compression)."""
    started = time.perf_counter()
    compile_catalogs()
    _run("-m", "mkdocs", "build", "--strict", "--quiet")
    if not no_index:
        # One index per language: Pagefind reads each page's <html lang>.
        _run("-m", "pagefind", "--site", "site", "--silent")
    _run("-m", "whitenoise.compress", "--quiet", "site")
    click.echo(f"Site built in {time.perf_counter() - started:.1f} s: {ROOT / 'site'}")


def compile_catalogs() -> None:
    """Compile translations/*/LC_MESSAGES/messages.po to .mo (built, never committed)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in (ROOT / "forms_service" / "translations").glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as po:
            catalog = read_po(po)
        with po_path.with_suffix(".mo").open("wb") as mo:
            write_mo(mo, catalog)


@main.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
def serve(workers):
    """Serve the site and the forms service with gunicorn on 127.0.0.1:$PORT (8000)."""
    from .server import serve as run_server

    run_server(port=int(os.environ.get("PORT", "8000")), workers=workers)


# ---------------------------------------------------------------- staff accounts


@main.group()
def staff():
    """Staff accounts of the back office (no account exists until one is added)."""


def _db_and_app():
    from . import create_app, db

    app = create_app()
    return app, db.connect(app.config["PORTAL_DB"])


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return click.get_text_stream("stdin").readline().rstrip("\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _operator() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


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
    from . import auth

    _app, database = _db_and_app()
    try:
        auth.add_user(database, username, role, _password(password_stdin), actor=_operator())
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
    from . import auth

    _app, database = _db_and_app()
    try:
        auth.set_active(database, username, False, actor=_operator())
    except auth.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"disabled {username}")


@staff.command("enable")
@click.argument("username")
def staff_enable(username):
    """Enable a disabled user."""
    from . import auth

    _app, database = _db_and_app()
    auth.set_active(database, username, True, actor=_operator())
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
    from . import auth

    _app, database = _db_and_app()
    try:
        auth.set_password(database, username, _password(password_stdin), actor=_operator())
        if reset_totp:
            auth.clear_totp(database, username, actor=_operator())
    except auth.AccountError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"password reset for {username}")


@staff.command("list")
def staff_list():
    """List staff users."""
    from . import auth

    _app, database = _db_and_app()
    for user in auth.users(database):
        state = "active" if user["active"] else "disabled"
        totp = "2fa" if user["totp_secret"] else "-"
        click.echo(f"{user['username']}\t{user['role']}\t{state}\t{totp}")


register_export(main)
register_privacy(main)


# ---------------------------------------------------------------- mail


@main.group()
def outbox():
    """Confirmation e-mails waiting to be sent."""


@outbox.command("send")
def outbox_send():
    """Send (or retry) what waits in the outbox; run it from cron when SMTP is set."""
    from . import mail

    app, database = _db_and_app()
    sent = mail.send_pending(database, app.config, limit=500)
    click.echo(f"sent {sent}")


# ---------------------------------------------------------------- backups


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
def backup_command(file):
    """Write a consistent backup (database and documents) while the service runs."""
    from . import backup
    from .config import from_environment

    settings = from_environment()
    manifest = backup.backup(settings["PORTAL_DB"], settings["PORTAL_UPLOADS"], file)
    counts = ", ".join(f"{k} {v}" for k, v in manifest["counts"].items())
    click.echo(f"backup written to {file}: {counts}, {len(manifest['documents'])} documents")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def restore_command(file):
    """Restore a backup into an empty data folder (PORTAL_DB and PORTAL_UPLOADS)."""
    from . import backup
    from .config import from_environment

    # Restoring signs nothing: a throwaway key keeps from_environment() from creating one.
    settings = from_environment({"SECRET_KEY": secrets.token_hex(16)})
    try:
        manifest = backup.restore(file, settings["PORTAL_DB"], settings["PORTAL_UPLOADS"])
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {file} (taken {manifest['created_at']}): integrity ok, documents ok")


if __name__ == "__main__":
    main()
