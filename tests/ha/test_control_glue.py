"""The glue's two pure pieces: prices/forecasts into the core's Forecast, and the status word."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from custom_components.hems.control import forecast_from, status_of
from hems_core.control.core import CoreStatus
from hems_core.control.planning import Forecast
from hems_core.control.types import Mode
from hems_core.forecast import QuantileForecast

T0 = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def qf(start: datetime, kw: list[float]) -> QuantileForecast:
    a = np.array(kw, dtype=float)
    return QuantileForecast(start, a, a, a, ("test",) * len(a))


def test_series_are_aligned_to_the_current_quarter_and_cut_to_the_shortest() -> None:
    now = T0 + timedelta(minutes=20)  # in the second quarter
    prices = (T0 - timedelta(minutes=15), np.arange(12) / 100)  # from 09:45
    load = qf(T0, [1.0] * 10)
    pv = qf(T0 + timedelta(minutes=15), [2.0] * 6)
    f = forecast_from(now, prices, prices, load, pv)
    assert isinstance(f, Forecast)
    assert f.start == T0 + timedelta(minutes=15)
    assert len(f.import_price) == 6  # PV covers the least
    assert f.import_price[0] == pytest.approx(0.02)  # 10:15 is the third price
    assert list(f.pv_kw) == [2.0] * 6 and list(f.load_kw) == [1.0] * 6


def test_missing_pv_is_zero_and_missing_prices_or_load_mean_no_forecast() -> None:
    prices = (T0, np.full(8, 0.3))
    load = qf(T0, [1.0] * 8)
    f = forecast_from(T0, prices, prices, load, None)
    assert f is not None and not f.pv_kw.any()
    stale_pv = qf(T0 - timedelta(days=1), [1.0] * 4)
    f = forecast_from(T0, prices, prices, load, stale_pv)
    assert f is not None and not f.pv_kw.any()
    assert forecast_from(T0, None, None, load, None) is None
    assert forecast_from(T0, prices, prices, None, None) is None
    assert forecast_from(T0, (T0 - timedelta(days=1), np.ones(8)), prices, load, None) is None
    assert forecast_from(T0, (T0, np.ones(3)), prices, load, None) is None  # under an hour


def _status(**kw: object) -> CoreStatus:
    base: dict[str, object] = {
        "mode": Mode.AUTO, "plan_seq": None, "plan_age_s": None, "plan_source": "fallback",
        "failsafe": False, "lost_devices": (), "boosts": {}, "devices": {},
        "month_peak_kw": 0.0, "socs": {}, "energy_in_kwh": {}, "energy_out_kwh": {},
    }  # fmt: skip
    base.update(kw)
    return CoreStatus(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kw", "solving", "word"),
    [
        ({"mode": Mode.OFF, "failsafe": True}, False, "off"),
        ({"failsafe": True, "boosts": {"car": object()}}, False, "fail_safe"),
        ({"island_state": "islanded"}, False, "island"),
        ({"boosts": {"car": object()}, "plan_source": "optimiser"}, False, "boost"),
        ({"plan_source": "optimiser", "plan_seq": 3}, True, "following_plan"),
        ({}, True, "planning"),
        ({}, False, "fallback"),
    ],
)
def test_the_status_word_puts_the_most_important_first(
    kw: dict[str, object], solving: bool, word: str
) -> None:
    assert status_of(_status(**kw), solving) == word


def test_the_peak_margin_comes_from_the_quantiles() -> None:
    """Load p90 over p50 plus PV p50 over p10, capped at the bad case's import (the core's
    rule): at night the load's spread, in weak sun both spreads, in strong sun only what poor
    PV would leave to import."""
    prices = (T0, np.full(8, 0.3))
    ones = np.ones(8)
    load = QuantileForecast(T0, 0.6 * ones, 1.0 * ones, 1.8 * ones, ("test",) * 8)
    pv_kw = np.r_[np.zeros(3), np.full(3, 1.0), np.full(2, 3.0)]
    pv = QuantileForecast(T0, pv_kw / 2, pv_kw, pv_kw * 1.2, ("test",) * 8)
    f = forecast_from(T0, prices, prices, load, pv)
    assert f is not None and f.peak_margin_kw is not None
    assert f.peak_margin_kw.tolist() == pytest.approx([0.8] * 3 + [1.3] * 3 + [0.3] * 2)
    f = forecast_from(T0, prices, prices, load, None)  # no PV forecast: the load's spread
    assert f is not None and f.peak_margin_kw is not None
    assert f.peak_margin_kw.tolist() == pytest.approx([0.8] * 8)
