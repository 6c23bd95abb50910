"""``hems bench control``: the pure core's tick cost and re-plan throughput, as JSON.

The tick is what runs on every meter reading (1–5 s), so it must stay far below a
millisecond; it is timed on a realistic site (one V2H car, a home battery, PV, a capacity
tariff, a fuse) with an accepted plan, a meter that moves every second with appliance steps
and devices that follow their setpoints. ``plans_per_s`` is the full planning cycle the core
drives: request (inputs and state cut from the forecast and trackers) → solve → accept.
"""

from __future__ import annotations

import math
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from ..model import Ev, Grid, HomeBattery, MonthlyPeakTariff, Pv, Site
from ..optimize import Planner
from ..timegrid import STEP
from .core import ControlCore
from .planning import Forecast
from .settings import ControlSettings, StorageSettings
from .types import MeterObs, Observation, StorageObs

START = datetime(2026, 1, 13, 17, 0, tzinfo=UTC)


def bench_site() -> Site:
    """One V2H car, a home battery and PV behind a 3 x 25 A connection with a capacity tariff."""
    return Site(
        grid=Grid(import_limit_kw=17.0, export_limit_kw=10.0),
        evs=(Ev("car", 60.0, 11.0, 11.0, min_soc=0.2),),
        battery=HomeBattery(10.0, 5.0, 5.0),
        pv=Pv(6.0),
        peak_tariff=MonthlyPeakTariff.flanders(53.39),
    )


def bench_forecast(steps: int = 288) -> Forecast:
    """Two days of a winter price curve with evening peaks and a little PV at noon."""
    h = (np.arange(steps) * 0.25 + START.hour) % 24
    price = 0.22 + 0.12 * np.exp(-((h - 18.5) ** 2) / 3) - 0.06 * np.exp(-((h - 3.5) ** 2) / 6)
    load = 0.35 + 0.6 * np.exp(-((h - 19) ** 2) / 4) + 0.2 * np.exp(-((h - 7.5) ** 2) / 1.5)
    pv = np.clip(3.0 * np.sin((h - 8.5) / 8 * math.pi), 0, None)
    return Forecast(START, price, price * 0.3, load, pv, source="bench")


def _core() -> ControlCore:
    settings = ControlSettings(
        fuse_a=25.0,
        storage={
            "car": StorageSettings(min_active_w=1380.0, phases=(1, 2, 3)),
            "battery": StorageSettings(min_active_w=100.0, phases=(1,)),
        },
    )
    core = ControlCore(bench_site(), settings, tz="Europe/Brussels")
    core.set_forecast(START, bench_forecast())
    return core


def run_bench(ticks: int = 20_000, plans: int = 20) -> dict[str, Any]:
    """Time ``ticks`` core ticks (µs percentiles) and ``plans`` planning cycles."""
    core = _core()
    planner = Planner(core.site)
    rng = random.Random(3)
    now = START
    car = StorageObs(now, True, 0.0, 0.6)
    bat = StorageObs(now, True, 0.0, 0.5)
    obs = Observation(MeterObs(now, 800.0, (300.0, 250.0, 250.0)), {"car": car, "battery": bat})
    step = core.observe(now, obs)
    assert step.plan_request is not None
    req = step.plan_request
    core.accept_plan(now, req.seq, planner.solve(req.inputs, req.state, req.site))
    times: list[float] = []
    house = 800.0
    car_w = bat_w = 0.0
    for i in range(ticks):
        now = START + timedelta(seconds=i + 1)
        if rng.random() < 0.02:
            house = rng.choice((300.0, 800.0, 2300.0, 3300.0, 5000.0))
        grid = house + car_w + bat_w
        ph = (grid / 3, grid / 3, grid / 3)
        obs = Observation(
            MeterObs(now, grid, ph, stamp=now),
            {
                "car": StorageObs(now, True, car_w, 0.6 - i * 1e-6),
                "battery": StorageObs(now, True, bat_w, 0.5),
            },
        )
        t0 = time.perf_counter_ns()
        step = core.observe(now, obs)
        times.append((time.perf_counter_ns() - t0) / 1000.0)
        for c in step.commands:
            if c.device == "car" and c.value_w is not None:
                car_w = c.value_w
            elif c.device == "battery" and c.value_w is not None:
                bat_w = c.value_w
        if step.plan_request is not None:  # keep the plan fresh outside the timing
            r = step.plan_request
            core.accept_plan(now, r.seq, planner.solve(r.inputs, r.state, r.site))
    times.sort()
    p0 = time.perf_counter()
    for j in range(plans):
        at = now + STEP * (j + 1)
        core.set_forecast(at, bench_forecast())
        tick = core.observe(at, Observation(MeterObs(at, 900.0), {"car": car, "battery": bat}))
        req2 = tick.plan_request
        assert req2 is not None
        core.accept_plan(at, req2.seq, planner.solve(req2.inputs, req2.state, req2.site))
    plans_s = time.perf_counter() - p0
    return {
        "tick_us_p50": round(times[len(times) // 2], 1),
        "tick_us_p99": round(times[int(0.99 * (len(times) - 1))], 1),
        "tick_us_max": round(times[-1], 1),
        "ticks": ticks,
        "plans_per_s": round(plans / plans_s, 2),
        "plan_steps": int(core.plan.plan.dt_h.__len__()) if core.plan is not None else 0,
    }
