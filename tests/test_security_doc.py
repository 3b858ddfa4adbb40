"""SECURITY.md names the test behind each claim: every one it names exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITATION = re.compile(r"`(tests/[\w/]+\.py)?(?:::(\w+))?(?:\[[^\]`]*\])?`")


def cited() -> list[tuple[str, str | None]]:
    """(file, test) for each citation; `::name` alone belongs to the file cited before it."""
    found, current = [], None
    for match in CITATION.finditer((ROOT / "SECURITY.md").read_text(encoding="utf-8")):
        path, name = match.groups()
        if path:
            current = path
        if current and (path or name):
            found.append((current, name))
    return found


def test_every_test_security_md_names_exists():
    citations = cited()
    assert len(citations) > 100
    missing = []
    for path, name in citations:
        source = ROOT / path
        if not source.exists():
            missing.append(path)
        elif name and not re.search(rf"^(async )?def {name}\(", source.read_text(), re.M):
            missing.append(f"{path}::{name}")
    assert missing == []
