"""db.insert: the rows the portal writes, stored as sqlite-utils stored them, without its
look-ups of the schema; names that are not the portal's never reach the SQL."""

import datetime as dt

import pytest

from forms_service import db as dbm


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "portal.sqlite3")
    dbm.prepare(path)
    database = dbm.connect(path)
    yield database
    database.close()


def test_values_are_stored_as_sqlite_utils_stores_them(db):
    row = {
        "action": "note",
        "actor": "officer1",
        "submission_id": None,
        "detail": {"text": "أرسلي صورة الهوية", "kinds": ["lease"]},
        "at": dt.datetime(2026, 12, 2, 9, 0),
    }
    rowid = dbm.insert(db, "events", row)
    with db.conn:
        db.table("events").insert({**row, "actor": "officer2"})
    mine, theirs = db.execute(
        "SELECT detail, at FROM events WHERE id IN (?, ?) ORDER BY id", [rowid, rowid + 1]
    ).fetchall()
    assert mine == theirs
    assert mine[0] == '{"text": "أرسلي صورة الهوية", "kinds": ["lease"]}'


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("sqlite_master", {"name": "x"}),
        ("events; DROP TABLE events", {"action": "x"}),
        ("events", {"action) VALUES (1); DROP TABLE events; --": "x"}),
        ("events", {"Action": "x"}),
    ],
)
def test_a_name_that_is_not_the_portals_is_refused(db, table, row):
    with pytest.raises(ValueError, match="not a table or column"):
        dbm.insert(db, table, row)
    assert db.execute("SELECT count(*) FROM events").fetchone() == (0,)


def test_a_column_that_is_not_there_is_an_error(db):
    with pytest.raises(Exception, match="no column"):
        dbm.insert(db, "events", {"action": "x", "actor": "y", "at": "z", "colour": "red"})
