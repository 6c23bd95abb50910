"""Island mode in Home Assistant, end to end on loopback: a real mosquitto, the P1 publisher and
the Modbus TCP Quasar simulator, and the backup-gateway simulator (the transfer switch of
``hems_core/sim/gateway_sim.py``) publishing its JSON status. The gateway is added through its
subentry flow; the grid then goes and comes back, and the integration follows the core."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)

from custom_components.hems.const import (
    CONF_FAST_LOOP_S,
    CONF_SITE_CONFIG,
    CONF_SITE_NAME,
    DOMAIN,
    EVENT_HEMS,
)
from hems_core.devices.backup_gateway import MqttBackupGateway
from hems_core.devices.mqtt_client import MqttClient
from hems_core.sim.broker import find_mosquitto
from hems_core.sim.gateway_sim import GatewaySim, GridSchedule
from hems_core.sim.runner import SimRunner

FAST_LOOP_S = 0.5
TOPIC = "sigen/SN4711/gateway/status"
pytestmark = pytest.mark.skipif(find_mosquitto() is None, reason="mosquitto is not installed")
#: The island machine's timings shortened from the grid-code defaults (60 s stable, 60 s
#: recovery), so one outage and its recovery take seconds of real time.
ISLAND = {"detect_s": 1, "min_dwell_s": 1, "stable_s": 2, "resync_hold_s": 1,
          "resync_timeout_s": 10, "min_recovery_s": 1}  # fmt: skip


@dataclass
class Sims:
    runner: SimRunner
    out: dict[str, Any]
    gateway: GatewaySim
    #: The grid's outages (monotonic seconds), shared with the gateway's schedule.
    outages: list[tuple[float, float]]


@pytest.fixture
async def sims(socket_enabled: Any) -> AsyncIterator[Sims]:
    """The simulators, stepped every 0.2 s of real time; the gateway publishes each step."""
    runner = SimRunner(
        {
            "speed": 1.0,
            "mqtt": {"spawn": True},
            "wallboxes": [{"name": "car", "type": "quasar", "ev": {"capacity_kwh": 40,
                                                                   "soc_pct": 60}}],
            "meters": [
                {"name": "p1", "flavour": "emucs", "dsmr_reader_prefix": None, "json_topic": None}
            ],
        }
    )  # fmt: skip
    out = await runner.start()
    runner.publishers["p1"].meter.house.load = lambda t: 500.0
    outages: list[tuple[float, float]] = []
    # The Quasar forms the island (DC V2H with backup); 1 s reconnection delay instead of 60.
    gateway = GatewaySim(
        GridSchedule(outages), source="car", limit_w=3700.0, reconnect_delay_s=1.0, resync_s=0.5
    )
    gateway.load_w = 500.0
    pub = MqttClient("127.0.0.1", out["mqtt"]["port"])
    await pub.connect()
    stop = asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            await runner.tick()
            gateway.step(time.monotonic())
            await pub.publish(TOPIC, gateway.status_json(), qos=0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.2)

    task = asyncio.create_task(tick())
    yield Sims(runner, out, gateway, outages)
    stop.set()
    await task
    await pub.close()
    await runner.stop()


def _state(hass: HomeAssistant, entity_id: str) -> str | None:
    state = hass.states.get(entity_id)
    return None if state is None else state.state


async def _until(pred: Callable[[], bool], within: float) -> float:
    """Real seconds until ``pred`` holds (fails after ``within`` s)."""
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > within:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


def _entry(out: dict[str, Any]) -> MockConfigEntry:
    """A site with a car on the Quasar and the P1 meter as subentries (as the UI saves them)."""
    port = out["mqtt"]["port"]
    car = {"name": "car", "capacity_kwh": 40.0, "max_charge_kw": 7.4, "max_discharge_kw": 7.4,
           "min_soc": 0.2}  # fmt: skip
    wallbox = {"type": "quasar", "host": "127.0.0.1", "port": out["wallboxes"]["car"]["port"]}
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home", "phases": 1, "fuse_a": 25},
        options={CONF_SITE_CONFIG: {"island": ISLAND}, CONF_FAST_LOOP_S: FAST_LOOP_S},
        unique_id="home",
        minor_version=2,
        subentries_data=[
            {
                "subentry_type": "wallbox",
                "title": "car",
                "unique_id": "car",
                "data": {"car": car, "wallbox": wallbox},
            },
            {
                "subentry_type": "p1",
                "title": "P1 meter",
                "unique_id": "p1",
                "data": {
                    "source": "mqtt",
                    "meter": {"type": "mqtt", "host": "127.0.0.1", "port": port},
                },
            },
        ],
    )


async def test_the_grid_goes_and_comes_back(
    hass: HomeAssistant, hass_client: Any, sims: Sims
) -> None:
    entry = _entry(sims.out)
    entry.add_to_hass(hass)
    events: list[Event] = []
    hass.bus.async_listen(EVENT_HEMS, events.append)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    await _until(lambda: _state(hass, "sensor.home_status") == "fallback", 10)

    # The backup gateway through its subentry flow (the status topic must answer first).
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "gateway"), context={"source": "user"}
    )
    gw = {"host": "127.0.0.1", "port": sims.out["mqtt"]["port"], "topic": TOPIC}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], gw)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()  # the new subentry reloads the site
    control = entry.runtime_data.control
    assert control is not None and control.runtime is not None
    assert isinstance(control.runtime.gateway, MqttBackupGateway)
    assert control.runtime.gateway.topic == TOPIC
    await _until(lambda: _state(hass, "binary_sensor.home_grid_available") == "on", 10)
    st = control.status()
    assert st is not None and st.grid_decided_by == "gateway"
    assert _state(hass, "sensor.home_status") == "fallback"

    # The grid goes: the switch opens, the island forms; HA shows it and an event fires.
    events.clear()
    sims.outages.append((time.monotonic(), math.inf))
    took = await _until(lambda: _state(hass, "binary_sensor.home_grid_available") == "off", 10)
    print(f"grid loss shown after {took:.2f} s (fast loop {FAST_LOOP_S} s)")
    await _until(lambda: _state(hass, "sensor.home_status") == "island", 10)
    assert sims.gateway.transfers == 1  # the simulated switch did open
    await _until(
        lambda: any(
            e.data["type"] == "island_mode_changed" and e.data["state"] == "islanded"
            for e in events
        ),
        10,
    )
    moves = [e.data for e in events if e.data["type"] == "island_mode_changed"]
    assert moves[0]["previous"] == "grid_connected", moves
    assert all(m["entry_id"] == entry.entry_id for m in moves)

    # The diagnostics of a site with a gateway keep its broker and topic in the house.
    diag = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diag)
    assert "127.0.0.1" not in text and "SN4711" not in text, text
    gw_sub = next(s for s in diag["subentries"] if s["type"] == "gateway")
    assert gw_sub["data"]["gateway"]["topic"] == "**REDACTED**"
    assert diag["control"]["core"]["grid_decided_by"] == "gateway"

    # The grid returns: after the gateway's reconnection delay the switch closes; HA reverts.
    events.clear()
    start = sims.outages[-1][0]
    sims.outages[-1] = (start, time.monotonic())
    await _until(lambda: _state(hass, "binary_sensor.home_grid_available") == "on", 10)
    took = await _until(lambda: _state(hass, "sensor.home_status") == "fallback", 20)
    print(f"back to the plan {took:.2f} s after the grid came back")
    assert sims.gateway.closed and sims.gateway.reconnections == 1
    moves = [e.data for e in events if e.data["type"] == "island_mode_changed"]
    assert moves and moves[-1]["state"] == "grid_connected", moves
    assert [m["state"] for m in moves][-2:] == ["recovery", "grid_connected"], moves

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert not control.runtime.gateway.client.connected  # closed on unload
