"""``hems bench backtest``: the planning throughput from a command, and the model kept.

Counts, not timings: over two days of quarters (192 plans) the planner assembles its
structure at most twice (the first horizon, then the longer one once tomorrow's prices are
out) and most quarters take the last solve's tail instead of a solve.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
NL = ROOT / "scenarios" / "nl-2027-v2h"


def test_bench_backtest_json_reports_throughput_and_keeps_the_model() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "hems_core.cli", "bench", "backtest", "--scenario", str(NL),
         "--days", "2", "--json"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    data = json.loads(out.stdout)
    assert data["scenario"] == "nl-2027-v2h" and data["days"] == 2
    assert data["home_days_per_s"] > 0 and data["home_days_per_cpu_s"] > 0
    t = data["timing"]["mpc"]
    assert t["plans"] >= 2 * 96
    assert t["solves"] + t["shifted"] <= t["plans"]
    assert 1 <= t["builds"] <= 2
    assert t["shifted"] > t["plans"] // 4
    assert data["total_cost"]["mpc"] > 0
