"""DSO and aggregator signals as arbitration inputs, and the outage-risk reserve.

Each signal carries a source label and an expiry; §14a leaves every controllable device at
least 4.2 kW; an import cap cuts charging, then discharges; an export cap limits PV; an
aggregator setpoint is held by one device and falls back to the plan 60 s after its last
refresh. An outage warning raises the floors and shows what that costs.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.control.core import ControlCore
from hems_core.control.grid import SETPOINT_TTL_S, SignalBook, SignalKind
from hems_core.control.planning import Forecast
from hems_core.control.settings import ControlError, ControlSettings, StorageSettings
from hems_core.control.types import (
    CommandKind,
    MeterObs,
    Observation,
    PvObs,
    Source,
    Step,
    StorageObs,
)
from hems_core.model import Ev, Grid, HomeBattery, Pv, Site

T0 = datetime(2027, 4, 14, 17, 0, tzinfo=UTC)
SITE = Site(
    grid=Grid(25.0, 10.0),
    evs=(Ev("car", 77.0, 11.0, 11.0, min_soc=0.2),),
    battery=HomeBattery(10.0, 5.0, 5.0, reserve_soc=0.1),
    pv=Pv(peak_kw=9.0),
)


def core() -> ControlCore:
    cfg = ControlSettings(
        storage={"car": StorageSettings(min_active_w=0.0), "battery": StorageSettings(0.0)}
    )
    return ControlCore(SITE, cfg, tz="Europe/Berlin")


def obs(t: datetime, grid_w: float, car_w: float = 0.0, bat_w: float = 0.0,
        pv_w: float = 0.0, soc: float = 0.5) -> Observation:  # fmt: skip
    return Observation(
        MeterObs(t, grid_w, stamp=t),
        {"car": StorageObs(t, True, car_w, soc, True), "battery": StorageObs(t, True, bat_w, soc)},
        PvObs(t, True, pv_w),
    )


def cmd(step: Step, device: str) -> tuple[float | None, Source] | None:
    for c in step.commands:
        if c.device == device:
            return c.value_w, c.source
    return None


def boosted(c: ControlCore) -> Step:
    c.start_boost(T0, "car", duration=timedelta(hours=1))
    return c.observe(T0, obs(T0, 1000.0))


# -- the book ---------------------------------------------------------------------------------


def test_signals_need_a_source_and_a_known_kind_and_valid_values() -> None:
    b = SignalBook()
    with pytest.raises(ControlError, match="source label"):
        b.set(0.0, "import_cap", 3000.0, "")
    with pytest.raises(ControlError, match="unknown grid signal"):
        b.set(0.0, "dimming", 3000.0, "ha:x")
    with pytest.raises(ControlError, match="finite"):
        b.set(0.0, "import_cap", -1.0, "ha:x")
    with pytest.raises(ControlError, match="expire before"):
        b.set(10.0, "import_cap", 1.0, "ha:x", until_s=5.0)
    assert b.active == {}


def test_a_setpoint_expires_60_s_after_its_last_refresh() -> None:
    b = SignalBook()
    b.set(0.0, SignalKind.SETPOINT, 6000.0, "mqtt:vpp")
    b.set(50.0, SignalKind.SETPOINT, 6000.0, "mqtt:vpp")
    assert b.expire(100.0) == [] and b.value(SignalKind.SETPOINT) == 6000.0
    assert b.active[SignalKind.SETPOINT].since_s == 0.0  # a refresh keeps when it began
    assert [s.kind for s in b.expire(50.0 + SETPOINT_TTL_S)] == [SignalKind.SETPOINT]
    assert b.value(SignalKind.SETPOINT) is None


# -- through the core -------------------------------------------------------------------------


def test_dim_14a_limits_each_device_but_never_below_4_2_kw() -> None:
    c = core()
    assert cmd(boosted(c), "car") == (11000.0, Source.BOOST)
    c.set_grid_signal(T0, "dim_14a", 1000.0, source="ha:binary_sensor.steuerbox")
    t = T0 + timedelta(seconds=1)
    assert cmd(c.observe(t, obs(t, 12000.0, 11000.0)), "car") == (4200.0, Source.DSO)
    sig = c.status(t).signals[0]
    assert sig["kind"] == "dim_14a" and sig["value_w"] == 4200.0
    assert sig["source"] == "ha:binary_sensor.steuerbox" and sig["expires"] is None


def test_an_import_cap_cuts_charging_then_discharges_and_expires_back() -> None:
    c = core()
    boosted(c)
    until = T0 + timedelta(minutes=10)
    c.set_grid_signal(T0, "import_cap", 3000.0, source="mqtt:dso/cap", until=until)
    t = T0 + timedelta(seconds=1)
    # house 1 kW + car 11 kW: the car may take 2 kW
    assert cmd(c.observe(t, obs(t, 12000.0, 11000.0)), "car") == (2000.0, Source.DSO)
    # house alone 5 kW: the car stops charging and storage discharges 2 kW (V2H)
    t += timedelta(seconds=1)
    step = c.observe(t, obs(t, 7000.0, 2000.0))
    assert cmd(step, "car") is not None
    dev = c.status(t).devices
    car, bat = dev["car"].value_w or 0.0, dev["battery"].value_w or 0.0
    assert car <= 0.0 and dev["car"].source is Source.DSO
    assert car + bat == pytest.approx(-2000.0)
    t = until + timedelta(seconds=1)
    step = c.observe(t, obs(t, 5000.0, 0.0, -2000.0))
    assert [e.kind for e in step.events] == ["grid_signal_expired"]
    assert cmd(step, "car") == (11000.0, Source.BOOST)
    assert c.status(t).signals == ()


def test_set_import_cap_is_the_same_signal_from_an_action() -> None:
    c = core()
    c.set_import_cap(T0, 3000.0, None)
    assert c.status(T0).signals[0]["source"] == "action"
    c.set_import_cap(T0, None, None)
    assert c.status(T0).signals == ()


def test_an_export_cap_limits_pv_through_the_inverter() -> None:
    c = core()
    # car and battery full: the surplus can only go to the grid
    c.observe(T0, obs(T0, -6000.0, pv_w=7000.0, soc=1.0))
    c.set_grid_signal(T0, "export_cap", 1000.0, source="mqtt:dso/export")
    t = T0 + timedelta(seconds=1)
    step = c.observe(t, obs(t, -6000.0, pv_w=7000.0, soc=1.0))
    pv = [x for x in step.commands if x.kind is CommandKind.PV_LIMIT]
    assert [(x.value_w, x.source) for x in pv] == [(2000.0, Source.DSO)]


def test_an_aggregator_setpoint_is_held_then_falls_back_without_refresh() -> None:
    c = core()
    c.observe(T0, obs(T0, 1000.0))
    c.set_grid_signal(T0, "setpoint", 6000.0, source="mqtt:vpp/setpoint")
    t = T0 + timedelta(seconds=1)
    step = c.observe(t, obs(t, 1000.0))
    held = [cmd(step, n) for n in ("car", "battery")]
    assert (5000.0, Source.DSO) in held  # one device makes up the 5 kW
    t = T0 + timedelta(seconds=SETPOINT_TTL_S + 1)
    step = c.observe(t, obs(t, 6000.0, 5000.0))
    assert "grid_signal_expired" in [e.kind for e in step.events]
    assert {d.source for d in c.status(t).devices.values()} & {Source.DSO} == set()


# -- outage risk ------------------------------------------------------------------------------


def forecast() -> Forecast:
    n = 96
    h = (np.arange(n) * 0.25 + T0.hour) % 24
    price = np.where((h >= 17) & (h < 21), 0.40, 0.20)
    return Forecast(T0, price, price * 0.0, np.full(n, 1.0), np.zeros(n), source="test")


def test_without_a_warning_the_battery_holds_the_cap() -> None:
    c = core()
    c.set_import_cap(T0, 3000.0, None)
    away = Observation(
        MeterObs(T0, 5000.0, stamp=T0),
        {"car": StorageObs(T0, True, 0.0, 0.5, False), "battery": StorageObs(T0, True, 0.0, 0.5)},
    )
    c.observe(T0, away)
    assert c.status(T0).devices["battery"].value_w == -2000.0


def test_an_outage_warning_holds_the_battery_and_shows_its_cost() -> None:
    c = core()
    c.set_forecast(T0, forecast())
    c.set_outage_risk(T0, True, source="ha:binary_sensor.storm_warning", reserve_soc=0.8)
    step = c.observe(T0, obs(T0, 3000.0))
    assert step.plan_request is not None
    assert step.plan_request.site.battery.reserve_soc == 0.8  # the plan keeps it too
    risk = c.status(T0).outage_risk
    assert risk is not None and risk["source"] == "ha:binary_sensor.storm_warning"
    assert risk["cost_eur"] is not None and risk["cost_eur"] > 0
    # the house alone is over an import cap and the car is away: only the battery could hold
    # the cap, but at 50 % it is below the raised floor
    c.set_import_cap(T0, 3000.0, None)
    t = T0 + timedelta(seconds=1)
    away = Observation(
        MeterObs(t, 5000.0, stamp=t),
        {"car": StorageObs(t, True, 0.0, 0.5, False), "battery": StorageObs(t, True, 0.0, 0.5)},
    )
    c.observe(t, away)
    assert c.status(t).devices["battery"].value_w == 0.0
    c.set_outage_risk(t, False, source="ha:binary_sensor.storm_warning")
    assert c.status(t).outage_risk is None
