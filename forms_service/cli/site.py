"""`portal build` and `portal serve`: the static site, and everything on one port."""

import os

# Runs our own build tools (mkdocs, pagefind) with fixed arguments.
import subprocess  # nosec B404
import sys
import time

import click
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from ..config import ROOT
from ..server import SiteNotBuilt
from ..server import serve as run_server


def _run(*args):
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    subprocess.run([sys.executable, *args], check=True, cwd=ROOT, env=env)  # noqa: S603 # nosec B603


@click.command()
@click.option("--no-index", is_flag=True, help="Skip the Pagefind search index.")
def build(no_index):
    """Build the static site into site/ (MkDocs, then Pagefind, then compression)."""
    started = time.perf_counter()
    compile_catalogs()
    _run("-m", "mkdocs", "build", "--strict", "--quiet")
    if not no_index:
        # One index per language: Pagefind reads each page's <html lang>.
        _run("-m", "pagefind", "--site", "site", "--silent")
    _run("-m", "whitenoise.compress", "--quiet", "site")
    click.echo(f"Site built in {time.perf_counter() - started:.1f} s: {ROOT / 'site'}")


def compile_catalogs() -> None:
    """Compile translations/*/LC_MESSAGES/messages.po to .mo (built, never committed)."""
    for po_path in (ROOT / "forms_service" / "translations").glob("*/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as po:
            catalog = read_po(po)
        with po_path.with_suffix(".mo").open("wb") as mo:
            write_mo(mo, catalog)


@click.command()
@click.option("--workers", default=2, show_default=True, help="gunicorn worker processes.")
def serve(workers):
    """Serve the site and the forms service with gunicorn on 127.0.0.1:$PORT (8000)."""
    try:
        run_server(port=int(os.environ.get("PORT", "8000")), workers=workers)
    except SiteNotBuilt as error:
        raise click.ClickException(str(error)) from error


def register(group: click.Group) -> None:
    group.add_command(build)
    group.add_command(serve)
