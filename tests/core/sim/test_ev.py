"""The EV battery model: energy balance, SoC window, ramp, plug schedule."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hems_core.sim.ev import EvBattery, EvParams


def test_charge_energy_balance_with_efficiency() -> None:
    ev = EvBattery(EvParams(capacity_kwh=50, soc_pct=20, eta_charge=0.9, ramp_w_per_s=1e6))
    ev.advance(3600, 5000)
    assert ev.energy_in_kwh == pytest.approx(5.0)
    assert ev.soc_pct == pytest.approx(20 + 100 * 4.5 / 50)


def test_discharge_draws_more_from_battery_than_delivered() -> None:
    ev = EvBattery(EvParams(capacity_kwh=50, soc_pct=80, eta_discharge=0.9, ramp_w_per_s=1e6))
    ev.advance(3600, -4500)
    assert ev.energy_out_kwh == pytest.approx(4.5)
    assert ev.soc_pct == pytest.approx(80 - 100 * 5.0 / 50)


def test_ramp_limits_rate_of_change() -> None:
    ev = EvBattery(EvParams(ramp_w_per_s=500))
    ev.advance(2, 3000)
    assert ev.power_w == 1000
    ev.advance(10, 3000)
    assert ev.power_w == 3000


def test_soc_window_stops_power() -> None:
    ev = EvBattery(EvParams(capacity_kwh=10, soc_pct=98, max_soc_pct=100, ramp_w_per_s=1e6))
    ev.advance(3600, 7000)
    assert ev.soc_pct == pytest.approx(100)
    assert ev.power_w == 0
    low = EvBattery(EvParams(capacity_kwh=10, soc_pct=6, min_soc_pct=5, ramp_w_per_s=1e6))
    low.advance(3600, -7000)
    assert low.soc_pct == pytest.approx(5)
    assert low.power_w == 0


def test_plug_schedule() -> None:
    ev = EvBattery(
        EvParams(plug_schedule=((0, 100), (200, 300)), ramp_w_per_s=1e6), start_time=1000
    )
    assert ev.plugged_at(1050)
    assert not ev.plugged_at(1150)
    ev.advance(1150, 3000)
    assert ev.power_w == 0
    assert ev.energy_in_kwh == pytest.approx(3 * 100 / 3600)


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError):
        EvParams(capacity_kwh=0)
    with pytest.raises(ValueError):
        EvParams(eta_charge=1.5)
    with pytest.raises(ValueError):
        EvParams(soc_pct=2, min_soc_pct=5)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-8000, 8000), st.floats(0.1, 900)), min_size=1, max_size=15),
    st.floats(5, 95),
)
def test_soc_stays_in_window_and_energy_is_conserved(
    steps: list[tuple[float, float]], soc: float
) -> None:
    p = EvParams(capacity_kwh=30, soc_pct=soc, min_soc_pct=5, max_soc_pct=100)
    ev = EvBattery(p)
    t = 0.0
    for target, dt in steps:
        t += dt
        ev.advance(t, target)
        assert 5 - 1e-6 <= ev.soc_pct <= 100 + 1e-6
        assert -p.max_discharge_w <= ev.power_w <= p.max_charge_w
    stored = ev.energy_kwh - 30 * soc / 100
    # what went in minus what came out, each through its efficiency, within the clamp tolerance
    balance = ev.energy_in_kwh * p.eta_charge - ev.energy_out_kwh / p.eta_discharge
    assert stored == pytest.approx(balance, abs=0.02)
