"""Unplanned PV export goes into storage, not onto the grid (rules.soak, ControlCore._soak).

The plan is made from a PV forecast; when the sun beats it, the meter shows export the plan
did not want. Without net metering that export earns far less than the energy is worth later,
so the core charges it into the home battery first, then a car, and holds the soak between
meter readings instead of chasing its own change.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.control.core import ControlCore
from hems_core.control.planning import Forecast
from hems_core.control.rules import (
    SOAK_MIN_W,
    Live,
    Storage,
    Tick,
    Want,
    soak,
    soak_export_w,
)
from hems_core.control.settings import ControlSettings, StorageSettings
from hems_core.control.types import MeterObs, Observation, Source, Step, StorageObs
from hems_core.model import Ev, Grid, HomeBattery, Site
from hems_core.optimize import Planner

T0 = datetime(2026, 6, 10, 11, 0, tzinfo=UTC)
ST = StorageSettings(min_active_w=0.0)
CAR = Storage("car", "ev", 60.0, 7_400.0, 7_400.0, 0.2, 0.9, 0.9, ST)
BAT = Storage("battery", "battery", 10.0, 5_000.0, 5_000.0, 0.1, 1.0, 0.95, ST)
STORES = {"car": CAR, "battery": BAT}


def live(soc: float = 0.5, power_w: float = 0.0, *, plugged: bool = True) -> Live:
    return Live(True, plugged, power_w, soc)


def tick(base_w: float, car: Live | None = None, bat: Live | None = None) -> Tick:
    lv = {"car": car or live(), "battery": bat or live()}
    return Tick(0.0, base_w + sum(x.power_w for x in lv.values()), base_w, (None,) * 3, True, lv)


def plan(car_w: float = 0.0, bat_w: float = 0.0) -> dict[str, Want]:
    return {"car": Want(car_w, Source.PLAN, "plan"), "battery": Want(bat_w, Source.PLAN, "plan")}


# -- the rule with plain numbers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("base_w", "target_w", "want"),
    [
        (-3000.0, 500.0, 3000.0),  # the plan imports: every watt of export is a surprise
        (-3000.0, -1000.0, 2000.0),  # the plan sells 1 kW on purpose: only the rest
        (-3000.0, -3000.0, 0.0),  # exactly as planned
        (-SOAK_MIN_W / 2, 0.0, 0.0),  # meter noise
        (1500.0, 0.0, 0.0),  # importing
    ],
)
def test_unplanned_export_is_export_beyond_the_plan(
    base_w: float, target_w: float, want: float
) -> None:
    assert soak_export_w(tick(base_w), plan(), target_w) == pytest.approx(want)


def test_the_home_battery_soaks_first_then_the_car() -> None:
    prop = plan()
    added = soak(tick(-7000.0), prop, STORES, 7000.0, set())
    assert added == {"battery": 5000.0, "car": 2000.0}
    assert (prop["battery"].watts, prop["car"].watts) == (5000.0, 2000.0)
    assert prop["battery"].reason == "charging unplanned PV export"
    assert prop["car"].source is Source.PLAN  # still the plan's: the peak guard may move it


def test_a_planned_charge_takes_only_its_remaining_headroom() -> None:
    prop = plan(car_w=7000.0, bat_w=4500.0)
    added = soak(tick(-12_000.0), prop, STORES, 2000.0, set())
    assert added == {"battery": 500.0, "car": 400.0}


@pytest.mark.parametrize(
    ("prop", "skip", "car", "bat", "why"),
    [
        (plan(bat_w=-2000.0), set(), live(), live(), "a planned discharger keeps its setpoint"),
        (plan(), {"battery"}, live(), live(), "the follower is not moved"),
        (plan(), set(), live(), live(soc=1.0), "a full battery takes nothing"),
        (plan(), set(), live(), Live(False, True, 0.0, 0.5), "an offline battery takes nothing"),
    ],
)
def test_who_does_not_soak(
    prop: dict[str, Want], skip: set[str], car: Live, bat: Live, why: str
) -> None:
    bat_before = prop["battery"].watts
    added = soak(tick(-2000.0, car, bat), prop, STORES, 2000.0, skip)
    assert "battery" not in added, why
    assert prop["battery"].watts == bat_before, why
    assert added == {"car": 2000.0}, why  # the car takes it instead


def test_an_unplugged_car_at_its_limit_soaks_nothing() -> None:
    prop = plan()
    added = soak(tick(-2000.0, live(plugged=False), live(soc=1.0)), prop, STORES, 2000.0, set())
    assert added == {}
    assert (prop["car"].watts, prop["battery"].watts) == (0.0, 0.0)


# -- the core: a real plan, then more sun than forecast ---------------------------------------

SITE = Site(
    grid=Grid(17.0, 10.0),
    evs=(Ev("car", 60.0, 7.4, 7.4, min_soc=0.2),),
    battery=HomeBattery(10.0, 5.0, 5.0, reserve_soc=0.1),
)


def _observe(
    c: ControlCore, at: datetime, grid_w: float, bat_w: float, *, meter_at: datetime | None = None
) -> Step:
    stamp = meter_at or at
    devices = {
        "car": StorageObs(at, True, 0.0, 0.6, True),
        "battery": StorageObs(at, True, bat_w, 0.5),
    }
    return c.observe(at, Observation(MeterObs(stamp, grid_w, stamp=stamp), devices))


def _planned_core() -> ControlCore:
    """Flat prices and no PV in the forecast: the plan idles both stores over midday."""
    n = 96
    cfg = ControlSettings(storage={"car": ST, "battery": ST}, ramp_w_per_s=100_000.0)
    c = ControlCore(SITE, cfg, tz="Europe/Brussels")
    c.set_forecast(T0, Forecast(T0, np.full(n, 0.20), np.full(n, 0.02), np.full(n, 0.5),
                                np.zeros(n)))  # fmt: skip
    req = _observe(c, T0, 500.0, 0.0).plan_request
    assert req is not None
    assert c.accept_plan(T0, req.seq, Planner(req.site).solve(req.inputs, req.state, req.site))
    return c


def _watts(step: Step, device: str) -> tuple[float | None, Source] | None:
    for cmd in step.commands:
        if cmd.device == device:
            return cmd.value_w, cmd.source
    return None


def test_the_core_charges_surprise_pv_into_the_battery_and_holds_it_between_readings() -> None:
    c = _planned_core()
    t = T0 + timedelta(seconds=5)
    step = _observe(c, t, -3000.0, 0.0)  # 3 kW export, none planned
    value, source = _watts(step, "battery") or (None, None)
    assert value == pytest.approx(3000.0) and source is Source.PLAN
    # The battery now charges 3 kW but the meter has not sent a new reading: the old -3 kW
    # already is what we answered; chasing it would double the charge.
    t2 = t + timedelta(seconds=1)
    step = _observe(c, t2, -3000.0, 3000.0, meter_at=t)
    assert c.status(t2).devices["battery"].value_w == pytest.approx(3000.0)
    # The next reading shows the grid at zero with the battery charging: the soak stays.
    t3 = t2 + timedelta(seconds=1)
    _observe(c, t3, 0.0, 3000.0)
    assert c.status(t3).devices["battery"].value_w == pytest.approx(3000.0)
    # A cloud: the house imports again, so the soak ends at once.
    t4 = t3 + timedelta(seconds=1)
    _observe(c, t4, 3500.0, 3000.0)
    assert c.status(t4).devices["battery"].value_w == pytest.approx(0.0, abs=1.0)


def test_a_stale_meter_soaks_nothing() -> None:
    """Twice held: the soak reads no stale meter, and the safety layer allows only the safe
    charge without a fresh one (removing either check alone keeps this test green)."""
    c = _planned_core()
    t = T0 + timedelta(seconds=5)
    _observe(c, t, -3000.0, 0.0)
    late = t + timedelta(seconds=c.settings.meter_timeout_s + 1)
    _observe(c, late, -3000.0, 3000.0, meter_at=t)
    assert c.status(late).failsafe
    dev = c.status(late).devices["battery"]
    assert dev.value_w == 0.0 and dev.reason != "charging unplanned PV export"
