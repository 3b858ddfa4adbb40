"""Exports for the research committee, as pure functions: rows → CSV / XLSX / JSON.

They never touch the database or the request: they take the submission rows (and orphan
rows) as iterators and yield text or write a file object, so an export runs in constant
memory and is tested without a server. `export` reads the database and answers HTTP.

An export is about two million cells, so each one is built once per export as a plan
(`row_function`): the row's values are read with C lookups, codes and dates become words
and dates once per distinct value, and the format's own finishing (neutralised text, CSV
text) is folded in. `Column.cell` and `row_cells` stay the definition: the plan gives
the same cells (tests/staff/test_export_spreadsheet.py compares them).
"""

import csv
import datetime as dt
import io
import json
import math
import operator
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from typing import Any

import xlsxwriter
from babel import Locale
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from . import clock, identifiers, lifecycle, registry, words
from .i18n import text_direction
from .lifecycle import Kind
from .registry import Type

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
    """A stored UTC time as people in the Kingdom read it (spreadsheets have no time zones:
    the header says Riyadh time); what does not parse, as it is."""
    try:
        return clock.local(value).replace(tzinfo=None) if value else None
    except (TypeError, ValueError, AttributeError, OverflowError):
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
    """record → its cells, one `Column.cell` call each: the definition `row_function` keeps."""
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

    convert.field = field  # row_function reads the type to pick a faster path
    if words.depends_on_code_only(field):
        convert = _coded(convert)
    return Column(field.path, field.label, convert, field.width)


def _fields(kind: str) -> tuple[Column, ...]:
    return tuple(field_column(f) for f in registry.fields_of(kind))


