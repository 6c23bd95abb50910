"""The price tail beyond the published horizon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.tariffs import PriceDataError, PriceSeries, extend_with_tail
from tests.core.tariffs.helpers import AMS


def _week(start: datetime, days: int, weekend_bump: float = 0.0) -> PriceSeries:
    vals = []
    for d in range(days):
        day_start = start + timedelta(days=d)
        local = day_start.astimezone(AMS)
        bump = weekend_bump if local.weekday() >= 5 else 0.0
        vals += [0.1 + 0.001 * q + bump for q in range(96)]
    v = np.array(vals)
    return PriceSeries(start=start, values=v, known=np.ones(v.size, bool))


def test_tail_is_marked_forecast_and_follows_the_daily_profile() -> None:
    start = datetime(2026, 6, 1, 22, tzinfo=UTC)  # local midnight, Tuesday 2 June
    s = _week(start, 7)
    out = extend_with_tail(s, s.end + timedelta(hours=30), AMS)
    assert len(out) == len(s) + 120
    assert out.known[: len(s)].all()
    assert not out.known[len(s) :].any()
    np.testing.assert_allclose(out.values[len(s) : len(s) + 96], s.values[:96])


def test_tail_uses_same_weekday() -> None:
    start = datetime(2026, 6, 1, 22, tzinfo=UTC)  # Tuesday
    s = _week(start, 7, weekend_bump=0.2)
    # the tail covers next Tuesday .. Sunday: Saturday (day 4 of the tail) gets half the bump
    out = extend_with_tail(s, s.end + timedelta(days=6), AMS)
    tail = out.values[len(s) :].reshape(6, 96)
    np.testing.assert_allclose(tail[0], s.values[:96])  # a weekday: median of 5 equal weekdays
    assert tail[4][0] == pytest.approx(0.1 + 0.5 * 0.2)  # Saturday: 0.5 median + 0.5 Saturday


def test_tail_over_spring_dst_day() -> None:
    start = datetime(2026, 3, 21, 23, tzinfo=UTC)  # local midnight 22 March (CET)
    s = _week(start, 7)  # 7 regular days up to 2026-03-28 23:00Z
    out = extend_with_tail(s, datetime(2026, 3, 29, 22, tzinfo=UTC), AMS)  # the 23-hour day
    tail = out.values[len(s) :]
    assert tail.size == 92
    # after the skipped hour, local 03:00 maps to the 03:00 profile value (quarter 12)
    assert tail[8] == pytest.approx(0.1 + 0.001 * 12)


def test_no_tail_needed_returns_same_series() -> None:
    s = _week(datetime(2026, 6, 1, 22, tzinfo=UTC), 1)
    assert extend_with_tail(s, s.end - timedelta(hours=1), AMS) is s


def test_tail_needs_known_history() -> None:
    v = np.ones(4)
    s = PriceSeries(datetime(2026, 6, 1, tzinfo=UTC), v, np.zeros(4, bool))
    with pytest.raises(PriceDataError):
        extend_with_tail(s, s.end + timedelta(hours=1), AMS)
