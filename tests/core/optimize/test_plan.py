"""The Plan: step times, grid exchange, cost split, per-asset plans and reasons, exact values.

Most tests hand :func:`build_plan` a solution vector written by hand for a tiny problem
(2-24 steps), so every expected number below is worked out from the inputs in a comment, not
read back from the code. A few tests solve a tiny problem whose optimum is obvious by hand,
to show the same holds for a real solution. Thresholds are hit exactly (0.05 kW of charge,
an import exactly at the peak minus 0.05 kW, a price exactly at a quartile) so that each
boundary is pinned on both sides.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from hems_core.model import (
    CalendarThreshold,
    Ev,
    Grid,
    HomeBattery,
    MonthlyPeakTariff,
    Pv,
    Site,
    TopPeaksTariff,
    Trip,
    WearModel,
)
from hems_core.optimize import Inputs, Planner, State
from hems_core.optimize.inputs import FloatArray
from hems_core.optimize.plan import IDLE_KW, Plan, SolverStats, build_plan
from hems_core.optimize.problem import Numbers, Structure

Q = timedelta(minutes=15)
#: A quarter-aligned start (16:00 Brussels); every step is 0.25 h.
T0 = datetime(2026, 1, 10, 15, 0, tzinfo=UTC)
FREE = WearModel()  # zero wear cost: only the terms a test sets appear

STATS = SolverStats(
    backend="hand", status="hand-made", iterations=3, solve_time_s=0.5, build_time_s=0.25,
    objective=1.5, relaxed_objective=1.25, warm_started=True, milp_used=False,
    fallback_from="osqp: test", variables=7, constraints=5,
)  # fmt: skip


def _frame(site: Site, inputs: Inputs, state: State) -> tuple[Structure, Numbers, FloatArray]:
    s = Structure(site, inputs.steps)
    return s, s.numbers(site, inputs, state), np.zeros(s.nvar)


def _inputs(
    n: int,
    price: list[float] | float = 0.2,
    *,
    start: datetime = T0,
    export: list[float] | float = 0.0,
    load: list[float] | float = 0.0,
    pv: list[float] | float = 0.0,
    terminal: float | None = 0.0,
) -> Inputs:
    def arr(v: list[float] | float) -> FloatArray:
        return np.array(v, dtype=float) if isinstance(v, list) else np.full(n, float(v))

    return Inputs(start, arr(price), arr(export), arr(load), arr(pv),
                  terminal_value_eur_per_kwh=terminal)  # fmt: skip


def _battery(**kw: object) -> HomeBattery:
    args: dict[str, object] = {
        "capacity_kwh": 10.0, "max_charge_kw": 5.0, "max_discharge_kw": 5.0,
        "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "reserve_soc": 0.0,
        "wear": FREE, "name": "home",
    }  # fmt: skip
    args.update(kw)
    return HomeBattery(**args)  # type: ignore[arg-type]


def _ev(name: str = "car", **kw: object) -> Ev:
    args: dict[str, object] = {
        "name": name, "capacity_kwh": 40.0, "max_charge_kw": 11.0, "max_discharge_kw": 11.0,
        "charge_efficiency": 1.0, "discharge_efficiency": 1.0, "min_soc": 0.0, "wear": FREE,
    }  # fmt: skip
    args.update(kw)
    return Ev(**args)  # type: ignore[arg-type]


# ---------------------------------------------------------------- times and grid exchange
def test_step_times_grid_exchange_over_limit_and_curtailment() -> None:
    """A partial first step, import above the limit, export and curtailment, in kW."""
    start = datetime(2026, 1, 10, 12, 7, 30, 700000, tzinfo=UTC)  # 7.5 min to 12:15
    site = Site(grid=Grid(import_limit_kw=5.0, export_limit_kw=10.0), pv=Pv())
    inputs = _inputs(3, [0.1, 0.2, 0.3], start=start, export=[0.05, 0.04, 0.03],
                     load=[1.0, 7.0, 0.5], pv=[0.0, 0.5, 3.0])  # fmt: skip
    s, nums, x = _frame(site, inputs, State())
    dt0 = 7.5 / 60  # 12:07:30 (sub-second cut) to 12:15
    # step 0: 1 kW of load from the grid; step 1: 7 - 0.5 = 6.5 kW, 1.5 kW above the limit;
    # step 2: 2.5 kW of PV surplus, 2 kW exported and 0.5 kW curtailed.
    x[s.imp] = [1.0 * dt0, 5.0 * 0.25, 0.0]
    x[s.over] = [0.0, 1.5 * 0.25, 0.0]
    x[s.exp] = [0.0, 0.0, 2.0 * 0.25]
    x[s.cur] = [0.0, 0.0, 0.5 * 0.25]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.start == "2026-01-10T12:07:30+00:00"
    assert plan.step_start == (
        "2026-01-10T12:07:30+00:00", "2026-01-10T12:15:00+00:00", "2026-01-10T12:30:00+00:00",
    )  # fmt: skip
    assert plan.dt_h == (0.125, 0.25, 0.25)
    assert plan.grid_import_kw == (1.0, 6.5, 0.0)
    assert plan.import_over_limit_kw == (0.0, 1.5, 0.0)
    assert plan.grid_export_kw == (0.0, 0.0, 2.0)
    assert plan.pv_curtail_kw == (0.0, 0.0, 0.5)
    assert plan.pv_kw == (0.0, 0.5, 3.0)
    assert plan.load_kw == (1.0, 7.0, 0.5)
    assert plan.import_price == (0.1, 0.2, 0.3)
    assert plan.export_price == (0.05, 0.04, 0.03)
    assert plan.assets == ()
    assert plan.month_peak_kw == ()
    assert plan.stats is STATS
    c = plan.costs
    # 0.1 * 0.125 + 0.2 * (1.25 + 0.375) - 0.03 * 0.5 = 0.0125 + 0.325 - 0.015
    assert c.energy == pytest.approx(0.3225, abs=1e-12)
    assert c.over_limit == pytest.approx(10.0 * 0.375, abs=1e-12)
    assert c.capacity == 0.0
    assert c.shortfall == 0.0
    assert c.total == pytest.approx(0.3225 + 3.75, abs=1e-12)
    assert c.total == pytest.approx(s.objective(x, nums), abs=1e-12)
    assert plan.reasons == (
        "hold",
        "load above the grid limit: shed 1.50 kW",
        "curtail PV (export 0.030 EUR/kWh)",
    )


def test_shedding_starts_above_the_idle_threshold() -> None:
    """0.05 kW above the limit is within noise; 0.06 kW is load to shed."""
    site = Site(grid=Grid(import_limit_kw=5.0))
    inputs = _inputs(2, 0.2, load=[5.05, 5.06])
    s, nums, x = _frame(site, inputs, State())
    x[s.imp] = 5.0 * 0.25
    x[s.over] = [0.05 * 0.25, 0.06 * 0.25]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.import_over_limit_kw == (0.05, 0.06)
    assert plan.reasons == ("hold", "load above the grid limit: shed 0.06 kW")


def test_values_are_rounded_to_six_decimals() -> None:
    """A 7-minute first step is 0.116667 h; powers are rounded the same way."""
    start = datetime(2026, 1, 10, 12, 8, tzinfo=UTC)
    site = Site(grid=Grid(import_limit_kw=20.0))
    inputs = _inputs(2, [1 / 3, 0.2], start=start, load=[2 / 3, 1.0])
    s, nums, x = _frame(site, inputs, State())
    x[s.imp] = [2 / 3 * 7 / 60, 0.25]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.dt_h == (0.116667, 0.25)
    assert plan.grid_import_kw == (0.666667, 1.0)
    assert plan.load_kw == (0.666667, 1.0)
    assert plan.import_price == (0.333333, 0.2)


def test_pv_forecast_is_ignored_without_an_array() -> None:
    site = Site(grid=Grid(import_limit_kw=20.0))
    inputs = _inputs(2, load=1.0, pv=[3.0, 4.0])
    s, nums, x = _frame(site, inputs, State())
    x[s.imp] = 0.25
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.pv_kw == (0.0, 0.0)
    assert plan.pv_curtail_kw == (0.0, 0.0)


# ---------------------------------------------------------------- storage and the cost split
def test_asset_plans_and_every_wear_term() -> None:
    """Per-asset power, energies, SoC, availability, shortfall and each cost term by hand."""
    cal = (CalendarThreshold(0.5, 0.02), CalendarThreshold(0.75, 0.04))
    wear = WearModel(throughput_eur_per_kwh=0.02, quadratic_eur_per_kw2h=0.01, calendar=cal,
                     dod_segments=2, dod_exponent=2.0, replacement_eur_per_kwh=100.0,
                     cycle_life=1000.0)  # fmt: skip
    bat = _battery(wear=wear)
    # Away from 16:30 (step 2) to 17:00 (step 4 is home again); 30 kWh due at 16:30.
    trip = Trip(T0 + 2 * Q, T0 + 4 * Q, energy_kwh=2.0, target_soc=0.75)
    car = _ev(trips=(trip,), wear=wear)
    site = Site(grid=Grid(import_limit_kw=20.0), evs=(car,), battery=bat,
                pv=Pv(curtailable=False))  # fmt: skip
    inputs = _inputs(5, [0.1, 0.2, 0.3, 0.4, 0.5], load=1.0, pv=[0, 0, 0, 2.0, 0],
                     terminal=0.2)  # fmt: skip
    s, nums, x = _frame(site, inputs, State(ev_soc={"car": 0.5}, battery_soc=0.6))
    ev, hb = s.stores
    assert (ev.name, hb.name) == ("car", "home")
    # car: 20 kWh, +2.75 kWh (11 kW) and +2 kWh, away 2 steps, 2 kWh used on return,
    # then +0.5 kWh; 30 kWh were due at departure: 5.25 kWh short.
    x[ev.ch] = [2.75, 2.0, 0.0, 0.0, 0.5]
    x[ev.e] = [22.75, 24.75, 24.75, 24.75, 23.25]
    x[ev.short] = [0.0, 5.25, 0.0, 0.0, 0.0]
    x[ev.seg_out[0]] = [0.0, 0.0, 0.0, 0.0, 1.5]  # above 20 kWh: 24.75 -> 23.25 kWh
    x[ev.cal[0]] = [2.75, 4.75, 4.75, 4.75, 3.25]  # above 20 kWh (50 %)
    # battery: 6 kWh, -1 (4 kW), +0.5 (2 kW), -0.25 (1 kW), idle, +1.25 (5 kW)
    x[hb.ch] = [0.0, 0.5, 0.0, 0.0, 1.25]
    x[hb.dis] = [1.0, 0.0, 0.25, 0.0, 0.0]
    x[hb.e] = [5.0, 5.5, 5.25, 5.25, 6.5]
    x[hb.seg_out[0]] = [1.0, 0.0, 0.25, 0.0, 0.0]  # the shallow slice (5..10 kWh) empties
    x[hb.cal[0]] = [0.0, 0.5, 0.25, 0.25, 1.5]  # above 5 kWh
    x[hb.cal[1]] = [0.0, 0.0, 0.0, 0.0, 0.0]  # above 7.5 kWh: never
    x[s.cur] = [0.0, 0.0, 0.0, 0.125, 0.0]  # 0.5 kW of non-curtailable PV cut
    # grid per step: load 1 kW + charging - discharging - PV used (kW)
    #   1 + 11 - 4 = 8, 1 + 8 + 2 = 11, 1 - 1 = 0, 1 - 1.5 = -0.5 (export), 1 + 2 + 5 = 8
    x[s.imp] = np.array([8.0, 11.0, 0.0, 0.0, 8.0]) * 0.25
    x[s.exp] = [0.0, 0.0, 0.0, 0.5 * 0.25, 0.0]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.grid_import_kw == (8.0, 11.0, 0.0, 0.0, 8.0)
    assert plan.grid_export_kw == (0.0, 0.0, 0.0, 0.5, 0.0)
    assert plan.pv_curtail_kw == (0.0, 0.0, 0.0, 0.5, 0.0)
    c_plan, h_plan = plan.assets
    assert plan.asset("car") is c_plan
    assert plan.asset("home") is h_plan
    with pytest.raises(KeyError) as err:
        plan.asset("van")
    assert err.value.args == ("van",)
    assert (c_plan.name, c_plan.kind, h_plan.name, h_plan.kind) == ("car", "ev", "home", "battery")
    assert c_plan.power_kw == (11.0, 8.0, 0.0, 0.0, 2.0)
    assert c_plan.charge_kwh == (2.75, 2.0, 0.0, 0.0, 0.5)
    assert c_plan.discharge_kwh == (0.0,) * 5
    assert c_plan.energy_kwh == (22.75, 24.75, 24.75, 24.75, 23.25)
    assert c_plan.soc == (0.56875, 0.61875, 0.61875, 0.61875, 0.58125)
    assert c_plan.available == (True, True, False, False, True)
    assert c_plan.shortfall_kwh == (0.0, 5.25, 0.0, 0.0, 0.0)
    assert h_plan.power_kw == (-4.0, 2.0, -1.0, 0.0, 5.0)
    assert h_plan.charge_kwh == (0.0, 0.5, 0.0, 0.0, 1.25)
    assert h_plan.discharge_kwh == (1.0, 0.0, 0.25, 0.0, 0.0)
    assert h_plan.energy_kwh == (5.0, 5.5, 5.25, 5.25, 6.5)
    assert h_plan.soc == (0.5, 0.55, 0.525, 0.525, 0.65)
    assert h_plan.available == (True,) * 5
    assert h_plan.shortfall_kwh == (0.0,) * 5
    c = plan.costs
    # Both assets wear alike. Throughput: 0.02 EUR/kWh * (1 + 0.5 + 0.25 + 1.25) kWh moved
    # by the battery and (2.75 + 2 + 0.5) by the car
    assert c.wear_throughput == pytest.approx(0.02 * (3.0 + 5.25), abs=1e-12)
    # quadratic: w P^2 dt with P = E / 0.25 is 0.01 / 0.25 * E^2: battery 1 + 0.25 + 0.0625
    # + 1.5625, car 2.75^2 + 2^2 + 0.5^2
    assert c.wear_quadratic == pytest.approx(0.04 * (2.875 + 11.8125), abs=1e-12)
    # DoD slice costs 100 * 2 / 1000 * (0.5^2 - 0) = 0.05 and 0.2 * (1 - 0.25) = 0.15; only
    # the shallow slices lose energy: 1.25 kWh (battery) and 1.5 kWh (car)
    assert c.wear_dod == pytest.approx(0.05 * (1.25 + 1.5), abs=1e-12)
    # calendar: 0.02 EUR/kWh/h * 0.25 h * kWh above 50 % (2.5 battery, 20.25 car)
    assert c.wear_calendar == pytest.approx(0.02 * 0.25 * (2.5 + 20.25), abs=1e-12)
    # shortfall 5 * 5.25 + 0.05 * 5.25^2, forced curtailment 2 EUR/kWh * 0.125 kWh
    assert c.shortfall == pytest.approx(5 * 5.25 + 0.05 * 5.25**2 + 2.0 * 0.125, abs=1e-12)
    # what is left at the end is worth 0.2 EUR/kWh: 23.25 kWh in the car, 6.5 in the battery
    assert c.terminal_value == pytest.approx(-0.2 * (23.25 + 6.5), abs=1e-12)
    # 0.1 * 2 + 0.2 * 2.75 + 0.5 * 2 (export pays nothing)
    assert c.energy == pytest.approx(1.75, abs=1e-12)
    parts = (c.energy + c.capacity + c.wear_throughput + c.wear_dod + c.wear_quadratic
             + c.wear_calendar + c.shortfall + c.over_limit + c.terminal_value)  # fmt: skip
    assert c.total == pytest.approx(parts, abs=1e-12)
    assert c.total == pytest.approx(s.objective(x, nums), abs=1e-12)


def test_json_round_trip() -> None:
    site = Site(grid=Grid(import_limit_kw=20.0), battery=_battery())
    inputs = _inputs(2, [0.1, 0.3], load=1.0)
    s, nums, x = _frame(site, inputs, State(battery_soc=0.5))
    (hb,) = s.stores
    x[s.imp] = [0.5, 0.0]
    x[hb.ch] = [0.25, 0.0]
    x[hb.dis] = [0.0, 0.25]
    x[hb.e] = [5.25, 5.0]
    plan = build_plan(s, inputs, nums, x, STATS)
    text = plan.to_json()
    data = json.loads(text)
    as_dict = plan.to_dict()
    assert json.loads(json.dumps(as_dict)) == data
    assert as_dict["assets"][0]["power_kw"] == (1.0, -1.0)
    assert data["dt_h"] == [0.25, 0.25]
    assert data["grid_import_kw"] == [2.0, 0.0]
    assert data["assets"] == [{
        "name": "home", "kind": "battery", "power_kw": [1.0, -1.0],
        "charge_kwh": [0.25, 0.0], "discharge_kwh": [0.0, 0.25], "energy_kwh": [5.25, 5.0],
        "soc": [0.525, 0.5], "available": [True, True], "shortfall_kwh": [0.0, 0.0],
    }]  # fmt: skip
    assert data["stats"] == {
        "backend": "hand", "status": "hand-made", "iterations": 3, "solve_time_s": 0.5,
        "build_time_s": 0.25, "objective": 1.5, "relaxed_objective": 1.25,
        "warm_started": True, "milp_used": False, "fallback_from": "osqp: test",
        "variables": 7, "constraints": 5,
    }  # fmt: skip
    assert data["costs"]["total"] == pytest.approx(plan.costs.total)
    assert data["reasons"] == [
        "charge home (cheap import, 0.100 EUR/kWh)",
        "discharge home (expensive import, 0.300 EUR/kWh)",
    ]
    assert set(data) == set(Plan.__dataclass_fields__)


# ---------------------------------------------------------------- capacity tariffs
def test_monthly_peak_cost_and_steps_at_the_peak() -> None:
    """Two month slots across midnight Brussels; the import exactly 0.05 kW below is held."""
    start = datetime(2026, 1, 31, 22, 30, tzinfo=UTC)  # 23:30 local; Feb from step 2
    site = Site(grid=Grid(import_limit_kw=20.0), battery=_battery(),
                peak_tariff=MonthlyPeakTariff(eur_per_kw_month=5.0, floor_kw=2.0))  # fmt: skip
    # price quartiles 0.15 and 0.25: 0.2 is neither cheap nor expensive
    inputs = _inputs(5, [0.1, 0.2, 0.15, 0.3, 0.25], start=start,
                     load=[2.95, 3.5, 2.45, 2.5, 3.0])  # fmt: skip
    s, nums, x = _frame(site, inputs, State(battery_soc=0.5, month_peak_kw=2.25))
    (hb,) = s.stores
    assert s.peak is not None
    assert list(nums.month_slot) == [0, 0, 1, 1, 1]
    x[s.peak] = [3.0, 2.5]
    # kW: 2.95 (= 3.0 - 0.05: at the peak), 2.9 (the battery covers 0.6 kW: below it),
    # 2.45 and 2.5 (Feb peak 2.5), 2.5 with the battery shaving 0.5 kW
    x[s.imp] = np.array([2.95, 2.9, 2.45, 2.5, 2.5]) * 0.25
    x[hb.dis] = [0.0, 0.6 * 0.25, 0.0, 0.0, 0.5 * 0.25]
    x[hb.e] = [5.0, 4.85, 4.85, 4.85, 4.725]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.month_peak_kw == (3.0, 2.5)
    # 5 EUR/kW * ((3.0 - 2.25 this month so far) + (2.5 - 2.0 floor))
    assert plan.costs.capacity == pytest.approx(5.0 * 1.25, abs=1e-12)
    assert plan.costs.total == pytest.approx(s.objective(x, nums), abs=1e-12)
    assert plan.reasons == (
        "import held at the month peak",
        "discharge home (cover load, 0.200 EUR/kWh)",
        "import held at the month peak",
        "import held at the month peak",
        "discharge home (peak shaving, 0.250 EUR/kWh); import held at the month peak",
    )


def test_no_import_is_not_held_at_a_zero_peak() -> None:
    """With no floor a zero peak is "binding" everywhere, but 0.05 kW is no import."""
    site = Site(grid=Grid(import_limit_kw=20.0), peak_tariff=MonthlyPeakTariff(5.0))
    inputs = _inputs(3, 0.2, load=[0.05, 0.0, 0.06])
    s, nums, x = _frame(site, inputs, State())
    assert s.peak is not None
    x[s.imp] = np.array([0.05, 0.0, 0.06]) * 0.25
    x[s.peak] = [0.06, 0.0]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.month_peak_kw == (0.06, 0.0)
    assert plan.costs.capacity == pytest.approx(5.0 * 0.06, abs=1e-12)
    assert plan.reasons == ("hold", "hold", "import held at the month peak")


def test_swedish_top_peaks_cost_by_hand() -> None:
    """Top-2 of this month's daily peaks: (4, 1) so far, today 3 kW -> mean 3.5 instead of 2.5."""
    tt = TopPeaksTariff(eur_per_kw_month=60.0, count=2)
    site = Site(grid=Grid(import_limit_kw=20.0), top_peaks_tariff=tt)
    start = datetime(2026, 2, 2, 10, 0, tzinfo=UTC)
    inputs = _inputs(4, 0.2, start=start, load=3.0)
    state = State(month_daily_peaks_kw=(4.0, 1.0), today_peak_kw=0.5)
    plan = Planner(site, backend="highs").solve(inputs, state)
    assert plan.costs.capacity == pytest.approx(60.0 * (3.5 - 2.5), abs=1e-6)
    assert plan.costs.energy == pytest.approx(0.2 * 3.0, abs=1e-9)
    assert plan.costs.total == pytest.approx(plan.stats.objective, abs=1e-9)
    assert plan.month_peak_kw == ()
    # The same by hand in the epigraph form: threshold t = 1, excesses 3 (past 4 kW) and 2
    # (today's 3 kW); 60 t + 30 (3 + 2) - 30 (4 + 1) for the past peaks already billed.
    s, nums, x = _frame(site, inputs, state)
    top = s.top
    assert top is not None
    x[s.imp] = 0.75
    x[top.t] = [1.0, 0.0]
    x[top.u_past[0]] = [3.0, 0.0]
    x[top.u_day[0]] = [2.0, 0.0, 0.0]
    hand = build_plan(s, inputs, nums, x, STATS)
    assert hand.costs.capacity == pytest.approx(60.0 + 150.0 - 150.0, abs=1e-12)
    x[top.u_day[0]] = [2.5, 0.0, 0.0]  # each excess counts 1/count of the price
    assert build_plan(s, inputs, nums, x, STATS).costs.capacity == pytest.approx(75.0)


