"""Sensors of the HEMS integration."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from . import HemsConfigEntry
from .const import STATUS_OPTIONS
from .coordinator import HemsForecastCoordinator
from .entity import HemsEntity

STEPS_PER_DAY = 96
HOURS_PER_STEP = 0.25


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's sensors."""
    async_add_entities([HemsStatusSensor(entry), HemsLoadForecastSensor(entry)])


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


class HemsLoadForecastSensor(HemsEntity, CoordinatorEntity[HemsForecastCoordinator], SensorEntity):
    """Expected household consumption over the next 24 h; the full forecast in attributes.

    No state class: a forecast must not feed long-term statistics or the Energy dashboard.
    """

    _attr_translation_key = "load_forecast"
    _attr_device_class = SensorDeviceClass.ENERGY
    _attr_native_unit_of_measurement = UnitOfEnergy.KILO_WATT_HOUR
    _attr_suggested_display_precision = 1

    def __init__(self, entry: HemsConfigEntry) -> None:
        """Create the forecast sensor for a site."""
        HemsEntity.__init__(self, entry, "load_forecast")
        CoordinatorEntity.__init__(self, entry.runtime_data.forecast)

    @property
    def native_value(self) -> float:
        """P50 energy of the next 24 hours (kWh)."""
        p50 = self.coordinator.data.p50[:STEPS_PER_DAY]
        return round(float(p50.sum()) * HOURS_PER_STEP, 3)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The forecast per quarter hour, shrunk to fit the recorder's attribute limit."""
        return self.coordinator.data.as_attributes()
