"""Yearly tariff values are data files shipped in the package, each with its source."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from hems_core.tariffs import PriceDataError, PriceSeries, check_day_complete
from hems_core.tariffs import data as tariff_data
from tests.core.tariffs.helpers import AMS


@pytest.mark.parametrize("country", tariff_data.COUNTRIES)
def test_every_value_names_its_source(country: str) -> None:
    d = tariff_data.load(country)
    entries = [v for v in d.values() if isinstance(v, dict) and ("value" in v or "by_year" in v)]
    assert entries
    for e in entries:
        assert e.get("source"), e
        assert isinstance(e.get("verified"), bool), e


def test_yearly_lookup_and_fallback() -> None:
    exact = tariff_data.yearly("nl", "energy_tax_per_kwh", 2026)
    assert exact.exact
    assert exact.year == 2026
    later = tariff_data.yearly("nl", "energy_tax_per_kwh", 2030)
    assert not later.exact
    assert later.value == exact.value
    with pytest.raises(PriceDataError):
        tariff_data.yearly("nl", "energy_tax_per_kwh", 1999)
    with pytest.raises(PriceDataError):
        tariff_data.load("xx")


def test_check_day_complete_on_dst_days() -> None:
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)  # 2026-10-25 local midnight
    full = PriceSeries(start, np.zeros(100), np.ones(100, bool))
    check_day_complete(full, date(2026, 10, 25), AMS, "tomorrow")
    short = PriceSeries(start, np.zeros(96), np.ones(96, bool))
    with pytest.raises(PriceDataError, match="tomorrow \\(2026-10-25\\) is incomplete: 96 of 100"):
        check_day_complete(short, date(2026, 10, 25), AMS, "tomorrow")
    forecast = PriceSeries(start, np.zeros(100), np.arange(100) < 50)
    with pytest.raises(PriceDataError, match="50 of 100"):
        check_day_complete(forecast, date(2026, 10, 25), AMS, "tomorrow")
