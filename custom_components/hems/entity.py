"""Base entity: one HEMS service device per site."""

from __future__ import annotations

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from . import HemsConfigEntry
from .const import DOMAIN


class HemsEntity(Entity):
    """Common naming and device info for every HEMS entity."""

    _attr_has_entity_name = True

    def __init__(self, entry: HemsConfigEntry, key: str) -> None:
        """Attach the entity to the site's service device."""
        self._entry = entry
        self._attr_unique_id = f"{entry.entry_id}_{key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry.entry_id)},
            name=entry.title,
            manufacturer="HEMS",
            model="Energy management",
            sw_version=entry.runtime_data.core_version,
            entry_type=DeviceEntryType.SERVICE,
        )
