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


def test_serving_without_a_built_site_says_so_plainly(tmp_path, monkeypatch):
    """Every form page is drawn in the site's shell: no site, no server, and a clear word."""
    from click.testing import CliRunner

    from forms_service.cli import main

    monkeypatch.setenv("PORTAL_SITE", str(tmp_path / "no-site"))
    monkeypatch.setenv("PORTAL_VAR", str(tmp_path / "var"))
    monkeypatch.setenv("PORTAL_DB", str(tmp_path / "var" / "portal.sqlite3"))
    monkeypatch.setenv("PORT", "0")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 1
    assert "The site is not built" in result.output and "portal build" in result.output
    assert not (tmp_path / "var" / "portal.sqlite3").exists()  # nothing started


def test_a_nested_write_is_a_savepoint_that_undoes_alone(tmp_path):
    """One commit for a whole submission: inner writes nest; a failed inner part undoes only
    itself; an outer failure undoes everything."""
    import pytest

    from forms_service import db as dbm

    path = str(tmp_path / "t.sqlite3")
    dbm.prepare(path)
    db = dbm.connect(path)
    db.execute("CREATE TABLE t (v TEXT)")
    with dbm.immediate(db):
        db.execute("INSERT INTO t VALUES ('outer')")
        with pytest.raises(ValueError), dbm.immediate(db):
            db.execute("INSERT INTO t VALUES ('inner, undone')")
            raise ValueError
        with dbm.immediate(db):
            db.execute("INSERT INTO t VALUES ('inner, kept')")
        assert db.conn.in_transaction  # nothing committed before the outer block ends
    assert [r[0] for r in db.execute("SELECT v FROM t ORDER BY rowid")] == ["outer", "inner, kept"]
    with pytest.raises(RuntimeError), dbm.immediate(db):
        with dbm.immediate(db):
            db.execute("INSERT INTO t VALUES ('lost with its outer block')")
        raise RuntimeError
    assert db.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    db.close()
