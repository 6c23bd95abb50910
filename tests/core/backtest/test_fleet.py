"""Fleet runs: the scenario is parsed once per process and start-up is not counted as throughput."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hems_core.backtest import fleet

NL = Path(__file__).resolve().parents[3] / "scenarios" / "nl-2027-v2h"
KW: dict[str, Any] = {"days": 1, "step_s": 900.0, "controllers": ["dumb"]}


def test_each_process_parses_the_scenario_once() -> None:
    fleet._scenario.cache_clear()
    path = str(NL / "scenario.yaml")
    a = fleet.run_home(path, 1, 1, 900.0, ["dumb"])
    b = fleet.run_home(path, 2, 1, 900.0, ["dumb"])
    info = fleet._scenario.cache_info()
    assert (info.misses, info.hits) == (1, 1)
    # the cached base is not changed by a home's variation: seed 1 again gives the same KPIs
    again = fleet.run_home(path, 1, 1, 900.0, ["dumb"])
    assert again["controllers"] == a["controllers"] != b["controllers"]


def test_serial_fleet_reports_start_up_apart_from_throughput() -> None:
    fleet._scenario.cache_clear()
    res = fleet.run_fleet(NL, 2, engine="serial", **KW)
    info = res["fleet"]
    # parsing a year of quarters (~0.2 s) is start-up; two dumb home-days are ~0.01 s of work
    assert info["workers"] == 1 and info["startup_s"] > info["wall_s"]
    # CPU time is counted per task: one serial process runs on at most about one core
    assert 0 < info["cores_used"] <= 1.5


def test_dask_workers_are_warm_before_the_clock_starts() -> None:
    pytest.importorskip("distributed")
    res = fleet.run_fleet(NL, 2, engine="dask", workers=2, **KW)
    info = res["fleet"]
    assert info["workers"] == 2
    # warm-up (imports + parsing) ran on the workers before the timed part
    assert info["warm_up_s"] > 0 and info["startup_s"] >= info["warm_up_s"]
    assert 0 < info["cores_used"] <= 2.5  # two one-thread workers
    assert res["controllers"] == fleet.run_fleet(NL, 2, engine="serial", **KW)["controllers"]
