"""The real controller in closed loop with the device simulators, over real protocols.

:class:`ClosedLoop` starts the simulators of :class:`~hems_core.sim.runner.SimRunner`
(a Quasar-style Modbus TCP wallbox with a physical car behind it, a SunSpec inverter, a P1
meter publishing DSMR telegrams on a real mosquitto broker), connects the real drivers to
them on loopback, and runs :class:`~hems_core.control.runtime.Runtime` around the real
:class:`~hems_core.control.core.ControlCore` and planner. Time is a manual clock moved in
lockstep one meter interval at a time, so a day runs in minutes of real time while every
byte still crosses a socket. ``hems sim soak`` and ``hems sim faults`` are built on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hems_core.control.core import ControlCore
from hems_core.control.departures import DepartureSchedule
from hems_core.control.planning import Forecast
from hems_core.control.runtime import Runtime, planner_solver
from hems_core.control.settings import ControlSettings, StorageSettings
from hems_core.control.types import Command, CommandKind, PlanRequest, Source
from hems_core.devices.clock import ManualClock
from hems_core.devices.errors import DeviceError
from hems_core.devices.modbus_client import ModbusTcpClient
from hems_core.devices.mqtt_client import MqttClient
from hems_core.devices.p1_mqtt import MqttMeter, RawTelegramDecoder
from hems_core.devices.sunspec import SunSpecInverter
from hems_core.devices.wallboxes import quasar
from hems_core.model import Ev, Grid, MonthlyPeakTariff, Pv, Site
from hems_core.optimize import Planner
from hems_core.scenario import Window, load_window
from hems_core.timegrid import STEP_S

from .house import HouseLoad
from .runner import SimRunner

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "nl_v2h_home"
CAR = "car"


class _SeriesPv:
    """PV available power from the scenario's quarter series (what the inverter could make)."""

    def __init__(self, start: float, pv_kw: list[float]) -> None:
        self.start = start
        self.pv_w = [v * 1000.0 for v in pv_kw]

    def available_w(self, t: float) -> float:
        q = int((t - self.start) // STEP_S)
        return self.pv_w[q] if 0 <= q < len(self.pv_w) else 0.0


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


@dataclass
class LoopOptions:
    """What the closed loop runs (see the module docstring)."""

    scenario: Path = DEFAULT_SCENARIO
    days: float = 1.0
    meter_interval_s: float = 2.0
    fuse_a: float = 25.0
    capacity_tariff: bool = True
    seed: int = 7
    trip_kwh: float = 9.0
    depart: dtime = dtime(7, 30)
    arrive: dtime = dtime(17, 30)
    target_soc: float = 0.8
    #: SoC when the car first comes home (None: the scenario's)
    start_soc: float | None = 0.7
    #: scales the scenario's household profile (1.6: about 14 kWh a day, a family home)
    load_scale: float = 1.6
    settings: ControlSettings | None = None
    #: an MQTT broker already running (host, port); None: spawn mosquitto for the run
    mqtt: tuple[str, int] | None = None
    #: the car's box: "quasar" (Modbus TCP) or an OCPP station "ocpp1.6" / "ocpp2.0.1" / "ocpp2.1"
    wallbox: str = "quasar"


@dataclass
class Tally:
    """What a run measured (simulated seconds unless named otherwise)."""

    ticks: int = 0
    quarters: int = 0
    missed_plans: int = 0
    fuse_breaches: int = 0
    peak_breaches: int = 0
    #: ticks where the car kept exporting after one control period to react (a load drop lands
    #: between two ticks, so the first tick of an episode is the loop's latency, not a decision)
    storage_export_ticks: int = 0
    #: export episodes, each begun by the house's load dropping or PV rising under the car
    storage_export_episodes: int = 0
    exporting: bool = False
    v2h_ticks: int = 0
    v2h_import_w_sum: float = 0.0
    commands: list[tuple[float, Command]] = field(default_factory=list)
    departures: list[tuple[datetime, float, float]] = field(default_factory=list)


class ClosedLoop:
    """Simulators + drivers + runtime + core in lockstep (``async with ClosedLoop(...)``)."""

    def __init__(self, opts: LoopOptions | None = None) -> None:
        self.opts = opts = opts or LoopOptions()
        hours = opts.days * 24 + 48
        self.sc: Window = load_window(opts.scenario, hours=hours)
        self.tz = ZoneInfo(str(self.sc.timezone))
        self.t0 = self.sc.start.timestamp()
        self.clock = ManualClock(self.t0)
        profile = [float(v) * opts.load_scale for v in self.sc.load_kw]
        self.house = HouseLoad(int(self.t0), profile, seed=opts.seed)
        self.tally = Tally()
        self.solver_fails = 0  # > 0: the next solves raise (fault injection)
        self.step_errors = 0
        self._plugged = True
        self._quarter: int | None = None
        self._quarter_import_kwh = 0.0
        self._quarter_base_kwh = 0.0
        self._quarter_budget_kw = float("inf")
        self._quarter_first_seq: int | None = None
        self.runner: SimRunner
        self.runtime: Runtime
        self.core: ControlCore

    # -- set-up ----------------------------------------------------------------------------

    def _plug_schedule(self) -> list[tuple[float, float]]:
        """Plugged intervals (s since start): away from ``depart`` to ``arrive`` every day."""
        out: list[tuple[float, float]] = []
        start_local = self.sc.start.astimezone(self.tz)
        day = start_local.date()
        plugged_from = 0.0
        for _ in range(int(self.opts.days) + 3):
            dep = datetime.combine(day, self.opts.depart, self.tz).timestamp() - self.t0
            arr = datetime.combine(day, self.opts.arrive, self.tz).timestamp() - self.t0
            if dep > plugged_from:
                out.append((plugged_from, dep))
                plugged_from = arr
            day += timedelta(days=1)
        out.append((plugged_from, 1e12))
        return out

    def site(self) -> Site:
        """The simulated home as the optimiser sees it."""
        ev = self.sc.ev
        return Site(
            grid=Grid(import_limit_kw=17.0, export_limit_kw=17.0),
            evs=(
                Ev(
                    name=CAR,
                    capacity_kwh=ev.capacity_kwh,
                    max_charge_kw=ev.max_charge_kw,
                    max_discharge_kw=ev.max_discharge_kw,
                    min_soc=ev.min_soc,
                    charge_efficiency=ev.efficiency,
                    discharge_efficiency=ev.efficiency,
                ),
            ),
            pv=Pv(),
            peak_tariff=MonthlyPeakTariff.flanders(53.39) if self.opts.capacity_tariff else None,
        )

    def forecast(self) -> Forecast:
        """Prices and a perfect quarter-mean forecast of load and PV."""
        sc = self.sc
        return Forecast(
            start=sc.start, import_price=sc.import_eur_kwh, export_price=sc.export_eur_kwh,
            load_kw=sc.load_kw * self.opts.load_scale, pv_kw=sc.pv_kw, source="prices",
        )  # fmt: skip

    async def __aenter__(self) -> ClosedLoop:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start the simulators, connect the drivers, build core and runtime."""
        ev = self.sc.ev
        soc0 = ev.soc if self.opts.start_soc is None else self.opts.start_soc
        spec: dict[str, Any] = {
            "start": self.sc.start.isoformat(),
            "mqtt": (
                {"spawn": True}
                if self.opts.mqtt is None
                else {"host": self.opts.mqtt[0], "port": self.opts.mqtt[1], "spawn": False}
            ),
            "wallboxes": [{
                "name": CAR, "type": "quasar",
                "ev": {
                    "capacity_kwh": ev.capacity_kwh,
                    "soc_pct": 100.0 * soc0,
                    "min_soc_pct": 5.0, "max_charge_w": ev.max_charge_kw * 1000.0,
                    "max_discharge_w": ev.max_discharge_kw * 1000.0,
                    "eta_charge": ev.efficiency, "eta_discharge": ev.efficiency,
                    "plug_schedule": self._plug_schedule(),
                },
            }],
            "inverters": [{"name": "pv", "peak_w": 5000.0, "rated_w": 5000.0}],
            "meters": [{
                "name": "p1", "flavour": "dsmr5", "telegram_topic": "p1/telegram",
                "dsmr_reader_prefix": None, "json_topic": None,
            }],
        }  # fmt: skip
        self.runner = runner = SimRunner(spec, clock=self.clock)
        endpoints = await runner.start()
        pv_series = _SeriesPv(self.t0, [float(v) for v in self.sc.pv_kw])
        runner.inverters["pv"].profile = pv_series  # type: ignore[assignment]
        runner.publishers["p1"].meter.house.load = self.house.load_w
        self.wallbox_sim = runner.modbus_sims[CAR]
        host = "127.0.0.1"
        wb_port = int(endpoints["wallboxes"][CAR]["port"])
        pv_port = int(endpoints["inverters"]["pv"]["port"])
        self.wallbox: Any = quasar(ModbusTcpClient(host, wb_port, timeout=0.5, clock=self.clock))
        self.ocpp: Any = None
        if self.opts.wallbox != "quasar":  # the same car, on an OCPP station behind our CSMS
            from .ocpp_cli import attach_closed_loop

            self.ocpp = await attach_closed_loop(self, self.opts.wallbox)
            self.wallbox = self.ocpp.wallbox
        self.inverter = SunSpecInverter(
            ModbusTcpClient(host, pv_port, timeout=0.5, clock=self.clock)
        )
        mqtt = endpoints["mqtt"]
        self.mqtt = MqttClient(mqtt["host"], int(mqtt["port"]))
        self._arrived = asyncio.Event()
        self.mqtt.subscribe("p1/telegram", lambda _t, _p: self._arrived.set())
        self.meter = MqttMeter(self.mqtt, RawTelegramDecoder(), stale_after=6.0, clock=self.clock)
        await self.meter.connect()
        settings = self.opts.settings or ControlSettings(
            fuse_a=self.opts.fuse_a,
            storage={CAR: StorageSettings(min_active_w=1380.0, phases=(1, 2, 3), arrival_soc=0.5)},
        )
        weekly = dict.fromkeys(range(7), (self.opts.depart, self.opts.target_soc))
        sched = DepartureSchedule(weekly=weekly, tz=str(self.sc.timezone))
        self.core = ControlCore(
            self.site(), settings, departures={CAR: sched}, tz=str(self.sc.timezone)
        )
        self.core.set_forecast(self._now(), self.forecast())
        planner = Planner(self.site())
        inner = planner_solver(planner)

        def solve(req: PlanRequest) -> Any:
            if self.solver_fails > 0:
                self.solver_fails -= 1
                raise RuntimeError("injected solver failure")
            return inner(req)

        self.runtime = Runtime(
            self.core, meter=self.meter, storage={CAR: self.wallbox}, inverter=self.inverter,
            solver=solve, clock=self.clock,
        )  # fmt: skip
        await self.runtime.start()

    async def stop(self) -> None:
        """Hand control back, then stop drivers, simulators and the broker."""
        try:
            await self.runtime.close()
        finally:
            for closer in (self.wallbox.close, self.inverter.close, self.meter.close):
                with contextlib.suppress(Exception):  # a dead connection: nothing left to do
                    await closer()
            if self.ocpp is not None:
                await self.ocpp.close()
            await self.runner.stop()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # -- one step ----------------------------------------------------------------------------

    async def step(
        self, on_commands: Callable[[float, tuple[Command, ...]], None] | None = None
    ) -> None:
        """Advance one meter interval: physics, P1 telegram, one control tick, pending solves."""
        dt = self.opts.meter_interval_s
        self.clock.advance(dt)
        self._trip_energy()
        self._arrived.clear()
        if self.ocpp is not None:
            await self.ocpp.tick()
        try:
            await self.runner.tick()
        except DeviceError:  # the P1 gateway lost its broker: the meter goes silent
            self.step_errors += 1
        pub = self.runner.publishers["p1"]
        if not pub.meter.faults.drop_connections and self.mqtt.connected:
            with contextlib.suppress(TimeoutError):  # lost: the core judges the meter's age
                await asyncio.wait_for(self._arrived.wait(), 2.0)
        result = await self.runtime.tick()
        await self.runtime.wait_planning()
        now_s = self.clock()
        for c in result.commands:
            self.tally.commands.append((now_s, c))
        if len(self.tally.commands) > 2_000:
            del self.tally.commands[:1_000]
        sims = (self.wallbox_sim, self.runner.inverters["pv"])
        logs = [
            getattr(sim, n)
            for sim in sims
            for n in ("writes", "write_functions")
            if hasattr(sim, n)
        ]
        for log in logs:
            if len(log) > 1000:  # the simulators' own write logs are for tests, not for days
                del log[:-100]
        if on_commands is not None:
            on_commands(now_s, result.commands)
        self._measure(dt)

    def _trip_energy(self) -> None:
        """A car that comes back has used ``trip_kwh`` on the road."""
        ev = self.wallbox_sim.ev
        plugged = ev.plugged_at(self.clock())
        if plugged and not self._plugged:
            floor = ev.params.capacity_kwh * ev.params.min_soc_pct / 100.0
            ev.energy_kwh = max(floor, ev.energy_kwh - self.opts.trip_kwh)
        if not plugged and self._plugged:
            self.tally.departures.append((self._now(), ev.soc_pct / 100.0, self.opts.target_soc))
        self._plugged = plugged

    def _measure(self, dt: float) -> None:
        t = self.tally
        t.ticks += 1
        meter = self.runner.publishers["p1"].meter
        grid_w = meter.power_w
        car_w = self.wallbox_sim.ev.power_w
        base_w = grid_w - car_w
        phase_a = max(grid_w, 0.0) / 3 / 230.0
        if phase_a > self.opts.fuse_a + 0.5:
            t.fuse_breaches += 1
        if car_w < -50.0 and base_w + max(car_w, 0.0) < -car_w - 50.0 and grid_w < -100.0:
            # the car is discharging while the house exports
            if t.exporting:
                t.storage_export_ticks += 1
            else:
                t.storage_export_episodes += 1
            t.exporting = True
        else:
            t.exporting = False
        sent = self.core.status(self._now()).devices.get(CAR)
        soc = self.wallbox_sim.ev.soc_pct / 100.0
        if (
            sent is not None
            and sent.kind is CommandKind.POWER
            and (sent.value_w or 0.0) < 0
            and sent.source in (Source.PLAN, Source.PEAK, Source.EXPORT)
            and 1380.0 <= base_w <= self.sc.ev.max_discharge_kw * 1000.0
            and soc > self.sc.ev.min_soc + 0.02
        ):
            t.v2h_ticks += 1
            t.v2h_import_w_sum += max(grid_w, 0.0)
        now_s = self.clock()
        q = int(now_s - dt) // STEP_S
        if self._quarter is None:
            self._quarter = q
        if q != self._quarter:
            self._close_quarter()
            self._quarter = q
        self._quarter_import_kwh += max(grid_w, 0.0) * dt / 3.6e6
        self._quarter_base_kwh += max(base_w, 0.0) * dt / 3.6e6
        plan = self.core.plan
        if plan is not None:
            k = plan.step_at(now_s - dt)
            if k is not None:
                self._quarter_budget_kw = min(self._quarter_budget_kw, plan.month_peak_kw(k))
            if self._quarter_first_seq is None:
                self._quarter_first_seq = plan.seq

    def _close_quarter(self) -> None:
        t = self.tally
        t.quarters += 1
        avg_kw = self._quarter_import_kwh * 4.0
        budget = max(self._quarter_budget_kw, self.core.peaks.month_peak_kw)
        base_kw = self._quarter_base_kwh * 4.0
        if avg_kw > budget + 0.05 and base_kw <= budget:
            t.peak_breaches += 1  # avoidable: the house alone stayed within the budget
        self._quarter_import_kwh = self._quarter_base_kwh = 0.0
        self._quarter_budget_kw = float("inf")

    async def run(self, seconds: float) -> None:
        """Step until ``seconds`` of simulated time have passed."""
        end = self.clock() + seconds
        while self.clock() < end - 1e-9:
            await self.step()


async def soak(days: float, *, meter_interval_s: float = 2.0, seed: int = 7) -> dict[str, Any]:
    """Run ``days`` of simulated time and report the soak figures (see ``hems sim soak``)."""
    opts = LoopOptions(days=days, meter_interval_s=meter_interval_s, seed=seed)
    async with ClosedLoop(opts) as loop:
        warm = 3 * 3600.0  # first plans, first quarters, caches: then measure growth
        await loop.run(warm)
        rss0 = _rss_bytes()
        plans0 = loop.runtime.stats.plans_accepted
        quarters_seen: dict[int, int] = {}
        end = loop.clock() + days * 86400.0 - warm
        wall0 = time.perf_counter()
        while loop.clock() < end - 1e-9:
            await loop.step()
            q = int(loop.clock()) // STEP_S
            seq = loop.core.plan.seq if loop.core.plan is not None else -1
            quarters_seen.setdefault(q, seq)
            quarters_seen[q] = max(quarters_seen[q], seq)
        rss1 = _rss_bytes()
        stats = loop.runtime.stats
        q95 = stats.setpoint_latency.quantile(0.95)
        p95 = None if q95 is None else q95 * 1000.0
        # a quarter is missed when no plan made after its start was ever in force during it
        seqs = [quarters_seen[q] for q in sorted(quarters_seen)]
        missed = sum(1 for a, b in itertools.pairwise(seqs) if b <= a)
        t = loop.tally
        return {
            "days": days,
            "plans": stats.plans_accepted - plans0,
            "missed_plans": missed,
            "rss_growth_pct": round(100.0 * (rss1 - rss0) / rss0, 2),
            "setpoint_latency_ms_p95": None if p95 is None else round(p95, 2),
            "v2h_residual_import_w_avg": (
                round(t.v2h_import_w_sum / t.v2h_ticks, 1) if t.v2h_ticks else None
            ),
            "peak_budget_breaches": t.peak_breaches,
            "fuse_breaches": t.fuse_breaches,
            "storage_export_ticks": t.storage_export_ticks,
            "storage_export_episodes": t.storage_export_episodes,
            "v2h_ticks": t.v2h_ticks,
            "ticks": t.ticks,
            "departures": [
                {"at": d.isoformat(), "soc": round(s, 3), "target": g} for d, s, g in t.departures
            ],
            "plan_failures": stats.plans_failed,
            "wall_s": round(time.perf_counter() - wall0, 1),
        }