def test_monthly_and_top_peak_tariffs_add_up() -> None:
    """A site billed on both: the capacity cost is the sum of the two by hand."""
    tt = TopPeaksTariff(eur_per_kw_month=60.0, count=2)
    pt = MonthlyPeakTariff(eur_per_kw_month=5.0, floor_kw=2.0)
    site = Site(grid=Grid(import_limit_kw=20.0), peak_tariff=pt, top_peaks_tariff=tt)
    inputs = _inputs(4, 0.2, start=datetime(2026, 2, 2, 10, 0, tzinfo=UTC), load=3.0)
    state = State(month_peak_kw=2.25, month_daily_peaks_kw=(4.0, 1.0), today_peak_kw=0.5)
    s, nums, x = _frame(site, inputs, state)
    assert s.peak is not None and s.top is not None
    x[s.imp] = 0.75
    x[s.peak] = [3.0, 2.0]
    x[s.top.t] = [1.0, 0.0]
    x[s.top.u_past[0]] = [3.0, 0.0]
    x[s.top.u_day[0]] = [2.0, 0.0, 0.0]
    plan = build_plan(s, inputs, nums, x, STATS)
    # 5 * (3.0 - 2.25) for the monthly peak, 60 for the top-2 mean (see above)
    assert plan.costs.capacity == pytest.approx(3.75 + 60.0, abs=1e-12)
    assert plan.costs.total == pytest.approx(s.objective(x, nums), abs=1e-12)
    assert plan.month_peak_kw == (3.0, 2.0)


