"""EnergyCounter: power integration, device counters and their resets, restarts, monotonicity."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.control.energy import EnergyCounter, EnergyCounterError

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


def run(ec: EnergyCounter, readings: list[tuple[float, float, float | None, float | None]]) -> None:
    """``(seconds after T0, power_w, counter_in, counter_out)`` readings."""
    for s, p, ci, co in readings:
        ec.observe(T0 + timedelta(seconds=s), p, ci, co)


@pytest.mark.parametrize(
    ("readings", "e_in", "e_out"),
    [
        # 7.2 kW for 10 min, readings every 10 s: 1.2 kWh
        ([(s, 7200.0, None, None) for s in range(0, 601, 10)], 1.2, 0.0),
        # ramp 0 -> 6 kW over 60 s: the trapezoid gives 3 kW x 60 s = 0.05 kWh
        ([(0, 0.0, None, None), (60, 6000.0, None, None)], 0.05, 0.0),
        # discharging 3.6 kW for 100 s: 0.1 kWh out
        ([(0, -3600.0, None, None), (50, -3600.0, None, None), (100, -3600.0, None, None)], 0, 0.1),
        # +2 kW to -2 kW over 60 s: two triangles of 2 kW x 30 s / 2 = 30 kJ each
        ([(0, 2000.0, None, None), (60, -2000.0, None, None)], 30e3 / 3.6e6, 30e3 / 3.6e6),
        # 5 min of silence at 3.6 kW: only the 60 s gap cap counts (0.06 kWh)
        ([(0, 3600.0, None, None), (300, 3600.0, None, None)], 0.06, 0.0),
        # counters win over power: the power says 11 kW, the counters 0.5 kWh in, 0.1 out
        ([(0, 11000.0, 10.0, 2.0), (600, 11000.0, 10.5, 2.1)], 0.5, 0.1),
        # counter reset to 0: that interval from power (7.2 kW x 30 s = 0.06), then deltas again
        (
            [(0, 7200.0, 100.0, 0.0), (30, 7200.0, 0.0, 0.0), (330, 7200.0, 0.4, 0.0)],
            0.06 + 0.4,
            0.0,
        ),
        # implausible jump (+40 kWh in 60 s at 11 kW max): a reset, power used instead
        ([(0, 6000.0, 5.0, None), (60, 6000.0, 45.0, None), (120, 0.0, 45.05, None)], 0.15, 0.0),
        # a counter jitter of -1 Wh is no reset and does not count the same Wh twice
        ([(0, 0.0, 5.0, None), (10, 0.0, 4.999, None), (20, 0.0, 5.001, None)], 0.001, 0.0),
    ],
)
def test_energy_table(
    readings: list[tuple[float, float, float | None, float | None]], e_in: float, e_out: float
) -> None:
    ec = EnergyCounter(max_power_w=11000.0)
    run(ec, readings)
    assert ec.energy_in_kwh == pytest.approx(e_in, abs=1e-12)
    assert ec.energy_out_kwh == pytest.approx(e_out, abs=1e-12)


def test_resets_and_gaps_are_counted() -> None:
    ec = EnergyCounter(max_power_w=11000.0)
    run(ec, [(0, 3600.0, 100.0, None), (300, 0.0, 0.0, None), (700, 0.0, 0.0, None)])
    assert ec.resets == 1
    gc = EnergyCounter(max_power_w=11000.0, max_gap_s=60.0)
    run(gc, [(0, 3600.0, None, None), (300, 3600.0, None, None)])
    assert (gc.gaps, gc.gap_s) == (1, 240.0)


def test_restore_across_a_restart() -> None:
    ec = EnergyCounter(max_power_w=11000.0)
    run(ec, [(s, 7200.0, None, None) for s in range(0, 601, 10)])
    snap = json.loads(json.dumps(ec.snapshot()))
    back = EnergyCounter.restore(snap, max_power_w=11000.0)
    assert back.energy_in_kwh == pytest.approx(1.2)
    # no counter: the power before the restart is not held over the downtime
    back.observe(T0 + timedelta(seconds=900), 7200.0)
    back.observe(T0 + timedelta(seconds=910), 7200.0)
    assert back.energy_in_kwh == pytest.approx(1.2 + 0.02)
    # a device counter keeps counting over the downtime: its delta counts
    cc = EnergyCounter(max_power_w=11000.0)
    run(cc, [(0, 0.0, 50.0, 1.0)])
    later = EnergyCounter.restore(cc.snapshot(), max_power_w=11000.0)
    later.observe(T0 + timedelta(hours=1), 0.0, 57.0, 1.0)
    assert later.energy_in_kwh == pytest.approx(7.0)


def test_bad_inputs() -> None:
    with pytest.raises(EnergyCounterError, match="max_power_w"):
        EnergyCounter(max_power_w=0.0)
    ec = EnergyCounter(max_power_w=1000.0)
    with pytest.raises(EnergyCounterError, match="power_w"):
        ec.observe(T0, math.inf)
    with pytest.raises(EnergyCounterError, match="malformed"):
        EnergyCounter.restore({"version": 1}, max_power_w=1000.0)
    with pytest.raises(EnergyCounterError, match=">= 0"):
        EnergyCounter.restore({**ec.snapshot(), "energy_in_kwh": -1.0}, max_power_w=1000.0)
    ec.observe(T0 + timedelta(seconds=10), 500.0)
    ec.observe(T0, 500.0)
    assert ec.out_of_order == 1


reading = st.tuples(
    st.integers(0, 120),  # seconds since the previous reading
    st.floats(-12000.0, 12000.0),
    st.one_of(st.none(), st.floats(0.0, 1e5)),
    st.one_of(st.none(), st.floats(0.0, 1e5)),
    st.booleans(),  # restart before this reading
)


@settings(max_examples=150, deadline=None)
@given(st.lists(reading, min_size=1, max_size=80))
def test_counters_never_decrease(
    readings: list[tuple[int, float, float | None, float | None, bool]],
) -> None:
    ec = EnergyCounter(max_power_w=11000.0)
    t = T0
    e_in = e_out = 0.0
    for dt, p, ci, co, restart in readings:
        if restart:
            ec = EnergyCounter.restore(json.loads(json.dumps(ec.snapshot())), max_power_w=11000.0)
        t += timedelta(seconds=dt)
        ec.observe(t, p, ci, co)
        assert ec.energy_in_kwh >= e_in
        assert ec.energy_out_kwh >= e_out
        # never more than the device could have moved: max power x time (+ counter steps)
        e_in, e_out = ec.energy_in_kwh, ec.energy_out_kwh
    elapsed = (t - T0).total_seconds()
    assert e_in <= 11000.0 * 1.5 * elapsed / 3.6e6 + 0.01 * len(readings) + 1e-9
