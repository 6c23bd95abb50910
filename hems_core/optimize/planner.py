"""The receding-horizon planner: keeps the assembled structure and solver between solves."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..model import Site
from ..timegrid import STEP_S
from .backends import (
    Backend,
    HighsBackend,
    SolverError,
    SolveResult,
    default_backend,
    make_backend,
    solve_modes_milp,
)
from .inputs import STEP_H, FloatArray, Inputs, State, local_calendar
from .plan import Plan, SolverStats, build_plan
from .problem import IntArray, Numbers, Structure, _any
from .tiers import DEFAULT_TIERS, Tiers, aggregate

#: A step moving energy both ways by more than this (kWh) triggers the exact MILP fallback
#: (it only pays when energy must be burnt: deeply negative prices, or PV that can neither be
#: exported nor curtailed); smaller overlaps are solver noise and are netted.
OVERLAP_KWH = 1e-2
#: A first-order solution whose cost drops by more than this fraction when its epigraph
#: variables are tightened is re-solved by HiGHS (see :meth:`Planner._slack`). Warm re-solves
#: of the bench cases stay below 1.5e-3; the failure it guards against was 0.37.
SLACK_REL = 5e-3


@dataclass(frozen=True)
class ReuseThreshold:
    """When a re-plan may return the previous plan unchanged ("nothing material changed").

    Only within the same clock quarter (a new quarter always re-solves: the window moved), the
    same site (trips, targets and settings equal) and the same plug states; then every price
    within ``price_eur_per_kwh``, every load, PV and cap value within ``power_kw``, each SoC
    within ``soc`` of what the previous plan expected *now* (interpolated within its first
    step), the month peak within ``power_kw`` and the energy metered in the running quarter
    within ``energy_kwh`` of the plan's. Defaults: 1e-3 EUR/kWh, 0.1 kW, 0.005 (half a
    percentage point: 0.3 kWh of a 60-kWh car), 0.05 kWh. Below these a re-solve moves the
    plan's cost by far less than the solver's own tolerance on the bench cases, so an event
    storm (a meter tick re-planned as "SoC deviation", a forecast re-sent unchanged) costs no
    solve.

    **Shifted reuse.** A new quarter whose horizon ends where the last solved one ended (the
    usual case when it ends at the last published price) asks for the tail of that solve's
    problem: by the principle of optimality the tail of its solution is still optimal when
    the inputs on the overlap, the terminal value, the plug states, the peaks and each SoC
    (against the solved plan at this quarter) are within the thresholds above. The tail is
    then taken (``Structure.repair`` moves a small SoC deviation into the first step's
    power) instead of a solve; stricter there: each SoC within ``shift_soc`` and the forecast
    net load's running sum within ``shift_energy_kwh`` (with the per-step limits alone the
    backtest's June exported 6 % less than with a solve every quarter; with these, within
    1 %), for at most ``shift_quarters`` quarters and only at a quarter
    boundary on the plain 15-minute grid without the Swedish tariff. Comparisons are against
    the solved plan's inputs, not the previous reuse's, so deviations cannot add up.
    """

    price_eur_per_kwh: float = 1e-3
    power_kw: float = 0.1
    soc: float = 0.005
    energy_kwh: float = 0.05
    #: A later quarter may take the last *solved* plan shifted (see :meth:`Planner._shifted`)
    #: up to this many quarters after that solve; 0 turns the shifted reuse off.
    shift_quarters: int = 16
    #: Shifted reuse only: each SoC within this of the solved plan's (0.1 percentage point).
    shift_soc: float = 0.001
    #: Shifted reuse only: the forecast net load (load - PV) may differ from the solved
    #: plan's by at most this much energy, summed from now to any later step (kWh).
    shift_energy_kwh: float = 0.25


@dataclass(frozen=True, eq=False)
class _Anchor:
    """The last solved plan's point and what it was solved from (for the shifted reuse)."""

    structure: Structure
    site: Site
    inputs: Inputs
    x: FloatArray
    quarter: int


@dataclass(frozen=True, eq=False)
class _Last:
    """What the previous plan was made from (for :class:`ReuseThreshold`)."""

    site: Site
    inputs: Inputs
    state: State
    plan: Plan
    quarter: int


