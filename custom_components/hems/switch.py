"""Switch: allow V2H per bidirectional car (off: the car only charges).

Turning it asks the core (``ControlCore.allow_v2h``), which re-plans without (or with) the
car's discharge; the setting is kept in the core's snapshot like the numbers (see number.py).
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from hems_core.control.settings import ControlError

from . import HemsConfigEntry
from .const import DOMAIN
from .entity import HemsCarEntity

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A switch for each car that can discharge."""
    control = entry.runtime_data.control
    st = None if control is None else control.status()
    if st is not None:
        async_add_entities(HemsV2hSwitch(entry, car) for car in st.owner.v2h)


class HemsV2hSwitch(HemsCarEntity, SwitchEntity):
    """Whether the car may discharge into the house."""

    _attr_translation_key = "allow_v2h"
    _attr_entity_category = EntityCategory.CONFIG

    def __init__(self, entry: HemsConfigEntry, car: str) -> None:
        """Bind to a car."""
        super().__init__(entry, car, "allow_v2h")

    @property
    def is_on(self) -> bool | None:
        """The setting in force."""
        control = self._entry.runtime_data.control
        st = None if control is None else control.status()
        return None if st is None else st.owner.v2h.get(self._car)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Allow discharge."""
        self._set(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Charge only."""
        self._set(False)

    def _set(self, allowed: bool) -> None:
        control = self._entry.runtime_data.control
        assert control is not None
        rt = control.require_runtime()
        try:
            rt.core.allow_v2h(rt.now(), self._car, allowed)
        except ControlError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="control_refused",
                translation_placeholders={"error": str(err)},
            ) from err
        control.async_changed()
