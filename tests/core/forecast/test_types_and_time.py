"""QuantileForecast invariants, the time grid helpers, holidays and the package surface."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hems_core.forecast as fc_pkg
from hems_core.forecast.errors import ForecastInputError
from hems_core.forecast.holidays import easter_sunday, holiday_set, public_holidays
from hems_core.forecast.timegrid import (
    STEP_S,
    local_keys,
    to_epoch_array,
    to_epoch_s,
    to_quarter_grid,
)
from hems_core.forecast.types import QuantileForecast

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _qf(n: int = 4, **kw: object) -> QuantileForecast:
    args: dict[str, object] = {
        "start": T0,
        "p10": np.zeros(n),
        "p50": np.ones(n),
        "p90": np.full(n, 2.0),
        "source": ("x",) * n,
    }
    args.update(kw)
    return QuantileForecast(**args)  # type: ignore[arg-type]


def test_quantile_forecast_is_frozen_and_read_only() -> None:
    q = _qf()
    with pytest.raises(ValueError, match="read-only"):
        q.p50[0] = 5.0
    with pytest.raises(AttributeError):
        q.start = T0  # type: ignore[misc]
    assert q.end == T0 + timedelta(hours=1)
    assert q.energy_kwh("p90").tolist() == [0.5] * 4
    assert q.epochs().tolist() == [int(T0.timestamp()) + i * STEP_S for i in range(4)]


@pytest.mark.parametrize(
    "kw",
    [
        {"start": datetime(2025, 1, 1)},
        {"start": T0 + timedelta(minutes=5)},
        {"p50": np.ones(3)},
        {"p90": np.array([2.0, 2.0, np.nan, 2.0])},
        {"p10": np.full(4, -1.0)},
        {"p10": np.full(4, 1.5)},
        {"source": ("x",)},
    ],
)
def test_quantile_forecast_rejects_invalid(kw: dict[str, object]) -> None:
    with pytest.raises(ForecastInputError):
        _qf(**kw)


def test_attributes_fit_the_recorder_limit() -> None:
    n = 192
    rng = np.random.default_rng(0)
    base = rng.uniform(0, 10, n)
    q = _qf(n, p10=base / 3, p50=base / 2 + 0.123456, p90=base + 1.987654)
    small = q.as_attributes()
    assert small["step_minutes"] == 15
    assert len(json.dumps(small, separators=(",", ":"))) <= 16384
    tiny = q.as_attributes(max_bytes=1500)
    assert len(json.dumps(tiny, separators=(",", ":"))) <= 1500
    assert tiny["step_minutes"] == 60


def test_to_epoch_accepts_the_documented_forms() -> None:
    ref = 1735689600
    assert to_epoch_s("2025-01-01T00:00:00Z") == ref
    assert to_epoch_s("2025-01-01T01:00:00+01:00") == ref
    assert to_epoch_s(datetime(2025, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == ref
    assert to_epoch_s(np.datetime64("2025-01-01T00:00:00")) == ref
    assert to_epoch_s(ref) == ref
    arr = np.array(["2025-01-01T00:00", "2025-01-01T00:15"], dtype="datetime64[m]")
    assert to_epoch_array(arr).tolist() == [ref, ref + 900]
    for bad in (True, float("nan"), "2025-01-01T00:00:00", object()):
        with pytest.raises(ForecastInputError):
            to_epoch_s(bad)  # type: ignore[arg-type]


def test_five_minute_statistics_are_summed_per_quarter() -> None:
    t = 1735689600 + 300 * np.arange(12)
    v = np.full(12, 0.1)
    v[4] = np.nan  # second quarter incomplete
    start, grid = to_quarter_grid(t, v)
    assert start == 1735689600
    assert grid[0] == pytest.approx(0.3)
    assert np.isnan(grid[1])
    assert grid[2] == pytest.approx(0.3)


def test_quarter_grid_rejects_odd_intervals() -> None:
    with pytest.raises(ForecastInputError, match="divide"):
        to_quarter_grid([0, 420, 840], [1, 1, 1])
    with pytest.raises(ForecastInputError, match="multiple"):
        to_quarter_grid([0, 1200, 2400], [1, 1, 1])
    with pytest.raises(ForecastInputError, match="empty"):
        to_quarter_grid([], [])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0, 5, allow_nan=False), min_size=1, max_size=48))
def test_hourly_split_keeps_energy(values: list[float]) -> None:
    t = 1735689600 + 3600 * np.arange(len(values))
    _, grid = to_quarter_grid(t, values, interval_s=3600)
    assert grid.size == 4 * len(values)
    assert np.nansum(grid) == pytest.approx(sum(values))


def test_local_keys_on_dst_days() -> None:
    tz = ZoneInfo("Europe/Brussels")
    spring = int(datetime(2025, 3, 29, 23, tzinfo=UTC).timestamp())  # local 2025-03-30 00:00
    day, q = local_keys(spring + STEP_S * np.arange(92), tz)
    assert len(set(day.tolist())) == 1
    assert 8 not in q.tolist()  # 02:00 local does not exist
    autumn = int(datetime(2025, 10, 25, 22, tzinfo=UTC).timestamp())
    day, q = local_keys(autumn + STEP_S * np.arange(100), tz)
    assert len(set(day.tolist())) == 1
    assert q.tolist().count(8) == 2  # 02:00 local happens twice


def test_holidays() -> None:
    assert easter_sunday(2024) == date(2024, 3, 31)
    assert easter_sunday(2025) == date(2025, 4, 20)
    assert easter_sunday(2038) == date(2038, 4, 25)
    be = public_holidays("BE", 2025)
    assert {date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9), date(2025, 7, 21)} <= be
    assert len(be) == 10
    assert date(2025, 4, 26) in public_holidays("NL", 2025)  # King's Day moved off Sunday
    assert date(2025, 10, 3) in public_holidays("DE", 2025)
    assert date(2025, 6, 20) in public_holidays("SE", 2025)  # Midsummer Eve
    assert holiday_set(None, [2025], [date(2025, 8, 1)]) == {date(2025, 8, 1)}
    with pytest.raises(ForecastInputError, match="no holiday calendar"):
        public_holidays("XX", 2025)


def test_package_exports_resolve_lazily() -> None:
    for name in fc_pkg.__all__:
        assert getattr(fc_pkg, name) is not None
    with pytest.raises(AttributeError):
        _ = fc_pkg.nope  # type: ignore[attr-defined]
    code = "import sys, hems_core.forecast.cli; print('numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"
