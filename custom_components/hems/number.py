"""Numbers: a car's departure target and minimum SoC, the home battery's backup reserve.

Setting one asks the core (``ControlCore.set_target_soc``/``set_min_soc``/
``set_backup_reserve``), which validates it and re-plans. The value lives in the core's
snapshot in ``.storage`` (saved a second after the change) rather than in the entry's
options: an options change reloads the entry (devices reconnect, the plan is lost), and the
core must own what it decides with. The snapshot keeps the site document's value next to
the owner's, so an installer's later change of the document wins.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.const import PERCENTAGE, EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from hems_core.control.core import OwnerSettings
from hems_core.control.runtime import Runtime
from hems_core.control.settings import ControlError

from . import HemsConfigEntry
from .const import DOMAIN
from .entity import HemsCarEntity, HemsEntity

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class HemsNumberDescription(NumberEntityDescription):
    """A SoC setting in percent: how to read it from the core and how to set it."""

    value_fn: Callable[[OwnerSettings, str | None], float | None]
    set_fn: Callable[[Runtime, str | None, float], None]


def _pct(v: float | None) -> float | None:
    return None if v is None else round(v * 100.0, 1)


def _set_target(rt: Runtime, car: str | None, soc: float) -> None:
    assert car is not None
    rt.core.set_target_soc(rt.now(), car, soc)


def _set_min(rt: Runtime, car: str | None, soc: float) -> None:
    assert car is not None
    rt.core.set_min_soc(rt.now(), car, soc)


def _set_reserve(rt: Runtime, car: str | None, soc: float) -> None:
    rt.core.set_backup_reserve(rt.now(), soc)


_PERCENT = {
    "native_unit_of_measurement": PERCENTAGE,
    "native_min_value": 0.0,
    "native_max_value": 100.0,
    "native_step": 1.0,
    "mode": NumberMode.SLIDER,
}
TARGET_SOC = HemsNumberDescription(
    key="target_soc",
    translation_key="target_soc",
    value_fn=lambda own, car: _pct(own.target_soc.get(car or "")),
    set_fn=_set_target,
    **_PERCENT,  # type: ignore[arg-type]
)
MIN_SOC = HemsNumberDescription(
    key="min_soc",
    translation_key="min_soc",
    entity_category=EntityCategory.CONFIG,
    value_fn=lambda own, car: _pct(own.min_soc.get(car or "")),
    set_fn=_set_min,
    **_PERCENT,  # type: ignore[arg-type]
)
BACKUP_RESERVE = HemsNumberDescription(
    key="backup_reserve",
    translation_key="backup_reserve",
    entity_category=EntityCategory.CONFIG,
    value_fn=lambda own, car: _pct(own.backup_reserve),
    set_fn=_set_reserve,
    **_PERCENT,  # type: ignore[arg-type]
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Target and minimum SoC per car; the backup reserve where there is a home battery."""
    control = entry.runtime_data.control
    if control is None:
        return
    entities: list[NumberEntity] = [
        HemsCarNumber(entry, car, d) for car in control.cars for d in (TARGET_SOC, MIN_SOC)
    ]
    if control.config.site().battery is not None:
        entities.append(HemsSiteNumber(entry, BACKUP_RESERVE))
    async_add_entities(entities)


def _value(entry: HemsConfigEntry, desc: HemsNumberDescription, car: str | None) -> float | None:
    control = entry.runtime_data.control
    st = None if control is None else control.status()
    return None if st is None else desc.value_fn(st.owner, car)


def _set(entry: HemsConfigEntry, desc: HemsNumberDescription, car: str | None, pct: float) -> None:
    control = entry.runtime_data.control
    assert control is not None
    try:
        desc.set_fn(control.require_runtime(), car, pct / 100.0)
    except ControlError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="control_refused",
            translation_placeholders={"error": str(err)},
        ) from err
    control.async_changed()


class HemsCarNumber(HemsCarEntity, NumberEntity):
    """A car's SoC setting."""

    entity_description: HemsNumberDescription

    def __init__(self, entry: HemsConfigEntry, car: str, desc: HemsNumberDescription) -> None:
        """Bind the description to a car."""
        super().__init__(entry, car, desc.key)
        self.entity_description = desc

    @property
    def native_value(self) -> float | None:
        """The setting in force (the owner's, else the site document's)."""
        return _value(self._entry, self.entity_description, self._car)

    async def async_set_native_value(self, value: float) -> None:
        """Ask the core; a refusal (e.g. above the car's maximum) is a translated error."""
        _set(self._entry, self.entity_description, self._car, value)


class HemsSiteNumber(HemsEntity, NumberEntity):
    """The home battery's backup reserve."""

    _attr_should_poll = False
    entity_description: HemsNumberDescription

    def __init__(self, entry: HemsConfigEntry, desc: HemsNumberDescription) -> None:
        """Bind the description to the site."""
        super().__init__(entry, desc.key)
        self.entity_description = desc

    async def async_added_to_hass(self) -> None:
        """Follow the control loop."""
        control = self._entry.runtime_data.control
        if control is not None:
            self.async_on_remove(control.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> float | None:
        """The reserve in force."""
        return _value(self._entry, self.entity_description, None)

    async def async_set_native_value(self, value: float) -> None:
        """Ask the core."""
        _set(self._entry, self.entity_description, None, value)
