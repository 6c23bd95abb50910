"""Time: a car's next departure (the site's wall time), set through the core as a one-off.

Setting 07:15 moves the car's next departure to the next 07:15 from now (today if still
ahead, else tomorrow) with that day's usual target; the weekly schedule stays as it is. The
one-off lives in the core's departure snapshot in ``.storage``, so it survives a restart.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from homeassistant.components.time import TimeEntity
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from hems_core.control.settings import ControlError

from . import HemsConfigEntry
from .const import DOMAIN
from .entity import HemsCarEntity

PARALLEL_UPDATES = 1


def next_at(now: datetime, at: time) -> datetime:
    """The first local ``at`` after ``now`` (aware, in ``now``'s zone)."""
    wall = at.replace(tzinfo=None)
    when = datetime.combine(now.date(), wall, now.tzinfo)
    if when > now:
        return when
    return datetime.combine(now.date() + timedelta(days=1), wall, now.tzinfo)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One departure time per car of a running site."""
    control = entry.runtime_data.control
    if control is not None:
        async_add_entities(HemsDepartureTime(entry, car) for car in control.cars)


class HemsDepartureTime(HemsCarEntity, TimeEntity):
    """When the car leaves next (unknown without a departure in the next two weeks)."""

    _attr_translation_key = "next_departure"

    def __init__(self, entry: HemsConfigEntry, car: str) -> None:
        """Bind to a car."""
        super().__init__(entry, car, "next_departure")

    @property
    def native_value(self) -> time | None:
        """The next departure's local wall time."""
        control = self._entry.runtime_data.control
        rt = None if control is None else control.runtime
        sched = None if rt is None else rt.core.departures.get(self._car)
        if rt is None or sched is None:
            return None
        dep = sched.next_departure(rt.now())
        zone = ZoneInfo(rt.core.tz)  # the site's zone, where its departures are written
        return None if dep is None else dep[0].astimezone(zone).time().replace(tzinfo=None)

    async def async_set_value(self, value: time) -> None:
        """Move the next departure to ``value`` (a one-off; the core re-plans)."""
        control = self._entry.runtime_data.control
        assert control is not None
        rt = control.require_runtime()
        when = next_at(rt.now().astimezone(ZoneInfo(rt.core.tz)), value)
        try:
            rt.core.set_departure(rt.now(), self._car, when)
        except ControlError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="control_refused",
                translation_placeholders={"error": str(err)},
            ) from err
        control.async_changed()
