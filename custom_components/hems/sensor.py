"""Sensors of the HEMS integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from hems_core.forecast import QuantileForecast

from . import HemsConfigEntry
from .const import STATUS_OPTIONS
from .control import HemsControl
from .coordinator import HemsForecastCoordinator, HemsPriceCoordinator, HemsPvCoordinator
from .entity import HemsCarEntity, HemsEntity

STEPS_PER_DAY = 96
HOURS_PER_STEP = 0.25
PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HemsConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's sensors."""
    runtime = entry.runtime_data
    entities: list[Entity] = [
        HemsStatusSensor(entry),
        HemsForecastSensor(entry, runtime.forecast, "load_forecast"),
        HemsForecastSensor(entry, runtime.pv, "pv_forecast"),
    ]
    if runtime.prices is not None:
        entities += [
            HemsPriceSensor(entry, runtime.prices, "import"),
            HemsPriceSensor(entry, runtime.prices, "export"),
        ]
    if runtime.control is not None:
        entities += [
            HemsCarSensor(entry, car, d) for car in runtime.control.cars for d in CAR_SENSORS
        ]
    async_add_entities(entities)


@dataclass(frozen=True, kw_only=True)
class HemsCarSensorDescription(SensorEntityDescription):
    """A car value from the control loop."""

    value_fn: Callable[[HemsControl, str], float | None]


def _power(control: HemsControl, car: str) -> float | None:
    obs = control.device(car)
    return None if obs is None or not obs.online else obs.power_w


def _soc(control: HemsControl, car: str) -> float | None:
    st = control.status()
    soc = None if st is None else st.socs.get(car)
    return None if soc is None else round(soc * 100.0, 1)


def _energy(direction: str) -> Callable[[HemsControl, str], float | None]:
    def value(control: HemsControl, car: str) -> float | None:
        st = control.status()
        if st is None:
            return None
        counters = st.energy_in_kwh if direction == "in" else st.energy_out_kwh
        kwh = counters.get(car)
        return None if kwh is None else round(kwh, 3)

    return value


CAR_SENSORS = (
    HemsCarSensorDescription(
        key="power",
        translation_key="car_power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=_power,
    ),
    HemsCarSensorDescription(
        key="soc",
        translation_key="car_soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        value_fn=_soc,
    ),
    # The core's counters are kept across restarts (snapshot in .storage) and never decrease:
    # the Energy dashboard's battery "energy going in / out".
    HemsCarSensorDescription(
        key="energy_charged",
        translation_key="energy_charged",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_energy("in"),
    ),
    HemsCarSensorDescription(
        key="energy_discharged",
        translation_key="energy_discharged",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_energy("out"),
    ),
)


class HemsCarSensor(HemsCarEntity, SensorEntity):
    """A car's power, SoC or energy counter."""

    entity_description: HemsCarSensorDescription

    def __init__(self, entry: HemsConfigEntry, car: str, desc: HemsCarSensorDescription) -> None:
        """Bind the description to a car."""
        super().__init__(entry, car, desc.key)
        self.entity_description = desc

    @property
    def native_value(self) -> float | None:
        """From the control loop's newest state."""
        control = self._entry.runtime_data.control
        return None if control is None else self.entity_description.value_fn(control, self._car)


class HemsStatusSensor(HemsEntity, SensorEntity):
    """What the planner is doing: the first thing a user looks at."""

    _attr_translation_key = "status"
    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = STATUS_OPTIONS

    def __init__(self, entry: HemsConfigEntry) -> None:
        """Create the status sensor for a site."""
        super().__init__(entry, "status")

    async def async_added_to_hass(self) -> None:
        """Follow the control loop: the state changes with every tick that changes it."""
        control = self._entry.runtime_data.control
        if control is not None:
            self.async_on_remove(control.async_add_listener(self.async_write_ha_state))

    @property
    def native_value(self) -> str:
        """The planner state held in the entry's runtime data."""
        return self._entry.runtime_data.status


class HemsForecastSensor(
    HemsEntity, CoordinatorEntity[HemsForecastCoordinator | HemsPvCoordinator], SensorEntity
):
    """Expected energy over the next 24 h (load or PV); the full forecast in attributes.

    No state class: a forecast must not feed long-term statistics or the Energy dashboard.
    """

    _attr_device_class = SensorDeviceClass.ENERGY
    _attr_native_unit_of_measurement = UnitOfEnergy.KILO_WATT_HOUR
    _attr_suggested_display_precision = 1
    # The series stay on the state for templates, out of the recorder (hems.get_forecast has them).
    _unrecorded_attributes = frozenset({"p10", "p50", "p90", "sources", "notes"})

    def __init__(
        self,
        entry: HemsConfigEntry,
        coordinator: HemsForecastCoordinator | HemsPvCoordinator,
        key: str,
    ) -> None:
        """Create a forecast sensor for a site (``key``: ``load_forecast`` or ``pv_forecast``)."""
        HemsEntity.__init__(self, entry, key)
        CoordinatorEntity.__init__(self, coordinator)
        self._attr_translation_key = key

    @property
    def _forecast(self) -> QuantileForecast:
        data: QuantileForecast = self.coordinator.data
        return data

    @property
    def native_value(self) -> float:
        """P50 energy of the next 24 hours (kWh)."""
        p50 = self._forecast.p50[:STEPS_PER_DAY]
        return round(float(p50.sum()) * HOURS_PER_STEP, 3)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The forecast per quarter hour, shrunk to fit the recorder's attribute limit."""
        return self._forecast.as_attributes()


class HemsPriceSensor(HemsEntity, CoordinatorEntity[HemsPriceCoordinator], SensorEntity):
    """All-in price of the current quarter (import or export); the 15-minute series in attributes.

    ``measurement`` and no device class, as the Energy dashboard expects of price sensors.
    """

    _attr_state_class = SensorStateClass.MEASUREMENT
    # 192 prices and flags per state would bloat the recorder; hems.get_prices serves them.
    _unrecorded_attributes = frozenset({"prices", "known"})
    _attr_suggested_display_precision = 4

    def __init__(
        self, entry: HemsConfigEntry, coordinator: HemsPriceCoordinator, side: str
    ) -> None:
        """Create the ``import`` or ``export`` price sensor of a site."""
        HemsEntity.__init__(self, entry, f"{side}_price")
        CoordinatorEntity.__init__(self, coordinator)
        self._side = side
        self._attr_translation_key = f"{side}_price"

    @property
    def available(self) -> bool:
        """Unavailable until the first good prices, and after the last good ones ran out."""
        return super().available and self.coordinator.data is not None

    @property
    def native_unit_of_measurement(self) -> str:
        """Currency per kWh (EUR for most sources, SEK for a Swedish Nord Pool entry)."""
        data = self.coordinator.data
        currency = "EUR" if data is None else data.prices.currency
        return f"{currency}/kWh"

    @property
    def native_value(self) -> float | None:
        """The price of the quarter containing now; unknown outside the series."""
        current = self.coordinator.data.current(dt_util.utcnow())
        if current is None:
            return None
        return round(current[0] if self._side == "import" else current[1], 5)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """From the current quarter on: prices, known flags (False = forecast tail), source."""
        return self.coordinator.data.attributes(self._side, dt_util.utcnow())
