"""The solver benchmark behind ``hems bench solver`` (receding-horizon re-solves)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import datetime
from typing import Any

import numpy as np

from ..model import Site
from ..scenario import DEFAULT_START, case_a_site, case_b_site, case_state, receding_inputs
from .backends import SolverError, available_backends, default_backend
from .inputs import Inputs, State
from .plan import Plan
from .planner import Planner

_COLD = """
import sys, time
t0 = time.perf_counter()
from hems_core.optimize import Planner
from hems_core.scenario import DEFAULT_START, case_a_site, case_state, profile_inputs
site = case_a_site(DEFAULT_START)
backend = sys.argv[1] or None
plan = Planner(site, backend=backend).solve(profile_inputs(DEFAULT_START, 192, 0), case_state(site))
elapsed = time.perf_counter() - t0
assert "cvxpy" not in sys.modules
print(elapsed)
"""


def cold_start_s(backend: str | None = None) -> float:
    """Fresh interpreter: imports + build + first solve of case (a), 192 steps, no cvxpy.

    ``backend=None`` is the default policy (a cold solve goes to HiGHS, see
    :class:`~hems_core.optimize.planner.Planner`); a name forces that backend for it.
    """
    out = subprocess.run(
        [sys.executable, "-c", _COLD, backend or ""],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return float(out.stdout.strip().splitlines()[-1])


Checkpoint = tuple[Inputs, State, Plan]
#: Case (c): 72 h of quarters planned on the default multi-tier grid.
CASE_C_QUARTERS = 288


def _case(
    name: str, steps: int, backend: str, repeats: int, reference: bool
) -> tuple[dict[str, Any], Site, list[Checkpoint]]:
    """Time one case; the checkpoints are compared with cvxpy later (see :func:`run_bench`).

    Case (c) is case (a)'s site over 72 h (``steps`` quarters of inputs) on the default
    multi-tier grid (:data:`~hems_core.optimize.tiers.DEFAULT_TIERS`).
    """
    start = DEFAULT_START
    site = case_b_site(start) if name == "b" else case_a_site(start)
    pv_peak = 20.0 if name == "b" else 6.0
    # Plan reuse off: every re-solve here is a new quarter anyway, this keeps it explicit.
    planner = Planner(site, backend=backend, tiers=name == "c", reuse=None)
    state = case_state(site)
    times: list[float] = []
    totals: list[float] = []  # whole Planner.solve: vectors + solve + Plan with reasons
    checkpoints: list[Checkpoint] = []
    error = None
    inputs = None
    for i in range(repeats + 1):
        inputs = receding_inputs(start, steps, i, pv_peak_kw=pv_peak)
        t_call = time.perf_counter()
        try:
            plan = planner.solve(inputs, state)
        except SolverError as err:
            error = str(err)
            break
        if i > 0:  # the first solve is the cold one; the rest are warm receding re-solves
            times.append(plan.stats.solve_time_s * 1000.0)
            totals.append((time.perf_counter() - t_call) * 1000.0)
        if plan.stats.fallback_from:
            error = f"fell back: {plan.stats.fallback_from}"
        # rel_gap: the worst of three checkpoints along the receding horizon (the reference
        # solves run after the timed loop so they cannot disturb the timings).
        if reference and i in {1, max(1, repeats // 2), repeats}:
            checkpoints.append((inputs, state, plan))
        # The plan's first step happens, the window slides one quarter.
        ev_soc = {a.name: a.soc[0] for a in plan.assets if a.kind == "ev"}
        bat = next((a.soc[0] for a in plan.assets if a.kind == "battery"), None)
        state = State(
            ev_soc=ev_soc,
            battery_soc=bat,
            month_peak_kw=max(state.month_peak_kw, plan.grid_import_kw[0]),
        )
    storages = len(site.evs) + (site.battery is not None)
    row: dict[str, Any] = {
        "name": name,
        "steps": len(plan.dt_h) if name == "c" and times else steps,
        "evs": len(site.evs),
        "backend": backend,
        "default": backend == default_backend(storages),
        "median_ms": float(np.median(times)) if times else None,
        "p95_ms": float(np.percentile(times, 95)) if times else None,
        "median_total_ms": float(np.median(totals)) if totals else None,
        "rel_gap": None,
    }
    if name == "c":
        row["quarters"] = steps
        row["horizon_h"] = steps / 4
        row["first_day_cost_diff_pct"] = None
    if error:
        row["error"] = error
    return row, site, checkpoints


def run_bench(
    steps: list[int],
    repeats: int,
    backends: list[str] | None,
    reference: bool,
    cases: tuple[str, ...] = ("a", "b", "c"),
) -> dict[str, Any]:
    """Timings for cases (a) and (b) for every backend and horizon length, and case (c)."""
    chosen = backends or available_backends()
    cold = cold_start_s()
    # The cold start with each backend forced, for comparison (OSQP's pulls in scipy).
    cold_by_backend = {be: cold_start_s(be) for be in chosen}
    rows = []
    pending = []
    for name in cases:
        for n in [CASE_C_QUARTERS] if name == "c" else steps:
            for be in chosen:
                t0 = time.perf_counter()
                row, site, checkpoints = _case(name, n, be, repeats, reference)
                row["wall_s"] = round(time.perf_counter() - t0, 2)
                rows.append(row)
                pending.append((row, site, checkpoints))
    # cvxpy/Clarabel leave worker threads behind that slow later timings, so every reference
    # solve runs after all timed loops.
    for row, site, checkpoints in pending:
        row["rel_gap"] = rel_gap(site, checkpoints)
        if "first_day_cost_diff_pct" in row:
            row["first_day_cost_diff_pct"] = first_day_cost_diff_pct(site, checkpoints)
    return {"cold_start_s": cold, "cold_start_by_backend_s": cold_by_backend, "cases": rows}


def rel_gap(site: Site, checkpoints: list[Checkpoint]) -> float | None:
    """Worst ``|cost - cost*| / max(1, |cost*|)`` over the checkpoints (cvxpy + Clarabel).

    ``cost*`` is the full 15-minute model over all the inputs' quarters, also for a plan made
    on a multi-tier grid (whose own objective is then compared with it).
    """
    if not checkpoints:
        return None
    from .reference import reference_solve

    gaps = []
    for inputs, state, plan in checkpoints:
        ref = reference_solve(site, inputs, state)
        gaps.append(abs(plan.costs.total - ref) / max(1.0, abs(ref)))
    return float(max(gaps))


def first_day_steps(plan: Plan) -> int:
    """How many leading steps of ``plan`` are quarters within its first 24 h."""
    t0 = datetime.fromisoformat(plan.step_start[0]).timestamp()
    k = 0
    for start, dt in zip(plan.step_start, plan.dt_h, strict=True):
        end = datetime.fromisoformat(start).timestamp() + dt * 3600.0
        if dt > 0.25 + 1e-9 or end > t0 + 86_400 + 1:
            break
        k += 1
    return k


def first_day_cost_diff_pct(site: Site, checkpoints: list[Checkpoint]) -> float | None:
    """Worst regret of acting on the plan for a day, in % of the full-resolution optimum.

    For each checkpoint the full 15-minute 72-h model is solved by cvxpy/Clarabel twice: free
    (``cost*``) and with every storage's charge and discharge over the plan's first 24 h fixed
    to the plan's (``cost_fixed``, the rest re-optimised at full resolution). The figure is
    ``100 · (cost_fixed − cost*) / max(1, |cost*|)``: what the first day's decisions cost
    against the reference's, the same normalisation as ``rel_gap``.
    """
    if not checkpoints:
        return None
    from .reference import reference_solve

    worst = -np.inf
    for inputs, state, plan in checkpoints:
        k = first_day_steps(plan)
        fixed = {a.name: (a.charge_kwh[:k], a.discharge_kwh[:k]) for a in plan.assets}
        ref = reference_solve(site, inputs, state)
        ref_fixed = reference_solve(site, inputs, state, fixed=fixed)
        worst = max(worst, 100.0 * (ref_fixed - ref) / max(1.0, abs(ref)))
    return float(worst)