# ---------------------------------------------------------------- reasons
def _one_battery(
    n: int, prices: list[float], **kw: object
) -> tuple[Structure, Numbers, FloatArray, Inputs]:
    site = Site(grid=Grid(import_limit_kw=20.0, export_limit_kw=10.0), battery=_battery(),
                pv=Pv(), allow_export_from_storage=True)  # fmt: skip
    inputs = _inputs(n, prices, **kw)  # type: ignore[arg-type]
    s, nums, x = _frame(site, inputs, State(battery_soc=0.5))
    return s, nums, x, inputs


def test_reasons_for_charging_by_price_quartile() -> None:
    """Quartiles of (0.1, 0.15, 0.2, 0.25, 0.3) are 0.15 and 0.25: both ends count."""
    s, nums, x, inputs = _one_battery(5, [0.1, 0.15, 0.2, 0.25, 0.3])
    (hb,) = s.stores
    x[hb.ch] = [0.5, 0.5, 0.5, 0.0, 0.0]
    x[hb.dis] = [0.0, 0.0, 0.0, 0.5, 0.5]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.reasons == (
        "charge home (cheap import, 0.100 EUR/kWh)",
        "charge home (cheap import, 0.150 EUR/kWh)",
        "charge home (price, 0.200 EUR/kWh)",
        "discharge home (expensive import, 0.250 EUR/kWh)",
        "discharge home (expensive import, 0.300 EUR/kWh)",
    )
    e = 0.25 * IDLE_KW  # exactly the idle threshold: not a setpoint
    x[hb.ch] = [e, 0.0, 0.0, 0.0, 0.0]
    x[hb.dis] = [0.0, 0.0, 0.5, 0.0, e]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.reasons == ("hold", "hold", "discharge home (cover load, 0.200 EUR/kWh)",
                            "hold", "hold")  # fmt: skip


