"""The perfect-foresight oracle: one LP over the whole period with the true series.

It knows every price, load, PV value and session in advance and plans every quarter of the
period at once (HiGHS through :func:`scipy.optimize.linprog`), so no closed-loop controller can
beat it on the same cost model: energy + capacity tariff + linear wear (throughput + calendar
hinges) − the value of energy left in storage at the end. Its schedule is then replayed in the
physical home, so its KPIs are measured exactly like every other controller's.

Complementarity: a device cannot charge and discharge at once, but the LP relaxation may do
both when prices go negative: cycling at once burns the round-trip loss, which either imports
more (``1/η² − 1`` kWh per kWh cycled) or empties the store without selling to the grid, to
make room for later, more negative quarters. A throughput cost above ``|p_min|·(1 − η²)/(1 +
η²)`` would forbid it but distorts every other quarter; instead, quarters where the LP does
both get a binary (charge or discharge, not both) and the problem is re-solved as a MILP
(HiGHS) until no quarter holds more than ``COMPLEMENTARITY_TOL_KW`` of both (usually one
round, a handful of binaries). The cost model is untouched, so the oracle stays a bound.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

from ..model import Chemistry, WearModel
from ..scenario import FloatArray, Scenario
from ..timegrid import STEP_S
from .home import BATTERY, PV
from .kpi import _local

SHORTFALL_EUR_PER_KWH = 5.0
FLOOR_EUR_PER_KWH = 0.5
#: Largest simultaneous charge and discharge (kW, 0.1 W) the oracle's solution may hold.
COMPLEMENTARITY_TOL_KW = 1e-4
#: Curtailment (kW) below this is solver noise, not a PV limit to replay.
CURTAIL_TOL_KW = 1e-3
#: Rounds of adding binaries before giving up (each round adds them where flows overlap).
COMPLEMENTARITY_ROUNDS = 8


def terminal_price(sc: Scenario) -> float:
    """EUR per kWh credited for storage energy at the end (the period's median import price)."""
    i0 = sc.index(sc.start_s)
    return float(np.median(sc.import_eur_kwh[i0 : i0 + sc.days * 96]))


class _Lp:
    def __init__(self) -> None:
        self.n = 0
        self.c: list[float] = []
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.rlo: list[float] = []
        self.rhi: list[float] = []
        self.integer: list[int] = []  # binary columns (complementarity), empty: a plain LP

    def var(self, k: int, cost: Any = 0.0, lb: Any = 0.0, ub: Any = np.inf) -> np.ndarray[Any, Any]:
        idx = np.arange(self.n, self.n + k)
        self.n += k
        for dest, value in ((self.c, cost), (self.lb, lb), (self.ub, ub)):
            arr = np.broadcast_to(np.asarray(value, dtype=np.float64), (k,))
            dest.extend(float(v) for v in arr)
        return idx

    def row(self, terms: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(self.rlo)
        for col, v in terms:
            self.rows.append(r)
            self.cols.append(int(col))
            self.vals.append(float(v))
        self.rlo.append(lo)
        self.rhi.append(hi)

    def solve(self) -> FloatArray:
        a = sp.csr_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.rlo), self.n))
        lo, hi = np.array(self.rlo), np.array(self.rhi)
        eq = lo == hi
        ub_rows = ~eq
        a_ub = sp.vstack([a[ub_rows & np.isfinite(hi)], -a[ub_rows & np.isfinite(lo)]])
        b_ub = np.concatenate([hi[ub_rows & np.isfinite(hi)], -lo[ub_rows & np.isfinite(lo)]])
        solver: Any = linprog
        integrality = None
        if self.integer:
            integrality = np.zeros(self.n, dtype=np.int64)
            integrality[self.integer] = 1
        res = solver(
            np.array(self.c), A_ub=a_ub, b_ub=b_ub, A_eq=a[eq], b_eq=lo[eq],
            bounds=np.column_stack([self.lb, self.ub]), method="highs", integrality=integrality,
        )  # fmt: skip
        if res.status != 0:
            raise RuntimeError(f"oracle LP failed: {res.message}")
        return np.asarray(res.x)


