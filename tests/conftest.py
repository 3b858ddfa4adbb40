"""Shared fixtures: the built site, a live server, Chromium from Debian, axe-core."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.forms.test_sms import TOKENS, start_gateway, stop_gateway
from tests.html_check import check_response

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "site"
CONTENT = ROOT / "content"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
LANGS = ("ar", "en")


def page_slugs():
    """Every content page, by its name without the language suffix (not the forms' shell)."""
    names = (p.name.removesuffix(".ar.md") for p in CONTENT.glob("*.ar.md"))
    return sorted(name for name in names if name != "shell")


def built_path(slug: str, lang: str) -> Path:
    prefix = SITE / "en" if lang == "en" else SITE
    return prefix / "index.html" if slug == "index" else prefix / slug / "index.html"


def url_path(slug: str, lang: str) -> str:
    prefix = "/en/" if lang == "en" else "/"
    return prefix if slug == "index" else f"{prefix}{slug}/"


@pytest.fixture(scope="session")
def site_dir():
    if not (SITE / "index.html").exists() or not (SITE / "pagefind").exists():
        subprocess.run([sys.executable, "-m", "forms_service.cli", "build"], check=True, cwd=ROOT)
    return SITE


def _serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="session")
def live_app(live_server):
    return LIVE["app"]


LIVE = {}


@pytest.fixture(scope="session")
def live_server(site_dir, tmp_path_factory):
    """The whole portal (site + forms service) on a free loopback port."""
    from forms_service import create_app

    data = tmp_path_factory.mktemp("live")
    app = create_app(
        {
            "PORTAL_DB": str(data / "portal.sqlite3"),
            "PORTAL_UPLOADS": str(data / "uploads"),
            "PORTAL_RATE_LIMIT": "off",
            "PORTAL_DRAFT_RATE_LIMIT": "off",
            "SECRET_KEY": "test-only-key",
        }
    )
    LIVE["app"] = app
    server = _serve(app)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # axe-core is injected as a script: let it past the Content-Security-Policy. The CSP itself
    # is checked by a test that opens its own context without this.
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture
def axe():
    """Run axe-core (WCAG 2.x A/AA rules) in a page; return the violations."""
    source = AXE.read_text(encoding="utf-8")

    def run(page):
        page.add_script_tag(content=source)
        result = page.evaluate(
            """async () => {
                const r = await axe.run(document, {
                  runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa',
                                                  'wcag22aa', 'best-practice']}
                });
                return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                  nodes: v.nodes.slice(0, 5).map(
                    n => n.target.join(' ') + ' :: ' + n.failureSummary)}));
            }"""
        )
        return result

    return run


def format_violations(violations) -> str:
    return json.dumps(violations, ensure_ascii=False, indent=1)


@pytest.fixture
def screenshot(request):
    """Save a full-page screenshot under test-artifacts/ for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def shoot(page, name):
        safe = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
        page.screenshot(path=str(ARTIFACTS / f"{safe}-{name}.png"), full_page=True)

    return shoot


# ---------------------------------------------------------------- the forms service


def make_app(tmp_path, **overrides):
    from forms_service import create_app

    settings = {
        "PORTAL_DB": str(tmp_path / "portal.sqlite3"),
        "PORTAL_UPLOADS": str(tmp_path / "uploads"),
        "PORTAL_RATE_LIMIT": "off",
        "PORTAL_DRAFT_RATE_LIMIT": "off",
        "SECRET_KEY": "test-only-key",
        "TESTING": True,
    }
    settings.update(overrides)
    app = create_app(settings)
    # Every page a test renders is checked: lang/dir, a title, unique ids, labelled fields.
    app.after_request(check_response)
    return app


@pytest.fixture
def app(site_dir, tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    import sqlite_utils

    database = sqlite_utils.Database(app.config["PORTAL_DB"])
    yield database
    database.close()


# ---------------------------------------------------------------- a fake SMS gateway

SMS_PUBLIC_URL = "https://portal.example.org"
SMS_ACCEPTED = {"statusCode": 201, "messageId": 7321}  # Taqnyat's answer to a message taken


def sms_settings(url: str, public: str = SMS_PUBLIC_URL) -> dict:
    """The settings that send SMS through Taqnyat's API at `url` (a fake gateway)."""
    return {
        "PORTAL_SMS_PROVIDER": "taqnyat",
        "PORTAL_SMS_TOKEN": TOKENS["taqnyat"],
        "PORTAL_SMS_SENDER": "JamoumCare",
        "PORTAL_SMS_URL": url,
        "PORTAL_PUBLIC_URL": public,
    }


@pytest.fixture
def gateway():
    """A fake Taqnyat on loopback that takes every message (tests/forms/test_sms.py)."""
    server = start_gateway()
    server.gateway.answer(201, SMS_ACCEPTED)
    yield server.gateway
    stop_gateway(server)
