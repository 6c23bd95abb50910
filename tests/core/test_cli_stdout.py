"""The ``hems`` command as a user runs it: a subprocess whose whole stdout must parse as JSON.

A library that prints (a solver banner, a stray debug line) breaks every ``--json`` consumer;
these tests run the real console script so output written at the file-descriptor level by
compiled code (HiGHS) is caught too, which ``capsys`` would miss.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hems_core import cli
from tests.core.tariffs.helpers import SAMPLES


def _hems() -> list[str]:
    script = Path(sys.executable).with_name("hems")
    return [str(script)] if script.exists() else [sys.executable, "-m", "hems_core.cli"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [*_hems(), *args], capture_output=True, text=True, timeout=300, check=False, env=env
    )


def _whole_json(out: subprocess.CompletedProcess[str]) -> Any:
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # the whole stdout, not a line picked out of it


def test_demo_json_is_the_whole_stdout() -> None:
    data = _whole_json(_run("demo", "--json"))
    assert next(s["strategy"] for s in data["strategies"]) == "plug_and_charge"


def test_bench_solver_json_is_the_whole_stdout() -> None:
    out = _run(
        "bench", "solver", "--json", "--steps", "48", "--repeats", "2",
        "--backends", "highs", "--no-reference",
    )  # fmt: skip
    data = _whole_json(out)
    assert data["cases"], data


def test_prices_parse_json_is_the_whole_stdout() -> None:
    sample = SAMPLES / "energyzero_NL_2026-03-29.json"
    data = _whole_json(_run("prices", "parse", str(sample), "--json"))
    assert len(data["values"]) == 92


def test_library_solve_writes_nothing_to_stdout_or_stderr() -> None:
    """A plain solve, with HiGHS constructed cold, writes not one byte to fd 1 or fd 2."""
    code = (
        "from hems_core.optimize import Planner\n"
        "from hems_core.scenario import DEFAULT_START, case_a_site, case_state,"
        " profile_inputs\n"
        "site = case_a_site(DEFAULT_START)\n"
        "plan = Planner(site).solve(profile_inputs(DEFAULT_START, 16, 0), case_state(site))\n"
        "assert plan.stats.status\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    assert out.stderr == ""


def test_highs_log_goes_to_logging_when_debug_is_on() -> None:
    code = (
        "import logging, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,"
        " format='%(name)s %(message)s')\n"
        "from hems_core.optimize import Planner\n"
        "from hems_core.scenario import DEFAULT_START, case_a_site, case_state,"
        " profile_inputs\n"
        "site = case_a_site(DEFAULT_START)\n"
        "Planner(site).solve(profile_inputs(DEFAULT_START, 16, 0), case_state(site))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    highs_lines = [ln for ln in lines if ln.startswith("hems_core.optimize.highs")]
    if not highs_lines:
        pytest.skip("this highspy version offers no logging callback")
    assert all("HiGHS" in ln for ln in highs_lines)


@pytest.mark.parametrize("name", cli.COMMAND_MODULES)
def test_every_command_module_imports_and_registers(name: str) -> None:
    import argparse
    import importlib

    module = importlib.import_module(name)  # a missing module fails here, it is never skipped
    sub = argparse.ArgumentParser().add_subparsers()
    module.register(sub)
    assert sub.choices, f"{name} registered no sub-command"


def test_a_handler_error_is_one_line_and_exit_2_under_python_m() -> None:
    # Under ``python -m hems_core.cli`` the handlers' CliError is hems_core.cli's, not __main__'s.
    out = subprocess.run(
        [sys.executable, "-m", "hems_core.cli", "sim", "soak", "--days", "99"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "error: --days must be within 0.05..30 and --meter-interval within 1..10"
    ]
