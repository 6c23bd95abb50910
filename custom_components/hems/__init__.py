"""The HEMS integration: Home Assistant glue around ``hems_core`` (no energy logic here)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

from hems_core import __version__ as CORE_VERSION

from .const import CONF_SITE_NAME, PLATFORMS, STATUS_WAITING


@dataclass
class HemsRuntimeData:
    """What a loaded entry keeps; grows into the coordinator as the runtime lands."""

    site_name: str
    core_version: str
    status: str = STATUS_WAITING


type HemsConfigEntry = ConfigEntry[HemsRuntimeData]


async def async_setup_entry(hass: HomeAssistant, entry: HemsConfigEntry) -> bool:
    """Set up one HEMS site from a config entry."""
    entry.runtime_data = HemsRuntimeData(
        site_name=entry.data[CONF_SITE_NAME], core_version=CORE_VERSION
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # HA <= 2026.10 rejects None here, so always return a bool.
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HemsConfigEntry) -> bool:
    """Unload a HEMS site."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
