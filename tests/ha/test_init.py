"""Setup and unload of a config entry, and the entities it creates."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hems.const import DOMAIN, STATUS_OPTIONS
from hems_core import __version__


async def test_setup_and_unload(hass: HomeAssistant, mock_config_entry: MockConfigEntry) -> None:
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED

    state = hass.states.get("sensor.home_status")
    assert state is not None
    assert state.state == "waiting_for_data"
    assert state.attributes["options"] == STATUS_OPTIONS

    entity = er.async_get(hass).async_get("sensor.home_status")
    assert entity is not None
    assert entity.unique_id == f"{mock_config_entry.entry_id}_status"
    assert entity.device_id is not None
    device = dr.async_get(hass).async_get(entity.device_id)
    assert device is not None
    assert (DOMAIN, mock_config_entry.entry_id) in device.identifiers
    assert device.sw_version == __version__
    assert device.entry_type is dr.DeviceEntryType.SERVICE

    assert await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.NOT_LOADED
    assert hass.states.get("sensor.home_status").state == "unavailable"
