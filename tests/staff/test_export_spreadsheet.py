"""Exports in a real spreadsheet program, and the fast cells against their definition.

LibreOffice Calc (headless) opens a small XLSX and CSV export and saves what it understood
as flat ODF (.fods): the Arabic text, the right-to-left sheet, real dates and a neutralised
formula must come through as Excel would show them. Each conversion has a LibreOffice
profile of its own (-env:UserInstallation), so parallel runs do not collide. These tests
are skipped only when `soffice` is not installed (Debian: `apt-get install -y
--no-install-recommends libreoffice-calc-nogui`). JSON is no spreadsheet format: it is read
back in test_export.py.

The writers build each row through `export_writers.row_function`, a faster way to the cells
`row_cells` defines; the tests below the LibreOffice ones hold the two together on odd values.
"""

import csv
import datetime as dt
import io
import json
import math
import re
import shutil
import subprocess
import zipfile

import pytest
import xlsxwriter
from flask_babel import force_locale
from lxml import etree

from forms_service import db as dbm
from forms_service import export, export_writers, listing, queue
from forms_service.lifecycle import Kind
from tests.conftest import make_app

SOFFICE = shutil.which("soffice")
needs_calc = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice is not installed: apt-get install -y --no-install-recommends "
    "libreoffice-calc-nogui",
)
NS = {
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
}
NAME = "فاطمة محمد أحمد الزهراني"
CHILD = "ليان علي"
RECEIVED = dt.datetime(2026, 1, 5, 6, 30, tzinfo=dt.UTC)
FIELDS = {
    "full_name": NAME,
    "national_id": "1000000008",
    "mobile": "+966512345678",
    "birth_date": "1980-05-17",
    "nationality": "saudi",
    "marital_status": "widowed",
    "city": "الجموم",
    "district": "\r=2+2",
    "description": "=1+1",
    "support_type": ["financial", "food"],
    "monthly_income": 1200,
}
ORPHAN = {"name": CHILD, "birth_date": "2015-06-13", "gender": "female", "school_stage": "primary"}
KEY = {column.key: n for n, column in enumerate(export_writers.COLUMNS[Kind.ASSISTANCE])}


# ---------------------------------------------------------------- LibreOffice


@pytest.fixture
def exported(site_dir, tmp_path):
    """One support request with an orphan, exported in Arabic as CSV and XLSX (and as XLSX
    through XlsxWriter, the faster writer not yet used): their paths."""
    app = make_app(tmp_path / "app")
    database = dbm.connect(app.config["PORTAL_DB"])
    files = {}
    with app.test_request_context():
        queue.submit(
            database,
            kind=Kind.ASSISTANCE,
            lang="ar",
            fields=FIELDS,
            orphans=(ORPHAN,),
            answer_days=14,
            at=RECEIVED,
        )
        filters = listing.Filters(Kind.ASSISTANCE)
        for fmt in ("csv", "xlsx"):
            out = io.BytesIO()
            export.write_file(database, filters, fmt, "ar", out, "t")
            files[fmt] = tmp_path / f"export.{fmt}"
            files[fmt].write_bytes(out.getvalue())
        files["openpyxl"] = tmp_path / "openpyxl" / "export.xlsx"
        files["openpyxl"].parent.mkdir()
        with files["openpyxl"].open("wb") as out:
            rows = listing.rows_for_export(database, filters)
            orphans = export.orphans_for_export(database, filters)
            export_writers.write_xlsx_openpyxl(rows, orphans, Kind.ASSISTANCE, "ar", out)
    database.close()
    return files


