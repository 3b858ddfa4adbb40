"""The back office at 100,000 submissions: list, filters and search (p50/p95), and exports.

Usage: python bench/staff_bench.py [N] [--db FILE] [--exports-only] [--rounds R] [--before REV]
(or `make -C bench staff`).
Side by side in the same run: the portal's queries against naive ones on the same data
(name search with LIKE on the raw name; CSV with a bare csv.writer), so the figures have a
baseline; the XLSX export through the app's writer (XlsxWriter) and through openpyxl
(`export_writers.write_xlsx_openpyxl`), with the same cells. Exports run in child
processes so their peak memory (RSS) is their own.
`--db FILE` keeps the seeded database (or reuses it), to measure again without seeding;
`--before REV` runs the exports with that git revision's writers too (the figures before).
"""

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = [
    "فاطمة",
    "عائشة",
    "نورة",
    "مريم",
    "سارة",
    "هند",
    "أسماء",
    "آمنة",
    "خديجة",
    "رقية",
    "منى",
    "هدى",
]
MIDDLE = [
    "محمد",
    "أحمد",
    "عبدالله",
    "إبراهيم",
    "علي",
    "حسن",
    "يوسف",
    "مصطفى",
    "سعد",
    "خالد",
    "فهد",
    "سالم",
]
FAMILY = [
    "الزهراني",
    "الغامدي",
    "الحربي",
    "العتيبي",
    "القحطاني",
    "الشهري",
    "المالكي",
    "السلمي",
    "الجهني",
]
CHILD = ["عمر", "سارة", "ليان", "يزن", "جود", "ريم", "تركي", "لمى", "مازن", "شهد", "زياد", "دانة"]
STATES = {
    "assistance": [
        "received",
        "verifying",
        "needs_info",
        "social_research",
        "committee",
        "accepted",
        "rejected",
        "registered",
        "served",
        "withdrawn",
        "duplicate",
    ],
    "volunteer": ["received", "contacted", "accepted", "declined", "active"],
    "feedback": ["received", "reviewed"],
}
CHANNELS = ["website", "interview", "phone", "letter", "branch_delegate"]


def luhn_id(rng) -> str:
    from forms_service.identifiers import luhn_valid

    body = rng.choice("12") + "".join(rng.choice("0123456789") for _ in range(8))
    return next(body + d for d in "0123456789" if luhn_valid(body + d))


def seed(db_path: str, n: int, rng: random.Random) -> float:
    from forms_service import create_app, lifecycle, queue
    from forms_service.db import connect

    app = create_app(
        {"PORTAL_DB": db_path, "SECRET_KEY": "bench", "PORTAL_SITE": str(ROOT / "site")}
    )
    db = connect(db_path)
    db.execute("PRAGMA synchronous = OFF")  # seeding only: the measured queries are reads
    start = dt.datetime(2024, 12, 1, tzinfo=dt.UTC)
    began = time.perf_counter()
    with app.test_request_context():
        for _ in range(n):
            kind = rng.choices(["assistance", "volunteer", "feedback"], [70, 20, 10])[0]
            parts = (rng.choice(FIRST), rng.choice(MIDDLE), rng.choice(MIDDLE), rng.choice(FAMILY))
            name = " ".join(parts)
            fields = {"full_name": name, "mobile": f"+9665{rng.randrange(10**8):08d}"}
            orphans = ()
            if kind == "assistance":
                fields |= {
                    "national_id": luhn_id(rng),
                    "city": "الجموم",
                    "marital_status": "widowed",
                    "support_type": ["financial"],
                    "income_sources": ["social_security"],
                    "monthly_income": rng.randrange(0, 6000),
                    "family_size": rng.randrange(2, 9),
                    "description": "وصف الحالة " * 5,
                }
                orphans = tuple(
                    {
                        "name": f"{rng.choice(CHILD)} {rng.choice(MIDDLE)}",
                        "birth_date": dt.date(
                            rng.randrange(2009, 2024), rng.randrange(1, 10), rng.randrange(10, 20)
                        ).isoformat(),
                        "gender": rng.choice(["male", "female"]),
                        "school_stage": "primary",
                    }
                    for _ in range(rng.randrange(1, 4))
                )
            elif kind == "feedback":
                fields = {
                    "channel": rng.choice(CHANNELS),
                    **{
                        f"rating_{r}": rng.randrange(1, 6)
                        for r in ("courtesy", "clarity", "speed", "overall")
                    },
                }
            at = start + dt.timedelta(seconds=rng.randrange(0, 360 * 86400))
            queue.submit(
                db,
                kind=lifecycle.Kind(kind),
                lang="ar",
                fields=fields,
                orphans=orphans,
                channel=rng.choice(CHANNELS),
                answer_days=14,
                at=at,
            )
        db.execute(
            "UPDATE submissions SET state = ? WHERE id % 11 = ? AND kind = 'assistance'",
            ["verifying", 3],
        )
        for kind, states in STATES.items():
            for offset, state in enumerate(states):
                db.execute(
                    "UPDATE submissions SET state = ? WHERE kind = ? AND id % ? = ?",
                    [state, kind, len(states), offset],
                )
        db.execute("UPDATE submissions SET assigned_to = 'officer' WHERE id % 7 = 0")
        db.conn.commit()
    db.execute("ANALYZE")
    db.close()
    return time.perf_counter() - began


