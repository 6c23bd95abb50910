"""The backtest's fast load forecast gives the same numbers as the plain one (issue 19).

The weighted-quantile sort now runs on quarters × samples with an unstable sort, and the backtest
makes one load forecast per hour and one PV forecast per solar day and slices them. All are
checked here against straightforward references, and the hourly reuse against peeking.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from hems_core.backtest.controllers import Forecaster
from hems_core.forecast.load import (
    QUANTILES,
    LoadForecastConfig,
    _build_history,
    _day_profile,
    _daytypes,
    _History,
    _similarity,
    _weighted_quantiles,
    forecast_load,
)
from hems_core.forecast.pv import forecast_pv
from hems_core.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[3]
NL = ROOT / "scenarios" / "nl-2027-v2h"
F = npt.NDArray[np.float64]


def _reference_quantiles(values: F, weights: F) -> F:
    """Column by column: stable sort of the finite samples, first to reach q of the weight."""
    out = np.full((len(QUANTILES), values.shape[1]), np.nan)
    for c in range(values.shape[1]):
        ok = np.isfinite(values[:, c])
        v, w = values[ok, c], weights[ok, c]
        order = np.argsort(v, kind="stable")
        v, cum = v[order], np.cumsum(w[order])
        if cum.size == 0 or cum[-1] <= 0:
            continue
        for qi, q in enumerate(QUANTILES):
            out[qi, c] = v[int(np.argmax(cum >= q * cum[-1] * (1.0 - 1e-12)))]
    return out


def test_weighted_quantiles_match_stable_reference_with_ties_and_gaps() -> None:
    rng = np.random.default_rng(19)
    values = np.round(rng.gamma(2.0, 0.1, size=(280, 96)), 2)  # metered kWh: many ties
    values[rng.random(values.shape) < 0.05] = np.nan
    values[:, 7] = np.nan  # a column without data stays NaN
    weights = np.broadcast_to(rng.random(280)[:, None] + 0.01, values.shape).copy()
    got = _weighted_quantiles(values, weights)
    np.testing.assert_array_equal(got, _reference_quantiles(values, weights))
    assert np.isnan(got[:, 7]).all()


def test_day_profile_samples_are_the_rows_and_their_neighbour_quarters() -> None:
    """The quarters × samples layout holds the same (row, offset) samples as rows × quarters."""
    rng = np.random.default_rng(5)
    n_days = 40
    grid = np.round(rng.gamma(2.0, 0.1, size=n_days * 96), 2)
    grid[rng.random(grid.size) < 0.03] = np.nan
    t0 = 1_704_067_200  # 2024-01-01 00:00 UTC
    hist = _build_history(t0, grid, ZoneInfo("Europe/Amsterdam"), None, (), None)
    cfg = LoadForecastConfig()
    origin_day = hist.first_day + n_days - 1
    for target in (origin_day, origin_day + 1):
        got, _ = _day_profile(hist, target, origin_day, 37, cfg)
        rows = np.arange(max(origin_day - cfg.lookback_days, hist.first_day), origin_day + 1)
        vals = hist.days[rows - hist.first_day].copy()
        vals[-1, 37:] = np.nan
        keep = rows != target
        rows, vals = rows[keep], vals[keep]
        row_w = _row_weights(hist, rows, origin_day, target, cfg)
        sv, sw = [], []
        for off in range(-cfg.neighbour_quarters, cfg.neighbour_quarters + 1):
            shifted = np.full_like(vals, np.nan)
            lo, hi = max(0, -off), min(96, 96 - off)
            shifted[:, lo:hi] = vals[:, lo + off : hi + off]
            sv.append(shifted)
            sw.append(
                np.broadcast_to((row_w * cfg.neighbour_weight ** abs(off))[:, None], vals.shape)
            )
        want = _reference_quantiles(np.concatenate(sv), np.concatenate(sw))
        np.testing.assert_array_equal(got, want)


def _row_weights(
    hist: _History, rows: npt.NDArray[np.int64], origin_day: int, target: int,
    cfg: LoadForecastConfig,
) -> F:  # fmt: skip
    """Row weights as the forecaster defines them: half-life decay times day-type similarity."""
    ttype = int(_daytypes(np.array([target], dtype=np.int64), hist.holidays)[0])
    age = (origin_day - rows).astype(np.float64)
    sim = _similarity(hist.daytype[rows - hist.first_day], ttype, cfg)
    return np.asarray(np.power(0.5, age / cfg.half_life_days) * sim, dtype=np.float64)


def _june_forecaster() -> tuple[Forecaster, int]:
    sc = load_scenario(NL)
    sc = dataclasses.replace(sc, start_s=sc.start_s + 160 * 86400, days=3)
    return Forecaster(sc), sc.start_s


def test_the_cached_pv_forecast_is_the_direct_one_every_quarter() -> None:
    """One PV forecast per (correction day, solar day), sliced: the same numbers as asking
    ``forecast_pv`` afresh at every quarter and at a mid-quarter event, across midnights."""
    fc, t0 = _june_forecaster()
    sunny = 0
    for k in range(2 * 96):
        t_s = t0 + 900 * k + (420 if k % 37 == 5 else 0)
        got = fc(t_s)
        n = got.pv_kw.shape[0]
        want = forecast_pv(
            start=t_s - t_s % 900, steps=n, now=t_s, clearsky=fc.model, correction=fc._corr
        )
        np.testing.assert_array_equal(got.pv_kw, want.p50)
        sunny += int(want.p50.max() > 0)
    assert sunny > 100  # the sun was up in most of these forecasts


def test_the_hourly_load_forecast_is_sliced_from_the_quarter_it_was_made_at() -> None:
    """A first call at :30 makes the hour's forecast from :30; :45 takes its second step."""
    fc, t0 = _june_forecaster()
    t30 = t0 + 2 * 900
    fc(t30)
    got = fc(t30 + 900)
    sc = fc.sc
    i = sc.index(t30)
    lo = max(0, i - 57 * 96)
    want = forecast_load(
        fc.stamps[lo:i], sc.load_kw[lo:i] * 0.25, origin=t30, horizon_steps=fc.horizon,
        tz=sc.tz, interval_s=900,
    )  # fmt: skip
    n = got.load_kw.shape[0]
    np.testing.assert_array_equal(got.load_kw, np.asarray(want.p50)[1 : 1 + n])
