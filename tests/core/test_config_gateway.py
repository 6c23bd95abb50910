"""``devices.gateway`` and ``island`` in the site document: validated at parse time, and the
runtime the configuration builds reads the gateway for real (mosquitto on loopback, the
transfer-switch simulator publishing its status)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from hems_core.config import SiteConfigError, parse_config
from hems_core.devices.backup_gateway import MqttBackupGateway
from hems_core.devices.mqtt_client import MqttClient
from hems_core.sim.broker import MosquittoBroker
from hems_core.sim.gateway_sim import GatewaySim, GridSchedule

SITE: dict[str, Any] = {
    "battery": {"capacity_kwh": 10, "max_charge_kw": 5, "max_discharge_kw": 5},
    "devices": {
        "meter": {"type": "mqtt", "host": "127.0.0.1", "port": 1883},
        "gateway": {"type": "mqtt", "host": "127.0.0.1", "port": 1883, "topic": "gw/status"},
    },
    "island": {"detect_s": 1, "min_recovery_s": 5, "battery_island_floor": 0.05},
}


def _with(path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(SITE)
    node: Any = out
    *head, last = path.split(".")
    for k in head:
        node = node[k]
    node[last] = value
    return out


def test_the_gateway_and_the_island_settings_are_read() -> None:
    cfg = parse_config(SITE)
    assert cfg.gateway is not None
    assert (cfg.gateway.host, cfg.gateway.port) == ("127.0.0.1", 1883)
    assert cfg.gateway.options["topic"] == "gw/status"
    assert cfg.gateway.options["stale_after_s"] == 10.0  # the driver's default
    island = cfg.core().island_cfg
    assert (island.detect_s, island.min_recovery_s, island.battery_island_floor) == (1, 5, 0.05)
    assert island.stable_s == 60.0  # what the document leaves out keeps its default
    gw = cfg.build_drivers().gateway
    assert isinstance(gw, MqttBackupGateway) and gw.topic == "gw/status"
    assert gw.stale_after == 10.0


def test_without_a_gateway_there_is_none() -> None:
    data = copy.deepcopy(SITE)
    del data["devices"]["gateway"], data["island"]
    cfg = parse_config(data)
    assert cfg.gateway is None and cfg.build_drivers().gateway is None
    assert cfg.runtime().gateway is None


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("devices.gateway.topic", None, r"devices\.gateway\.topic: is required"),
        ("devices.gateway.topic", "gw/#", r"devices\.gateway\.topic: must be one topic"),
        ("devices.gateway.type", "modbus", r"devices\.gateway\.type: must be one of mqtt"),
        ("devices.gateway.host", None, r"devices\.gateway\.host: is required"),
        ("devices.gateway.port", 0, r"devices\.gateway\.port"),
        ("devices.gateway.stale_after_s", 0, r"devices\.gateway\.stale_after_s"),
        ("devices.gateway.topics", "x", r"devices\.gateway\.topics: unknown key.*'topic'"),
        ("island.detect_s", -1, r"island\.detect_s: must be a number within"),
        ("island.detect_s", "fast", r"island\.detect_s: must be a number, got 'fast'"),
        ("island.battery_island_floor", 1.5, r"island\.battery_island_floor"),
        ("island.resync_hold_s", 100, r"island: .*resync_timeout_s must be >= resync_hold_s"),
        ("island.tiers", [], r"island\.tiers: cannot be configured"),
        ("island.detect", 1, r"island\.detect: unknown key \(did you mean 'detect_s'\?\)"),
    ],
)
def test_every_gateway_or_island_error_names_its_field(path: str, value: Any, message: str) -> None:
    with pytest.raises(SiteConfigError, match=message):
        parse_config(_with(path, value))


async def test_the_runtime_reads_the_configured_gateway(mosquitto: MosquittoBroker) -> None:
    """The runtime from the document sees what the simulated gateway publishes."""
    data = _with("devices.gateway.port", mosquitto.port)
    rt = parse_config(data).runtime()
    gw = rt.gateway
    assert isinstance(gw, MqttBackupGateway)
    outages: list[tuple[float, float]] = []
    sim = GatewaySim(GridSchedule(outages), source="battery", limit_w=5000.0, transfer_s=0.0)
    pub = MqttClient("127.0.0.1", mosquitto.port)
    await pub.connect()
    try:
        await gw.connect()
        sim.step(0.0)
        await pub.publish("gw/status", sim.status_json(), retain=False)
        for _ in range(100):
            await rt.read()
            if rt._grid_obs is not None:
                break
            await asyncio.sleep(0.02)
        assert rt._grid_obs is not None
        assert (rt._grid_obs.gateway_grid, rt._grid_obs.gateway_island) == (True, False)

        outages.append((1.0, 100.0))  # the grid goes at t = 1 s: the switch opens
        sim.step(1.0)
        await pub.publish("gw/status", sim.status_json(), retain=False)
        for _ in range(100):
            await rt.read()
            if rt._grid_obs.gateway_grid is False:
                break
            await asyncio.sleep(0.02)
        obs = rt._grid_obs
        assert (obs.gateway_grid, obs.gateway_island, obs.island_source) == (False, True, "battery")
        assert obs.island_limit_w == 5000.0
    finally:
        await gw.close()
        await pub.close()
        await rt.close()
