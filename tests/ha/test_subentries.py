"""Device subentries: the wallbox + car flow against the real Modbus TCP simulator on loopback."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_USER
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hems.const import CONF_SITE_NAME, DOMAIN
from hems_core.sim.scenario import SimRunner

CAR = {
    "capacity_kwh": 40.0,
    "chemistry": "nmc",
    "max_charge_kw": 7.4,
    "max_discharge_kw": 7.4,
    "min_soc": 20,
    "phases": "1",
    "cannot_pause": False,
    "target_soc": 80,
    "mon": "07:30:00",
    "sat": "09:00:00",
}


@pytest.fixture
async def sims(socket_enabled: Any) -> AsyncIterator[tuple[SimRunner, dict[str, Any]]]:
    """A Quasar on Modbus TCP (127.0.0.1, a free port)."""
    runner = SimRunner({"wallboxes": [{"name": "car", "type": "quasar"}]})
    out = await runner.start()
    yield runner, out
    await runner.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def entry(hass: HomeAssistant) -> MockConfigEntry:
    e = MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"}, unique_id="home"
    )
    e.add_to_hass(hass)
    return e


async def _start(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> dict[str, Any]:
    result: dict[str, Any] = await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": SOURCE_USER}
    )
    return result


async def test_add_quasar_wallbox_reads_the_box_before_saving(
    hass: HomeAssistant, entry: MockConfigEntry, sims: tuple[SimRunner, dict[str, Any]]
) -> None:
    _, out = sims
    result = await _start(hass, entry, "wallbox")
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Car", "connection": "quasar"}
    )
    assert result["step_id"] == "connection_modbus"
    # Nothing listens on this port: the form stays, says why, and keeps the answers.
    dead = {"host": "127.0.0.1", "port": _free_port()}
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], dead)
    assert result["errors"] == {"base": "cannot_connect"}
    assert (
        "refused" in result["description_placeholders"]["reason"]
        or "failed" in (result["description_placeholders"]["reason"])
    )
    port = out["wallboxes"]["car"]["port"]
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"host": "127.0.0.1", "port": port}
    )
    assert result["step_id"] == "car"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], CAR)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    (sub,) = entry.subentries.values()
    assert sub.title == "Car"
    assert sub.data["wallbox"] == {"type": "quasar", "host": "127.0.0.1", "port": port}
    assert sub.data["car"]["min_soc"] == 0.2
    assert sub.data["car"]["departures"] == {
        "target_soc": 0.8,
        "weekly": {"mon": "07:30", "sat": "09:00"},
    }
