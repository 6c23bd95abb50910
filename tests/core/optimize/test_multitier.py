"""Multi-tier grid, ring hot starts and plan reuse (issue 19)."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from hems_core.model import Trip
from hems_core.optimize import Inputs, Planner, State
from hems_core.optimize.backends import HighsBackend
from hems_core.optimize.bench import first_day_steps
from hems_core.optimize.plan import Plan
from hems_core.optimize.planner import ReuseThreshold
from hems_core.optimize.problem import Structure
from hems_core.optimize.tiers import DEFAULT_TIERS, Tiers, aggregate
from hems_core.scenario import (
    DEFAULT_START,
    case_a_site,
    case_state,
    receding_inputs,
)

QUARTERS_72H = 288


def _random_inputs(seed: int, n: int = QUARTERS_72H, minute: int = 7) -> Inputs:
    rng = np.random.default_rng(seed)
    return Inputs(
        start=DEFAULT_START + timedelta(minutes=minute),
        import_price=rng.uniform(-0.05, 0.5, n),
        export_price=rng.uniform(-0.05, 0.2, n),
        load_kw=rng.uniform(0.0, 6.0, n),
        pv_kw=rng.uniform(0.0, 8.0, n),
        import_cap_kw=rng.uniform(5.0, 17.0, n),
        temperature_factor=rng.uniform(0.5, 2.0, n),
    )


@pytest.mark.parametrize("quarters", [50, 97, 100, 146, 193, 287, 288])
def test_layout_keeps_the_first_day_on_quarters_and_covers_every_input(quarters: int) -> None:
    layout = DEFAULT_TIERS.layout(quarters)
    assert sum(layout) == quarters
    fine = min(quarters, 97)
    assert layout[:fine] == (1,) * fine  # the running quarter plus 24 h of quarters
    assert all(q in (1, 2, 3, 4) for q in layout)
    assert len(DEFAULT_TIERS.layout(288)) == 157


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_aggregation_preserves_energy_and_cost(seed: int) -> None:
    """Energy of every series and the cost of a step-constant schedule equal on both grids."""
    fine = _random_inputs(seed)
    layout = DEFAULT_TIERS.layout(fine.steps)
    coarse = aggregate(fine, layout)
    bounds = np.concatenate([[0], np.cumsum(layout)])
    # Step lengths in hours: the partial running quarter, then whole quarters.
    dt_f = np.full(fine.steps, 0.25)
    dt_f[0] = 0.25 - 7 / 60
    dt_c = np.array([dt_f[a:b].sum() for a, b in itertools.pairwise(bounds)])
    for name in ("load_kw", "pv_kw"):
        e_f = float(np.dot(getattr(fine, name), dt_f))
        e_c = float(np.dot(getattr(coarse, name), dt_c))
        assert e_c == pytest.approx(e_f, rel=1e-12)
    rng = np.random.default_rng(100 + seed)
    power_c = rng.uniform(0.0, 10.0, len(layout))  # constant within each coarse step
    power_f = np.repeat(power_c, layout)
    for name in ("import_price", "export_price"):
        cost_f = float(np.dot(getattr(fine, name) * power_f, dt_f))
        cost_c = float(np.dot(getattr(coarse, name) * power_c, dt_c))
        assert cost_c == pytest.approx(cost_f, rel=1e-12)
    # A constant power must respect every quarter's cap, so a step's cap is the least one.
    assert coarse.import_cap_kw is not None
    assert fine.import_cap_kw is not None
    assert np.all(np.repeat(coarse.import_cap_kw, layout) <= fine.import_cap_kw)
    assert coarse.terminal_value() == pytest.approx(fine.terminal_value())


def _fixed_first_day_cost(site: object, inputs: Inputs, state: State, plan: Plan | None) -> float:
    """Optimum of the full 15-minute model (HiGHS), optionally with the plan's first day fixed."""
    assert isinstance(site, type(case_a_site(DEFAULT_START)))
    s = Structure(site, inputs.steps)
    nums = s.numbers(site, inputs, state)
    if plan is not None:
        k = first_day_steps(plan)
        lb, ub = nums.lb.copy(), nums.ub.copy()
        for st in s.stores:
            a = plan.asset(st.name)
            for sl, vals in ((st.ch, a.charge_kwh), (st.dis, a.discharge_kwh)):
                v = np.clip(np.asarray(vals[:k]), lb[sl][:k], ub[sl][:k])
                idx = np.arange(sl.start, sl.start + k)
                lb[idx] = np.maximum(v - 1e-5, lb[idx])
                ub[idx] = np.minimum(v + 1e-5, ub[idx])
        nums = replace(nums, lb=lb, ub=ub)
    res = HighsBackend(s, segments=24).solve(nums, None)
    assert res.ok
    return s.objective(res.x, nums)


