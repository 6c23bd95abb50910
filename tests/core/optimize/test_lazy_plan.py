"""Deferred Plan fields and the cached terminal value: the same values as eager ones.

``build_plan`` defers the per-step series, ``step_start`` and ``reasons`` until first read
(a backtest reads few of them); these tests build the same solved plan both ways and
compare every field, and show the deferred plan does not depend on the solution array the
caller keeps using.
"""

from __future__ import annotations

import copy
import pickle
from dataclasses import asdict, fields, replace
from datetime import UTC, datetime

import numpy as np
import pytest

from hems_core.optimize import Inputs
from hems_core.optimize.backends import make_backend
from hems_core.optimize.inputs import FloatArray, InputError, quantile_linear
from hems_core.optimize.plan import AssetPlan, Plan, SolverStats, _starts, build_plan
from hems_core.optimize.problem import Numbers, Structure, same_layout, structure_key
from hems_core.scenario import (
    DEFAULT_START,
    case_a_site,
    case_state,
    profile_inputs,
)

STATS = SolverStats(
    backend="highs", status="Optimal", iterations=1, solve_time_s=0.0, build_time_s=0.0,
    objective=0.0, relaxed_objective=0.0, warm_started=False, milp_used=False,
    fallback_from=None, variables=1, constraints=1,
)  # fmt: skip


def _solved(steps: int, pad_to: int | None = None) -> tuple[Structure, Inputs, Numbers, FloatArray]:
    site = case_a_site(DEFAULT_START)
    inputs = profile_inputs(DEFAULT_START, steps, 0)
    s = Structure(site, pad_to or steps)
    nums = s.numbers(site, inputs, case_state(site))
    res = make_backend("highs", s).solve(nums, None)
    assert res.ok
    return s, inputs, nums, res.x


@pytest.mark.parametrize(("steps", "pad_to"), [(96, None), (40, 96)])
def test_deferred_plan_equals_the_eager_one_field_by_field(steps: int, pad_to: int | None) -> None:
    s, inputs, nums, x = _solved(steps, pad_to)
    lazy = build_plan(s, inputs, nums, x, STATS)
    eager = build_plan(s, inputs, nums, x, STATS, lazy=False)
    assert "reasons" not in lazy.__dict__  # not computed until read
    assert "costs" not in lazy.__dict__
    assert "power_kw" not in lazy.assets[0].__dict__
    x[:] = 1e6  # the caller reuses its array: the deferred plan must not see it
    for f in fields(Plan):
        assert getattr(lazy, f.name) == getattr(eager, f.name), f.name
    for a, b in zip(lazy.assets, eager.assets, strict=True):
        for f in fields(AssetPlan):
            assert getattr(a, f.name) == getattr(b, f.name), f.name
    assert any(r != "hold" for r in eager.reasons)  # the comparison covers real reasons
    assert isinstance(lazy.reasons, tuple) and isinstance(lazy.grid_import_kw, tuple)
    assert lazy == eager
    assert lazy.to_json() == eager.to_json()
    assert lazy.step_start_s == tuple(
        int(datetime.fromisoformat(t).timestamp()) for t in eager.step_start
    )
    assert eager.step_start_s == lazy.step_start_s


def test_a_deferred_plan_pickles_and_copies_with_every_field() -> None:
    s, inputs, nums, x = _solved(48)
    lazy = build_plan(s, inputs, nums, x, STATS)
    eager = build_plan(s, inputs, nums, x, STATS, lazy=False)
    for other in (pickle.loads(pickle.dumps(lazy)), copy.deepcopy(lazy), copy.copy(lazy)):
        assert other == eager
        assert asdict(other) == asdict(eager)


def test_an_unknown_attribute_is_still_an_error() -> None:
    s, inputs, nums, x = _solved(8)
    plan = build_plan(s, inputs, nums, x, STATS)
    with pytest.raises(AttributeError):
        getattr(plan, "reason")  # noqa: B009


