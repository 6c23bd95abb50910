"""The live demo as a user runs it: the real command in a subprocess, its whole stdout parsed.

The run is short (a few simulated hours, unpaced) but complete: broker, Modbus TCP simulators,
the real runtime, the Boost, the JSON summary and the HTML report. SIGINT sent to the process
group (what Ctrl-C does) must end the run cleanly with no process of the group left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hems_core.sim.broker import amqtt_available, find_mosquitto

ROOT = Path(__file__).resolve().parents[2]


def _brokers() -> list[str]:
    """Every broker kind the demo can use here (at least one is needed)."""
    kinds = []
    if find_mosquitto() is not None or os.environ.get("HEMS_REQUIRE_MOSQUITTO"):
        kinds.append("mosquitto")
    if amqtt_available():
        kinds.append("amqtt")
    return kinds or ["mosquitto"]


def _demo(out: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "hems_core.sim.live_demo", "--out", str(out), *args]


def _gone(pgid: int, timeout: float = 10.0) -> bool:
    """True once no process of the group is left (zombies reaped by their parent)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("broker", _brokers())
def test_a_short_live_day_reports_energy_cost_peak_v2h_and_the_boost(
    tmp_path: Path, broker: str
) -> None:
    proc = subprocess.run(
        _demo(tmp_path, "--days", "0.15", "--speed", "0", "--json", "--broker", broker),
        capture_output=True, text=True, timeout=240, cwd=ROOT, start_new_session=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    s = json.loads(proc.stdout)  # the whole stdout is one JSON document
    assert s["broker"] == broker
    assert s["interrupted"] is False
    assert s["simulated_days"] == pytest.approx(0.15, abs=0.001)
    e = s["energy_kwh"]
    assert e["house"] > 0.5 and e["import"] > 0
    # the boost: pressed while home, full power at the box, then back to the plan
    b = s["boost"]
    assert b["handled"] is True, b
    assert b["reached_w"] == pytest.approx(7400, abs=100)
    assert 0 < b["response_s"] <= 30
    # a boost makes a peak the plan alone would not: the box's 7.4 kW are in the peak
    assert s["peak_kw"] >= 7.0
    # cost and V2H share agree with the energy flows they come from
    assert s["cost_eur"] > 0
    assert 0.0 <= s["v2h_share_of_house_load"] <= 1.0
    assert s["v2h_share_of_house_load"] == pytest.approx(e["v2h"] / e["house"], abs=1e-3)
    c = s["control"]
    assert c["plans"] >= 10 and c["plan_failures"] == 0
    assert c["fuse_breaches"] == 0 and c["storage_export_ticks"] == 0
    # progress went to stderr, never into the JSON
    assert "Boost handled" in proc.stderr and "plan:" in proc.stderr
    # the report and the summary file
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 3 and "<script" not in page and "http" not in page.split("<svg")[0]
    assert json.loads((tmp_path / "summary.json").read_text())["cost_eur"] == s["cost_eur"]


@pytest.mark.parametrize(
    ("target", "broker"),
    [
        ("group", _brokers()[-1]),  # Ctrl-C in a terminal: every process of the group
        ("demo", "mosquitto"),  # kill -INT on the demo only: it must stop the broker itself
    ],
)
def test_ctrl_c_stops_the_run_and_leaves_no_process(
    tmp_path: Path, target: str, broker: str
) -> None:
    if (
        broker == "mosquitto"
        and find_mosquitto() is None
        and not os.environ.get("HEMS_REQUIRE_MOSQUITTO")
    ):
        pytest.skip("mosquitto binary not installed (apt-get install mosquitto)")
    proc = subprocess.Popen(
        _demo(tmp_path, "--days", "1", "--speed", "600", "--json", "--broker", broker),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
        start_new_session=True,
    )  # fmt: skip
    pgid = proc.pid  # its own session: the group holds the demo and its broker
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 120
        seen = ""
        while "plan:" not in seen and time.monotonic() < deadline:  # running: first status line
            seen += proc.stderr.readline()
        assert "plan:" in seen, seen
        if target == "group":
            os.killpg(pgid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, err[-2000:]
    s = json.loads(out)
    assert s["interrupted"] is True and s["simulated_days"] < 1.0
    assert "interrupted" in err
    gone = _gone(pgid)
    if not gone:
        os.killpg(pgid, signal.SIGKILL)  # leave nothing behind, even when failing
    assert gone, "a process of the demo is still running after Ctrl-C"


DEV_PYTHON = ROOT / ".venv-dev" / "bin" / "python"


@pytest.mark.slow
@pytest.mark.skipif(
    not DEV_PYTHON.exists(),
    reason="no .venv-dev (Home Assistant for scripts/develop): run scripts/develop once",
)
def test_develop_sets_home_assistant_up_through_its_flows_and_stops_clean(tmp_path: Path) -> None:
    """scripts/develop --once: a fresh Home Assistant onboarded, MQTT and hems loaded, then
    everything stopped; a second start (onboarded already) logs in and loads them again."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [str(DEV_PYTHON), "-m", "hems_core.sim.develop", "--once", "--free-ports",
           "--port", str(port), "--dir", str(tmp_path / "dev")]  # fmt: skip
    for _ in range(2):
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
            start_new_session=True,
        )  # fmt: skip
        try:
            out, err = proc.communicate(timeout=600)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        assert proc.returncode == 0, err[-3000:]
        report = json.loads(out)
        assert report["entries"] == {"mqtt": "loaded", "hems": "loaded"}
        gone = _gone(proc.pid, timeout=30)
        if not gone:
            os.killpg(proc.pid, signal.SIGKILL)
        assert gone, "Home Assistant, a simulator or the broker outlived scripts/develop"
    # set up through the flows, as Home Assistant stored them (never written by hand)
    stored = json.loads(
        (tmp_path / "dev" / "config" / ".storage" / "core.config_entries").read_text()
    )
    domains = sorted(e["domain"] for e in stored["data"]["entries"])
    assert "hems" in domains and "mqtt" in domains
