"""Where stored energy may go: ``Site.allow_export_from_storage`` (default: V2H only).

The scenario pays well for export in the evening (0.55 EUR/kWh, against 0.05 EUR/kWh of
value for energy left in storage): exporting from a full car or battery would pay, so a plan
that ignores the policy does it. With the default the grid export never exceeds the PV
produced in the step (and is zero at night); storage still serves the house.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from hems_core.model import Ev, Grid, HomeBattery, ModelError, Pv, Site
from hems_core.optimize import Inputs, Plan, Planner, State, available_backends
from hems_core.optimize.problem import Structure

START = datetime(2026, 6, 10, 17, 0, tzinfo=UTC)
N = 24  # 17:00-23:00 UTC: PV fades out by 19:30, then night
LOAD_KW = 0.5
#: Solver slack allowed on "export <= PV" (OSQP plans are repaired to 1e-7; HiGHS is exact).
TOL_KW = 1e-4


def _pv() -> np.ndarray:
    pv = np.zeros(N)
    pv[:10] = np.linspace(3.0, 0.3, 10)
    return pv


def _inputs(pv: np.ndarray | None = None) -> Inputs:
    return Inputs(
        start=START,
        import_price=np.full(N, 0.60),
        export_price=np.full(N, 0.55),
        load_kw=np.full(N, LOAD_KW),
        pv_kw=_pv() if pv is None else pv,
        terminal_value_eur_per_kwh=0.05,
    )


def _site(storage: str, allow: bool | None) -> Site:
    grid = Grid(import_limit_kw=17.0, export_limit_kw=10.0)
    kwargs: dict[str, object] = {}
    if allow is not None:
        kwargs["allow_export_from_storage"] = allow
    if storage == "ev":
        ev = Ev(name="car", capacity_kwh=60.0, max_charge_kw=11.0, max_discharge_kw=11.0,
                min_soc=0.2)  # fmt: skip
        return Site(grid=grid, evs=(ev,), pv=Pv(), **kwargs)  # type: ignore[arg-type]
    bat = HomeBattery(capacity_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=5.0)
    return Site(grid=grid, battery=bat, pv=Pv(), **kwargs)  # type: ignore[arg-type]


def _state(storage: str) -> State:
    return (
        State(ev_soc={"car": 0.9}, ev_plugged={"car": True})
        if storage == "ev"
        else State(battery_soc=0.9)
    )


def _solve(site: Site, backend: str, inputs: Inputs | None = None) -> Plan:
    storage = "ev" if site.evs else "battery"
    return Planner(site, backend=backend).solve(inputs or _inputs(), _state(storage))


def _discharged_kwh(plan: Plan) -> float:
    return float(sum(sum(a.discharge_kwh) for a in plan.assets))


def test_default_is_v2h_only() -> None:
    assert Site().allow_export_from_storage is False
    with pytest.raises(ModelError, match="allow_export_from_storage"):
        Site(allow_export_from_storage=1)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("storage", ["ev", "battery"])
def test_default_never_exports_stored_energy(storage: str, backend: str) -> None:
    plan = _solve(_site(storage, None), backend)
    pv = _pv()
    exp = np.array(plan.grid_export_kw)
    produced = pv - np.array(plan.pv_curtail_kw)
    assert np.all(exp <= produced + TOL_KW), "export exceeds the PV produced"
    night = pv == 0
    assert np.all(exp[night] <= TOL_KW), "export at night"
    # Storage still powers the house at night (V2H): import stays (almost) zero there.
    assert np.all(np.array(plan.grid_import_kw)[night] <= 1e-3)
    discharged = _discharged_kwh(plan)
    assert discharged >= LOAD_KW * 0.25 * int(night.sum()) - 1e-3
    # ... and never more than the house uses (the remainder would have to be exported).
    assert discharged <= LOAD_KW * 0.25 * N / 0.9


@pytest.mark.parametrize("backend", available_backends())
@pytest.mark.parametrize("storage", ["ev", "battery"])
def test_allowed_export_from_storage_is_used(storage: str, backend: str) -> None:
    """The same scenario with the policy lifted exports from storage (V2G): the price pays."""
    plan = _solve(_site(storage, True), backend)
    exp = np.array(plan.grid_export_kw)
    produced = _pv() - np.array(plan.pv_curtail_kw)
    from_storage_kwh = float(np.sum(np.maximum(exp - produced, 0.0))) * 0.25
    assert from_storage_kwh > 2.0
    # Lifting the policy can only help the bill.
    default = _solve(_site(storage, False), backend)
    assert plan.costs.total < default.costs.total - 1.0


def test_policy_lives_in_bounds_so_matrices_stay_fixed() -> None:
    """A new PV forecast changes only the export rows' upper bounds, never ``A``."""
    site = _site("ev", None)
    s = Structure(site, N)
    assert s.export_rows is not None
    state = _state("ev")
    a = s.numbers(site, _inputs(), state)
    pv2 = np.roll(_pv(), 6)
    b = s.numbers(site, _inputs(pv2), state)
    dt = a.dt
    assert np.allclose(a.u[s.export_rows], _pv() * dt)
    assert np.allclose(b.u[s.export_rows], pv2 * dt)
    planner = Planner(site)
    planner.solve(_inputs(), state)
    first = planner._structure
    plan = planner.solve(_inputs(pv2), state)
    assert planner._structure is first  # re-solved on the same matrices
    exp = np.array(plan.grid_export_kw)
    assert np.all(exp <= pv2 - np.array(plan.pv_curtail_kw) + TOL_KW)
    # Lifting the policy is a different configuration (no export rows).
    lifted = Structure(replace(site, allow_export_from_storage=True), N)
    assert lifted.export_rows is None
    assert lifted.nrow == s.nrow - N


