"""Workers start together on a new database: none may fail with "database is locked"."""

import multiprocessing

from forms_service import db


def _prepare(path: str) -> str:
    db.prepare(path)
    return "ok"


def test_many_processes_prepare_one_new_database(tmp_path):
    path = str(tmp_path / "new.sqlite3")
    with multiprocessing.get_context("fork").Pool(6) as pool:
        assert pool.map(_prepare, [path] * 12) == ["ok"] * 12
    connection = db.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
