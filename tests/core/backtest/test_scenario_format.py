"""One scenario format: one module reads it for the backtest, the demo, the sims and the bench."""

from __future__ import annotations

import importlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import hems_core.scenario as one
from hems_core.devices.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "scenarios" / "nl_v2h_home"


@pytest.mark.parametrize(
    "old", ["hems_core.sim.scenario", "hems_core.backtest.scenario", "hems_core.optimize.scenarios"]
)
def test_the_old_scenario_modules_are_gone(old: str) -> None:
    """Every reader imports ``hems_core.scenario``; no alias keeps a second name alive."""
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)


def test_one_error_class_for_the_backtest_and_the_simulators() -> None:
    assert issubclass(one.ScenarioError, ValueError) and issubclass(one.ScenarioError, ConfigError)


def test_the_demo_window_is_cut_from_the_backtest_scenario() -> None:
    sc = one.load_scenario(DEMO)
    win = sc.window()
    assert win.steps == 96 and win.start == datetime.fromtimestamp(sc.start_s, UTC)
    i0 = sc.index(sc.start_s)
    assert (win.load_kw == sc.load_kw[i0 : i0 + 96]).all()
    # the car's departure and target come from its session, not from a second format
    stay = sc.sessions[0]
    assert win.ev.departure == datetime.fromtimestamp(stay.depart_s, UTC)
    assert win.ev.target_soc == stay.target_soc == 0.8
    assert one.load_window(DEMO, hours=48).steps == 192


def test_device_section_reads_the_simulator_keys() -> None:
    data = one.load_devices(ROOT / "scenarios" / "devices" / "home.yaml")
    assert {w["name"] for w in data["wallboxes"]} >= {"quasar", "diy"}
    assert data["_dir"] == str(ROOT / "scenarios" / "devices")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('{kind: outage, start: "2025-10-07T18:00:00Z", end: "2025-10-07T17:00:00Z"}', "follow"),
        ('{kind: flood, start: "2025-10-07T18:00:00Z", end: "2025-10-07T19:00:00Z"}', "kind"),
        ('{kind: outage, start: "soon", end: "2025-10-07T19:00:00Z"}', "events[0].start"),
    ],
)
def test_bad_events_name_the_field(tmp_path: Path, event: str, message: str) -> None:
    shutil.copytree(DEMO, tmp_path / "sc")
    yml = tmp_path / "sc" / "scenario.yaml"
    yml.write_text(yml.read_text() + f"events:\n  - {event}\n")
    with pytest.raises(one.ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        one.load_scenario(tmp_path / "sc")


def test_outage_events_load(tmp_path: Path) -> None:
    shutil.copytree(DEMO, tmp_path / "sc")
    yml = tmp_path / "sc" / "scenario.yaml"
    event = '{kind: outage, start: "2025-10-07T18:00:00Z", end: "2025-10-07T19:30:00Z"}'
    yml.write_text(yml.read_text() + f"events:\n  - {event}\n")
    sc = one.load_scenario(tmp_path / "sc")
    assert sc.outages == (one.Outage(1759860000, 1759865400),) and sc.events == ()


HOMES = sorted(
    p
    for p in (ROOT / "scenarios").glob("*/*.yaml")
    if p.parent.name != "devices" and one.read_scenario_yaml(p)[1].get("kind") is None
)


@pytest.mark.parametrize("path", HOMES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_reference_home_loads_with_the_one_loader(path: Path) -> None:
    sc = one.load_scenario(path)
    i0 = sc.index(sc.start_s)
    assert sc.days >= 1 and sc.load_kw.shape[0] >= i0 + sc.days * 96
    assert np.isfinite(sc.import_eur_kwh[i0 : i0 + sc.days * 96]).all()
