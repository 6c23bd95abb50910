"""Resampling to quarters keeps time-weighted averages; coarse prices are held exactly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.tariffs import PriceDataError, SeriesMeta, intervals_to_series
from hems_core.tariffs.resample import infer_ends

META = SeriesMeta()
T0 = 1_790_000_100 - 1_790_000_100 % 3600  # an hour boundary


@st.composite
def partitions(draw: st.DrawFn) -> tuple[list[int], list[float]]:
    """A contiguous run of intervals (5/10/15/30/60 min) on a quarter-aligned span."""
    lengths = draw(st.lists(st.sampled_from([5, 10, 15, 30, 60]), min_size=1, max_size=40))
    total = sum(lengths)
    if total % 15:
        lengths.append(15 - total % 15 if (15 - total % 15) in (5, 10) else 5)
        while sum(lengths) % 15:
            lengths.append(5)
    bounds = [T0]
    for m in lengths:
        t = bounds[-1]
        if m >= 15 and t % 900:  # coarse intervals sit on the grid: pad with 5-minute pieces
            while bounds[-1] % 900:
                bounds.append(bounds[-1] + 300)
            t = bounds[-1]
        bounds.append(t + m * 60)
    while bounds[-1] % 900:
        bounds.append(bounds[-1] + 300)
    vals = draw(
        st.lists(
            st.floats(-0.5, 4.0, allow_nan=False),
            min_size=len(bounds) - 1,
            max_size=len(bounds) - 1,
        )
    )
    return bounds, vals


@settings(max_examples=300, deadline=None)
@given(partitions())
def test_time_weighted_average_is_kept(p: tuple[list[int], list[float]]) -> None:
    bounds, vals = p
    b = np.array(bounds)
    s = intervals_to_series(b[:-1], b[1:], vals, META)
    assert len(s) * 900 == bounds[-1] - bounds[0]
    original = float(np.dot(np.diff(b), vals))
    resampled = float(s.values.sum() * 900)
    assert resampled == pytest.approx(original, rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([30, 60]),
    st.lists(st.floats(-0.5, 4.0, allow_nan=False), min_size=1, max_size=50),
)
def test_coarse_prices_are_held_exactly(minutes: int, vals: list[float]) -> None:
    starts = T0 + np.arange(len(vals)) * minutes * 60
    s = intervals_to_series(starts, starts + minutes * 60, vals, META)
    assert np.array_equal(s.values, np.repeat(vals, minutes // 15))


def test_finer_prices_are_averaged() -> None:
    starts = T0 + np.arange(6) * 300
    s = intervals_to_series(starts, starts + 300, [1, 2, 3, 10, 20, 30], META)
    np.testing.assert_allclose(s.values, [2.0, 20.0])


def test_known_flag_is_and_of_covering_intervals() -> None:
    starts = T0 + np.arange(6) * 300
    s = intervals_to_series(
        starts, starts + 300, [1.0] * 6, META, known=[True, True, True, True, False, True]
    )
    assert s.known.tolist() == [True, False]


def test_infer_ends_per_local_day() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Amsterdam")
    day1 = int(datetime(2026, 1, 10, tzinfo=tz).timestamp())  # local midnight
    hourly = [day1 + 3600 * i for i in range(24)]
    quarters = [hourly[-1] + 3600 + 900 * i for i in range(96)]
    ends = infer_ends(hourly + quarters, tz)
    assert ends[0] - hourly[0] == 3600
    assert ends[-1] - quarters[-1] == 900
    with pytest.raises(PriceDataError) as err:
        infer_ends(hourly[:5] + hourly[6:], tz)  # one hour missing inside a day
    assert err.value.kind == "gap"
