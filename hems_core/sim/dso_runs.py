"""Grid-operator and aggregator signals against the real core, simulated without sockets.

One German day (``Europe/Berlin``) with a car on an 11 kW bidirectional box, a home battery, PV
and a house load; the real :class:`ControlCore` and planner at a 1 s step; devices follow a
setpoint one tick after it is written (a wallbox ramps in about a second). Four events:

- ``dim_14a``: §14a EnWG dimming while the owner boosts the car: each controllable device
  (the car's charger, the battery charging) draws at most 4.2 kW; measured: the highest
  per-device draw;
- ``import_cap``: a time-varying import cap (congestion window); measured: site import;
- ``export_cap``: an export cap at midday; measured: site export;
- ``aggregator_setpoint``: a grid-exchange setpoint refreshed every 20 s, then no more; it
  expires 60 s after the last refresh; measured: the distance from the setpoint.

``time_to_comply_s``: from the signal until the measured value is first within the limit
(0.1 kW tolerance; the setpoint within 0.3 kW); ``exceeded_after_compliance_s``: seconds
outside it afterwards (a load step takes the core one tick to answer);
``max_import_kw_during``: the highest measured value from compliance to expiry;
``expired_cleanly``: within 5 s of the expiry no setpoint carries the DSO source, the signal is
gone from the status and the core said so (``grid_signal_expired``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..control.core import ControlCore
from ..control.grid import SignalKind
from ..control.planning import Forecast
from ..control.settings import ControlSettings, StorageSettings
from ..control.types import CommandKind, MeterObs, Observation, PvObs, Source, StorageObs
from ..model import Ev, Grid, HomeBattery, Pv, Site
from ..optimize import Planner
from ..timegrid import STEP_S
from .outage import _Store

TZ = "Europe/Berlin"


@dataclass(frozen=True)
class DsoEvent:
    """One signal: when (local HH:MM), how long, its kind, value and sender."""

    name: str
    kind: SignalKind
    start: str
    minutes: float
    value_w: float
    source: str
    refresh_s: float | None = None  # an aggregator refreshes; the others carry an expiry


EVENTS = (
    DsoEvent("export_cap", SignalKind.EXPORT_CAP, "12:30", 20, 1000.0, "mqtt:dso/export_cap"),
    DsoEvent("dim_14a", SignalKind.DIM_14A, "19:00", 20, 4200.0, "ha:binary_sensor.fnn_steuerbox"),
    DsoEvent("import_cap", SignalKind.IMPORT_CAP, "20:00", 20, 3000.0, "mqtt:dso/import_cap"),
    DsoEvent(
        "aggregator_setpoint", SignalKind.SETPOINT, "21:00", 5, 6000.0, "mqtt:vpp/setpoint", 20.0
    ),
)


def _site() -> Site:
    car = Ev("car", 77.0, 11.0, 11.0, min_soc=0.2)
    battery = HomeBattery(10.0, 5.0, 5.0, reserve_soc=0.1, name="battery")
    return Site(grid=Grid(25.0, 10.0), evs=(car,), battery=battery, pv=Pv(peak_kw=9.0))


def _forecast(start: datetime, steps: int, day0_s: float) -> Forecast:
    t = start.timestamp() + np.arange(steps) * STEP_S
    h = ((t - day0_s) / 3600.0) % 24
    price = np.where((h >= 17) & (h < 21), 0.36, np.where((h >= 10) & (h < 15), 0.22, 0.29))
    load = np.where((h >= 17) & (h < 22), 1.4, 0.6)
    pv = np.clip(np.sin((h - 6.5) / 13.0 * math.pi), 0.0, None) * 7.0
    return Forecast(start, price, np.full(steps, 0.07), load, pv, source="sim")


def run_dso(*, day: str = "2027-04-14", dt_s: float = 1.0) -> dict[str, Any]:
    """Run the day's four events; return the figures of ``hems sim dso``."""
    tz = ZoneInfo(TZ)
    d = datetime.fromisoformat(day).date()
    day0 = datetime(d.year, d.month, d.day, tzinfo=tz)
    day0_s = day0.timestamp()

    def at(hhmm: str) -> float:
        hh, mm = (int(x) for x in hhmm.split(":"))
        return (day0 + timedelta(hours=hh, minutes=mm)).astimezone(UTC).timestamp()

    site = _site()
    settings = ControlSettings(
        storage={"car": StorageSettings(min_active_w=4140.0, phases=(1, 2, 3)),
                 "battery": StorageSettings(min_active_w=0.0)},
        follower="battery",
    )  # fmt: skip
    core = ControlCore(site, settings, tz=TZ)
    planner = Planner(site)
    stores = {
        "car": _Store(77.0, 0.35, 11000.0, 11000.0, 0.92, 0.92, 0.05),
        "battery": _Store(10.0, 0.5, 5000.0, 5000.0, 0.95, 0.95, 0.05),
    }
    setp = {"car": 0.0, "battery": 0.0}
    applied = dict(setp)
    pv_limit: float | None = None
    pv_out = 0.0
    results: list[dict[str, Any]] = []
    # run only around each event (the core keeps its state between windows)
    windows = [(at(e.start) - 600.0, at(e.start) + e.minutes * 60.0 + 300.0, e) for e in EVENTS]
    first = windows[0][0]
    start_dt = datetime.fromtimestamp(first - first % STEP_S, UTC)
    core.set_forecast(start_dt, _forecast(start_dt, 192, day0_s))
    energy_import = 0.0
    for a, b, ev in windows:
        t_on = at(ev.start)
        t_end = t_on + ev.minutes * 60.0
        last_refresh = t_end if ev.refresh_s is None else None
        expires_at: float | None = None
        measured_max = -math.inf
        comply_at: float | None = None
        expired_ok: bool | None = None
        expired_event = False
        exceed_s = 0.0
        n = int((b - a) / dt_s)
        for i in range(n):
            t = a + i * dt_s
            now = datetime.fromtimestamp(t, UTC)
            if ev.name == "dim_14a" and abs(t - (t_on - 300.0)) < dt_s / 2:
                core.start_boost(now, "car", duration=timedelta(minutes=40))
            if ev.name == "import_cap" and abs(t - (t_on - 300.0)) < dt_s / 2:
                core.start_boost(now, "car", duration=timedelta(minutes=30))
            # the signal: set at the start; a refreshing sender repeats until t_end
            if t_on <= t < t_end + 0.5 * dt_s:
                due = abs(t - t_on) < dt_s / 2
                if ev.refresh_s is not None and (t - t_on) % ev.refresh_s < dt_s / 2 and t < t_end:
                    due = True
                    last_refresh = t
                if due:
                    if ev.refresh_s is not None:
                        core.set_grid_signal(now, ev.kind, ev.value_w, source=ev.source)
                        expires_at = t + 60.0
                    else:
                        until = datetime.fromtimestamp(t_end, UTC)
                        core.set_grid_signal(now, ev.kind, ev.value_w, source=ev.source,
                                             until=until)  # fmt: skip
                        expires_at = t_end
            h = (t - day0_s) / 3600.0
            load = 1500.0 if 17 <= h < 22 else 500.0
            load += 900.0 if (t // 300) % 3 == 0 else 0.0  # an appliance cycling
            pv_avail = max(0.0, math.sin((h - 6.5) / 13.0 * math.pi)) * 8000.0
            for name, s in stores.items():
                s.apply(applied[name], dt_s)
            pv_out = pv_avail if pv_limit is None else min(pv_avail, pv_limit)
            grid_w = load - pv_out + sum(s.power_w for s in stores.values())
            if grid_w > 0:
                energy_import += grid_w * dt_s / 3.6e6
            meter = MeterObs(now, grid_w, energy_import_kwh=energy_import, stamp=now)
            obs = Observation(
                meter=meter,
                storage={
                    k: StorageObs(now, True, s.power_w, s.soc, True) for k, s in stores.items()
                },
                pv=PvObs(now, True, pv_out, pv_limit),
            )
            applied = dict(setp)  # what was written last tick takes effect now
            step = core.observe(now, obs)
            for c in step.commands:
                if c.kind is CommandKind.POWER and c.device in setp:
                    setp[c.device] = float(c.value_w or 0.0)
                elif c.kind is CommandKind.PV_LIMIT:
                    pv_limit = c.value_w
            if any(e.kind == "grid_signal_expired" for e in step.events):
                expired_event = True
            if step.plan_request is not None:
                req = step.plan_request
                core.accept_plan(now, req.seq, planner.solve(req.inputs, req.state, req.site))
            active = expires_at is not None and t < expires_at
            measure = _measure(ev.kind, grid_w, stores, ev.value_w)
            if active and t >= t_on:
                ok = measure <= (0.3 if ev.kind is SignalKind.SETPOINT else 0.1) + _limit(ev)
                if ok and comply_at is None:
                    comply_at = t
                elif not ok and comply_at is not None:
                    exceed_s += dt_s  # a load step the core has not answered yet
                if comply_at is not None:
                    measured_max = max(measured_max, _reported(ev.kind, grid_w, stores))
            if expires_at is not None and expired_ok is None and t >= expires_at + 5.0:
                st = core.status(now)
                sources = {dv.source for dv in st.devices.values()}
                gone = all(sg["kind"] != ev.kind.value for sg in st.signals)
                expired_ok = gone and Source.DSO not in sources and expired_event
        del last_refresh
        results.append(
            {
                "name": ev.name,
                "limit_kw": round(ev.value_w / 1000.0, 2),
                "max_import_kw_during": None
                if measured_max == -math.inf
                else round(measured_max / 1000.0, 2),
                "time_to_comply_s": None if comply_at is None else round(comply_at - t_on, 1),
                "expired_cleanly": bool(expired_ok),
                "exceeded_after_compliance_s": exceed_s,
                "measured": _WHAT[ev.kind],
                "source": ev.source,
            }
        )
        # between windows: a boost from this event must not leak into the next
        for name in list(core.boosts):
            core.cancel_boost(datetime.fromtimestamp(b, UTC), name)
    return {"events": results}


_WHAT = {
    SignalKind.DIM_14A: "highest per-device grid draw (kW)",
    SignalKind.IMPORT_CAP: "site import (kW)",
    SignalKind.EXPORT_CAP: "site export (kW)",
    SignalKind.SETPOINT: "site import (kW), held at the setpoint",
}


def _limit(ev: DsoEvent) -> float:
    """The bound the measured value (kW) must stay within."""
    return 0.0 if ev.kind is SignalKind.SETPOINT else ev.value_w / 1000.0


def _measure(kind: SignalKind, grid_w: float, stores: dict[str, _Store], value_w: float) -> float:
    """The quantity (kW) compared with ``_limit``: for a setpoint the distance from it."""
    if kind is SignalKind.SETPOINT:
        return abs(grid_w - value_w) / 1000.0
    return _reported(kind, grid_w, stores) / 1000.0


def _reported(kind: SignalKind, grid_w: float, stores: dict[str, _Store]) -> float:
    f: Callable[[], float] = {
        SignalKind.DIM_14A: lambda: max(max(s.power_w, 0.0) for s in stores.values()),
        SignalKind.IMPORT_CAP: lambda: max(grid_w, 0.0),
        SignalKind.EXPORT_CAP: lambda: max(-grid_w, 0.0),
        SignalKind.SETPOINT: lambda: grid_w,
    }[kind]
    return f()
