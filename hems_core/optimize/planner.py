"""The receding-horizon planner: keeps the assembled structure and solver between solves."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import numpy as np

from ..model import Site
from ..timegrid import STEP_S
from .backends import (
    Backend,
    SolverError,
    SolveResult,
    default_backend,
    make_backend,
    solve_modes_milp,
)
from .inputs import FloatArray, Inputs, State
from .plan import Plan, SolverStats, build_plan
from .problem import Numbers, Structure, structure_key

#: A step moving energy both ways by more than this (kWh) triggers the exact MILP fallback
#: (it only pays when energy must be burnt: deeply negative prices, or PV that can neither be
#: exported nor curtailed); smaller overlaps are solver noise and are netted.
OVERLAP_KWH = 1e-2
#: A first-order solution whose cost drops by more than this fraction when its epigraph
#: variables are tightened is re-solved by HiGHS (see :meth:`Planner._slack`). Warm re-solves
#: of the bench cases stay below 1.5e-3; the failure it guards against was 0.37.
SLACK_REL = 5e-3


class Planner:
    """Re-plans one site over a sliding horizon with warm starts.

    The structure (``P``, ``A``) and the solver are kept while the site configuration and the
    number of steps stay the same; each :meth:`solve` only pushes new ``q, l, u`` and warm-starts
    from the previous solution shifted by the number of clock quarters elapsed.

    A requested OSQP backend is created on its first use (its setup imports scipy); when it
    fails, or says "solved" with slack epigraph variables (see :meth:`_slack`), HiGHS answers.
    """

    def __init__(self, site: Site, *, backend: str | None = None, **options: Any) -> None:
        self.site = site
        storages = len(site.evs) + (site.battery is not None)
        self.backend_name = backend or default_backend(storages)
        self.options = options
        self._structure: Structure | None = None
        self._backend: Backend | None = None
        self._fallback: Backend | None = None
        self._prev: tuple[int, FloatArray, FloatArray | None] | None = None

    def _ensure(self, site: Site, steps: int) -> tuple[Structure, float]:
        key = structure_key(site, steps)
        t0 = time.perf_counter()
        if self._structure is None or self._structure.key != key:
            self._structure = Structure(site, steps)
            self._backend = None
            self._fallback = None
            self._prev = None
        return self._structure, time.perf_counter() - t0

    def _main(self, s: Structure) -> Backend:
        """The chosen backend (created on first use: OSQP's setup imports scipy)."""
        if self._backend is None:
            self._backend = make_backend(self.backend_name, s, **self.options)
        return self._backend

    def solve(self, inputs: Inputs, state: State, site: Site | None = None) -> Plan:
        """Plan from ``inputs`` and ``state``; ``site`` replaces the planner's site if given."""
        if site is not None:
            self.site = site
        s, build_s = self._ensure(self.site, inputs.steps)
        t0 = time.perf_counter()
        nums = s.numbers(self.site, inputs, state)
        build_s += time.perf_counter() - t0
        quarter = int(nums.edges[1])
        warm = None
        if self._prev is not None:
            q_prev, x_prev, y_prev = self._prev
            by = (quarter - q_prev) // STEP_S
            if by >= 0:
                y = None
                if y_prev is not None:
                    y = np.concatenate(
                        [s.shift(y_prev[: s.nrow], by, rows=True), s.shift(y_prev[s.nrow :], by)]
                    )
                warm = (s.shift(x_prev, by), y)
        backend = self._main(s)
        res = backend.solve(nums, warm)
        fallback_from = None
        spent = 0.0  # time of a failed first attempt, counted in the reported solve time
        if res.ok and backend.name != "highs":
            slack = self._slack(s, nums, res.x)
            if slack is not None:
                res = replace(res, ok=False, status=slack)
        if not res.ok and backend.name != "highs":
            fallback_from = f"{backend.name}: {res.status}"
            spent = res.solve_time_s
            res = self._highs(s).solve(nums, None)
        if not res.ok:
            self._prev = None
            raise SolverError(f"no optimal plan: {res.status} ({res.backend})")
        self._prev = (quarter, res.x, res.y)  # the raw point: it matches the duals
        relaxed = s.objective(res.x, nums)
        if res.backend != "highs":
            # First-order solutions are only feasible to a relative tolerance; replay them
            # exactly (see Structure.repair) so that plan and reported cost are consistent.
            t_rep = time.perf_counter()
            fixed_x = s.repair(res.x, nums)
            rep_s = time.perf_counter() - t_rep
            res = replace(res, solve_time_s=res.solve_time_s + rep_s)
            if fixed_x is not None:
                res = replace(res, x=fixed_x)
        x, milp_used, extra_s = self._directions(s, nums, inputs, res)
        x = s.tighten(x, nums)
        stats = SolverStats(
            backend=res.backend,
            status=res.status,
            iterations=res.iterations,
            solve_time_s=res.solve_time_s + spent + extra_s,
            build_time_s=build_s,
            objective=s.objective(x, nums),
            relaxed_objective=relaxed,
            warm_started=warm is not None,
            milp_used=milp_used,
            fallback_from=fallback_from,
            variables=s.nvar,
            constraints=s.nrow,
        )
        return build_plan(s, inputs, nums, x, stats)

    @staticmethod
    def _slack(s: Structure, nums: Numbers, x: FloatArray) -> str | None:
        """Why a first-order solution is not trusted, or None.

        OSQP may report "solved" while epigraph variables whose price is below its dual
        tolerance sit far above their rows (seen: 1.8 EUR of calendar wear that tightening
        removes). Tightening repairs the reported cost, but the rest of the solution was
        optimised against that phantom cost, so a large drop means: re-solve exactly.
        """
        raw = s.objective(x, nums)
        tight = s.objective(s.tighten(x, nums), nums)
        if raw - tight > SLACK_REL * max(1.0, abs(tight)):
            return f"solved with slack epigraph variables ({raw - tight:.3g} EUR)"
        return None

    def _highs(self, s: Structure) -> Backend:
        """The HiGHS backend for fallbacks (created on first use)."""
        if self._fallback is None:
            self._fallback = make_backend("highs", s)
        return self._fallback

    def _directions(
        self, s: Structure, nums: Numbers, inputs: Inputs, res: SolveResult
    ) -> tuple[FloatArray, bool, float]:
        """Guarantee one direction per asset and step (see module docstring of backends)."""
        x = res.x.copy()
        pairs = [(s.imp, s.exp)] + [(st.ch, st.dis) for st in s.stores]
        overlap = max(float(np.max(np.minimum(x[a], x[b]))) for a, b in pairs)
        # Burning energy through round-trip losses can only pay when a kWh has negative value
        # somewhere: negative prices, export worth more than import, or PV that may not be
        # curtailed. Otherwise an overlap is solver noise (first-order solvers at 1e-3).
        pv = self.site.pv
        burn_possible = bool(
            np.any(inputs.import_price < 0)
            or np.any(inputs.export_price < 0)
            or np.any(inputs.export_price > inputs.import_price)
            or (pv is not None and not pv.curtailable and bool(np.any(inputs.pv_kw > 0)))
        )
        if overlap > OVERLAP_KWH and burn_possible:
            t0 = time.perf_counter()
            x_milp, _ = solve_modes_milp(s, nums)
            ub = nums.ub.copy()
            for a, b in pairs:
                fwd = np.where(
                    np.abs(x_milp[a] - x_milp[b]) > 1e-9, x_milp[a] > x_milp[b], x[a] >= x[b]
                )
                ub[b] = np.where(fwd, 0.0, ub[b])
                ub[a] = np.where(fwd, ub[a], 0.0)
            fixed = Numbers(**{**nums.__dict__, "ub": ub})
            res2 = make_backend(self.backend_name, s, **self.options).solve(fixed, None)
            if not res2.ok and self.backend_name != "highs":
                res2 = make_backend("highs", s).solve(fixed, None)
            if not res2.ok:
                raise SolverError(f"direction-fixed QP failed: {res2.status}")
            x2 = np.clip(res2.x, fixed.lb, fixed.ub)
            return x2, True, time.perf_counter() - t0
        # Noise-level overlaps: keep the net flow (same balance, marginally fewer losses).
        for a, b in pairs:
            m = np.minimum(x[a], x[b])
            m = np.maximum(m, 0.0)
            x[a] -= m
            x[b] -= m
        for sl in [s.imp, s.over, s.exp, s.cur] + [p for st in s.stores for p in (st.ch, st.dis)]:
            np.clip(x[sl], nums.lb[sl], nums.ub[sl], out=x[sl])
        return x, False, 0.0


def solve(site: Site, inputs: Inputs, state: State, backend: str | None = None) -> Plan:
    """One-shot plan (builds a fresh :class:`Planner`; keep a Planner for warm re-solves)."""
    return Planner(site, backend=backend).solve(inputs, state)
