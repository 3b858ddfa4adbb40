"""Lighthouse on the built site, side by side with a stock-Material baseline built in the same run.

Usage: python bench/lighthouse.py   (or `make -C bench lighthouse`)
Needs: Debian's chromium and `npm ci` in bench/ (Lighthouse 12.2.3).
"""

import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
LIGHTHOUSE = BENCH / "node_modules" / ".bin" / "lighthouse"
PAGES = [("Arabic home", "/"), ("Arabic policy", "/policy/"), ("English home", "/en/")]
# The forms' first pages, landing pages too (a search engine lists them): the portal only,
# since the stock site has no forms service behind it.
FORM_PAGES = [
    ("Arabic support request", "/forms/assistance/"),
    ("Arabic volunteer", "/forms/volunteer/"),
    ("English support request", "/en/forms/assistance/"),
]
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def timed(cmd, **kwargs):
    started = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=ROOT, **kwargs)
    return time.perf_counter() - started


def serve_static(directory: Path, port: int):
    """Serve a folder the way the portal does (WhiteNoise under gunicorn)."""
    env = dict(
        os.environ,
        PORTAL_SITE=str(directory),
        PORT=str(port),
        PORTAL_RATE_LIMIT="off",
        PORTAL_DRAFT_RATE_LIMIT="off",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "forms_service.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    return proc


def wait_until_up(url: str, seconds: float = 30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def lighthouse(url: str, out: Path) -> dict:
    env = dict(os.environ, CHROME_PATH=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    command = [
        str(LIGHTHOUSE),
        url,
        "--quiet",
        "--output=json",
        f"--output-path={out}",
        "--only-categories=" + ",".join(CATEGORIES),
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu",
    ]
    # Lighthouse sometimes loses the trace of a load (NO_NAVSTART): run that page again.
    for attempt in range(3):
        if subprocess.run(command, env=env, check=False).returncode == 0:
            break
        print(f"Lighthouse failed on {url} (attempt {attempt + 1}), again", file=sys.stderr)
    else:
        raise RuntimeError(f"Lighthouse failed three times on {url}")
    report = json.loads(out.read_text(encoding="utf-8"))
    scores = {c: round(report["categories"][c]["score"] * 100) for c in CATEGORIES}
    scores["kb"] = round(report["audits"]["total-byte-weight"]["numericValue"] / 1024, 1)
    scores["lcp_ms"] = round(report["audits"]["largest-contentful-paint"]["numericValue"])
    failed = [
        a["id"]
        for a in report["audits"].values()
        if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") == "binary"
    ]
    scores["failed"] = failed
    return scores


def main():
    RESULTS.mkdir(exist_ok=True)
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    build_s = timed([sys.executable, "-m", "forms_service.cli", "build"], env=env)
    base_s = timed(
        [sys.executable, "-m", "mkdocs", "build", "-q", "-f", "bench/baseline-mkdocs.yml"], env=env
    )
    rows = []
    for label, site, port in (
        ("portal", ROOT / "site", 8123),
        ("stock Material", RESULTS / "baseline-site", 8124),
    ):
        server = serve_static(site, port)
        try:
            for name, path in PAGES + (FORM_PAGES if label == "portal" else []):
                out = RESULTS / f"{label.replace(' ', '-')}-{name.replace(' ', '-')}.json"
                rows.append((label, name, lighthouse(f"http://127.0.0.1:{port}{path}", out)))
        finally:
            server.terminate()
            server.wait()
    print(f"# Lighthouse {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node()}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.platform()}")
    print(f"full build (portal build: MkDocs + Pagefind + compression): {build_s:.1f} s")
    print(f"baseline build (stock Material, MkDocs only): {base_s:.1f} s\n")
    print("| site | page | perf | a11y | best pr. | SEO | KB transferred | LCP ms | failed |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, name, s in rows:
        print(
            f"| {label} | {name} | {s['performance']} | {s['accessibility']} | "
            f"{s['best-practices']} | {s['seo']} | {s['kb']} | {s['lcp_ms']} | "
            f"{', '.join(s['failed']) or '—'} |"
        )


if __name__ == "__main__":
    main()
