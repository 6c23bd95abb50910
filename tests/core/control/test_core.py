"""The control core with plain values: plans, follower, fail-safe, boost, modes, triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.control.core import ControlCore
from hems_core.control.planning import Forecast
from hems_core.control.settings import ControlError, ControlSettings, StorageSettings
from hems_core.control.types import (
    CommandKind,
    MeterObs,
    Mode,
    Observation,
    Source,
    Step,
    StorageObs,
)
from hems_core.model import Ev, Grid, Site
from hems_core.optimize import Planner

T0 = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)


def site(**kw: object) -> Site:
    ev = Ev("car", 60.0, 7.4, 7.4, min_soc=0.2)
    return Site(grid=Grid(17.0, 10.0), evs=(ev,), **kw)  # type: ignore[arg-type]


def forecast(price_evening: float = 0.45, steps: int = 96) -> Forecast:
    h = (np.arange(steps) * 0.25 + T0.hour) % 24
    price = np.where((h >= 17) & (h < 21), price_evening, 0.10)
    return Forecast(T0, price, price * 0.0, np.full(steps, 1.0), np.zeros(steps), source="test")


def core(**settings: object) -> ControlCore:
    base: dict[str, object] = {"storage": {"car": StorageSettings(min_active_w=0.0)}}
    base.update(settings)
    return ControlCore(site(), ControlSettings(**base), tz="Europe/Brussels")  # type: ignore[arg-type]


def obs(
    at: datetime, grid_w: float, car_w: float = 0.0, soc: float | None = 0.6, *,
    plugged: bool = True, online: bool = True, meter_at: datetime | None = None,
) -> Observation:  # fmt: skip
    m = MeterObs(meter_at or at, grid_w, stamp=meter_at or at)
    return Observation(m, {"car": StorageObs(at, online, car_w, soc, plugged)})


def car_cmd(step: Step) -> tuple[float | None, Source] | None:
    for c in step.commands:
        if c.device == "car":
            return c.value_w, c.source
    return None


def planned_core(**settings: object) -> tuple[ControlCore, Planner]:
    c = core(**settings)
    c.set_forecast(T0, forecast())
    first = c.observe(T0, obs(T0, 1000.0))
    assert first.plan_request is not None
    req = first.plan_request
    planner = Planner(req.site)
    assert c.accept_plan(T0, req.seq, planner.solve(req.inputs, req.state, req.site))
    return c, planner


def test_without_any_forecast_the_fallback_runs_and_says_so() -> None:
    c = core()
    step = c.observe(T0, obs(T0, 500.0))
    assert step.plan_request is None
    assert [e.kind for e in step.events] == ["no_forecast"]
    assert car_cmd(step) == (0.0, Source.FALLBACK)


def test_pv_surplus_is_charged_by_the_fallback() -> None:
    c = core()
    step = c.observe(T0, obs(T0, -3000.0))
    assert car_cmd(step) == (3000.0, Source.FALLBACK)


def test_v2h_follows_the_house_load_in_an_expensive_evening() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(seconds=5)
    # the plan discharges in the 0.45 EUR evening; the house now draws 2.5 kW, the car 0
    step = c.observe(t, obs(t, 2500.0, 0.0))
    value, source = car_cmd(step) or (None, None)
    assert source is Source.PLAN
    assert value == pytest.approx(-2500.0, abs=1.0)
    t2 = t + timedelta(seconds=2)  # the kettle stops: the house draws 0.4 kW, the car gives 2.5
    step = c.observe(t2, obs(t2, -2100.0, -2500.0))
    assert car_cmd(step) == (pytest.approx(-400.0, abs=1.0), Source.PLAN)


def test_stale_meter_enters_and_leaves_the_failsafe() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(seconds=5)
    c.observe(t, obs(t, 2500.0))
    late = t + timedelta(seconds=c.settings.meter_timeout_s + 1)
    step = c.observe(late, obs(late, 2500.0, -2500.0, meter_at=t))
    assert [e.kind for e in step.events] == ["failsafe"]
    assert car_cmd(step) == (0.0, Source.FAILSAFE)
    back = late + timedelta(seconds=1)
    step = c.observe(back, obs(back, 2500.0, 0.0))
    assert "failsafe_cleared" in [e.kind for e in step.events]
    assert car_cmd(step) == (pytest.approx(-2500.0, abs=1.0), Source.PLAN)


def test_frozen_meter_is_stale_even_when_it_keeps_arriving() -> None:
    c, _ = planned_core()
    stamp = T0 + timedelta(seconds=1)
    step = None
    for i in range(int(c.settings.frozen_meter_s) + 3):
        t = stamp + timedelta(seconds=i)
        o = Observation(MeterObs(t, 2500.0, stamp=stamp), {"car": StorageObs(t, True, 0.0, 0.6)})
        step = c.observe(t, o)
    assert step is not None and c.status(t).failsafe
    last = c.status(t).devices["car"]
    assert (last.value_w, last.source) == (0.0, Source.FAILSAFE)


def test_boost_wins_over_the_plan_and_ends_at_its_time() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(seconds=5)
    c.start_boost(t, "car", duration=timedelta(minutes=30))
    step = c.observe(t, obs(t, 2500.0))
    assert car_cmd(step) == (7400.0, Source.BOOST)
    end = t + timedelta(minutes=31)
    step = c.observe(end, obs(end, 9900.0, 7400.0))
    assert car_cmd(step) is not None and car_cmd(step)[1] is Source.PLAN  # type: ignore[index]
    assert step.plan_request is not None and "boost_end" in step.plan_request.trigger


def test_boost_requests_are_validated() -> None:
    c = core()
    with pytest.raises(ControlError, match="no car"):
        c.start_boost(T0, "bike")
    with pytest.raises(ControlError, match="target_soc"):
        c.start_boost(T0, "car", target_soc=1.5)
    c.set_mode(T0, "off")
    with pytest.raises(ControlError, match="mode is off"):
        c.start_boost(T0, "car")
    with pytest.raises(ControlError, match="unknown mode"):
        c.set_mode(T0, "turbo")


def test_mode_off_hands_control_back_once_and_stops_planning() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(seconds=5)
    c.set_mode(t, Mode.OFF)
    step = c.observe(t, obs(t, 2500.0))
    assert [(x.device, x.kind) for x in step.commands] == [("car", CommandKind.RELEASE)]
    assert step.plan_request is None
    again = c.observe(t + timedelta(seconds=1), obs(t + timedelta(seconds=1), 2500.0))
    assert again.commands == ()


def test_charge_only_never_discharges() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(seconds=5)
    c.set_mode(t, "charge_only")
    step = c.observe(t, obs(t, 2500.0))
    assert car_cmd(step) == (0.0, Source.MODE)


def test_commands_are_renewed_at_half_their_ttl_not_every_tick() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(seconds=5)
    assert car_cmd(c.observe(t, obs(t, 2500.0))) is not None
    t1 = t + timedelta(seconds=1)
    assert car_cmd(c.observe(t1, obs(t1, 0.0, -2500.0))) is None  # unchanged: nothing written
    t2 = t + timedelta(seconds=c.settings.command_ttl_s / 2 + 0.1)
    renewed = c.observe(t2, obs(t2, 0.0, -2500.0))
    cmd = next(x for x in renewed.commands if x.device == "car")
    assert cmd.expires_at == t2 + timedelta(seconds=c.settings.command_ttl_s)


def test_a_lost_device_gets_nothing_then_everything_again() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(seconds=5)
    c.observe(t, obs(t, 2500.0))
    t1 = t + timedelta(seconds=1)
    step = c.observe(t1, obs(t1, 2500.0, online=False))
    assert [e.kind for e in step.events] == ["device_lost"] and car_cmd(step) is None
    t2 = t1 + timedelta(seconds=1)
    step = c.observe(t2, obs(t2, 2500.0, -2500.0))
    assert "device_recovered" in [e.kind for e in step.events]
    assert car_cmd(step) is not None  # the same setpoint is written again after recovery


def test_quarter_boundaries_and_plugging_trigger_plans() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(minutes=14, seconds=59)
    assert c.observe(t, obs(t, 1000.0)).plan_request is None
    q = T0 + timedelta(minutes=15)
    req = c.observe(q, obs(q, 1000.0)).plan_request
    assert req is not None and req.trigger == "quarter"
    u = q + timedelta(seconds=3)
    req = c.observe(u, obs(u, 1000.0, plugged=False)).plan_request
    assert req is not None and req.trigger == "unplug"
    assert req.state.ev_plugged["car"] is False


def test_only_the_newest_request_is_accepted_while_a_plan_is_in_force() -> None:
    c, planner = planned_core()
    t = T0 + timedelta(minutes=15)
    r1 = c.observe(t, obs(t, 1000.0)).plan_request
    c.set_forecast(t, forecast(0.5))
    r2 = c.observe(t + timedelta(seconds=1), obs(t + timedelta(seconds=1), 1000.0)).plan_request
    assert r1 is not None and r2 is not None and r2.seq > r1.seq
    p1 = planner.solve(r1.inputs, r1.state, r1.site)
    assert not c.accept_plan(t, r1.seq, p1)  # superseded by r2
    p2 = planner.solve(r2.inputs, r2.state, r2.site)
    assert c.accept_plan(t, r2.seq, p2)
    assert c.plan is not None and c.plan.seq == r2.seq


def test_a_failed_solve_keeps_the_last_plan_and_retries() -> None:
    c, _ = planned_core()
    t = T0 + timedelta(minutes=15)
    req = c.observe(t, obs(t, 2500.0)).plan_request
    assert req is not None
    ev = c.plan_failed(t, req.seq, "SolverError: infeasible")
    assert ev.kind == "plan_failed"
    t1 = t + timedelta(seconds=2)
    c.observe(t1, obs(t1, 2500.0))
    assert c.status(t1).devices["car"].source is Source.PLAN
    assert c.status(t1).plan_source == "optimiser"
    later = t + timedelta(seconds=c.settings.replan_retry_s + 1)
    retry = c.observe(later, obs(later, 2500.0)).plan_request
    assert retry is not None and "retry" in retry.trigger


def test_settings_name_the_field() -> None:
    with pytest.raises(ControlError, match="fuse_a"):
        ControlSettings(fuse_a=-3)
    with pytest.raises(ControlError, match="unknown devices"):
        ControlCore(site(), ControlSettings(storage={"bike": StorageSettings()}))
    with pytest.raises(ControlError, match="phases"):
        StorageSettings(phases=(4,))