@pytest.mark.parametrize("k", [0, 5])
def test_first_day_of_the_multitier_plan_matches_full_resolution(k: int) -> None:
    """Acting on the multi-tier plan for a day costs < 0.5 % more than the 15-minute optimum."""
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    inputs = receding_inputs(DEFAULT_START, QUARTERS_72H, k)
    plan = Planner(site, tiers=True).solve(inputs, state)
    assert len(plan.dt_h) == 157
    assert sum(plan.dt_h) == pytest.approx(72.0)
    assert first_day_steps(plan) == 96
    best = _fixed_first_day_cost(site, inputs, state, None)
    acted = _fixed_first_day_cost(site, inputs, state, plan)
    regret = (acted - best) / max(1.0, abs(best))
    assert -1e-4 <= regret <= 5e-3
    # The capacity-tariff peak holds on the 15-minute part, as in the full model.
    assert max(plan.grid_import_kw[:96]) <= max(plan.month_peak_kw) + 1e-6


def test_trip_inside_a_coarse_step_is_aggregated_exactly() -> None:
    """Leaving 45 min into an hour step: home 3/4 of it, target at its end."""
    site = case_a_site(DEFAULT_START)
    t_dep = DEFAULT_START + timedelta(hours=40, minutes=15 + 45)  # 45 min into an hour step
    t_arr = t_dep + timedelta(hours=3, minutes=30)
    trip = Trip(depart=t_dep, arrive=t_arr, energy_kwh=10.0, target_soc=0.85)
    site = replace(site, evs=(replace(site.evs[0], trips=(trip,)),))
    layout = DEFAULT_TIERS.layout(QUARTERS_72H)
    s = Structure(site, len(layout), layout)
    inputs = aggregate(receding_inputs(DEFAULT_START, QUARTERS_72H, 0), layout)
    nums = s.numbers(site, inputs, case_state(site))
    starts = nums.edges[:-1]
    k_dep = int(np.searchsorted(starts, t_dep.timestamp(), side="right")) - 1
    k_arr = int(np.searchsorted(starts, t_arr.timestamp(), side="right")) - 1
    assert layout[k_dep] == 4
    assert layout[k_arr] == 4
    avail = nums.available["ev"]
    assert avail[k_dep] == pytest.approx(0.75)
    assert avail[k_arr] == pytest.approx(0.75)  # back 15 min into that hour
    assert np.all(avail[k_dep + 1 : k_arr] == 0.0)
    assert nums.targets["ev"][k_dep] == pytest.approx(0.85 * 60.0)
    st = s.stores[0]
    assert st.dyn_rows is not None
    trip_rows = -nums.l[st.dyn_rows]
    assert trip_rows[k_arr] == pytest.approx(10.0)  # deducted in the step it returns in
    plan = Planner(site, tiers=True).solve(receding_inputs(DEFAULT_START, QUARTERS_72H, 0),
                                           case_state(site))  # fmt: skip
    ev = plan.asset("ev")
    assert ev.energy_kwh[k_dep] >= 0.85 * 60.0 - 1e-6
    assert abs(ev.power_kw[k_dep]) <= 11.0 * 0.75 + 1e-6


@pytest.mark.parametrize("tiers", [None, DEFAULT_TIERS])
def test_hot_start_on_the_ring_finds_the_cold_optimum(tiers: Tiers | None) -> None:
    """Receding re-solves on the ring reach the same optimum as a fresh solve, in fewer pivots."""
    site = case_a_site(DEFAULT_START)
    n = QUARTERS_72H if tiers is not None else 192
    hot = Planner(site, tiers=tiers, reuse=None)
    state = case_state(site)
    rotations = set()
    hot_iters, cold_iters = [], []
    for i in range(6):
        inputs = receding_inputs(DEFAULT_START, n, i)
        plan = hot.solve(inputs, state)
        backend = hot._backend
        assert isinstance(backend, HighsBackend)
        assert backend.ring >= 97
        rotations.add(backend._rot)
        fresh = Planner(site, tiers=tiers, reuse=None)
        cold = fresh.solve(inputs, state)
        assert _lp_objective(hot) == pytest.approx(_lp_objective(fresh), rel=1e-7, abs=1e-7)
        assert plan.stats.objective == pytest.approx(cold.stats.objective, rel=1e-4)
        if i:
            assert plan.stats.warm_started
            hot_iters.append(plan.stats.iterations)
            cold_iters.append(cold.stats.iterations)
        state = replace(
            state,
            ev_soc={"ev": plan.asset("ev").soc[0]},
            battery_soc=plan.asset("battery").soc[0],
            quarter_import_kwh=0.0,
        )
    assert len(rotations) == 6  # every slide moved the seam
    assert np.median(hot_iters) < 0.5 * np.median(cold_iters)


