"""The demo scenario loads real data and the demo's strategies keep their promises."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from hems_core.cli import main
from hems_core.demo import (
    DEFAULT_SCENARIO,
    evaluate,
    plan_cheapest_quarters,
    plan_mpc,
    plan_plug_and_charge,
    run_demo,
)
from hems_core.scenario import ScenarioError, load_window


def test_scenario_loads_aligned_real_series() -> None:
    sc = load_window(DEFAULT_SCENARIO)
    assert sc.steps == 96
    assert sc.start.minute % 15 == 0
    for arr in (sc.spot_eur_kwh, sc.import_eur_kwh, sc.pv_kw, sc.load_kw):
        assert arr.shape == (96,)
        assert np.all(np.isfinite(arr))
    # Dutch October prices: tens of EUR/MWh, not thousands (unit conversion happened).
    assert 0.0 < float(np.mean(sc.spot_eur_kwh)) < 0.5
    assert np.all(sc.import_eur_kwh > sc.spot_eur_kwh)  # fees and VAT on top
    assert np.all(sc.pv_kw >= 0) and float(np.max(sc.pv_kw)) > 0.5  # a day with some sun
    assert float(np.sum(sc.load_kw) * 0.25) == pytest.approx(9.0, rel=1e-6)


@pytest.mark.parametrize("planner", [plan_plug_and_charge, plan_cheapest_quarters])
def test_strategies_reach_target_within_limits(planner: object) -> None:
    sc = load_window(DEFAULT_SCENARIO)
    power = planner(sc)  # type: ignore[operator]
    assert np.all(power >= 0) and np.all(power <= sc.ev.max_charge_kw + 1e-9)
    out = evaluate(sc, "x", power)
    assert out.ev_soc_at_departure == pytest.approx(sc.ev.target_soc, abs=1e-4)
    departure_step = int((sc.ev.departure - sc.start).total_seconds() // 900)
    assert np.all(power[departure_step:] == 0)


def test_planning_beats_plug_and_charge_and_v2h_beats_charging_only() -> None:
    summary = run_demo(DEFAULT_SCENARIO)
    by_name = {s["strategy"]: s for s in summary["strategies"]}
    costs = {name: s["cost_eur"] for name, s in by_name.items()}
    assert costs["cheapest_quarters"] < costs["plug_and_charge"]
    assert costs["mpc_charge_only"] < costs["plug_and_charge"]
    assert costs["mpc_v2h"] < costs["mpc_charge_only"]
    assert by_name["mpc_v2h"]["ev_discharged_kwh"] > 0
    assert by_name["mpc_charge_only"]["ev_discharged_kwh"] == 0
    for name in ("mpc_charge_only", "mpc_v2h"):
        assert by_name[name]["ev_soc_at_departure"] >= 0.8 - 1e-3
        assert by_name[name]["wear_eur"] > 0


@pytest.mark.parametrize("backend", ["highs", "osqp"])
def test_allowing_v2h_never_makes_the_plan_worse(backend: str) -> None:
    # V2H only widens the feasible set, so the planner's own objective can only drop. OSQP once
    # returned "solved" 1.77 EUR above the optimum here (slack calendar-ageing variables).
    sc = load_window(DEFAULT_SCENARIO)
    _, charge_only = plan_mpc(sc, v2h=False, backend=backend)
    _, v2h = plan_mpc(sc, v2h=True, backend=backend)
    assert v2h.costs.total <= charge_only.costs.total + 0.01


def test_mpc_respects_the_car_limits() -> None:
    sc = load_window(DEFAULT_SCENARIO)
    power, plan = plan_mpc(sc, v2h=True)
    assert np.all(power <= sc.ev.max_charge_kw + 1e-6)
    assert np.all(power >= -sc.ev.max_discharge_kw - 1e-6)
    soc = np.asarray(plan.asset(sc.ev.name).soc)
    assert np.all(soc >= sc.ev.min_soc - 1e-4)


def test_cli_demo_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["steps"] == 96
    assert {s["strategy"] for s in data["strategies"]} == {
        "plug_and_charge",
        "cheapest_quarters",
        "mpc_charge_only",
        "mpc_v2h",
    }
    assert data["solver"]["backend"] in {"osqp", "highs"}


def test_cli_demo_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    assert "cheapest_quarters" in capsys.readouterr().out


def test_broken_scenario_gives_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "sc"
    shutil.copytree(DEFAULT_SCENARIO, folder)
    series = folder / "series.csv"
    lines = series.read_text().splitlines()
    lines[600] = lines[600].rsplit(",", 1)[0] + ",not-a-number"  # a price inside the window
    series.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match="series.csv"):
        load_window(folder)
    assert main(["demo", "--scenario", str(folder)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_missing_data_and_bad_start_are_reported(tmp_path: Path) -> None:
    folder = tmp_path / "sc"
    shutil.copytree(DEFAULT_SCENARIO, folder)
    yaml_path = folder / "scenario.yaml"
    text = yaml_path.read_text()
    yaml_path.write_text(text.replace('"2025-10-07T16:00:00+02:00"', '"2025-10-07T16:07:00+02:00"'))
    with pytest.raises(ScenarioError, match="clock quarter"):
        load_window(folder)
    yaml_path.write_text(text)
    with pytest.raises(ScenarioError, match="no value for"):
        load_window(folder, hours=2400)
    sessions = folder / "sessions.csv"
    sessions.write_text(
        sessions.read_text().replace("2025-10-07T14:00:00Z", "2025-10-07T15:00:00Z")
    )
    with pytest.raises(ScenarioError, match="not plugged in at start"):
        load_window(folder)
    yaml_path.write_text("- not a mapping\n")
    with pytest.raises(ScenarioError, match="mapping"):
        load_window(yaml_path)
