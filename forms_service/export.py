"""Exports, the database and HTTP side: which rows, who exported them (recorded), and the
download or the file. The formats themselves are `export_writers`, pure functions."""

import datetime as dt
import tempfile
from collections.abc import Iterator

from flask import Response, send_file, stream_with_context

from . import clock, events, listing
from . import db as db_module
from .export_writers import FORMATS, MIMETYPES, csv_chunks, json_chunks, write_xlsx
from .lifecycle import Kind

SPOOL_BYTES = 8 * 1024 * 1024  # an XLSX larger than this goes to a temporary file on disk


# ---------------------------------------------------------------- the database side


def orphans_for_export(db, filters: listing.Filters):
    """The orphans of the matching requests, in the order of `listing.rows_for_export`."""
    clause, params = listing.where(filters)
    sql = (
        "SELECT o.*, s.reference, s.created_at AS submitted_at FROM orphans o "  # noqa: S608
        f"JOIN submissions s ON s.id = o.submission_id WHERE {clause} "
        "ORDER BY s.created_at, s.id, o.position"
    )
    yield from db.query(sql, params)


def count(db, filters: listing.Filters) -> int:
    clause, params = listing.where(filters)
    sql = f"SELECT count(*) FROM submissions s WHERE {clause}"  # noqa: S608 - placeholders only
    return db.execute(sql, params).fetchone()[0]


def _record_export(db, filters: listing.Filters, fmt: str, lang: str, actor: str) -> int:
    """Count the rows and record the export: one event. The search words may be a name or an
    ID, so the event says only that a search narrowed the export, never what was searched."""
    filter_values = filters.as_query()
    if filters.q.strip():
        filter_values["search"] = True
    with db_module.immediate(db):
        rows = count(db, filters)
        detail = {
            "kind": str(filters.kind),
            "format": fmt,
            "lang": lang,
            "filters": filter_values,
            "rows": rows,
        }
        events.record(db, events.Event("export", actor, None, detail=detail))
    return rows


def filename(kind, fmt: str, today: dt.date | None = None) -> str:
    return f"{Kind(kind)}-{(today or clock.now_utc().date()).isoformat()}.{fmt}"


def _stream(db, filters, fmt, lang, rows=None) -> Iterator[str]:
    rows = listing.rows_for_export(db, filters) if rows is None else rows
    orphans = orphans_for_export(db, filters) if filters.kind == Kind.ASSISTANCE else None
    if fmt == "csv":
        return csv_chunks(rows, filters.kind, lang, orphans)
    return json_chunks(rows, orphans, filters.kind)


def _streamed(path: str, filters, fmt, lang) -> Iterator[str]:
    # A connection of its own: the request's is closed at teardown, which Flask runs
    # before a streamed body is read.
    own = db_module.connect(path)
    try:
        yield from _stream(own, filters, fmt, lang)
    finally:
        own.close()


def export_response(db, filters: listing.Filters, fmt: str, lang: str, actor: str) -> Response:
    """The export as a download: CSV and JSON streamed, XLSX spooled then sent."""
    if fmt not in FORMATS:
        raise ValueError(fmt)
    _record_export(db, filters, fmt, lang, actor)
    if fmt == "xlsx":
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - sent, then closed
        orphans = orphans_for_export(db, filters) if filters.kind == Kind.ASSISTANCE else None
        write_xlsx(listing.rows_for_export(db, filters), orphans, filters.kind, lang, spool)
        spool.seek(0)
        response = send_file(spool, mimetype=MIMETYPES[fmt])
    else:
        path = db.execute("PRAGMA database_list").fetchone()[2]
        body = stream_with_context(_streamed(path, filters, fmt, lang))
        response = Response(body, mimetype=MIMETYPES[fmt])
    name = filename(filters.kind, fmt)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def write_file(db, filters, fmt, lang, out, actor, progress=None) -> int:
    """The export into a binary file object (the command line); returns the row count.

    `progress(n)` is called as rows are written, for a progress bar.
    """
    if fmt not in FORMATS:
        raise ValueError(fmt)
    count = _record_export(db, filters, fmt, lang, actor)
    rows = listing.rows_for_export(db, filters)
    if progress is not None:
        rows = _ticking(rows, progress)
    if fmt == "xlsx":
        orphans = orphans_for_export(db, filters) if filters.kind == Kind.ASSISTANCE else None
        write_xlsx(rows, orphans, filters.kind, lang, out)
    else:
        for chunk in _stream(db, filters, fmt, lang, rows):
            out.write(chunk.encode("utf-8"))
    out.flush()
    return count


def _ticking(rows, progress, every: int = 100):
    done = 0
    for done, row in enumerate(rows, 1):
        yield row
        if done % every == 0:
            progress(every)
    if done % every:
        progress(done % every)
