"""Sensors of the HEMS integration."""

from __future__ import annotations

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import HemsConfigEntry
from .const import STATUS_OPTIONS
from .entity import HemsEntity


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's sensors."""
    async_add_entities([HemsStatusSensor(entry)])


class HemsStatusSensor(HemsEntity, SensorEntity):
    """What the planner is doing: the first thing a user looks at."""

    _attr_translation_key = "status"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = STATUS_OPTIONS

    def __init__(self, entry: HemsConfigEntry) -> None:
        """Create the status sensor for a site."""
        super().__init__(entry, "status")

    @property
    def native_value(self) -> str:
        """The planner state held in the entry's runtime data."""
        return self._entry.runtime_data.status
