"""outage-day: the backtest runs the real core islanded on backup; KPIs say what was covered."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hems_core.backtest.outage import outage_settings, run_outage_day
from hems_core.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[3]
OUTAGE = ROOT / "scenarios" / "outage-day"


def _backtest(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hems_core.cli", "backtest", "--scenario", str(path), "--json"],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )  # fmt: skip


def _edited(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of outage-day with one edit in its scenario.yaml."""
    folder = tmp_path / "edited"
    shutil.copytree(OUTAGE, folder)
    yml = folder / "scenario.yaml"
    text = yml.read_text()
    assert old in text
    yml.write_text(text.replace(old, new))
    return folder


def test_backup_carries_the_four_hour_outage() -> None:
    proc = _backtest(OUTAGE)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    assert res["scenario"] == "outage-day" and res["outage_h"] == 4.0
    mpc, none = res["controllers"]["mpc"], res["controllers"]["no_backup"]
    # the backup covers it: no second dark, nothing unserved, no reserve broken
    assert mpc["blackout_s"] == 0.0 and mpc["unserved_kwh"] == 0.0
    assert mpc["reserve_breaches"] == 0
    # it islanded and came back, shedding (deferring) comfort loads rather than going dark
    assert "islanded" in mpc["states"] and mpc["states"][-1] == "grid_connected"
    assert mpc["shed_kwh"] > 0
    # the car kept its mobility floor (40 %) and recovery made no new monthly peak
    assert mpc["final_soc"]["car"] >= 0.4
    assert mpc["recovery_peak_kw"] <= mpc["month_peak_kw_before"] + 0.05
    # without a backup the house is dark for the whole outage
    assert none["blackout_s"] == 4 * 3600 and none["unserved_kwh"] > 10.0


def test_a_backup_too_small_is_reported_as_blackout(tmp_path: Path) -> None:
    res = run_outage_day(_edited(tmp_path, "island_limit_kw: 5.0", "island_limit_kw: 1.5"))
    assert res["controllers"]["mpc"]["blackout_s"] > 0
    assert res["controllers"]["mpc"]["unserved_kwh"] > 0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("kind: outage\n", "kind: home\n"), "kind"),
        (("timezone: Europe/Brussels", "timezone: Europe/Oslo"), "timezone"),
        (('end: "2027-01-12T22:00:00+01:00"', 'end: "2027-01-13T03:00:00+01:00"'), "within"),
        (("island_limit_kw: 5.0", "island_limit_kw: lots"), "backup.island_limit_kw"),
        (("  - {kind: outage", "  - {kind: import_cap"), "exactly one"),
    ],
)
def test_bad_outage_scenario_names_the_field(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    with pytest.raises(ScenarioError, match=message):
        outage_settings(_edited(tmp_path, *edit))


def test_cli_reports_a_bad_outage_scenario_in_one_line(tmp_path: Path) -> None:
    proc = _backtest(_edited(tmp_path, "battery_soc: 0.6", "battery_soc: 1.6"))
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("error: ") and "battery_soc" in proc.stderr
