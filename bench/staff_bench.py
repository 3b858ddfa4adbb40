"""The back office at 100,000 submissions: list, filters and search (p50/p95), and exports.

Usage: python bench/staff_bench.py [N]   (or `make -C bench staff`)
Side by side in the same run: the portal's queries against naive ones on the same data
(name search with LIKE on the raw name; CSV with a bare csv.writer), so the figures have a
baseline. Exports run in child processes so their peak memory (RSS) is their own.
"""

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
fmt, path, out = sys.argv[1], sys.argv[2], sys.argv[3]
app = create_app({{"PORTAL_DB": path, "SECRET_KEY": "bench", "PORTAL_SITE": {site!r}}})
db = connect(path)
began = time.perf_counter()
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
else:
    with app.test_request_context(), force_locale("ar"), open(out, "wb") as f:
        rows = export.write_file(db, listing.Filters(kind=Kind.ASSISTANCE), fmt, "ar", f, "bench")
elapsed = time.perf_counter() - began
print(json.dumps({{"rows": rows, "seconds": elapsed,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure_exports(db_path: str) -> list[tuple[str, dict]]:
    results = []
    script = CHILD_EXPORT.format(root=str(ROOT), site=str(ROOT / "site"))
    with tempfile.TemporaryDirectory() as tmp:
        for fmt in ("baseline-csv", "csv", "xlsx", "json"):
            out = Path(tmp) / f"export.{fmt}"
            done = subprocess.run(
                [sys.executable, "-c", script, fmt, db_path, str(out)],
                check=True,
                capture_output=True,
                text=True,
            )
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            figures["mb"] = out.stat().st_size / 1024 / 1024
            results.append((fmt, figures))
    return results


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(20261125)
    with tempfile.TemporaryDirectory() as tmp:
        db_path = str(Path(tmp) / "bench.sqlite3")
        seeded = seed(db_path, n, rng)
        queries = measure_queries(db_path, rng)
        exports = measure_exports(db_path)
        size = os.path.getsize(db_path) / 1024 / 1024
    print(f"# Back office at {n:,} submissions — {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.node()}, {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, SQLite {__import__('sqlite3').sqlite_version}; "
        f"database {size:.0f} MB; seeded through queue.submit in {seeded:.0f} s\n"
    )
    print("| query (support requests) | p50 ms | p95 ms |")
    print("| --- | --- | --- |")
    for label, p50, p95 in queries:
        print(f"| {label} | {p50:.1f} | {p95:.1f} |")
    print("\n| export of all support requests | rows | seconds | peak RSS MB | file MB |")
    print("| --- | --- | --- | --- | --- |")
    for fmt, f in exports:
        label = "baseline: bare csv.writer of SELECT *" if fmt == "baseline-csv" else fmt.upper()
        print(
            f"| {label} | {f['rows']:,} | {f['seconds']:.2f} | {f['rss_mb']:.0f} | {f['mb']:.1f} |"
        )


if __name__ == "__main__":
    main()