def test_ring_and_fixed_layout_give_the_same_plans() -> None:
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    ring, fixed = Planner(site, reuse=None), Planner(site, reuse=None, rotate=False)
    for i in range(4):
        inputs = receding_inputs(DEFAULT_START, 96, i)
        a, b = ring.solve(inputs, state), fixed.solve(inputs, state)
        # The LPs are the same up to the order of their columns: the same optimum. Plans may
        # be different optimal vertices, whose exact quadratic cost differs within the PWL
        # tolerance.
        lp_a, lp_b = (_lp_objective(p) for p in (ring, fixed))
        assert lp_a == pytest.approx(lp_b, rel=1e-7, abs=1e-7)
        assert a.stats.objective == pytest.approx(b.stats.objective, rel=1e-4)


def _lp_objective(planner: Planner) -> float:
    backend = planner._backend
    assert isinstance(backend, HighsBackend)
    return float(backend._h.getInfo().objective_function_value)


def _soc_now(plan: Plan, frac: float, state: State) -> State:
    ev0, bat0 = state.ev_soc["ev"], state.battery_soc
    assert bat0 is not None
    ev = ev0 + (plan.asset("ev").soc[0] - ev0) * frac
    bat = bat0 + (plan.asset("battery").soc[0] - bat0) * frac
    q = state.quarter_import_kwh + plan.grid_import_kw[0] * plan.dt_h[0] * frac
    return replace(state, ev_soc={"ev": ev}, battery_soc=bat, quarter_import_kwh=q)


def _was_reused(planner: Planner) -> bool:
    return planner.reused


def test_plan_reuse_only_below_the_threshold() -> None:
    site = case_a_site(DEFAULT_START)
    th = ReuseThreshold()
    start = DEFAULT_START + timedelta(minutes=1)
    base = receding_inputs(DEFAULT_START, 96, 0)
    inputs = replace(base, start=start)
    state = case_state(site)
    planner = Planner(site, reuse=th)
    first = planner.solve(inputs, state)
    assert not _was_reused(planner)
    # Five minutes later, everything as the plan expected: the same plan, no solve.
    later = replace(base, start=start + timedelta(minutes=5))
    frac = 5 / 14
    expected = _soc_now(first, frac, state)
    again = planner.solve(later, expected)
    assert _was_reused(planner)
    assert again is first
    # Just below every threshold: still reused.
    nudged = replace(
        later,
        import_price=later.import_price + 0.9 * th.price_eur_per_kwh,
        load_kw=later.load_kw + 0.9 * th.power_kw,
    )
    soc_in = replace(expected, ev_soc={"ev": expected.ev_soc["ev"] + 0.9 * th.soc})
    assert planner.solve(nudged, soc_in) is first
    # Above any one threshold: a real re-solve.
    dearer = replace(later, import_price=later.import_price + 1.5 * th.price_eur_per_kwh)
    assert planner.solve(dearer, expected) is not first
    assert not _was_reused(planner)
    planner = Planner(site, reuse=th)
    first = planner.solve(inputs, state)
    soc_off = replace(expected, ev_soc={"ev": expected.ev_soc["ev"] + 1.5 * th.soc})
    assert planner.solve(later, soc_off) is not first
    planner = Planner(site, reuse=th)
    first = planner.solve(inputs, state)
    metered = replace(expected, quarter_import_kwh=expected.quarter_import_kwh + 0.2)
    assert planner.solve(later, metered) is not first
    # A new quarter, or a changed site, always re-solves.
    planner = Planner(site, reuse=th)
    first = planner.solve(inputs, state)
    next_q = receding_inputs(DEFAULT_START, 96, 1)
    assert planner.solve(next_q, expected) is not first
    planner = Planner(site, reuse=th)
    first = planner.solve(inputs, state)
    other = replace(site, evs=(replace(site.evs[0], trips=site.evs[0].trips[1:]),))
    assert planner.solve(later, expected, site=other) is not first
    # Off: never reused.
    planner = Planner(site, reuse=None)
    first = planner.solve(inputs, state)
    assert planner.solve(later, expected) is not first