class Planner:
    """Re-plans one site over a sliding horizon with warm starts.

    The structure (``P``, ``A``) and the solver are kept while the site configuration and the
    number of steps stay the same; each :meth:`solve` only pushes new ``q, l, u`` and warm-starts
    from the previous solution shifted by the number of clock quarters elapsed.

    A requested OSQP backend is created on its first use (its setup imports scipy); when it
    fails, or says "solved" with slack epigraph variables (see :meth:`_slack`), HiGHS answers.

    ``tiers`` plans on a multi-tier grid (:mod:`.tiers`): inputs longer than its 15-minute
    part (quarters, up to 72 h) are aggregated onto coarser steps further out; the plan then
    has steps of several quarters (``plan.dt_h``). ``tiers=True`` takes
    :data:`~hems_core.optimize.tiers.DEFAULT_TIERS`; the default ``None`` plans on quarters
    as before. The Swedish top-peaks tariff always plans on quarters.

    ``reuse`` (a :class:`ReuseThreshold`, default on; ``None`` turns it off) returns the
    previous plan when nothing material changed; :attr:`reused` says whether the last call did.

    ``fixed_horizon`` (default on): a horizon shorter than the structure's (prices run out
    sooner as the window slides towards the last published quarter) is padded with inert
    zero-length steps (``Structure.pads``) instead of assembling a new structure, so the
    solver keeps its model and hot-starts; the plan still has only the real steps. The
    structure grows when a longer horizon arrives and never shrinks. :attr:`builds` counts
    the structures assembled. Not on a multi-tier grid or with the Swedish tariff.
    """

    def __init__(
        self,
        site: Site,
        *,
        backend: str | None = None,
        tiers: Tiers | bool | None = None,
        reuse: ReuseThreshold | None = ReuseThreshold(),
        fixed_horizon: bool = True,
        **options: Any,
    ) -> None:
        self.site = site
        storages = len(site.evs) + (site.battery is not None)
        self.backend_name = backend or default_backend(storages)
        self.tiers: Tiers | None = DEFAULT_TIERS if tiers is True else (tiers or None)
        self.reuse = reuse
        self.fixed_horizon = fixed_horizon
        self.options = options
        self.reused = False
        #: Structures assembled so far (each means a new solver model and a cold start).
        self.builds = 0
        #: Optimisations run (plans not answered by a reuse).
        self.solves = 0
        #: Solves that failed on the kept HiGHS model and were repeated on a fresh one.
        self.cold_retries = 0
        self._structure: Structure | None = None
        self._backend: Backend | None = None
        self._fallback: Backend | None = None
        self._prev: tuple[int, FloatArray, FloatArray | None] | None = None
        self._last: _Last | None = None
        self._anchor: _Anchor | None = None
        #: Plans answered by the shifted reuse (see :class:`ReuseThreshold`).
        self.shifted = 0
        #: The last solution with its structure and step edges: carried onto a new grid
        #: when the structure changes (see :meth:`HighsBackend.start_from`).
        self._carry: tuple[Structure, IntArray, FloatArray] | None = None

    def _grid(self, site: Site, inputs: Inputs) -> tuple[Inputs, tuple[int, ...] | None]:
        """The inputs on the grid this solve uses, and its step lengths (None: quarters)."""
        t = self.tiers
        if t is None or site.top_peaks_tariff is not None or inputs.steps <= 1 + t.fine_quarters:
            return inputs, None
        layout = t.layout(inputs.steps)
        return aggregate(inputs, layout), layout

    def _ensure(
        self, site: Site, steps: int, quarters: tuple[int, ...] | None = None
    ) -> tuple[Structure, float]:
        t0 = time.perf_counter()
        cur = self._structure
        if (
            self.fixed_horizon
            and cur is not None
            and cur.pads
            and quarters is None
            and steps < cur.steps
            and cur.fits(site)
        ):
            return cur, time.perf_counter() - t0  # a shorter horizon: padded, same model
        if cur is None or cur.steps != steps or cur.quarters != quarters or not cur.fits(site):
            self._structure = Structure(site, steps, quarters)
            self.builds += 1
            self._backend = None
            self._fallback = None
            self._prev = None
            cur = self._structure
        return cur, time.perf_counter() - t0

    def _start_from_carry(self, s: Structure, backend: Backend, nums: Numbers) -> None:
        """A fresh HiGHS backend after a grid change starts from the last plan, moved in time."""
        carry, self._carry = self._carry, None
        if carry is None or not isinstance(backend, HighsBackend) or carry[0] is s:
            return
        x = s.regrid(carry[0], carry[2], carry[1], nums.edges)
        if x is not None:
            backend.start_from(x)

    def _main(self, s: Structure) -> Backend:
        """The chosen backend (created on first use: OSQP's setup imports scipy)."""
        if self._backend is None:
            self._backend = make_backend(self.backend_name, s, **self.options)
        return self._backend

    def solve(self, inputs: Inputs, state: State, site: Site | None = None) -> Plan:
        """Plan from ``inputs`` and ``state``; ``site`` replaces the planner's site if given."""
        if site is not None:
            self.site = site
        t0 = time.perf_counter()
        reused = self._reusable(inputs, state)
        if reused is not None:
            self.reused = True
            return reused
        shifted = self._shifted(inputs, state, t0)
        if shifted is not None:
            self.reused = True
            self.shifted += 1
            return shifted
        self.reused = False
        self.solves += 1
        full_inputs = inputs
        inputs, quarters = self._grid(self.site, inputs)
        agg_s = time.perf_counter() - t0
        s, build_s = self._ensure(self.site, inputs.steps, quarters)
        build_s += agg_s
        t0 = time.perf_counter()
        nums = s.numbers(self.site, inputs, state)
        build_s += time.perf_counter() - t0
        quarter = int(nums.edges[1])
        fresh = self._backend is None
        backend = self._main(s)
        warm = None
        warm_ok = False
        if self._prev is not None:
            q_prev, x_prev, y_prev = self._prev
            by = (quarter - q_prev) // STEP_S
            # HiGHS hot-starts from its own basis on the ring and takes no point: the
            # shifted one is built only for a backend that uses it (OSQP).
            warm_ok = by >= 0
            if warm_ok and not isinstance(backend, HighsBackend):
                y = None
                if y_prev is not None:
                    y = np.concatenate(
                        [s.shift(y_prev[: s.nrow], by, rows=True), s.shift(y_prev[s.nrow :], by)]
                    )
                warm = (s.shift(x_prev, by), y)
        if fresh:
            self._start_from_carry(s, backend, nums)
        res = backend.solve(nums, warm)
        fallback_from = None
        spent = 0.0  # time of a failed first attempt, counted in the reported solve time
        if not res.ok and backend.name == "highs" and not fresh:
            # A kept model can get stuck (seen: status "Unknown" after months of hot starts
            # in a backtest, then on every later solve): drop it and solve this one cold.
            self.cold_retries += 1
            spent = res.solve_time_s
            self._backend = None
            backend = self._main(s)
            res = backend.solve(nums, None)
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
        self._carry = (s, nums.edges, res.x)
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
            warm_started=warm_ok,
            milp_used=milp_used,
            fallback_from=fallback_from,
            variables=s.nvar,
            constraints=s.nrow,
        )
        plan = build_plan(s, inputs, nums, x, stats)
        self._last = _Last(self.site, full_inputs, state, plan, quarter)
        self._anchor = None
        if quarters is None and s.top is None:
            self._anchor = _Anchor(s, self.site, full_inputs, x, quarter)
        return plan

    def _shifted(self, inputs: Inputs, state: State, t0: float) -> Plan | None:
        """The last solved plan's tail for this quarter, or None (see :class:`ReuseThreshold`)."""
        th, a, last = self.reuse, self._anchor, self._last
        if th is None or th.shift_quarters <= 0 or a is None or last is None:
            return None
        s = a.structure
        if s is not self._structure or a.site != self.site:
            return None
        now_s = int(inputs.start.timestamp())
        if now_s % STEP_S or inputs.start.timestamp() != now_s:
            return None  # a partial first quarter: the tail's first step would not fit it
        k = (now_s - (a.quarter - STEP_S)) // STEP_S
        m = inputs.steps
        if not 1 <= k <= th.shift_quarters or m != a.inputs.steps - k or m > s.steps:
            return None
        b = a.inputs
        for x, y, tol in (
            (inputs.import_price, b.import_price, th.price_eur_per_kwh),
            (inputs.export_price, b.export_price, th.price_eur_per_kwh),
            (inputs.load_kw, b.load_kw, th.power_kw),
            (inputs.pv_kw, b.pv_kw, th.power_kw),
        ):
            if _differs(x, y[k:], tol):
                return None
        for xo, yo in (
            (inputs.import_cap_kw, b.import_cap_kw),
            (inputs.temperature_factor, b.temperature_factor),
            (inputs.peak_margin_kw, b.peak_margin_kw),
        ):
            if (xo is None) != (yo is None):
                return None
            if xo is not None and yo is not None and _differs(xo, yo[k:], th.power_kw):
                return None
        if abs(inputs.terminal_value() - b.terminal_value()) > th.price_eur_per_kwh:
            return None
        # Per-step limits alone would let a forecast sit 0.1 kW higher for two days (kWh that
        # a re-solve would plan for): bound the running sum too.
        net = (inputs.load_kw - inputs.pv_kw) - (b.load_kw[k:] - b.pv_kw[k:])
        if float(np.maximum.reduce(np.abs(np.cumsum(net)), initial=0.0)) * STEP_H > (
            th.shift_energy_kwh
        ):
            return None
        s_prev = last.state
        if dict(state.ev_plugged) != dict(s_prev.ev_plugged):
            return None
        if abs(state.month_peak_kw - s_prev.month_peak_kw) > th.power_kw:
            return None
        if tuple(state.month_daily_peaks_kw) != tuple(s_prev.month_daily_peaks_kw):
            return None
        if state.quarter_import_kwh > th.energy_kwh:
            return None
        pt = self.site.peak_tariff
        if pt is not None:
            month, _, _ = local_calendar(pt.tz, np.array([now_s, a.quarter - STEP_S]))
            if month[0] != month[1]:
                return None  # the month slots would move
        for st in s.stores:
            soc_now = state.battery_soc if st.kind == "battery" else state.ev_soc.get(st.name)
            if soc_now is None or not math.isfinite(soc_now):
                return None
            if abs(soc_now - float(a.x[st.e.start + k - 1]) / st.capacity) > th.shift_soc:
                return None
        x = s.tail(a.x, k, m)  # padding beyond m: levels hold, no flows
        for st in s.stores:
            if st.seg_e:
                # DoD slices as a fresh solve starts them (filled from the deepest): the
                # solved plan may have split its energy between slices otherwise.
                nseg = len(st.seg_e)
                width = st.capacity / nseg
                e = x[st.e]
                for j, se in enumerate(st.seg_e):
                    x[se] = np.clip(e - (st.capacity - width * (j + 1)), 0.0, width)
        nums = s.numbers(self.site, inputs, state)
        fixed = s.repair(x, nums)
        if fixed is None:
            return None
        obj = s.objective(fixed, nums)
        stats = SolverStats(
            backend="reused",
            status=f"shifted by {k} quarters",
            iterations=0,
            solve_time_s=0.0,
            build_time_s=time.perf_counter() - t0,
            objective=obj,
            relaxed_objective=obj,
            warm_started=True,
            milp_used=False,
            fallback_from=None,
            variables=s.nvar,
            constraints=s.nrow,
        )
        plan = build_plan(s, inputs, nums, fixed, stats)
        self._last = _Last(self.site, inputs, state, plan, now_s + STEP_S)
        return plan

    def _reusable(self, inputs: Inputs, state: State) -> Plan | None:
        """The previous plan if nothing material changed since (see :class:`ReuseThreshold`)."""
        th, last = self.reuse, self._last
        if th is None or last is None or last.site != self.site:
            return None
        now_s = inputs.start.timestamp()
        quarter = int(now_s) // STEP_S * STEP_S + STEP_S
        if quarter != last.quarter or inputs.steps != last.inputs.steps:
            return None
        if now_s < last.inputs.start.timestamp():
            return None
        a, b = inputs, last.inputs
        if _differs(a.import_price, b.import_price, th.price_eur_per_kwh) or _differs(
            a.export_price, b.export_price, th.price_eur_per_kwh
        ):
            return None
        for x, y in ((a.load_kw, b.load_kw), (a.pv_kw, b.pv_kw)):
            if _differs(x, y, th.power_kw):
                return None
        for xo, yo in ((a.import_cap_kw, b.import_cap_kw), (a.peak_margin_kw, b.peak_margin_kw)):
            if (xo is None) != (yo is None):
                return None
            if xo is not None and yo is not None and _differs(xo, yo, th.power_kw):
                return None
        if (a.temperature_factor is None) != (b.temperature_factor is None):
            return None
        if a.terminal_value_eur_per_kwh != b.terminal_value_eur_per_kwh:
            return None
        s0, plan = last.state, last.plan
        if dict(state.ev_plugged) != dict(s0.ev_plugged):
            return None
        if abs(state.month_peak_kw - s0.month_peak_kw) > th.power_kw:
            return None
        if abs(state.today_peak_kw - s0.today_peak_kw) > th.power_kw:
            return None
        if tuple(state.month_daily_peaks_kw) != tuple(s0.month_daily_peaks_kw):
            return None
        # Where the previous plan expected to be now, within its first step.
        dt0_s = plan.dt_h[0] * 3600.0
        frac = min(1.0, (now_s - last.inputs.start.timestamp()) / max(dt0_s, 1.0))
        expect_q = s0.quarter_import_kwh + plan.grid_import_kw[0] * frac * plan.dt_h[0]
        if abs(state.quarter_import_kwh - expect_q) > th.energy_kwh:
            return None
        if abs(state.hour_import_kwh - s0.hour_import_kwh) > th.energy_kwh + (
            plan.grid_import_kw[0] * frac * plan.dt_h[0]
        ):
            return None
        for ap in plan.assets:
            soc_then = s0.battery_soc if ap.kind == "battery" else s0.ev_soc.get(ap.name)
            soc_now = state.battery_soc if ap.kind == "battery" else state.ev_soc.get(ap.name)
            if soc_then is None or soc_now is None:
                return None
            expect = soc_then + (ap.soc[0] - soc_then) * frac
            if not math.isfinite(soc_now) or abs(soc_now - expect) > th.soc:
                return None
        return plan

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
        overlap = max(float(np.maximum.reduce(np.minimum(x[a], x[b]))) for a, b in pairs)
        # Burning energy through round-trip losses can only pay when a kWh has negative value
        # somewhere: negative prices, export worth more than import, or PV that may not be
        # curtailed. Otherwise an overlap is solver noise (first-order solvers at 1e-3).
        pv = self.site.pv
        burn_possible = bool(
            _any(inputs.import_price < 0)
            or _any(inputs.export_price < 0)
            or _any(inputs.export_price > inputs.import_price)
            or (pv is not None and not pv.curtailable and _any(inputs.pv_kw > 0))
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
        flows = [s.imp, s.over, s.exp, s.cur] + [p for st in s.stores for p in (st.ch, st.dis)]
        for sl in _merged(flows):  # adjacent blocks clipped in one call: same values
            v = x[sl]
            np.minimum(np.maximum(v, nums.lb[sl]), nums.ub[sl], out=v)  # = np.clip, bit for bit
        return x, False, 0.0


def _merged(slices: list[slice]) -> list[slice]:
    """The same index ranges with adjacent ones joined (fewer numpy calls)."""
    out: list[slice] = []
    for sl in sorted(slices, key=lambda x: x.start):
        if out and out[-1].stop == sl.start:
            out[-1] = slice(out[-1].start, sl.stop)
        else:
            out.append(sl)
    return out


def _differs(a: FloatArray, b: FloatArray, tol: float) -> bool:
    """Whether two series differ anywhere by more than ``tol`` (ufuncs called directly:
    ``np.max`` dispatches in Python, and the reuse checks call this ~4 times a quarter)."""
    return a.shape != b.shape or bool(np.maximum.reduce(np.abs(a - b), initial=0.0) > tol)


def solve(site: Site, inputs: Inputs, state: State, backend: str | None = None) -> Plan:
    """One-shot plan (builds a fresh :class:`Planner`; keep a Planner for warm re-solves)."""
    return Planner(site, backend=backend).solve(inputs, state)
