"""Yearly tariff values (tax rates, €/kW, dates) live in JSON files, not in code.

Each file under ``hems_core/tariffs/data/`` names its source for every value and whether it was
verified. Rates change every 1 January; a horizon crossing New Year composes each local year with
that year's values. A year missing from a table falls back to the newest earlier year (so a plan
in early January still works before the file is updated) and :func:`yearly` reports that it did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .errors import PriceDataError

COUNTRIES = ("nl", "be_flanders", "se", "de")


@cache
def load(country: str) -> dict[str, Any]:
    """The parsed data file of one country (``nl``, ``be_flanders``, ``se``, ``de``)."""
    if country not in COUNTRIES:
        raise PriceDataError("tariff", f"no tariff data for {country!r} (have {COUNTRIES})")
    text = resources.files(__package__).joinpath("data", f"{country}.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@dataclass(frozen=True)
class YearlyValue:
    """A value looked up for a year, and the year it actually came from."""

    value: float
    year: int
    exact: bool


def yearly(country: str, key: str, year: int) -> YearlyValue:
    """``load(country)[key]["by_year"]`` for ``year``, or the newest earlier year."""
    entry = load(country).get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("by_year"), dict):
        raise PriceDataError("tariff", f"{country}: no yearly table {key!r}")
    table = {int(y): float(v) for y, v in entry["by_year"].items()}
    if year in table:
        return YearlyValue(table[year], year, True)
    earlier = [y for y in table if y < year]
    if not earlier:
        raise PriceDataError("tariff", f"{country}: {key} has no value for {year} or before")
    y = max(earlier)
    return YearlyValue(table[y], y, False)


def scalar(country: str, key: str) -> Any:
    """``load(country)[key]["value"]``."""
    entry = load(country).get(key)
    if not isinstance(entry, dict) or "value" not in entry:
        raise PriceDataError("tariff", f"{country}: no value {key!r}")
    return entry["value"]
