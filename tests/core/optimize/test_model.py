"""Validation of the site model and inputs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.model import (
    Chemistry,
    Ev,
    Grid,
    HomeBattery,
    ModelError,
    MonthlyPeakTariff,
    Site,
    Trip,
    WearModel,
)
from hems_core.optimize import InputError, Inputs, Planner, State, available_backends

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"capacity_kwh": 0.0},
        {"capacity_kwh": float("nan")},
        {"min_soc": 0.9, "max_soc": 0.5},
        {"charge_efficiency": 1.2},
        {"name": ""},
    ],
)
def test_bad_ev_rejected(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"name": "ev", "capacity_kwh": 50.0, "max_charge_kw": 11.0}
    base.update(kwargs)
    with pytest.raises(ModelError):
        Ev(**base)  # type: ignore[arg-type]


def test_trip_checks() -> None:
    with pytest.raises(ModelError):
        Trip(T0, T0 - timedelta(hours=1))
    with pytest.raises(ModelError):
        Trip(T0.replace(tzinfo=None), T0 + timedelta(hours=1))
    t1 = Trip(T0, T0 + timedelta(hours=3))
    t2 = Trip(T0 + timedelta(hours=1), T0 + timedelta(hours=5))
    with pytest.raises(ModelError, match="overlap"):
        Ev(name="x", capacity_kwh=50, max_charge_kw=7, trips=(t1, t2))


def test_grid_and_tariff() -> None:
    with pytest.raises(ModelError):
        Grid(import_limit_kw=-1)
    assert Grid(import_limit_kw=20, fuse_kw=11).max_import_kw == 11
    fl = MonthlyPeakTariff.flanders(48.0)
    assert fl.eur_per_kw_month == pytest.approx(4.0)
    assert fl.floor_kw == 2.5


def test_wear_defaults_follow_derivation() -> None:
    nmc = WearModel.for_chemistry(Chemistry.NMC, max_power_kw=11.0)
    lfp = WearModel.for_chemistry(Chemistry.LFP, max_power_kw=11.0)
    assert nmc.throughput_eur_per_kwh == pytest.approx(150 / 4000)
    assert lfp.throughput_eur_per_kwh < nmc.throughput_eur_per_kwh
    seg = WearModel.for_chemistry(Chemistry.NMC, max_power_kw=11.0, dod_segments=4)
    costs = seg.dod_costs(60.0)
    assert list(costs) == sorted(costs)  # deeper slices cost more
    # A full cycle (all slices, each a quarter of the pack) costs R / N per kWh of capacity.
    assert sum(costs) / 4 == pytest.approx(150 / 2000)


def test_inputs_validation() -> None:
    ok = np.zeros(8)
    with pytest.raises(InputError, match="export_price"):
        Inputs(T0, ok, np.zeros(7), ok, ok)
    with pytest.raises(InputError, match="NaN"):
        Inputs(T0, np.full(8, np.nan), ok, ok, ok)
    with pytest.raises(InputError, match="timezone"):
        Inputs(T0.replace(tzinfo=None), ok, ok, ok, ok)
    with pytest.raises(InputError):
        Inputs(T0, np.zeros(289), np.zeros(289), np.zeros(289), np.zeros(289))  # > 72 h
    with pytest.raises(InputError):
        State(ev_soc={"a": 1.5})


def test_wear_defaults_to_the_chemistry() -> None:
    """No ``wear=`` means the chemistry's wear (never zero); ``WearModel()`` stays zero."""
    ev = Ev(name="car", capacity_kwh=60.0, max_charge_kw=11.0, max_discharge_kw=7.0)
    assert ev.wear == WearModel.for_chemistry(Chemistry.NMC, max_power_kw=11.0)
    lfp = Ev(name="car", capacity_kwh=60.0, max_charge_kw=7.0, max_discharge_kw=11.0,
             chemistry=Chemistry.LFP)  # fmt: skip
    assert lfp.wear == WearModel.for_chemistry(Chemistry.LFP, max_power_kw=11.0)
    bat = HomeBattery(capacity_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=5.0)
    assert bat.wear == WearModel.for_chemistry(Chemistry.LFP, max_power_kw=5.0)
    assert bat.wear.throughput_eur_per_kwh > 0
    nmc = HomeBattery(capacity_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=5.0,
                      chemistry=Chemistry.NMC)  # fmt: skip
    assert nmc.wear == WearModel.for_chemistry(Chemistry.NMC, max_power_kw=5.0)
    zero = Ev(name="car", capacity_kwh=60.0, max_charge_kw=11.0, wear=WearModel())
    assert zero.wear == WearModel()
    assert replace(ev, trips=()).wear == ev.wear  # copies keep the resolved model
    idle = Ev(name="car", capacity_kwh=60.0, max_charge_kw=0.0)  # no power: still valid
    assert idle.wear.throughput_eur_per_kwh > 0
    with pytest.raises(ModelError, match="wear"):
        Ev(name="car", capacity_kwh=60.0, max_charge_kw=11.0, wear=None)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", available_backends())
def test_default_wear_stops_cycling_for_a_cent(backend: str) -> None:
    """A lossless battery and a 1-cent spread: zero wear cycles it, the default does not."""
    n = 32
    price = np.where(np.arange(n) // 4 % 2 == 0, 0.20, 0.21)  # hourly cheap / dear
    inputs = Inputs(T0, price, np.zeros(n), np.full(n, 1.0), np.zeros(n),
                    terminal_value_eur_per_kwh=0.20)  # fmt: skip
    kw: dict[str, object] = {"charge_efficiency": 1.0, "discharge_efficiency": 1.0}
    default = HomeBattery(10.0, 5.0, 5.0, **kw)  # type: ignore[arg-type]
    zero = HomeBattery(10.0, 5.0, 5.0, wear=WearModel(), **kw)  # type: ignore[arg-type]
    moved = {}
    for name, bat in (("default", default), ("zero", zero)):
        plan = Planner(Site(battery=bat), backend=backend).solve(inputs, State(battery_soc=0.5))
        moved[name] = float(sum(plan.asset("battery").discharge_kwh))
    assert moved["zero"] > 2.0
    assert moved["default"] < 0.1
