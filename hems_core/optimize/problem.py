"""Assembly of the MPC model as a sparse QP in standard form.

    minimise   ½ xᵀ P x + qᵀ x + const
    subject to l ≤ A x ≤ u,   lb ≤ x ≤ ub

:class:`Structure` builds ``P`` and ``A`` once per *configuration* (the site without its trips,
and the number of steps). Everything that changes between solves — prices, forecasts, SoC,
availability, departures, the running quarter, tariff state, step length of the partial first
step — lands in ``q, l, u, lb, ub`` (:meth:`Structure.numbers`). Two devices keep the matrices
fixed while the window slides:

- **Energies, not powers.** Variables are kWh per step, so the partial first step only changes
  bounds (``P_max · dt``), never coefficients. The quadratic power term uses the nominal
  15-min step for its weight (a deliberate approximation on the first step only).
- **Masking by bounds.** Rows whose membership changes as the window moves (which steps belong
  to which calendar month, hour or day) exist for every candidate slot; a row that does not
  apply gets ``l = -inf``. A step's import is split into "this hour" / "next hour" parts whose
  bounds say which one is used.

Assembly is vectorised: each constraint family is a handful of ``numpy`` index arrays turned
into one COO matrix, with Python loops only over assets and tariff slots, never over steps.

Variables are laid out as series of ``steps`` values followed by scalars, so a solution can be
shifted in time for a warm start (:meth:`Structure.shift`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from ..model import Ev, HomeBattery, Site
from ..timegrid import STEP_S, floor_quarter_s
from .inputs import (
    STEP_H,
    FloatArray,
    InputError,
    Inputs,
    State,
    local_calendar,
    step_edges,
    tiered_edges,
)

if TYPE_CHECKING:
    import scipy.sparse as sp

IntArray = NDArray[np.int64]

#: Penalty per kWh of departure shortfall (linear, EUR/kWh) and its small quadratic companion.
SHORTFALL_EUR_PER_KWH = 5.0
SHORTFALL_QUAD_EUR_PER_KWH2 = 0.05
#: Shortfalls up to this size are where the quadratic companion must be accurate (it spreads
#: an unavoidable shortfall over cars); piecewise-linear backends fit it over this range.
SHORTFALL_PWL_RANGE_KWH = 16.0
#: Cost per kWh of cutting PV that is declared non-curtailable (only when unavoidable).
FORCED_CURTAIL_EUR_PER_KWH = 2.0
#: Penalty per kWh imported above the grid limit (on top of the import price). Only allowed
#: where the house alone draws more than the limit minus PV, so a plan always exists: the grid
#: carries it anyway (or a fuse trips), and the plan says which steps need load shedding.
#: Above the shortfall penalty, so cars stop charging and storage discharges first.
OVER_LIMIT_EUR_PER_KWH = 10.0
#: Day slots (local dates) a 48-h horizon can touch (Swedish tariff; longer horizons get
#: one more per day) and month slots any horizon up to 72 h can touch.
DAY_SLOTS = 3
MONTH_SLOTS = 2
INF = np.inf


class _Alloc:
    """Hands out consecutive index ranges for variables or rows."""

    def __init__(self) -> None:
        self.size = 0
        self.series: list[tuple[int, int]] = []  # (start, length) of per-step blocks

    def block(self, length: int, *, series: bool = False) -> slice:
        s = slice(self.size, self.size + length)
        if series:
            self.series.append((self.size, length))
        self.size += length
        return s


class _Coo:
    """Collects sparse entries as index arrays."""

    def __init__(self) -> None:
        self.rows: list[IntArray] = []
        self.cols: list[IntArray] = []
        self.vals: list[FloatArray] = []
        #: Entries linking a step to the previous one, (rows, cols, value) per family: the
        #: only entries that cross steps (a backend that rotates steps must move them).
        self.lags: list[tuple[slice, slice, float]] = []

    def add(self, rows: IntArray, cols: IntArray, vals: float | FloatArray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        self.rows.append(rows)
        self.cols.append(cols)
        self.vals.append(np.broadcast_to(np.asarray(vals, dtype=np.float64), rows.shape).copy())

    def diag(self, rows: slice, cols: slice, vals: float | FloatArray) -> None:
        """Entry (rows[k], cols[k]) for every step k."""
        n = rows.stop - rows.start
        k = np.arange(n, dtype=np.int64)
        self.add(rows.start + k, cols.start + k, vals)

    def lag(self, rows: slice, cols: slice, val: float) -> None:
        """Entry (rows[k], cols[k-1]) for k >= 1 (the previous step's value)."""
        n = rows.stop - rows.start
        k = np.arange(1, n, dtype=np.int64)
        self.add(rows.start + k, cols.start + k - 1, val)
        self.lags.append((rows, cols, val))

    def matrix(self, nrows: int, ncols: int) -> Csc:
        if not self.rows:
            none = np.zeros(0, dtype=np.int64)
            return Csc.from_coo(none, none, np.zeros(0), (nrows, ncols))
        r = np.concatenate(self.rows)
        c = np.concatenate(self.cols)
        v = np.concatenate(self.vals)
        return Csc.from_coo(r, c, v, (nrows, ncols))


@dataclass(frozen=True, eq=False)
class Csc:
    """A compressed-sparse-column matrix as plain numpy arrays.

    Why not ``scipy.sparse``: importing it costs ~0.5 s on a small machine (it pulls in most of
    numpy's optional submodules), more than a whole cold solve. HiGHS takes these raw arrays;
    only the OSQP backend converts with :meth:`to_scipy` (its Python API requires scipy).
    Indices are sorted within each column and duplicates summed.
    """

    data: FloatArray
    indices: NDArray[np.int32]
    indptr: NDArray[np.int32]
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        return int(self.indptr[-1])

    @classmethod
    def from_coo(
        cls, rows: IntArray, cols: IntArray, vals: FloatArray, shape: tuple[int, int]
    ) -> Csc:
        """Build from triplets (duplicates are summed, like ``scipy.sparse.coo_matrix``)."""
        nrows, ncols = shape
        key = cols.astype(np.int64) * max(nrows, 1) + rows
        order = np.argsort(key, kind="stable")
        key = key[order]
        first = np.ones(key.shape[0], dtype=bool)
        first[1:] = key[1:] != key[:-1]
        group = np.cumsum(first) - 1
        data: FloatArray = np.zeros(int(first.sum()))
        np.add.at(data, group, vals[order])
        ukey = key[first]
        ucol = ukey // max(nrows, 1)
        indptr = np.zeros(ncols + 1, dtype=np.int32)
        np.cumsum(np.bincount(ucol, minlength=ncols), out=indptr[1:])
        indices = (ukey % max(nrows, 1)).astype(np.int32)
        return cls(data, indices, indptr, (nrows, ncols))

    @classmethod
    def diag(cls, d: FloatArray) -> Csc:
        """Diagonal matrix with the non-zero entries of ``d`` stored."""
        n = d.shape[0]
        idx = np.flatnonzero(d).astype(np.int64)
        return cls.from_coo(idx, idx, d[idx], (n, n))

    def columns(self, owner: IntArray) -> Csc:
        """The matrix whose column ``j`` is this matrix's column ``owner[j]``."""
        start, stop = self.indptr[owner], self.indptr[owner + 1]
        lengths = (stop - start).astype(np.int64)
        indptr = np.zeros(owner.shape[0] + 1, dtype=np.int32)
        np.cumsum(lengths, out=indptr[1:])
        # Source position of every output entry: its column's start plus its rank within it.
        rank = np.arange(int(indptr[-1]), dtype=np.int64) - np.repeat(indptr[:-1], lengths)
        src = np.repeat(start.astype(np.int64), lengths) + rank
        return Csc(self.data[src], self.indices[src], indptr, (self.shape[0], owner.shape[0]))

    def dot(self, x: FloatArray) -> FloatArray:
        """``A @ x`` (numpy only)."""
        cols: IntArray | None = self.__dict__.get("_cols")
        if cols is None:  # column of every entry, kept: the matrix does not change
            cols = np.repeat(np.arange(self.shape[1]), np.diff(self.indptr))
            object.__setattr__(self, "_cols", cols)
        out: FloatArray = np.bincount(
            self.indices, weights=self.data * x[cols], minlength=self.shape[0]
        ).astype(np.float64, copy=False)  # float64 already (weights): no copy
        return out

    def to_scipy(self) -> sp.csc_matrix:
        """The same matrix as ``scipy.sparse.csc_matrix`` (imports scipy)."""
        import scipy.sparse as sp

        return sp.csc_matrix((self.data, self.indices, self.indptr), shape=self.shape)


@dataclass
class StorageLayout:
    """Where one storage asset (EV or home battery) lives in the vectors."""

    name: str
    kind: Literal["ev", "battery"]
    asset: Ev | HomeBattery
    ch: slice
    dis: slice
    e: slice
    short: slice | None = None
    cal: list[slice] = field(default_factory=list)
    seg_e: list[slice] = field(default_factory=list)
    seg_out: list[slice] = field(default_factory=list)
    dyn_rows: slice | None = None
    link_rows: slice | None = None
    seg_rows: list[slice] = field(default_factory=list)
    short_rows: slice | None = None
    cal_rows: list[slice] = field(default_factory=list)
    budget_row: slice | None = None

    @property
    def capacity(self) -> float:
        return self.asset.capacity_kwh

    @property
    def eta_c(self) -> float:
        return self.asset.charge_efficiency

    @property
    def eta_d(self) -> float:
        return self.asset.discharge_efficiency


@dataclass(frozen=True, eq=False)
class Numbers:
    """The per-solve data of the QP plus what the Plan needs to explain it."""

    q: FloatArray
    l: FloatArray  # noqa: E741 - the standard QP name
    u: FloatArray
    lb: FloatArray
    ub: FloatArray
    const: float
    edges: IntArray
    dt: FloatArray
    available: dict[str, FloatArray]
    targets: dict[str, FloatArray]
    e0: dict[str, float]
    month_slot: IntArray
    peak_base: FloatArray
    top_const: float


def _without_trips(ev: Ev) -> Ev:
    return replace(ev, trips=())


_SITE_FIELDS = tuple(f.name for f in fields(Site) if f.compare and f.name != "evs")
_EV_FIELDS = tuple(f.name for f in fields(Ev) if f.compare and f.name != "trips")


def _same_fields(a: object, b: object, names: tuple[str, ...]) -> bool:
    for name in names:
        u, v = getattr(a, name), getattr(b, name)
        if u is not v and u != v:
            return False
    return True


def same_layout(a: Site, b: Site) -> bool:
    """Whether ``a`` and ``b`` give the same :func:`structure_key` (trips aside), compared
    field by field: building the key copies the site (and validates it again), which cost
    ~40 us per plan in a backtest where the control loop hands a new site object each time.
    A False may still be an equal key (the caller then builds both keys)."""
    if a is b:
        return True
    if type(a) is not type(b) or len(a.evs) != len(b.evs):
        return False
    if not _same_fields(a, b, _SITE_FIELDS):
        return False
    return all(
        type(u) is type(v) and _same_fields(u, v, _EV_FIELDS)
        for u, v in zip(a.evs, b.evs, strict=True)
    )


def structure_key(
    site: Site, steps: int, quarters: tuple[int, ...] | None = None
) -> tuple[object, ...]:
    """What determines ``P`` and ``A``: the site without trips, the horizon length and, on a
    multi-tier grid, the length of every step in quarters."""
    site_key = replace(site, evs=tuple(_without_trips(ev) for ev in site.evs))
    return (steps, site_key) if quarters is None else (steps, site_key, quarters)


class Structure:
    """The fixed part of the QP for one configuration (see module docstring).

    ``quarters`` (one int per step, step 0 the running quarter) makes a multi-tier grid:
    step ``k`` then spans ``quarters[k]`` clock quarters (see :mod:`.tiers`). The quadratic
    power weight and the month-peak coefficient scale with each step's nominal length, so
    they stay fixed; only the partial first step changes bounds.
    """

    def __init__(self, site: Site, steps: int, quarters: tuple[int, ...] | None = None) -> None:
        self.site = site
        self.steps = n = steps
        if quarters is not None and (len(quarters) != n or min(quarters) < 1):
            raise InputError(f"quarters must hold {n} step lengths >= 1")
        if quarters is not None and all(qk == 1 for qk in quarters):
            quarters = None  # the plain 15-minute grid
        if quarters is not None and site.top_peaks_tariff is not None:
            raise InputError("the Swedish top-peaks tariff needs the plain 15-minute grid")
        self.quarters = quarters
        #: Whether :meth:`numbers` takes inputs shorter than ``steps`` (plain 15-minute grid,
        #: not the Swedish tariff, whose hour rows depend on the length): the missing tail
        #: becomes zero-length steps with nothing to decide, so one structure serves every
        #: horizon up to ``steps`` (a backtest's horizon shrinks towards the last published
        #: price each quarter) and the solver keeps its model and basis.
        self.pads = quarters is None and site.top_peaks_tariff is None
        #: Nominal length of every step in hours (the partial first step counts as whole).
        self.step_h: FloatArray = STEP_H * (
            np.ones(n) if quarters is None else np.asarray(quarters, dtype=np.float64)
        )
        self.key = structure_key(site, steps, quarters)
        #: The last site :meth:`numbers` found to match ``key``: the next one is compared
        #: with it field by field (:func:`same_layout`) before a key is built.
        self._site_ok: Site | None = site
        v, r, a = _Alloc(), _Alloc(), _Coo()
        # (variables, P_ii, nominal range kWh), per step or scalar
        pdiag: list[tuple[slice, float | FloatArray, float | FloatArray]] = []
        hstep = self.step_h

        self.imp = v.block(n, series=True)
        self.exp = v.block(n, series=True)
        self.cur = v.block(n, series=True)
        #: Import above the limit (see OVER_LIMIT_EUR_PER_KWH); bounded to 0 unless needed.
        self.over = v.block(n, series=True)
        self.bal_rows = r.block(n, series=True)
        a.diag(self.bal_rows, self.imp, 1.0)
        a.diag(self.bal_rows, self.over, 1.0)
        a.diag(self.bal_rows, self.exp, -1.0)
        a.diag(self.bal_rows, self.cur, -1.0)
        #: "V2H only" (``Site.allow_export_from_storage`` False): ``export + curtail <= pv``
        #: per step, i.e. export never exceeds the PV actually produced, so storage discharge
        #: and import only serve load and charging. The PV forecast is the row's upper bound.
        self.export_rows: slice | None = None
        if not site.allow_export_from_storage:
            self.export_rows = r.block(n, series=True)
            a.diag(self.export_rows, self.exp, 1.0)
            a.diag(self.export_rows, self.cur, 1.0)

        self.stores: list[StorageLayout] = []
        assets: list[tuple[Literal["ev", "battery"], Ev | HomeBattery]] = [
            ("ev", ev) for ev in site.evs
        ]
        if site.battery is not None:
            assets.append(("battery", site.battery))
        for kind, asset in assets:
            st = StorageLayout(
                name=asset.name,
                kind=kind,
                asset=asset,
                ch=v.block(n, series=True),
                dis=v.block(n, series=True),
                e=v.block(n, series=True),
            )
            a.diag(self.bal_rows, st.dis, 1.0)
            a.diag(self.bal_rows, st.ch, -1.0)
            w = asset.wear
            if w.quadratic_eur_per_kw2h > 0:
                # w * P^2 * dt with P = E / dt at the nominal step: w / dt * E^2; P = 2 w / dt.
                pw: FloatArray = np.asarray(
                    2.0 * w.quadratic_eur_per_kw2h / hstep, dtype=np.float64
                )
                pdiag.append((st.ch, pw, asset.max_charge_kw * hstep))
                pdiag.append((st.dis, pw, asset.max_discharge_kw * hstep))
            st.dyn_rows = r.block(n, series=True)
            a.diag(st.dyn_rows, st.e, 1.0)
            a.lag(st.dyn_rows, st.e, -1.0)
            a.diag(st.dyn_rows, st.ch, -st.eta_c)
            a.diag(st.dyn_rows, st.dis, 1.0 / st.eta_d)
            if w.dod_segments:
                # DoD slices (Xu et al. 2018) in epigraph form: the slices sum to the energy,
                # and ``out_j >= slice_j[k-1] - slice_j[k]`` is what leaves slice j (priced c_j).
                # Moving energy between slices only adds cost, so this equals the in/out form.
                st.link_rows = r.block(n, series=True)
                a.diag(st.link_rows, st.e, 1.0)
                for _ in range(w.dod_segments):
                    se, so = v.block(n, series=True), v.block(n, series=True)
                    st.seg_e.append(se)
                    st.seg_out.append(so)
                    rows = r.block(n, series=True)
                    st.seg_rows.append(rows)
                    a.diag(st.link_rows, se, -1.0)
                    a.diag(rows, so, 1.0)
                    a.diag(rows, se, 1.0)
                    a.lag(rows, se, -1.0)
            if kind == "ev":
                st.short = v.block(n, series=True)
                st.short_rows = r.block(n, series=True)
                a.diag(st.short_rows, st.e, 1.0)
                a.diag(st.short_rows, st.short, 1.0)
                short_range = min(asset.capacity_kwh, SHORTFALL_PWL_RANGE_KWH)
                pdiag.append((st.short, 2.0 * SHORTFALL_QUAD_EUR_PER_KWH2, short_range))
                assert isinstance(asset, Ev)
                if asset.v2h_budget_kwh is not None:
                    st.budget_row = r.block(1)
                    k = np.arange(n, dtype=np.int64)
                    a.add(np.full(n, st.budget_row.start), st.dis.start + k, 1.0)
            for _thr in w.calendar:
                cs = v.block(n, series=True)
                rows = r.block(n, series=True)
                st.cal.append(cs)
                st.cal_rows.append(rows)
                a.diag(rows, cs, 1.0)
                a.diag(rows, st.e, -1.0)
            self.stores.append(st)

        # Monthly peak: one peak variable per month slot, a masked row per (slot, step).
        self.peak: slice | None = None
        self.peak_rows: list[slice] = []
        if site.peak_tariff is not None:
            self.peak = v.block(MONTH_SLOTS)
            for m in range(MONTH_SLOTS):
                rows = r.block(n, series=True)
                self.peak_rows.append(rows)
                a.diag(rows, self.imp, -1.0)
                a.diag(rows, self.over, -1.0)
                # Nominal step length: the mean power of a (multi-quarter) step is its peak.
                a.add(np.arange(rows.start, rows.stop), np.full(n, self.peak.start + m), hstep)

        # Swedish top-k daily hourly peaks (see module docstring for the masking).
        self.top: _TopLayout | None = None
        if site.top_peaks_tariff is not None:
            self.top = _TopLayout.build(site, n, v, r, a, (self.imp, self.over))

        self.nvar = v.size
        self.nrow = r.size
        self.var_series = v.series
        self.row_series = r.series
        self.A = a.matrix(r.size, v.size)
        self.lags = a.lags
        pd = np.zeros(v.size)
        #: Nominal range of each quadratic variable (for piecewise-linear LP backends).
        self.quad_range = np.zeros(v.size)
        for s, val, rng in pdiag:
            pd[s] += val
            self.quad_range[s] = rng
        # Epigraph variables (calendar excess, DoD slice outflow, shortfall, month peak): each
        # is priced, bounded below by ">=" rows in which it is the only such variable.
        epi: list[int] = []
        for st in self.stores:
            for sl in [*st.cal, *st.seg_out, *([st.short] if st.short is not None else [])]:
                epi.extend(range(sl.start, sl.stop))
        if self.peak is not None:
            epi.extend(range(self.peak.start, self.peak.stop))
        self._epi = self._epigraph_entries(np.asarray(epi, dtype=np.int64))
        #: Per-step blocks that are levels at the step's end (energies, their hinges and
        #: shortfalls) rather than flows within the step (see :meth:`regrid`).
        self.levels: list[slice] = []
        for st in self.stores:
            self.levels += [st.e, *st.seg_e, *st.cal]
            if st.short is not None:
                self.levels.append(st.short)
        #: ``P`` is diagonal (separable quadratic terms); stored entries are the non-zero ones.
        self.P = Csc.diag(pd)
        self.pdiag = pd
        #: Caches of :meth:`numbers` (see :meth:`_template`, :meth:`_quarter_offsets`).
        self._tmpl: tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray] | None = None
        self._qoff: IntArray | None = None
        self._series: tuple[IntArray, IntArray, IntArray, NDArray[np.bool_]] | None = None

    def fits(self, site: Site) -> bool:
        """Whether ``site`` has this structure's :func:`structure_key` (for these steps).

        Compared field by field with the last site that fitted (:func:`same_layout`) before
        a key is built: building one copies and validates the site again (~40 us)."""
        if self._site_ok is not None and same_layout(site, self._site_ok):
            ok = True
        else:
            ok = structure_key(site, self.steps, self.quarters) == self.key
        if ok:
            self._site_ok = site
        return ok

    # ------------------------------------------------------------------ per-solve numbers
    def _template(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]:
        """``q, lb, ub, l, u`` holding every entry that depends on the structure's site
        alone (wear prices, DoD slice widths, fixed rows, tariff prices), already snapped.

        :meth:`numbers` starts from copies of these and writes only what the inputs and the
        state move, which is most of its saving over :meth:`numbers_scratch`: a backtest
        calls it every quarter, and each numpy call on these tiny arrays costs microseconds.
        The site is fixed by the structure key (trips aside), so these never go stale.
        """
        if self._tmpl is not None:
            return self._tmpl
        site = self.site
        q = np.zeros(self.nvar)
        lb = np.zeros(self.nvar)
        ub = np.full(self.nvar, INF)
        lo = np.full(self.nrow, -INF)
        hi = np.full(self.nrow, INF)
        if site.pv is not None and not site.pv.curtailable:
            q[self.cur] = FORCED_CURTAIL_EUR_PER_KWH
        for st in self.stores:
            asset = st.asset
            cap = asset.capacity_kwh
            w = asset.wear
            q[st.ch] += w.throughput_eur_per_kwh
            q[st.dis] += w.throughput_eur_per_kwh
            if st.link_rows is not None:
                lo[st.link_rows] = hi[st.link_rows] = 0.0
                nseg = len(st.seg_e)
                width = cap / nseg
                costs = w.dod_costs(cap)
                for j in range(nseg):
                    ub[st.seg_e[j]] = width
                    q[st.seg_out[j]] += costs[j]
                    lo[st.seg_rows[j]] = 0.0
            if st.short is not None:
                q[st.short] = SHORTFALL_EUR_PER_KWH
            if st.budget_row is not None:
                assert isinstance(asset, Ev)
                assert asset.v2h_budget_kwh is not None
                hi[st.budget_row] = asset.v2h_budget_kwh
            for thr, rows in zip(w.calendar, st.cal_rows, strict=True):
                lo[rows] = -thr.soc * cap
        pt = site.peak_tariff
        if pt is not None and self.peak is not None:
            q[self.peak] = pt.eur_per_kw_month
        for vec in (lb, ub, lo, hi):
            vec[np.abs(vec) < 1e-9] = 0.0
        self._tmpl = (q, lb, ub, lo, hi)
        return self._tmpl

    def numbers(self, site: Site, inputs: Inputs, state: State) -> Numbers:
        """Fill ``q, l, u, lb, ub`` for one solve (vectorised over steps).

        The same values as :meth:`numbers_scratch` (bit for bit, tested over shifted,
        re-priced and re-tripped sequences), from the cached :meth:`_template` plus only
        the entries the inputs and state move, with fewer numpy calls: in a backtest this
        runs for every quarter (solved or shifted), ~2 700 times in 28 days.
        """
        n = self.steps
        m = inputs.steps  # real steps; the rest (if any) is inert padding
        if m != n and not (m < n and self.pads):
            raise InputError(f"inputs have {inputs.steps} steps, structure expects {n}")
        if not self.fits(site):
            raise InputError("site configuration differs from the assembled structure")
        if self.quarters is None:
            # Clock quarters from the running one; the padding repeats the last real edge.
            start_s = int(inputs.start.timestamp())
            edges = floor_quarter_s(start_s) + self._quarter_offsets()
            edges[0] = start_s
            if m < n:
                edges[m + 1 :] = edges[m]
            edges_m = edges[: m + 1]
            dt: FloatArray = (edges[1:] - edges[:-1]).astype(np.float64)  # = np.diff
            dt /= 3600.0
        else:
            edges, dt = tiered_edges(inputs.start, np.asarray(self.quarters, dtype=np.int64))
            edges_m = edges
        # Padding (see :attr:`pads`): zero-length steps at the horizon's end. With dt = 0
        # every flow bound, load, PV and calendar cost is 0 there, so energies stay at
        # their last real value and the objective equals the unpadded model's.
        cap_kw, tf_in = inputs.import_cap_kw, inputs.temperature_factor
        if m < n:
            ser = np.zeros((4 + (cap_kw is not None), n))
            ser[0, :m] = inputs.import_price
            ser[1, :m] = inputs.export_price
            ser[2, :m] = inputs.load_kw
            ser[3, :m] = inputs.pv_kw
            imp_price, exp_price, load_kw, pv_kw = ser[0], ser[1], ser[2], ser[3]
            if cap_kw is not None:
                ser[4, :m] = cap_kw
                cap_kw = ser[4]
            if tf_in is not None:
                tf_pad = np.ones(n)
                tf_pad[:m] = tf_in
                tf_in = tf_pad
        else:
            imp_price, exp_price = inputs.import_price, inputs.export_price
            load_kw, pv_kw = inputs.load_kw, inputs.pv_kw
        q0, lb0, ub0, lo0, hi0 = self._template()
        q, lb, ub, lo, hi = q0.copy(), lb0.copy(), ub0.copy(), lo0.copy(), hi0.copy()
        const = 0.0

        grid = site.grid
        if cap_kw is not None:
            ub_imp = np.minimum(np.full(n, grid.max_import_kw), cap_kw) * dt
        else:
            ub_imp = grid.max_import_kw * dt
        ub[self.imp] = ub_imp
        pv_e = pv_kw * dt if site.pv is not None else np.zeros(n)
        ub[self.cur] = pv_e
        q[self.imp] = imp_price
        q[self.exp] = -exp_price
        if self.export_rows is not None:
            hi[self.export_rows] = pv_e
            ub[self.exp] = np.minimum(grid.export_limit_kw * dt, pv_e)
        else:
            ub[self.exp] = grid.export_limit_kw * dt
        net = load_kw * dt - pv_e
        lo[self.bal_rows] = hi[self.bal_rows] = net
        excess = np.maximum(net - ub_imp, 0.0)
        ub[self.over] = excess
        q[self.over] = np.where(excess > 0, imp_price + OVER_LIMIT_EUR_PER_KWH, 0.0)

        tval = inputs.terminal_value()
        available: dict[str, FloatArray] = {}
        targets: dict[str, FloatArray] = {}
        e0s: dict[str, float] = {}
        plain = self.quarters is None
        for st in self.stores:
            asset = st.asset
            cap = asset.capacity_kwh
            if isinstance(asset, Ev):
                if asset.name not in state.ev_soc:
                    raise InputError(f"state.ev_soc has no value for EV {asset.name!r}")
                soc0 = float(state.ev_soc[asset.name])
                avail, trip_e, target = _ev_schedule(
                    site.evs[[e.name for e in site.evs].index(asset.name)],
                    edges_m,
                    state.ev_plugged.get(asset.name),
                    steps=n,
                    plain=plain,
                )
                floor = asset.min_soc * cap
                top = asset.max_soc * cap
                dmax = asset.max_discharge_kw if asset.bidirectional else 0.0
            else:
                if state.battery_soc is None:
                    raise InputError("state.battery_soc is required: the site has a battery")
                soc0 = float(state.battery_soc)
                avail = np.ones(n)
                trip_e = np.zeros(n)
                target = np.full(n, -INF)
                floor = asset.reserve_soc * cap
                top = asset.max_soc * cap
                dmax = asset.max_discharge_kw
            e0 = soc0 * cap
            e0s[st.name] = e0
            available[st.name] = avail
            ub[st.ch] = asset.max_charge_kw * avail * dt
            ub[st.dis] = dmax * avail * dt
            # Hard energy bounds admit the idle trajectory (see numbers_scratch).
            used = np.cumsum(trip_e)
            e_idle = e0 - used
            if isinstance(asset, Ev):
                target = np.maximum(target, np.where(e_idle < floor, floor, -INF))
                target[m:] = -INF
            targets[st.name] = target
            tgt_max = np.maximum.accumulate(target[::-1])[::-1]
            carry = np.maximum.accumulate(target + used) - used
            e_lo = np.minimum(floor, e_idle)
            e_hi = np.minimum(cap, np.maximum(np.maximum(np.maximum(top, e_idle), tgt_max), carry))
            e_lo[m:], e_hi[m:] = e_lo[m - 1], e_hi[m - 1]  # padding holds the last energy
            lb[st.e], ub[st.e] = e_lo, e_hi
            q[st.e.stop - 1] -= tval
            assert st.dyn_rows is not None
            rhs = -trip_e
            rhs[0] += e0
            lo[st.dyn_rows] = hi[st.dyn_rows] = rhs
            if st.link_rows is not None:
                nseg = len(st.seg_e)
                width = cap / nseg
                depth_edges = np.asarray(cap - width * np.arange(1, nseg + 1), dtype=np.float64)
                seg0 = _clip(e0 - depth_edges, 0.0, width)
                for j in range(nseg):
                    lo[st.seg_rows[j].start] = seg0[j]
                lb[st.seg_e[-1]] = np.minimum(0.0, lb[st.e])
            if st.short is not None and st.short_rows is not None:
                lo[st.short_rows] = target
            cal_q: dict[float, FloatArray] = {}
            for thr, cs in zip(asset.wear.calendar, st.cal, strict=True):
                c = thr.eur_per_kwh_h
                if c not in cal_q:
                    cal_q[c] = c * dt * tf_in if tf_in is not None else c * dt
                q[cs] = cal_q[c]

        month_slot = np.zeros(n, dtype=np.int64)
        peak_base = np.zeros(MONTH_SLOTS)
        pt = site.peak_tariff
        if pt is not None and self.peak is not None:
            month, _, _ = local_calendar(pt.tz, edges_m[:-1])
            month_slot = month - month[0]
            # A multi-quarter step that reaches into the next month counts for both peaks.
            month_end, _, _ = local_calendar(pt.tz, edges_m[1:] - 1)
            also_next = (month_end - month[0] == 1) & (month_slot == 0)
            if m < n:
                month_slot = np.concatenate([month_slot, np.full(n - m, month_slot[-1])])
                also_next = np.concatenate([also_next, np.zeros(n - m, dtype=bool)])
            peak_base[0] = max(state.month_peak_kw, pt.floor_kw)
            peak_base[1] = pt.floor_kw
            lb[self.peak] = peak_base
            if not np.any(month_slot == 1) and not np.any(also_next):
                ub[self.peak.start + 1] = pt.floor_kw
            const -= pt.eur_per_kw_month * float(peak_base.sum())
            room = _margin_kwh(inputs.peak_margin_kw, dt, m)
            for mi, rows in enumerate(self.peak_rows):
                prhs = np.where((month_slot == mi) | (also_next & (mi == 1)), room, -INF)
                if month_slot[0] == mi:
                    prhs[0] = state.quarter_import_kwh + room[0]
                lo[rows] = prhs
        top_const = 0.0
        if self.top is not None:
            top_const = self.top.numbers(site, edges, state, q, lb, ub, lo, hi)
            const += top_const
        # Sub-micro bounds (denormal limits, rounding) only hurt solver scaling: snap to 0.
        for vec in (lb, ub, lo, hi):
            vec[np.abs(vec) < 1e-9] = 0.0
        return Numbers(
            q=q,
            l=lo,
            u=hi,
            lb=lb,
            ub=ub,
            const=const,
            edges=edges,
            dt=dt,
            available=available,
            targets=targets,
            e0=e0s,
            month_slot=month_slot,
            peak_base=peak_base,
            top_const=top_const,
        )

    def _quarter_offsets(self) -> IntArray:
        """``STEP_S * [0, 1, …, steps]`` (kept: every plain-grid :meth:`numbers` adds it)."""
        if self._qoff is None:
            self._qoff = STEP_S * np.arange(self.steps + 1, dtype=np.int64)
        return self._qoff

    def numbers_scratch(self, site: Site, inputs: Inputs, state: State) -> Numbers:
        """:meth:`numbers` computed from scratch, step by step of the model's rules: the
        reference the fast path is tested against (not used by the planner)."""
        n = self.steps
        m = inputs.steps  # real steps; the rest (if any) is inert padding
        if m != n and not (m < n and self.pads):
            raise InputError(f"inputs have {inputs.steps} steps, structure expects {n}")
        if not self.fits(site):
            raise InputError("site configuration differs from the assembled structure")
        if self.quarters is None:
            edges_m, dt_m = step_edges(inputs.start, m)
        else:
            edges_m, dt_m = tiered_edges(inputs.start, np.asarray(self.quarters, dtype=np.int64))
        edges, dt = edges_m, dt_m
        imp_price, exp_price = inputs.import_price, inputs.export_price
        load_kw, pv_kw, cap_kw = inputs.load_kw, inputs.pv_kw, inputs.import_cap_kw
        tf_in = inputs.temperature_factor
        if m < n:
            # Padding (see :attr:`pads`): zero-length steps at the horizon's end. With dt = 0
            # every flow bound, load, PV and calendar cost is 0 there, so energies stay at
            # their last real value and the objective equals the unpadded model's.
            edges = np.concatenate([edges_m, np.full(n - m, edges_m[-1], dtype=np.int64)])
            dt = np.concatenate([dt_m, np.zeros(n - m)])

            def pad(arr: FloatArray, fill: float) -> FloatArray:
                return np.concatenate([arr, np.full(n - m, fill)])

            imp_price, exp_price = pad(imp_price, 0.0), pad(exp_price, 0.0)
            load_kw, pv_kw = pad(load_kw, 0.0), pad(pv_kw, 0.0)
            cap_kw = None if cap_kw is None else pad(cap_kw, 0.0)
            tf_in = None if tf_in is None else pad(tf_in, 1.0)
        q = np.zeros(self.nvar)
        lb = np.zeros(self.nvar)
        ub = np.full(self.nvar, INF)
        lo = np.full(self.nrow, -INF)
        hi = np.full(self.nrow, INF)
        const = 0.0

        grid = site.grid
        imp_cap = np.full(n, grid.max_import_kw)
        if cap_kw is not None:
            imp_cap = np.minimum(imp_cap, cap_kw)
        ub[self.imp] = imp_cap * dt
        ub[self.exp] = grid.export_limit_kw * dt
        pv_e = pv_kw * dt if site.pv is not None else np.zeros(n)
        # Non-curtailable PV may still be cut when nothing else balances (an inverter trips or
        # derates on its own); the penalty makes that a last resort and keeps the QP feasible.
        ub[self.cur] = pv_e
        if site.pv is not None and not site.pv.curtailable:
            q[self.cur] = FORCED_CURTAIL_EUR_PER_KWH
        q[self.imp] = imp_price
        q[self.exp] = -exp_price
        if self.export_rows is not None:
            hi[self.export_rows] = pv_e
            # Implied by the row, but a bound is met exactly by OSQP (rows only to its
            # tolerance; without it OSQP plans of a PV-less battery site drifted by 1e-2 kWh)
            # and repair's clipping keeps exports within it.
            ub[self.exp] = np.minimum(ub[self.exp], pv_e)
        lo[self.bal_rows] = hi[self.bal_rows] = load_kw * dt - pv_e
        # More load than the limit can carry even with PV: the excess may be imported, at a
        # penalty. Zero price where it is not allowed, so the penalty never sets ``|q|``.
        excess = np.maximum(load_kw * dt - pv_e - ub[self.imp], 0.0)
        ub[self.over] = excess
        q[self.over] = np.where(excess > 0, imp_price + OVER_LIMIT_EUR_PER_KWH, 0.0)

        tval = inputs.terminal_value()
        tf = tf_in if tf_in is not None else np.ones(n)
        available: dict[str, FloatArray] = {}
        targets: dict[str, FloatArray] = {}
        e0s: dict[str, float] = {}
        for st in self.stores:
            asset = st.asset
            cap = asset.capacity_kwh
            if isinstance(asset, Ev):
                if asset.name not in state.ev_soc:
                    raise InputError(f"state.ev_soc has no value for EV {asset.name!r}")
                soc0 = float(state.ev_soc[asset.name])
                avail, trip_e, target = _ev_schedule(
                    site.evs[[e.name for e in site.evs].index(asset.name)],
                    edges_m,
                    state.ev_plugged.get(asset.name),
                )
                if m < n:  # away and no trips or targets in the padding
                    avail = np.concatenate([avail, np.zeros(n - m)])
                    trip_e = np.concatenate([trip_e, np.zeros(n - m)])
                    target = np.concatenate([target, np.full(n - m, -INF)])
                floor = asset.min_soc * cap
                top = asset.max_soc * cap
                dmax = asset.max_discharge_kw if asset.bidirectional else 0.0
            else:
                if state.battery_soc is None:
                    raise InputError("state.battery_soc is required: the site has a battery")
                soc0 = float(state.battery_soc)
                avail = np.ones(n)
                trip_e = np.zeros(n)
                target = np.full(n, -INF)
                floor = asset.reserve_soc * cap
                top = asset.max_soc * cap
                dmax = asset.max_discharge_kw
            e0 = soc0 * cap
            e0s[st.name] = e0
            available[st.name] = avail
            targets[st.name] = target
            cmax = asset.max_charge_kw * avail * dt
            dismax = dmax * avail * dt
            ub[st.ch] = cmax
            ub[st.dis] = dismax
            # Reachable envelope (exact where it matters, see _reach) keeps hard bounds feasible.
            # Hard energy bounds must admit the idle trajectory (no charge, no discharge), which
            # the grid can always carry: a car that arrives below its floor or above its window
            # is not made infeasible; it may only move towards the window. An EV below its
            # floor gets the floor as a soft target instead (charged as soon as it pays the
            # shortfall penalty, i.e. at once).
            e_idle = e0 - np.cumsum(trip_e)
            if isinstance(asset, Ev):
                target = np.maximum(target, np.where(e_idle < floor, floor, -INF))
                target[m:] = -INF
                targets[st.name] = target
            tgt_max = np.maximum.accumulate(target[::-1])[::-1]
            # A target above ``top`` is carried past its departure, less the trips since
            # (the car cannot shed energy while away): otherwise it would be unreachable.
            used = np.cumsum(trip_e)
            carry = np.maximum.accumulate(target + used) - used
            e_lo = np.minimum(floor, e_idle)
            e_hi = np.minimum(cap, np.maximum.reduce([np.full(n, top), e_idle, tgt_max, carry]))
            e_lo[m:], e_hi[m:] = e_lo[m - 1], e_hi[m - 1]  # padding holds the last energy
            lb[st.e], ub[st.e] = e_lo, e_hi
            w = asset.wear
            q[st.ch] += w.throughput_eur_per_kwh
            q[st.dis] += w.throughput_eur_per_kwh
            q[st.e.stop - 1] -= tval
            assert st.dyn_rows is not None
            rhs = -trip_e.copy()
            rhs[0] += e0
            lo[st.dyn_rows] = hi[st.dyn_rows] = rhs
            if st.link_rows is not None:
                lo[st.link_rows] = hi[st.link_rows] = 0.0
                nseg = len(st.seg_e)
                width = cap / nseg
                # Fill slices from the deepest: slice j (0 = shallowest) holds what lies above
                # the depth j+1 edge.
                depth_edges = np.asarray(cap - width * np.arange(1, nseg + 1), dtype=np.float64)
                seg0 = np.clip(e0 - depth_edges, 0.0, width)
                costs = w.dod_costs(cap)
                for j in range(nseg):
                    ub[st.seg_e[j]] = width
                    q[st.seg_out[j]] += costs[j]
                    rows = st.seg_rows[j]
                    lo[rows] = 0.0
                    lo[rows.start] = seg0[j]
                # A trip longer than the stored energy shows as negative energy in the deepest
                # slice instead of making the plan infeasible (see the idle-trajectory note).
                lb[st.seg_e[-1]] = np.minimum(0.0, lb[st.e])
            if st.short is not None and st.short_rows is not None:
                q[st.short] = SHORTFALL_EUR_PER_KWH
                lo[st.short_rows] = target
            if st.budget_row is not None:
                assert isinstance(asset, Ev)
                assert asset.v2h_budget_kwh is not None
                hi[st.budget_row] = asset.v2h_budget_kwh
            for thr, cs, rows in zip(w.calendar, st.cal, st.cal_rows, strict=True):
                q[cs] = thr.eur_per_kwh_h * dt * tf
                lo[rows] = -thr.soc * cap

        month_slot = np.zeros(n, dtype=np.int64)
        peak_base = np.zeros(MONTH_SLOTS)
        pt = site.peak_tariff
        if pt is not None and self.peak is not None:
            month, _, _ = local_calendar(pt.tz, edges_m[:-1])
            month_slot = month - month[0]
            # A multi-quarter step that reaches into the next month counts for both peaks.
            month_end, _, _ = local_calendar(pt.tz, edges_m[1:] - 1)
            also_next = (month_end - month[0] == 1) & (month_slot == 0)
            if m < n:
                month_slot = np.concatenate([month_slot, np.full(n - m, month_slot[-1])])
                also_next = np.concatenate([also_next, np.zeros(n - m, dtype=bool)])
            peak_base[0] = max(state.month_peak_kw, pt.floor_kw)
            peak_base[1] = pt.floor_kw
            lb[self.peak] = peak_base
            if not np.any(month_slot == 1) and not np.any(also_next):
                ub[self.peak.start + 1] = pt.floor_kw
            q[self.peak] = pt.eur_per_kw_month
            const -= pt.eur_per_kw_month * float(peak_base.sum())
            room = np.zeros(n)
            if inputs.peak_margin_kw is not None:
                room[:m] = inputs.peak_margin_kw * dt[:m]
            for mslot, rows in enumerate(self.peak_rows):
                rhs = np.where((month_slot == mslot) | (also_next & (mslot == 1)), room, -INF)
                if month_slot[0] == mslot:
                    rhs[0] = state.quarter_import_kwh + room[0]
                lo[rows] = rhs
        top_const = 0.0
        if self.top is not None:
            top_const = self.top.numbers(site, edges, state, q, lb, ub, lo, hi)
            const += top_const
        # Sub-micro bounds (denormal limits, rounding) only hurt solver scaling: snap to 0.
        for vec in (lb, ub, lo, hi):
            vec[np.abs(vec) < 1e-9] = 0.0
        return Numbers(
            q=q,
            l=lo,
            u=hi,
            lb=lb,
            ub=ub,
            const=const,
            edges=edges,
            dt=dt,
            available=available,
            targets=targets,
            e0=e0s,
            month_slot=month_slot,
            peak_base=peak_base,
            top_const=top_const,
        )

    def _epigraph_entries(self, cols: IntArray) -> tuple[IntArray, IntArray, FloatArray]:
        """(variable, row, coefficient) of every entry of the epigraph columns."""
        A = self.A
        lengths = (A.indptr[cols + 1] - A.indptr[cols]).astype(np.int64)
        var = np.repeat(cols, lengths)
        pos = np.concatenate(
            [np.arange(A.indptr[c], A.indptr[c + 1], dtype=np.int64) for c in cols]
            or [np.zeros(0, dtype=np.int64)]
        )
        return var, A.indices[pos].astype(np.int64), A.data[pos]

    def tighten(self, x: FloatArray, nums: Numbers) -> FloatArray:
        """Lower every epigraph variable that exceeds the least value its rows allow to it.

        Each such variable is priced (or penalised) and only bounded below, so for the other
        variables fixed this is exactly optimal and keeps every row satisfied. It matters for
        first-order solvers: a cost coefficient below their dual tolerance (calendar ageing
        is ~1e-3 EUR/kWh per step) leaves the variable visibly slack, and the plan would
        report (and the solver would have optimised against) wear that does not happen.
        """
        var, row, coef = self._epi
        if var.shape[0] == 0:
            return x
        out = x.copy()
        out[var] = 0.0
        rest = self.A.dot(out)[row]  # the row without its epigraph term
        need = np.where(np.isfinite(nums.l[row]), (nums.l[row] - rest) / coef, -INF)
        least = nums.lb.copy()
        np.maximum.at(least, var, need)
        # Only ever lowered: raising one that undercuts its row (by the solver's primal
        # tolerance) would make the plan's rows exact but is not what was optimised.
        out[var] = np.minimum(x[var], np.maximum(least[var], nums.lb[var]))
        return out

    def repair(self, x: FloatArray, nums: Numbers) -> FloatArray | None:
        """Make a first-order solution exactly feasible, or None where this cannot.

        OSQP stops at a primal residual relative to the largest row activity (stored energies
        of tens of kWh), so its energies drift from the charge/discharge it plans by up to a
        few 1e-2 kWh and the balance rows are off by as much: the reported cost can then lie
        *below* the optimum. Replayed in the order the physics runs — powers clipped to their
        bounds, energies integrated from them (powers trimmed where an energy bound would be
        crossed), DoD slices refilled to the energy, grid import/export absorbing the balance,
        every epigraph variable set to exactly the least value its rows allow — the result
        satisfies every row to rounding. Under "V2H only" discharge is first capped at what
        the load and the charging absorb, and import passed through to export is netted.
        Families this does not model (Swedish top-k, the V2H budget) are checked, and any
        violation returns None (keep the solver's point).
        """
        if self.top is not None:
            return None
        clipped = _clip(x, nums.lb, nums.ub)
        out = clipped.copy()
        lb, ub = nums.lb, nums.ub
        flow, charged = self._replay_stores(out, nums, None)
        if self.export_rows is not None:
            # V2H only: storage may discharge into the load and into charging, nothing more
            # (the export row in flow terms). Where the replay discharges more, replay again
            # with discharge capped at the load plus what the first replay charges.
            load_e = nums.l[self.bal_rows] + nums.u[self.export_rows]
            if _any(-flow > load_e):
                out = clipped.copy()
                flow, _ = self._replay_stores(out, nums, load_e + charged)
        # Grid: import (within and above the limit) - export - curtailment = load - pv + flows.
        imp = out[self.imp] + out[self.over]
        delta = nums.l[self.bal_rows] + flow + out[self.cur] - (imp - out[self.exp])
        less_exp = np.minimum(out[self.exp], np.maximum(delta, 0.0))
        less_imp = np.minimum(imp, np.maximum(-delta, 0.0))
        out[self.exp] -= less_exp
        imp = imp - less_imp + np.maximum(delta - less_exp, 0.0)
        out[self.exp] += np.maximum(-delta - less_imp, 0.0)
        out[self.imp] = np.minimum(imp, ub[self.imp])
        out[self.over] = imp - out[self.imp]  # beyond the limit (checked against its bound)
        spill = np.maximum(out[self.exp] - ub[self.exp], 0.0)  # curtail instead
        out[self.exp] -= spill
        out[self.cur] += spill
        if self.export_rows is not None:
            # What still exceeds the PV is import passed straight through: net it.
            passed = np.maximum(out[self.exp] + out[self.cur] - nums.u[self.export_rows], 0.0)
            passed = np.minimum(passed, np.minimum(out[self.exp], out[self.imp]))
            out[self.exp] -= passed
            out[self.imp] -= passed
        # Epigraph variables: exactly the least value their rows allow.
        var, row, coef = self._epi
        if var.shape[0]:
            out[var] = 0.0
            rest = self.A.dot(out)[row]
            l_row = nums.l[row]
            need = np.where(np.isfinite(l_row), (l_row - rest) / coef, -INF)
            least = lb.copy()
            np.maximum.at(least, var, need)
            out[var] = least[var]
        act = self.A.dot(out)
        tol = 1e-7
        if (
            _any(act < nums.l - tol)
            or _any(act > nums.u + tol)
            or _any(out < lb - tol)
            or _any(out > ub + tol)
        ):
            return None
        return out

    def _replay_stores(
        self, out: FloatArray, nums: Numbers, room: FloatArray | None
    ) -> tuple[FloatArray, FloatArray]:
        """Storage part of :meth:`repair` (in place on ``out``): per-step net flow (charge -
        discharge) and charge, summed over assets. ``room`` caps the summed discharge."""
        lb, ub = nums.lb, nums.ub
        flow = np.zeros(self.steps)
        charged = np.zeros(self.steps)
        for st in self.stores:
            assert st.dyn_rows is not None
            ch, dis = out[st.ch], out[st.dis]  # views: replaced below, written back at the end
            ec, ed = st.eta_c, st.eta_d
            rhs = nums.l[st.dyn_rows]
            # Keep the solver's energies (departure targets, terminal value) and move the
            # residual of each dynamics row into that step's charge/discharge, then the grid.
            e_s = _clip(out[st.e], lb[st.e], ub[st.e])
            need = e_s - np.concatenate([[0.0], e_s[:-1]]) - rhs
            delta = need - (ec * ch - dis / ed)
            up, down = np.maximum(delta, 0.0), np.maximum(-delta, 0.0)
            less_dis = np.minimum(dis, up * ed)
            less_ch = np.minimum(ch, down / ec)
            ch = _clip(ch - less_ch + (up - less_dis / ed) / ec, lb[st.ch], ub[st.ch])
            dis = _clip(dis - less_dis + (down - less_ch * ec) * ed, lb[st.dis], ub[st.dis])
            if room is not None:
                dis = np.minimum(dis, np.maximum(room, 0.0))
                room = room - dis
            charged += ch
            e = np.cumsum(rhs + ec * ch - dis / ed)
            e_lo, e_hi = lb[st.e], ub[st.e]
            if _any(e > e_hi) or _any(e < e_lo):
                ch_hi, dis_hi = ub[st.ch], ub[st.dis]
                prev = 0.0
                for k in range(self.steps):
                    v = prev + rhs[k] + ec * ch[k] - dis[k] / ed
                    if v > e_hi[k]:
                        cut = min(ch[k], (v - e_hi[k]) / ec)
                        ch[k] -= cut
                        v -= ec * cut
                        if v > e_hi[k]:
                            more = min(dis_hi[k] - dis[k], (v - e_hi[k]) * ed)
                            dis[k] += more
                            v -= more / ed
                    elif v < e_lo[k]:
                        cut = min(dis[k], (e_lo[k] - v) * ed)
                        dis[k] -= cut
                        v += cut / ed
                        if v < e_lo[k]:
                            more = min(ch_hi[k] - ch[k], (e_lo[k] - v) / ec)
                            ch[k] += more
                            v += ec * more
                    e[k] = v
                    prev = v
            out[st.ch], out[st.dis], out[st.e] = ch, dis, e
            flow += ch - dis
            if st.seg_e:
                resid = e - sum(out[se] for se in st.seg_e)
                for se in st.seg_e:
                    add = _clip(resid, lb[se] - out[se], ub[se] - out[se])
                    out[se] += add
                    resid -= add
        return flow, charged

    # ------------------------------------------------------------------ warm start
    def tail(self, x: FloatArray, by: int, steps: int) -> FloatArray:
        """``x`` moved ``by`` steps earlier and cut to ``steps`` real steps (``steps + by``
        at most the structure's): the padding beyond holds levels at their last value and
        no flows. Equal to :meth:`shift` followed by that padding, in a few numpy calls
        (the shifted reuse takes it every quarter)."""
        idx, base, j, level = self._series_parts()
        out = x.copy()
        out[idx] = x[base + np.minimum(j, steps - 1) + by]
        out[idx[(j >= steps) & ~level]] = 0.0
        return out

    def _series_parts(self) -> tuple[IntArray, IntArray, IntArray, NDArray[np.bool_]]:
        """(index, block start, step, is a level) of every entry of the full-length
        per-step variable blocks (cached)."""
        if self._series is None:
            n = self.steps
            levels = {sl.start for sl in self.levels}
            blocks = [start for start, length in self.var_series if length == n]
            k = np.arange(n, dtype=np.int64)
            idx = np.concatenate([b + k for b in blocks]) if blocks else k[:0]
            base = np.repeat(np.asarray(blocks, dtype=np.int64), n)
            j = np.tile(k, len(blocks))
            level = np.repeat(np.asarray([b in levels for b in blocks], dtype=bool), n)
            self._series = (idx, base, j, level)
        return self._series

    def shift(self, x: FloatArray, by: int, *, rows: bool = False) -> FloatArray:
        """Move every per-step block ``by`` steps earlier, repeating the last value."""
        out = x.copy()
        if by <= 0:
            return out
        n = self.steps
        by = min(by, n - 1)
        for start, length in self.row_series if rows else self.var_series:
            if length != n:
                continue
            blk = x[start : start + n]
            out[start : start + n - by] = blk[by:]
            out[start + n - by : start + n] = blk[-1]
        return out

    def regrid(
        self, other: Structure, x: FloatArray, edges: IntArray, new_edges: IntArray
    ) -> FloatArray | None:
        """A solution of ``other`` (steps ``edges``) carried by time onto this structure's
        steps ``new_edges``: a start for a solver after the grid changed, not a plan.

        Flows are taken as the old step's mean power over the new step (times its length),
        levels at the old step that covers the new step's end; times beyond the old horizon
        repeat its last step. None when the two do not share a variable layout (another
        site, or the Swedish tariff, whose scalars depend on the horizon).
        """
        if other.key[1] != self.key[1] or self.top is not None or other.top is not None:
            return None
        if len(other.var_series) != len(self.var_series) or (
            other.nvar - other.steps * len(other.var_series)
            != self.nvar - self.steps * len(self.var_series)
        ):
            return None
        mids = (new_edges[:-1] + new_edges[1:]) // 2
        j_mid = np.clip(np.searchsorted(edges, mids, side="right") - 1, 0, other.steps - 1)
        j_end = np.clip(np.searchsorted(edges, new_edges[1:] - 1, side="right") - 1, 0,
                        other.steps - 1)  # fmt: skip
        dt_old = np.diff(edges).astype(np.float64)
        dt_new = np.diff(new_edges).astype(np.float64)
        ratio = dt_new / np.maximum(dt_old[j_mid], 1.0)
        level_starts = {sl.start for sl in other.levels}
        out = np.zeros(self.nvar)
        for (o_start, _), (n_start, _) in zip(other.var_series, self.var_series, strict=True):
            blk = x[o_start : o_start + other.steps]
            if o_start in level_starts:
                out[n_start : n_start + self.steps] = blk[j_end]
            else:
                out[n_start : n_start + self.steps] = blk[j_mid] * ratio
        # Scalars (month peaks, the V2H budget's nothing) follow the series in both layouts.
        o_tail = other.var_series[-1][0] + other.steps if other.var_series else 0
        n_tail = self.var_series[-1][0] + self.steps if self.var_series else 0
        out[n_tail:] = x[o_tail:]
        return out

    def objective(self, x: FloatArray, nums: Numbers) -> float:
        """Total cost in EUR of a solution (including constants)."""
        # np.dot, not ``@``: on 1-D arrays numpy's matmul path was measured 100x slower here.
        return float(0.5 * np.dot(x, self.pdiag * x) + np.dot(nums.q, x) + nums.const)


