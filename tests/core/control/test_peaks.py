"""PeakTracker: running quarter, allowed import, month peak, Swedish hours, gaps, restore."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.control.peaks import PeakTracker, PeakTrackerError
from hems_core.model import MonthlyPeakTariff, TopPeaksTariff
from hems_core.optimize.inputs import State
from hems_core.tariffs.capacity import (
    PowerWindow,
    SwedishPowerTariff,
    quarters_from_power,
    update_sweden,
)

BXL = ZoneInfo("Europe/Brussels")
STO = ZoneInfo("Europe/Stockholm")
# 2026-03-10 10:00 local Brussels (CET) = 09:00 UTC, a clock-quarter start.
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=BXL)


def feed(
    tr: PeakTracker, start: datetime, segments: list[tuple[int, float]], every_s: int = 1
) -> datetime:
    """Readings every ``every_s`` s: ``(duration_s, power_w)`` segments; returns the end time.

    The reading at a segment's first second already reports its power, so with hold integration
    a segment of ``d`` seconds at ``p`` contributes exactly ``p * d``.
    """
    t = start
    for dur, p in segments:
        for _ in range(dur // every_s):
            tr.observe(t, p)
            t += timedelta(seconds=every_s)
    return t


# -- the running quarter and the guard ---------------------------------------------------------


@pytest.mark.parametrize(
    ("segments", "budget_kw", "kwh", "allowed_w"),
    [
        # 3 kW for 5 min = 0.25 kWh; budget 2.5 kW = 0.625 kWh; 0.375 kWh left over 300 s.
        ([(300, 3000.0), (300, 0.0)], 2.5, 0.25, 4500.0),
        # 3 kW for 10 min = 0.5 kWh; 0.125 kWh over 300 s = 1.5 kW.
        ([(600, 3000.0)], 2.5, 0.5, 1500.0),
        # budget already used: nothing more may be imported.
        ([(600, 3000.0)], 2.0, 0.5, 0.0),
        # export does not count and does not earn credit: 0 kWh, 0.625 kWh over 300 s.
        ([(600, -4000.0)], 2.5, 0.0, 7500.0),
        # 6 kW for 2.5 min then 0: 0.25 kWh, like the first row.
        ([(150, 6000.0), (450, 0.0)], 2.5, 0.25, 4500.0),
    ],
)
def test_quarter_energy_and_allowed_import(
    segments: list[tuple[int, float]], budget_kw: float, kwh: float, allowed_w: float
) -> None:
    tr = PeakTracker("Europe/Brussels")
    end = feed(tr, T0, segments)
    tr.observe(end, 0.0)  # the reading at 10:10:00 (or 10:10) closes the last second
    assert end == T0 + timedelta(minutes=10)
    assert tr.quarter_energy_kwh(end) == pytest.approx(kwh, abs=1e-12)
    assert tr.quarter_remaining_s(end) == 300.0
    assert tr.allowed_import_w(end, budget_kw) == pytest.approx(allowed_w, abs=1e-6)


def test_allowed_import_at_quarter_start_and_near_the_end() -> None:
    tr = PeakTracker("Europe/Brussels")
    tr.observe(T0, 1000.0)
    assert tr.allowed_import_w(T0, 2.5) == pytest.approx(2500.0)
    end = feed(tr, T0, [(899, 1000.0)])  # 1 kW until 10:14:59
    # 0.24972 kWh so far, 0.625 allowed: 0.37528 kWh in 1 s = 1.35 MW, capped at max_w.
    assert tr.allowed_import_w(end, 2.5) == pytest.approx((0.625 - 899 / 3600) * 3.6e6)
    assert tr.allowed_import_w(end, 2.5, max_w=17_000.0) == 17_000.0


def test_query_between_readings_holds_the_last_power() -> None:
    tr = PeakTracker("Europe/Brussels")
    tr.observe(T0, 3600.0)
    later = T0 + timedelta(seconds=10)
    assert tr.quarter_energy_kwh(later) == pytest.approx(0.01)  # 3.6 kW x 10 s
    # held at most max_gap_s (60 s)
    assert tr.quarter_energy_kwh(T0 + timedelta(minutes=5)) == pytest.approx(0.06)
    # in the next quarter, only the held part after its start counts
    tr2 = PeakTracker("Europe/Brussels")
    tr2.observe(T0 + timedelta(seconds=890), 3600.0)
    assert tr2.quarter_energy_kwh(T0 + timedelta(seconds=920)) == pytest.approx(0.02)


def test_reading_interval_crossing_a_boundary_is_split() -> None:
    tr = PeakTracker("Europe/Brussels")
    end = feed(tr, T0, [(895, 4000.0)], every_s=5)  # last reading 10:14:55 at 4 kW
    tr.observe(end + timedelta(seconds=10), 0.0)  # 10:15:05: 5 s on each side
    assert tr.last_quarter_kw == pytest.approx(4.0)  # 4 kW x 900 s = 1 kWh
    assert tr.month_peak_kw == pytest.approx(4.0)
    assert tr.quarter_energy_kwh(end + timedelta(seconds=10)) == pytest.approx(4.0 * 5 / 3600)


def test_counter_wins_when_plausible_and_resets_fall_back_to_power() -> None:
    tr = PeakTracker("Europe/Brussels")
    c = 1000.0
    t = T0
    # the power field says 5 kW, the counter advances 2 kW x 10 s each reading
    for _ in range(90):
        tr.observe(t, 5000.0, c)
        t += timedelta(seconds=10)
        c += 2.0 * 10 / 3600
    tr.observe(t, 5000.0, c)
    assert tr.last_quarter_kw == pytest.approx(2.0)
    assert tr.counter_rejects == 0
    # a counter reset (to 0) and an implausible jump (+50 kWh in 10 s): power used instead
    q0 = t
    tr.observe(t + timedelta(seconds=10), 1000.0, 0.0)  # [t, t+10]: held 5 kW
    tr.observe(t + timedelta(seconds=20), 1000.0, 50.0)  # [t+10, t+20]: held 1 kW
    tr.observe(t + timedelta(seconds=30), 0.0, 50.001)  # counter again: 1 Wh
    assert tr.counter_rejects == 2
    expected = (5000 * 10 + 1000 * 10) / 3.6e6 + 0.001
    assert tr.quarter_energy_kwh(q0 + timedelta(seconds=30)) == pytest.approx(expected)


def test_gap_is_capped_and_recorded() -> None:
    tr = PeakTracker("Europe/Brussels", max_gap_s=60.0)
    tr.observe(T0, 3000.0)
    tr.observe(T0 + timedelta(minutes=5), 3000.0)  # 5 min silence: only 60 s counted
    assert tr.quarter_energy_kwh(T0 + timedelta(minutes=5)) == pytest.approx(0.05)
    assert tr.gaps == 1
    assert tr.gap_s == pytest.approx(240.0)
    assert tr.quarter_unmetered_s == pytest.approx(240.0)
    late = PeakTracker("Europe/Brussels")
    late.observe(T0 + timedelta(minutes=6), 1000.0)  # started 6 min into the quarter
    assert late.quarter_unmetered_s == pytest.approx(360.0)
    # a counter delta over the same silence is real energy and is used in full
    tc = PeakTracker("Europe/Brussels")
    tc.observe(T0, 3000.0, 10.0)
    tc.observe(T0 + timedelta(minutes=5), 3000.0, 10.25)
    assert tc.quarter_energy_kwh(T0 + timedelta(minutes=5)) == pytest.approx(0.25)
    assert tc.gaps == 0


def test_out_of_order_and_bad_readings() -> None:
    tr = PeakTracker("Europe/Brussels")
    tr.observe(T0 + timedelta(seconds=10), 1000.0)
    tr.observe(T0, 9000.0)
    assert tr.out_of_order == 1
    with pytest.raises(PeakTrackerError, match="import_w"):
        tr.observe(T0 + timedelta(seconds=20), math.nan)
    with pytest.raises(PeakTrackerError, match="timezone-aware"):
        tr.observe(datetime(2026, 3, 10, 10, 0, 30), 1.0)
    with pytest.raises(PeakTrackerError, match=r"PeakTracker\.tz"):
        PeakTracker("Mars/Olympus")


# -- month peak -------------------------------------------------------------------------------


def test_month_peak_resets_at_local_month_start() -> None:
    # Brussels is on CEST from 29 March: 1 April 00:00 local = 31 March 22:00 UTC.
    tr = PeakTracker("Europe/Brussels", MonthlyPeakTariff.flanders(60.0))
    feed(tr, datetime(2026, 3, 31, 20, 0, tzinfo=BXL), [(900, 4000.0)], every_s=10)
    t = feed(tr, datetime(2026, 3, 31, 20, 15, tzinfo=BXL), [(4 * 3600, 1000.0)], every_s=10)
    assert t == datetime(2026, 4, 1, 0, 0, tzinfo=BXL) + timedelta(minutes=15)
    mid = datetime(2026, 4, 1, 0, 5, tzinfo=BXL)
    # before the first April quarter closes, the optimiser already sees the new month
    assert tr.month_peak_kw == pytest.approx(4.0)  # the closed quarters are still March's
    assert tr.state_fields(mid)["month_peak_kw"] == 0.0
    assert tr.flanders_state(mid).previous_peaks_kw == (pytest.approx(4.0),)
    tr.observe(t, 1000.0)  # closes 00:00-00:15 April
    assert tr.month_peak_kw == pytest.approx(1.0)  # tracked value: no 2.5 kW floor
    assert tr.previous_peaks_kw == (pytest.approx(4.0),)
    assert tr.month_peak_start == datetime(2026, 3, 31, 22, 0, tzinfo=UTC)
    fl = tr.flanders_state(t)
    assert (fl.year, fl.month, fl.billed_peak_kw(2.5)) == (2026, 4, 2.5)


def test_month_peak_matches_quarters_from_power() -> None:
    """The live tracker and the batch function in tariffs.capacity agree on the same samples."""
    rng = np.random.default_rng(7)
    t0 = int(datetime(2026, 10, 24, 22, 0, tzinfo=UTC).timestamp())  # over the DST night
    times = t0 + np.cumsum(rng.integers(1, 30, size=4000))
    times = np.concatenate(([t0], times))
    kw = rng.uniform(-3.0, 9.0, size=times.size)
    tr = PeakTracker("Europe/Brussels")
    for s, p in zip(times.tolist(), kw.tolist(), strict=True):
        tr.observe(datetime.fromtimestamp(s, UTC), p * 1000.0)
    q = quarters_from_power(times, kw)
    assert tr.month_peak_kw == pytest.approx(float(q.kw.max()), rel=1e-9)
    assert tr.quarter_energy_kwh(datetime.fromtimestamp(int(times[-1]), UTC)) == pytest.approx(
        q.running_kwh, abs=1e-9
    )


# -- Swedish hours ----------------------------------------------------------------------------


def test_swedish_night_weight_and_daily_peaks() -> None:
    top = TopPeaksTariff(eur_per_kw_month=8.0, count=3, night_weight=0.5)
    tr = PeakTracker("Europe/Stockholm", top=top)
    day1 = datetime(2026, 1, 14, 20, 0, tzinfo=STO)
    # 20-21: 3 kW (weight 1 -> 3), 21-22: 4 kW (-> 4), 22-23: 6 kW (night -> 3), 23-24: 0
    t = feed(tr, day1, [(3600, 3000.0), (3600, 4000.0), (3600, 6000.0), (3600, 0.0)], 10)
    # 00:00-00:30 next day at 2 kW: the running hour holds 1 kWh
    t = feed(tr, t, [(1800, 2000.0)], 10)
    tr.observe(t, 2000.0)
    f = tr.state_fields(t)
    assert f["month_daily_peaks_kw"] == (pytest.approx(4.0),)
    assert f["today_peak_kw"] == 0.0
    assert f["hour_import_kwh"] == pytest.approx(1.0)
    assert f["quarter_import_kwh"] == pytest.approx(0.0)
    # the night peak alone: 6 kW at 22-23 counts as 3 kW
    tn = PeakTracker("Europe/Stockholm", top=top)
    t = feed(tn, datetime(2026, 1, 15, 22, 0, tzinfo=STO), [(3600, 6000.0)], 10)
    tn.observe(t, 0.0)
    assert tn.state_fields(t)["today_peak_kw"] == pytest.approx(3.0)
    State(**tn.state_fields(t))  # the fields are exactly State's


def test_swedish_month_rollover_clears_daily_peaks() -> None:
    top = TopPeaksTariff(eur_per_kw_month=8.0)
    tr = PeakTracker("Europe/Stockholm", top=top)
    t = feed(tr, datetime(2026, 1, 31, 12, 0, tzinfo=STO), [(3600, 5000.0)], 30)
    t = feed(tr, t, [(12 * 3600, 100.0)], 30)
    assert t == datetime(2026, 2, 1, 1, 0, tzinfo=STO)
    tr.observe(t, 100.0)
    f = tr.state_fields(t)
    assert f["month_daily_peaks_kw"] == ()
    assert f["today_peak_kw"] == pytest.approx(0.1)


# -- restart ----------------------------------------------------------------------------------


def test_restore_keeps_month_peak_and_running_quarter() -> None:
    tr = PeakTracker("Europe/Brussels", MonthlyPeakTariff.flanders())
    t = feed(tr, T0, [(900, 5000.0), (300, 2000.0)], every_s=10)  # 5 kW quarter, 10 min in
    tr.observe(t, 2000.0, 123.0)
    snap = json.loads(json.dumps(tr.snapshot()))
    back = PeakTracker.restore(snap, "Europe/Brussels", MonthlyPeakTariff.flanders())
    assert back.month_peak_kw == pytest.approx(5.0)
    assert back.state_fields(t) == tr.state_fields(t)
    # restart 2 min later with the counter: its delta over the downtime counts
    back.observe(t + timedelta(minutes=2), 0.0, 123.05)
    expected = 2.0 * 300 / 3600 + 0.05
    assert back.quarter_energy_kwh(t + timedelta(minutes=2)) == pytest.approx(expected)
    # without a counter, the downtime is a gap: the old power is not held over it
    nc = PeakTracker.restore(snap, "Europe/Brussels")
    nc.observe(t + timedelta(seconds=30), 0.0)
    assert nc.quarter_energy_kwh(t + timedelta(seconds=30)) == pytest.approx(2.0 * 300 / 3600)
    assert nc.gaps == 1


def test_restore_rejects_a_malformed_snapshot() -> None:
    tr = PeakTracker("Europe/Brussels")
    tr.observe(T0, 1.0)
    snap = tr.snapshot()
    with pytest.raises(PeakTrackerError, match="malformed"):
        PeakTracker.restore({k: v for k, v in snap.items() if k != "q_kwh"}, "Europe/Brussels")
    with pytest.raises(PeakTrackerError, match="negative"):
        PeakTracker.restore({**snap, "month_peak_kw": -1.0}, "Europe/Brussels")
    with pytest.raises(PeakTrackerError, match="version"):
        PeakTracker.restore({**snap, "version": 99}, "Europe/Brussels")
    empty = PeakTracker.restore(PeakTracker("Europe/Brussels").snapshot(), "Europe/Brussels")
    assert empty.state_fields(T0)["month_peak_kw"] == 0.0


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 20), st.floats(-5000.0, 20000.0)), min_size=50, max_size=400
    ),
    budget_kw=st.floats(0.5, 10.0),
)
def test_following_allowed_import_keeps_every_quarter_under_budget(
    steps: list[tuple[int, float]], budget_kw: float
) -> None:
    """Importing at most ``allowed_import_w`` until the next reading never breaks the budget."""
    tr = PeakTracker("Europe/Brussels")
    t = T0
    closed = 0
    for dt, wanted in steps:
        p = min(wanted, tr.allowed_import_w(t, budget_kw))
        before = tr.last_quarter_kw
        tr.observe(t, p)
        if tr.last_quarter_kw is not before:
            closed += 1
            assert tr.last_quarter_kw is not None
            assert tr.last_quarter_kw <= budget_kw * (1 + 1e-9)
        assert tr.quarter_energy_kwh(t) <= budget_kw / 4 * (1 + 1e-9)
        t += timedelta(seconds=dt)
    assert tr.month_peak_kw <= budget_kw * (1 + 1e-9)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(1, 200), st.floats(-5000.0, 20000.0)), min_size=2, max_size=300
    )
)
def test_energy_is_conserved_across_quarter_boundaries(steps: list[tuple[int, float]]) -> None:
    """Closed quarters plus the running one hold exactly the held-power integral (gap-capped)."""
    tr = PeakTracker("Europe/Brussels", max_gap_s=60.0)
    t = T0
    total = 0.0
    for i, (dt, p) in enumerate(steps):
        tr.observe(t, p)
        if i < len(steps) - 1:
            total += max(p, 0.0) * min(dt, 60) / 3.6e6
            t += timedelta(seconds=dt)
    assert tr.closed_kwh + tr.quarter_energy_kwh(t) == pytest.approx(total, rel=1e-9, abs=1e-12)
    assert tr.month_peak_kw / 4 <= tr.closed_kwh + 1e-12


def test_epoch_second_variants_match() -> None:
    a, b = PeakTracker("Europe/Brussels"), PeakTracker("Europe/Brussels")
    for i in range(0, 700, 7):
        t = T0 + timedelta(seconds=i)
        a.observe(t, 2500.0 + i, 3.0 + i / 3600)
        b.observe_s(t.timestamp(), 2500.0 + i, 3.0 + i / 3600)
    t = T0 + timedelta(seconds=701)
    assert a.quarter_energy_kwh(t) == b.quarter_energy_kwh_s(t.timestamp()) > 0
    assert a.allowed_import_w(t, 4.0, 9e3) == b.allowed_import_w_s(t.timestamp(), 4.0, 9e3)


def test_swedish_fields_match_update_sweden() -> None:
    """Daily weighted hourly peaks agree with the batch function in tariffs.capacity."""
    rng = np.random.default_rng(11)
    t0 = int(datetime(2026, 1, 12, 0, 0, tzinfo=STO).timestamp())
    times = np.concatenate(([t0], t0 + np.cumsum(rng.integers(1, 60, size=7000))))
    kw = rng.uniform(-2.0, 8.0, size=times.size)
    top = TopPeaksTariff(eur_per_kw_month=8.0, night_weight=0.5)
    tr = PeakTracker("Europe/Stockholm", top=top)
    for s, p in zip(times.tolist(), kw.tolist(), strict=True):
        tr.observe_s(float(s), p * 1000.0)
    batch = SwedishPowerTariff(8.0, windows=(PowerWindow(time(22), time(6), 0.5),))
    ref = update_sweden(None, quarters_from_power(times, kw), batch, STO)
    f = tr.state_fields(datetime.fromtimestamp(int(times[-1]), UTC))
    live = [*f["month_daily_peaks_kw"], f["today_peak_kw"]]
    assert live == pytest.approx([v for _, v in ref.peaks], rel=1e-9)
