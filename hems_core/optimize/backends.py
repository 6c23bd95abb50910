"""Solver backends behind one interface.

- :class:`HighsBackend` (highspy, a hard dependency with musllinux wheels): the same QP through
  HiGHS; always available, exact at the breakpoints of its piecewise-linear quadratic terms,
  the default (see :func:`default_backend`) and the fallback when OSQP does not converge.
- :class:`OsqpBackend` (``[qp]`` extra, glibc only, on request): OSQP direct API, set up once
  per structure, then only ``q, l, u`` are updated and the previous solution, shifted by the
  elapsed steps, is the warm start.
- :func:`solve_modes_milp`: the linear part of the model with one binary per asset and step
  (charge *or* discharge; import *or* export) solved by HiGHS' MILP. Used only when a relaxed
  solution moves energy both ways at once (deeply negative prices); its directions are then
  fixed in the QP.
"""

from __future__ import annotations

import array
import importlib.util
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from ..timegrid import STEP_S
from .highs import new_highs
from .inputs import FloatArray
from .problem import Csc, IntArray, Numbers, Structure

OSQP_INF = 1e30
#: Segments per quadratic power variable: as many as keep the LP under this many segment
#: columns, between 4 and 8. Measured on case (a), 192 steps, with the ring hot start (gap
#: against Clarabel at three checkpoints; median re-solve on a loaded machine): 4 segments
#: 1.8e-4, 7.7 ms; 6: 8.7e-5, 9.1 ms; 8: 7.2e-5, 12.2 ms; 24: 2.8e-6, 17.7 ms. The PWL
#: overestimates ``w P² dt`` by at most ``1/(4 K²)`` of its full-power value per step (K = 4:
#: 1.6 %, i.e. 0.3 % of the throughput cost at full power), the stated tolerance of this LP
#: form of the wear model. Case (a) with 96 steps gets 8, 192 steps and the 72-h multi-tier
#: grid 4.
PWL_COLUMN_BUDGET = 3_072
PWL_SEGMENTS = (4, 8)
#: A warm start: primal guess and optional dual guess (or None).
Warm = tuple[FloatArray, FloatArray | None] | None


class SolverError(RuntimeError):
    """No backend returned an optimal solution (infeasible inputs or solver failure)."""


@dataclass(frozen=True, eq=False)
class SolveResult:
    """Raw result of one backend call."""

    x: FloatArray
    y: FloatArray | None
    ok: bool
    status: str
    iterations: int
    solve_time_s: float
    backend: str


class Backend(Protocol):
    """A QP solver bound to one :class:`Structure` (matrices fixed, vectors per solve)."""

    name: str

    def solve(self, nums: Numbers, warm: Warm) -> SolveResult:
        """Solve with this solve's vectors; ``warm`` is an (x, y) guess or None."""
        ...


def osqp_available() -> bool:
    """Whether the OSQP fast path can be used here."""
    return importlib.util.find_spec("osqp") is not None


def available_backends() -> list[str]:
    """Installed backends, preferred first."""
    return ["highs"] + (["osqp"] if osqp_available() else [])


def default_backend(storages: int) -> str:
    """The backend used when none is requested (``storages``: batteries/EVs on the site).

    HiGHS for every site. Measured (``docs/optimizer.md``): on case (a), 192 steps, over three
    start times and 36 re-solves, HiGHS re-solves in a median 13 ms with a worst objective gap
    of 3e-4, while OSQP at eps 1e-3 took a median 18 ms with gaps up to 2e-2 (4e-2 with other
    settings, 9e-3 even at eps 1e-4 and 65 ms) and some "solved" results left epigraph
    variables slack; with many EVs OSQP is also the slower one. HiGHS also needs no scipy,
    so a cold process plans sooner. OSQP stays available as ``backend="osqp"``.
    """
    del storages  # kept in the signature: the choice may depend on the site again
    return "highs"


