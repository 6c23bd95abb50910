"""Capacity-tariff state from meter data: clock quarters, Flemish monthly peaks, Swedish top 3."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from hems_core.tariffs import (
    FlandersPeakState,
    PowerWindow,
    PriceDataError,
    SwedishPowerTariff,
    quarters_from_counter,
    quarters_from_power,
    update_flanders,
    update_sweden,
)
from tests.core.tariffs.helpers import AMS, STO


def _counter_for(
    power_kw: list[float], start: datetime, every_s: int = 10
) -> tuple[list[datetime], list[float]]:
    """Readings every ``every_s`` seconds of a counter driven by per-quarter constant power."""
    times, counter, total = [], [], 0.0
    n = len(power_kw) * 900 // every_s
    for i in range(n + 1):
        times.append(start + timedelta(seconds=i * every_s))
        counter.append(total)
        q = min(i * every_s // 900, len(power_kw) - 1)
        total += power_kw[q] * every_s / 3600
    return times, counter


def test_counter_quarters_are_clock_aligned_and_exact() -> None:
    start = datetime(2026, 1, 5, 7, 58, 20, tzinfo=UTC)  # readings start mid-quarter
    power = [1.0, 2.0, 8.0, 3.0, 0.5]
    # power[k] holds from start + 900 s·k, so clock quarters see blends of two values
    t, c = _counter_for(power, start)
    q = quarters_from_counter(t, c)
    assert all(s % 900 == 0 for s in q.starts.tolist())
    assert q.starts[0] == int(datetime(2026, 1, 5, 8, 0, tzinfo=UTC).timestamp())
    # 08:00-08:15: power[0] until 08:13:20 (800 s), then power[1] (100 s)
    want0 = (800 * 1.0 + 100 * 2.0) / 900
    assert q.kw[0] == pytest.approx(want0, rel=1e-9)
    assert q.running_start is not None
    assert q.running_kwh >= 0


def test_counter_decreasing_is_an_error() -> None:
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    with pytest.raises(PriceDataError, match="decreases"):
        quarters_from_counter([t0, t0 + timedelta(minutes=20)], [10.0, 9.0])
    with pytest.raises(PriceDataError):
        quarters_from_counter([t0, t0], [1.0, 2.0])


def test_power_samples_skip_quarters_with_gaps() -> None:
    t0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
    times = [t0 + timedelta(seconds=10 * i) for i in range(181)]  # 08:00-08:30
    power = [4.0] * 181
    # remove 08:16:40-08:20 (200 s gap inside the second quarter)
    keep = [
        i
        for i, t in enumerate(times)
        if not (t0 + timedelta(seconds=1000) < t < t0 + timedelta(seconds=1200))
    ]
    q = quarters_from_power([times[i] for i in keep], [power[i] for i in keep])
    assert len(q) == 1
    assert q.kw[0] == pytest.approx(4.0)


def test_flanders_month_peak_rollover_and_average() -> None:
    state: FlandersPeakState | None = None
    # Jan: peak 5 kW; Feb: peak 1 kW (floored to 2.5); March: running
    for month, peak in ((1, 5.0), (2, 1.0), (3, 3.0)):
        start = datetime(2026, month, 10, 12, tzinfo=AMS).astimezone(UTC)
        t, c = _counter_for([0.5, peak, 0.5, 0.2], start, every_s=60)
        state = update_flanders(state, quarters_from_counter(t, c), AMS)
    assert state is not None
    assert (state.year, state.month) == (2026, 3)
    assert state.month_peak_kw == pytest.approx(3.0)
    assert state.previous_peaks_kw == pytest.approx((5.0, 1.0))
    assert state.billed_peak_kw() == pytest.approx(3.0)
    assert state.average_peak_kw() == pytest.approx((5.0 + 2.5 + 3.0) / 3)
    # a quarter from an older month does not reopen it
    old = datetime(2026, 2, 20, 12, tzinfo=UTC)
    t, c = _counter_for([20.0], old, every_s=60)
    assert update_flanders(state, quarters_from_counter(t, c), AMS).month_peak_kw == pytest.approx(
        3.0
    )


def test_flanders_month_boundary_is_local_time() -> None:
    # 2026-01-31 23:30 UTC is already 1 February 00:30 in Brussels/Amsterdam
    start = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)
    t, c = _counter_for([7.0], start, every_s=60)
    st = update_flanders(FlandersPeakState(2026, 1, 2.0), quarters_from_counter(t, c), AMS)
    assert (st.year, st.month) == (2026, 2)
    assert st.previous_peaks_kw == (2.0,)
    assert st.month_peak_kw == pytest.approx(7.0)


def test_flanders_keeps_twelve_months() -> None:
    st = FlandersPeakState(2025, 1, 4.0, previous_peaks_kw=tuple(float(i) for i in range(12)))
    t, c = _counter_for([1.0], datetime(2025, 2, 3, tzinfo=UTC), every_s=60)
    st = update_flanders(st, quarters_from_counter(t, c), AMS)
    assert len(st.previous_peaks_kw) == 12
    assert st.previous_peaks_kw[-1] == 4.0


def test_sweden_top_three_one_per_day_night_half() -> None:
    tariff = SwedishPowerTariff(
        price_per_kw_month=81.25, windows=(PowerWindow(time(22), time(6), 0.5),)
    )
    state = None
    # day 1: 10 kW at 12:00 and 11 kW at 13:00 (one peak per day: 11)
    # day 2: 12 kW at 23:00 (night: counts 6)
    # day 3: 7 kW at 09:00 ; day 4: 2 kW at 10:00
    events = [
        (datetime(2026, 1, 5, 12, tzinfo=STO), 10.0),
        (datetime(2026, 1, 5, 13, tzinfo=STO), 11.0),
        (datetime(2026, 1, 6, 23, tzinfo=STO), 12.0),
        (datetime(2026, 1, 7, 9, tzinfo=STO), 7.0),
        (datetime(2026, 1, 8, 10, tzinfo=STO), 2.0),
    ]
    for when, kw in events:
        t, c = _counter_for([kw] * 4, when.astimezone(UTC), every_s=60)
        state = update_sweden(state, quarters_from_counter(t, c), tariff, STO)
    assert state is not None
    assert state.top(3) == pytest.approx([11.0, 7.0, 6.0])
    assert state.billed_kw(3) == pytest.approx(8.0)
    assert state.threshold_kw(3) == pytest.approx(6.0)


def test_sweden_incomplete_hour_is_not_counted() -> None:
    tariff = SwedishPowerTariff(price_per_kw_month=50.0)
    t, c = _counter_for([9.0, 9.0, 9.0], datetime(2026, 1, 5, 11, tzinfo=UTC), every_s=60)
    with pytest.raises(PriceDataError):
        update_sweden(None, quarters_from_counter(t, c), tariff, STO)


def test_weights_follow_local_time_over_dst() -> None:
    tariff = SwedishPowerTariff(
        price_per_kw_month=1.0, windows=(PowerWindow(time(22), time(6), 0.5),)
    )
    start = datetime(2026, 3, 28, 23, tzinfo=UTC)  # local midnight of the 23-hour day
    w = tariff.weights(start, 92, STO)
    # local 00:00-06:00 is 5 real hours that day (02:00 is skipped): 20 quarters at 0.5
    assert int(np.sum(w[:24] == 0.5)) == 20
    assert np.all(w[20:84] == 1.0)  # 06:00-22:00: 16 hours
    assert np.all(w[84:] == 0.5)  # 22:00-24:00


def test_counter_gap_quarters_can_be_left_out() -> None:
    t0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
    times = [t0, t0 + timedelta(minutes=14), t0 + timedelta(minutes=50), t0 + timedelta(minutes=61)]
    counter = [0.0, 0.5, 3.0, 3.2]
    every = quarters_from_counter(times, counter)
    assert len(every) == 4
    kept = quarters_from_counter(times, counter, max_gap_s=300)
    # 08:14-08:50 has no readings: 08:00, 08:15, 08:30 and 08:45 all overlap it
    assert len(kept) == 0
    assert kept.running_kwh == pytest.approx(every.running_kwh)