def test_quantile_is_numpys_bit_for_bit() -> None:
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 4, 5, 95, 96, 191, 192, 288):
        for scale in (1e-3, 1.0, 1e3):
            a = rng.normal(0.2, 0.1, n) * scale
            for arr in (a, np.round(a, 3), np.full(n, 0.1)):
                for q in (0.0, 0.1, 0.25, 0.5, 0.75, 1.0):
                    assert quantile_linear(arr, q) == float(np.quantile(arr, q))


def test_terminal_value_is_computed_once_and_is_the_lower_quartile() -> None:
    inputs = profile_inputs(DEFAULT_START, 96, 0)
    want = max(0.0, float(np.quantile(inputs.import_price, 0.25)))
    assert inputs.terminal_value() == want
    assert inputs.__dict__["_tval"] == want
    assert inputs.terminal_value() == want
    fixed = Inputs(
        start=inputs.start,
        import_price=inputs.import_price,
        export_price=inputs.export_price,
        load_kw=inputs.load_kw,
        pv_kw=inputs.pv_kw,
        terminal_value_eur_per_kwh=0.07,
    )
    assert fixed.terminal_value() == 0.07


def test_step_starts_are_the_datetime_iso_strings() -> None:
    """The vectorised ISO strings equal ``datetime.isoformat`` (UTC, whole seconds)."""
    rng = np.random.default_rng(3)
    edges = np.sort(rng.integers(0, 4_102_444_800, 500)).astype(np.int64)
    edges[:3] = (0, 1_735_689_600, 1_735_689_601)
    got = _starts(edges)()
    assert got == tuple(datetime.fromtimestamp(int(t), UTC).isoformat() for t in edges)


def test_numbers_checks_each_new_site_once_and_still_rejects_another_layout() -> None:
    """The structure remembers the last site that matched; a new site object is checked."""
    site = case_a_site(DEFAULT_START)
    inputs = profile_inputs(DEFAULT_START, 8, 0)
    s = Structure(site, 8)
    s.numbers(site, inputs, case_state(site))
    ev = site.evs[0]
    same_layout = replace(site, evs=(replace(ev, trips=ev.trips[1:]),))
    s.numbers(same_layout, inputs, case_state(site))  # trips are data, not structure
    other = replace(site, evs=(replace(ev, capacity_kwh=ev.capacity_kwh + 1.0),))
    for _ in range(2):
        with pytest.raises(InputError, match="differs from the assembled structure"):
            s.numbers(other, inputs, case_state(site))


def test_same_layout_agrees_with_the_structure_key() -> None:
    site = case_a_site(DEFAULT_START)
    ev = site.evs[0]
    assert site.battery is not None
    variants = {
        "trips": replace(site, evs=(replace(ev, trips=ev.trips[1:]),)),
        "copy": replace(site),
        "ev capacity": replace(site, evs=(replace(ev, capacity_kwh=ev.capacity_kwh + 1),)),
        "ev power": replace(site, evs=(replace(ev, max_charge_kw=ev.max_charge_kw + 1),)),
        "grid": replace(
            site, grid=replace(site.grid, import_limit_kw=site.grid.import_limit_kw + 1)
        ),
        "battery": replace(site, battery=replace(site.battery, capacity_kwh=1.0)),
        "no evs": replace(site, evs=()),
    }
    same = {name: same_layout(site, other) for name, other in variants.items()}
    keys = {
        name: structure_key(site, 8) == structure_key(other, 8) for name, other in variants.items()
    }
    assert same == keys
    assert same["trips"] and same["copy"] and not same["grid"] and not same["ev capacity"]


def test_a_kept_column_index_gives_the_dense_product_for_every_vector() -> None:
    s = Structure(case_a_site(DEFAULT_START), 8)
    dense = np.zeros(s.A.shape)
    for j in range(s.A.shape[1]):
        lo, hi = s.A.indptr[j], s.A.indptr[j + 1]
        dense[s.A.indices[lo:hi], j] = s.A.data[lo:hi]
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.normal(size=s.A.shape[1])
        np.testing.assert_allclose(s.A.dot(x), np.dot(dense, x), rtol=1e-12, atol=1e-12)
