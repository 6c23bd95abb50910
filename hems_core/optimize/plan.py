"""The optimiser's output: a JSON-serialisable, explainable :class:`Plan`."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import NDArray

from .inputs import FloatArray, Inputs, quantile_linear
from .problem import (
    OVER_LIMIT_EUR_PER_KWH,
    SHORTFALL_EUR_PER_KWH,
    SHORTFALL_QUAD_EUR_PER_KWH2,
    Numbers,
    Structure,
)

#: Below this many kW a setpoint counts as idle in the reasons.
IDLE_KW = 0.05


def _t(values: NDArray[np.floating[Any]]) -> tuple[float, ...]:
    return tuple(cast(list[float], np.round(values, 6).tolist()))


class _Deferred:
    """Fields computed on first read (a backtest reads few of a plan's series, never reasons).

    :func:`build_plan` makes plans with :meth:`_deferred`: the listed fields are absent from
    the instance until read, then computed once by their zero-argument function and stored,
    so they look and compare exactly like eager fields (``asdict``, ``==``, pickling all
    read them through attribute access).
    """

    @classmethod
    def _deferred(cls, eager: dict[str, Any], lazy: dict[str, Callable[[], Any]]) -> Any:
        obj = object.__new__(cls)
        for k, v in eager.items():
            object.__setattr__(obj, k, v)
        object.__setattr__(obj, "_lazy", lazy)
        return obj

    if not TYPE_CHECKING:  # keep attribute typos visible to mypy

        def __getattr__(self, name: str) -> Any:
            lazy = self.__dict__.get("_lazy")
            if lazy is None or name not in lazy:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            value = lazy.pop(name)()
            object.__setattr__(self, name, value)
            return value

    def __getstate__(self) -> dict[str, Any]:
        """Every field computed (closures do not pickle)."""
        for name in list(self.__dict__.get("_lazy", {})):
            getattr(self, name)
        return {k: v for k, v in self.__dict__.items() if k != "_lazy"}


@dataclass(frozen=True)
class AssetPlan(_Deferred):
    """Per-step plan of one storage asset. ``power_kw`` > 0 charges, < 0 discharges."""

    name: str
    kind: str
    power_kw: tuple[float, ...]
    charge_kwh: tuple[float, ...]
    discharge_kwh: tuple[float, ...]
    energy_kwh: tuple[float, ...]
    soc: tuple[float, ...]
    available: tuple[bool, ...]
    shortfall_kwh: tuple[float, ...]


@dataclass(frozen=True)
class CostSplit:
    """Cost of the plan over the horizon in EUR; ``total`` is the objective value."""

    energy: float
    capacity: float
    wear_throughput: float
    wear_dod: float
    wear_quadratic: float
    wear_calendar: float
    shortfall: float
    over_limit: float
    terminal_value: float
    total: float


@dataclass(frozen=True)
class SolverStats:
    """How the plan was found.

    ``relaxed_objective`` is the convex model's optimum; ``objective`` the plan's cost, higher
    only when the MILP fallback had to forbid simultaneous charge and discharge.
    """

    backend: str
    status: str
    iterations: int
    solve_time_s: float
    build_time_s: float
    objective: float
    relaxed_objective: float
    warm_started: bool
    milp_used: bool
    fallback_from: str | None
    variables: int
    constraints: int


@dataclass(frozen=True)
class Plan(_Deferred):
    """Per-step setpoints, energies, grid exchange, cost split, reasons and solver stats.

    Step ``k`` runs from ``step_start[k]`` for ``dt_h[k]`` hours (step 0 may be a partial
    quarter). Powers are step means; SoC and energy are at the end of each step.
    ``grid_import_kw`` is all import; ``import_over_limit_kw`` the part above the grid limit,
    non-zero only where the load alone exceeds it (loads must be shed there).
    """

    start: str
    step_start: tuple[str, ...]
    dt_h: tuple[float, ...]
    grid_import_kw: tuple[float, ...]
    grid_export_kw: tuple[float, ...]
    import_over_limit_kw: tuple[float, ...]
    pv_kw: tuple[float, ...]
    pv_curtail_kw: tuple[float, ...]
    load_kw: tuple[float, ...]
    import_price: tuple[float, ...]
    export_price: tuple[float, ...]
    assets: tuple[AssetPlan, ...]
    month_peak_kw: tuple[float, ...]
    costs: CostSplit
    reasons: tuple[str, ...]
    stats: SolverStats

    def asset(self, name: str) -> AssetPlan:
        """The plan of one asset by name."""
        for a in self.assets:
            if a.name == name:
                return a
        raise KeyError(name)

    @property
    def step_start_s(self) -> tuple[int, ...]:
        """``step_start`` as UTC epoch seconds (no ISO parsing for the control loop)."""
        got: tuple[int, ...] | None = self.__dict__.get("_starts_s")
        if got is None:
            got = tuple(int(datetime.fromisoformat(t).timestamp()) for t in self.step_start)
            object.__setattr__(self, "_starts_s", got)
        return got

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON dictionary (lists, floats, strings)."""
        return asdict(self)

    def to_json(self) -> str:
        """The plan as a JSON string."""
        return json.dumps(self.to_dict())


def _ints(a: NDArray[np.integer[Any]]) -> list[int]:
    return cast(list[int], a.tolist())


def _reasons(
    inputs: Inputs, grid_imp: FloatArray, grid_exp: FloatArray, curtail: FloatArray,
    powers: dict[str, FloatArray], peak_at: NDArray[np.bool_], targets: dict[str, FloatArray],
    over: FloatArray,
) -> tuple[str, ...]:  # fmt: skip
    """A short human reason per step, from the solution and the price context.

    Strings are made only for the steps that do something (most steps "hold"); the tests
    compare them verbatim.
    """
    n = inputs.steps
    p = inputs.import_price
    lo_q, hi_q = quantile_linear(p, 0.25), quantile_linear(p, 0.75)
    out: list[list[str]] = [[] for _ in range(n)]
    acting = np.zeros(n, dtype=bool)
    charging_any = np.zeros(n, dtype=bool)
    for pw in powers.values():
        charging_any |= pw > IDLE_KW
    pv_surplus: NDArray[np.bool_] | None = None
    for name, pw in powers.items():
        ch = pw > IDLE_KW
        dis = pw < -IDLE_KW
        k_ch = np.flatnonzero(ch)
        k_dis = np.flatnonzero(dis)
        if k_ch.size:
            if pv_surplus is None:
                pv_surplus = (
                    (grid_exp > IDLE_KW) | (curtail > IDLE_KW) | (inputs.pv_kw > inputs.load_kw)
                )
            tgt_soon: NDArray[np.bool_] = np.zeros(n, dtype=bool)
            tg = targets.get(name)
            if tg is not None and np.any(np.isfinite(tg)):
                nxt = np.flatnonzero(np.isfinite(tg))
                idx = np.searchsorted(nxt, np.arange(n))
                has = idx < nxt.shape[0]
                dist = np.where(has, nxt[np.minimum(idx, nxt.shape[0] - 1)] - np.arange(n), 10**6)
                tgt_soon = dist <= 16
            for k in _ints(k_ch):
                if pv_surplus[k]:
                    why = "PV surplus"
                elif p[k] <= lo_q:
                    why = "cheap import"
                elif tgt_soon[k]:
                    why = "departure target"
                else:
                    why = "price"
                out[k].append(f"charge {name} ({why}, {p[k]:.3f} EUR/kWh)")
        for k in _ints(k_dis):
            if charging_any[k] and not ch[k]:
                why = "to other storage"
            elif peak_at[k]:
                why = "peak shaving"
            elif p[k] >= hi_q:
                why = "expensive import"
            else:
                why = "cover load"
            out[k].append(f"discharge {name} ({why}, {p[k]:.3f} EUR/kWh)")
        acting[k_ch] = True
        acting[k_dis] = True
    for k in _ints(np.flatnonzero(curtail > IDLE_KW)):
        out[k].append(f"curtail PV (export {inputs.export_price[k]:.3f} EUR/kWh)")
    for k in _ints(np.flatnonzero(peak_at & (grid_imp > IDLE_KW))):
        out[k].append("import held at the month peak")
    for k in _ints(np.flatnonzero(over > IDLE_KW)):
        out[k].append(f"load above the grid limit: shed {over[k]:.2f} kW")
    return tuple("; ".join(parts) if parts else "hold" for parts in out)


#: ISO strings of step starts by epoch second: most steps start on the same clock quarters
#: from one plan to the next (cleared when it grows past a few months of quarters).
_ISO: dict[int, str] = {}


def _iso(t: int) -> str:
    got = _ISO.get(t)
    if got is None:
        if len(_ISO) > 20_000:
            _ISO.clear()
        got = _ISO[t] = datetime.fromtimestamp(t, UTC).isoformat()
    return got


def _lazy_t(values: NDArray[np.floating[Any]]) -> Callable[[], tuple[float, ...]]:
    """A deferred :func:`_t` of ``values`` (which nothing may change afterwards)."""
    return lambda: _t(values)


def _starts(edges: NDArray[np.int64]) -> Callable[[], tuple[str, ...]]:
    """Deferred ISO strings of the step starts, made by numpy in one call.

    ``datetime.fromtimestamp(t, UTC).isoformat()`` of a whole second, without the loop.
    """

    def make() -> tuple[str, ...]:
        days = np.datetime_as_string(edges.astype("datetime64[s]"), unit="s").tolist()
        return tuple(d + "+00:00" for d in cast(list[str], days))

    return make


def build_plan(
    structure: Structure,
    inputs: Inputs,
    nums: Numbers,
    x: FloatArray,
    stats: SolverStats,
    *,
    lazy: bool = True,
) -> Plan:
    """Turn a solution vector into a :class:`Plan` with its cost split and reasons.

    ``inputs`` may be shorter than the structure (padded, see ``Structure.pads``): the plan
    then has ``inputs.steps`` steps; the padding holds no flows and costs nothing.

    ``lazy`` (default): the per-step series, ``step_start`` and ``reasons`` are computed on
    first read (see :class:`_Deferred`); the cost split and stats at once. The values are
    the same either way (tested); a backtest reads a handful of series and no reasons.
    """
    s = structure
    m = inputs.steps
    x = x.copy()  # the deferred fields read it later: the caller may reuse its array
    dt = nums.dt[:m].copy()

    def ser(sl: slice) -> FloatArray:
        """The real steps of a per-step block."""
        out: FloatArray = x[sl.start : sl.start + m]
        return out

    over = ser(s.over)
    imp, exp_, cur = ser(s.imp) + over, ser(s.exp), ser(s.cur)
    q = nums.q.copy()
    peak_base, month_slot, top_const = (
        nums.peak_base.copy(),
        nums.month_slot.copy(),
        nums.top_const,
    )
    site = s.site

    def costs() -> CostSplit:
        """The cost split of ``x`` (deferred: nothing in the control loop reads it)."""
        thr = dod = quad = cal = short = term = 0.0
        for st in s.stores:
            ch, dis = ser(st.ch), ser(st.dis)
            w = st.asset.wear
            thr += w.throughput_eur_per_kwh * float(np.sum(ch + dis))
            quad += 0.5 * float(np.sum(s.pdiag[st.ch][:m] * ch**2 + s.pdiag[st.dis][:m] * dis**2))
            if st.seg_out:
                seg_costs = w.dod_costs(st.capacity)
                dod += sum(
                    c * float(np.sum(x[so])) for c, so in zip(seg_costs, st.seg_out, strict=True)
                )
            for cs in st.cal:
                cal += float(np.dot(q[cs], x[cs]))
            sf = ser(st.short) if st.short is not None else np.zeros(m)
            short += float(
                SHORTFALL_EUR_PER_KWH * sf.sum() + SHORTFALL_QUAD_EUR_PER_KWH2 * (sf**2).sum()
            )
            # q at the last energy carries -terminal value plus any other term on e (none);
            # the padding, if any, holds the last real energy.
            term += float(q[st.e.stop - 1] * x[st.e.stop - 1]) if st.e.stop - 1 >= 0 else 0.0
        energy = float(np.dot(inputs.import_price, imp) - np.dot(inputs.export_price, exp_))
        short += float(np.dot(q[s.cur][:m], cur))  # forced curtailment of non-curtailable PV
        over_limit = OVER_LIMIT_EUR_PER_KWH * float(np.sum(over))
        capacity = 0.0
        if s.peak is not None and site.peak_tariff is not None:
            capacity += site.peak_tariff.eur_per_kw_month * float(np.sum(x[s.peak] - peak_base))
        if s.top is not None:
            top = s.top
            capacity += float(np.dot(q[top.t], x[top.t]))
            capacity += sum(float(np.dot(q[u], x[u])) for u in [*top.u_past, *top.u_day])
            capacity += top_const
        total = energy + capacity + thr + dod + quad + cal + short + over_limit + term
        return CostSplit(
            energy=energy,
            capacity=capacity,
            wear_throughput=thr,
            wear_dod=dod,
            wear_quadratic=quad,
            wear_calendar=cal,
            shortfall=short,
            over_limit=over_limit,
            terminal_value=term,
            total=total,
        )

    assets: list[AssetPlan] = []
    powers: dict[str, FloatArray] = {}
    for st in s.stores:
        ch, dis, e = ser(st.ch), ser(st.dis), ser(st.e)
        pw = (ch - dis) / dt
        powers[st.name] = pw
        sf = ser(st.short) if st.short is not None else np.zeros(m)
        a_eager: dict[str, Any] = {
            "name": st.name,
            "kind": st.kind,
            "available": tuple(cast(list[bool], (nums.available[st.name][:m] > 0).tolist())),
        }
        a_lazy = {
            "power_kw": _lazy_t(pw),
            "charge_kwh": _lazy_t(ch),
            "discharge_kwh": _lazy_t(dis),
            "energy_kwh": _lazy_t(e),
            "soc": _lazy_t(e / st.capacity),
            "shortfall_kwh": _lazy_t(sf),
        }
        assets.append(_make(AssetPlan, a_eager, a_lazy, lazy))
    month_peak: tuple[float, ...] = ()
    if s.peak is not None and site.peak_tariff is not None:
        month_peak = _t(x[s.peak])

    def peak_at() -> NDArray[np.bool_]:
        """Import at the month's peak (raised, or still the floor): the peak is binding."""
        if s.peak is None or site.peak_tariff is None:
            return np.zeros(m, dtype=bool)
        got: NDArray[np.bool_] = imp / dt >= x[s.peak][month_slot[:m]] - 0.05
        return got

    targets = {k: v[:m].copy() for k, v in nums.targets.items()}
    imp_kw, exp_kw, cur_kw, over_kw = imp / dt, exp_ / dt, cur / dt, over / dt
    edges = nums.edges[:m].copy()
    eager: dict[str, Any] = {
        "start": _iso(int(edges[0])),
        "assets": tuple(assets),
        "month_peak_kw": month_peak,
        "stats": stats,
        "_starts_s": tuple(_ints(edges)),
    }
    deferred: dict[str, Callable[[], Any]] = {
        "step_start": _starts(edges),
        "dt_h": _lazy_t(dt),
        "grid_import_kw": _lazy_t(imp_kw),
        "grid_export_kw": _lazy_t(exp_kw),
        "import_over_limit_kw": _lazy_t(over_kw),
        "pv_kw": _lazy_t(inputs.pv_kw if site.pv is not None else np.zeros(m)),
        "pv_curtail_kw": _lazy_t(cur_kw),
        "load_kw": _lazy_t(inputs.load_kw),
        "import_price": _lazy_t(inputs.import_price),
        "export_price": _lazy_t(inputs.export_price),
        "costs": costs,
        "reasons": lambda: _reasons(
            inputs, imp_kw, exp_kw, cur_kw, powers, peak_at(), targets, over_kw
        ),
    }
    plan: Plan = _make(Plan, eager, deferred, lazy)
    return plan


def _make(
    cls: type[Any],
    eager: dict[str, Any],
    lazy: dict[str, Callable[[], Any]],
    deferred: bool,
) -> Any:
    """``cls`` with ``lazy`` fields deferred, or built at once (same values)."""
    if deferred:
        return cls._deferred(eager, lazy)
    fields = {k: v for k, v in eager.items() if not k.startswith("_")}
    fields.update({k: f() for k, f in lazy.items()})
    obj = cls(**fields)
    for k, v in eager.items():
        if k.startswith("_"):
            object.__setattr__(obj, k, v)
    return obj
