"""The Flemish all-in import price: network kWh charge and levies per Fluvius area, from data.

Expected prices are computed here from the data file's JSON, read directly (not through the
code under test), so a template that drops a component, or takes a missing one as zero, fails.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from hems_core.tariffs import PriceDataError, PriceSeries, be_flanders, compose
from hems_core.tariffs.composition import flanders_areas

BXL = ZoneInfo("Europe/Brussels")
RAW: dict[str, Any] = json.loads(
    resources.files("hems_core.tariffs").joinpath("data", "be_flanders.json").read_text("utf-8")
)
AREAS = RAW["areas"]["value"]
NETWORK = RAW["network_per_kwh"]["by_area"]
LEVIES = RAW["levies_per_kwh"]["components"]


def _spot(start: datetime, n: int = 8, value: float = 0.08) -> PriceSeries:
    return PriceSeries(
        start=start,
        values=np.full(n, value),
        known=np.ones(n, dtype=bool),
        source="test",
    )


def _levy_on(day: str) -> float:
    """Sum of every levy component in force on ``day`` (ISO date), straight from the JSON."""
    total = 0.0
    for comp in LEVIES.values():
        for p in comp["periods"]:
            if p["from"] <= day and ("to" not in p or day <= p["to"]):
                total += p["value"]
    return total


def test_eight_fluvius_areas_each_with_a_sourced_2026_capacity_tariff() -> None:
    assert flanders_areas() == tuple(AREAS)
    assert len(AREAS) == 8
    for area in AREAS:
        cap = RAW["capacity_eur_per_kw_year_by_area"]["by_area"][area]["by_year"]["2026"]
        assert 40 < cap < 70
        t = be_flanders(2026, area=area, network_per_kwh=0.05)
        assert t.capacity is not None
        assert t.capacity.eur_per_kw_year == pytest.approx(cap)  # type: ignore[attr-defined]


def test_every_value_names_its_source() -> None:
    for area, entry in NETWORK.items():
        assert entry["source"].strip(), area
    for name, comp in LEVIES.items():
        assert comp["source"].strip(), name
        assert comp["periods"], name
    assert RAW["capacity_eur_per_kw_year_by_area"]["source"].strip()


@pytest.mark.parametrize("area", [a for a in AREAS if NETWORK[a]["by_year"].get("2026")])
def test_all_in_import_includes_network_charge_and_levies(area: str) -> None:
    vat = RAW["vat"]["value"]
    network = NETWORK[area]["by_year"]["2026"]
    spot = _spot(datetime(2026, 3, 10, 11, tzinfo=UTC))
    p = compose(spot, be_flanders(2026, area=area, supplier_markup=0.01), BXL)
    want = (0.08 + 0.01 + network + _levy_on("2026-03-10")) * (1 + vat)
    np.testing.assert_allclose(p.import_price, want)
    # the levies and the network charge are a real part of the price, not a rounding error
    assert p.import_price[0] - (0.08 + 0.01) * (1 + vat) > 0.1
    np.testing.assert_allclose(p.export_price, 0.08)  # no levies, no VAT on injection


def test_a_levy_change_during_the_year_applies_from_its_day() -> None:
    excise = LEVIES["federal_excise"]["periods"]
    assert len(excise) >= 2, "the data file carries the August 2026 excise step"
    change = excise[1]["from"]  # "2026-08-01"
    vat = RAW["vat"]["value"]
    day = datetime.fromisoformat(change).replace(tzinfo=BXL)
    spot = _spot(day.astimezone(UTC) - (day - day.replace(hour=0)) - (8 * _quarter()), n=16)
    p = compose(spot, be_flanders(2026, area="antwerpen"), BXL)
    before, after = p.import_price[:8], p.import_price[8:]
    step = (excise[1]["value"] - excise[0]["value"]) * (1 + vat)
    np.testing.assert_allclose(after - before, step)
    assert step != 0


def _quarter() -> Any:
    from datetime import timedelta

    return timedelta(minutes=15)


def test_no_area_and_no_network_charge_is_an_error_not_a_zero() -> None:
    with pytest.raises(PriceDataError, match="Fluvius area"):
        be_flanders(2026)


@pytest.mark.parametrize("area", [a for a in AREAS if not NETWORK[a]["by_year"]])
def test_an_area_without_data_is_an_error_naming_it(area: str) -> None:
    with pytest.raises(PriceDataError, match=f"network_per_kwh for Fluvius {area}"):
        be_flanders(2026, area=area)
    # given explicitly, it composes
    assert be_flanders(2026, area=area, network_per_kwh=0.06).grid_per_kwh == 0.06


def test_unknown_area_is_an_error() -> None:
    with pytest.raises(PriceDataError, match="unknown Fluvius area 'gent'"):
        be_flanders(2026, area="gent")


def test_a_year_before_the_data_is_an_error() -> None:
    with pytest.raises(PriceDataError, match="no network_per_kwh for Fluvius antwerpen in 2025"):
        be_flanders(2025, area="antwerpen")
    with pytest.raises(PriceDataError, match="levy for all of 2025"):
        be_flanders(2025, area="antwerpen", network_per_kwh=0.05)
    with pytest.raises(PriceDataError, match="no capacity_eur_per_kw_year_by_area"):
        be_flanders(2025, area="antwerpen", network_per_kwh=0.05, levies_per_kwh=0.06)
    t = be_flanders(
        2025,
        area="antwerpen",
        network_per_kwh=0.05,
        levies_per_kwh=0.06,
        capacity_eur_per_kw_year=50.0,
    )
    assert (t.grid_per_kwh, t.energy_tax) == (0.05, 0.06)


def test_a_later_year_keeps_the_newest_values() -> None:
    t26 = be_flanders(2026, area="imewo")
    t27 = be_flanders(2027, area="imewo")
    assert t27.grid_per_kwh == t26.grid_per_kwh == NETWORK["imewo"]["by_year"]["2026"]
    # 2027 starts on the values in force at the end of 2026 (after the August excise step)
    assert t27.energy_tax == pytest.approx(_levy_on("2026-12-31"))
    assert not t27.tou