def make_backend(name: str | None, structure: Structure, **options: Any) -> Backend:
    """Create a backend by name (``None``: the first of :func:`available_backends`)."""
    chosen = name or available_backends()[0]
    if chosen == "osqp":
        if not osqp_available():
            raise SolverError("backend 'osqp' requested but the osqp package is not installed")
        return OsqpBackend(structure, **options)
    if chosen == "highs":
        return HighsBackend(structure, **options)
    raise SolverError(f"unknown backend {chosen!r}; choose from {available_backends()}")


class OsqpBackend:
    """OSQP through its direct API with vector-only updates and shifted warm starts."""

    name = "osqp"

    def __init__(
        self,
        structure: Structure,
        *,
        eps: float = 1e-3,
        rho: float = 0.01,
        max_iter: int = 20000,
        polish: bool = False,
        **extra: Any,
    ) -> None:
        self.structure = structure
        # eps 1e-3 with a small initial rho: measured on the bench cases (``hems bench
        # solver``), the shifted warm start then converges in ~100 iterations with an
        # objective within a few 1e-3 of the exact optimum.
        self.settings: dict[str, Any] = {
            "eps_abs": eps,
            "eps_rel": eps,
            "rho": rho,
            "max_iter": max_iter,
            "polishing": polish,
            "verbose": False,
            "warm_starting": True,
            "adaptive_rho": True,
            "check_termination": 10,
            **extra,
        }
        # The osqp Python API needs scipy.sparse matrices (its own import pulls scipy in too).
        import scipy.sparse as sp

        n = structure.nvar
        A = structure.A.to_scipy()
        self.A = sp.csc_matrix(sp.vstack([A, sp.eye(n, format="csc")], format="csc"))
        self.P = sp.csc_matrix(sp.triu(structure.P.to_scipy(), format="csc"))
        self._solver: Any = None

    def solve(self, nums: Numbers, warm: Warm) -> SolveResult:
        import osqp

        lo = np.clip(np.concatenate([nums.l, nums.lb]), -OSQP_INF, OSQP_INF)
        hi = np.clip(np.concatenate([nums.u, nums.ub]), -OSQP_INF, OSQP_INF)
        t0 = time.perf_counter()
        if self._solver is None:
            self._solver = osqp.OSQP()
            self._solver.setup(self.P, nums.q, self.A, lo, hi, **self.settings)
        else:
            self._solver.update(q=nums.q, l=lo, u=hi)
        if warm is not None:
            x, y = warm
            if y is not None and y.shape[0] == self.A.shape[0]:
                self._solver.warm_start(x=x, y=y)
            else:
                self._solver.warm_start(x=x)
        res = self._solver.solve(raise_error=False)
        elapsed = time.perf_counter() - t0
        status = str(res.info.status)
        ok = status == "solved" and res.x is not None and bool(np.all(np.isfinite(res.x)))
        x = np.asarray(res.x, dtype=np.float64) if res.x is not None else np.zeros(self.A.shape[1])
        y = np.asarray(res.y, dtype=np.float64) if res.y is not None else None
        return SolveResult(x, y, ok, status, int(res.info.iter), elapsed, self.name)


def _highs_model(
    A: Csc, P: Csc | None, q: FloatArray, lo: FloatArray, hi: FloatArray,
    lb: FloatArray, ub: FloatArray,
) -> Any:  # fmt: skip
    highspy: Any = importlib.import_module("highspy")

    h = new_highs()
    lp = highspy.HighsLp()
    lp.num_col_ = A.shape[1]
    lp.num_row_ = A.shape[0]
    lp.col_cost_ = q
    lp.col_lower_ = lb
    lp.col_upper_ = ub
    lp.row_lower_ = lo
    lp.row_upper_ = hi
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    lp.a_matrix_.num_col_ = A.shape[1]
    lp.a_matrix_.num_row_ = A.shape[0]
    h.passModel(lp)
    if P is not None and P.nnz > 0:
        lower = P  # diagonal, so it is its own lower triangle
        hess = highspy.HighsHessian()
        hess.dim_ = P.shape[0]
        hess.format_ = highspy.HessianFormat.kTriangular
        hess.start_ = lower.indptr
        hess.index_ = lower.indices
        hess.value_ = lower.data
        h.passHessian(hess)
    return h


