"""The `portal` command: one module per feature, gathered on one group."""

import click

from . import data, export, notify, privacy, site, staff


@click.group()
def main():
    """Jamoum Orphan Care Association portal."""


for feature in (site, staff, export, privacy, data, notify):
    feature.register(main)
