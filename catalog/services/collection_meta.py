"""Collection metadata given on a harvest (`--title`, `--description`, `--license`).

A harvester derives a collection's title from its source (a BIDS `Name`, a folder name);
a curator running `imagora harvest bids DIR --title "..." --license CC-BY-4.0` says what
the collection should be called and how it is licensed. Those values are applied to the
collection record(s) of the run and remembered in the run's report, so a later harvest of
the same source that does not repeat them keeps them instead of reverting to the source's
own values. Giving a value again replaces it.
"""

from __future__ import annotations

from typing import Any

from harvesters.base import HarvestedRecord, HarvestOptions

#: Key of the remembered values in a run report.
REPORT_KEY = "collection_metadata"
#: Option name -> record field.
FIELDS = {"collection_title": "title", "description": "description", "license": "license"}


def merged(options: HarvestOptions, last_report: dict[str, Any] | None) -> dict[str, str]:
    """The values to apply: those remembered from the last run, overridden by those given."""
    remembered = dict((last_report or {}).get(REPORT_KEY) or {})
    given = {
        record_field: value
        for option, record_field in FIELDS.items()
        if (value := getattr(options, option, None))
    }
    return {k: v for k, v in {**remembered, **given}.items() if k in FIELDS.values() and v}


def apply(produced: list[HarvestedRecord], values: dict[str, str]) -> None:
    """Set the values on the run's top-level collection records."""
    if not values:
        return
    for item in produced:
        if item.parent_key is None and item.record.level.value == "collection":
            for name, value in values.items():
                setattr(item.record, name, value)