def test_reasons_for_charging_from_pv_surplus() -> None:
    """Surplus is export, curtailment (each above 0.05 kW) or PV above the load."""
    load = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    pv = [1.5, 1.0, 0.5, 0.5, 0.5, 0.5, 0.0]
    s, nums, x, inputs = _one_battery(7, [0.2] * 3 + [0.1, 0.3] + [0.2] * 2, load=load, pv=pv)
    (hb,) = s.stores
    e = 0.25 * IDLE_KW
    x[hb.ch] = [0.5] * 7
    x[s.exp] = [0.0, 0.0, 0.0, 0.0, 0.0, e, 0.1]  # step 6: 0.4 kW exported, no PV
    x[s.cur] = [0.0, 0.0, 0.1, 0.0, 0.0, e, 0.0]  # step 2: 0.4 kW curtailed
    plan = build_plan(s, inputs, nums, x, STATS)
    why = [r.split(" (")[1].split(",")[0] for r in plan.reasons]
    # step 1: PV equal to the load is no surplus; step 5: 0.05 kW export and curtailment
    # neither; price quartiles are 0.2 and 0.2, so a 0.2 price is "cheap import"
    assert why == ["PV surplus", "cheap import", "PV surplus", "cheap import", "price",
                   "cheap import", "PV surplus"]  # fmt: skip
    assert plan.reasons[2] == ("charge home (PV surplus, 0.200 EUR/kWh); "
                               "curtail PV (export 0.000 EUR/kWh)")  # fmt: skip
    assert "curtail" not in plan.reasons[5]