def calc(path, tmp_path, infilter=None) -> etree._ElementTree:
    """What LibreOffice Calc reads in `path`, saved as flat ODF."""
    out = tmp_path / f"calc-{path.suffix[1:]}"
    command = [
        SOFFICE,
        f"-env:UserInstallation=file://{tmp_path}/lo",
        "--headless",
        *([f"--infilter={infilter}"] if infilter else []),
        "--convert-to",
        "fods",
        "--outdir",
        str(out),
        str(path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    converted = out / f"{path.stem}.fods"
    assert converted.exists(), done.stdout + done.stderr
    return etree.parse(str(converted))


def attr(element, name: str):
    prefix, local = name.split(":")
    return element.get(f"{{{NS[prefix]}}}{local}")


def cells(row) -> list[dict]:
    """A row's cells, repeated ones spelled out (the trailing empty run cut short)."""
    found = []
    for cell in row.iterfind("table:table-cell", NS):
        paragraphs = ["".join(p.itertext()) for p in cell.iterfind("text:p", NS)]
        value = {
            "type": attr(cell, "office:value-type"),
            "value": attr(cell, "office:date-value") or attr(cell, "office:value"),
            "text": "\n".join(paragraphs),
            "style": attr(cell, "table:style-name"),
        }
        found += [value] * min(int(attr(cell, "table:number-columns-repeated") or 1), 64)
    return found


def sheets(document) -> dict[str, list[list[dict]]]:
    """Each sheet's non-empty rows, by the sheet's name."""
    return {
        attr(table, "table:name"): [
            cells(row)
            for row in table.iterfind(".//table:table-row", NS)
            if any(c["type"] for c in cells(row))
        ]
        for table in document.iterfind(".//table:table", NS)
    }


def table_style(document, table) -> dict:
    """The table-properties of a sheet's style (its writing mode)."""
    name = attr(table, "table:style-name")
    style = document.find(f".//style:style[@style:name='{name}']", NS)
    properties = style.find("style:table-properties", NS)
    return {key.split("}")[1]: value for key, value in properties.attrib.items()}


def is_bold(document, style_name: str) -> bool:
    style = document.find(f".//style:style[@style:name='{style_name}']", NS)
    text = style.find("style:text-properties", NS)
    return text is not None and attr(text, "fo:font-weight") == "bold"


@needs_calc
@pytest.mark.parametrize("writer", ["xlsx", "openpyxl"])
def test_calc_reads_the_workbook_right_to_left_with_dates_and_inert_formulas(
    exported, tmp_path, writer
):
    document = calc(exported[writer], tmp_path)
    found = sheets(document)
    assert list(found) == ["طلبات الدعم", "الأيتام"]
    for table in document.iterfind(".//table:table", NS):
        assert table_style(document, table)["writing-mode"] == "rl-tb"
    (header, row), (orphan_header, orphan) = found["طلبات الدعم"], found["الأيتام"]
    assert header[KEY["full_name"]]["text"] == "الاسم الكامل"
    assert all(is_bold(document, cell["style"]) for cell in header[: len(KEY)])
    assert row[KEY["full_name"]] == {**row[KEY["full_name"]], "type": "string", "text": NAME}
    assert row[KEY["data.city"]]["text"] == "الجموم"
    assert (row[KEY["created_at"]]["type"], row[KEY["created_at"]]["value"]) == (
        "date",
        "2026-01-05T09:30:00",  # received 06:30 UTC: 09:30 in Riyadh
    )
    assert (row[KEY["data.birth_date"]]["type"], row[KEY["data.birth_date"]]["value"]) == (
        "date",
        "1980-05-17",
    )
    assert row[KEY["answer_from"]]["type"] == "date"
    assert (row[KEY["data.monthly_income"]]["type"], row[KEY["data.monthly_income"]]["value"]) == (
        "float",
        "1200",
    )
    # Text, never a formula: "=1+1" is not 2; and the carriage return is back (XlsxWriter
    # writes it _x000D_, which Calc and Excel read back as one; openpyxl does not).
    assert row[KEY["data.description"]] == {**row[KEY["data.description"]], "text": "'=1+1"}
    assert row[KEY["data.description"]]["type"] == "string"
    assert row[KEY["data.district"]]["text"] == "'\r=2+2"
    assert document.find(".//table:table-cell[@table:formula]", NS) is None
    assert [c["text"] for c in orphan_header[:2]] == ["الرقم المرجعي", "الاسم الكامل للطفل"]
    assert orphan[1]["text"] == CHILD
    assert (orphan[2]["type"], orphan[2]["value"]) == ("date", "2015-06-13")
    assert orphan[0]["text"] == row[0]["text"]


@needs_calc
def test_calc_reads_the_csv_as_utf8_with_arabic_and_inert_formulas(exported, tmp_path):
    """Opened as UTF-8 (what the BOM tells Excel; Calc 7.4 asks, so the filter says it)."""
    document = calc(exported["csv"], tmp_path, infilter="CSV:44,34,76,1")
    ((header, row),) = sheets(document).values()
    assert header[0]["text"] == "الرقم المرجعي"  # the BOM is not in the first cell
    assert header[KEY["full_name"]]["text"] == "الاسم الكامل"
    assert row[KEY["full_name"]]["text"] == NAME
    assert row[KEY["data.support_type"]]["text"] == "دعم مالي، مواد غذائية"
    assert (row[KEY["data.description"]]["type"], row[KEY["data.description"]]["text"]) == (
        "string",
        "'=1+1",
    )
    assert row[KEY["data.district"]]["text"] == "'\n=2+2"  # a line break in the cell, no formula
    assert document.find(".//table:table-cell[@table:formula]", NS) is None
    assert (row[KEY["data.birth_date"]]["type"], row[KEY["data.birth_date"]]["value"]) == (
        "date",
        "1980-05-17",
    )


# ---------------------------------------------------------------- the fast cells


ODD = [
    None,
    "",
    "=1+1",
    "\r=2",
    "\tعبدالله",
    "-5",
    "@SUM(A1)",
    0,
    7,
    -3,
    1.5,
    float("nan"),
    True,
    [],
    ["financial", "food"],
    ["x", ["y"]],
    {"a": 1},
    "2024-02-30",
    "2024-12-01",
    "2024-12-01T05:06:07Z",
    "2026-12-01T21:30:00Z",  # the next day in Riyadh
    "2026-12-01T21:30:00.123456Z",
    "2024-12-01T05:06Z",
    "20241201T050607Z",
    "2024-12-01T05:06:07+01:00Z",
    "9999-12-31T23:00:00Z",
    "2024-12-01T05:06:07.5+03:00",
    "0999-01-01T00:00:00",
    "20241201T050607",
    "2024-W48-7T05:06",
    "+966512345678",
    "+96651234567",
    "+9665١٢٣٤٥٦٧٨",
    "K7M4QX9T",
    "=7M4QX9T",
    "widowed",
    "saudi",
    "ar",
    "en",
    "received",
    "phone",
    "نص\x01فيه\x0bتحكم",
    "line\nbreak",
]


LANGUAGES = [None, "", "ar", "en", "fr_CA"]  # a language column holds a locale or nothing


def odd_rows(columns, count: int):
    """Rows whose every value (own columns, data, deeper) is an odd one, in turn."""
    for number in range(count):
        row, data = {"id": number, "created_at": "", "data": None}, {}
        for place, column in enumerate(columns):
            values = LANGUAGES if column.cell is export_writers._language else ODD
            value = values[(number * 7 + place) % len(values)]
            head, *path = column.key.split(".")
            if not path:
                row[head] = value
            elif len(path) == 1:
                data[path[0]] = value
            else:
                data.setdefault(path[0], {})[path[1]] = value
        if number % 11 == 5:
            data = ["not", "an", "object"]
        if number % 13 == 6:
            row.pop("state", None)
        yield row, data, [ORPHAN] * (number % 3)


def same(left, right) -> bool:
    """Equal cells (NaN equal to NaN)."""
    return [repr(c) if isinstance(c, float) and math.isnan(c) else c for c in left] == [
        repr(c) if isinstance(c, float) and math.isnan(c) else c for c in right
    ]


def csv_line(values) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("lang", ["ar", "en"])
def test_fast_cells_are_the_cells_the_columns_define(app, kind, lang):
    columns = export_writers.COLUMNS[kind]
    with app.test_request_context(), force_locale(lang):
        defined = export_writers.row_cells(columns, lang)
        as_csv = export_writers.row_function(columns, lang, export_writers.CSV, nested=True)
        as_xlsx = export_writers.row_function(columns, lang, export_writers.XLSX, nested=True)
        compared = 0
        for row, data, children in odd_rows(columns, 5 * len(ODD)):
            record = {**row, "data": data, "orphans": children}
            try:
                cells = defined(record)
            except TypeError:  # a mapping where a code goes, no cell to compare with
                continue
            expected_csv = csv_line([export_writers._csv_cell(c) for c in cells])
            assert csv_line(as_csv(row, data, children)) == expected_csv, record
            expected_xlsx = [export_writers._xlsx_value(c) for c in cells]
            assert same(as_xlsx(row, data, children), expected_xlsx), record
            compared += 1
    assert compared > len(ODD)


def test_a_day_number_is_what_write_datetime_writes(tmp_path):
    days = [dt.date(1900, 1, 1), dt.date(1900, 2, 28), dt.date(1900, 3, 1), dt.date(2024, 2, 29)]
    days += [dt.date(9999, 12, 31)]
    path = tmp_path / "days.xlsx"
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    styles = export_writers._Styles(None, book.add_format({"num_format": "yyyy-mm-dd"}), None)
    for row, day in enumerate(days):
        sheet.write_datetime(row, 0, day, styles.day)
        export_writers._write_day(sheet, row, 1, day, styles)
    book.close()
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml").decode()
    cells = re.findall(r'<c r="([AB])(\d+)" s="(\d+)"><v>([^<]*)</v></c>', xml)
    assert len(cells) == 2 * len(days)
    by_row: dict = {}
    for column, row, style, number in cells:
        by_row.setdefault(row, {})[column] = (style, number)
    assert all(pair["A"] == pair["B"] for pair in by_row.values())


STORED = [
    json.dumps({"city": "الجموم", "support_type": ["food"]}, ensure_ascii=False),
    '{"city":"الجموم","may_contact":false}',  # as SQLite's json_set writes it
    json.dumps({"city": "الجموم", "n": 1.5}),  # \\u escapes: decoded and encoded again
    "",
    "[1, 2]",
    '{"data": null, "x": "\\"data\\": null"}',
]


def test_json_splices_stored_data_as_the_records_would_give_it():
    rows = [
        {"id": n, "reference": f"R{n}", "created_at": f"2026-01-0{n + 1}", "form_key": "k"}
        | {"data": data, "name_norm": "x", "note": '"data": null'}
        for n, data in enumerate(STORED)
    ]
    children = [
        {"submission_id": 1, "submitted_at": "2026-01-02", **ORPHAN},
        {"submission_id": 4, "submitted_at": "2026-01-05", **ORPHAN},
    ]
    text = "".join(export_writers.json_chunks(rows, children, Kind.ASSISTANCE))
    assert "\\u06" not in text
    expected = []
    for record in export_writers.records(rows, children):
        item = {k: v for k, v in record.items() if k not in export_writers.INTERNAL}
        item["orphans"] = [{k: o[k] for k in export_writers.ORPHAN_FIELDS} for o in item["orphans"]]
        expected.append(item)
    items = json.loads(text)
    assert items == expected
    assert [list(item) for item in items] == [list(item) for item in expected]