@dataclass
class _TopLayout:
    """Rows and variables of the Swedish top-k daily-hourly-peak tariff."""

    sa: slice
    sb: slice
    hours: slice
    days: slice
    t: slice
    u_past: list[slice]
    u_day: list[slice]
    split_rows: slice
    hour_rows: slice
    day_rows: list[list[slice]]  # [day slot][weight class]
    past_rows: list[slice]
    dayu_rows: list[slice]
    weights: tuple[float, ...]

    @classmethod
    def build(
        cls, site: Site, n: int, v: _Alloc, r: _Alloc, a: _Coo, imports: tuple[slice, slice]
    ) -> _TopLayout:
        tt = site.top_peaks_tariff
        assert tt is not None
        sa = v.block(n, series=True)
        sb = v.block(n, series=True)
        nh = (n + 3) // 4 + 1
        hours = v.block(nh)
        # Local days the horizon can touch: 3 up to 48 h, one more per further day.
        nd = max(DAY_SLOTS, (n + 95) // 96 + 1)
        days = v.block(nd)
        t = v.block(MONTH_SLOTS)
        u_past = [v.block(tt.count) for _ in range(MONTH_SLOTS)]
        u_day = [v.block(nd) for _ in range(MONTH_SLOTS)]
        split_rows = r.block(n, series=True)
        for imp in imports:  # within the limit, and above it
            a.diag(split_rows, imp, 1.0)
        a.diag(split_rows, sa, -1.0)
        a.diag(split_rows, sb, -1.0)
        hour_rows = r.block(nh)
        k = np.arange(n, dtype=np.int64)
        a.add(np.arange(hour_rows.start, hour_rows.stop), np.arange(hours.start, hours.stop), 1.0)
        a.add(hour_rows.start + k // 4, sa.start + k, -1.0)
        a.add(hour_rows.start + k // 4 + 1, sb.start + k, -1.0)
        weights = (1.0,) if tt.night_weight == 1.0 else (1.0, tt.night_weight)
        day_rows: list[list[slice]] = []
        hidx = np.arange(nh, dtype=np.int64)
        for d in range(nd):
            per_w = []
            for wgt in weights:
                rows = r.block(nh)
                a.add(rows.start + hidx, np.full(nh, days.start + d), 1.0)
                a.add(rows.start + hidx, hours.start + hidx, -wgt)
                per_w.append(rows)
            day_rows.append(per_w)
        past_rows: list[slice] = []
        dayu_rows: list[slice] = []
        for m in range(MONTH_SLOTS):
            rows = r.block(tt.count)
            i = np.arange(tt.count, dtype=np.int64)
            a.add(rows.start + i, u_past[m].start + i, 1.0)
            a.add(rows.start + i, np.full(tt.count, t.start + m), 1.0)
            past_rows.append(rows)
            rows = r.block(nd)
            ds = np.arange(nd, dtype=np.int64)
            a.add(rows.start + ds, u_day[m].start + ds, 1.0)
            a.add(rows.start + ds, np.full(nd, t.start + m), 1.0)
            a.add(rows.start + ds, days.start + ds, -1.0)
            dayu_rows.append(rows)
        return cls(
            sa, sb, hours, days, t, u_past, u_day, split_rows, hour_rows, day_rows, past_rows,
            dayu_rows, weights,
        )  # fmt: skip

    def numbers(
        self,
        site: Site,
        edges: IntArray,
        state: State,
        q: FloatArray,
        lb: FloatArray,
        ub: FloatArray,
        lo: FloatArray,
        hi: FloatArray,
    ) -> float:
        tt = site.top_peaks_tariff
        assert tt is not None
        n = edges.shape[0] - 1
        nh = self.hours.stop - self.hours.start
        nd = self.days.stop - self.days.start
        # Quarter position of step 0 within its clock hour decides the hour of every step.
        q0 = (int(edges[1]) - STEP_S) // STEP_S % 4
        k = np.arange(n)
        in_b = (q0 + k) // 4 > k // 4
        ub[self.sa] = np.where(in_b, 0.0, INF)
        ub[self.sb] = np.where(in_b, INF, 0.0)
        lo[self.split_rows] = hi[self.split_rows] = 0.0
        lo[self.hour_rows] = hi[self.hour_rows] = 0.0
        lo[self.hour_rows.start] = hi[self.hour_rows.start] = state.hour_import_kwh
        hour_start = (int(edges[1]) - STEP_S - q0 * STEP_S) + 3600 * np.arange(nh, dtype=np.int64)
        month, day, hod = local_calendar(tt.tz, hour_start)
        used_hours = np.arange(nh) <= (q0 + n - 1) // 4
        day_slot = day - day[0]
        month_slot = month - month[0]
        if tt.night_start_hour > tt.night_end_hour:
            night = (hod >= tt.night_start_hour) | (hod < tt.night_end_hour)
        else:
            night = (hod >= tt.night_start_hour) & (hod < tt.night_end_hour)
        wclass = np.where(night & (len(self.weights) > 1), 1, 0)
        for d in range(nd):
            for c, rows in enumerate(self.day_rows[d]):
                active = used_hours & (day_slot == d) & (wclass == c)
                lo[rows] = np.where(active, 0.0, -INF)
        days_used = np.zeros(nd, dtype=bool)
        day_month = np.zeros(nd, dtype=np.int64)
        for d in range(nd):
            sel = used_hours & (day_slot == d)
            if np.any(sel):
                days_used[d] = True
                day_month[d] = int(month_slot[np.argmax(sel)])
        ub[self.days] = np.where(days_used, INF, 0.0)
        lb[self.days.start] = state.today_peak_kw
        ub[self.days.start] = INF
        lb[self.t] = -INF
        ub[self.t] = INF
        price = tt.eur_per_kw_month
        q[self.t] = price
        past = np.zeros(tt.count)
        top = sorted(state.month_daily_peaks_kw, reverse=True)[: tt.count]
        past[: len(top)] = top
        for m in range(MONTH_SLOTS):
            q[self.u_past[m]] = price / tt.count
            q[self.u_day[m]] = price / tt.count
            lo[self.past_rows[m]] = past if m == 0 else 0.0
            lo[self.dayu_rows[m]] = np.where(days_used & (day_month == m), 0.0, -INF)
        return -price / tt.count * float(past.sum())


def _margin_kwh(margin_kw: FloatArray | None, dt: FloatArray, m: int) -> FloatArray:
    """Peak headroom per step in kWh (``Inputs.peak_margin_kw`` times the step's hours);
    0 without a margin and on the padding after the ``m`` real steps."""
    room = np.zeros(dt.shape[0])
    if margin_kw is not None:
        room[:m] = margin_kw * dt[:m]
    return room


def _clip(x: FloatArray, lo: FloatArray | float, hi: FloatArray | float) -> FloatArray:
    """``np.clip(x, lo, hi)`` bit for bit (numpy computes ``min(max(x, lo), hi)``, tested)
    without its Python-level dispatch (~4 us a call on these small arrays)."""
    out: FloatArray = np.minimum(np.maximum(x, lo), hi)
    return out


def _any(mask: NDArray[np.bool_]) -> bool:
    """``bool(np.any(mask))`` through the ufunc directly (no Python-level dispatch)."""
    return bool(np.logical_or.reduce(mask))


def _ev_schedule(
    ev: Ev, edges: IntArray, plugged: bool | None, *, steps: int | None = None, plain: bool = False
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Availability per step, trip energy deducted per step, target energy per step.

    A step is available when it overlaps no trip. A trip's energy is deducted in the first
    step that starts at or after its arrival; its target applies to the energy at the end of
    the last step that ends at or before its departure.

    Steps longer than a quarter (the coarse tiers of a multi-tier grid) are aggregated
    exactly instead: availability is the share of the step the car is home (power limits
    scale with it), a trip that leaves inside such a step has its target at the end of that
    step (the car charges only before it leaves, and the trip energy comes off later, so the
    step's end energy is the energy at departure), and a trip that returns inside it has its
    energy deducted in that step.

    ``steps`` (> the steps of ``edges``) pads the result with inert steps (away, no trips,
    no targets); ``plain`` says no step is longer than a quarter (the plain grid), which
    skips the coarse-step rules (they would not apply) and their numpy calls.
    """
    m = int(edges.shape[0]) - 1
    n = m if steps is None else steps
    t0, t1 = edges[:-1], edges[1:]
    avail: FloatArray = np.ones(n)
    if n > m:
        avail[m:] = 0.0
    av = avail[:m]
    trip_e = np.zeros(n)
    target = np.full(n, -INF)
    coarse = None if plain else (t1 - t0) > STEP_S
    away = np.zeros(m)  # seconds of each coarse step covered by trips
    now = int(edges[0])
    covering_now = False
    for trip in ev.trips:
        dep, arr = int(trip.depart.timestamp()), int(trip.arrive.timestamp())
        if arr <= now:
            continue
        if dep <= now < arr:
            covering_now = True
            if plugged:
                continue  # back early: the measured SoC already includes the trip
        k_arr = int(t0.searchsorted(arr, side="left"))
        if coarse is None:
            # Edges rise strictly: the steps overlapping the trip are one index range,
            # from the first that ends after the departure to the first that starts at or
            # after the arrival (the same steps as the mask below).
            av[int(t1.searchsorted(dep, side="right")) : k_arr] = 0.0
        else:
            hit = (t1 > dep) & (t0 < arr)
            av[hit & ~coarse] = 0.0
            away += np.where(coarse, np.maximum(0, np.minimum(t1, arr) - np.maximum(t0, dep)), 0)
        if (
            coarse is not None
            and 0 < k_arr <= m
            and coarse[k_arr - 1]
            and t0[k_arr - 1] < arr < t1[k_arr - 1]
        ):
            k_arr -= 1  # returns inside a coarse step: the rest of the step is at home
        if k_arr < m:
            trip_e[k_arr] += trip.energy_kwh
        if trip.target_soc is not None and dep > now:
            k_dep = int(t1.searchsorted(dep, side="right")) - 1
            if coarse is not None and k_dep + 1 < m and coarse[k_dep + 1] and t0[k_dep + 1] < dep:
                k_dep += 1  # leaves inside a coarse step: its end energy is the departure's
            if 0 <= k_dep < m:
                target[k_dep] = max(target[k_dep], trip.target_soc * ev.capacity_kwh)
    if coarse is not None and np.any(coarse):
        share = 1.0 - away / np.maximum(t1 - t0, 1)
        av[:] = np.where(coarse, np.clip(share, 0.0, 1.0), av)
    if plugged is False and not covering_now:
        av[:] = 0.0
    return avail, trip_e, target
