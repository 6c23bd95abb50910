"""Real day-ahead prices through the adapters (skipped when the shared data set is absent)."""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from hems_core.tariffs import extend_with_tail, parse_prices
from tests.core.tariffs.helpers import AMS, STO
from tests.shared_data import SHARED_DATA

DATA = SHARED_DATA
NL15 = DATA / "prices_nl_dayahead_15min_2025.csv"
SE3 = DATA / "prices_se3_dayahead_hourly_2023_2024.csv"


def _days(path: Path) -> dict[date, list[float]]:
    out: dict[date, list[float]] = defaultdict(list)
    with path.open() as f:
        for row in csv.DictReader(f):
            out[date.fromisoformat(row["timestamp_local"][:10])].append(
                float(row["price_eur_mwh"]) / 1000
            )
    return out


@pytest.mark.skipif(not NL15.exists(), reason="shared NL price data not available")
def test_every_nl_2025_day_as_flat_list() -> None:
    days = _days(NL15)
    counts = {len(v) for v in days.values()}
    assert counts == {92, 96, 100}
    for day, vals in days.items():
        s = parse_prices(vals, tz=AMS, day=day, step_minutes=15)
        assert s.complete_days(AMS) == [day]
        np.testing.assert_allclose(s.values, vals)
    # the hourly market before 2025-10-01 also parses as 24 hourly prices, held per quarter
    d = date(2025, 3, 30)
    hourly = days[d][::4]
    s = parse_prices(hourly, tz=AMS, day=d)
    np.testing.assert_allclose(s.values, days[d])


@pytest.mark.skipif(not NL15.exists(), reason="shared NL price data not available")
def test_tail_forecast_on_real_prices_is_reasonable() -> None:
    days = _days(NL15)
    week = [date(2025, 11, 3) + timedelta(days=i) for i in range(7)]
    vals = [v for d in week for v in days[d]]
    s = parse_prices(vals[:96], tz=AMS, day=week[0])
    for d in week[1:]:
        s = s.extend(parse_prices(days[d], tz=AMS, day=d))
    nxt = week[-1] + timedelta(days=1)
    out = extend_with_tail(s, s.end + timedelta(days=1), AMS)
    err = np.abs(out.values[len(s) :] - np.array(days[nxt])).mean()
    naive = np.abs(np.mean(vals) - np.array(days[nxt])).mean()
    assert err < naive  # the daily profile beats a flat average


@pytest.mark.skipif(not SE3.exists(), reason="shared SE3 price data not available")
def test_se3_hourly_dst_days() -> None:
    days = _days(SE3)
    for d in (date(2023, 3, 26), date(2023, 10, 29), date(2024, 3, 31)):
        s = parse_prices(days[d], tz=STO, day=d)
        assert len(s) == 4 * len(days[d])
        assert s.complete_days(STO) == [d]
