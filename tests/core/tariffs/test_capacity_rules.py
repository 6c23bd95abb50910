"""Capacity tariffs rule by rule, with expectations worked out by hand from the tariff rules.

Kept apart from test_capacity.py (the end-to-end meter-data scenarios): these pin each rule
(window edges, charged months and weekdays, rollover arithmetic, gap edges, error kinds) so that
scripts/mutation finds no change of the code that the tests do not notice.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from hems_core.tariffs import (
    DemandCharge,
    FlandersCapacityTariff,
    FlandersPeakState,
    PowerWindow,
    PriceDataError,
    QuarterAverages,
    SwedishPeakState,
    SwedishPowerTariff,
    quarters_from_counter,
    quarters_from_power,
    update_flanders,
    update_sweden,
)
from tests.core.tariffs.helpers import AMS, STO

T0 = datetime(2026, 1, 5, 8, tzinfo=UTC)  # a Monday, 09:00 in Amsterdam and Stockholm


def _at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _quarters(starts_kw: list[tuple[datetime, float]]) -> QuarterAverages:
    """Complete quarters given directly (start, kW), as the meter-data functions return them."""
    return QuarterAverages(
        starts=np.array([int(s.timestamp()) for s, _ in starts_kw], dtype=np.int64),
        kw=np.array([kw for _, kw in starts_kw], dtype=np.float64),
    )


def _hour(start_local: datetime, kw: float) -> list[tuple[datetime, float]]:
    """Four quarters of one clock hour at ``kw``."""
    return [(start_local + timedelta(minutes=15 * i), kw) for i in range(4)]


def _kind(exc: pytest.ExceptionInfo[PriceDataError]) -> str:
    return exc.value.kind


# -- parameters ----------------------------------------------------------------------------------


def test_flanders_cost_per_kw_month_includes_vat() -> None:
    # 60 €/kW/yr spread over 12 bills is 5 €/kW per month; 21 % VAT on top makes 6.05
    assert FlandersCapacityTariff(60.0, vat=0.21).cost_per_kw_month == pytest.approx(6.05)
    assert FlandersCapacityTariff(48.0).cost_per_kw_month == pytest.approx(4.0)  # no VAT default
    assert FlandersCapacityTariff(48.0).min_kw == 2.5


def test_demand_charge_is_a_price_per_kw() -> None:
    assert DemandCharge(9.5).price_per_kw_month == 9.5


def test_power_window_half_open_interval() -> None:
    day = PowerWindow(time(10), time(12), 2.0)
    assert day.contains(time(10))
    assert day.contains(time(11, 59, 59))
    assert not day.contains(time(12))
    assert not day.contains(time(9, 59, 59))
    night = PowerWindow(time(22), time(6), 0.5)  # wraps midnight
    for inside in (time(22), time(23, 59), time(0), time(5, 59, 59)):
        assert night.contains(inside), inside
    for outside in (time(6), time(12), time(21, 59, 59)):
        assert not night.contains(outside), outside
    # start == end is an empty window, not a whole day
    assert not PowerWindow(time(8), time(8), 3.0).contains(time(8))
    assert not PowerWindow(time(8), time(8), 3.0).contains(time(20))


def test_swedish_defaults() -> None:
    tariff = SwedishPowerTariff(50.0)
    assert tariff.n_peaks == 3
    assert tariff.one_peak_per_day is True
    assert tariff.default_weight == 1.0
    assert tariff.weekdays_only is False
    assert tariff.months == frozenset(range(1, 13))
    # every month and every day is charged by default
    assert tariff.weight_at(datetime(2026, 12, 6, 12, tzinfo=STO)) == 1.0  # a December Sunday
    assert tariff.weight_at(datetime(2026, 1, 3, 12, tzinfo=STO)) == 1.0  # a January Saturday


def test_swedish_charged_months_and_weekdays_only() -> None:
    # a winter-only weekday tariff (Nov-Mar, Mon-Fri), day weight 1, night (22-06) weight 0.5
    tariff = SwedishPowerTariff(
        60.0,
        windows=(PowerWindow(time(22), time(6), 0.5),),
        months=frozenset({11, 12, 1, 2, 3}),
        weekdays_only=True,
    )
    assert tariff.weight_at(datetime(2026, 1, 9, 12, tzinfo=STO)) == 1.0  # Friday
    assert tariff.weight_at(datetime(2026, 1, 9, 23, tzinfo=STO)) == 0.5  # Friday night
    assert tariff.weight_at(datetime(2026, 1, 10, 12, tzinfo=STO)) == 0.0  # Saturday
    assert tariff.weight_at(datetime(2026, 1, 11, 12, tzinfo=STO)) == 0.0  # Sunday
    assert tariff.weight_at(datetime(2026, 1, 12, 12, tzinfo=STO)) == 1.0  # Monday
    assert tariff.weight_at(datetime(2026, 3, 31, 12, tzinfo=STO)) == 1.0  # Tuesday, March
    assert tariff.weight_at(datetime(2026, 4, 1, 12, tzinfo=STO)) == 0.0  # Wednesday, April
    assert tariff.weight_at(datetime(2026, 11, 2, 12, tzinfo=STO)) == 1.0  # Monday, November
    # months without weekdays_only: a July weekday is free, a Saturday in November is not
    winter = SwedishPowerTariff(60.0, months=frozenset({11, 12, 1, 2, 3}))
    assert winter.weight_at(datetime(2026, 7, 1, 12, tzinfo=STO)) == 0.0
    assert winter.weight_at(datetime(2026, 11, 7, 12, tzinfo=STO)) == 1.0


def test_first_matching_window_wins_and_default_weight_elsewhere() -> None:
    tariff = SwedishPowerTariff(
        10.0,
        windows=(PowerWindow(time(17), time(20), 2.0), PowerWindow(time(16), time(21), 1.5)),
        default_weight=0.25,
    )
    assert tariff.weight_at(datetime(2026, 1, 5, 18, tzinfo=STO)) == 2.0
    assert tariff.weight_at(datetime(2026, 1, 5, 16, 30, tzinfo=STO)) == 1.5
    assert tariff.weight_at(datetime(2026, 1, 5, 20, 15, tzinfo=STO)) == 1.5
    assert tariff.weight_at(datetime(2026, 1, 5, 3, tzinfo=STO)) == 0.25


def test_weights_are_per_quarter_in_local_time() -> None:
    tariff = SwedishPowerTariff(
        10.0, windows=(PowerWindow(time(17), time(18), 2.0),), weekdays_only=True
    )
    # from Friday 16:30 Stockholm (15:30 UTC): 16:30, 16:45 | 17:00..17:45 | 18:00 | Saturday...
    start = datetime(2026, 1, 9, 16, 30, tzinfo=STO)
    w = tariff.weights(start.astimezone(UTC), 7, STO)
    assert w.dtype == np.float64
    assert w.tolist() == [1.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.0]
    # Friday 23:45 local: one weekday quarter, then Saturday quarters weigh nothing
    late = datetime(2026, 1, 9, 23, 45, tzinfo=STO).astimezone(UTC)
    assert tariff.weights(late, 3, STO).tolist() == [1.0, 0.0, 0.0]
    assert tariff.weights(late, 0, STO).shape == (0,)


# -- quarters from a counter ---------------------------------------------------------------------


def test_counter_interpolates_and_reports_the_running_quarter() -> None:
    # 08:05 -> 08:35 at a steady 0.1 kWh/min (6 kW): the first complete clock quarter is
    # 08:15-08:30 (08:00 started before the readings), the running one 08:30 with 5 min so far
    q = quarters_from_counter([_at(5), _at(35)], [10.0, 13.0])
    assert q.starts.tolist() == [int(_at(15).timestamp())]
    assert q.kw.tolist() == pytest.approx([6.0])
    assert q.running_start == _at(30)
    assert q.running_kwh == pytest.approx(0.5)  # 13.0 - 12.5
    assert len(q) == 1


def test_counter_reading_on_a_boundary_starts_that_quarter() -> None:
    # readings exactly at 08:00, 08:15 and 08:20: 1 kWh in 08:00-08:15 is 4 kW, 08:15 runs
    q = quarters_from_counter([_at(0), _at(15), _at(20)], [100.0, 101.0, 101.5])
    assert q.starts.tolist() == [int(_at(0).timestamp())]
    assert q.kw.tolist() == pytest.approx([4.0])
    assert q.running_start == _at(15)
    assert q.running_kwh == pytest.approx(0.5)
    # ending exactly on a boundary: 08:15 is complete and the running quarter 08:30 is empty
    # (08:15 lies a quarter of the way from 08:10 to 08:30: 0.5 + 1.5 / 4 = 0.875 kWh)
    q = quarters_from_counter([_at(0), _at(10), _at(30)], [0.0, 0.5, 2.0])
    assert q.kw.tolist() == pytest.approx([0.875 * 4, (2.0 - 0.875) * 4])
    assert q.running_start == _at(30)
    assert q.running_kwh == 0.0


def test_counter_inside_one_quarter_has_only_a_running_quarter() -> None:
    # 08:01 -> 08:10: no complete quarter, but 0.6 kWh already drawn in the running 08:00 one
    q = quarters_from_counter([_at(1), _at(10)], [5.0, 5.6])
    assert len(q) == 0
    assert q.kw.shape == (0,)
    assert q.running_start == _at(0)
    assert q.running_kwh == pytest.approx(0.6)


def test_counter_accepts_epoch_seconds() -> None:
    t = np.array([_at(0).timestamp(), _at(15).timestamp(), _at(16).timestamp()])
    q = quarters_from_counter(t, [0.0, 2.0, 2.1])
    assert q.starts.dtype == np.int64
    assert q.starts.tolist() == [int(_at(0).timestamp())]
    assert q.kw.tolist() == pytest.approx([8.0])
    assert quarters_from_counter(t.tolist(), [0.0, 2.0, 2.1]).kw.tolist() == pytest.approx([8.0])


@pytest.mark.parametrize(
    ("times", "counter", "kind", "match"),
    [
        ([_at(0)], [1.0], "format", "two counter readings"),
        ([_at(0), _at(20)], [1.0], "format", "two counter readings"),
        ([_at(0), _at(20)], [1.0, float("nan")], "nan", "finite"),
        ([_at(0), _at(20)], [float("inf"), 2.0], "nan", "finite"),
        ([_at(20), _at(0)], [1.0, 2.0], "overlap", "increasing"),
        ([_at(0), _at(0)], [1.0, 2.0], "overlap", "increasing"),
        ([_at(0), _at(15), _at(20)], [1.0, 2.0, 1.5], "format", "2026-01-05T08:20:00"),
        ([_at(0), datetime(2026, 1, 5, 9)], [1.0, 2.0], "format", "timezone-aware"),
        ([datetime(2026, 1, 5, 8), _at(20)], [1.0, 2.0], "format", "timezone-aware"),
    ],
)
def test_counter_errors_have_kinds(
    times: list[datetime], counter: list[float], kind: str, match: str
) -> None:
    with pytest.raises(PriceDataError, match=match) as exc:
        quarters_from_counter(times, counter)
    assert _kind(exc) == kind


def test_counter_in_unsigned_integers_still_detects_a_decrease() -> None:
    """A register dump as uint32 (Wh-like integers): 12 -> 11 is a decrease, not +4294967295."""
    times = [_at(0), _at(15), _at(20)]
    with pytest.raises(PriceDataError, match="decreases at 2026-01-05T08:20:00") as exc:
        quarters_from_counter(times, np.array([10, 12, 11], dtype=np.uint32))
    assert _kind(exc) == "format"
    q = quarters_from_counter(times, np.array([10, 12, 13], dtype=np.uint32))
    assert q.kw.tolist() == [8.0]  # 2 kWh in the quarter
    assert q.running_kwh == 1.0


def test_counter_gap_edges() -> None:
    # readings every minute 08:00-08:15, 08:20-08:25 and 08:30-08:45 (1 kW throughout)
    minutes = [*range(16), *range(20, 26), *range(30, 46)]
    times = [_at(m) for m in minutes]
    counter = [m / 60 for m in minutes]
    q = quarters_from_counter(times, counter, max_gap_s=120)
    # both gaps lie inside the 08:15 quarter: the 08:00 one ends as the first gap starts, the
    # 08:30 one starts as the second ends
    assert q.starts.tolist() == [int(_at(0).timestamp()), int(_at(30).timestamp())]
    assert q.kw.tolist() == pytest.approx([1.0, 1.0])
    # a gap of exactly max_gap_s is not a gap
    assert len(quarters_from_counter(times, counter, max_gap_s=300)) == 3
    assert len(quarters_from_counter(times, counter, max_gap_s=299)) == 2
    # one quarter only, with a gap inside it
    q1 = quarters_from_counter([_at(0), _at(1), _at(14), _at(15), _at(16)], [0, 0, 1, 1, 2], 120)
    assert len(q1) == 0
    assert q1.running_start == _at(15)
    assert q1.running_kwh == pytest.approx(1.0)


# -- quarters from power samples -----------------------------------------------------------------


def test_power_samples_hold_until_the_next_and_exports_count_as_zero() -> None:
    # 4 kW then 2 kW for 7.5 min each -> 3 kW; 9 kW then -5 kW (export) -> (9 + 0) / 2 = 4.5 kW;
    # the running 08:30 quarter: 6 kW for 5 minutes = 0.5 kWh
    times = [_at(0), _at(7.5), _at(15), _at(22.5), _at(30), _at(35)]
    power = [4.0, 2.0, 9.0, -5.0, 6.0, -1.0]
    q = quarters_from_power(times, power, max_gap_s=600)
    assert q.starts.tolist() == [int(_at(0).timestamp()), int(_at(15).timestamp())]
    assert q.kw.tolist() == pytest.approx([3.0, 4.5])
    assert q.running_start == _at(30)
    assert q.running_kwh == pytest.approx(0.5)
    # default max_gap_s of 120 s: 7.5-minute gaps leave every quarter out
    assert len(quarters_from_power(times, power)) == 0


def test_power_samples_only_exporting() -> None:
    times = [_at(m) for m in range(31)]
    q = quarters_from_power(times, [-3.0] * 31)
    assert q.kw.tolist() == [0.0, 0.0]
    assert q.running_kwh == 0.0


def test_power_default_gap_is_two_minutes() -> None:
    every_2 = [_at(2 * i) for i in range(16)]  # 08:00 .. 08:30
    assert len(quarters_from_power(every_2, [1.0] * 16)) == 2
    # one gap of 2 min 1 s inside the second quarter drops it
    times = [*every_2[:9], _at(18) + timedelta(seconds=1), *every_2[10:]]
    q = quarters_from_power(times, [1.0] * 16)
    assert q.starts.tolist() == [int(_at(0).timestamp())]


@pytest.mark.parametrize(
    ("times", "power", "kind", "match"),
    [
        ([_at(0)], [1.0], "format", "two power samples"),
        ([_at(0), _at(1)], [1.0, 2.0, 3.0], "format", "two power samples"),
        ([_at(0), _at(1)], [float("nan"), 2.0], "nan", "finite"),
        ([_at(1), _at(0)], [1.0, 2.0], "overlap", "increasing"),
        ([_at(0), datetime(2026, 1, 5, 9)], [1.0, 2.0], "format", "timezone-aware"),
    ],
)
def test_power_errors_have_kinds(
    times: list[datetime], power: list[float], kind: str, match: str
) -> None:
    with pytest.raises(PriceDataError, match=match) as exc:
        quarters_from_power(times, power)
    assert _kind(exc) == kind


# -- Flanders ------------------------------------------------------------------------------------


def test_flanders_billed_and_average_peaks() -> None:
    st = FlandersPeakState(2026, 3, 1.0, previous_peaks_kw=(6.0, 2.0, 4.0, 1.5))
    assert st.billed_peak_kw() == 2.5  # 1 kW floored at 2.5
    assert st.billed_peak_kw(min_kw=0.5) == 1.0
    # all five months, each floored at 2.5: (6 + 2.5 + 4 + 2.5 + 2.5) / 5
    assert st.average_peak_kw() == pytest.approx(17.5 / 5)
    # the last 3 months: 4, 1.5 -> 2.5, 1 -> 2.5
    assert st.average_peak_kw(months=3) == pytest.approx(9.0 / 3)
    assert st.average_peak_kw(min_kw=1.0, months=3) == pytest.approx((4.0 + 1.5 + 1.0) / 3)
    # one month: only this month's peak
    assert st.average_peak_kw(months=1) == 2.5
    assert st.average_peak_kw(min_kw=0.0, months=1) == 1.0


def test_flanders_peak_keeps_the_first_quarter_of_a_tie_and_the_running_quarter() -> None:
    qs = _quarters([(_at(0), 3.0), (_at(15), 5.0), (_at(30), 5.0), (_at(45), 4.9)])
    q = QuarterAverages(qs.starts, qs.kw, running_start=_at(60), running_kwh=0.7)
    st = update_flanders(None, q, AMS)
    assert (st.year, st.month) == (2026, 1)
    assert st.month_peak_kw == 5.0
    assert st.month_peak_start == _at(15)
    assert st.previous_peaks_kw == ()
    assert st.running_start == _at(60)
    assert st.running_kwh == 0.7


def test_flanders_skipped_months_count_as_zero_over_a_year_end() -> None:
    st = FlandersPeakState(2025, 11, 4.0, previous_peaks_kw=(3.0,))
    # next data on 2 February 2026: December and January had no data (zero peaks, floored later)
    st = update_flanders(st, _quarters([(datetime(2026, 2, 2, 12, tzinfo=UTC), 3.5)]), AMS)
    assert (st.year, st.month) == (2026, 2)
    assert st.previous_peaks_kw == (3.0, 4.0, 0.0, 0.0)
    assert st.month_peak_kw == 3.5
    # December -> January is no skip
    dec = FlandersPeakState(2025, 12, 6.0)
    jan = update_flanders(dec, _quarters([(datetime(2026, 1, 10, tzinfo=UTC), 1.0)]), AMS)
    assert jan.previous_peaks_kw == (6.0,)


def test_flanders_history_is_bounded_by_keep() -> None:
    st = FlandersPeakState(2026, 1, 4.0, previous_peaks_kw=(1.0, 2.0, 3.0))
    st2 = update_flanders(st, _quarters([(datetime(2026, 2, 10, tzinfo=UTC), 1.0)]), AMS, keep=3)
    assert st2.previous_peaks_kw == (2.0, 3.0, 4.0)
    # a long outage (14 months without data) fills the history with zeros, still bounded
    st3 = update_flanders(st, _quarters([(datetime(2027, 4, 10, tzinfo=UTC), 1.0)]), AMS, keep=3)
    assert st3.previous_peaks_kw == (0.0, 0.0, 0.0)
    st4 = update_flanders(st, _quarters([(datetime(2026, 4, 10, tzinfo=UTC), 1.0)]), AMS, keep=3)
    assert st4.previous_peaks_kw == (4.0, 0.0, 0.0)  # February and March without data


def test_flanders_skips_older_quarters_then_counts_the_current_month() -> None:
    st = FlandersPeakState(2026, 3, 2.0, previous_peaks_kw=(5.0,))
    # 28 Feb 22:45 UTC is 23:45 on the 28th in Amsterdam (February, older than the state);
    # 23:00 UTC is already 1 March 00:00 there
    q = _quarters(
        [
            (datetime(2026, 2, 28, 22, 45, tzinfo=UTC), 9.0),
            (datetime(2026, 2, 28, 23, 0, tzinfo=UTC), 3.0),
            (datetime(2026, 2, 28, 23, 15, tzinfo=UTC), 4.0),
        ]
    )
    out = update_flanders(st, q, AMS)
    assert (out.year, out.month) == (2026, 3)
    assert out.month_peak_kw == 4.0
    assert out.previous_peaks_kw == (5.0,)


def test_flanders_without_quarters_is_incomplete() -> None:
    with pytest.raises(PriceDataError, match="no complete quarter") as exc:
        update_flanders(None, _quarters([]), AMS)
    assert _kind(exc) == "incomplete"
    # with a state, no new quarters keep it (and take the running quarter)
    st = FlandersPeakState(2026, 1, 3.0)
    q = QuarterAverages(np.array([], dtype=np.int64), np.array([]), _at(0), 0.2)
    out = update_flanders(st, q, AMS)
    assert (out.month_peak_kw, out.running_start, out.running_kwh) == (3.0, _at(0), 0.2)


# -- Sweden --------------------------------------------------------------------------------------


def test_swedish_state_billing_with_missing_peaks() -> None:
    st = SwedishPeakState(
        2026, 1, ((datetime(2026, 1, 5, tzinfo=STO), 6.0), (datetime(2026, 1, 6, tzinfo=STO), 3.0))
    )
    assert st.top(3) == [6.0, 3.0]
    assert st.top(1) == [6.0]
    assert st.billed_kw(3) == pytest.approx(3.0)  # (6 + 3 + 0) / 3
    assert st.billed_kw() == pytest.approx(3.0)
    assert st.billed_kw(2) == pytest.approx(4.5)
    assert st.billed_kw(0) == 0.0
    assert st.threshold_kw(3) == 0.0  # a third peak costs from zero
    assert st.threshold_kw() == 0.0
    assert st.threshold_kw(2) == 3.0


def test_swedish_month_rollover_starts_a_new_month() -> None:
    tariff = SwedishPowerTariff(50.0)
    jan = SwedishPeakState(2026, 1, ((datetime(2026, 1, 20, 18, tzinfo=STO), 9.0),))
    # 1 February 00:00 Stockholm is 31 January 23:00 UTC
    feb_hour = datetime(2026, 2, 1, 0, tzinfo=STO)
    q = _quarters(_hour(datetime(2026, 1, 31, 22, tzinfo=STO), 8.0) + _hour(feb_hour, 2.0))
    st = update_sweden(jan, q, tariff, STO)
    assert (st.year, st.month) == (2026, 2)
    assert st.peaks == ((feb_hour, 2.0),)
    # and an hour of the previous month after the rollover is ignored
    again = update_sweden(
        st, _quarters(_hour(datetime(2026, 1, 31, 20, tzinfo=STO), 20.0)), tariff, STO
    )
    assert again.peaks == ((feb_hour, 2.0),)
    assert (again.year, again.month) == (2026, 2)


def test_swedish_older_hour_then_current_hours() -> None:
    tariff = SwedishPowerTariff(50.0)
    st = SwedishPeakState(2026, 2)
    q = _quarters(
        _hour(datetime(2026, 1, 31, 23, tzinfo=STO), 9.0)
        + _hour(datetime(2026, 2, 1, 0, tzinfo=STO), 3.0)
    )
    assert update_sweden(st, q, tariff, STO).peaks == ((datetime(2026, 2, 1, tzinfo=STO), 3.0),)


def test_swedish_one_peak_per_day_merges_with_the_state() -> None:
    tariff = SwedishPowerTariff(50.0)
    h9 = datetime(2026, 1, 5, 9, tzinfo=STO)
    st = SwedishPeakState(2026, 1, ((h9, 5.0),))
    # a lower hour the same day changes nothing, a higher one replaces the day's peak
    lower = update_sweden(st, _quarters(_hour(h9 + timedelta(hours=2), 4.0)), tariff, STO)
    assert lower.peaks == ((h9, 5.0),)
    same = update_sweden(st, _quarters(_hour(h9 + timedelta(hours=2), 5.0)), tariff, STO)
    assert same.peaks == ((h9, 5.0),)
    higher = update_sweden(st, _quarters(_hour(h9 + timedelta(hours=3), 7.0)), tariff, STO)
    assert higher.peaks == ((h9 + timedelta(hours=3), 7.0),)
    # the day is the local day: 23:00-24:00 Stockholm on the 5th is still the 5th
    late = update_sweden(
        st, _quarters(_hour(datetime(2026, 1, 5, 23, tzinfo=STO), 6.0)), tariff, STO
    )
    assert late.peaks == ((datetime(2026, 1, 5, 23, tzinfo=STO), 6.0),)
    # and 00:00 on the 6th is a new day
    nxt = update_sweden(st, _quarters(_hour(datetime(2026, 1, 6, 0, tzinfo=STO), 1.0)), tariff, STO)
    assert nxt.peaks == ((h9, 5.0), (datetime(2026, 1, 6, 0, tzinfo=STO), 1.0))


def test_swedish_every_hour_counts_without_one_peak_per_day() -> None:
    tariff = SwedishPowerTariff(50.0, one_peak_per_day=False)
    h = datetime(2026, 1, 5, 9, tzinfo=STO)
    q = _quarters(_hour(h, 4.0) + _hour(h + timedelta(hours=1), 6.0))
    st = update_sweden(None, q, tariff, STO)
    assert st.peaks == ((h, 4.0), (h + timedelta(hours=1), 6.0))
    assert st.billed_kw(2) == pytest.approx(5.0)


def test_swedish_hour_mean_weight_and_incomplete_hours() -> None:
    tariff = SwedishPowerTariff(50.0, windows=(PowerWindow(time(22), time(6), 0.5),))
    h = datetime(2026, 1, 5, 22, tzinfo=STO)
    # 22:15-23:00 only (22:00 quarter missing): not metered; 23:00 hour mean (2+4+6+8)/4 = 5 kW,
    # at night weight 0.5 -> 2.5
    q = _quarters(
        [(h + timedelta(minutes=15 * i), 9.0) for i in (1, 2, 3)]
        + [(h + timedelta(minutes=60 + 15 * i), 2.0 * (i + 1)) for i in range(4)]
    )
    st = update_sweden(None, q, tariff, STO)
    assert st.peaks == ((h + timedelta(hours=1), 2.5),)
    assert (st.year, st.month) == (2026, 1)


def test_swedish_uncharged_hours_weigh_zero() -> None:
    tariff = SwedishPowerTariff(50.0, weekdays_only=True)
    sat = datetime(2026, 1, 10, 12, tzinfo=STO)
    st = update_sweden(None, _quarters(_hour(sat, 11.0)), tariff, STO)
    assert st.peaks == ((sat, 0.0),)
    assert st.billed_kw() == 0.0


def test_swedish_without_complete_hours_is_incomplete() -> None:
    with pytest.raises(PriceDataError, match="no complete hour") as exc:
        update_sweden(None, _quarters([(T0, 3.0)]), SwedishPowerTariff(1.0), STO)
    assert _kind(exc) == "incomplete"


# -- exact messages, edges and contracts ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: quarters_from_counter([T0], [1.0]),
            "need at least two counter readings with one time each",
        ),
        (
            lambda: quarters_from_counter([_at(0), _at(1)], [1.0, float("nan")]),
            "meter counter reading is not a finite number",
        ),
        (
            lambda: quarters_from_counter([_at(1), _at(0)], [1.0, 2.0]),
            "meter readings are not in strictly increasing time order",
        ),
        (
            # a flat step and a small rise before the drop: the drop is named, at 08:20
            lambda: quarters_from_counter([_at(0), _at(5), _at(15), _at(20)], [1.0, 1.0, 1.5, 1.2]),
            "import counter decreases at 2026-01-05T08:20:00+00:00 (meter swap or bad reading)",
        ),
        (
            lambda: quarters_from_counter([datetime(2026, 1, 5), _at(1)], [1.0, 2.0]),
            "meter times must be timezone-aware",
        ),
        (
            lambda: quarters_from_power([T0], [1.0]),
            "need at least two power samples with one time each",
        ),
        (
            lambda: quarters_from_power([_at(0), _at(1)], [float("inf"), 1.0]),
            "power sample is not a finite number",
        ),
        (
            lambda: quarters_from_power([_at(0), _at(0)], [1.0, 1.0]),
            "power samples are not in strictly increasing time order",
        ),
        (
            lambda: update_flanders(None, _quarters([]), AMS),
            "no complete quarter in the meter data",
        ),
        (
            lambda: update_sweden(None, _quarters([]), SwedishPowerTariff(1.0), STO),
            "no complete hour in the meter data",
        ),
    ],
)
def test_error_messages(call: object, message: str) -> None:
    with pytest.raises(PriceDataError) as exc:
        call()  # type: ignore[operator]
    assert str(exc.value) == message


def test_readings_one_second_apart_are_in_order() -> None:
    one = timedelta(seconds=1)
    q = quarters_from_counter([_at(0), _at(0) + one, _at(15)], [0.0, 0.0, 1.0])
    assert q.kw.tolist() == pytest.approx([4.0])
    p = quarters_from_power([_at(0), _at(0) + one, _at(1)], [2.0, 2.0, 2.0], max_gap_s=900)
    assert p.running_kwh == pytest.approx(2.0 / 60)


def test_sub_second_parts_of_reading_times_are_dropped() -> None:
    # like hems_core.timegrid.epoch_s: 08:00:00.5 counts as 08:00:00, so the 1 kWh between the
    # readings falls exactly into 08:00-08:15 (4 kW), not 899.5/900 of it
    half = timedelta(milliseconds=500)
    q = quarters_from_counter([_at(0) + half, _at(15) + half, _at(20)], [0.0, 1.0, 1.0])
    assert q.starts.dtype == np.int64
    assert q.kw.tolist() == [4.0]
    e = np.array([_at(0).timestamp() + 0.5, _at(15).timestamp() + 0.5, _at(20).timestamp()])
    assert quarters_from_counter(e, [0.0, 1.0, 1.0]).kw.tolist() == [4.0]


def test_quarters_of_unequal_length_are_refused() -> None:
    bad = QuarterAverages(np.array([int(T0.timestamp()), int(_at(15).timestamp())]), np.ones(1))
    with pytest.raises(ValueError, match="shorter"):
        update_flanders(None, bad, AMS)
    with pytest.raises(ValueError, match="shorter"):
        update_sweden(None, bad, SwedishPowerTariff(1.0), STO)


def test_default_averaging_is_twelve_months_and_default_threshold_the_third() -> None:
    # 13 months known: the default averages this month and the 11 before (1 kW ... 11 kW, 12 kW
    # this month); the oldest (100 kW) is out of the 12 months
    st = FlandersPeakState(2026, 1, 12.0, previous_peaks_kw=(100.0, *map(float, range(1, 12))))
    assert st.average_peak_kw(min_kw=0.0) == pytest.approx(sum(range(1, 13)) / 12)
    assert st.average_peak_kw(min_kw=0.0, months=2) == pytest.approx((11.0 + 12.0) / 2)
    three = SwedishPeakState(
        2026, 1, tuple((datetime(2026, 1, d, tzinfo=STO), float(d)) for d in (5, 6, 7))
    )
    assert three.threshold_kw() == 5.0
    assert three.billed_kw(1) == 7.0
