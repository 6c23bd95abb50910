"""``Runtime.connect`` opens what a driver keeps open: an MQTT wallbox from the site document is
read only after its session is up (Home Assistant's glue and every other caller use this one
call; Modbus drivers connect on their first read and are left alone)."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from hems_core.config import parse_config
from hems_core.devices.clock import monotonic_clock
from hems_core.devices.mqtt_client import MqttClient
from hems_core.sim.broker import MosquittoBroker
from hems_core.sim.ev import EvParams
from hems_core.sim.mqtt_wallbox_sim import MqttWallboxSim

SITE = Path(__file__).resolve().parents[3] / "scenarios" / "devices" / "site.yaml"


def _site(port: int) -> dict[str, Any]:
    data: dict[str, Any] = copy.deepcopy(yaml.safe_load(SITE.read_text()))
    data["devices"]["meter"]["port"] = port
    data["devices"]["wallboxes"] = [
        {"name": "quasar", "type": "mqtt", "host": "127.0.0.1", "port": port,
         "topics": {"setpoint": "wallbox/setpoint", "state": "wallbox/state"}}
    ]  # fmt: skip
    del data["devices"]["pv"]
    return data


async def test_connect_opens_the_mqtt_wallbox(mosquitto: MosquittoBroker) -> None:
    rt = parse_config(_site(mosquitto.port)).runtime()
    sim = MqttWallboxSim(
        MqttClient("127.0.0.1", mosquitto.port), EvParams(soc_pct=55.0), monotonic_clock
    )
    await sim.start()
    try:
        await rt.connect()
        seen = None
        for _ in range(200):
            await sim.client.publish(sim.state_topic, sim.state_json(), retain=False)
            obs = await rt.read()
            if (seen := obs.storage.get("quasar")) is not None and seen.online:
                break
            await asyncio.sleep(0.02)
        assert seen is not None and seen.online, f"the MQTT wallbox was never read: {seen}"
        assert seen.soc == pytest.approx(0.55, abs=0.01)
    finally:
        await rt.close()
        await sim.client.close()