@pytest.mark.parametrize("backend", available_backends())
def test_curtailed_pv_leaves_no_room_for_exporting_storage(backend: str) -> None:
    """The row is ``export + curtail <= PV``, not just ``export <= PV``: with the PV forced
    to be curtailed (here through its lower bound), stored energy may not take its place."""
    from hems_core.optimize.backends import make_backend

    site = _site("battery", None)
    s = Structure(site, N)
    nums = s.numbers(site, _inputs(), _state("battery"))
    lb = nums.lb.copy()
    lb[s.cur] = nums.ub[s.cur]  # every kWh of PV curtailed
    forced = replace(nums, lb=lb)
    res = make_backend(backend, s).solve(forced, None)
    assert res.ok
    assert float(np.max(res.x[s.exp])) <= 1e-4
    # Lifted, the same forcing exports from the battery (the export price pays).
    lifted_site = replace(site, allow_export_from_storage=True)
    lifted = Structure(lifted_site, N)
    nums = lifted.numbers(lifted_site, _inputs(), _state("battery"))
    lb = nums.lb.copy()
    lb[lifted.cur] = nums.ub[lifted.cur]
    res = make_backend(backend, lifted).solve(replace(nums, lb=lb), None)
    assert res.ok
    assert float(np.sum(res.x[lifted.exp])) > 2.0


@pytest.mark.parametrize("storage", ["ev", "battery"])
def test_repair_keeps_stored_energy_home(storage: str) -> None:
    """A first-order point that discharges more than the house takes is repaired into one
    that meets the export rows exactly (discharge cut back, not exported)."""
    from hems_core.optimize.backends import make_backend

    site = _site(storage, None)
    s = Structure(site, N)
    nums = s.numbers(site, _inputs(), _state(storage))
    res = make_backend("highs", s).solve(nums, None)
    assert res.ok
    assert s.export_rows is not None
    noisy = res.x.copy()
    st = s.stores[0]
    # 0.8 kW more discharge than planned in every step, energies following it (so the
    # replay, which keeps the solver's energies, would export it).
    noisy[st.dis] += 0.2
    noisy[st.e] -= np.cumsum(np.full(N, 0.2 / st.eta_d))
    fixed = s.repair(noisy, nums)
    assert fixed is not None
    act = s.A.dot(fixed)
    assert np.all(act <= nums.u + 1e-7) and np.all(act >= nums.l - 1e-7)
    assert np.all(fixed[s.exp] + fixed[s.cur] <= nums.u[s.export_rows] + 1e-7)
    assert s.objective(fixed, nums) >= s.objective(res.x, nums) - 1e-6
    # Import passed straight through to export, next to curtailment (first-order noise), is
    # netted, not exported.
    through = res.x.copy()
    through[s.imp] += 0.2
    through[s.exp] += 0.2
    through[s.cur] += 0.1
    fixed = s.repair(through, nums)
    assert fixed is not None
    assert np.all(fixed[s.exp] + fixed[s.cur] <= nums.u[s.export_rows] + 1e-7)
