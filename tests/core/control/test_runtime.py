"""The asyncio runtime around the real core, drivers and simulators (loopback)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from hems_core.control.runtime import planner_solver
from hems_core.control.types import PlanRequest
from hems_core.optimize import Planner
from hems_core.sim.broker import MosquittoBroker
from hems_core.sim.closed_loop import CAR, ClosedLoop, LoopOptions


async def test_a_newer_request_supersedes_a_stale_solve(mosquitto: MosquittoBroker) -> None:
    async with ClosedLoop(LoopOptions(days=0.2, meter_interval_s=2.0)) as loop:
        await loop.run(60.0)
        gate = threading.Event()
        solve = planner_solver(Planner(loop.site()))
        seen: list[int] = []

        def held(req: PlanRequest) -> Any:
            seen.append(req.seq)
            gate.wait(30.0)  # the first solve is slow; two more triggers arrive meanwhile
            return solve(req)

        loop.runtime.solver = held
        before = loop.runtime.stats.plans_superseded
        for _ in range(3):
            loop.core.set_forecast(loop._now(), loop.forecast())
            await loop.runtime.tick()
        newest = loop.core._seq
        gate.set()
        await loop.runtime.wait_planning()
        assert seen == [newest - 2, newest]  # the middle request was dropped before solving
        assert loop.core.plan is not None and loop.core.plan.seq == newest
        assert loop.runtime.stats.plans_superseded - before == 2  # one dropped, one refused


async def test_a_solver_exception_never_stops_the_loop(mosquitto: MosquittoBroker) -> None:
    async with ClosedLoop(LoopOptions(days=0.2, meter_interval_s=2.0)) as loop:
        await loop.run(60.0)
        plan_before = loop.core.plan
        loop.solver_fails = 5
        loop.core.set_forecast(loop._now(), loop.forecast())
        await loop.run(20.0)
        assert loop.runtime.stats.plans_failed >= 1
        assert loop.core.plan is plan_before  # the last good plan stays in force
        assert any(e.kind == "plan_failed" for e in loop.runtime.events)
        assert loop.core.status(loop._now()).devices[CAR] is not None


async def test_close_leaves_the_box_at_zero_power(mosquitto: MosquittoBroker) -> None:
    loop = ClosedLoop(LoopOptions(days=0.2, meter_interval_s=2.0))
    await loop.start()
    try:
        loop.core.start_boost(loop._now(), CAR)
        await loop.run(20.0)
        assert loop.wallbox_sim.ev.power_w > 5000.0
        await loop.runtime.close()
        for _ in range(5):  # the physics after the hand-back: the box ramps to zero
            loop.clock.advance(1.0)
            loop.wallbox_sim.advance()
        assert abs(loop.wallbox_sim.ev.power_w) < 1.0
        await asyncio.sleep(0)
    finally:
        await loop.stop()
