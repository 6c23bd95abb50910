"""Base entity: one HEMS service device per site."""

from __future__ import annotations

from typing import Any, cast

from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity

from . import HemsConfigEntry
from .const import DOMAIN

#: Home Assistant 2026.10 links a child device by the parent's device id (``via_device`` is
#: deprecated, removed in 2027.8); older versions only know ``via_device`` (identifiers).
_VIA_DEVICE_ID = "via_device_id" in (DeviceInfo.__required_keys__ | DeviceInfo.__optional_keys__)


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


class HemsCarEntity(Entity):
    """An entity of one car (its own device, linked to the site), refreshed after every tick."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, entry: HemsConfigEntry, car: str, key: str) -> None:
        """Name the car's device after the car in the site document."""
        self._entry = entry
        self._car = car
        self._attr_unique_id = f"{entry.entry_id}_{car}_{key}"
        info = DeviceInfo(
            identifiers={(DOMAIN, f"{entry.entry_id}_{car}")},
            name=car,
            manufacturer="HEMS",
            model="Car and wallbox",
        )
        link = cast(dict[str, Any], info)
        if _VIA_DEVICE_ID:
            link["via_device_id"] = entry.runtime_data.site_device_id
        else:
            link["via_device"] = (DOMAIN, entry.entry_id)
        self._attr_device_info = info

    async def async_added_to_hass(self) -> None:
        """Follow the control loop."""
        control = self._entry.runtime_data.control
        if control is not None:
            self.async_on_remove(control.async_add_listener(self.async_write_ha_state))
