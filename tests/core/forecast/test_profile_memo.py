"""The incremental day-profile memo gives exactly the from-scratch quantiles (issue 19).

Hourly origins over a day with holidays and NaN gaps, and a revised history value between two
calls: the memo must recompute what changed, never return a stale profile.
"""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import numpy as np

import hems_core.forecast.load as load
from hems_core.forecast.load import LoadForecastConfig, _build_history, _day_profile


def _scratch(*args: object) -> np.ndarray:
    load._PROFILE_MEMO.clear()
    q, _ = _day_profile(*args)  # type: ignore[arg-type]
    load._PROFILE_MEMO.clear()
    return q


def test_memo_matches_scratch_over_hourly_origins_with_gaps_holidays_and_revisions() -> None:
    rng = np.random.default_rng(19)
    n_days = 60
    grid = np.round(rng.gamma(2.0, 0.1, size=n_days * 96), 2)
    grid[rng.random(grid.size) < 0.03] = np.nan
    t0 = 1_704_067_200  # 2024-01-01 00:00 UTC
    tz = ZoneInfo("Europe/Brussels")
    cfg = LoadForecastConfig()
    hist = _build_history(t0, grid, tz, "BE", (date(2024, 2, 27),), None)
    origin_day = hist.first_day + n_days - 2
    load._PROFILE_MEMO.clear()
    checked = 0
    for origin_q in range(4, 96, 4):
        for target in (origin_day - 1, origin_day, origin_day + 1, origin_day + 2):
            got, _ = _day_profile(hist, target, origin_day, origin_q, cfg)
            want = _scratch(hist, target, origin_day, origin_q, cfg)
            np.testing.assert_array_equal(got, want)
            # warm the memo again for the next origin
            _day_profile(hist, target, origin_day, origin_q, cfg)
            checked += 1
        if origin_q == 40:  # a revised value in the look-back: the memo must see it
            days = hist.days.copy()
            days[20, 50] = 9.0
            hist = load._History(
                hist.grid_start, hist.grid, hist.first_day, days, hist.daytype,
                hist.day_temp, hist.tz, hist.holidays,
            )  # fmt: skip
    assert checked == 23 * 4


def test_revised_value_changes_the_profile_through_the_memo() -> None:
    rng = np.random.default_rng(3)
    n_days = 40
    grid = np.round(rng.gamma(2.0, 0.1, size=n_days * 96), 2)
    hist = _build_history(1_704_067_200, grid, ZoneInfo("Europe/Brussels"), None, (), None)
    cfg = LoadForecastConfig()
    od = hist.first_day + n_days - 1
    load._PROFILE_MEMO.clear()
    before, _ = _day_profile(hist, od + 1, od, 30, cfg)
    days = hist.days.copy()
    days[:, 10] = 5.0  # every day's quarters 10 and 60 revised upward: medians must follow
    days[:, 60] = 5.0
    revised = load._History(
        hist.grid_start, hist.grid, hist.first_day, days, hist.daytype,
        hist.day_temp, hist.tz, hist.holidays,
    )  # fmt: skip
    after, _ = _day_profile(revised, od + 1, od, 30, cfg)
    np.testing.assert_array_equal(after, _scratch(revised, od + 1, od, 30, cfg))
    assert after[1, 10] != before[1, 10] and after[1, 60] != before[1, 60]
