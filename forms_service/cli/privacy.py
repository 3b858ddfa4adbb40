"""`portal purge` and `portal subject export|erase`: retention and data-subject requests (PDPL).

Every run is recorded in the audit trail (counts only, never who or which person).
"""

from contextlib import closing

import click

from .. import clock, retention, subjects
from ..files import open_private
from .common import app_and_db, operator


@click.command("purge")
@click.option("--dry-run", is_flag=True, help="Show what would be done; change nothing.")
@click.option(
    "--rejected-months",
    type=click.IntRange(min=0),
    help="Rejected, withdrawn and duplicate requests: months after their last change.",
)
@click.option(
    "--declined-volunteer-months",
    type=click.IntRange(min=0),
    help="Declined volunteers: months after their last change.",
)
@click.option(
    "--feedback-contact-months",
    type=click.IntRange(min=0),
    help="Feedback: months after which its contact details are removed (ratings stay).",
)
def purge_command(dry_run, rejected_months, declined_volunteer_months, feedback_contact_months):
    """Delete or anonymise what the retention schedule (facts.yml) says is due, with files."""
    schedule = retention.schedule_from_facts(
        **{
            retention.REQUESTS: rejected_months,
            retention.VOLUNTEERS: declined_volunteer_months,
            retention.FEEDBACK: feedback_contact_months,
        }
    )
    app, database = app_and_db()
    uploads = app.config["PORTAL_UPLOADS"]
    now = clock.now_utc()
    with closing(database):
        if dry_run:
            plan = retention.purge_plan(database, now, schedule, uploads)
            click.echo(f"Dry run at {plan.now}: nothing changed.")
            for line in plan.lines(done=False):
                click.echo(line)
            return
        report = retention.purge(database, now, schedule, uploads, operator())
    plan = report["plan"]
    click.echo(f"Purge at {plan.now} (recorded in the audit trail):")
    for line in plan.lines(done=True):
        click.echo(line)
    click.echo(
        f"audit notes and reasons anonymised: {report['events_anonymised']}; "
        f"files removed from disk: {report['files_removed']}"
    )


def _identifier_options(command):
    command = click.option("--mobile", help="Saudi mobile number, in any writing.")(command)
    return click.option("--national-id", help="National ID or iqama number.")(command)


def _check_one(national_id, mobile):
    if bool(national_id) == bool(mobile):
        raise click.UsageError("Give exactly one of --national-id or --mobile.")


@click.group("subject")
def subject():
    """Data-subject requests: everything held about one person, exported or erased."""


@subject.command("export")
@_identifier_options
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="File (default: stdout).")
def subject_export_command(national_id, mobile, output):
    """Write everything held about a person as JSON (documents listed with their SHA-256)."""
    _check_one(national_id, mobile)
    _app, database = app_and_db()
    with closing(database):
        try:
            document = subjects.subject_export(
                database, national_id=national_id, mobile=mobile, actor=operator()
            )
        except subjects.SubjectError as error:
            raise click.BadParameter(str(error)) from error
    text = subjects.to_json(document) + "\n"
    if output:
        with open_private(output, "w", encoding="utf-8") as out:  # 0600 whatever the umask
            out.write(text)
        click.echo(f"{len(document['cases'])} cases → {output}", err=True)
    else:
        click.echo(text, nl=False)


@subject.command("erase")
@_identifier_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def subject_erase_command(national_id, mobile, yes):
    """Remove everything held about a person; the audit trail stays, anonymised."""
    _check_one(national_id, mobile)
    app, database = app_and_db()
    with closing(database):
        try:
            cases = subjects.subject_cases(database, national_id=national_id, mobile=mobile)
            drafts = subjects.subject_drafts(database, national_id=national_id, mobile=mobile)
        except subjects.SubjectError as error:
            raise click.BadParameter(str(error)) from error
        if (cases or drafts) and not yes:
            click.confirm(
                f"Erase {len(cases)} cases with their orphans and documents, and "
                f"{len(drafts)} requests in progress? (cannot be undone)",
                abort=True,
            )
        report = subjects.subject_erase(
            database,
            app.config["PORTAL_UPLOADS"],
            national_id=national_id,
            mobile=mobile,
            actor=operator(),
        )
    click.echo(
        f"erased {report['cases']} cases, {report['orphans']} orphans, "
        f"{report['documents']} documents ({report['files_removed']} files removed), "
        f"{report['outbox']} queued e-mails, {report['drafts']} requests in progress; "
        f"{report['events_anonymised']} audit notes "
        "anonymised; recorded in the audit trail"
    )


def register(group: click.Group) -> None:
    group.add_command(purge_command)
    group.add_command(subject)