def timed(fn, runs=30):
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def measure_queries(db_path: str, rng: random.Random) -> list[tuple[str, float, float]]:
    from forms_service import listing
    from forms_service.db import connect
    from forms_service.lifecycle import Kind

    db = connect(db_path)
    sample = db.execute(
        "SELECT reference, national_id, mobile, full_name FROM submissions "
        "WHERE kind = 'assistance' ORDER BY random() LIMIT 1"
    ).fetchone()
    reference, national_id, mobile, full_name = sample
    typed_name = (
        full_name.split()[0].replace("أ", "ا").replace("ة", "ه") + " " + full_name.split()[1]
    )

    def page(**kw):
        return lambda: listing.page(db, listing.Filters(kind=Kind.ASSISTANCE, me="officer", **kw))

    def counts(**kw):
        return lambda: listing.counts(db, listing.Filters(kind=Kind.ASSISTANCE, me="officer", **kw))

    cases = [
        ("list: default (oldest first, page 1)", page()),
        ("list: page 200", page(page=200)),
        ("counts per state", counts()),
        ("filter: state = committee", page(state="committee")),
        ("filter: assigned to me", page(assigned="me")),
        ("filter: unassigned", page(assigned="none")),
        ("filter: waiting > 14 days", page(overdue=True)),
        ("filter: channel = phone", page(channel="phone")),
        ("filter: one month", page(since=dt.date(2025, 3, 1), until=dt.date(2025, 3, 31))),
        ("search: reference", page(q=reference)),
        (
            "search: national ID (Arabic-Indic digits)",
            page(q=national_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))),
        ),
        (
            "search: mobile (05… with spaces)",
            page(q="0" + mobile[4:6] + " " + mobile[6:9] + " " + mobile[9:]),
        ),
        ("search: name, two words, other spellings (FTS5 trigram)", page(q=typed_name)),
        (
            "baseline: name LIKE '%…%' on the raw name (no FTS, no folding)",
            lambda: db.execute(
                "SELECT id FROM submissions WHERE kind = 'assistance' AND full_name LIKE ? "
                "ORDER BY created_at LIMIT 50",
                [f"%{full_name.split()[0]}%"],
            ).fetchall(),
        ),
    ]
    results = [(label, *timed(fn)) for label, fn in cases]
    db.close()
    return results


CHILD_EXPORT = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from forms_service import create_app, export, listing
from forms_service.db import connect
from forms_service.lifecycle import Kind
from flask_babel import force_locale
fmt, path, out, before = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
if fmt.startswith("before-"):  # the writers and the rows query of another revision
    import importlib.util
    def load(name, file):
        spec = importlib.util.spec_from_file_location("forms_service." + name, file)
        module = importlib.util.module_from_spec(spec)
        module.__package__ = "forms_service"
        spec.loader.exec_module(module)
        return module
    writers, rows_query = load("writers_before", before[0]), load("listing_before", before[1])
    export.csv_chunks, export.json_chunks = writers.csv_chunks, writers.json_chunks
    export.write_xlsx, listing.rows_for_export = writers.write_xlsx, rows_query.rows_for_export
    fmt = fmt.removeprefix("before-")
app = create_app({{"PORTAL_DB": path, "SECRET_KEY": "bench", "PORTAL_SITE": {site!r}}})
db = connect(path)
filters = listing.Filters(kind=Kind.ASSISTANCE)
if fmt == "xlsx-openpyxl":
    from forms_service import export_writers
    export.write_xlsx, fmt = export_writers.write_xlsx_openpyxl, "xlsx"
began, cpu = time.perf_counter(), time.process_time()
if fmt == "baseline-csv":
    import csv
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        cursor = db.execute(
            "SELECT * FROM submissions WHERE kind = 'assistance' ORDER BY created_at, id"
        )
        w.writerow([d[0] for d in cursor.description])
        rows = 0
        for row in cursor:
            w.writerow(row)
            rows += 1
elif fmt == "floor-read":
    open(out, "wb").close()
    rows = sum(1 for _ in listing.rows_for_export(db, filters))
    sum(1 for _ in export.orphans_for_export(db, filters))
else:
    with app.test_request_context(), force_locale("ar"), open(out, "wb") as f:
        rows = export.write_file(db, filters, fmt, "ar", f, "bench")
elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
print(json.dumps({{"rows": rows, "seconds": elapsed, "cpu": cpu,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
EXPORTS = {
    "baseline-csv": "baseline: bare `csv.writer` of `SELECT *`",
    "floor-read": "floor: the two queries an export reads (rows, orphans), nothing written",
    "csv": "CSV (words in Arabic, neutralised, BOM)",
    "xlsx": "XLSX, XlsxWriter `constant_memory` (the app's; orphans sheet)",
    "xlsx-openpyxl": "XLSX, openpyxl write-only + lxml (same cells and sheets)",
    "json": "JSON (orphans nested)",
}
BEFORE = {
    "before-csv": "CSV before ({rev})",
    "before-xlsx": "XLSX before ({rev}: openpyxl)",
    "before-json": "JSON before ({rev})",
}
BEFORE_FILES = ("forms_service/export_writers.py", "forms_service/listing.py")


def order(before: str) -> list[str]:
    """The exports in running order: each "before" right after its own format, so that the
    two meet the same moment of a shared machine."""
    after = {"csv": "before-csv", "xlsx": "before-xlsx", "json": "before-json"}
    return [f for fmt in EXPORTS for f in (fmt, after.get(fmt) if before else None) if f]


def measure_exports(db_path: str, rounds: int = 1, before: str = "") -> list[tuple[str, dict]]:
    """Each export in a child process of its own (its peak RSS is its own), one after the
    other on the same database, `rounds` times over: the fastest round of each (its wall and
    CPU seconds), the highest peak RSS of all, the file size. `before`: a git revision whose
    writers and rows query run too (their files from `git show`)."""
    best: dict[str, dict] = {}
    script = CHILD_EXPORT.format(root=str(ROOT), site=str(ROOT / "site"))
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for number, name in enumerate(BEFORE_FILES if before else ()):
            files.append(Path(tmp) / f"before{number}.py")
            shown = subprocess.run(
                ["git", "show", f"{before}:{name}"], cwd=ROOT, check=True, capture_output=True
            )
            files[-1].write_bytes(shown.stdout)
        for _ in range(rounds):
            for fmt in order(before):
                out = Path(tmp) / f"export.{fmt}"
                done = subprocess.run(
                    [sys.executable, "-c", script, fmt, db_path, str(out), *map(str, files)],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                figures = json.loads(done.stdout.strip().splitlines()[-1])
                figures["mb"] = out.stat().st_size / 1024 / 1024
                kept = best.setdefault(fmt, figures)
                rss = max(kept["rss_mb"], figures["rss_mb"])
                if figures["seconds"] < kept["seconds"]:
                    best[fmt] = kept = figures
                kept["rss_mb"] = rss
    return list(best.items())


def print_exports(exports: list[tuple[str, dict]], before: str = "") -> None:
    """The exports as a Markdown table, each against the bare dump of the same run: wall
    seconds, and CPU seconds (steadier when other work shares the machine)."""
    base = dict(exports)["baseline-csv"]
    print(
        "\n| export of all support requests | rows | seconds | × bare | CPU s | CPU × bare ", end=""
    )
    print("| peak RSS MB | file MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    labels = {**EXPORTS, **{fmt: label.format(rev=before) for fmt, label in BEFORE.items()}}
    for fmt, f in exports:
        print(
            f"| {labels[fmt]} | {f['rows']:,} | {f['seconds']:.2f} "
            f"| {f['seconds'] / base['seconds']:.2f} | {f['cpu']:.2f} "
            f"| {f['cpu'] / base['cpu']:.2f} | {f['rss_mb']:.0f} | {f['mb']:.1f} |"
        )


def versions() -> str:
    """The versions the figures depend on."""
    from importlib.metadata import version

    return ", ".join(f"{name} {version(name)}" for name in ("XlsxWriter", "openpyxl", "lxml"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=100_000, help="submissions to seed")
    parser.add_argument("--db", help="use this database file, seeded first if it does not exist")
    parser.add_argument("--exports-only", action="store_true", help="skip the queries")
    parser.add_argument("--rounds", type=int, default=3, help="exports: the fastest of so many")
    parser.add_argument("--before", metavar="REV", help="exports: also with REV's writers")
    args = parser.parse_args()
    rng = random.Random(20261125)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db or str(Path(tmp) / "bench.sqlite3")
        seeded = seed(db_path, args.n, rng) if not Path(db_path).exists() else None
        queries = [] if args.exports_only else measure_queries(db_path, rng)
        exports = measure_exports(db_path, args.rounds, args.before or "")
        size = os.path.getsize(db_path) / 1024 / 1024
    print(f"# Back office at {args.n:,} submissions — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.system()} {platform.release()}, Python {platform.python_version()}, "
        f"SQLite {__import__('sqlite3').sqlite_version}, {versions()}; database {size:.0f} MB; "
        + (f"seeded through queue.submit in {seeded:.0f} s" if seeded else "seeded before")
    )
    if queries:
        print("\n| query (support requests) | p50 ms | p95 ms |")
        print("| --- | --- | --- |")
        for label, p50, p95 in queries:
            print(f"| {label} | {p50:.1f} | {p95:.1f} |")
    print(f"\nExports: the fastest of {args.rounds} rounds (peak RSS: the highest).")
    print_exports(exports, args.before or "")


if __name__ == "__main__":
    main()
