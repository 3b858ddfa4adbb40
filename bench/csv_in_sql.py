"""Could SQLite make the CSV's cells? A probe beside the bare dump, on the staff benchmark's data.

Usage: python bench/csv_in_sql.py --db FILE   (FILE: a database `bench/staff_bench.py --db`
seeded). Not the app's code: it asks how fast the support requests' CSV could be if every
cell were made by SQLite (json_extract for the data fields, CASE for the words, strftime for
Riyadh time, a correlated count for the orphans) and Python only handed tuples to
`csv.writer`, as the bare dump does. Three figures against the bare dump of the same run:
the query alone (nothing written), its CSV, and its CSV with the guards an exact version
needs (rows whose stored values are not as the queue writes them go to Python: the guards
find them). The lists of codes stay in Python in every variant (not timed here).
"""

import argparse
import csv
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NEUTRALISED = (
    "CASE WHEN substr({v},1,1) IN ('=','+','-','@',char(9),char(13)) THEN ''''||{v} ELSE {v} END"
)
ALNUM8 = "[0-9A-Z]" * 8


def quoted(text) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def cell_sql(db, writers, column, lang) -> str:
    from forms_service.registry import Type

    key = column.key
    src = f"s.{key}" if "." not in key else f"json_extract(s.data, '$.{key[5:]}')"
    shape = writers._shape(column)
    if key == "orphans":
        return "(SELECT count(*) FROM orphans o WHERE o.submission_id = s.id)"
    if shape in (writers._reference, Type.REFERENCE):
        return f"substr({src},1,3)||'-'||substr({src},4,3)||'-'||substr({src},7)"
    if shape is writers._moment:
        return f"strftime('%Y-%m-%d %H:%M', {src}, '+3 hours')"
    if shape in (writers._date, Type.DATE, Type.NUMBER):
        return src
    if shape == Type.MOBILE:
        return f"'0'||substr({src},5,2)||' '||substr({src},7,3)||' '||substr({src},10)"
    if shape == Type.CODES:
        return f"s.data -> '$.{key[5:]}'"
    if getattr(column.cell, "coded", False):
        if "." in key:
            codes = [c if isinstance(c, str) else c[0] for c in column.cell.field.codes]
        else:
            sql = f"SELECT DISTINCT {key} FROM submissions"  # noqa: S608 - a column's own name
            codes = [r[0] for r in db.execute(sql)]
        whens = " ".join(
            f"WHEN {quoted(c)} THEN {quoted(writers._csv_text(column.cell(c, lang)))}"
            for c in codes
            if c is not None
        )
        return f"CASE {src} {whens} END"
    return NEUTRALISED.format(v=src)


def guards() -> str:
    found = [
        f"NOT coalesce(s.reference GLOB '{ALNUM8}', 0)",
        "strftime('%Y-%m-%dT%H:%M:%SZ', s.created_at) IS NOT s.created_at",
        "s.answer_from IS NOT NULL AND date(s.answer_from) IS NOT s.answer_from",
        "s.mobile IS NOT NULL AND s.mobile NOT GLOB '+9665" + "[0-9]" * 8 + "'",
        "date(json_extract(s.data, '$.birth_date')) IS NOT json_extract(s.data, '$.birth_date')",
    ]
    found += [
        f"json_type(s.data, '$.{k}') IN ('true', 'false', 'array', 'object')"
        for k in ("city", "district", "description", "id_override_reason")
    ]
    found += [
        f"coalesce(json_type(s.data, '$.{k}'), 'null') NOT IN ('integer', 'null')"
        for k in ("family_size", "monthly_income")
    ]
    found += [
        f"json_extract(s.data, '$.{k}') NOT IN ('a', 'b', 'c', 'd', 'e')"
        for k in ("nationality", "marital_status", "relation_to_orphans", "housing")
    ]
    return "(" + " OR ".join(f"({g})" for g in found) + ")"


def timed(work) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from flask_babel import force_locale

    from forms_service import create_app
    from forms_service import export_writers as writers

    scratch = Path(tempfile.mkdtemp(prefix="csv-in-sql-"))
    app = create_app(
        {
            "PORTAL_DB": str(scratch / "app.db"),
            "SECRET_KEY": "probe",
            "PORTAL_SITE": str(ROOT / "site"),
        }
    )
    db = sqlite3.connect(args.db)
    where = "FROM submissions s WHERE s.kind = 'assistance' ORDER BY s.created_at, s.id"
    with app.test_request_context(), force_locale("ar"):
        cells = [cell_sql(db, writers, c, "ar") for c in writers.COLUMNS[writers.Kind.ASSISTANCE]]
    query = "SELECT " + ", ".join(cells) + " " + where
    guarded = "SELECT " + guards() + ", " + ", ".join(cells) + " " + where
    out = scratch / "out.csv"

    def bare():
        with out.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            cursor = db.execute(
                "SELECT * FROM submissions WHERE kind = 'assistance' ORDER BY created_at, id"
            )
            w.writerow([d[0] for d in cursor.description])
            for row in cursor:
                w.writerow(row)

    def query_only():
        for _row in db.execute(query):
            pass

    def sql_csv():
        with out.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f, lineterminator="\r\n").writerows(db.execute(query))

    def sql_csv_guarded():
        with out.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\r\n")
            cursor = db.execute(guarded)
            while batch := cursor.fetchmany(200):
                w.writerows([row[1:] for row in batch])

    from forms_service import export, listing
    from forms_service.db import connect

    portal_db = connect(args.db)

    def app_csv():
        with app.test_request_context(), force_locale("ar"), out.open("wb") as f:
            filters = listing.Filters(kind=writers.Kind.ASSISTANCE)
            export.write_file(portal_db, filters, "csv", "ar", f, "csv-in-sql probe")

    work = {
        "bare dump": bare,
        "the app's CSV (cells in Python, as shipped)": app_csv,
        "cells by SQLite, nothing written": query_only,
        "cells by SQLite, CSV written": sql_csv,
        "the same with the guards": sql_csv_guarded,
    }
    best = {name: min(timed(fn) for _ in range(args.rounds)) for name, fn in work.items()}
    print(f"SQLite {sqlite3.sqlite_version}, {os.cpu_count()} cores; fastest of {args.rounds}")
    print("| variant | seconds | × bare |\n| --- | --- | --- |")
    for name, seconds in best.items():
        print(f"| {name} | {seconds:.2f} | {seconds / best['bare dump']:.2f} |")
    out.unlink()


if __name__ == "__main__":
    main()
