"""The association's facts (facts.yml), shared with the site."""

from functools import cache
from pathlib import Path

import yaml

FACTS_FILE = Path(__file__).with_name("facts.yml")


@cache
def facts() -> dict:
    return yaml.safe_load(FACTS_FILE.read_text(encoding="utf-8"))
