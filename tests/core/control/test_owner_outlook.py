"""The owner's settings (min/target SoC, V2H, backup reserve) and the plan read-outs."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest

from hems_core.control.core import ControlCore
from hems_core.control.departures import DepartureSchedule
from hems_core.control.outlook import (
    day_costs,
    departure_state,
    next_action,
    planned_power_w,
    savings_vs_plug_in,
)
from hems_core.control.planning import Forecast
from hems_core.control.settings import ControlError, ControlSettings, StorageSettings
from hems_core.control.types import MeterObs, Observation, Source, StorageObs
from hems_core.model import Ev, Grid, HomeBattery, MonthlyPeakTariff, Site
from hems_core.optimize import Planner

T0 = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)  # 18:00 in Brussels


def _site(bidirectional: bool = True, **kw: object) -> Site:
    ev = Ev("car", 60.0, 7.4, 7.4, min_soc=0.2, bidirectional=bidirectional)
    battery = HomeBattery(10.0, 5.0, 5.0, reserve_soc=0.1)
    return Site(grid=Grid(17.0, 10.0), evs=(ev,), battery=battery, **kw)  # type: ignore[arg-type]


def _core(restore: dict[str, object] | None = None, site: Site | None = None) -> ControlCore:
    weekly = {d: (time(7, 30), 0.8) for d in range(7)}
    return ControlCore(
        site or _site(),
        ControlSettings(storage={"car": StorageSettings(min_active_w=0.0)}),
        departures={"car": DepartureSchedule(weekly, tz="Europe/Brussels")},
        tz="Europe/Brussels",
        restore=restore,
    )


def _obs(at: datetime, soc: float, grid_w: float = 500.0, car_w: float = 0.0) -> Observation:
    return Observation(
        MeterObs(at, grid_w, stamp=at),
        {
            "car": StorageObs(at, True, car_w, soc, True),
            "battery": StorageObs(at, True, 0.0, 0.5, True),
        },
    )


def _forecast(steps: int = 96) -> Forecast:
    h = (np.arange(steps) * 0.25 + T0.hour + 1) % 24  # local hours
    price = np.where((h >= 17) & (h < 21), 0.45, 0.10)
    return Forecast(T0, price, price * 0.2, np.full(steps, 1.0), np.zeros(steps), source="test")


def _planned(c: ControlCore, soc: float = 0.5) -> None:
    c.set_forecast(T0, _forecast())
    req = c.observe(T0, _obs(T0, soc)).plan_request
    assert req is not None
    assert c.accept_plan(T0, req.seq, Planner(req.site).solve(req.inputs, req.state, req.site))


def test_min_soc_from_the_owner_is_the_floor_the_core_charges_to() -> None:
    c = _core()
    step = c.observe(T0, _obs(T0, 0.3))
    assert all(cmd.source is not Source.MIN_SOC for cmd in step.commands)
    c.set_min_soc(T0, "car", 0.4)
    step = c.observe(T0 + timedelta(seconds=2), _obs(T0 + timedelta(seconds=2), 0.3))
    car = [cmd for cmd in step.commands if cmd.device == "car"]
    assert car and car[0].source is Source.MIN_SOC and car[0].value_w == 7400.0
    assert c.status(T0).owner.min_soc == {"car": 0.4}
    with pytest.raises(ControlError, match="min_soc"):
        c.set_min_soc(T0, "car", 1.5)
    with pytest.raises(ControlError, match="no car"):
        c.set_min_soc(T0, "battery", 0.3)


def test_v2h_off_means_the_car_is_never_asked_to_discharge_and_the_plan_knows() -> None:
    c = _core()
    c.allow_v2h(T0, "car", False)
    assert c.storages["car"].max_discharge_w == 0.0
    assert not c.site.evs[0].bidirectional
    assert c.status(T0).owner.v2h == {"car": False}
    c.allow_v2h(T0, "car", True)
    assert c.storages["car"].max_discharge_w == 7400.0
    uni = _core(site=_site(bidirectional=False))
    with pytest.raises(ControlError, match="cannot discharge"):
        uni.allow_v2h(T0, "car", True)
    assert uni.status(T0).owner.v2h == {}  # no switch for a car that cannot discharge


def test_target_and_backup_reserve_reach_departures_and_the_battery_floor() -> None:
    c = _core()
    c.set_target_soc(T0, "car", 0.95)
    dep = c.departures["car"].next_departure(T0)
    assert dep is not None and dep[1] == 0.95
    c.set_backup_reserve(T0, 0.3)
    assert c.site.battery is not None and c.site.battery.reserve_soc == 0.3
    assert c.storages["battery"].min_soc == 0.3
    st = c.status(T0)
    assert st.owner.target_soc == {"car": 0.95} and st.owner.backup_reserve == 0.3
    with pytest.raises(ControlError):
        c.set_backup_reserve(T0, -0.1)
    with pytest.raises(ControlError, match="no home battery"):
        _core(site=Site(grid=Grid(17.0, 10.0), evs=_site().evs)).set_backup_reserve(T0, 0.2)


def test_owner_settings_survive_a_restart_unless_the_site_document_changed() -> None:
    c = _core()
    c.set_min_soc(T0, "car", 0.35)
    c.set_target_soc(T0, "car", 0.9)
    c.allow_v2h(T0, "car", False)
    c.set_backup_reserve(T0, 0.25)
    snap = c.snapshot()
    back = _core(restore=snap)
    own = back.status(T0).owner
    assert own.min_soc == {"car": 0.35} and own.target_soc == {"car": 0.9}
    assert own.v2h == {"car": False} and own.backup_reserve == 0.25
    # The installer raised the car's floor in the site document: their value wins.
    ev = Ev("car", 60.0, 7.4, 7.4, min_soc=0.3)
    changed = _core(restore=snap, site=Site(grid=Grid(17.0, 10.0), evs=(ev,)))
    assert changed.status(T0).owner.min_soc == {"car": 0.3}
    assert changed.status(T0).owner.target_soc == {"car": 0.9}
    # A damaged snapshot loses the owner's settings, nothing else.
    bad = _core(restore={**snap, "owner": {"min_soc": {"car": [7, 0.2]}}})
    assert bad.status(T0).owner.min_soc == {"car": 0.2}


def test_departure_state_on_track_at_risk_reached() -> None:
    kw = {"capacity_kwh": 60.0, "max_charge_w": 7400.0, "charge_efficiency": 0.92}
    t = T0.timestamp()
    # 30 % of 60 kWh at 7.4 kW is ~2.6 h; with 0.5 h margin.
    assert departure_state(0.5, 0.8, t + 10 * 3600, t, margin_h=0.5, **kw) == "on_track"
    assert departure_state(0.5, 0.8, t + 3 * 3600, t, margin_h=0.5, **kw) == "at_risk"
    assert departure_state(0.8, 0.8, t + 3600, t, margin_h=0.5, **kw) == "reached"
    c = _core()
    c.observe(T0, _obs(T0, 0.5))
    view = c.status(T0).departures["car"]
    assert view.state == "on_track" and view.target_soc == 0.8
    assert view.at == datetime(2026, 1, 14, 6, 30, tzinfo=UTC)
    late = T0 + timedelta(hours=11)  # 05:00 local, 2.5 h left
    c.observe(late, _obs(late, 0.5))
    view = c.status(late).departures["car"]
    assert view.state == "at_risk"
    # 2.5 h at 7.4 kW into 60 kWh at 92 %: +28.4 % from 50 %.
    assert view.expected_soc == pytest.approx(0.5 + 7.4 * 2.5 * 0.92 / 60, abs=1e-3)


def test_peak_budget_and_flanders_running_average() -> None:
    c = _core(site=_site(peak_tariff=MonthlyPeakTariff.flanders(60.0)))
    st = c.status(T0)
    assert st.peak_budget_kw is None and st.capacity_average_kw == 2.5  # floored, no peaks yet
    _planned(c)
    st = c.status(T0)
    assert st.peak_budget_kw is not None and st.peak_budget_kw >= 2.5
    assert _core().status(T0).capacity_average_kw is None


def test_plan_read_outs_power_next_action_costs_and_savings() -> None:
    c = _core()
    _planned(c, soc=0.3)
    plan = c.plan
    assert plan is not None
    t = T0.timestamp() + 60
    now_w, next_w = planned_power_w(plan, "car", t)
    assert now_w == pytest.approx(plan.plan.assets[0].power_kw[0] * 1000, abs=0.1)
    assert next_w == pytest.approx(plan.plan.assets[0].power_kw[1] * 1000, abs=0.1)
    assert planned_power_w(None, "car", t) == (None, None)
    assert planned_power_w(plan, "car", t - 3600) == (None, None)
    act = next_action(plan, t)
    assert act is not None and act.at > T0 and act.reason is not None
    car = plan.plan.asset("car")
    k = int((act.at - T0).total_seconds() // 900)
    moved = abs(car.power_kw[k] - car.power_kw[k - 1]) * 1000
    bat = plan.plan.asset("battery")
    assert moved >= 300 or abs(bat.power_kw[k] - bat.power_kw[k - 1]) * 1000 >= 300
    today, tomorrow = day_costs(plan, t, "Europe/Brussels")
    assert today is not None and tomorrow is not None
    assert today.hours == pytest.approx(6.0 - 1 / 60, abs=0.02) and today.complete
    assert not tomorrow.complete and tomorrow.hours == pytest.approx(18.0)
    p = plan.plan
    grid = np.array(p.grid_import_kw) - np.array(p.grid_export_kw)
    whole = float(
        np.sum(
            (np.maximum(grid, 0) * p.import_price - np.maximum(-grid, 0) * p.export_price) * 0.25
        )
    )
    partial = (max(grid[0], 0) * p.import_price[0] - max(-grid[0], 0) * p.export_price[0]) * (
        1 / 60
    )
    assert today.cost + tomorrow.cost == pytest.approx(whole - partial, abs=1e-3)
    saved = savings_vs_plug_in(plan, t, {"car": 7.4})
    # Charging at once would charge in the 0.45 evening; the plan waits for 0.10.
    assert saved is not None and saved > 0.5
    assert savings_vs_plug_in(None, t, {"car": 7.4}) is None
    assert day_costs(None, t, "UTC") == (None, None)


def test_a_one_off_departure_survives_a_restart_and_a_bad_snapshot_is_dropped() -> None:
    c = _core()
    leave = datetime(2026, 1, 14, 9, 0, tzinfo=UTC)
    c.set_departure(T0, "car", leave, 0.7)
    snap = c.snapshot()
    back = _core(restore=snap)
    assert back.departures["car"].next_departure(T0) == (leave, 0.7)
    broken = _core(restore={**snap, "departures": {"car": {"version": 99}}})
    assert broken.departures["car"].next_departure(T0) == (
        datetime(2026, 1, 14, 6, 30, tzinfo=UTC),
        0.8,
    )