def test_bench_cli_reports_the_multitier_case() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hems_core.cli", "bench", "solver", "--json", "--cases", "c",
         "--repeats", "2", "--no-reference", "--backends", "highs"],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    data = json.loads(out.stdout)
    (row,) = data["cases"]
    assert row["name"] == "c"
    assert row["quarters"] == QUARTERS_72H
    assert row["horizon_h"] == 72.0
    assert row["steps"] == 157
    assert row["median_ms"] > 0
    assert row["rel_gap"] is None
    assert row["first_day_cost_diff_pct"] is None


def test_first_day_cost_diff_is_reported_against_clarabel() -> None:
    pytest.importorskip("cvxpy")
    from hems_core.optimize.bench import _case, first_day_cost_diff_pct, rel_gap

    row, site, checkpoints = _case("c", QUARTERS_72H, "highs", repeats=1, reference=True)
    assert row["steps"] == 157
    pct = first_day_cost_diff_pct(site, checkpoints[:1])
    assert pct is not None
    assert -1e-2 <= pct <= 0.5
    gap = rel_gap(site, checkpoints[:1])
    assert gap is not None
    assert gap < 0.1


@pytest.mark.parametrize(("tiers", "n"), [(None, 192), (DEFAULT_TIERS, QUARTERS_72H)])
def test_a_grid_change_starts_from_the_last_plan_and_finds_the_cold_optimum(
    tiers: Tiers | None, n: int
) -> None:
    """Shorter inputs change the grid (a new structure): HiGHS starts from the old plan.

    (On the plain grid only without the fixed horizon, which would pad instead.)"""
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    hot = Planner(site, tiers=tiers, reuse=None, fixed_horizon=False)
    hot.solve(receding_inputs(DEFAULT_START, n, 0), state)
    shorter = receding_inputs(DEFAULT_START, n - 1, 1)
    plan = hot.solve(shorter, state)
    backend = hot._backend
    assert isinstance(backend, HighsBackend)
    assert backend.started_from_solution
    assert not plan.stats.warm_started  # a new structure: no shifted warm start
    fresh = Planner(site, tiers=tiers, reuse=None)
    cold = fresh.solve(shorter, state)
    assert _lp_objective(hot) == pytest.approx(_lp_objective(fresh), rel=1e-7, abs=1e-7)
    assert plan.stats.iterations < 0.7 * cold.stats.iterations


def test_a_coarse_step_across_the_month_boundary_counts_for_both_peaks() -> None:
    """Local midnight of April 1 (22:00 UTC) falls inside a 30-minute step (21:45-22:15)."""
    from datetime import UTC, datetime

    start = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    site = case_a_site(start)
    layout = DEFAULT_TIERS.layout(QUARTERS_72H)
    s = Structure(site, len(layout), layout)
    inputs = aggregate(receding_inputs(start, QUARTERS_72H, 0), layout)
    nums = s.numbers(site, inputs, case_state(site))
    k = int(np.searchsorted(nums.edges, int(datetime(2026, 3, 31, 22, tzinfo=UTC).timestamp()))) - 1
    assert layout[k] == 2
    assert nums.edges[k] < datetime(2026, 3, 31, 22, tzinfo=UTC).timestamp() < nums.edges[k + 1]
    this_month, next_month = (nums.l[rows] for rows in s.peak_rows)
    assert np.isfinite(this_month[k])
    assert np.isfinite(next_month[k])
    assert np.all(np.isfinite(this_month[: k + 1])) and not np.any(np.isfinite(this_month[k + 1 :]))
    assert np.all(np.isfinite(next_month[k:])) and not np.any(np.isfinite(next_month[:k]))


def test_the_swedish_tariff_keeps_planning_on_quarters() -> None:
    from hems_core.model import TopPeaksTariff

    site = replace(case_a_site(DEFAULT_START), peak_tariff=None,
                   top_peaks_tariff=TopPeaksTariff(eur_per_kw_month=80.0))  # fmt: skip
    plan = Planner(site, tiers=True).solve(
        receding_inputs(DEFAULT_START, QUARTERS_72H, 0), case_state(site)
    )
    assert len(plan.dt_h) == QUARTERS_72H
    with pytest.raises(ValueError, match="top-peaks"):
        Structure(site, 3, (1, 2, 4))
