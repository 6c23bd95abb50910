"""Declarative cvxpy model of the same problem (tests and benchmarks only, ``[qp]`` extra).

It shares the per-step data preparation with :class:`Structure.numbers` (bounds, targets,
availability) but states every constraint and cost term in its natural form — cumulative
dynamics, ``max`` for peaks, ``sum_largest`` for the Swedish tariff, ``pos`` for hinges —
instead of the hand-assembled sparse rows, masks and splits. Agreement of the optimal values
therefore checks the assembly. Never imported by the runtime path.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from ..model import Ev, Site
from ..timegrid import STEP_S
from .inputs import STEP_H, Inputs, State, local_calendar
from .problem import (
    FORCED_CURTAIL_EUR_PER_KWH,
    OVER_LIMIT_EUR_PER_KWH,
    SHORTFALL_EUR_PER_KWH,
    SHORTFALL_QUAD_EUR_PER_KWH2,
    Structure,
    _ev_schedule,
)

#: How closely :func:`reference_solve` holds fixed charge/discharge energies (kWh per step):
#: plans round to 1e-6 kWh, which over a day could push an energy bound by a few 1e-5.
FIX_TOL_KWH = 1e-5


def reference_solve(
    site: Site,
    inputs: Inputs,
    state: State,
    solver: str = "CLARABEL",
    *,
    fixed: dict[str, tuple[Any, Any]] | None = None,
) -> float:
    """Optimal total cost (EUR) of the model, solved by cvxpy with ``solver``.

    ``fixed`` maps a storage asset's name to (charge kWh, discharge kWh) for the first steps:
    the optimum with those decisions imposed (the regret of acting on another plan).
    """
    cp: Any = importlib.import_module("cvxpy")

    s = Structure(site, inputs.steps)
    nums = s.numbers(site, inputs, state)
    n = inputs.steps
    dt = nums.dt
    cons: list[Any] = []
    within, over = cp.Variable(n), cp.Variable(n)
    exp_, cur = cp.Variable(n), cp.Variable(n)
    # Import above the limit (bounded to where the load minus PV alone exceeds it), penalised.
    cons += [within >= 0, within <= nums.ub[s.imp], over >= 0, over <= nums.ub[s.over]]
    # Its own export bound (the QP also caps export at the PV under V2H only: not copied).
    cons += [exp_ >= 0, exp_ <= site.grid.export_limit_kw * dt, cur >= 0, cur <= nums.ub[s.cur]]
    imp = within + over
    pv_e = inputs.pv_kw * dt if site.pv is not None else np.zeros(n)
    net = imp - exp_ - cur + pv_e - inputs.load_kw * dt
    cost: Any = inputs.import_price @ imp - inputs.export_price @ exp_
    cost = cost + OVER_LIMIT_EUR_PER_KWH * cp.sum(over)
    if site.pv is not None and not site.pv.curtailable:
        cost = cost + FORCED_CURTAIL_EUR_PER_KWH * cp.sum(cur)
    tval = inputs.terminal_value()
    tf = inputs.temperature_factor if inputs.temperature_factor is not None else np.ones(n)
    for st in s.stores:
        a = st.asset
        ch, dis, e = cp.Variable(n), cp.Variable(n), cp.Variable(n)
        net = net + dis - ch
        e0 = nums.e0[st.name]
        if isinstance(a, Ev):
            _, trip, _ = _ev_schedule(
                a_full(site, a.name), nums.edges, state.ev_plugged.get(a.name)
            )
        else:
            trip = np.zeros(n)
        e_prev = cp.hstack([np.array([e0]), e[:-1]])
        cons += [ch >= 0, ch <= nums.ub[st.ch], dis >= 0, dis <= nums.ub[st.dis]]
        if fixed is not None and a.name in fixed:
            fc, fd = (np.asarray(v, dtype=np.float64) for v in fixed[a.name])
            k = fc.shape[0]
            fc = np.clip(fc, 0.0, nums.ub[st.ch][:k])
            fd = np.clip(fd, 0.0, nums.ub[st.dis][:k])
            cons += [cp.abs(ch[:k] - fc) <= FIX_TOL_KWH, cp.abs(dis[:k] - fd) <= FIX_TOL_KWH]
        cons += [e >= nums.lb[st.e], e <= nums.ub[st.e]]
        cons += [e == e_prev + a.charge_efficiency * ch - dis / a.discharge_efficiency - trip]
        w = a.wear
        cost = cost + w.throughput_eur_per_kwh * cp.sum(ch + dis)
        cost = cost + w.quadratic_eur_per_kw2h / STEP_H * (cp.sum_squares(ch) + cp.sum_squares(dis))
        cost = cost - tval * e[-1]
        for thr in w.calendar:
            cost = cost + (thr.eur_per_kwh_h * dt * tf) @ cp.pos(e - thr.soc * a.capacity_kwh)
        if w.dod_segments:
            j = w.dod_segments
            width = a.capacity_kwh / j
            seg0 = np.clip(e0 - (a.capacity_kwh - width * np.arange(1, j + 1)), 0.0, width)
            se = cp.Variable((j, n))
            se_prev = cp.hstack([seg0.reshape(-1, 1), se[:, :-1]])
            seg_lb = np.zeros((j, n))
            seg_lb[-1] = np.minimum(0.0, nums.lb[st.e])
            cons += [se >= seg_lb, se <= width, cp.sum(se, axis=0) == e]
            # Energy leaving each slice pays that slice's depth cost.
            cost = cost + cp.sum(np.array(w.dod_costs(a.capacity_kwh)) @ cp.pos(se_prev - se))
        if isinstance(a, Ev):
            tgt = nums.targets[st.name]
            has = np.isfinite(tgt)
            if np.any(has):
                gap = cp.pos(tgt[has] - e[np.flatnonzero(has)])
                cost = cost + SHORTFALL_EUR_PER_KWH * cp.sum(gap)
                cost = cost + SHORTFALL_QUAD_EUR_PER_KWH2 * cp.sum_squares(gap)
            if a.v2h_budget_kwh is not None:
                cons += [cp.sum(dis) <= a.v2h_budget_kwh]
    cons += [net == 0]
    if not site.allow_export_from_storage:
        # V2H only: what is exported is PV that was produced and not curtailed.
        cons += [exp_ <= pv_e - cur]

    pt = site.peak_tariff
    if pt is not None:
        month, _, _ = local_calendar(pt.tz, nums.edges[:-1])
        slot = month - month[0]
        already = np.zeros(n)
        if inputs.peak_margin_kw is not None:
            already[:] = np.asarray(inputs.peak_margin_kw) * nums.dt[:n]
        already[0] += state.quarter_import_kwh
        for m in (0, 1):
            sel = np.flatnonzero(slot == m)
            if sel.size == 0:
                continue
            base = max(state.month_peak_kw, pt.floor_kw) if m == 0 else pt.floor_kw
            peak = cp.maximum(base, cp.max((imp[sel] + already[sel]) / STEP_H))
            cost = cost + pt.eur_per_kw_month * (peak - base)
    tt = site.top_peaks_tariff
    if tt is not None:
        q0 = (int(nums.edges[1]) - STEP_S) // STEP_S % 4
        hour_of_step = (q0 + np.arange(n)) // 4
        nh = int(hour_of_step[-1]) + 1
        group = np.zeros((nh, n))
        group[hour_of_step, np.arange(n)] = 1.0
        hstart = (int(nums.edges[1]) - STEP_S - q0 * STEP_S) + 3600 * np.arange(nh, dtype=np.int64)
        month, day, hod = local_calendar(tt.tz, hstart)
        if tt.night_start_hour > tt.night_end_hour:
            night = (hod >= tt.night_start_hour) | (hod < tt.night_end_hour)
        else:
            night = (hod >= tt.night_start_hour) & (hod < tt.night_end_hour)
        weight = np.where(night, tt.night_weight, 1.0)
        already_h = np.zeros(nh)
        already_h[0] = state.hour_import_kwh
        hourly = cp.multiply(weight, group @ imp + already_h)
        past = sorted(state.month_daily_peaks_kw, reverse=True)[: tt.count]
        past_arr = np.zeros(tt.count)
        past_arr[: len(past)] = past
        for m in (0, 1):
            days = [d for d in np.unique(day) if month[np.argmax(day == d)] - month[0] == m]
            if not days:
                continue
            peaks = []
            for d in days:
                hd = np.flatnonzero(day == d)
                dp = cp.max(hourly[hd])
                if d == day[0]:
                    dp = cp.maximum(dp, state.today_peak_kw)
                peaks.append(dp)
            pool = cp.hstack([*(past_arr if m == 0 else np.zeros(tt.count)), *peaks])
            cost = cost + tt.eur_per_kw_month / tt.count * cp.sum_largest(pool, tt.count)
            if m == 0:
                cost = cost - tt.eur_per_kw_month / tt.count * float(past_arr.sum())
    prob = cp.Problem(cp.Minimize(cost), cons)
    prob.solve(solver=solver)
    if prob.status not in ("optimal", "optimal_inaccurate"):
        raise RuntimeError(f"reference model: {prob.status}")
    return float(prob.value)


def a_full(site: Site, name: str) -> Ev:
    """The EV with its trips (structures hold EVs without trips)."""
    for ev in site.evs:
        if ev.name == name:
            return ev
    raise KeyError(name)
