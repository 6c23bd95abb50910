"""The worked V2V example of the ElaadNL plaza study (reference/studies.md §1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.model import Ev, Grid, Site, Trip
from hems_core.optimize import Inputs, Plan, Planner, State, available_backends

START = datetime(2022, 6, 1, 12, 0, tzinfo=UTC)


def _site(bidirectional: bool) -> Site:
    h = lambda x: START + timedelta(hours=x)  # noqa: E731
    car_a = Ev(
        name="A", capacity_kwh=100.0, max_charge_kw=11.0, max_discharge_kw=11.0,
        charge_efficiency=1.0, discharge_efficiency=1.0, bidirectional=bidirectional,
        min_soc=0.2, trips=(Trip(h(4), h(8), 0.0, target_soc=0.42),),
    )  # fmt: skip
    car_b = Ev(
        name="B", capacity_kwh=100.0, max_charge_kw=11.0, max_discharge_kw=11.0,
        charge_efficiency=1.0, discharge_efficiency=1.0, bidirectional=bidirectional,
        min_soc=0.2, trips=(Trip(h(-2), h(2), 0.0), Trip(h(3), h(8), 0.0, target_soc=0.31)),
    )  # fmt: skip
    # The plaza never exports: discharged energy can only go to the other car.
    return Site(grid=Grid(import_limit_kw=100.0, export_limit_kw=0.0), evs=(car_a, car_b))


def _inputs() -> Inputs:
    price = np.full(16, 0.30)
    price[8:12] = 0.60  # 14:00-15:00
    return Inputs(
        start=START, import_price=price, export_price=np.zeros(16), load_kw=np.zeros(16),
        pv_kw=np.zeros(16), terminal_value_eur_per_kwh=0.0,
    )  # fmt: skip


STATE = State(ev_soc={"A": 0.2, "B": 0.2}, ev_plugged={"A": True, "B": False})


def solve(site: Site, backend: str) -> Plan:
    # OSQP at its default 1e-4 tolerance is a few cents off; the figures here are exact.
    opts = {"eps": 1e-7, "polish": True} if backend == "osqp" else {}
    return Planner(site, backend=backend, **opts).solve(_inputs(), STATE)


@pytest.mark.parametrize("backend", available_backends())
def test_without_discharge_costs_13_20(backend: str) -> None:
    plan = solve(_site(False), backend)
    assert plan.costs.energy == pytest.approx(13.20, abs=2e-3)
    assert max(plan.asset("A").shortfall_kwh) < 1e-3
    assert max(plan.asset("B").shortfall_kwh) < 1e-3


@pytest.mark.parametrize("backend", available_backends())
def test_v2v_costs_9_90(backend: str) -> None:
    plan = solve(_site(True), backend)
    assert plan.costs.energy == pytest.approx(9.90, abs=2e-3)
    # A feeds B while power is expensive; the site never exports.
    a, b = plan.asset("A"), plan.asset("B")
    assert sum(a.power_kw[8:12]) == pytest.approx(-44.0, abs=0.1)
    assert sum(b.power_kw[8:12]) == pytest.approx(44.0, abs=0.1)
    assert max(plan.grid_export_kw) < 1e-3
    assert b.energy_kwh[11] == pytest.approx(31.0, abs=1e-2)
    assert a.energy_kwh[15] == pytest.approx(42.0, abs=1e-2)
