"""Crash test, the short run: gunicorn SIGKILLed under load, and nothing acknowledged is lost.

Find these with `pytest -k crash`. The long run (50 clients, ≥ 20 kills) is `bench/crash.py`,
its figures in bench/README.md; both use bench/crashlib.py.
"""

import sys
from pathlib import Path

import pytest

from tests.forms.helpers import assistance_data, documents, get_form, hidden_fields, reference_on

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import crashlib  # noqa: E402 - bench/ is not a package: found through the path above

pytestmark = pytest.mark.timeout(300)


def test_crash_kills_lose_nothing_acknowledged(site_dir, tmp_path, monkeypatch):
    """10 clients for 25 s; 4 workers and once the whole server SIGKILLed, then restarted."""
    # Every client is 127.0.0.1: the per-address limit on saves of requests in progress
    # would answer most of them "try again later". The server inherits this environment.
    monkeypatch.setenv("PORTAL_DRAFT_RATE_LIMIT", "off")
    settings = crashlib.Settings(
        clients=10,
        duration=25,
        worker_kills=4,
        server_kills=1,
        workers=2,
        grace=40,  # generous: make test runs other files beside this one
        timeout=30,
        workdir=tmp_path,
    )
    result = crashlib.run(settings)
    summary = crashlib.report(result)
    print(summary)
    assert result.failures == [], summary
    kinds = [kill.kind for kill in result.kills]
    assert kinds.count("worker") >= 3 and kinds.count("server") >= 1, summary
    assert len(result.acknowledged) >= 10, summary
    assert result.check.integrity == "ok"
    assert all(s.reference for s in result.submissions if s.outcome == "acknowledged")


# The same lost answer, made on purpose: the committing POST succeeds, its answer (with the
# new session cookie) never reaches the browser, and the browser sends the same POST again.


def test_crash_volunteer_retry_after_a_lost_answer_gets_the_same_reference(client):
    fields = get_form(client, "/forms/volunteer/")
    payload = {**fields, **dict(crashlib.VOLUNTEER), "skills": ["teaching", "it"]}
    before = client.get_cookie("portal_session").value
    first = client.post("/forms/volunteer/", data=payload)
    assert first.status_code == 302
    reference = reference_on(client.get(first.headers["Location"]))
    client.set_cookie("portal_session", before)  # the answer was lost
    again = client.post("/forms/volunteer/", data=payload)
    assert again.status_code == 302
    assert reference_on(client.get(again.headers["Location"])) == reference


def test_crash_support_request_retry_after_a_lost_answer_gets_the_same_reference(client):
    base = "/forms/assistance/"
    fields = get_form(client, base)
    answer = client.post(
        base,
        data={**fields, **assistance_data(), **documents()},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    check = client.get(base + "check")
    confirm = {**hidden_fields(check.get_data(as_text=True)), "attestation": "y", "consent": "y"}
    before = client.get_cookie("portal_session").value
    first = client.post(base + "check", data=confirm)
    assert first.headers["Location"].endswith("/forms/assistance/done")
    reference = reference_on(client.get(first.headers["Location"]))
    client.set_cookie("portal_session", before)  # the answer was lost
    again = client.post(base + "check", data=confirm)
    assert again.headers["Location"].endswith("/forms/assistance/done")
    assert reference_on(client.get(again.headers["Location"])) == reference
