"""Binary sensors: boost active per car; fail-safe active and grid available for the site."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Newer Home Assistant re-exports the device class from .const without `as` (not explicit for mypy).
from homeassistant.components.binary_sensor import (  # type: ignore[attr-defined,unused-ignore]
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from hems_core.control.core import CoreStatus

from . import HemsConfigEntry
from .entity import HemsCarEntity, HemsEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class HemsBinaryDescription(BinarySensorEntityDescription):
    """A flag read from the core's status (``car`` is None for site flags)."""

    is_on_fn: Callable[[CoreStatus, str | None], bool | None]


BOOST_ACTIVE = HemsBinaryDescription(
    key="boost_active",
    translation_key="boost_active",
    device_class=BinarySensorDeviceClass.RUNNING,
    is_on_fn=lambda st, car: car in st.boosts,
)
FAIL_SAFE = HemsBinaryDescription(
    key="fail_safe",
    translation_key="fail_safe",
    device_class=BinarySensorDeviceClass.PROBLEM,
    is_on_fn=lambda st, car: st.failsafe,
)
#: The core's fused grid state (meter, gateway, inverter, voltage); unknown is no outage.
GRID_AVAILABLE = HemsBinaryDescription(
    key="grid_available",
    translation_key="grid_available",
    device_class=BinarySensorDeviceClass.POWER,
    is_on_fn=lambda st, car: {"on": True, "off": False}.get(st.grid_state),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Flags of a running site."""
    control = entry.runtime_data.control
    if control is None:
        return
    entities: list[BinarySensorEntity] = [
        HemsSiteBinary(entry, FAIL_SAFE),
        HemsSiteBinary(entry, GRID_AVAILABLE),
    ]
    entities += [HemsCarBinary(entry, car, BOOST_ACTIVE) for car in control.cars]
    async_add_entities(entities)


def _flag(entry: HemsConfigEntry, desc: HemsBinaryDescription, car: str | None) -> bool | None:
    control = entry.runtime_data.control
    st = None if control is None else control.status()
    return None if st is None else desc.is_on_fn(st, car)


class HemsCarBinary(HemsCarEntity, BinarySensorEntity):
    """A car's flag."""

    entity_description: HemsBinaryDescription

    def __init__(self, entry: HemsConfigEntry, car: str, desc: HemsBinaryDescription) -> None:
        """Bind the description to a car."""
        super().__init__(entry, car, desc.key)
        self.entity_description = desc

    @property
    def is_on(self) -> bool | None:
        """From the core's status."""
        return _flag(self._entry, self.entity_description, self._car)


class HemsSiteBinary(HemsEntity, BinarySensorEntity):
    """A site flag, refreshed after every tick."""

    _attr_should_poll = False
    entity_description: HemsBinaryDescription

    def __init__(self, entry: HemsConfigEntry, desc: HemsBinaryDescription) -> None:
        """Bind the description to the site."""
        super().__init__(entry, desc.key)
        self.entity_description = desc

    async def async_added_to_hass(self) -> None:
        """Follow the control loop."""
        control = self._entry.runtime_data.control
        if control is not None:
            self.async_on_remove(control.async_add_listener(self.async_write_ha_state))

    @property
    def is_on(self) -> bool | None:
        """From the core's status."""
        return _flag(self._entry, self.entity_description, None)
