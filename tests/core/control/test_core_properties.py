"""Properties of the core over random observation sequences (hypothesis).

For any sequence of meter readings, device states, staleness, plug events and boosts:
no setpoint exceeds a device limit or the fuse, nothing discharges at or below the minimum
SoC (or with the SoC unknown, or with a stale meter), and a boost always beats the optimiser.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hems_core.control.core import ControlCore
from hems_core.control.planning import Forecast
from hems_core.control.settings import ControlSettings, StorageSettings
from hems_core.control.types import (
    CommandKind,
    MeterObs,
    Observation,
    Source,
    StorageObs,
)
from hems_core.model import Ev, Grid, HomeBattery, Site
from hems_core.optimize import Planner
from hems_core.optimize.plan import Plan

T0 = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)
V = 230.0
FUSE_A = 25.0
SITE = Site(
    grid=Grid(17.0, 10.0),
    evs=(Ev("car", 60.0, 11.0, 11.0, min_soc=0.2),),
    battery=HomeBattery(10.0, 5.0, 5.0, reserve_soc=0.1),
)
MAX = {"car": (11_000.0, 11_000.0), "battery": (5_000.0, 5_000.0)}
FLOOR = {"car": 0.2, "battery": 0.1}
PHASES = {"car": (1, 2, 3), "battery": (1,)}


def _forecast() -> Forecast:
    n = 96
    h = (np.arange(n) * 0.25 + 17) % 24
    price = np.where((h >= 17) & (h < 21), 0.45, 0.10)
    return Forecast(T0, price, price * 0.0, np.full(n, 1.2), np.zeros(n))


@cache
def _plan() -> tuple[int, Plan]:
    c = _new_core()
    step = c.observe(T0, Observation(MeterObs(T0, 1000.0), _devices(T0, 0.0, 0.0, 0.6, 0.5)))
    req = step.plan_request
    assert req is not None
    return req.seq, Planner(req.site).solve(req.inputs, req.state, req.site)


def _new_core() -> ControlCore:
    cfg = ControlSettings(
        fuse_a=FUSE_A,
        storage={
            "car": StorageSettings(min_active_w=1380.0, phases=PHASES["car"]),
            "battery": StorageSettings(min_active_w=100.0, phases=PHASES["battery"]),
        },
    )
    c = ControlCore(SITE, cfg, tz="Europe/Brussels")
    c.set_forecast(T0, _forecast())
    return c


def _devices(
    at: datetime, car_w: float, bat_w: float, car_soc: float | None, bat_soc: float | None,
    plugged: bool = True, online: bool = True,
) -> dict[str, StorageObs]:  # fmt: skip
    return {
        "car": StorageObs(at, online, car_w, car_soc, plugged),
        "battery": StorageObs(at, True, bat_w, bat_soc),
    }


reading = st.fixed_dictionaries(
    {
        "dt": st.sampled_from([1.0, 2.0, 5.0, 30.0]),
        "house_w": st.floats(-6000.0, 16000.0),
        "split": st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0)),
        "car_soc": st.one_of(st.none(), st.floats(0.0, 1.0)),
        "bat_soc": st.one_of(st.none(), st.floats(0.0, 1.0)),
        "plugged": st.booleans(),
        "online": st.booleans(),
        "meter_stale": st.booleans(),
        "boost": st.booleans(),
    }
)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(reading, min_size=1, max_size=40))
def test_no_setpoint_breaks_a_limit_the_floor_or_loses_to_the_optimiser(seq: list[dict]) -> None:  # type: ignore[type-arg]
    c = _new_core()
    s, plan = _plan()
    c.accept_plan(T0, s, plan)
    now = T0
    last_meter = T0
    applied = {"car": 0.0, "battery": 0.0}
    boosting = False
    known: dict[str, float | None] = {"car": None, "battery": None}  # last reported SoC
    was_plugged = None
    for r in seq:
        now += timedelta(seconds=r["dt"])
        if r["boost"] and not boosting and r["plugged"]:
            c.start_boost(now, "car", duration=timedelta(hours=1))
            boosting = True
        if not r["meter_stale"]:
            last_meter = now
        other = r["house_w"]
        weights = np.array(r["split"]) + 1e-3
        phase_other = other * weights / weights.sum()
        car_w = applied["car"] if r["online"] and r["plugged"] else 0.0
        bat_w = applied["battery"]
        phase = [phase_other[i] + car_w / 3 + (bat_w if i == 0 else 0.0) for i in range(3)]
        grid = other + car_w + bat_w
        meter = MeterObs(last_meter, grid, (phase[0], phase[1], phase[2]), stamp=last_meter)
        obs = Observation(
            meter,
            _devices(now, car_w, bat_w, r["car_soc"], r["bat_soc"], r["plugged"], r["online"]),
        )
        step = c.observe(now, obs)
        if r["online"]:
            if r["plugged"] and was_plugged is not True and r["car_soc"] is None:
                known["car"] = None  # a plug-in without a reading: only an assumed SoC
            if r["car_soc"] is not None and r["plugged"]:
                known["car"] = r["car_soc"]
            was_plugged = r["plugged"]
        if r["bat_soc"] is not None:
            known["battery"] = r["bat_soc"]
        stale = (now - last_meter).total_seconds() > c.settings.meter_timeout_s
        for cmd in step.commands:
            if cmd.kind is not CommandKind.POWER:
                continue
            v = cmd.value_w or 0.0
            dis, chg = MAX[cmd.device]
            assert -dis - 1e-6 <= v <= chg + 1e-6, cmd
            soc = known[cmd.device]
            if v < 0:
                assert soc is not None and soc > FLOOR[cmd.device], cmd
                assert not stale, cmd
            if stale:
                assert v <= c.settings.safe_charge_w + 1e-6, cmd
            if cmd.device == "car" and "car" in c.boosts and not stale and r["online"]:
                assert cmd.source in (Source.BOOST, Source.FUSE, Source.DEVICE, Source.DSO), cmd
            applied[cmd.device] = v
        # the fuse: every phase, with the new setpoints applied, stays under 25 A unless the
        # house alone is above it (then nothing may charge on that phase)
        if not stale and r["online"] and r["plugged"]:
            new_car, new_bat = applied["car"], applied["battery"]
            for i in range(3):
                pred = phase_other[i] + new_car / 3 + (new_bat if i == 0 else 0.0)
                if phase_other[i] <= FUSE_A * V - 4000.0:
                    assert pred <= FUSE_A * V + 1.0, (i, pred)
