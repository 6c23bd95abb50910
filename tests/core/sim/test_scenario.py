"""Scenario runner and the ``hems sim devices`` / ``hems p1 parse`` commands."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from hems_core.cli import main
from hems_core.devices.clock import ManualClock
from hems_core.devices.modbus_client import ModbusTcpClient
from hems_core.devices.mqtt_client import MqttClient
from hems_core.devices.p1_mqtt import JsonDecoder, MqttMeter
from hems_core.devices.sunspec import SunSpecInverter
from hems_core.devices.wallboxes import quasar
from hems_core.scenario import load_devices
from hems_core.sim.broker import MosquittoBroker
from hems_core.sim.runner import SimRunner

ROOT = Path(__file__).resolve().parents[3]
HOME = ROOT / "scenarios" / "devices" / "home.yaml"
SAMPLES = ROOT / "tests" / "core" / "devices" / "samples"


async def test_runner_links_ev_and_pv_to_the_meter(mosquitto: MosquittoBroker) -> None:
    scenario = load_devices(HOME)
    scenario["mqtt"] = {"host": "127.0.0.1", "port": mosquitto.port, "spawn": False}
    scenario["meters"] = [
        {
            "name": "p1",
            "flavour": "emucs",
            "json_topic": "scn/json",
            "telegram_topic": None,
            "dsmr_reader_prefix": None,
        }
    ]
    clock = ManualClock(1_717_243_200.0)  # noon: the PV profile produces
    runner = SimRunner(scenario, clock=clock)
    endpoints = await runner.start()
    meter = MqttMeter(MqttClient("127.0.0.1", mosquitto.port), JsonDecoder("scn/json"), clock=clock)
    try:
        assert set(endpoints["wallboxes"]) == {"quasar", "evdc", "ambi", "mybox", "diy"}
        q = endpoints["wallboxes"]["quasar"]
        box = quasar(ModbusTcpClient("127.0.0.1", q["port"], timeout=2.0, clock=clock), clock=clock)
        inv = SunSpecInverter(
            ModbusTcpClient(
                "127.0.0.1", endpoints["inverters"]["pv"]["port"], timeout=2.0, clock=clock
            ),
            clock=clock,
        )
        await meter.connect()
        clock.advance(30)
        await runner.tick()
        await _until(lambda: meter._latest is not None)
        before = (await meter.read()).power_w
        await box.set_power(7000)
        clock.advance(30)
        pv = (await inv.read_state()).ac_power_w
        assert pv > 1000
        mark = meter._received_at
        await runner.tick()
        await _until(lambda: meter._received_at != mark)
        after = (await meter.read()).power_w
        assert after - before == pytest.approx(7000, abs=150)  # the EV shows up at the meter
        await box.close()
        await inv.close()
    finally:
        await meter.close()
        await runner.stop()


async def _until(cond: object, bound: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + bound
    while not cond():  # type: ignore[operator]
        assert loop.time() < end, "condition not met within the bound"
        await asyncio.sleep(0.01)


def test_cli_sim_devices_prints_endpoints(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text("wallboxes:\n  - {name: q, type: quasar}\ninverters:\n  - {name: pv}\n")
    assert main(["sim", "devices", "--scenario", str(scenario), "--duration", "0.2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["wallboxes"]["q"]["port"] > 0
    assert out["inverters"]["pv"]["type"] == "sunspec"


def test_cli_sim_devices_bad_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("wallboxes:\n  - {name: q, type: toaster}\n")
    assert main(["sim", "devices", "--scenario", str(bad), "--duration", "0.1"]) == 2
    assert "toaster" in capsys.readouterr().err
    assert main(["sim", "devices", "--scenario", str(tmp_path / "none.yaml")]) == 2


def test_cli_p1_parse_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["p1", "parse", str(SAMPLES / "emucs_be_fluvius_v171.txt"), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["crc"] == "3AD7"
    assert out["reading"]["demand_quarter_kw"] == pytest.approx(2.351)
    assert out["reading"]["peak_history"][1]["demand_kw"] == pytest.approx(5.98)
    assert out["objects"]["1-0:1.6.0"] == ["200509134558S", "02.589*kW"]


def test_cli_p1_parse_error_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "t.txt"
    broken.write_bytes(
        (SAMPLES / "dsmr50_nl_iskra_mt382.txt").read_bytes().replace(b"0.244", b"0.245")
    )
    assert main(["p1", "parse", str(broken), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "CRC" in err
    assert main(["p1", "parse", str(tmp_path / "missing.txt")]) == 2
