"""Load forecaster: synthetic households with a known answer, edge cases and fallbacks."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.forecast.errors import ForecastInputError
from hems_core.forecast.load import (
    FALLBACK_P50_KW,
    LoadForecastConfig,
    _weighted_quantiles,
    derive_household_load,
    forecast_load,
)
from hems_core.forecast.timegrid import STEP_S, local_keys

TZ = ZoneInfo("Europe/Brussels")
START = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp()) - 3600  # local midnight


def _synthetic(
    days: int, *, seed: int = 1, weekend_extra: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """kWh per quarter: base 0.05, evening bump 18–21 local, extra on weekends, noise."""
    rng = np.random.default_rng(seed)
    epochs = START + STEP_S * np.arange(days * 96, dtype=np.int64)
    day, q = local_keys(epochs, TZ)
    weekday = (day - 1) % 7
    vals = 0.05 + np.where((q >= 72) & (q < 84), 0.2, 0.0)
    vals = vals + np.where(weekday >= 5, weekend_extra, 0.0)
    vals = vals + rng.exponential(0.01, size=vals.size)
    return epochs, vals


def test_profile_recovers_evening_peak_and_weekend() -> None:
    epochs, vals = _synthetic(42)
    origin = int(epochs[-1]) + STEP_S  # Monday 00:00 local after six weeks
    fc = forecast_load(epochs, vals, origin=origin, horizon_steps=192, tz=TZ)
    assert fc.steps == 192
    assert set(fc.source) == {"history"}
    kwh = fc.energy_kwh("p50")
    _, q = local_keys(fc.epochs(), TZ)
    evening = (q >= 74) & (q < 82)
    night = q < 20
    assert kwh[evening].min() > 0.2
    assert kwh[night].max() < 0.1
    # P90 above P50 (noise) and everything ordered
    assert np.all(fc.p10 <= fc.p50)
    assert np.all(fc.p50 <= fc.p90)
    assert np.mean(fc.p90 > fc.p50) > 0.9


def test_weekend_target_uses_weekend_level() -> None:
    epochs, vals = _synthetic(42, weekend_extra=0.3)
    monday = int(epochs[-1]) + STEP_S
    saturday = monday - 2 * 86400
    cut = epochs < saturday
    fc = forecast_load(epochs[cut], vals[cut], origin=saturday, horizon_steps=96, tz=TZ)
    night = fc.energy_kwh("p50")[:20]
    assert night.min() > 0.3  # 0.05 base + 0.3 weekend extra, not the workday level


def test_holiday_is_treated_as_sunday() -> None:
    epochs, vals = _synthetic(42, weekend_extra=0.3)
    day, _ = local_keys(epochs, TZ)
    target = date.fromordinal(int(day[-1]) + 1)  # a Monday
    assert target.weekday() == 0
    cfg = LoadForecastConfig(country=None)
    origin = int(epochs[-1]) + STEP_S
    plain = forecast_load(epochs, vals, origin=origin, horizon_steps=96, tz=TZ, config=cfg)
    hol = forecast_load(
        epochs, vals, origin=origin, horizon_steps=96, tz=TZ, config=cfg, extra_holidays=[target]
    )
    assert plain.energy_kwh("p50")[:20].max() < 0.15
    assert hol.energy_kwh("p50")[:20].min() > 0.3


def test_blend_follows_a_level_shift() -> None:
    epochs, vals = _synthetic(35)
    origin = int(epochs[-1]) + STEP_S - 12 * 3600  # noon on the last day
    vals = vals.copy()
    last_hours = (epochs >= origin - 3 * 3600) & (epochs < origin)
    vals[last_hours] += 0.5  # somebody started a big load three hours ago
    cut = epochs < origin
    cfg_blend = LoadForecastConfig(blend_hours=2, blend_decay_hours=1)
    cfg_none = LoadForecastConfig(blend_hours=0)
    a = forecast_load(
        epochs[cut], vals[cut], origin=origin, horizon_steps=96, tz=TZ, config=cfg_blend
    )
    b = forecast_load(
        epochs[cut], vals[cut], origin=origin, horizon_steps=96, tz=TZ, config=cfg_none
    )
    assert a.energy_kwh()[0] > b.energy_kwh()[0] + 0.3
    # the shift fades: a day later both agree
    assert abs(a.energy_kwh()[-1] - b.energy_kwh()[-1]) < 1e-3


def test_temperature_sensitivity_scales_cold_days() -> None:
    rng = np.random.default_rng(3)
    days = 56
    epochs = START + STEP_S * np.arange(days * 96, dtype=np.int64)
    day_temp = rng.uniform(-2, 14, size=days)
    temps = np.repeat(day_temp, 96)
    hdd = np.maximum(16 - temps, 0)
    vals = 0.05 + 0.006 * hdd + rng.exponential(0.005, size=temps.size)
    origin = int(epochs[-1]) + STEP_S
    day, _ = local_keys(np.array([origin], dtype=np.int64), TZ)
    target = date.fromordinal(int(day[0]))
    cold = forecast_load(
        epochs,
        vals,
        origin=origin,
        horizon_steps=96,
        tz=TZ,
        temperature_c=temps,
        future_temperature_c={target: -8.0},
    )
    mild = forecast_load(
        epochs,
        vals,
        origin=origin,
        horizon_steps=96,
        tz=TZ,
        temperature_c=temps,
        future_temperature_c={target: 15.0},
    )
    assert cold.energy_kwh().sum() > 1.5 * mild.energy_kwh().sum()
    assert any("temperature" in n for n in cold.notes)


def test_no_history_gives_documented_fallback() -> None:
    origin = datetime(2024, 5, 1, 12, 7, tzinfo=UTC)
    fc = forecast_load([], [], origin=origin, horizon_steps=8)
    assert fc.start == datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert set(fc.source) == {"default"}
    assert np.allclose(fc.p50, FALLBACK_P50_KW)
    assert "fallback" in fc.notes[0]


def test_short_history_gives_fallback_not_crash() -> None:
    epochs, vals = _synthetic(2)
    fc = forecast_load(epochs, vals, origin=int(epochs[-1]) + STEP_S, horizon_steps=4, tz=TZ)
    assert set(fc.source) == {"default"}


def test_future_data_is_ignored() -> None:
    epochs, vals = _synthetic(30)
    origin = int(epochs[20 * 96])
    a = forecast_load(epochs, vals, origin=origin, horizon_steps=96, tz=TZ)
    spoiled = vals.copy()
    spoiled[20 * 96 :] = 100.0
    b = forecast_load(epochs, spoiled, origin=origin, horizon_steps=96, tz=TZ)
    np.testing.assert_array_equal(a.p90, b.p90)


def test_hourly_statistics_are_accepted() -> None:
    epochs, vals = _synthetic(28)
    hourly_t = epochs[::4]
    hourly_v = vals.reshape(-1, 4).sum(axis=1)
    fc = forecast_load(hourly_t, hourly_v, origin=int(epochs[-1]) + STEP_S, horizon_steps=96, tz=TZ)
    assert set(fc.source) == {"history"}
    last_monday = vals[-7 * 96 : -6 * 96]
    assert 0.8 < fc.energy_kwh().sum() / last_monday.sum() < 1.25


def test_gaps_and_nan_are_tolerated() -> None:
    epochs, vals = _synthetic(28)
    vals = vals.copy()
    vals[::7] = np.nan
    keep = np.ones(vals.size, dtype=bool)
    keep[500:900] = False
    fc = forecast_load(epochs[keep], vals[keep], origin=int(epochs[-1]) + STEP_S, tz=TZ)
    assert np.all(np.isfinite(fc.p90))


@pytest.mark.parametrize(
    ("kwargs", "msg"),
    [
        ({"timestamps": [datetime(2024, 1, 1)], "energy_kwh": [1.0]}, "UTC offset"),
        ({"timestamps": ["2024-01-01T00:00:00Z"], "energy_kwh": [1.0, 2.0]}, "values"),
        ({"timestamps": ["yesterday"], "energy_kwh": [1.0]}, "ISO 8601"),
        ({"timestamps": ["2024-01-01T00:00:00Z"], "energy_kwh": ["x"]}, "numeric"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict[str, object], msg: str) -> None:
    with pytest.raises(ForecastInputError, match=msg):
        forecast_load(origin="2024-02-01T00:00:00Z", **kwargs)  # type: ignore[arg-type]


def test_unknown_zone_is_an_input_error() -> None:
    with pytest.raises(ForecastInputError, match="time zone"):
        forecast_load([], [], origin=0, tz="Mars/Olympus")


def test_dst_day_has_92_local_quarters() -> None:
    epochs, vals = _synthetic(60)
    # 2024-03-31 is the spring-forward day in Brussels: forecast across it
    origin = int(datetime(2024, 3, 30, 23, 0, tzinfo=UTC).timestamp()) - 86400
    cut = epochs < origin
    fc = forecast_load(epochs[cut], vals[cut], origin=origin, horizon_steps=192, tz=TZ)
    assert np.all(np.isfinite(fc.p50))
    day, _ = local_keys(fc.epochs(), TZ)
    counts = np.bincount(day - day.min())
    assert 92 in counts.tolist()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=40),
    st.lists(st.floats(0.01, 5, allow_nan=False), min_size=40, max_size=40),
)
def test_weighted_quantiles_match_repeated_samples(
    values: list[float], weights: list[float]
) -> None:
    """Integer weights behave like repeating the sample; quantiles are ordered and in range."""
    v = np.array(values)[:, None]
    w = np.round(np.array(weights[: len(values)]))[:, None] + 1.0
    q = _weighted_quantiles(v, w)[:, 0]
    rep = np.repeat(v[:, 0], w[:, 0].astype(int))
    rep.sort()
    for qi, tau in enumerate((0.1, 0.5, 0.9)):
        k = int(np.ceil(tau * rep.size * (1 - 1e-12))) - 1
        assert q[qi] == rep[max(k, 0)]
    assert v.min() <= q[0] <= q[1] <= q[2] <= v.max()


def test_origin_is_floored_to_quarter() -> None:
    epochs, vals = _synthetic(10)
    origin = datetime.fromtimestamp(int(epochs[-1]) + STEP_S, tz=UTC) + timedelta(minutes=7)
    fc = forecast_load(epochs, vals, origin=origin, horizon_steps=4, tz=TZ)
    assert fc.start == origin - timedelta(minutes=7)


def test_derive_household_load_removes_ev_and_battery() -> None:
    load = derive_household_load(
        grid_import_kwh=[1.0, 0.0, 2.0],
        grid_export_kwh=[0.0, 0.5, 0.0],
        pv_kwh=[0.0, 1.0, 0.0],
        ev_charge_kwh=[0.8, 0.0, 0.0],
        ev_discharge_kwh=[0.0, 0.0, 0.5],
        battery_charge_kwh=[0.0, 0.2, 0.0],
        battery_discharge_kwh=[0.0, 0.0, 0.0],
    )
    assert load.tolist() == pytest.approx([0.2, 0.3, 2.5])
    assert derive_household_load([0.1], ev_charge_kwh=[0.2]).tolist() == [0.0]
    assert np.isnan(derive_household_load([np.nan], pv_kwh=[1.0])[0])
    with pytest.raises(ForecastInputError):
        derive_household_load([1.0, 2.0], pv_kwh=[1.0])


def test_hourly_temperatures_are_intensive() -> None:
    """Hourly temperatures must not be split into quarters like energy (a bug magnet)."""
    rng = np.random.default_rng(3)
    days = 42
    epochs = START + 3600 * np.arange(days * 24, dtype=np.int64)
    day_temp = rng.uniform(-2, 14, size=days)
    temps = np.repeat(day_temp, 24)
    vals = (0.05 + 0.006 * np.maximum(16 - temps, 0)) * 4 + rng.exponential(0.02, temps.size)
    origin = int(epochs[-1]) + 3600
    day, _ = local_keys(np.array([origin], dtype=np.int64), TZ)
    target = date.fromordinal(int(day[0]))
    cold = forecast_load(
        epochs,
        vals,
        origin=origin,
        horizon_steps=96,
        tz=TZ,
        temperature_c=temps,
        future_temperature_c={target: -8.0},
    )
    mild = forecast_load(
        epochs,
        vals,
        origin=origin,
        horizon_steps=96,
        tz=TZ,
        temperature_c=temps,
        future_temperature_c={target: 15.0},
    )
    assert cold.energy_kwh().sum() > 1.3 * mild.energy_kwh().sum()


@pytest.mark.parametrize(
    "kw",
    [
        {"lookback_days": 0},
        {"half_life_days": 0},
        {"workday_weight": 1.5},
        {"neighbour_quarters": 9},
        {"blend_decay_hours": 0},
    ],
)
def test_config_is_validated(kw: dict[str, float]) -> None:
    with pytest.raises(ForecastInputError):
        LoadForecastConfig(**kw)  # type: ignore[arg-type]


def test_horizon_must_be_positive() -> None:
    with pytest.raises(ForecastInputError, match="horizon"):
        forecast_load([], [], origin=0, horizon_steps=0)
