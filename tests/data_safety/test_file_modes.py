"""What holds personal data is the owner's alone: files 0600, folders 0700, whatever the umask.

Each command runs under the usual umask (022), which on its own would leave files 0644.
"""

import hashlib
import os
import secrets
import stat
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from forms_service import lifecycle, queue
from forms_service.cli import main
from forms_service.db import connect
from forms_service.uploads import StoredFile
from tests.conftest import SITE, make_app
from tests.forms.helpers import PDF, VALID_ID, submit_assistance


@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private_tree(top: Path) -> None:
    """Every folder under `top` (itself included) 0700, every file 0600."""
    assert mode(top) == 0o700, top
    for path in top.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path


def seed(app) -> None:
    """One support request with three documents (files written as uploads.store() names them)."""
    uploads = Path(app.config["PORTAL_UPLOADS"])
    uploads.mkdir(parents=True, exist_ok=True)
    db = connect(app.config["PORTAL_DB"])
    fields = {"full_name": "فاطمة محمد", "national_id": VALID_ID, "mobile": "+966512345678"}
    with app.test_request_context():
        receipt = queue.submit(db, kind=lifecycle.Kind.ASSISTANCE, lang="ar", fields=fields)
        for kind in ("id_card", "death_certificate", "family_record"):
            stored_name = secrets.token_hex(16) + ".pdf"
            (uploads / stored_name).write_bytes(PDF)
            digest = hashlib.sha256(PDF).hexdigest()
            stored = StoredFile("x.pdf", stored_name, "application/pdf", len(PDF), digest)
            queue.attach_document(db, receipt.submission_id, kind, stored, actor="officer1")
    db.close()


@pytest.fixture
def portal(usual_umask, app, tmp_path):
    """`portal …` in-process on the app's data, with one support request and its documents."""
    seed(app)
    env = {
        "PORTAL_DB": app.config["PORTAL_DB"],
        "PORTAL_UPLOADS": app.config["PORTAL_UPLOADS"],
        "PORTAL_SECRET_KEY": "test-only-key",
        "PORTAL_SITE": str(SITE),
        "PORTAL_VAR": str(tmp_path / "var"),
    }
    runner = CliRunner()

    def run(*args, **env_changes):
        result = runner.invoke(main, list(args), env={**env, **env_changes})
        assert result.exit_code == 0, result.output
        return result

    return run


def test_a_backup_archive_and_its_members_are_private(portal, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    portal("backup", str(archive))
    assert mode(archive) == 0o600
    with tarfile.open(archive) as members:
        assert {(m.name, m.mode) for m in members} == {(m.name, 0o600) for m in members}
    assert not list(tmp_path.glob("*.partial"))


def test_a_restore_writes_private_files_and_folders(portal, tmp_path):
    archive = tmp_path / "backup.tar.gz"
    portal("backup", str(archive))
    new = tmp_path / "new"
    portal(
        "restore",
        str(archive),
        PORTAL_DB=str(new / "data" / "portal.sqlite3"),
        PORTAL_UPLOADS=str(new / "data" / "uploads"),
    )
    assert len(list((new / "data" / "uploads").iterdir())) == 3
    assert_private_tree(new)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json"])
def test_an_export_file_is_private(portal, tmp_path, fmt):
    out = tmp_path / f"requests.{fmt}"
    portal("export", "--kind", "assistance", "--format", fmt, "-o", str(out))
    assert mode(out) == 0o600 and out.stat().st_size > 0


def test_an_export_over_an_existing_readable_file_makes_it_private(portal, tmp_path):
    out = tmp_path / "requests.csv"
    out.write_text("old")
    out.chmod(0o644)
    portal("export", "--kind", "assistance", "--format", "csv", "-o", str(out))
    assert mode(out) == 0o600 and "old" not in out.read_text(encoding="utf-8-sig")


def test_a_subject_export_file_is_private(portal, tmp_path):
    out = tmp_path / "person.json"
    portal("subject", "export", "--national-id", VALID_ID, "-o", str(out))
    assert mode(out) == 0o600 and VALID_ID in out.read_text(encoding="utf-8")


def test_the_database_the_portal_creates_is_private(usual_umask, site_dir, tmp_path):
    data = tmp_path / "var" / "data"
    app = make_app(tmp_path, PORTAL_DB=str(data / "portal.sqlite3"))
    connect(app.config["PORTAL_DB"]).execute("SELECT count(*) FROM submissions").fetchall()
    assert {p.name for p in data.iterdir()} >= {"portal.sqlite3"}
    assert_private_tree(tmp_path / "var")


def test_the_uploads_folder_an_applicant_fills_is_private(usual_umask, site_dir, tmp_path):
    """PORTAL_UPLOADS set apart from var/ (its parents missing): the documents' folders the
    first upload creates are 0700, as every document in them is 0600."""
    top = tmp_path / "documents"
    app = make_app(tmp_path, PORTAL_UPLOADS=str(top / "portal" / "uploads"))
    page = submit_assistance(app.test_client())
    assert page.status_code == 200
    assert list((top / "portal" / "uploads").iterdir())  # the documents, and their drafts'
    assert_private_tree(top)
