"""Backups taken while requests keep coming, restored into an empty folder, checked."""

import hashlib
import sqlite3
import threading

import pytest
from click.testing import CliRunner

from forms_service import backup, lifecycle, queue
from forms_service.cli import common, main
from forms_service.db import connect
from forms_service.uploads import StoredFile
from tests.forms.helpers import submit_assistance


def test_backup_during_writes_then_restore(app, tmp_path):
    client = app.test_client()
    for _ in range(3):
        submit_assistance(client, "ar")
    stop = threading.Event()

    def keep_writing():
        writer = connect(app.config["PORTAL_DB"])
        with app.test_request_context():
            while not stop.is_set():
                queue.submit(
                    writer, kind=lifecycle.Kind.FEEDBACK, lang="ar", fields={"channel": "website"}
                )
        writer.close()

    thread = threading.Thread(target=keep_writing)
    thread.start()
    try:
        archive = tmp_path / "backup.tar.gz"
        manifest = backup.backup(
            app.config["PORTAL_DB"], app.config["PORTAL_UPLOADS"], str(archive)
        )
    finally:
        stop.set()
        thread.join()
    restored = tmp_path / "restored"
    backup.restore(str(archive), str(restored / "portal.sqlite3"), str(restored / "uploads"))
    db = sqlite3.connect(restored / "portal.sqlite3")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    for table, count in manifest["counts"].items():
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count  # noqa: S608
    # Every submission in the copy has its audit event (same transaction, same snapshot).
    assert (
        db.execute(
            "SELECT count(*) FROM submissions s WHERE NOT EXISTS (SELECT 1 FROM events e "
            "WHERE e.submission_id = s.id AND e.action = 'submitted')"
        ).fetchone()[0]
        == 0
    )
    documents = db.execute("SELECT stored_name, sha256 FROM documents").fetchall()
    assert len(documents) == 9
    for name, sha in documents:
        assert hashlib.sha256((restored / "uploads" / name).read_bytes()).hexdigest() == sha


def test_restore_refuses_a_folder_in_use(app, tmp_path):
    archive = tmp_path / "b.tar.gz"
    backup.backup(app.config["PORTAL_DB"], app.config["PORTAL_UPLOADS"], str(archive))
    with pytest.raises(backup.BackupError):
        backup.restore(str(archive), app.config["PORTAL_DB"], app.config["PORTAL_UPLOADS"])


def test_a_tampered_document_is_caught(app, tmp_path):
    db = connect(app.config["PORTAL_DB"])
    uploads = tmp_path / "up"
    uploads.mkdir()
    (uploads / "a.pdf").write_bytes(b"%PDF-1.4 x")
    with app.test_request_context():
        receipt = queue.submit(db, kind=lifecycle.Kind.ASSISTANCE, lang="ar", fields={})
    queue.attach_document(
        db,
        receipt.submission_id,
        "id_card",
        StoredFile("a.pdf", "a.pdf", "application/pdf", 10, "0" * 64),
        actor="t",
    )
    archive = tmp_path / "b.tar.gz"
    backup.backup(app.config["PORTAL_DB"], str(uploads), str(archive))
    with pytest.raises(backup.BackupError, match="SHA-256"):
        backup.restore(str(archive), str(tmp_path / "r" / "p.sqlite3"), str(tmp_path / "r" / "up"))


def test_backup_and_restore_commands(app, tmp_path, monkeypatch):
    submit_assistance(app.test_client(), "en")
    monkeypatch.setenv("PORTAL_DB", app.config["PORTAL_DB"])
    monkeypatch.setenv("PORTAL_UPLOADS", app.config["PORTAL_UPLOADS"])
    monkeypatch.setenv("PORTAL_SECRET_KEY", "test")
    runner = CliRunner()
    # In cron (no terminal) a backup says nothing unless it fails.
    result = runner.invoke(main, ["backup", str(tmp_path / "quiet.tar.gz")])
    assert result.exit_code == 0, result.output
    assert result.output == ""
    # At a terminal: a progress bar, then what was written.
    monkeypatch.setattr(common, "on_terminal", lambda: True)
    result = runner.invoke(main, ["backup", str(tmp_path / "b.tar.gz")])
    assert result.exit_code == 0, result.output
    assert "Backing up" in result.stderr
    assert "submissions 1" in result.stderr and "3 documents" in result.stderr
    monkeypatch.setenv("PORTAL_DB", str(tmp_path / "new" / "portal.sqlite3"))
    monkeypatch.setenv("PORTAL_UPLOADS", str(tmp_path / "new" / "uploads"))
    result = runner.invoke(main, ["restore", str(tmp_path / "b.tar.gz")])
    assert result.exit_code == 0, result.output
    assert "integrity ok" in result.output
