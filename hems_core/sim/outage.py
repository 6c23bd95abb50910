"""A grid outage, simulated without sockets: the real :class:`ControlCore` at a fast step.

The house (``HouseLoads``: always-on loads, lights, a cycling heat pump, cooking, a dryer and an
immersion heater that run later when shed), PV, a car on a bidirectional DC box, a home
battery whose hybrid inverter forms the island behind a backup gateway (``GatewaySim``), and a
grid that fails and returns on a schedule. Each tick the simulator builds the observation the
runtime would, calls ``core.observe``, applies the commands (storage setpoints, PV limit, load
switches, the island source's cut-off), solves plan requests with the real planner, and does
the physics:

- grid connected: the meter sees ``load - pv + storage``;
- islanded: the island source balances the rest within its power, the island limit and its
  cut-off SoC; demand it cannot carry is a **blackout** (seconds counted, energy not served);
  surplus it cannot store is cut by the frequency shift (PV curtailed);
- ``grid_exchange_while_islanded_kwh``: while the switch is open, what the core's commands
  would have left for a grid: ``load - pv + sum(commanded setpoints)`` (the island balances
  only if this is zero);
- a **reserve breach**: a storage below its island floor (the car's mobility floor, the
  battery's island cut-off) or, on grid, below its normal floor, by more than 0.5 %.

Recovery: the highest quarter-hour average import from the grid's return to the end, against
the month's peak before the outage (seeded into the core's tracker as an earlier quarter).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..control.core import ControlCore
from ..control.departures import DepartureSchedule
from ..control.grid import OFF_GRID, IslandSettings, ShedTier
from ..control.planning import Forecast
from ..control.settings import ControlSettings, StorageSettings
from ..control.types import (
    CommandKind,
    MeterObs,
    Observation,
    PvObs,
    Step,
    StorageObs,
)
from ..model import Ev, Grid, HomeBattery, MonthlyPeakTariff, Pv, Site
from ..optimize import Planner
from ..timegrid import STEP_S
from .gateway_sim import GatewaySim, GridSchedule

TZ = "Europe/Brussels"
#: The island source's short-time overload: this factor over its limit for this long (s).
OVERLOAD_FACTOR = 1.3
OVERLOAD_S = 10.0


@dataclass
class Deferred:
    """A load that must run ``need_s`` in a window; shed, it runs later (rebound)."""

    power_w: float
    start_s: float
    need_s: float
    ran_s: float = 0.0

    def demand(self, t_s: float) -> float:
        return self.power_w if t_s >= self.start_s and self.ran_s < self.need_s else 0.0


@dataclass
class HouseLoads:
    """The house by switch: each load's demand (W) at ``t_s`` when it is on."""

    day0_s: float  # local midnight of the evening (epoch s)
    heat_deficit_s: float = 0.0
    dryer: Deferred = field(default_factory=lambda: Deferred(2000.0, 0.0, 3600.0))
    dhw: Deferred = field(default_factory=lambda: Deferred(2500.0, 0.0, 2700.0))

    def __post_init__(self) -> None:
        self.dryer.start_s = self.day0_s + 20 * 3600
        self.dhw.start_s = self.day0_s + 21 * 3600

    def demand(self, t_s: float, on: Callable[[str], bool], dt: float) -> dict[str, float]:
        """Per load, the power drawn this tick (0 when switched off)."""
        h = (t_s - self.day0_s) / 3600.0
        base = 450.0 if 7 <= h % 24 < 23 else 300.0
        cooking = 2600.0 if 18.25 <= h < 19.0 else 0.0
        lights = 500.0 if 16.5 <= h < 23.5 else 100.0
        # heat pump: 20 min on / 10 min off in the evening; what it missed while shed it runs
        # back-to-back afterwards
        cycle = ((t_s - self.day0_s) % 1800.0) < 1200.0
        hp_wanted = 2200.0 if cycle and 6 <= h % 24 < 23.5 else 0.0
        out = {"base": base + cooking}
        out["lights"] = lights if on("lights") else 0.0
        if on("heat_pump"):
            extra = self.heat_deficit_s > 0 and hp_wanted == 0.0
            out["heat_pump"] = 2200.0 if hp_wanted or extra else 0.0
            if extra:
                self.heat_deficit_s = max(0.0, self.heat_deficit_s - dt)
        else:
            out["heat_pump"] = 0.0
            if hp_wanted:
                self.heat_deficit_s += dt
        for name, d in (("dryer", self.dryer), ("dhw", self.dhw)):
            w = d.demand(t_s) if on(name) else 0.0
            if w:
                d.ran_s += dt
            out[name] = w
        return out

    def wanted(self, t_s: float) -> dict[str, float]:
        """What each switchable load would draw if on (for the shed energy)."""
        h = (t_s - self.day0_s) / 3600.0
        cycle = ((t_s - self.day0_s) % 1800.0) < 1200.0
        return {
            "lights": 500.0 if 16.5 <= h < 23.5 else 100.0,
            "heat_pump": 2200.0 if cycle and 6 <= h % 24 < 23.5 else 0.0,
            "dryer": self.dryer.demand(t_s),
            "dhw": self.dhw.demand(t_s),
        }


