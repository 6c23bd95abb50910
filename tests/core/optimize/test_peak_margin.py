"""The peak margin: headroom under the month's peak for what the median forecasts miss.

A plan made on p50 load fills the peak budget exactly; the first kettle above the median then
sets a new peak that costs a whole month. ``Inputs.peak_margin_kw`` makes the plan keep its
planned import plus the margin under the peak it pays for; the control side derives the margin
from the load and PV quantiles (``control.planning.peak_margin_kw``).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from hems_core.control.planning import Forecast, peak_margin_kw
from hems_core.control.settings import ControlError
from hems_core.optimize import InputError, Inputs, Planner
from hems_core.optimize.planner import ReuseThreshold
from hems_core.optimize.tiers import aggregate
from hems_core.scenario import DEFAULT_START, case_a_site, case_state, receding_inputs

N = 96


def _inputs(margin: float | None) -> Inputs:
    base = receding_inputs(DEFAULT_START, N, 0)
    return replace(base, peak_margin_kw=None if margin is None else np.full(N, margin))


@pytest.mark.parametrize(
    ("values", "match"),
    [
        (np.full(N, -0.1), ">= 0"),
        (np.r_[np.full(N - 1, 0.5), np.nan], "NaN"),
        (np.full(N - 1, 0.5), "values"),
    ],
)
def test_a_bad_margin_is_refused(values: np.ndarray, match: str) -> None:
    with pytest.raises(InputError, match=match):
        replace(receding_inputs(DEFAULT_START, N, 0), peak_margin_kw=values)


def test_the_plan_keeps_its_import_plus_the_margin_under_the_peak_it_pays_for() -> None:
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    plain = Planner(site).solve(_inputs(None), state)
    kept = Planner(site).solve(_inputs(1.5), state)
    imp = np.asarray(kept.grid_import_kw)
    assert kept.month_peak_kw[0] >= float(imp[1:].max()) + 1.5 - 1e-6
    # the first (running) quarter already holds its metered import: margin on the rest of it
    first = state.quarter_import_kwh + (imp[0] + 1.5) * kept.dt_h[0]
    assert kept.month_peak_kw[0] * 0.25 >= first - 1e-6
    # without it the plan is free to fill the budget, and pays for no more peak
    assert plain.month_peak_kw[0] <= kept.month_peak_kw[0] + 1e-6
    assert float(np.asarray(plain.grid_import_kw).max()) + 1.5 > plain.month_peak_kw[0] + 1e-3


def test_highs_and_the_cvxpy_reference_agree_with_a_margin() -> None:
    pytest.importorskip("cvxpy")
    from hems_core.optimize.reference import reference_solve

    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    inputs = replace(_inputs(None), peak_margin_kw=np.linspace(2.0, 0.3, N))
    plan = Planner(site, backend="osqp", eps=1e-7, polish=True, max_iter=20000).solve(inputs, state)
    ref = reference_solve(site, inputs, state)
    assert plan.stats.relaxed_objective == pytest.approx(ref, abs=1e-3 * max(1.0, abs(ref)))
    without = reference_solve(site, _inputs(None), state)
    assert ref > without + 0.01  # the margin costs something here, so the check has teeth


def test_a_changed_margin_is_material_for_the_reuse() -> None:
    site = case_a_site(DEFAULT_START)
    state = case_state(site)
    planner = Planner(site, reuse=ReuseThreshold())
    planner.solve(_inputs(0.5), state)
    planner.solve(_inputs(0.5), state)
    assert planner.reused
    planner.solve(_inputs(2.0), state)
    assert not planner.reused
    planner.solve(_inputs(None), state)
    assert not planner.reused


def test_coarse_tiers_take_the_mean_margin() -> None:
    inputs = replace(_inputs(None), peak_margin_kw=np.arange(N, dtype=np.float64) / 10)
    agg = aggregate(inputs, (1, 1, 2, 4))
    assert agg.peak_margin_kw is not None
    assert agg.peak_margin_kw.tolist() == pytest.approx([0.0, 0.1, 0.25, 0.55])


@pytest.mark.parametrize(
    ("l50", "l90", "p50", "p10", "want"),
    [
        (1.0, 2.0, 0.0, 0.0, 1.0),  # night: the load's spread
        (1.0, 1.6, 3.0, 1.0, 0.6),  # PV's spread capped: even poor PV leaves 0.6 kW import
        (0.5, 0.8, 4.0, 2.0, 0.0),  # PV covers the load even at p10: nothing to protect
        (1.0, 0.9, 0.0, 0.0, 0.0),  # crossed quantiles never give a negative margin
        (2.0, 3.0, 2.0, 1.5, 1.5),  # both spreads add up
    ],
)
def test_the_margin_from_the_quantiles(
    l50: float, l90: float, p50: float, p10: float, want: float
) -> None:
    got = peak_margin_kw([l50], [l90], [p50], [p10])
    assert got.tolist() == pytest.approx([want])


def test_the_forecast_carries_the_margin_into_the_inputs_and_checks_it() -> None:
    start = DEFAULT_START
    z = np.zeros(8)
    fc = Forecast(start, z + 0.2, z, z + 1.0, z, peak_margin_kw=np.arange(8.0))
    inputs = fc.inputs(start.replace(minute=30), 96)
    assert inputs is not None and inputs.peak_margin_kw is not None
    assert inputs.peak_margin_kw.tolist() == [2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    with pytest.raises(ControlError, match=">= 0"):
        Forecast(start, z + 0.2, z, z + 1.0, z, peak_margin_kw=z - 1.0)
    with pytest.raises(ControlError, match="NaN"):
        Forecast(start, z + 0.2, z, z + 1.0, z, peak_margin_kw=np.r_[z[:7], np.nan])