#: Matrix entries as (keys, rows, columns, values).
_Entries = tuple[IntArray, IntArray, IntArray, FloatArray]
_NO_ENTRIES: _Entries = (
    np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64),
    np.zeros(0),
)  # fmt: skip


class HighsBackend:
    """HiGHS with in-place cost and bound updates and a hot-started simplex.

    HiGHS' active-set QP solver needs thousands of iterations on this model (every step with
    a power term is interior), so by default the separable quadratic terms are replaced by
    their exact values at ``segments`` breakpoints (default: 4–8 by the size of the site,
    see ``PWL_COLUMN_BUDGET``; four for departure shortfalls): each
    quadratic variable becomes that many columns with increasing slopes (convex, so no
    binaries), which turns the model into an LP that the dual simplex re-solves from the
    previous basis in a few dozen pivots.
    The interpolation overestimates ``a x²`` by at most ``a h²/4`` per step (``h`` the
    breakpoint spacing), which the bench reports as ``rel_gap``. ``exact_qp=True`` passes the
    Hessian instead (small problems).

    **Steps on a ring.** The LP keeps each clock quarter in the same columns and rows while
    the window slides: step ``k`` of a window whose first quarter is absolute quarter ``Q``
    sits in slot ``(Q + k) mod R`` of every per-step block (``R`` the leading 15-minute steps,
    all of them on a plain grid). A one-quarter slide then leaves every remaining quarter's
    data, and its basis status, where it was; only the quarter that left comes back as the
    new last one, and the few entries that link a step to the previous one (dynamics, DoD
    slices) are moved at the seam with ``changeCoeff``. That is the shifted hot start, at no
    cost of reading or writing a basis through the bindings (about 6 ms at 22k columns).
    ``rotate=False`` keeps steps in place (the previous behaviour).
    """

    name = "highs"

    def __init__(
        self,
        structure: Structure,
        *,
        time_limit: float = 30.0,
        segments: int | None = None,
        exact_qp: bool = False,
        rotate: bool = True,
        highs_options: dict[str, Any] | None = None,
    ) -> None:
        self.structure = s = structure
        # Presolve off: on this model it costs more than it saves (case (a), 192 steps, cold:
        # 94 ms with, 67 ms without), and hot-started re-solves skip it anyway. Devex pricing:
        # moving the seam (``changeCoeff``) drops HiGHS' dual steepest-edge weights, which it
        # would then recompute (a solve per row); devex needs none. Measured side by side,
        # three runs each (median re-solve ms): case (a) 192 steps 10.4/9.4/6.9 with steepest
        # edge, 5.9/4.5/4.7 with devex; case (c) 8.8/7.8/7.0 and 6.3/5.4/5.3; cold solves
        # 53-59 and 46 ms.
        self.highs_options = {
            "presolve": "off",
            "simplex_dual_edge_weight_strategy": 1,
            **(highs_options or {}),
        }
        self.time_limit = time_limit
        self.exact_qp = exact_qp
        n = s.nvar
        quad = (s.pdiag > 0) & (s.quad_range > 1e-6) & (not exact_qp)
        # Departure shortfalls get four 4-kWh segments: their quadratic part only spreads an
        # unavoidable shortfall over cars (to within one segment), and a column per segment,
        # step and car is much of case (b)'s LP (15k of 51k columns at eight segments).
        short = np.zeros(n, dtype=bool)
        for st in s.stores:
            if st.short is not None:
                short[st.short] = True
        if segments is None:
            fit = PWL_COLUMN_BUDGET // max(1, int(np.sum(quad & ~short)))
            segments = int(np.clip(fit, *PWL_SEGMENTS))
        self.segments = segments
        per = np.where(quad, np.where(short, min(4, segments), segments), 1)
        first = np.concatenate([[0], np.cumsum(per)[:-1]])
        nlp = int(per.sum())
        self.owner = owner = np.repeat(np.arange(n), per)
        self.per, self.first = per, first
        self.seg = seg = (np.arange(nlp) - first[owner]).astype(np.float64)
        self.quad_col = quad[owner]
        h = np.where(quad, s.quad_range / per, 0.0)
        self.h = h[owner]
        self.last = self.quad_col & (seg == per[owner] - 1)
        # Slope of (P_ii / 2) x² on segment [s h, (s + 1) h].
        self.slope = np.where(self.quad_col, 0.5 * s.pdiag[owner] * (2 * seg + 1) * self.h, 0.0)
        self.nlp = nlp
        # The ring: leading 15-minute steps (a multi-tier grid's coarse steps stay in place).
        # Not with the Swedish tariff, whose hour rows sum fixed groups of steps.
        ring = 0
        if rotate and s.top is None:
            q = s.quarters
            ring = s.steps if q is None else next((k for k, v in enumerate(q) if v != 1), len(q))
        self.ring = ring if ring > 1 else 0
        # The ring's index arithmetic, vectorised over every per-step block (see _perm).
        self._ring_v = self._ring_parts(s.var_series)
        self._ring_r = self._ring_parts(s.row_series)
        # Segment columns: offset and width of each (constant; see _vectors).
        self._qc_idx = np.flatnonzero(self.quad_col)
        self._qc_off = (self.seg * self.h)[self._qc_idx]
        self._qc_width = np.where(self.last, np.inf, self.h)[self._qc_idx]
        # The step-to-step links as flat (row, column, value) arrays when every linked
        # variable has one LP column (levels carry no segments), else None (see _lag_entries).
        self._lag_flat: tuple[IntArray, IntArray, FloatArray] | None = None
        if s.lags and all(int(np.max(per[c])) == 1 for _, c, _ in s.lags):
            ks = [np.arange(1, r.stop - r.start, dtype=np.int64) for r, _, _ in s.lags]
            self._lag_flat = (
                np.concatenate([r.start + k for (r, _, _), k in zip(s.lags, ks, strict=True)]),
                np.concatenate([c.start + k - 1 for (_, c, _), k in zip(s.lags, ks, strict=True)]),
                np.concatenate(
                    [np.full(k.shape[0], v) for (_, _, v), k in zip(s.lags, ks, strict=True)]
                ),
            )
        self._h: Any = None
        self._last: tuple[FloatArray, ...] = ()
        self._rot = 0
        self._lag_now: _Entries = _NO_ENTRIES
        #: A solution (logical variables) to start the first solve from, see :meth:`start_from`.
        self._start: FloatArray | None = None
        self.started_from_solution = False
        #: Models passed to HiGHS (1 while the structure lasts: later solves only update).
        self.models = 0

    def start_from(self, x: FloatArray) -> None:
        """Start the first (cold) solve from ``x``, e.g. the previous plan carried onto a new
        grid (:meth:`Structure.regrid`): HiGHS' ``setSolution`` where the version has it.

        Measured on case (a), 192 steps, starting from the optimum: 375 instead of 2 141
        simplex iterations, 15 instead of 47 ms. (``setBasis`` would need the basis read back
        through the bindings, ~6 ms, and mapped between layouts.)
        """
        self._start = np.asarray(x, dtype=np.float64)

    # ------------------------------------------------------------------ the ring
    def _ring_parts(self, series: list[tuple[int, int]]) -> tuple[IntArray, IntArray, IntArray]:
        """(index, block start, step) of every ring entry of the per-step blocks."""
        n, ring = self.structure.steps, self.ring
        idx, base, k = [], [], []
        if ring:
            kk = np.arange(ring, dtype=np.int64)
            for start, length in series:
                if length == n:
                    idx.append(start + kk)
                    base.append(np.full(ring, start, dtype=np.int64))
                    k.append(kk)
        if not idx:
            none = np.zeros(0, dtype=np.int64)
            return none, none, none
        return np.concatenate(idx), np.concatenate(base), np.concatenate(k)

    def _perm(self, series: list[tuple[int, int]], size: int, rot: int) -> IntArray:
        """``pos[j]``: the slot of logical index ``j`` (variables or rows) at rotation ``rot``."""
        pos = np.arange(size, dtype=np.int64)
        if not self.ring:
            return pos
        idx, base, k = self._ring_v if series is self.structure.var_series else self._ring_r
        pos[idx] = base + (k + rot) % self.ring
        return pos

    def _inv_perm(self, series: list[tuple[int, int]], size: int, rot: int) -> IntArray:
        """The inverse of :meth:`_perm`: the logical index in each slot."""
        return self._perm(series, size, -rot)

    def _lag_entries(self, rpos: IntArray, cpos: IntArray) -> _Entries:
        """LP entries of the step-to-step links at this layout: (keys, rows, columns, values)."""
        if self._lag_flat is not None:  # one LP column per linked variable: no repeats
            lr, lc, lv = self._lag_flat
            r = rpos[lr]
            c = self.first[cpos[lc]]
            return r * self.nlp + c, r, c, lv
        rows_l, cols_l, vals_l = [], [], []
        for rows, cols, val in self.structure.lags:
            k = np.arange(1, rows.stop - rows.start, dtype=np.int64)
            c = cpos[cols.start + k - 1]
            per = self.per[c]
            rows_l.append(np.repeat(rpos[rows.start + k], per))
            # Every LP column of the variable (one, unless it carries segments).
            rank = np.arange(int(per.sum())) - np.repeat(np.cumsum(per) - per, per)
            cols_l.append(np.repeat(self.first[c], per) + rank)
            vals_l.append(np.full(int(per.sum()), val))
        r = np.concatenate(rows_l) if rows_l else np.zeros(0, dtype=np.int64)
        c = np.concatenate(cols_l) if cols_l else np.zeros(0, dtype=np.int64)
        v = np.concatenate(vals_l) if vals_l else np.zeros(0)
        return r * self.nlp + c, r, c, v

    def _set_solution(self, highspy: Any, cpos: IntArray, lb: FloatArray, ub: FloatArray) -> bool:
        """Pass :attr:`_start` to HiGHS as a primal solution (feature-detected)."""
        h = self._h
        if self._start is None or not hasattr(h, "setSolution"):
            return False
        if not hasattr(highspy, "HighsSolution"):
            return False
        x_slot = np.empty_like(self._start)
        x_slot[cpos] = self._start
        v = x_slot[self.owner]
        off = self.seg * self.h
        width = np.where(self.last, np.inf, self.h)
        v = np.where(self.quad_col, np.clip(v - off, 0.0, width), v)
        v = np.clip(v, lb, ub)
        sol = highspy.HighsSolution()
        sol.col_value = v.tolist()
        sol.value_valid = True
        try:
            return bool(h.setSolution(sol) == highspy.HighsStatus.kOk)
        except (TypeError, RuntimeError):  # an older binding: start cold
            return False

    def rotation(self, nums: Numbers) -> int:
        """Slot of step 0: its absolute quarter modulo the ring."""
        if not self.ring:
            return 0
        return int((int(nums.edges[1]) // STEP_S - 1) % self.ring)

    def _vectors(self, nums: Numbers, cpos: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        inv = np.empty_like(cpos)
        inv[cpos] = np.arange(cpos.shape[0])
        return self._vectors_src(nums, inv[self.owner])

    def _vectors_src(
        self, nums: Numbers, src: IntArray
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """LP costs and bounds; ``src`` is the logical variable behind each LP column."""
        cost = nums.q[src] + self.slope
        lb, ub = nums.lb[src], nums.ub[src]
        qi, off, width = self._qc_idx, self._qc_off, self._qc_width
        lb[qi] = np.clip(lb[qi] - off, 0.0, width)
        ub[qi] = np.clip(ub[qi] - off, 0.0, width)
        return cost, lb, ub

    def solve(self, nums: Numbers, warm: Warm) -> SolveResult:
        highspy = _highspy()
        s = self.structure
        rot = self.rotation(nums)
        cpos = self._perm(s.var_series, s.nvar, rot)
        rpos = self._perm(s.row_series, s.nrow, rot)
        rinv = self._inv_perm(s.row_series, s.nrow, rot)
        lo, hi = nums.l[rinv], nums.u[rinv]
        cost, lb, ub = self._vectors_src(
            nums, self._inv_perm(s.var_series, s.nvar, rot)[self.owner]
        )
        t0 = time.perf_counter()
        if self._h is None:
            # The logical matrix laid out at this rotation: rows and columns permuted.
            A = s.A
            cols = np.repeat(np.arange(s.nvar, dtype=np.int64), np.diff(A.indptr))
            A_slot = Csc.from_coo(rpos[A.indices.astype(np.int64)], cpos[cols], A.data, A.shape)
            P = None
            if self.exact_qp:
                inv = np.empty_like(cpos)
                inv[cpos] = np.arange(cpos.shape[0])
                P = Csc.diag(s.pdiag[inv])
            self._h = _highs_model(A_slot.columns(self.owner), P, cost, lo, hi, lb, ub)
            self.models += 1
            self._h.setOptionValue("time_limit", self.time_limit)
            for key, value in self.highs_options.items():
                self._h.setOptionValue(key, value)
            self._rot = rot
            self._lag_now = self._lag_entries(rpos, cpos) if self.ring else _NO_ENTRIES
            if self._start is not None:
                self.started_from_solution = self._set_solution(highspy, cpos, lb, ub)
                self._start = None
        else:
            # Push only what changed: on the ring most quarters keep their data in place,
            # and each pybind call costs ~0.1 µs/entry.
            h = self._h
            if rot != self._rot:
                want = self._lag_entries(rpos, cpos)
                now = self._lag_now
                gone = ~_member(now[0], want[0])
                for ri, lp in zip(now[1][gone], now[2][gone], strict=True):
                    h.changeCoeff(int(ri), int(lp), 0.0)
                new = ~_member(want[0], now[0])
                for ri, lp, val in zip(want[1][new], want[2][new], want[3][new], strict=True):
                    h.changeCoeff(int(ri), int(lp), float(val))
                self._lag_now, self._rot = want, rot
            prev_cost, prev_lb, prev_ub, prev_l, prev_u = self._last
            idx = np.flatnonzero(cost != prev_cost).astype(np.int32)
            if idx.size:
                h.changeColsCost(idx.size, idx, cost[idx])
            idx = np.flatnonzero((lb != prev_lb) | (ub != prev_ub)).astype(np.int32)
            if idx.size:
                h.changeColsBounds(idx.size, idx, lb[idx], ub[idx])
            idx = np.flatnonzero((lo != prev_l) | (hi != prev_u)).astype(np.int32)
            if idx.size:
                h.changeRowsBounds(idx.size, idx, lo[idx], hi[idx])
        self._last = (cost, lb, ub, lo, hi)
        h = self._h
        h.run()
        elapsed = time.perf_counter() - t0
        status = h.getModelStatus()
        ok = status == highspy.HighsModelStatus.kOptimal
        # A list of floats: through array.array is the fastest copy into numpy (~20 % less
        # than fromiter, ~40 % less than asarray at 4k columns).
        x_lp = np.frombuffer(array.array("d", h.getSolution().col_value), dtype=np.float64)
        if x_lp.shape[0] == self.nlp:
            x_slot = np.bincount(self.owner, weights=x_lp, minlength=s.nvar)
            x: FloatArray = x_slot[cpos].astype(np.float64)
        else:
            x, ok = np.zeros(s.nvar), False
        info = h.getInfo()
        iters = int(info.qp_iteration_count) + int(info.simplex_iteration_count)
        return SolveResult(x, None, ok, h.modelStatusToString(status), iters, elapsed, self.name)


def _highspy() -> Any:
    """The highspy module, imported once (``import_module`` cost ~30 us per solve)."""
    global _HIGHSPY
    if _HIGHSPY is None:
        _HIGHSPY = importlib.import_module("highspy")
    return _HIGHSPY


_HIGHSPY: Any = None


def _member(a: IntArray, b: IntArray) -> NDArray[np.bool_]:
    """``np.isin(a, b)`` for int keys by a sorted search (isin took ~0.1 ms per call here)."""
    if b.shape[0] == 0:
        return np.zeros(a.shape[0], dtype=bool)
    sb = np.sort(b)
    i = np.minimum(np.searchsorted(sb, a), sb.shape[0] - 1)
    out: NDArray[np.bool_] = sb[i] == a
    return out


def solve_modes_milp(structure: Structure, nums: Numbers) -> tuple[FloatArray, float]:
    """Exact direction per asset and step from a MILP of the linear part of the model.

    Returns ``(x, seconds)``; ``x`` is the MILP solution in the QP's variable space. The
    quadratic terms (small by design) are left out because HiGHS solves MILPs, not MIQPs;
    the caller re-solves the QP with the directions fixed.
    """
    import highspy

    s = structure
    n = s.steps
    # Big-M per step: the most a step can move (its nominal length: coarse steps hold more).
    hstep = s.step_h
    pairs: list[tuple[slice, slice, FloatArray, FloatArray]] = [
        (s.imp, s.exp, s.site.grid.max_import_kw * hstep, s.site.grid.export_limit_kw * hstep)
    ]
    for st in s.stores:
        a = st.asset
        pairs.append((st.ch, st.dis, a.max_charge_kw * hstep, a.max_discharge_kw * hstep))
    nb = n * len(pairs)
    nv = s.nvar + nb
    k = np.arange(n, dtype=np.int64)
    rows, cols, vals = [], [], []
    hi_extra = []
    for p, (pos, neg, m_pos, m_neg) in enumerate(pairs):
        z = s.nvar + p * n + k
        r1 = s.nrow + 2 * p * n + k
        r2 = r1 + n
        # pos - M z <= 0 ; neg + M z <= M
        rows += [r1, r1, r2, r2]
        cols += [pos.start + k, z, neg.start + k, z]
        vals += [np.ones(n), -m_pos, np.ones(n), m_neg]
        hi_extra += [np.zeros(n), m_neg]
    base_cols = np.repeat(np.arange(s.nvar, dtype=np.int64), np.diff(s.A.indptr))
    A = Csc.from_coo(
        np.concatenate([s.A.indices.astype(np.int64), *rows]),
        np.concatenate([base_cols, *cols]),
        np.concatenate([s.A.data, *vals]),
        (s.nrow + 2 * nb, nv),
    )
    q = np.concatenate([nums.q, np.zeros(nb)])
    lo = np.concatenate([nums.l, np.full(2 * nb, -np.inf)])
    hi = np.concatenate([nums.u, *hi_extra])
    lb = np.concatenate([nums.lb, np.zeros(nb)])
    ub = np.concatenate([nums.ub, np.ones(nb)])
    t0 = time.perf_counter()
    h = _highs_model(A, None, q, lo, hi, lb, ub)
    h.setOptionValue("mip_rel_gap", 1e-6)
    h.setOptionValue("time_limit", 20.0)
    integrality = np.concatenate([np.zeros(s.nvar, dtype=np.int32), np.ones(nb, dtype=np.int32)])
    h.changeColsIntegrality(nv, np.arange(nv, dtype=np.int32), integrality)
    h.run()
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        raise SolverError(f"MILP direction fallback failed: {h.modelStatusToString(status)}")
    x = np.asarray(h.getSolution().col_value, dtype=np.float64)[: s.nvar]
    return x, time.perf_counter() - t0