TIERS = (
    ShedTier("lights", 1, ("lights",), 500.0),
    ShedTier("heat_pump", 2, ("heat_pump",), 2200.0),
    ShedTier("comfort", 3, ("dryer", "dhw"), 4500.0),
)


@dataclass
class _Store:
    capacity_kwh: float
    soc: float
    max_charge_w: float
    max_discharge_w: float
    eta_c: float
    eta_d: float
    cutoff: float  # the device's own discharge cut-off (programmable for the island source)
    power_w: float = 0.0

    def apply(self, p: float, dt: float) -> float:
        """Run at ``p`` (W, + charge) within limits and SoC; returns the power really run."""
        p = min(max(p, -self.max_discharge_w), self.max_charge_w)
        if p > 0 and self.soc >= 1.0:
            p = 0.0
        if p < 0 and self.soc <= self.cutoff:
            p = 0.0
        de = (p * self.eta_c if p > 0 else p / self.eta_d) * dt / 3.6e6
        self.soc = min(1.0, max(0.0, self.soc + de / self.capacity_kwh))
        self.power_w = p
        return p


def _site() -> Site:
    car = Ev("car", 64.0, 7.4, 7.4, min_soc=0.2, charge_efficiency=0.92)
    battery = HomeBattery(10.0, 5.0, 5.0, reserve_soc=0.2, name="battery")
    return Site(
        grid=Grid(17.0, 10.0),
        evs=(car,),
        battery=battery,
        pv=Pv(peak_kw=5.0),
        peak_tariff=MonthlyPeakTariff.flanders(),
    )


def _forecast(start: datetime, steps: int, day0_s: float) -> Forecast:
    t = start.timestamp() + np.arange(steps) * STEP_S
    h = ((t - day0_s) / 3600.0) % 24
    price = np.where((h >= 17) & (h < 22), 0.38, np.where((h >= 1) & (h < 6), 0.18, 0.27))
    load = np.where((h >= 17) & (h < 23), 2.6, np.where((h >= 7) & (h < 17), 1.6, 0.8))
    pv = np.clip(np.sin((h - 8.5) / 8.0 * math.pi), 0.0, None) * 1.8
    return Forecast(start, price, price * 0.0 + 0.03, load, pv, source="sim")


def _seed_peak(core: ControlCore, at: datetime, kw: float) -> None:
    """An earlier quarter of the month at ``kw`` (what the meter saw before the run)."""
    q0 = at.timestamp() - at.timestamp() % STEP_S
    for i in range(0, STEP_S + 1, 10):
        core.peaks.observe_s(q0 + i, kw * 1000.0 if i < STEP_S else 0.0)