def test_reasons_between_two_storages_and_thresholds() -> None:
    """Discharging into the other storage; 0.05 kW either way is idle."""
    site = Site(grid=Grid(import_limit_kw=20.0), evs=(_ev(),), battery=_battery())
    inputs = _inputs(4, [0.1, 0.2, 0.2, 0.3])
    s, nums, x = _frame(site, inputs, State(ev_soc={"car": 0.5}, battery_soc=0.5))
    ev, hb = s.stores
    e = 0.25 * IDLE_KW
    x[ev.ch] = [0.5, 0.5, e, 0.0]
    x[hb.dis] = [0.5, 0.0, 0.5, e]
    x[ev.dis] = [0.0, 0.0, 0.0, 0.5]
    x[hb.ch] = [0.0, 0.0, 0.0, 0.0]
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.reasons == (
        "charge car (cheap import, 0.100 EUR/kWh); discharge home (to other storage, "
        "0.100 EUR/kWh)",
        "charge car (price, 0.200 EUR/kWh)",
        "discharge home (cover load, 0.200 EUR/kWh)",
        "discharge car (expensive import, 0.300 EUR/kWh)",
    )


def test_reasons_before_a_departure() -> None:
    """Targets 16 steps ahead (or fewer) explain charging; 17 ahead, or past them, do not."""
    # Away 15:37:30-15:41:15 (inside step 2): target at the end of step 1. Away at step
    # 21 (target at the end of step 20); home again from step 22.
    trips = (
        Trip(T0 + 2.5 * Q, T0 + 2.75 * Q, target_soc=0.6),
        Trip(T0 + 21.5 * Q, T0 + 21.75 * Q, target_soc=0.6),
    )
    site = Site(grid=Grid(import_limit_kw=20.0), evs=(_ev(trips=trips),))
    n = 24
    prices = [0.1] * n  # eight each of 0.1, 0.2, 0.3: quartiles 0.1 and 0.3
    for k in (3, 4, 18, 19, 20, 21, 22, 23):
        prices[k] = 0.2
    for k in range(8, 16):
        prices[k] = 0.3
    inputs = _inputs(n, prices)
    s, nums, x = _frame(site, inputs, State(ev_soc={"car": 0.5}))
    (ev,) = s.stores
    assert list(np.flatnonzero(np.isfinite(nums.targets["car"]))) == [1, 20]
    x[ev.ch][[3, 4, 23]] = 0.5
    plan = build_plan(s, inputs, nums, x, STATS)
    assert plan.reasons[3] == "charge car (price, 0.200 EUR/kWh)"  # 17 steps before step 20
    assert plan.reasons[4] == "charge car (departure target, 0.200 EUR/kWh)"  # 16 before
    assert plan.reasons[23] == "charge car (price, 0.200 EUR/kWh)"  # after the last target
    assert plan.reasons[5] == "hold"
    assert plan.asset("car").available[:3] == (True, True, False)


