"""Fixed horizon: shorter inputs are padded into the same structure and HiGHS model."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from hems_core.optimize import Inputs, Plan, Planner, State
from hems_core.optimize.backends import HighsBackend
from hems_core.optimize.problem import Structure
from hems_core.scenario import (
    DEFAULT_START,
    case_a_site,
    case_state,
    profile_inputs,
    receding_inputs,
)


def _lp_objective(planner: Planner) -> float:
    backend = planner._backend
    assert isinstance(backend, HighsBackend)
    return float(backend._h.getInfo().objective_function_value)


def test_a_shrinking_horizon_with_new_trips_keeps_one_model_and_the_optimum() -> None:
    """As in a backtest: the horizon ends at the last published price (one step shorter each
    quarter) and the car's trips change; one structure, one HiGHS model, the same costs as a
    planner that builds each horizon exactly."""
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    planner = Planner(site, reuse=None)
    n, quarters = 96, 8
    for k in range(quarters):
        inputs = receding_inputs(DEFAULT_START, n - k, k)
        ev = site.evs[0]
        site_k = replace(site, evs=(replace(ev, trips=ev.trips[k % 2 :]),))
        plan = planner.solve(inputs, state, site_k)
        assert len(plan.step_start) == len(plan.dt_h) == n - k
        assert len(plan.asset("ev").soc) == n - k
        fresh = Planner(site_k, reuse=None, fixed_horizon=False)
        exact = fresh.solve(inputs, state)
        # The same LP optimum (HiGHS' piecewise-linear model). The exact quadratic costs of
        # the plans may differ a little (seen: 1e-5 relative) where the LP has ties.
        assert _lp_objective(planner) == pytest.approx(_lp_objective(fresh), rel=1e-7, abs=1e-7)
        assert plan.costs.total == pytest.approx(exact.costs.total, rel=1e-4)
        assert plan.stats.variables > exact.stats.variables or k == 0
    backend = planner._backend
    assert isinstance(backend, HighsBackend)
    assert planner.builds == 1
    assert backend.models == 1


def test_a_longer_horizon_grows_the_structure_once() -> None:
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    planner = Planner(site, reuse=None)
    for k, n in enumerate((40, 39, 96, 95, 94, 60)):
        plan = planner.solve(receding_inputs(DEFAULT_START, n, k), state)
        assert len(plan.step_start) == n
    assert planner.builds == 2


def test_padding_is_inert() -> None:
    """The padded steps hold no flows and the energies keep their last real value."""
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    s = Structure(site, 48)
    assert s.pads
    nums = s.numbers(site, profile_inputs(DEFAULT_START, 30, 0), state)
    assert np.all(nums.dt[30:] == 0.0)
    for st in s.stores:
        for sl in (st.ch, st.dis):
            assert np.all(nums.ub[sl][30:] == 0.0)
        assert np.all(~np.isfinite(nums.targets[st.name][30:]))
    assert np.all(nums.ub[s.imp][30:] == 0.0) and np.all(nums.ub[s.exp][30:] == 0.0)


def _window(full: Inputs, k: int, **change: Any) -> Inputs:
    """Quarter ``k`` of a horizon that ends where ``full`` ends (the last published price)."""
    cut = slice(k, full.steps)
    return replace(
        full,
        start=full.start + timedelta(minutes=15 * k),
        import_price=full.import_price[cut] + change.get("price", 0.0),
        export_price=full.export_price[cut],
        load_kw=full.load_kw[cut],
        pv_kw=full.pv_kw[cut],
    )


def _as_planned(plan: Plan, state: State) -> State:
    bat = plan.asset("battery").soc[0]
    return replace(state, ev_soc={"ev": plan.asset("ev").soc[0]}, battery_soc=bat,
                   quarter_import_kwh=0.0)  # fmt: skip


def test_the_next_quarter_takes_the_solved_plans_tail_when_nothing_changed() -> None:
    site = case_a_site(DEFAULT_START)
    full = replace(profile_inputs(DEFAULT_START, 96, 0), terminal_value_eur_per_kwh=0.15)
    planner = Planner(site)
    first = planner.solve(full, case_state(site))
    state = _as_planned(first, case_state(site))
    plan = planner.solve(_window(full, 1), state)
    assert planner.shifted == 1 and planner.reused
    assert plan.stats.backend == "reused"
    assert len(plan.step_start) == 95
    assert plan.step_start == first.step_start[1:]
    assert plan.asset("ev").soc == pytest.approx(first.asset("ev").soc[1:], abs=1e-6)
    exact = Planner(site, fixed_horizon=False).solve(_window(full, 1), state)
    assert plan.costs.total == pytest.approx(exact.costs.total, rel=1e-4)
    assert planner._backend is not None and planner.builds == 1


@pytest.mark.parametrize("what", ["price", "soc", "off", "partial"])
def test_a_material_change_solves_again(what: str) -> None:
    from hems_core.optimize import ReuseThreshold

    site = case_a_site(DEFAULT_START)
    full = replace(profile_inputs(DEFAULT_START, 96, 0), terminal_value_eur_per_kwh=0.15)
    reuse = ReuseThreshold(shift_quarters=0) if what == "off" else ReuseThreshold()
    planner = Planner(site, reuse=reuse)
    first = planner.solve(full, case_state(site))
    state = _as_planned(first, case_state(site))
    inputs = _window(full, 1, price=0.01 if what == "price" else 0.0)
    if what == "soc":
        state = replace(state, ev_soc={"ev": state.ev_soc["ev"] + 0.01})
    if what == "partial":
        inputs = replace(inputs, start=inputs.start + timedelta(seconds=30))
    plan = planner.solve(inputs, state)
    assert planner.shifted == 0
    assert plan.stats.backend == "highs"


def test_a_stuck_kept_model_is_dropped_and_the_quarter_solved_cold() -> None:
    """A kept HiGHS model that stops returning optima must not fail every later quarter."""
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    planner = Planner(site, reuse=None)
    planner.solve(receding_inputs(DEFAULT_START, 96, 0), state)
    stuck = planner._backend
    assert isinstance(stuck, HighsBackend)
    stuck._h.setOptionValue("time_limit", 0.0)  # the kept model now ends every run unsolved
    plan = planner.solve(receding_inputs(DEFAULT_START, 95, 1), state)
    assert planner.cold_retries == 1
    assert planner._backend is not stuck
    assert plan.stats.status == "Optimal"
    exact = Planner(site, reuse=None, fixed_horizon=False).solve(
        receding_inputs(DEFAULT_START, 95, 1), state
    )
    assert plan.costs.total == pytest.approx(exact.costs.total, rel=1e-4)
