"""Exports: 1,000 requests out as CSV, XLSX and JSON, read back; hostile cells stay inert."""

import csv
import datetime as dt
import getpass
import io
import json
import random
import re

import click
import openpyxl
import pytest
from click.testing import CliRunner

from forms_service import clock, export, export_writers, listing, queue
from forms_service import db as dbm
from forms_service.cli import common
from forms_service.cli.export import register
from forms_service.identifiers import display_mobile, format_reference
from forms_service.lifecycle import Kind
from tests.conftest import SITE, make_app

ROWS = 1000
START = dt.datetime(2026, 1, 1, 6, 0, tzinfo=dt.UTC)
DANGER = ("=", "+", "-", "@", "\t", "\r")
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "+cmd",
    "-1",
    "@SUM(A1)",
    "\tعبدالله محمد",
    "<script>alert(1)</script>",
    "\u202eفاطمة علي",
    "\r=1+1",
]
FIRST = ["فاطمة", "نورة", "مريم", "هند", "سارة", "عائشة", "خديجة", "أمل", "ريم", "هيفاء"]
MIDDLE = ["محمد", "أحمد", "عبدالله", "سعد", "فهد", "علي", "خالد", "عمر", "يوسف", "إبراهيم"]
FAMILY = ["الزهراني", "الغامدي", "الحربي", "العتيبي", "القحطاني", "الشهري", "المالكي"]
CODES = {
    "nationality": ["saudi", "non_saudi"],
    "marital_status": ["widowed", "divorced", "married", "single"],
    "relation_to_orphans": ["mother", "grandmother", "uncle_aunt", "guardian"],
    "housing": ["owned", "rented", "with_relatives", "other"],
    "income_sources": ["social_security", "pension", "work", "alimony", "charity"],
    "support_type": ["financial", "food", "education", "health", "housing", "clothing"],
}
# Where each value is in an assistance export, and some headers the catalog already has.
KEY = {column.key: n for n, column in enumerate(export_writers.COLUMNS[Kind.ASSISTANCE])}
AR_HEADERS = {
    "created_at": "تاريخ الاستلام (بتوقيت الرياض)",
    "full_name": "الاسم الكامل",
    "national_id": "رقم الهوية الوطنية أو الإقامة",
    "data.birth_date": "تاريخ الميلاد",
    "data.nationality": "الجنسية",
    "mobile": "رقم الجوال",
    "data.district": "الحي",
    "data.income_sources": "مصادر الدخل",
}
WORDS = ("state", "channel", "lang", "data.nationality", "data.marital_status", "data.housing")


def riyadh(stored: str) -> dt.datetime:
    """A stored UTC time as a naive Riyadh time (UTC+3 all year), as the exports write it."""
    return dt.datetime.fromisoformat(stored).replace(tzinfo=None) + dt.timedelta(hours=3)


def name(rng) -> str:
    return " ".join([rng.choice(FIRST), *rng.sample(MIDDLE, 2), rng.choice(FAMILY)])


