"""Closed-loop backtest runs: controllers against the physical home, tick by tick.

Each fast-loop tick (``step_s``, default 300 s, a divisor of 900) the home reports its plug
changes and meters, the controller writes setpoints, and the home runs until the next tick.
Quarter boundaries are where the control core re-plans (it asks on every clock quarter).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from ..scenario import Scenario, ScenarioError
from ..timegrid import STEP_S
from .controllers import ALL_CONTROLLERS, Controller, Replay, make_controller
from .home import Home
from .kpi import kpis
from .oracle import solve_oracle

_LOGGER = logging.getLogger(__name__)

Progress = Callable[[str, float], None]


def default_controllers(sc: Scenario) -> tuple[str, ...]:
    """The controllers that make sense for a scenario (V2H ablations only with a V2H car)."""
    bidi = any(ev.max_discharge_kw > 0 for ev in sc.evs) or sc.battery is not None
    names = [c for c in ALL_CONTROLLERS if bidi or c not in ("smart_no_v2h",)]
    if len(sc.evs) < 2:
        names.remove("equal_share")
    return tuple(names)


def run_one(
    sc: Scenario, controller: Controller, step_s: float, progress: Progress | None = None
) -> tuple[Home, float]:
    """Drive one controller through the scenario; returns the home and the wall time (s)."""
    if step_s <= 0 or STEP_S % step_s:
        raise ScenarioError(f"step_s must divide {STEP_S} s, got {step_s}")
    home = Home(sc)
    t0 = time.perf_counter()
    t = float(sc.start_s)
    end = float(sc.end_s)
    ticks = 0
    total = (end - t) / step_s
    errors: list[str] = []
    while t < end:
        home.update_plugs(t)
        quarter = (int(t) % STEP_S) == 0
        try:
            controller.tick(t, home, quarter)
        except Exception as err:  # a controller bug must not end the run: count and report it
            if not errors:
                _LOGGER.exception("%s failed at %s", controller.name, t)
            errors.append(f"{type(err).__name__}: {err}")
        home.advance(t, step_s)
        t += step_s
        ticks += 1
        if progress is not None and ticks % 96 == 0:
            progress(controller.name, ticks / total)
    home.errors = errors
    return home, time.perf_counter() - t0


def _planner_counts(planner: Any) -> dict[str, int]:
    """How the MPC's plans were made: real solves, plans that took the last solve's tail
    (``shifted``, see ``ReuseThreshold``) and structures assembled (each a new HiGHS model
    and a cold start; 1-2 per run while the fixed horizon holds)."""
    if planner is None or not hasattr(planner, "builds"):
        return {}
    return {
        "solves": int(planner.solves),
        "shifted": int(planner.shifted),
        "builds": int(planner.builds),
        "cold_retries": int(getattr(planner, "cold_retries", 0)),
    }


def run_backtest(
    sc: Scenario,
    controllers: Sequence[str] | None = None,
    *,
    step_s: float = 300.0,
    oracle: bool = True,
    progress: Progress | None = None,
    keep: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Every controller plus the oracle over the scenario: the ``hems backtest`` JSON."""
    names = tuple(controllers) if controllers else default_controllers(sc)
    result: dict[str, Any] = {"scenario": sc.name, "days": sc.days, "step_s": step_s}
    out: dict[str, Any] = {}
    wall = 0.0
    timing: dict[str, Any] = {}
    cpu = 0.0
    for name in names:
        ctl = make_controller(sc, name, step_s)
        c0 = time.process_time()
        home, secs = run_one(sc, ctl, step_s, progress)
        cpu_s = time.process_time() - c0
        out[name] = kpis(sc, home, ctl.plan_ms)
        wall += secs
        cpu += cpu_s
        if hasattr(ctl, "forecast_ms"):
            timing[name] = {
                "wall_s": round(secs, 2),
                "cpu_s": round(cpu_s, 2),
                "plan_s": round(sum(ctl.plan_ms) / 1000.0, 2),
                "forecast_s": round(sum(ctl.forecast_ms) / 1000.0, 2),
                "plans": len(ctl.plan_ms),
                **_planner_counts(getattr(ctl, "planner", None)),
            }
        if keep is not None:
            keep[name] = (home, ctl)
    result["controllers"] = out
    if oracle:
        t0 = time.perf_counter()
        schedule = solve_oracle(sc)
        solve_s = time.perf_counter() - t0
        ctl = Replay(sc, "oracle", schedule)
        home, _ = run_one(sc, ctl, step_s)
        result["oracle"] = kpis(sc, home, [solve_s * 1000.0])
        if keep is not None:
            keep["oracle"] = (home, ctl)
    result["home_days_per_s"] = round(sc.days * len(names) / wall, 3) if wall else None
    # Per second of this process's CPU: what one core does, whatever else the machine runs.
    result["home_days_per_cpu_s"] = round(sc.days * len(names) / cpu, 3) if cpu else None
    result["timing"] = timing
    return result
