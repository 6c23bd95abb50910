"""Select: the site's mode (auto, charge only, solar only, off), decided on by the core."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from hems_core.control.types import Mode

from . import HemsConfigEntry
from .entity import HemsEntity

PARALLEL_UPDATES = 1


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """The mode of a running site."""
    if entry.runtime_data.control is not None:
        async_add_entities([HemsModeSelect(entry)])


class HemsModeSelect(HemsEntity, SelectEntity):
    """What the HEMS may do; "off" hands every device back to its own control."""

    _attr_translation_key = "mode"
    _attr_should_poll = False

    def __init__(self, entry: HemsConfigEntry) -> None:
        """One per site."""
        super().__init__(entry, "mode")
        self._attr_options = [m.value for m in Mode]

    async def async_added_to_hass(self) -> None:
        """Follow the control loop (an action may change the mode too)."""
        control = self._entry.runtime_data.control
        if control is not None:
            self.async_on_remove(control.async_add_listener(self.async_write_ha_state))

    @property
    def current_option(self) -> str | None:
        """The core's mode."""
        control = self._entry.runtime_data.control
        st = None if control is None else control.status()
        return None if st is None else st.mode.value

    async def async_select_option(self, option: str) -> None:
        """Ask the core; the next tick applies it."""
        control = self._entry.runtime_data.control
        assert control is not None
        rt = control.require_runtime()
        rt.core.set_mode(rt.now(), option)
        self.async_write_ha_state()
