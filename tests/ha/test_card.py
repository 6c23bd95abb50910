"""The plan card: the integration serves the bundle and puts it on every dashboard by itself."""

from __future__ import annotations

from typing import Any

from homeassistant.components.frontend import DATA_EXTRA_MODULE_URL, UrlManager
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.hems.card import CARD_FILE, CARD_URL, DATA_CARD
from custom_components.hems.const import DOMAIN


def _fake_frontend(hass: HomeAssistant) -> list[str]:
    """What the frontend integration sets up for extra modules (its bundle is not installed
    in the harness): the same UrlManager, so add_extra_js_url runs for real."""
    changes: list[str] = []
    hass.data[DATA_EXTRA_MODULE_URL] = UrlManager(lambda kind, url: changes.append(url), [])
    hass.config.components.add("frontend")
    return changes


async def test_bundle_served_and_registered(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, "http", {})
    _fake_frontend(hass)
    assert await async_setup_component(hass, DOMAIN, {})
    url = hass.data[DATA_CARD]
    assert url.startswith(f"{CARD_URL}?v=")
    assert url in hass.data[DATA_EXTRA_MODULE_URL].urls

    # Served without login (the frontend loads modules before it has a token).
    client = await hass_client_no_auth()
    resp = await client.get(url)
    assert resp.status == 200
    body = await resp.read()
    assert body == CARD_FILE.read_bytes()
    assert b"customElements.define" in body and b"hems-plan-card" in body
    assert "javascript" in resp.headers["Content-Type"]


async def test_registered_when_frontend_loads_later(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, "http", {})
    assert await async_setup_component(hass, DOMAIN, {})
    assert DATA_CARD not in hass.data
    _fake_frontend(hass)
    hass.bus.async_fire(EVENT_COMPONENT_LOADED, {"component": "frontend"})
    await hass.async_block_till_done()
    assert hass.data[DATA_CARD] in hass.data[DATA_EXTRA_MODULE_URL].urls


async def test_card_info(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    ws = await hass_ws_client(hass)

    await ws.send_json_auto_id({"type": "hems/card_info"})
    msg: dict[str, Any] = await ws.receive_json()
    assert msg["success"]
    assert msg["result"] == {"entries": [{"entry_id": mock_config_entry.entry_id, "title": "Home"}]}

    await ws.send_json_auto_id(
        {"type": "hems/card_info", "config_entry_id": mock_config_entry.entry_id}
    )
    msg = await ws.receive_json()
    assert msg["success"]
    # No site document: no storages yet, but the status entity the card shows.
    assert msg["result"]["storages"] == []
    assert msg["result"]["entities"]["sensor.status"] == "sensor.home_status"

    await ws.send_json_auto_id({"type": "hems/card_info", "config_entry_id": "nope"})
    msg = await ws.receive_json()
    assert not msg["success"]
    assert msg["error"]["code"] == "not_found"
