"""``hems sim faults``: inject faults into the closed loop and measure how fast it is safe.

Each fault runs in its own fresh :class:`~hems_core.sim.closed_loop.ClosedLoop` (so one fault
cannot hide behind another's recovery), starting at an evening hour where the car discharges
into the house (V2H following the load), after a warm-up that gives the core a plan.

Definitions, judged by the harness from what it injected, never from the core's own flags:

- **unsafe setpoint**: a command the runtime wrote that exceeds the device's limits, or that
  discharges, or charges above the fail-safe charge power, at a time when the newest meter
  reading the core could have seen was older than the meter timeout;
- **time to safe** (simulated s from injection): for meter faults (silent, frozen, broker
  down) until the car is commanded to its safe state *and* its physical power is there; for a
  lost wallbox (connection dropped, Modbus exceptions, the OCPP 2.1 station's websocket dropped)
  until the core has stopped commanding it and told the UI (the box itself then relies on its
  own watchdog — for OCPP the safe default profile programmed on the station — reported
  separately as ``device_stopped_s``); for an unreachable inverter until the core stops
  limiting it; for a solver failure until the tick after the failed solve runs on the previous
  plan or the fallback;
- **recovered**: after the fault is cleared, the core is out of the fail-safe state, the
  device answers again and (solver) a new plan is in force.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import time as dtime
from datetime import timedelta
from typing import Any

from hems_core.control.types import Command, CommandKind

from .closed_loop import CAR, ClosedLoop, LoopOptions

_LOGGER = logging.getLogger(__name__)

Inject = Callable[[ClosedLoop], Awaitable[None]]


@dataclass(frozen=True)
class Fault:
    """One fault: how to inject it, how to clear it, what safe means for it."""

    name: str
    inject: Inject
    clear: Inject
    kind: str  # "meter", "device", "inverter" or "solver"
    #: the car's box for this run (LoopOptions.wallbox)
    wallbox: str = "quasar"


async def _meter_silent(loop: ClosedLoop) -> None:
    loop.runner.publishers["p1"].meter.faults.drop_connections = True


async def _meter_silent_clear(loop: ClosedLoop) -> None:
    loop.runner.publishers["p1"].meter.faults.drop_connections = False


async def _meter_frozen(loop: ClosedLoop) -> None:
    loop.runner.publishers["p1"].meter.faults.frozen = True


async def _meter_frozen_clear(loop: ClosedLoop) -> None:
    loop.runner.publishers["p1"].meter.faults.frozen = False


async def _wb_drop(loop: ClosedLoop) -> None:
    loop.runner.servers[CAR].faults.drop_connections = True


async def _wb_drop_clear(loop: ClosedLoop) -> None:
    loop.runner.servers[CAR].faults.drop_connections = False


async def _wb_exc(loop: ClosedLoop) -> None:
    loop.runner.servers[CAR].faults.exception_code = 4


async def _wb_exc_clear(loop: ClosedLoop) -> None:
    loop.runner.servers[CAR].faults.exception_code = None


async def _ws_drop(loop: ClosedLoop) -> None:
    loop.ocpp.station.faults.link_down = True  # the OCPP 2.1 station loses our CSMS


async def _ws_drop_clear(loop: ClosedLoop) -> None:
    loop.ocpp.station.faults.link_down = False


async def _inv_down(loop: ClosedLoop) -> None:
    server = loop.runner.servers["pv"]
    server.faults.refuse_connections = True
    await server.apply_faults()


async def _inv_up(loop: ClosedLoop) -> None:
    server = loop.runner.servers["pv"]
    server.faults.refuse_connections = False
    await server.apply_faults()


async def _broker_down(loop: ClosedLoop) -> None:
    assert loop.runner.broker is not None
    await asyncio.to_thread(loop.runner.broker.stop)


async def _broker_up(loop: ClosedLoop) -> None:
    assert loop.runner.broker is not None
    await asyncio.to_thread(loop.runner.broker.start)


async def _solver_fail(loop: ClosedLoop) -> None:
    loop.solver_fails = 1_000_000
    loop.core.set_forecast(loop._now(), loop.forecast())  # a new trigger: the solve fails


async def _solver_ok(loop: ClosedLoop) -> None:
    loop.solver_fails = 0


FAULTS: tuple[Fault, ...] = (
    Fault("meter_silent", _meter_silent, _meter_silent_clear, "meter"),
    Fault("meter_frozen", _meter_frozen, _meter_frozen_clear, "meter"),
    Fault("wallbox_connection_dropped", _wb_drop, _wb_drop_clear, "device"),
    Fault("wallbox_modbus_exceptions", _wb_exc, _wb_exc_clear, "device"),
    Fault("ocpp_websocket_dropped", _ws_drop, _ws_drop_clear, "device", wallbox="ocpp2.1"),
    Fault("inverter_unreachable", _inv_down, _inv_up, "inverter"),
    Fault("mqtt_broker_down", _broker_down, _broker_up, "meter"),
    Fault("solver_failure", _solver_fail, _solver_ok, "solver"),
)


async def _busy_car(loop: ClosedLoop, search_h: float = 4.0) -> None:
    """Inject while the car works: wait for V2H discharge, else boost it to full charge."""
    end = loop.clock() + search_h * 3600.0
    while loop.clock() < end:
        if loop.wallbox_sim.ev.power_w < -1000.0:
            return
        await loop.step()
    loop.core.start_boost(loop._now(), CAR, duration=timedelta(hours=2))
    for _ in range(30):
        await loop.step()


async def run_fault(fault: Fault, *, hold_s: float = 60.0, warmup_h: float = 2.0) -> dict[str, Any]:
    """One fault in a fresh closed loop; the figures of the module docstring."""
    opts = LoopOptions(days=1.0, depart=dtime(7, 30), wallbox=fault.wallbox)
    async with ClosedLoop(opts) as loop:
        await loop.run(warmup_h * 3600.0)
        await _busy_car(loop)
        cfg = loop.core.settings
        limits = loop.core.storages[CAR]
        t_inj = loop.clock()
        before_w = loop.wallbox_sim.ev.power_w
        plan_seq0 = loop.core.plan.seq if loop.core.plan is not None else -1
        last_reading = [t_inj]  # the newest meter reading that reached the core (sim time)
        unsafe = 0
        writes: list[tuple[float, Command]] = []

        meter_received = loop.meter.received

        def judge(now_s: float, commands: tuple[Command, ...]) -> None:
            nonlocal unsafe, meter_received
            r = loop.meter.received  # what reached the runtime before this tick's decision
            if r != meter_received and not loop.runner.publishers["p1"].meter.faults.frozen:
                last_reading[0] = now_s
            meter_received = r
            for c in commands:
                if c.device != CAR or c.kind is not CommandKind.POWER:
                    continue
                writes.append((now_s, c))
                v = c.value_w or 0.0
                if v > limits.max_charge_w + 1e-6 or v < -limits.max_discharge_w - 1e-6:
                    unsafe += 1
                stale = now_s - last_reading[0] > cfg.meter_timeout_s
                if stale and (v < 0 or v > cfg.safe_charge_w + 1e-6):
                    unsafe += 1

        await fault.inject(loop)
        safe_at: float | None = None
        stopped_at: float | None = None
        failed_solves0 = loop.runtime.stats.plans_failed
        while loop.clock() - t_inj < hold_s:
            await _safe_step(loop, judge)
            now = loop.clock()
            if safe_at is None and _is_safe(loop, fault, failed_solves0):
                safe_at = now
            if stopped_at is None and abs(loop.wallbox_sim.ev.power_w) < 50.0:
                stopped_at = now
        await fault.clear(loop)
        t_clear = loop.clock()
        recovered_at: float | None = None
        real_deadline = time.monotonic() + 60.0
        while loop.clock() - t_clear < 1800.0 and time.monotonic() < real_deadline:
            await _safe_step(loop, judge)
            if _recovered(loop, fault, plan_seq0):
                recovered_at = loop.clock()
                break
        return {
            "name": fault.name,
            "time_to_safe_s": None if safe_at is None else round(safe_at - t_inj, 1),
            "recovered": recovered_at is not None,
            "recovery_s": None if recovered_at is None else round(recovered_at - t_clear, 1),
            "unsafe_setpoints": unsafe,
            "car_power_before_w": round(before_w, 1),
            "device_stopped_s": None if stopped_at is None else round(stopped_at - t_inj, 1),
            "car_commands_during_fault": len(writes),
        }


async def _safe_step(loop: ClosedLoop, judge: Callable[[float, tuple[Command, ...]], None]) -> None:
    try:
        await loop.step(judge)
    except Exception:  # e.g. the P1 publisher without its broker: the loop goes on
        loop.step_errors += 1
        _LOGGER.debug("step failed during a fault", exc_info=True)


def _is_safe(loop: ClosedLoop, fault: Fault, failed0: int) -> bool:
    st = loop.core.status(loop._now())
    car = st.devices.get(CAR)
    if fault.kind == "meter":
        commanded = car is not None and (car.value_w or 0.0) <= loop.core.settings.safe_charge_w
        commanded = commanded and (car is None or (car.value_w or 0.0) >= 0.0)
        return st.failsafe and commanded and loop.wallbox_sim.ev.power_w > -50.0
    if fault.kind == "device":
        return CAR in st.lost_devices
    if fault.kind == "inverter":
        pv = loop.runtime.pv
        return pv is not None and pv.last is not None and not pv.last.online
    return loop.runtime.stats.plans_failed > failed0 and car is not None


def _recovered(loop: ClosedLoop, fault: Fault, plan_seq0: int) -> bool:
    st = loop.core.status(loop._now())
    if st.failsafe or st.lost_devices:
        return False
    if fault.kind == "inverter":
        pv = loop.runtime.pv
        return pv is not None and pv.last is not None and pv.last.online
    if fault.kind == "solver":
        return loop.core.plan is not None and loop.core.plan.seq > plan_seq0
    return True


async def run_faults(names: list[str] | None = None) -> dict[str, Any]:
    """Every fault (or the named ones), one after the other."""
    chosen = [f for f in FAULTS if names is None or f.name in names]
    unknown = set(names or ()) - {f.name for f in FAULTS}
    if unknown:
        raise ValueError(f"unknown faults {sorted(unknown)}; known: {[f.name for f in FAULTS]}")
    return {"faults": [await run_fault(f) for f in chosen]}
