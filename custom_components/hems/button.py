"""Buttons: Boost and Cancel boost per car (what the phone presses)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from hems_core.control.runtime import Runtime
from hems_core.control.settings import ControlError

from . import HemsConfigEntry
from .const import DEFAULT_BOOST_HOURS, DOMAIN
from .entity import HemsCarEntity

PARALLEL_UPDATES = 1


def _boost(rt: Runtime, car: str) -> None:
    rt.core.start_boost(rt.now(), car, duration=timedelta(hours=DEFAULT_BOOST_HOURS))


def _cancel(rt: Runtime, car: str) -> None:
    rt.core.cancel_boost(rt.now(), car)


@dataclass(frozen=True, kw_only=True)
class HemsButtonDescription(ButtonEntityDescription):
    """A button and what it asks the core."""

    press_fn: Callable[[Runtime, str], None]


BUTTONS = (
    HemsButtonDescription(key="boost", translation_key="boost", press_fn=_boost),
    HemsButtonDescription(key="cancel_boost", translation_key="cancel_boost", press_fn=_cancel),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Two buttons per car of a running site."""
    control = entry.runtime_data.control
    if control is None:
        return
    async_add_entities(HemsButton(entry, car, d) for car in control.cars for d in BUTTONS)


class HemsButton(HemsCarEntity, ButtonEntity):
    """Press: the core starts or ends a boost; the next tick writes the setpoint."""

    entity_description: HemsButtonDescription

    def __init__(self, entry: HemsConfigEntry, car: str, desc: HemsButtonDescription) -> None:
        """Bind the description to a car."""
        super().__init__(entry, car, desc.key)
        self.entity_description = desc

    async def async_press(self) -> None:
        """Ask the core; a refusal (mode off, no such car) becomes a translated error."""
        control = self._entry.runtime_data.control
        assert control is not None
        try:
            self.entity_description.press_fn(control.require_runtime(), self._car)
        except ControlError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="control_refused",
                translation_placeholders={"error": str(err)},
            ) from err