# ---------------------------------------------------------------- real solves
def test_solved_plan_sheds_load_above_the_limit() -> None:
    """7 kW of load on a 5 kW connection with nothing to shift: 2 kW must be shed."""
    site = Site(grid=Grid(import_limit_kw=5.0))
    inputs = _inputs(2, [0.2, 0.3], load=7.0)
    plan = Planner(site, backend="highs").solve(inputs, State())
    assert plan.grid_import_kw == (7.0, 7.0)
    assert plan.import_over_limit_kw == (2.0, 2.0)
    assert plan.reasons == ("load above the grid limit: shed 2.00 kW",) * 2
    assert plan.costs.over_limit == pytest.approx(10.0 * 2.0 * 0.5, abs=1e-9)
    assert plan.costs.energy == pytest.approx((0.2 + 0.3) * 7.0 * 0.25, abs=1e-9)
    assert plan.costs.total == pytest.approx(plan.stats.objective, abs=1e-9)


def test_solved_plan_stores_pv_surplus() -> None:
    """Export pays nothing, so 2 kW of surplus PV goes into the empty battery."""
    site = Site(grid=Grid(import_limit_kw=20.0), battery=_battery(), pv=Pv())
    inputs = _inputs(2, [0.3, 0.3], load=1.0, pv=3.0, terminal=0.25)
    plan = Planner(site, backend="highs").solve(inputs, State(battery_soc=0.0))
    assert plan.asset("home").power_kw == (2.0, 2.0)
    assert plan.asset("home").energy_kwh == (0.5, 1.0)
    assert plan.reasons == ("charge home (PV surplus, 0.300 EUR/kWh)",) * 2
    assert plan.costs.terminal_value == pytest.approx(-0.25 * 1.0, abs=1e-9)
    assert plan.costs.total == pytest.approx(plan.stats.objective, abs=1e-9)
