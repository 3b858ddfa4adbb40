"""Exports for the research committee, as pure functions: rows → CSV / XLSX / JSON.

They never touch the database or the request: they take the submission rows (and orphan
rows) as iterators and yield text or write a file object, so an export runs in constant
memory and is tested without a server. `export` reads the database and answers HTTP.
"""

import csv
import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

from babel import Locale
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from . import lifecycle, registry, words
from .i18n import text_direction
from .lifecycle import Kind

FORMATS = ("csv", "xlsx", "json")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Internal columns that are not part of the record (the reference is the public key).
INTERNAL = frozenset({"id", "form_key", "name_norm"})
ORPHAN_FIELDS = tuple(f.key for f in registry.ORPHAN)
BATCH = 200  # rows per streamed chunk


def neutralise(text: str) -> str:
    """A quote in front of a cell a spreadsheet would run as a formula."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


# ---------------------------------------------------------------- cells: code → word


def _text(value, lang):
    return value


def _date(value, lang):
    try:
        return dt.date.fromisoformat(value) if value else None
    except (TypeError, ValueError):
        return value


def _moment(value, lang):
    # Stored in UTC; spreadsheets have no time zones, so the header says UTC.
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=None) if value else None
    except (TypeError, ValueError):
        return value


def _reference(value, lang):
    return words.reference_text(value) or None


def _coded(convert):
    """Mark a converter whose cell depends on the code alone: it runs once per code and export."""
    convert.coded = True
    return convert


@_coded
def _state(value, lang):
    return str(lifecycle.STAFF_LABELS.get(value, value or ""))


@_coded
def _channel(value, lang):
    return words.channel_name(value, lang)


@_coded
def _language(value, lang):
    return Locale.parse(value).get_display_name(lang) if value else None


def _count(value, lang):
    return len(value) if value is not None else None


@dataclass(frozen=True)
class Column:
    """One column: where the value is (a dotted path), its header, and how it becomes a cell."""

    key: str
    header: Any  # a lazy string: translated when the export runs
    cell: Callable[[Any, str], Any] = _text
    width: int = 16

    def raw(self, record: dict):
        value = record
        for part in self.key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def value(self, record: dict, lang: str):
        return self.cell(self.raw(record), lang)


def row_cells(columns, lang: str) -> Callable[[dict], list]:
    """record → its cells; codes become words once per export, not once per cell."""
    memo = {}

    def cells(record: dict) -> list:
        row = []
        for column in columns:
            value = column.raw(record)
            if not getattr(column.cell, "coded", False):
                row.append(column.cell(value, lang))
                continue
            key = (column.key, tuple(value) if isinstance(value, list) else value)
            if key not in memo:
                memo[key] = column.cell(value, lang)
            row.append(memo[key])
        return row

    return cells


def field_column(field: registry.Field) -> Column:
    """A registry field as an export column: its path, its label, its words."""

    def convert(value, lang):
        return words.cell(field, value, lang)

    if words.depends_on_code_only(field):
        convert = _coded(convert)
    return Column(field.path, field.label, convert, field.width)


def _fields(kind: str) -> tuple[Column, ...]:
    return tuple(field_column(f) for f in registry.fields_of(kind))


# The case around the fields: not asked of anyone, kept by the queue.
HEAD = (
    Column("reference", _l("Reference"), _reference, 12),
    Column("created_at", _l("Received (UTC)"), _moment, 17),
    Column("state", _l("State"), _state, 18),
)
CASE = (
    Column("channel", _l("Channel"), _channel, 22),
    Column("assigned_to", _l("Assigned to"), _text, 14),
    Column("lang", _l("Language"), _language, 10),
)
ASSISTANCE_FIELDS = _fields("assistance")
_AT_INCOME = next(n for n, c in enumerate(ASSISTANCE_FIELDS) if c.key == "data.monthly_income")
COLUMNS: dict[Kind, tuple[Column, ...]] = {
    Kind.ASSISTANCE: (
        *HEAD,
        Column("answer_from", _l("Earliest date for the committee's answer"), _date, 14),
        *CASE,
        *ASSISTANCE_FIELDS[:_AT_INCOME],
        Column("orphans", _l("Number of orphans"), _count, 10),
        *ASSISTANCE_FIELDS[_AT_INCOME:],
        Column("applicant_message", _l("Message to the applicant"), _text, 30),
    ),
    Kind.VOLUNTEER: (*HEAD, *CASE, *_fields("volunteer")),
    Kind.FEEDBACK: (*HEAD, *_fields("feedback"), Column("lang", _l("Language"), _language, 10)),
}
ORPHAN_COLUMNS = (
    Column("reference", _l("Reference"), _reference, 12),
    *(field_column(f) for f in registry.ORPHAN),
)
SHEET_TITLES = {
    Kind.ASSISTANCE: _l("Support requests"),
    Kind.VOLUNTEER: _l("Volunteers"),
    Kind.FEEDBACK: _l("Feedback"),
}


# ---------------------------------------------------------------- rows → records


def records(rows: Iterable[dict], orphans: Iterable[dict] | None = None) -> Iterator[dict]:
    """Rows with `data` decoded and, if orphans are given, each row's orphans under "orphans".

    `orphans` must come in the rows' order (created_at, id, position) and carry
    `submission_id` and `submitted_at`; orphans of rows not in `rows` are skipped.
    """
    children = iter(orphans) if orphans is not None else None
    pending = next(children, None) if children is not None else None
    for row in rows:
        record = dict(row)
        if isinstance(record.get("data"), str):
            record["data"] = json.loads(record["data"] or "{}")
        if children is not None:
            here, mine = (record["created_at"], record["id"]), []
            while (
                pending is not None and (pending["submitted_at"], pending["submission_id"]) < here
            ):
                pending = next(children, None)
            while pending is not None and pending["submission_id"] == record["id"]:
                mine.append(pending)
                pending = next(children, None)
            record["orphans"] = mine
        yield record


def _batched(texts: Iterable[str], size: int = BATCH) -> Iterator[str]:
    texts = iter(texts)
    while chunk := "".join(islice(texts, size)):
        yield chunk


# ---------------------------------------------------------------- CSV


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(value) if isinstance(value, str) else str(value)


def csv_chunks(rows, kind, lang, orphans=None) -> Iterator[str]:
    """CSV for Excel: BOM, headers and words in `lang`, formulas neutralised."""
    columns = COLUMNS[Kind(kind)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells) -> str:
        writer.writerow(cells)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    with force_locale(lang):
        cells = row_cells(columns, lang)
        yield "\ufeff" + line([neutralise(str(c.header)) for c in columns])
        lines = (line([_csv_cell(v) for v in cells(r)]) for r in records(rows, orphans))
        yield from _batched(lines)


# ---------------------------------------------------------------- XLSX


def _xlsx_cell(ws, value):
    if isinstance(value, dt.datetime | dt.date):
        cell = WriteOnlyCell(ws, value)
        cell.number_format = "yyyy-mm-dd hh:mm" if isinstance(value, dt.datetime) else "yyyy-mm-dd"
        return cell
    if isinstance(value, str):
        return neutralise(ILLEGAL_CHARACTERS_RE.sub("", value))
    return value


def _sheet(wb, title, columns, lang):
    ws = wb.create_sheet(str(title)[:31])
    ws.sheet_view.rightToLeft = text_direction(lang) == "rtl"
    ws.freeze_panes = "A2"
    for number, column in enumerate(columns, 1):
        ws.column_dimensions[get_column_letter(number)].width = column.width
    header = []
    for column in columns:
        cell = WriteOnlyCell(ws, neutralise(str(column.header)))
        cell.font = Font(bold=True)
        header.append(cell)
    ws.append(header)
    return ws


def write_xlsx(rows, orphans, kind, lang, fileobj) -> int:
    """A workbook in `lang` (right-to-left for Arabic); for assistance, a sheet of orphans too."""
    kind = Kind(kind)
    columns, count = COLUMNS[kind], 0
    with force_locale(lang):
        wb = Workbook(write_only=True)
        ws = _sheet(wb, SHEET_TITLES[kind], columns, lang)
        kids = _sheet(wb, _l("Orphans"), ORPHAN_COLUMNS, lang) if kind == Kind.ASSISTANCE else None
        cells, child_cells = row_cells(columns, lang), row_cells(ORPHAN_COLUMNS, lang)
        for record in records(rows, orphans if kids is not None else None):
            ws.append([_xlsx_cell(ws, value) for value in cells(record)])
            for child in record.get("orphans", ()):
                child = {**child, "reference": record["reference"]}
                kids.append([_xlsx_cell(kids, value) for value in child_cells(child)])
            count += 1
        wb.save(fileobj)
    return count


# ---------------------------------------------------------------- JSON


def json_chunks(rows, orphans, kind) -> Iterator[str]:
    """A JSON array of records: codes, ISO dates, Arabic as is; assistance with its orphans."""
    nested = Kind(kind) == Kind.ASSISTANCE

    def objects():
        for number, record in enumerate(records(rows, orphans if nested else None)):
            item = {k: v for k, v in record.items() if k not in INTERNAL and k != "orphans"}
            if nested:
                item["orphans"] = [{k: o[k] for k in ORPHAN_FIELDS} for o in record["orphans"]]
            yield ("," if number else "") + "\n" + json.dumps(item, ensure_ascii=False)

    yield "["
    yield from _batched(objects())
    yield "\n]\n"
