"""Validation of the site model and inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.model import Chemistry, Ev, Grid, ModelError, MonthlyPeakTariff, Trip, WearModel
from hems_core.optimize import InputError, Inputs, State

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
        Inputs(T0, np.zeros(193), np.zeros(193), np.zeros(193), np.zeros(193))
    with pytest.raises(InputError):
        State(ev_soc={"a": 1.5})