def family(i: int, rng) -> tuple[dict, list]:
    hostile = HOSTILE[(i // 25) % len(HOSTILE)] if i % 25 == 0 else None
    children = [
        {
            "name": hostile if hostile and n == 0 else name(rng),
            "birth_date": dt.date(2008 + rng.randrange(17), 1 + rng.randrange(12), 15).isoformat(),
            "gender": rng.choice(["female", "male"]),
            "school_stage": rng.choice(["primary", "intermediate", "secondary", "kindergarten"]),
        }
        for n in range(i % 4)
    ]
    fields = {
        "full_name": hostile or name(rng),
        "national_id": f"1{i:09d}",
        "mobile": f"+9665{rng.randrange(10**8):08d}",
        "email": f"family{i}@example.com" if i % 3 else None,
        "birth_date": dt.date(1960 + rng.randrange(40), 1 + rng.randrange(12), 1).isoformat(),
        "city": "الجموم",
        "district": hostile or "حي النزهة",
        "family_size": len(children) + 1 + rng.randrange(4),
        "monthly_income": rng.randrange(0, 9000),
        "description": (hostile or "") + "نحتاج دعمًا لتعليم الأطفال.",
        **{key: rng.choice(CODES[key]) for key in ("nationality", "marital_status")},
        **{key: rng.choice(CODES[key]) for key in ("relation_to_orphans", "housing")},
        "income_sources": rng.sample(CODES["income_sources"], 1 + rng.randrange(2)),
        "support_type": rng.sample(CODES["support_type"], 1 + rng.randrange(3)),
    }
    return fields, children


@pytest.fixture(scope="module")
def big(site_dir, tmp_path_factory):
    """1,000 support requests through queue.submit(), shared by the read-back tests."""
    app = make_app(tmp_path_factory.mktemp("export"))
    database = dbm.connect(app.config["PORTAL_DB"])
    database.execute("PRAGMA synchronous = OFF")  # test speed only: one fsync per submit
    rng, seeded = random.Random(7), {}
    with app.test_request_context():
        for i in range(ROWS):
            fields, children = family(i, rng)
            receipt = queue.submit(
                database,
                kind=Kind.ASSISTANCE,
                lang="ar",
                fields=fields,
                orphans=tuple(children),
                answer_days=14,
                at=START + dt.timedelta(minutes=37 * i),
            )
            seeded[receipt.reference] = (receipt, fields, children)
            if i % 7 == 3:
                queue.transition(
                    database, receipt.submission_id, "verifying", actor="t", role="officer"
                )
    yield app, database, seeded
    database.close()


def run_export(app, database, fmt, lang="ar", kind=Kind.ASSISTANCE, **filters) -> bytes:
    out = io.BytesIO()
    with app.test_request_context():
        export.write_file(database, listing.Filters(kind, **filters), fmt, lang, out, "tester")
    return out.getvalue()


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def in_xlsx(value: str) -> str:
    """A value as a neutralised XLSX cell reads back in openpyxl, which leaves the carriage
    return XlsxWriter writes as _x000D_ (Excel and Calc read it back as one:
    test_export_spreadsheet.py)."""
    value = "'" + value if value.startswith(DANGER) else value
    return value.replace("\r", "_x000D_")


def plain(cell: str) -> str:
    """The value behind a neutralised cell."""
    return cell[1:] if cell.startswith("'") and cell[1:].startswith(DANGER) else cell


# ---------------------------------------------------------------- CSV


def test_csv_reads_back_in_arabic_with_formulas_neutralised(big):
    app, database, seeded = big
    header, *rows = read_csv(run_export(app, database, "csv"))
    assert len(rows) == ROWS
    assert {key: header[KEY[key]] for key in AR_HEADERS} == AR_HEADERS
    for row in rows:
        assert len(row) == len(header)
        assert not [cell for cell in row if cell.startswith(DANGER)], row
        receipt, fields, children = seeded[row[0].replace("-", "")]
        assert row[0] == format_reference(receipt.reference)
        assert row[KEY["created_at"]] == f"{riyadh(receipt.created_at):%Y-%m-%d %H:%M}"
        assert plain(row[KEY["full_name"]]) == fields["full_name"]
        assert plain(row[KEY["data.district"]]) == fields["district"]
        assert plain(row[KEY["data.description"]]) == fields["description"]
        assert row[KEY["national_id"]] == fields["national_id"]
        assert row[KEY["mobile"]] == display_mobile(fields["mobile"])
        assert row[KEY["data.birth_date"]] == fields["birth_date"]
        assert row[KEY["data.nationality"]] in ("سعودي", "غير سعودي")
        assert len(row[KEY["data.income_sources"]].split("، ")) == len(fields["income_sources"])
        assert row[KEY["orphans"]] == str(len(children))
        assert row[KEY["data.monthly_income"]] == str(fields["monthly_income"])
    names = {row[KEY["full_name"]] for row in rows}
    assert {"'" + h for h in HOSTILE if h.startswith(DANGER)} <= names
    assert {h for h in HOSTILE if not h.startswith(DANGER)} <= names


def test_every_arabic_header_and_word_is_arabic(big):
    """Fails when the catalog misses an export header (Flask-Babel falls back silently)."""
    app, database, _ = big
    header, *rows = read_csv(run_export(app, database, "csv"))
    english = [cell for cell in header if re.search(r"[A-Za-z]", cell)]
    assert english == [], f"add to messages.po: {english}"
    words = {row[KEY[key]] for row in rows for key in WORDS}
    assert [word for word in words if re.search(r"[A-Za-z]", word)] == []


# ---------------------------------------------------------------- XLSX


def test_xlsx_is_right_to_left_with_dates_and_a_sheet_of_orphans(big, tmp_path):
    app, database, seeded = big
    path = tmp_path / "export.xlsx"
    path.write_bytes(run_export(app, database, "xlsx"))
    book = openpyxl.load_workbook(path)
    main, kids = book.worksheets
    assert kids.title == "الأيتام"
    for sheet in (main, kids):
        assert sheet.sheet_view.rightToLeft is True
        assert sheet.freeze_panes == "A2"
        assert all(cell.font.b for cell in sheet[1])
        assert sheet.column_dimensions["B"].width > 8
    header = [cell.value for cell in main[1]]
    assert {key: header[KEY[key]] for key in AR_HEADERS} == AR_HEADERS
    rows = list(main.iter_rows(min_row=2, values_only=True))
    assert len(rows) == ROWS
    for row in rows:
        receipt, fields, _ = seeded[row[0].replace("-", "")]
        assert isinstance(row[1], dt.datetime)
        assert row[1] == riyadh(receipt.created_at)
        birth = row[KEY["data.birth_date"]]
        assert isinstance(birth, dt.datetime) and birth.date().isoformat() == fields["birth_date"]
        assert row[KEY["full_name"]] == in_xlsx(fields["full_name"])
        assert row[KEY["data.description"]] == in_xlsx(fields["description"])
        assert row[KEY["national_id"]] == fields["national_id"]
        assert row[KEY["data.monthly_income"]] == fields["monthly_income"]
        assert row[KEY["orphans"]] == len(seeded[row[0].replace("-", "")][2])
        assert not [c for c in row if isinstance(c, str) and c.startswith(DANGER)]
    assert all(cell.data_type != "f" for row in main.iter_rows() for cell in row)
    children = list(kids.iter_rows(min_row=2, values_only=True))
    assert len(children) == sum(len(c) for _, _, c in seeded.values())
    seen = {}
    for reference, child_name, birth, gender, stage in children:
        position = seen[reference] = seen.get(reference, -1) + 1
        expected = seeded[reference.replace("-", "")][2][position]
        assert child_name == in_xlsx(expected["name"])
        assert birth.date().isoformat() == expected["birth_date"]
        assert gender in ("أنثى", "ذكر") and stage


# ---------------------------------------------------------------- JSON


def test_json_keeps_codes_iso_dates_arabic_and_nested_orphans(big):
    app, database, seeded = big
    raw = run_export(app, database, "json").decode("utf-8")
    assert "الجموم" in raw and "\\u06" not in raw
    items = json.loads(raw)
    assert len(items) == ROWS
    for item in items:
        receipt, fields, children = seeded[item["reference"]]
        assert item["created_at"] == receipt.created_at
        assert item["full_name"] == fields["full_name"]
        assert item["national_id"] == fields["national_id"]
        assert item["data"]["nationality"] == fields["nationality"]
        assert item["data"]["support_type"] == fields["support_type"]
        assert item["orphans"] == children
        assert item["state"] in ("received", "verifying")
        assert "form_key" not in item and "name_norm" not in item


def test_a_filtered_export_keeps_each_requests_own_orphans(big):
    app, database, seeded = big
    items = json.loads(run_export(app, database, "json", state="verifying"))
    assert len(items) == len([i for i in range(ROWS) if i % 7 == 3])
    for item in items:
        assert item["orphans"] == seeded[item["reference"]][2]


def test_records_skip_orphans_of_rows_not_exported():
    rows = [{"id": 2, "created_at": "b", "data": "{}"}, {"id": 4, "created_at": "d", "data": "{}"}]
    orphans = [
        {"submission_id": sid, "submitted_at": at, "name": name}
        for sid, at, name in [(1, "a", "x"), (2, "b", "y"), (3, "c", "z"), (4, "d", "w")]
    ]
    merged = [[o["name"] for o in r["orphans"]] for r in export_writers.records(rows, orphans)]
    assert merged == [["y"], ["w"]]


# ---------------------------------------------------------------- the audit trail


def test_an_export_is_one_event_with_the_count_and_no_personal_data(big):
    app, database, seeded = big
    before = database.execute("SELECT max(id) FROM events").fetchone()[0]
    run_export(app, database, "csv", state="received", since=dt.date(2026, 1, 1))
    events = list(database.query("SELECT * FROM events WHERE id > ?", [before]))
    assert len(events) == 1
    event = events[0]
    assert (event["action"], event["actor"], event["submission_id"]) == ("export", "tester", None)
    detail = json.loads(event["detail"])
    received = len([i for i in range(ROWS) if i % 7 != 3])
    assert detail == {
        "kind": "assistance",
        "format": "csv",
        "lang": "ar",
        "filters": {"state": "received", "since": "2026-01-01"},
        "rows": received,
    }
    for _, fields, _ in seeded.values():
        for value in (fields["full_name"], fields["national_id"], fields["mobile"]):
            assert value not in event["detail"]


# ---------------------------------------------------------------- English, other kinds


def seed_small(app, db):
    with app.test_request_context():
        queue.submit(
            db,
            kind=Kind.ASSISTANCE,
            lang="en",
            fields={
                "full_name": "Fatima Mohammed Ahmed Alzahrani",
                "national_id": "1000000008",
                "mobile": "+966512345678",
                "nationality": "saudi",
                "marital_status": "widowed",
                "support_type": ["financial", "food"],
            },
        )
        queue.submit(
            db,
            kind=Kind.VOLUNTEER,
            lang="ar",
            fields={
                "full_name": "نورة سعد",
                "gender": "female",
                "skills": ["teaching", "it"],
                "availability": {"days": ["sat", "sun"], "times": ["evening"]},
                "hours_per_week": 4,
            },
        )
        queue.submit(
            db,
            kind=Kind.FEEDBACK,
            lang="ar",
            fields={"channel": "phone", "rating_overall": 5, "may_contact": True},
        )


def test_english_export_has_english_headers_and_words(app, db):
    seed_small(app, db)
    header, row = read_csv(run_export(app, db, "csv", lang="en"))
    values = dict(zip(header, row, strict=True))
    assert values["Full name"] == "Fatima Mohammed Ahmed Alzahrani"
    assert values["Nationality"] == "Saudi"
    assert values["Marital status"] == "Widowed"
    assert values["Support needed"] == "Financial support, Food"
    assert values["Channel"] == "The association's website"
    assert values["Language"] == "English"
    header, row = read_csv(run_export(app, db, "csv", lang="en", kind=Kind.VOLUNTEER))
    values = dict(zip(header, row, strict=True))
    assert (values["Days"], values["Times"], values["Hours a week"]) == (
        "Saturday, Sunday",
        "Evenings",
        "4",
    )
    assert values["Skills"] == "Teaching and tutoring, Computers and technology"
    header, row = read_csv(run_export(app, db, "csv", lang="en", kind=Kind.FEEDBACK))
    values = dict(zip(header, row, strict=True))
    assert (values["Overall satisfaction"], values["May be contacted"]) == ("5", "Yes")
    assert values["How they dealt with the association"] == "Phone calls"


def test_arabic_words_and_separator_for_volunteers(app, db):
    seed_small(app, db)
    _, row = read_csv(run_export(app, db, "csv", kind=Kind.VOLUNTEER))
    assert "السبت، الأحد" in row and "أنثى" in row
    book = openpyxl.load_workbook(io.BytesIO(run_export(app, db, "xlsx", kind=Kind.VOLUNTEER)))
    assert len(book.worksheets) == 1 and book.active.sheet_view.rightToLeft
    english = openpyxl.load_workbook(
        io.BytesIO(run_export(app, db, "xlsx", lang="en", kind=Kind.FEEDBACK))
    )
    assert not english.active.sheet_view.rightToLeft


# ---------------------------------------------------------------- the view and the command


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx"])
def test_the_download_is_an_uncached_attachment(app, db, signed_in, fmt):
    seed_small(app, db)
    response = signed_in("committee").get(f"/staff/assistance/export.{fmt}")
    assert response.status_code == 200
    today = clock.now_utc().date().isoformat()
    assert f'filename="assistance-{today}.{fmt}"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.mimetype == export_writers.MIMETYPES[fmt].split(";")[0]
    assert response.get_data().startswith(
        {"csv": b"\xef\xbb\xbf", "json": b"[", "xlsx": b"PK"}[fmt]
    )


def test_command_line_export_to_a_file(app, db, tmp_path):
    seed_small(app, db)
    group = click.Group()
    register(group)
    env = {
        "PORTAL_DB": app.config["PORTAL_DB"],
        "PORTAL_SECRET_KEY": "test-only-key",
        "PORTAL_SITE": str(SITE),
        "PORTAL_VAR": str(tmp_path / "var"),
        "PORTAL_UPLOADS": str(tmp_path / "uploads"),
    }
    runner = CliRunner()
    out = tmp_path / "requests.csv"
    args = ["export", "--kind", "assistance", "--format", "csv", "--status", "received"]
    result = runner.invoke(group, [*args, "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    header, row = read_csv(out.read_bytes())
    assert AR_HEADERS["full_name"] in header and "Fatima Mohammed Ahmed Alzahrani" in row
    event = db.execute("SELECT actor, detail FROM events WHERE action = 'export'").fetchone()
    assert event[0] == f"cli:{getpass.getuser()}"
    assert json.loads(event[1])["rows"] == 1
    volunteers = ["export", "--kind", "volunteer", "--format"]
    result = runner.invoke(group, [*volunteers, "json", "--lang", "en"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["data"]["gender"] == "female"
    result = runner.invoke(group, [*volunteers, "xlsx"], env=env)
    assert result.exit_code == 2 and "-o FILE" in result.output
    result = runner.invoke(group, [*volunteers, "csv", "--status", "verifying"], env=env)
    assert result.exit_code == 2 and "received, contacted" in result.output


def test_command_line_xlsx_of_a_thousand_rows_shows_progress(big, tmp_path):
    app, _, _ = big
    group = click.Group()
    register(group)
    env = {"PORTAL_DB": app.config["PORTAL_DB"], "PORTAL_SECRET_KEY": "k", "PORTAL_SITE": str(SITE)}
    out = tmp_path / "requests.xlsx"
    args = ["export", "--kind", "assistance", "--format", "xlsx", "--lang", "en", "-o", str(out)]
    quiet = CliRunner().invoke(group, [*args[:-1], str(tmp_path / "cron.xlsx")], env=env)
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == ""  # no terminal (cron): nothing said
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(common, "on_terminal", lambda: True)
        result = CliRunner().invoke(group, args, env=env)
    assert result.exit_code == 0, result.output
    assert "Exporting" in result.stderr and f"{ROWS} rows" in result.stderr
    sheet = openpyxl.load_workbook(out, read_only=True).worksheets[0]
    assert sum(1 for _ in sheet.iter_rows(values_only=True)) == ROWS + 1
