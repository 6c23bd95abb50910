"""The simulated P1 meter: energy counters, quarter-hour demand, month peak, telegrams."""

from __future__ import annotations

import pytest

from hems_core.devices.clock import ManualClock
from hems_core.devices.errors import TelegramError
from hems_core.devices.p1 import parse_telegram
from hems_core.sim.p1_sim import HouseModel, P1MeterSim

Q0 = 1_717_243_200.0  # a quarter boundary


def test_grid_power_follows_load_pv_ev_and_battery() -> None:
    house = HouseModel(
        base_load_w=500,
        load_amplitude_w=0,
        pv=lambda: 3000.0,
        evs=[lambda: 2000.0, lambda: -1000.0],
        battery=lambda: 400.0,
    )
    assert house.grid_w(Q0) == pytest.approx(500 + 2000 - 1000 - 3000 - 400)


def test_counters_demand_and_peak() -> None:
    clock = ManualClock(Q0)
    load = {"w": 4000.0}
    meter = P1MeterSim(
        HouseModel(base_load_w=0, load_amplitude_w=0, evs=[lambda: load["w"]]), clock
    )
    clock.advance(900)
    r = meter.reading()
    assert r.energy_import_kwh == pytest.approx(1000 + 1.0, abs=1e-6)
    assert r.demand_month_peak_kw == pytest.approx(4.0)
    load["w"] = 2000.0
    clock.advance(450)
    r = meter.reading()
    assert r.demand_quarter_kw == pytest.approx(2.0)
    assert r.demand_month_peak_kw == pytest.approx(4.0)
    load["w"] = -3000.0
    clock.advance(3600)
    r = meter.reading()
    assert r.power_w == pytest.approx(-3000, abs=1)
    assert r.energy_export_kwh == pytest.approx(100 + 3.0, abs=1e-6)


def test_telegram_and_bad_crc_fault() -> None:
    clock = ManualClock(Q0)
    meter = P1MeterSim(HouseModel(), clock, flavour="emucs")
    clock.advance(60)
    t = parse_telegram(meter.telegram())
    assert t.reading.timestamp is not None
    assert t.reading.timestamp.timestamp() == Q0 + 60
    assert t.reading.demand_quarter_kw is not None
    meter.faults.bad_crc = True
    with pytest.raises(TelegramError, match="CRC"):
        parse_telegram(meter.telegram())


def test_frozen_fault_repeats_the_reading() -> None:
    clock = ManualClock(Q0)
    meter = P1MeterSim(HouseModel(), clock)
    first = meter.reading()
    meter.faults.frozen = True
    clock.advance(100)
    assert meter.reading() == first
    meter.faults.frozen = False
    assert meter.reading() != first