def solve_oracle(sc: Scenario) -> dict[str, FloatArray]:
    """Per-quarter setpoints (kW, + charges) of every storage device, and under ``PV`` the
    inverter limit (kW; NaN: no limit) where the oracle curtails (negative export prices)."""
    flows, curtail = _solve(sc)
    out = {name: ch - dis for name, (ch, dis) in flows.items()}
    n = sc.days * 96
    i0 = sc.index(sc.start_s)
    pv = sc.pv_kw[i0 : i0 + n]
    out[PV] = np.asarray(np.where(curtail > CURTAIL_TOL_KW, pv - curtail, np.nan))
    return out


def oracle_flows(sc: Scenario) -> dict[str, tuple[FloatArray, FloatArray]]:
    """Per-quarter charge and discharge power (kW, both ≥ 0) of every storage device.

    Raises RuntimeError if any quarter still charges and discharges at once beyond
    ``COMPLEMENTARITY_TOL_KW`` (see the module docstring).
    """
    return _solve(sc)[0]


def _solve(sc: Scenario) -> tuple[dict[str, tuple[FloatArray, FloatArray]], FloatArray]:
    n = sc.days * 96
    i0 = sc.index(sc.start_s)
    buy = sc.import_eur_kwh[i0 : i0 + n]
    sell = sc.export_eur_kwh[i0 : i0 + n]
    load = sc.load_kw[i0 : i0 + n]
    pv = sc.pv_kw[i0 : i0 + n]
    h = 0.25
    lp = _Lp()
    imp = lp.var(n, buy * h, 0.0, sc.grid_import_kw)
    exp = lp.var(n, -sell * h, 0.0, sc.grid_export_kw)
    cur = lp.var(n, 0.0, 0.0, pv)
    balance: list[list[tuple[int, float]]] = [
        [(imp[t], 1.0), (exp[t], -1.0), (cur[t], -1.0)] for t in range(n)
    ]
    starts = sc.start_s + STEP_S * np.arange(n)
    cap_ev: FloatArray = np.full(n, np.inf)
    for event in sc.events:
        on = (starts >= event.start_s) & (starts < event.end_s)
        cap_ev = np.asarray(np.where(on, event.kw, cap_ev), dtype=np.float64)
    tv = terminal_price(sc)
    out: dict[str, tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]] = {}
    limits: dict[str, tuple[float, float]] = {}
    stores: list[tuple[str, float, float, float, float, float, float, WearModel, Any]] = []
    for ev in sc.evs:
        wear = WearModel.for_chemistry(
            Chemistry(ev.chemistry), max_power_kw=max(ev.max_charge_kw, ev.max_discharge_kw, 1.0)
        )
        stores.append((ev.name, ev.capacity_kwh, ev.max_charge_kw, ev.max_discharge_kw,
                       ev.efficiency, ev.soc, ev.min_soc, wear, ev))  # fmt: skip
    if sc.battery is not None:
        b = sc.battery
        wear = WearModel.for_chemistry(Chemistry.LFP, max_power_kw=max(b.max_kw, 1.0))
        stores.append((BATTERY, b.capacity_kwh, b.max_kw, b.max_kw, b.efficiency, b.soc,
                       b.reserve_soc, wear, None))  # fmt: skip
    for name, cap, pch, pdis, eta, soc0, floor, wear, ev in stores:
        avail = np.ones(n, dtype=bool)
        trip = np.zeros(n)
        deps: list[tuple[int, float]] = []
        if ev is not None:
            avail[:] = False
            for s in sc.sessions:
                if s.ev != name:
                    continue
                a = int(np.ceil((s.arrive_s - sc.start_s) / STEP_S))
                d = int((s.depart_s - sc.start_s) // STEP_S)
                a0, d0 = max(a, 0), min(d, n)
                if d0 <= a0:
                    continue
                avail[a0:d0] = True
                if s.arrive_s >= sc.start_s:
                    trip[a0] += s.trip_kwh
                if d <= n:
                    deps.append((d - 1, s.target_soc))
        wc = wear.throughput_eur_per_kwh * h
        ch = lp.var(n, wc, 0.0, np.where(avail, np.minimum(pch, cap_ev), 0.0))
        dis = lp.var(n, wc, 0.0, np.where(avail, pdis, 0.0))
        end_cost = np.zeros(n)
        end_cost[-1] = -tv
        e = lp.var(n, end_cost, 0.0, cap)
        fl = lp.var(n, FLOOR_EUR_PER_KWH, 0.0, np.inf)
        for t in range(n):
            terms = [(e[t], 1.0), (ch[t], -h * eta), (dis[t], h / eta)]
            rhs = -trip[t]
            if t:
                terms.append((e[t - 1], -1.0))
            else:
                rhs += soc0 * cap
            lp.row(terms, rhs, rhs)
            if avail[t]:
                lp.row([(e[t], 1.0), (fl[t], 1.0)], floor * cap, np.inf)
            balance[t] += [(dis[t], 1.0), (ch[t], -1.0)]
        for thr in wear.calendar:
            hinge = lp.var(n, thr.eur_per_kwh_h * h, 0.0, np.inf)
            for t in range(n):
                lp.row([(hinge[t], 1.0), (e[t], -1.0)], -thr.soc * cap, np.inf)
        for t, target in deps:
            short = lp.var(1, SHORTFALL_EUR_PER_KWH)
            lp.row([(e[t], 1.0), (int(short[0]), 1.0)], target * cap, np.inf)
        out[name] = (ch, dis)
        limits[name] = (float(min(pch, np.min(cap_ev))) if n else pch, pdis)
    for t in range(n):
        rhs = float(load[t] - pv[t])
        lp.row(balance[t], rhs, rhs)
        if not sc.allow_export_from_storage:
            lp.row([(exp[t], 1.0), (cur[t], 1.0)], -np.inf, float(pv[t]))
    cap_t = sc.capacity
    if cap_t is not None:
        months, days, hours = _local(sc, n)
        for m in sorted(set(months)):
            idx = [t for t in range(n) if months[t] == m]
            if cap_t.kind == "monthly_peak":
                peak = lp.var(1, cap_t.eur_per_kw_month, cap_t.floor_kw)
                for t in idx:
                    lp.row([(int(peak[0]), 1.0), (imp[t], -1.0)], 0.0, np.inf)
                continue
            dset = sorted({days[t] for t in idx})
            dvar = {d: int(lp.var(1)[0]) for d in dset}
            for h0 in range(0, len(idx) - 3, 4):
                block = idx[h0 : h0 + 4]
                hr = hours[block[0]]
                w = cap_t.night_weight if (hr >= 22 or hr < 6) else 1.0
                lp.row([(dvar[days[block[0]]], 1.0)] + [(imp[t], -w / 4.0) for t in block],
                       0.0, np.inf)  # fmt: skip
            k = min(cap_t.count, len(dset))
            rate = cap_t.eur_per_kw_month / k
            tau = int(lp.var(1, rate * k, -np.inf, np.inf)[0])
            for d in dset:
                u = int(lp.var(1, rate)[0])
                lp.row([(u, 1.0), (dvar[d], -1.0), (tau, 1.0)], 0.0, np.inf)
    x = lp.solve()
    fixed: dict[str, set[int]] = {name: set() for name in out}
    for _ in range(COMPLEMENTARITY_ROUNDS):
        added = 0
        for name, (ch, dis) in out.items():
            both = np.flatnonzero(np.minimum(x[ch], x[dis]) > COMPLEMENTARITY_TOL_KW)
            pch, pdis = limits[name]
            for q in (int(v) for v in both):
                if q in fixed[name]:
                    continue
                fixed[name].add(q)
                z = int(lp.var(1, 0.0, 0.0, 1.0)[0])
                lp.integer.append(z)
                big_c = max(pch, float(x[ch[q]]))  # the step's own charge bound
                lp.row([(int(ch[q]), 1.0), (z, -big_c)], -np.inf, 0.0)
                lp.row([(int(dis[q]), 1.0), (z, pdis)], -np.inf, pdis)
                added += 1
        if not added:
            break
        x = lp.solve()
    flows = {name: (np.asarray(x[ch]), np.asarray(x[dis])) for name, (ch, dis) in out.items()}
    for name, (c_kw, d_kw) in flows.items():
        both_kw = float(np.max(np.minimum(c_kw, d_kw))) if n else 0.0
        if both_kw > COMPLEMENTARITY_TOL_KW:
            raise RuntimeError(f"oracle: {name} charges and discharges at once ({both_kw:.3g} kW)")
    return flows, np.asarray(x[cur])