# The case around the fields: not asked of anyone, kept by the queue.
HEAD = (
    Column("reference", _l("Reference"), _reference, 12),
    Column("created_at", _l("Received (Riyadh time)"), _moment, 17),
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


# ---------------------------------------------------------------- cells, fast


@dataclass(frozen=True)
class Finish:
    """How a format finishes a cell (`cell`); what, in a row's texts joined by newlines,
    `cell` would change (`suspect`: when nothing is, the texts go out as they are); and
    converters that give a finished cell at once, by the converter they replace (`fast`)."""

    cell: Callable[[Any], Any]
    suspect: re.Pattern
    fast: dict = field(default_factory=dict)


class _Memo(dict):
    """A converter remembered per value: once seen, a value's cell is one lookup in C.

    For codes and dates, which are texts: values equal in Python (1, 1.0, True) share a cell.
    """

    def __init__(self, convert: Callable[[Any], Any]):
        super().__init__()
        self.convert = convert

    def __missing__(self, value):
        cell = self[value] = self.convert(value)
        return cell

    def cell(self, value):
        """The cell of any value, one that cannot be a key (a list) too."""
        try:
            return self[value]
        except TypeError:
            return self.convert(value)


def _memoised(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert`, remembered per value, lists (of codes) included."""
    memo = _Memo(convert)

    def cell(value):
        if value.__class__ is list:
            try:
                key = tuple(value)
                return memo[key] if key in memo else memo.setdefault(key, convert(value))
            except TypeError:  # a list holding a list or a mapping
                return convert(value)
        return memo.cell(value)

    return cell


def _reference_fast(value):
    """`_reference`, with the stored shape (8 characters) grouped by slicing."""
    if value.__class__ is str and len(value) == identifiers.REFERENCE_LENGTH:
        return f"{value[:3]}-{value[3:6]}-{value[6:]}"
    return _reference(value, "")


def _mobile_cell(done: Callable) -> Callable[[Any], Any]:
    """`words.cell` of a mobile, finished: +9665XXXXXXXX → 05X XXX XXXX by slicing (nothing
    to finish in that); anything else as `identifiers.display_mobile` writes it."""

    def cell(value):
        if value.__class__ is str and len(value) == 13 and value.startswith("+9665"):
            digits = value[5:]
            if digits.isascii() and digits.isdigit():
                return f"0{value[4:6]} {value[6:9]} {value[9:]}"
        return done(identifiers.display_mobile(value) or None)

    return cell


def _shape(column: Column):
    """What decides how a column's cell is made: its field's type, or its converter."""
    field = getattr(column.cell, "field", None)
    return field.type if field is not None else column.cell


def _remembered(column: Column) -> bool:
    """A code or a date: worth one cell per distinct value."""
    return getattr(column.cell, "coded", False) or _shape(column) in (_date, Type.DATE)


def _sort(column: Column) -> str:
    """How `row_function` makes the column's cells: "text" (finished as they are), "memo" (one
    lookup) or "call" (a converter per cell; lists of codes, remembered as tuples, too)."""
    shape = _shape(column)
    if shape in (_text, Type.TEXT):
        return "text"
    return "memo" if _remembered(column) and shape != Type.CODES else "call"


def _converted(column: Column, lang: str, finish: Callable) -> Callable[[Any], Any]:
    """value → finish(column.cell(value, lang)), as it is written."""
    return lambda value: finish(column.cell(value, lang))


def _fast_cell(column: Column, lang: str, finish: Finish) -> Callable[[Any], Any]:
    """value → finish.cell(column.cell(value, lang)), the same cell by a shorter way."""
    convert, shape, done = column.cell, _shape(column), finish.cell
    if shape in (_text, Type.TEXT):
        return done
    if convert in finish.fast:
        return finish.fast[convert]
    if _remembered(column):
        return _memoised(_converted(column, lang, done))
    if shape in (_reference, Type.REFERENCE):
        return lambda value: done(_reference_fast(value))
    if shape == Type.MOBILE:
        return _mobile_cell(done)
    if shape == Type.NUMBER:
        return lambda value: value if value.__class__ is int else done(convert(value, lang))
    return _converted(column, lang, done)


def _walk(row: dict, data, parts: list[str]):
    """A dotted path's value (as `Column.raw`), `data` being the row's decoded `data`."""
    value = data if parts[0] == "data" else row.get(parts[0])
    for part in parts[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _taker(keys: list) -> Callable[[Any], tuple]:
    """itemgetter that always gives a tuple (one key, or none, too)."""
    if len(keys) > 1:
        return operator.itemgetter(*keys)
    if keys:
        return lambda values: (values[keys[0]],)
    return lambda values: ()


def _reader(keys: list[str], nested: bool) -> Callable[[dict, Any, Any], tuple]:
    """(row, decoded data, its orphans) → the values at these dotted keys, as `Column.raw`
    reads them, the row's own and the data's read by C. `nested`: "orphans" is the orphans."""
    kids = [n for n, key in enumerate(keys) if nested and key == "orphans"]
    top = [n for n, key in enumerate(keys) if "." not in key and n not in kids]
    inner = [n for n, key in enumerate(keys) if key.startswith("data.") and key.count(".") == 1]
    deep = [n for n in range(len(keys)) if n not in {*kids, *top, *inner}]
    source = top + inner + deep + kids
    top_keys, inner_keys = [keys[n] for n in top], [keys[n][5:] for n in inner]
    deep_paths = [keys[n].split(".") for n in deep]
    back = _taker([source.index(n) for n in range(len(keys))])
    take_top = _taker(top_keys)
    empty: dict = {}

    def read(row: dict, data, children) -> tuple:
        try:
            values = [*take_top(row)]
        except KeyError:  # a row without all the columns
            values = [*map(row.get, top_keys)]
        values += map((data if isinstance(data, dict) else empty).get, inner_keys)
        if deep_paths:
            values += [_walk(row, data, path) for path in deep_paths]
        values += [children] * len(kids)
        return back(values)

    return read


_given = partial(operator.is_not, None)  # in C: filter(_given, values) drops only None


def _texts(texts: tuple, finish: Finish):
    """Texts as the format finishes them: as they are, unless they look suspect (or are not
    all texts), then one by one."""
    try:
        clean = not finish.suspect.search("\n".join(filter(_given, texts)))
    except TypeError:
        clean = False
    return texts if clean else [*map(finish.cell, texts)]


def row_function(columns, lang: str, finish: Finish, nested: bool) -> Callable:
    """(row, decoded data, its orphans) → the row's finished cells, as `row_cells` then
    `finish.cell` give them. Texts are checked together, codes and dates looked up in C,
    the rest converted one by one; then the cells are put back in column order.
    `nested`: the orphans are given (the "orphans" column counts them, not the row's key).
    """
    sorts: dict[str, list[int]] = {"text": [], "memo": [], "call": []}
    for number, column in enumerate(columns):
        sorts[_sort(column)].append(number)
    gathered = sorts["text"] + sorts["memo"] + sorts["call"]
    read = _reader([columns[n].key for n in gathered], nested)
    memos = [_Memo(_converted(columns[n], lang, finish.cell)) for n in sorts["memo"]]
    lookups = [memo.__getitem__ for memo in memos]
    calls = [_fast_cell(columns[n], lang, finish) for n in sorts["call"]]
    order = _taker([gathered.index(n) for n in range(len(columns))])
    texts, coded = len(sorts["text"]), len(sorts["text"]) + len(sorts["memo"])

    def cells(row: dict, data, children) -> tuple:
        values = read(row, data, children)
        try:
            codes = [*map(operator.call, lookups, values[texts:coded])]
        except TypeError:  # a value that cannot be a key (a list)
            codes = [*map(_Memo.cell, memos, values[texts:coded])]
        return order(
            [
                *_texts(values[:texts], finish),
                *codes,
                *map(operator.call, calls, values[coded:]),
            ]
        )

    return cells


# ---------------------------------------------------------------- rows → records


def _pairs(rows: Iterable[dict], orphans: Iterable[dict] | None) -> Iterator[tuple[dict, Any]]:
    """Each row with its own orphans (a list; None when no orphans are given), not copied.

    `orphans` must come in the rows' order (created_at, id, position) and carry
    `submission_id` and `submitted_at`; orphans of rows not in `rows` are skipped.
    """
    if orphans is None:
        for row in rows:
            yield (row if row.__class__ is dict else dict(row)), None
        return
    children = iter(orphans)
    pending = next(children, None)
    for row in rows:
        row = row if row.__class__ is dict else dict(row)
        key, mine = row["id"], []
        while (
            pending is not None
            and pending["submission_id"] != key
            and (pending["submitted_at"], pending["submission_id"]) < (row["created_at"], key)
        ):
            pending = next(children, None)
        while pending is not None and pending["submission_id"] == key:
            mine.append(pending)
            pending = next(children, None)
        yield row, mine


def _decoded(row: dict):
    """The row's `data`, decoded when it is JSON text."""
    data = row.get("data")
    return json.loads(data or "{}") if isinstance(data, str) else data


def records(rows: Iterable[dict], orphans: Iterable[dict] | None = None) -> Iterator[dict]:
    """Rows with `data` decoded and, if orphans are given, each row's orphans under "orphans".

    `orphans` must come in the rows' order (created_at, id, position) and carry
    `submission_id` and `submitted_at`; orphans of rows not in `rows` are skipped.
    """
    for row, mine in _pairs(rows, orphans):
        record = dict(row)
        if isinstance(record.get("data"), str):
            record["data"] = _decoded(record)
        if mine is not None:
            record["orphans"] = mine
        yield record


# ---------------------------------------------------------------- CSV


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None and value.year >= 1000:  # as strftime below, in C
            return value.isoformat(" ", "minutes")
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(value) if isinstance(value, str) else str(value)


def _csv_text(value) -> str:
    """A cell as CSV text (`_csv_cell`), the common cases first; the csv module writes None
    as an empty field and a whole number as its digits, as `_csv_cell` would."""
    kind = value.__class__
    if kind is str:
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return value if value is None or kind is int else _csv_cell(value)


def _drained(buffer: io.StringIO) -> str:
    """What the buffer holds, and the buffer emptied."""
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _csv_moment(value) -> str:
    """`_moment` then `_csv_text`: a stored time in Riyadh time, to the minute. A time as
    the queue stores it (from 2000 on, ending in Z) by adding the offset, in C."""
    if value.__class__ is str and value[:2] == "20" and value[-1:] == "Z":
        try:
            moment = dt.datetime.fromisoformat(value[:-1])
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is None and moment.year < 9999:
            return (moment + clock.LOCAL_DELTA).isoformat(" ", "minutes")
    return _csv_text(_moment(value, ""))


CSV = Finish(_csv_text, re.compile(r"^[=+\-@\t\r]", re.MULTILINE), {_moment: _csv_moment})


def csv_chunks(rows, kind, lang, orphans=None) -> Iterator[str]:
    """CSV for Excel: BOM, headers and words in `lang`, formulas neutralised."""
    columns = COLUMNS[Kind(kind)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    with force_locale(lang):
        writer.writerow([neutralise(str(c.header)) for c in columns])
        yield "\ufeff" + _drained(buffer)
        cells = row_function(columns, lang, CSV, nested=orphans is not None)
        pairs = _pairs(rows, orphans)
        while batch := [cells(row, _decoded(row), mine) for row, mine in islice(pairs, BATCH)]:
            writer.writerows(batch)
            yield _drained(buffer)


# ---------------------------------------------------------------- XLSX

_XLSX_TYPES = frozenset({int, float, bool, dt.date, dt.datetime})


def _xlsx_value(value):
    """A cell as a workbook keeps it: text cleaned of what XML cannot carry and neutralised;
    numbers, dates and empty cells as they are; anything else as text."""
    if value.__class__ is str:
        if not value.isprintable():
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    if value is None or value.__class__ in _XLSX_TYPES:
        return value
    return _xlsx_value(str(value))


XLSX = Finish(_xlsx_value, re.compile(r"^[=+\-@\t\r]|[\000-\010\013\014\016-\037]", re.MULTILINE))


def sheet_rows(rows, orphans, kind, lang) -> Iterator[tuple[int, tuple]]:
    """A workbook's rows in writing order: (0, a request's cells), then for assistance
    (1, the cells of each of its orphans). Cells are `_xlsx_value`s; iterate in `lang`."""
    kind = Kind(kind)
    nested = kind == Kind.ASSISTANCE
    cells = row_function(COLUMNS[kind], lang, XLSX, nested)
    reference = _fast_cell(ORPHAN_COLUMNS[0], lang, XLSX)
    child_cells = row_function(ORPHAN_COLUMNS[1:], lang, XLSX, nested=False)
    for row, mine in _pairs(rows, orphans if nested else None):
        yield 0, cells(row, _decoded(row), mine)
        if mine:
            own = reference(row["reference"])
            for child in mine:
                yield 1, (own, *child_cells(child, None, None))


def _xlsx_sheet(book, title, columns, lang: str):
    """A worksheet: right-to-left for Arabic, header bold and frozen, columns widened."""
    sheet = book.create_sheet(str(title)[:31])
    sheet.sheet_view.rightToLeft = text_direction(lang) == "rtl"
    sheet.freeze_panes = "A2"
    for number, column in enumerate(columns, 1):
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    header = [WriteOnlyCell(sheet, neutralise(str(column.header))) for column in columns]
    for cell in header:
        cell.font = Font(bold=True)
    sheet.append(header)
    return sheet


_DATE_FORMATS = {dt.date: "yyyy-mm-dd", dt.datetime: "yyyy-mm-dd hh:mm"}


def _dated(cells: dict, sheet, column: int, value):
    """A date or a time as a real date cell, in a date format. One cell per column and type,
    given each row's value: a write-only sheet writes a row out as it is appended."""
    kind = value.__class__
    cell = cells.get((column, kind))
    if cell is None:
        cell = cells[column, kind] = WriteOnlyCell(sheet)
        cell.number_format = _DATE_FORMATS[kind]
    cell.value = value
    return cell


def write_xlsx_openpyxl(rows, orphans, kind, lang, fileobj) -> int:
    """`write_xlsx` through openpyxl in write-only mode (with lxml): the same sheets and
    cells, measured against XlsxWriter (bench/README.md) and slower; kept for that."""
    kind, count = Kind(kind), 0
    with force_locale(lang):
        book = Workbook(write_only=True)
        sheets = [_xlsx_sheet(book, SHEET_TITLES[kind], COLUMNS[kind], lang)]
        if kind == Kind.ASSISTANCE:
            sheets.append(_xlsx_sheet(book, _l("Orphans"), ORPHAN_COLUMNS, lang))
        dated: list[dict] = [{} for _ in sheets]
        for number, cells in sheet_rows(rows, orphans, kind, lang):
            sheet, mine = sheets[number], dated[number]
            count += not number
            sheet.append(
                [
                    _dated(mine, sheet, n, v) if v.__class__ in _DATE_FORMATS else v
                    for n, v in enumerate(cells)
                ]
            )
        book.save(fileobj)
    return count


# ---------------------------------------------------------------- XLSX through XlsxWriter
# The app's writer: XlsxWriter in constant_memory mode, a quarter less time than openpyxl on
# 70,000 requests (bench/README.md). It writes a carriage return as _x000D_, which Excel and
# LibreOffice read back as the carriage return (tests/staff/test_export_spreadsheet.py).
# Text goes through write_string only (never write(), which would take "=…" for a formula).

# Excel counts days from 1899-12-30 for every date from 1900-03-01 (before, its calendar has
# a 29 February 1900 that never was: XlsxWriter's write_datetime knows it).
EXCEL_DAY_ZERO = dt.date(1899, 12, 30)
EXCEL_EXACT_FROM = dt.date(1900, 3, 1)
SHEET_ROWS = 1_048_576  # rows in one sheet, the header included


@dataclass(frozen=True)
class _Styles:
    header: Any
    day: Any
    moment: Any
    days: dict = field(default_factory=dict)  # date → Excel's day number, once per date


def _xlsxwriter_sheet(book, title, columns, lang: str, styles: _Styles):
    """A worksheet: right-to-left for Arabic, header bold and frozen, columns widened."""
    sheet = book.add_worksheet(str(title)[:31])
    if text_direction(lang) == "rtl":
        sheet.right_to_left()
    sheet.freeze_panes(1, 0)
    for number, column in enumerate(columns):
        sheet.set_column(number, number, column.width)
        sheet.write_string(0, number, neutralise(str(column.header)), styles.header)
    return sheet


def _write_day(sheet, row: int, column: int, day: dt.date, styles: _Styles) -> None:
    """A date: Excel's day number, in the date format (what write_datetime writes, without
    its conversion for every cell)."""
    serial = styles.days.get(day)
    if serial is None:
        if day < EXCEL_EXACT_FROM:
            sheet.write_datetime(row, column, day, styles.day)
            return
        serial = styles.days[day] = (day - EXCEL_DAY_ZERO).days
    sheet.write_number(row, column, serial, styles.day)


def _write_row(sheet, row: int, cells, styles: _Styles) -> None:
    """One row of cells; text always with write_string, so it is never read as a formula."""
    if row >= SHEET_ROWS:
        raise ValueError(f"more than {SHEET_ROWS - 1:,} rows for one sheet")
    for column, value in enumerate(cells):
        kind = value.__class__
        if kind is str:
            sheet.write_string(row, column, value)
        elif value is None:
            continue
        elif kind is dt.datetime:
            sheet.write_datetime(row, column, value, styles.moment)
        elif kind is dt.date:
            _write_day(sheet, row, column, value, styles)
        elif kind is int or (kind is float and math.isfinite(value)):
            sheet.write_number(row, column, value)
        elif kind is bool:
            sheet.write_boolean(row, column, value)
        else:  # NaN or infinity (no number in a workbook), a subclass of str
            sheet.write_string(row, column, _xlsx_value(str(value)))


def write_xlsx(rows, orphans, kind, lang, fileobj) -> int:
    """A workbook in `lang` (right-to-left for Arabic); for assistance, a sheet of orphans too.

    XlsxWriter in constant_memory mode: each row goes to a temporary file as it comes."""
    kind = Kind(kind)
    with force_locale(lang):
        book = xlsxwriter.Workbook(fileobj, {"constant_memory": True})
        styles = _Styles(
            book.add_format({"bold": True}),
            book.add_format({"num_format": "yyyy-mm-dd"}),
            book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
        )
        sheets = [_xlsxwriter_sheet(book, SHEET_TITLES[kind], COLUMNS[kind], lang, styles)]
        if kind == Kind.ASSISTANCE:
            sheets.append(_xlsxwriter_sheet(book, _l("Orphans"), ORPHAN_COLUMNS, lang, styles))
        written = [0] * len(sheets)
        for number, cells in sheet_rows(rows, orphans, kind, lang):
            written[number] += 1
            _write_row(sheets[number], written[number], cells, styles)
        book.close()
    return written[0]


# ---------------------------------------------------------------- JSON

_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode
_orphan_values = operator.itemgetter(*ORPHAN_FIELDS)


def _spliceable(data) -> bool:
    """Stored `data` that can go out as it is: a JSON object as the queue writes it (with
    json.dumps, or SQLite's json_set), its Arabic unescaped."""
    return data.__class__ is str and data[:1] == "{" and data[-1:] == "}" and "\\u" not in data


# Where the stored `data` goes in a row's encoded object. Only a key can be followed by ": ",
# and inside an encoded text every quote is escaped, so this is found once in an object: at
# its key, as long as no other key ends with '"data' (`_JsonShape` checks).
_DATA_SLOT = '"data": null'


class _JsonShape:
    """Rows with these keys as JSON objects: the columns but internal ones, `data` spliced in
    as stored (not decoded and encoded again), and, `nested`, their orphans last."""

    def __init__(self, keys: tuple, nested: bool):
        self.kept = [k for k in keys if k not in INTERNAL and k != "orphans"]
        self.dropped = [k for k in keys if k not in self.kept]
        self.nested = nested
        self.slot = "data" in self.kept and not [k for k in self.kept if k.endswith('"data')]
        # How an object of this shape begins: found in a list of them only where one does,
        # when the first key is not also the first key of an orphan (the nested objects).
        first = self.kept[0] if self.kept else None
        self.opening = "{" + _encode(first) + ": " if first not in (None, *ORPHAN_FIELDS) else ""

    def item(self, row: dict, children) -> dict:
        """The row's object, its `data` as stored."""
        item = row.copy()
        for key in self.dropped:
            del item[key]
        if self.nested:
            item["orphans"] = [
                dict(zip(ORPHAN_FIELDS, _orphan_values(o), strict=True)) for o in children
            ]
        return item

    def text(self, row: dict, children) -> str:
        """The row's object encoded."""
        item = self.item(row, children)
        if self.slot and _spliceable(item["data"]):
            data, item["data"] = item["data"], None
            return _encode(item).replace(_DATA_SLOT, '"data": ' + data, 1)
        if "data" in item:
            item["data"] = _decoded(item)
        return _encode(item)


def _json_lines(batch: list, shape: _JsonShape) -> str:
    """Rows of this shape as JSON objects, one a line: encoded together (one call, then the
    stored data spliced in) when every row's data can be, else one by one."""
    items = [shape.item(row, mine) for row, mine in batch]
    datas = [item["data"] for item in items] if shape.slot and shape.opening else []
    if datas and all(map(_spliceable, datas)):
        for item in items:
            item["data"] = None
        text = _encode(items)[1:-1].replace(", " + shape.opening, ",\n" + shape.opening)
        parts = text.split(_DATA_SLOT)
        if len(parts) == len(items) + 1:
            spliced = (f'{part}"data": {data}' for part, data in zip(parts, datas, strict=False))
            return "".join(spliced) + parts[-1]
    return ",\n".join(shape.text(row, mine) for row, mine in batch)


def json_chunks(rows, orphans, kind) -> Iterator[str]:
    """A JSON array of records: codes, ISO dates, Arabic as is; assistance with its orphans.

    One record a line. Rows come in batches of one shape (the same keys: all the rows of
    one query), each batch encoded at once."""
    nested = Kind(kind) == Kind.ASSISTANCE
    shapes: dict[tuple, _JsonShape] = {}
    separator = "\n"
    yield "["
    for keys, batch in _batches(_pairs(rows, orphans if nested else None)):
        shape = shapes.get(keys) or shapes.setdefault(keys, _JsonShape(keys, nested))
        yield separator + _json_lines(batch, shape)
        separator = ",\n"
    yield "\n]\n"


def _batches(pairs: Iterator[tuple[dict, Any]]) -> Iterator[tuple[tuple, list]]:
    """(row, orphans) pairs in batches of at most BATCH rows with the same keys."""
    batch: list = []
    keys: tuple = ()
    for pair in pairs:
        mine = tuple(pair[0])
        if batch and (mine != keys or len(batch) == BATCH):
            yield keys, batch
            batch = []
        keys = mine
        batch.append(pair)
    if batch:
        yield keys, batch


# ---------------------------------------------------------------- small tables (an agenda)


def _table_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return neutralise(value) if isinstance(value, str) else str(value)


def _table_cell(value):
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def table_csv(headers: list[str], rows: Iterable[list]) -> str:
    """A small table as CSV for Excel: BOM, CRLF, text that could run as a formula quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(h)) for h in headers])
    writer.writerows([_table_text(v) for v in row] for row in rows)
    return "\ufeff" + buffer.getvalue()


def table_xlsx(title: str, headers: list[str], rows: Iterable[list], lang: str, fileobj) -> int:
    """A small table as one sheet (right-to-left for Arabic, header bold and frozen): text
    quoted where it could run as a formula, real dates and times (naive: as people read
    them), numbers as numbers. Returns the rows written."""
    book = xlsxwriter.Workbook(fileobj, {"in_memory": True})
    styles = _Styles(
        book.add_format({"bold": True}),
        book.add_format({"num_format": "yyyy-mm-dd"}),
        book.add_format({"num_format": "yyyy-mm-dd hh:mm"}),
    )
    columns = [Column(str(h), str(h), width=max(12, min(40, len(str(h)) + 4))) for h in headers]
    sheet = _xlsxwriter_sheet(book, title, columns, lang, styles)
    count = 0
    for count, row in enumerate(rows, 1):
        cells = [_table_cell(v) for v in row]
        _write_row(sheet, count, cells, styles)
    book.close()
    return count