def run_outage(
    *,
    day: str = "2027-01-12",
    outage: tuple[str, str] = ("18:00", "22:00"),
    car_soc: float = 0.7,
    battery_soc: float = 0.6,
    month_peak_kw: float = 6.0,
    start: str = "16:00",
    hours: float = 10.0,
    dt_s: float = 2.0,
    island_limit_w: float = 5000.0,
) -> dict[str, Any]:
    """Run one evening with an outage; return the figures of ``hems sim outage``."""
    tz = ZoneInfo(TZ)
    d = datetime.fromisoformat(day).date()
    day0 = datetime(d.year, d.month, d.day, tzinfo=tz)
    day0_s = day0.timestamp()

    def at(hhmm: str) -> float:
        hh, mm = (int(x) for x in hhmm.split(":"))
        return (day0 + timedelta(hours=hh, minutes=mm)).astimezone(UTC).timestamp()

    t0 = at(start)
    out_a, out_b = at(outage[0]), at(outage[1])
    site = _site()
    island = IslandSettings(
        tiers=TIERS,
        battery_island_floor=0.1,
        ev_mobility_floor={"car": 0.4},
        island_limit_w=island_limit_w,
        expected_outage_h=4.0,
    )
    settings = ControlSettings(
        storage={"car": StorageSettings(min_active_w=1380.0), "battery": StorageSettings(0.0)},
        follower="battery",
    )
    deps = {"car": DepartureSchedule(tz=TZ, weekly={w: (time(7, 30), 0.8) for w in range(7)})}
    core = ControlCore(site, settings, departures=deps, tz=TZ, island=island)
    _seed_peak(core, day0 - timedelta(days=4) + timedelta(hours=19), month_peak_kw)
    start_dt = datetime.fromtimestamp(t0 - t0 % STEP_S, UTC)
    core.set_forecast(start_dt, _forecast(start_dt, 192, day0_s))
    planner = Planner(site)
    gw = GatewaySim(GridSchedule([(out_a, out_b)]), source="battery", limit_w=island_limit_w)
    stores = {
        "car": _Store(64.0, car_soc, 7400.0, 7400.0, 0.92, 0.92, 0.05),
        "battery": _Store(10.0, battery_soc, 5000.0, 5000.0, 0.95, 0.95, 0.05),
    }
    setp = {"car": 0.0, "battery": 0.0}
    switches = {ld: True for t in TIERS for ld in t.loads}
    pv_limit: float | None = None
    house = HouseLoads(day0_s)
    floors_island = {"car": 0.4, "battery": 0.1}
    floors_grid = {"car": 0.2, "battery": 0.2}
    blackout_s = 0.0
    exchange_kwh = 0.0
    shed_kwh = 0.0
    unserved_kwh = 0.0
    breaches = 0
    in_breach: set[str] = set()
    q_kwh: dict[int, float] = {}
    energy_import = 0.0
    meter: MeterObs | None = None
    pv_out = 0.0
    worst_states: list[str] = []
    plans = 0
    overload_s = 0.0
    n = int(hours * 3600 / dt_s)
    for i in range(n):
        t = t0 + i * dt_s
        now = datetime.fromtimestamp(t, UTC)
        gw.step(t)
        demand = house.demand(t, lambda name: switches[name], dt_s)
        load = sum(demand.values())
        if gw.island:
            wanted = house.wanted(t)
            shed_kwh += sum(wanted[k] for k in wanted if not switches[k]) * dt_s / 3.6e6
        h = (t - day0_s) / 3600.0
        pv_avail = max(0.0, math.sin((h - 8.5) / 8.0 * math.pi)) * 3000.0
        gw.load_w = load
        if gw.grid_up:
            meter = MeterObs(now, load - pv_out + sum(s.power_w for s in stores.values()),
                             energy_import_kwh=energy_import, stamp=now)  # fmt: skip
        obs = Observation(
            meter=meter,
            storage={n_: StorageObs(now, True, s.power_w, s.soc, True) for n_, s in stores.items()},
            pv=PvObs(now, True, pv_out, pv_limit),
            grid=gw.status().to_obs(now),
        )
        step: Step = core.observe(now, obs)
        for c in step.commands:
            if c.kind is CommandKind.POWER and c.device in setp:
                setp[c.device] = float(c.value_w or 0.0)
            elif c.kind is CommandKind.PV_LIMIT:
                pv_limit = c.value_w
            elif c.kind is CommandKind.LOAD:
                switches[c.device] = c.value_w is None
            elif c.kind is CommandKind.RESERVE and c.device in stores and c.value_w is not None:
                stores[c.device].cutoff = c.value_w
            elif c.kind is CommandKind.RELEASE and c.device in setp:
                setp[c.device] = 0.0
        if step.plan_request is not None:
            req = step.plan_request
            plan = planner.solve(req.inputs, req.state, req.site)
            core.accept_plan(now, req.seq, plan)
            plans += 1
        pv_eff = pv_avail if pv_limit is None else min(pv_avail, pv_limit)
        if gw.island or not gw.grid_up:
            # the island: the source balances; the others follow their setpoints
            src = stores["battery"]
            others = 0.0
            for name, s in stores.items():
                if name != "battery":
                    others += s.apply(setp[name], dt_s)
            commanded = load - pv_eff + sum(setp.values())
            need = load - pv_eff + others  # what the source must deliver (>0) or absorb (<0)
            dis_room = 0.0 if src.soc <= src.cutoff else src.max_discharge_w
            over = load > gw.limit_w
            overload_s = overload_s + dt_s if over else 0.0
            # a short-time overload rating (battery inverters publish 3–10 s surge ratings)
            tolerated = over and load <= OVERLOAD_FACTOR * gw.limit_w and overload_s <= OVERLOAD_S
            if (
                not gw.island
                or (over and not tolerated)
                or need > dis_room * (OVERLOAD_FACTOR if tolerated else 1.0)
            ):
                blackout_s += dt_s  # the switch has not opened yet, or the island is overloaded
                unserved_kwh += load * dt_s / 3.6e6
                src.apply(min(0.0, max(need, -src.max_charge_w)) if gw.island else 0.0, dt_s)
            else:
                got = (
                    src.apply(-need, dt_s)
                    if need <= src.max_discharge_w
                    else src.apply(-src.max_discharge_w, dt_s)
                )
                if need < 0 and got < -need - 1.0:
                    pv_eff -= -need - got  # frequency shift curtails what cannot be stored
                exchange_kwh += abs(commanded) * dt_s / 3.6e6
            grid_w = 0.0
        else:
            for name, s in stores.items():
                s.apply(setp[name], dt_s)
            grid_w = load - pv_eff + sum(s.power_w for s in stores.values())
            if grid_w > 0:
                energy_import += grid_w * dt_s / 3.6e6
                q = int(t // STEP_S)
                q_kwh[q] = q_kwh.get(q, 0.0) + grid_w * dt_s / 3.6e6
        pv_out = pv_eff
        floors = floors_island if core.island.state in OFF_GRID else floors_grid
        for name, s in stores.items():
            low = s.soc < floors[name] - 0.005 and s.power_w < 0
            if low and name not in in_breach:
                breaches += 1
            if low:
                in_breach.add(name)
            else:
                in_breach.discard(name)
        state = core.island.state.value
        if not worst_states or worst_states[-1] != state:
            worst_states.append(state)
    first_after = int(out_b // STEP_S)
    before = [kwh * 4 for q, kwh in q_kwh.items() if q < int(out_a // STEP_S)]
    after = [kwh * 4 for q, kwh in q_kwh.items() if q >= first_after]
    status = core.status(datetime.fromtimestamp(t0 + n * dt_s, UTC))
    return {
        "outage_h": round((out_b - out_a) / 3600.0, 2),
        "blackout_s": round(blackout_s, 1),
        "reserve_breaches": breaches,
        "grid_exchange_while_islanded_kwh": round(exchange_kwh, 3),
        "shed_kwh": round(shed_kwh, 2),
        "recovery_peak_kw": round(max(after, default=0.0), 2),
        "month_peak_kw_before": round(max([month_peak_kw, *before]), 2),
        "unserved_kwh": round(unserved_kwh, 3),
        "states": worst_states,
        "final_soc": {k: round(s.soc, 3) for k, s in stores.items()},
        "final_month_peak_kw": round(status.month_peak_kw, 2),
        "plans": plans,
    }
