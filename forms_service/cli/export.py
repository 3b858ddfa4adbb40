"""`portal export`: the same exports as the back office, from the command line, recorded."""

from contextlib import ExitStack

import click
from flask_babel import force_locale

from .. import create_app, db, export, listing
from ..files import open_private
from ..lifecycle import STATES_OF, Kind
from .common import operator, progress, say


@click.command("export")
@click.option("--kind", type=click.Choice([str(k) for k in Kind]), required=True)
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), required=True)
@click.option("--status", default="", help="Only requests in this state, e.g. committee.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Received on or after (UTC).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Received on or before (UTC).")
@click.option("--lang", type=click.Choice(["ar", "en"]), default="ar", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
def export_command(kind, fmt, status, since, until, lang, output):
    """Export requests as CSV, XLSX or JSON; every export is recorded in the audit trail."""
    kind = Kind(kind)
    if status and status not in STATES_OF[kind]:
        choices = ", ".join(STATES_OF[kind])
        raise click.BadParameter(
            f"{status!r} is not a state of {kind}: {choices}", param_hint="--status"
        )
    if fmt == "xlsx" and not output:
        raise click.UsageError("XLSX is a binary file: give one with -o FILE.")

    app = create_app()
    filters = listing.Filters(
        kind=kind,
        state=status,
        since=since.date() if since else None,
        until=until.date() if until else None,
    )
    actor = operator()
    database = db.connect(app.config["PORTAL_DB"])
    with ExitStack() as stack:
        stack.callback(database.close)
        stack.enter_context(app.test_request_context())
        stack.enter_context(force_locale(lang))
        # A file holds personal data: 0600 whatever the umask. No file: stdout.
        out = stack.enter_context(open_private(output) if output else click.open_file("-", "wb"))
        if output is None:
            export.write_file(database, filters, fmt, lang, out, actor)
            return
        total = export.count(database, filters)
        bar = stack.enter_context(progress("Exporting"))
        written = export.write_file(
            database, filters, fmt, lang, out, actor, lambda n: bar(n, total)
        )
    say(f"{written} rows → {output}")


def register(group: click.Group) -> None:
    group.add_command(export_command)
