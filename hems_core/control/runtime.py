"""The asyncio runtime: binds the sans-IO :class:`~hems_core.control.core.ControlCore` to drivers.

It holds no decisions. Per tick it reads every device (concurrently, one lock per device so a
read never interleaves with a write on the same connection), turns the reads into an
:class:`~hems_core.control.types.Observation`, calls the core, writes the commands it returns
(each device's writes serialised, devices in parallel) and hands plan requests to a solver in
an executor. Solves are coalesced: while one runs, only the newest request waits; the core
itself refuses a plan that answers a superseded request. :meth:`Runtime.close` leaves every
device in its safe state (power 0, control handed back, PV limit lifted).

Time comes from an injectable clock (epoch seconds), so the same runtime runs in real time in
Home Assistant and faster than real time against simulators (the caller drives :meth:`tick`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..devices.clock import Clock
from ..devices.errors import DeviceError
from .core import ControlCore
from .types import (
    Command,
    CommandKind,
    Event,
    GridObs,
    MeterObs,
    Observation,
    PlanRequest,
    PvObs,
    Step,
    StorageObs,
)

_LOGGER = logging.getLogger(__name__)

#: ``solve(request) -> Plan`` (runs in the executor; raise on failure).
Solver = Callable[[PlanRequest], Any]


def planner_solver(planner: Any) -> Solver:
    """A solver around one :class:`~hems_core.optimize.Planner` (warm starts kept)."""

    def solve(req: PlanRequest) -> Any:
        return planner.solve(req.inputs, req.state, req.site)

    return solve


#: Latency histogram: 0.1 ms bins up to 1 s (constant memory over months of uptime).
LATENCY_BIN_S = 1e-4
LATENCY_BINS = 10_000


@dataclass
class LatencyHistogram:
    """Meter reading seen → setpoints written, in real seconds, without keeping every sample."""

    counts: list[int] = field(default_factory=lambda: [0] * (LATENCY_BINS + 1))
    n: int = 0
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        """Count one sample (everything above 1 s lands in the last bin)."""
        self.counts[min(int(seconds / LATENCY_BIN_S), LATENCY_BINS)] += 1
        self.n += 1
        self.max_s = max(self.max_s, seconds)

    def quantile(self, q: float) -> float | None:
        """Upper edge of the bin holding the ``q`` quantile (None without samples)."""
        if self.n == 0:
            return None
        rank = q * (self.n - 1)
        seen = 0
        for i, c in enumerate(self.counts):
            seen += c
            if seen > rank:
                return min((i + 1) * LATENCY_BIN_S, self.max_s)
        return self.max_s


@dataclass
class RuntimeStats:
    """Counters the soak and fault benchmarks read (real seconds for latencies)."""

    ticks: int = 0
    plans_requested: int = 0
    plans_accepted: int = 0
    plans_failed: int = 0
    plans_superseded: int = 0
    writes: int = 0
    write_errors: int = 0
    read_errors: int = 0
    setpoint_latency: LatencyHistogram = field(default_factory=LatencyHistogram)


class _Device:
    """One driver with its lock and its last read."""

    def __init__(self, name: str, driver: Any) -> None:
        self.name = name
        self.driver = driver
        self.lock = asyncio.Lock()
        self.last: StorageObs | PvObs | None = None


class Runtime:
    """Reads, decides (through the core), writes and plans; see the module docstring."""

    def __init__(
        self,
        core: ControlCore,
        *,
        meter: Any,
        storage: Mapping[str, Any],
        inverter: Any | None = None,
        solver: Solver,
        clock: Clock = time.time,
        executor: Executor | None = None,
        on_event: Callable[[Event], None] | None = None,
        read_timeout_s: float = 5.0,
        gateway: Any | None = None,
        load_switches: Mapping[str, Callable[[bool], None]] | None = None,
    ) -> None:
        unknown = set(storage) - set(core.storages)
        if unknown:
            raise ValueError(f"drivers for devices the site does not have: {sorted(unknown)}")
        self.core = core
        self.meter = meter
        self.devices = {n: _Device(n, d) for n, d in storage.items()}
        self.pv = _Device("pv", inverter) if inverter is not None else None
        self.solver = solver
        self.clock = clock
        # One solver thread: solves are serial anyway (coalesced), and a thread pool would give
        # HiGHS a malloc arena per thread, which looks like memory growth for hours.
        self._own_executor = executor is None
        self.executor: Executor = executor or ThreadPoolExecutor(1, thread_name_prefix="hems-plan")
        self.on_event = on_event
        self.read_timeout_s = read_timeout_s
        self.gateway = gateway
        self.load_switches: dict[str, Callable[[bool], None]] = dict(load_switches or {})
        self._grid_obs: GridObs | None = None
        self.stats = RuntimeStats()
        self.events: list[Event] = []
        self._meter_obs: MeterObs | None = None
        self._meter_last: Any = None
        self._meter_seen_perf: float | None = None
        self._solving: asyncio.Task[None] | None = None
        self._pending: PlanRequest | None = None
        self._closed = False

    def now(self) -> datetime:
        """The runtime's clock as an aware UTC datetime."""
        return datetime.fromtimestamp(self.clock(), UTC)

    async def connect(self) -> None:
        """Open every connection a driver keeps (MQTT sessions, the OCPP server, the gateway).

        Modbus drivers connect on their first read; a driver without ``connect`` needs nothing.
        A meter or gateway that cannot connect raises (the caller retries set-up); a wallbox that
        cannot is only logged: it reads as silent and the core keeps it safe until it answers.
        """
        for drv in (self.meter, self.gateway):
            if drv is not None and (conn := getattr(drv, "connect", None)) is not None:
                await conn()
        for dev in [*self.devices.values(), *([self.pv] if self.pv else [])]:
            conn = getattr(dev.driver, "connect", None)
            if conn is None:
                continue
            try:
                await conn()
            except (DeviceError, OSError) as err:
                _LOGGER.warning("%s: not connected yet: %s", dev.name, err)

    async def start(self) -> None:
        """Program device watchdogs to the command TTL where the hardware has one."""
        ttl = self.core.settings.command_ttl_s
        for dev in [*self.devices.values(), *([self.pv] if self.pv else [])]:
            prog = getattr(dev.driver, "program_watchdog", None)
            if prog is None:
                continue
            try:
                async with dev.lock:
                    await prog(ttl)
            except DeviceError as err:
                _LOGGER.warning("%s: watchdog not programmed: %s", dev.name, err)

    # -- one tick ------------------------------------------------------------------------

    async def tick(self) -> Step:
        """Read everything, let the core decide, write the commands, dispatch a plan request."""
        obs = await self.read()
        now = self.now()
        step = self.core.observe(now, obs)
        self.stats.ticks += 1
        await self.apply(step.commands)
        if self._meter_seen_perf is not None and step.commands:
            self.stats.setpoint_latency.add(time.perf_counter() - self._meter_seen_perf)
            self._meter_seen_perf = None
        for ev in step.events:
            self._event(ev)
        if step.plan_request is not None:
            self.request_plan(step.plan_request)
        return step

    async def read(self) -> Observation:
        """One read of the meter and every device (concurrently)."""
        await asyncio.gather(
            self._read_meter(),
            *(self._read_storage(d) for d in self.devices.values()),
            *([self._read_pv(self.pv)] if self.pv is not None else []),
            *([self._read_gateway()] if self.gateway is not None else []),
        )
        storage = {n: d.last for n, d in self.devices.items() if isinstance(d.last, StorageObs)}
        pv = self.pv.last if self.pv is not None and isinstance(self.pv.last, PvObs) else None
        return Observation(meter=self._meter_obs, storage=storage, pv=pv, grid=self._grid_obs)

    async def _read_gateway(self) -> None:
        """The backup gateway's grid report; a failed read leaves the last one to age out."""
        try:
            gw = self.gateway
            assert gw is not None
            r = await asyncio.wait_for(gw.read_status(), self.read_timeout_s)
        except (DeviceError, TimeoutError, OSError) as err:
            self.stats.read_errors += 1
            _LOGGER.debug("gateway: %s", err)
            return
        self._grid_obs = r.to_obs(self.now())

    async def _read_meter(self) -> None:
        try:
            r = await asyncio.wait_for(self.meter.read(), self.read_timeout_s)
        except (DeviceError, TimeoutError) as err:
            self.stats.read_errors += 1
            _LOGGER.debug("meter: %s", err)
            return  # the last observation ages out in the core
        if r is self._meter_last:
            return
        self._meter_last = r
        self._meter_seen_perf = time.perf_counter()
        self._meter_obs = MeterObs(
            at=self.now(),
            power_w=float(r.power_w),
            phase_power_w=tuple(r.phase_power_w),
            phase_current_a=tuple(r.current_a),
            energy_import_kwh=r.energy_import_kwh,
            stamp=r.timestamp,
        )

    async def _read_state(self, dev: _Device) -> Any | None:
        """One ``read_state()`` under the device's lock; None (counted, logged) when it fails."""
        try:
            async with dev.lock:
                return await asyncio.wait_for(dev.driver.read_state(), self.read_timeout_s)
        except (DeviceError, TimeoutError, OSError) as err:
            self.stats.read_errors += 1
            _LOGGER.debug("%s: %s", dev.name, err)
            return None

    async def _read_storage(self, dev: _Device) -> None:
        now = self.now()
        st = await self._read_state(dev)
        if st is None:
            dev.last = StorageObs(at=now, online=False)
            return
        soc_pct = getattr(st, "soc_pct", None)
        dev.last = StorageObs(
            at=now,
            online=True,
            power_w=float(st.power_w),
            soc=None if soc_pct is None else min(1.0, max(0.0, float(soc_pct) / 100.0)),
            plugged=bool(getattr(st, "plugged", True)),
            energy_in_kwh=getattr(st, "energy_in_kwh", None),
            energy_out_kwh=getattr(st, "energy_out_kwh", None),
        )

    async def _read_pv(self, dev: _Device) -> None:
        now = self.now()
        st = await self._read_state(dev)
        if st is None:
            dev.last = PvObs(at=now, online=False)
            return
        rated = getattr(st, "rated_power_w", None)
        pct = getattr(st, "limit_pct", None)
        limit = None if rated is None or pct is None or pct >= 100 else rated * pct / 100.0
        dev.last = PvObs(at=now, online=True, power_w=float(st.ac_power_w), limit_w=limit)

    # -- writes --------------------------------------------------------------------------

    async def apply(self, commands: tuple[Command, ...] | list[Command]) -> None:
        """Write commands: serialised per device, devices in parallel."""
        by_dev: dict[str, list[Command]] = {}
        for c in commands:
            by_dev.setdefault(c.device, []).append(c)
        await asyncio.gather(*(self._write(d, cs) for d, cs in by_dev.items()))

    async def _write(self, name: str, commands: list[Command]) -> None:
        loads = [c for c in commands if c.kind is CommandKind.LOAD]
        for cmd in loads:
            switch = self.load_switches.get(cmd.device)
            if switch is None:
                _LOGGER.warning("%s: no switch configured for this shed-tier load", cmd.device)
                continue
            try:
                switch(cmd.value_w is None)  # value 0: shed (off); None: restore (on)
            except Exception as err:
                self._event(Event(self.now(), "write_failed", f"{cmd.device}: {err}", cmd.device))
        commands = [c for c in commands if c.kind is not CommandKind.LOAD]
        if not commands:
            return
        dev = self.pv if name == "pv" else self.devices.get(name)
        if dev is None or dev.driver is None:
            return
        async with dev.lock:
            for cmd in commands:
                try:
                    await self._write_one(dev, cmd)
                    self.stats.writes += 1
                except (DeviceError, TimeoutError, OSError) as err:
                    self.stats.write_errors += 1
                    self._event(Event(self.now(), "write_failed", f"{name}: {err}", name))

    async def _write_one(self, dev: _Device, cmd: Command) -> None:
        drv = dev.driver
        if cmd.kind is CommandKind.RELEASE:
            await _release(drv, is_pv=dev is self.pv)
        elif cmd.kind is CommandKind.RESERVE:
            prog = getattr(drv, "set_backup_reserve", None)
            if prog is not None and cmd.value_w is not None:
                await asyncio.wait_for(prog(float(cmd.value_w)), self.read_timeout_s)
        elif cmd.kind is CommandKind.PV_LIMIT:
            await asyncio.wait_for(drv.set_power_limit(cmd.value_w), self.read_timeout_s)
        else:
            watts = float(cmd.value_w or 0.0)
            limits = getattr(drv, "limits", None)
            min_w = float(getattr(limits, "min_active_w", 0.0) or 0.0)
            if watts != 0.0 and abs(watts) < min_w:
                watts = 0.0  # below what the box can do: the safe side is off
            await asyncio.wait_for(drv.set_power(watts), self.read_timeout_s)

    # -- planning ------------------------------------------------------------------------

    def request_plan(self, req: PlanRequest) -> None:
        """Solve off the loop; while a solve runs only the newest request waits."""
        self.stats.plans_requested += 1
        if self._solving is not None and not self._solving.done():
            if self._pending is not None:
                self.stats.plans_superseded += 1
            self._pending = req
            return
        self._solving = asyncio.get_running_loop().create_task(self._solve(req))

    async def _solve(self, req: PlanRequest) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                plan = await loop.run_in_executor(self.executor, self.solver, req)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # any solver failure: the core keeps the last plan
                self.stats.plans_failed += 1
                self._event(
                    self.core.plan_failed(self.now(), req.seq, f"{type(err).__name__}: {err}")
                )
            else:
                if self.core.accept_plan(self.now(), req.seq, plan):
                    self.stats.plans_accepted += 1
                else:
                    self.stats.plans_superseded += 1
            nxt, self._pending = self._pending, None
            if nxt is None or self._closed:
                return
            req = nxt

    async def wait_planning(self) -> None:
        """Until no solve is running or waiting (simulations wait here before moving time)."""
        while self._solving is not None and not self._solving.done():
            await asyncio.shield(self._solving)

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, interval_s: float = 1.0) -> None:
        """Real-time loop: a tick every ``interval_s`` seconds until ``stop`` is set."""
        await self.start()
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    await self.tick()
                except Exception:  # one bad tick must never end the loop
                    _LOGGER.exception("control tick failed")
                wait = max(0.0, interval_s - (time.monotonic() - started))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop planning and leave every device safe: power 0, control handed back."""
        if self._closed:
            return
        self._closed = True
        self._pending = None
        if self._solving is not None and not self._solving.done():
            self._solving.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._solving
        for dev in [*self.devices.values(), *([self.pv] if self.pv else [])]:
            try:
                async with dev.lock:
                    await asyncio.wait_for(_release(dev.driver, is_pv=dev is self.pv), 5.0)
            except (DeviceError, TimeoutError, OSError) as err:
                _LOGGER.warning("%s: could not hand control back: %s", dev.name, err)
        if self._own_executor:
            self.executor.shutdown(wait=False, cancel_futures=True)

    def _event(self, ev: Event) -> None:
        self.events.append(ev)
        if len(self.events) > 1000:
            del self.events[:500]
        _LOGGER.info("%s: %s", ev.kind, ev.message)
        if self.on_event is not None:
            self.on_event(ev)


async def _release(driver: Any, *, is_pv: bool) -> None:
    """Hand a device back to its own control (power 0 first for storage)."""
    if is_pv:
        await driver.set_power_limit(None)
    else:
        await driver.set_power(0.0)
    release = getattr(driver, "release", None)
    if release is not None:
        await release()
