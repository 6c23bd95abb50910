"""Sensors of the HEMS integration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity
from homeassistant.util import dt as dt_util

from hems_core.control.outlook import DEPARTURE_STATES, DayCost
from hems_core.forecast import QuantileForecast

from . import HemsConfigEntry
from .const import STATUS_OPTIONS
from .control import HemsControl
from .coordinator import HemsForecastCoordinator, HemsPriceCoordinator, HemsPvCoordinator
from .energy_dashboard import ENERGY_FEATURES
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
    if (control := runtime.control) is not None:
        car_sensors: tuple[HemsCarSensorDescription, ...] = CAR_SENSORS
        if "stat_rate" in ENERGY_FEATURES:
            car_sensors = (*car_sensors, DASHBOARD_POWER)
        entities += [HemsCarSensor(entry, car, d) for car in control.cars for d in car_sensors]
        site = control.config.site()
        tariffs = {
            "peak": site.peak_tariff is not None or site.top_peaks_tariff is not None,
            "average": (site.peak_tariff is not None and site.peak_tariff.floor_kw > 0)
            or site.top_peaks_tariff is not None,
        }
        entities += [
            HemsSiteSensor(entry, d) for d in SITE_SENSORS if d.needs is None or tariffs[d.needs]
        ]
    async_add_entities(entities)


@dataclass(frozen=True, kw_only=True)
class HemsCarSensorDescription(SensorEntityDescription):
    """A car value from the control loop."""

    value_fn: Callable[[HemsControl, str], StateType | datetime]
    attrs_fn: Callable[[HemsControl, str], dict[str, Any] | None] | None = None


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


def _planned(i: int) -> Callable[[HemsControl, str], float | None]:
    def value(control: HemsControl, car: str) -> float | None:
        return control.planned_power(car)[i]

    return value


def _departure(control: HemsControl, car: str) -> str | None:
    st = control.status()
    dep = None if st is None else st.departures.get(car)
    return None if dep is None else dep.state


def _departure_attrs(control: HemsControl, car: str) -> dict[str, Any] | None:
    st = control.status()
    dep = None if st is None else st.departures.get(car)
    if dep is None:
        return None
    return {"departure": dep.at.isoformat(), "target_soc": round(dep.target_soc * 100.0, 1)}


def _discharge_power(control: HemsControl, car: str) -> float | None:
    w = _power(control, car)
    return None if w is None else -w


#: The Energy dashboard's battery power (2025.12+): positive discharges, negative charges.
DASHBOARD_POWER = HemsCarSensorDescription(
    key="battery_power",
    translation_key="battery_power",
    device_class=SensorDeviceClass.POWER,
    state_class=SensorStateClass.MEASUREMENT,
    native_unit_of_measurement=UnitOfPower.WATT,
    suggested_display_precision=0,
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=_discharge_power,
)

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
    # A plan is no measurement: no state class, so no long-term statistics of intentions.
    HemsCarSensorDescription(
        key="planned_power_now",
        translation_key="planned_power_now",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=_planned(0),
    ),
    HemsCarSensorDescription(
        key="planned_power_next",
        translation_key="planned_power_next",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_display_precision=0,
        value_fn=_planned(1),
    ),
    HemsCarSensorDescription(
        key="departure_status",
        translation_key="departure_status",
        device_class=SensorDeviceClass.ENUM,
        options=list(DEPARTURE_STATES),
        value_fn=_departure,
        attrs_fn=_departure_attrs,
    ),
)


@dataclass(frozen=True, kw_only=True)
class HemsSiteSensorDescription(SensorEntityDescription):
    """A site value from the control loop; ``needs``: the tariff feature it only exists with."""

    value_fn: Callable[[HemsControl], StateType | datetime]
    attrs_fn: Callable[[HemsControl], dict[str, Any] | None] | None = None
    needs: str | None = None
    monetary: bool = False


def _next_action(control: HemsControl) -> datetime | None:
    act = control.outlook().get("next_action")
    return None if act is None else act.at


def _next_action_attrs(control: HemsControl) -> dict[str, Any] | None:
    act = control.outlook().get("next_action")
    if act is None:
        return None
    return {"device": act.device, "power_w": act.power_w, "reason": act.reason}


def _cost(key: str) -> Callable[[HemsControl], float | None]:
    def value(control: HemsControl) -> float | None:
        day: DayCost | None = control.outlook().get(key)
        return None if day is None else round(day.cost, 2)

    return value


def _cost_attrs(key: str) -> Callable[[HemsControl], dict[str, Any] | None]:
    def attrs(control: HemsControl) -> dict[str, Any] | None:
        day: DayCost | None = control.outlook().get(key)
        if day is None:
            return None
        return {"date": day.day.isoformat(), "hours": day.hours, "complete": day.complete}

    return attrs


def _savings(control: HemsControl) -> float | None:
    saved = control.outlook().get("savings")
    return None if saved is None else round(saved, 2)


def _status_value(fn: Callable[[Any], float | None]) -> Callable[[HemsControl], float | None]:
    def value(control: HemsControl) -> float | None:
        st = control.status()
        return None if st is None else fn(st)

    return value


SITE_SENSORS = (
    HemsSiteSensorDescription(
        key="next_action",
        translation_key="next_action",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_next_action,
        attrs_fn=_next_action_attrs,
    ),
    # The plan's grid energy cost: import kWh x import price - export kWh x export price per
    # quarter (capacity and wear not included); today = from now to midnight.
    HemsSiteSensorDescription(
        key="cost_today",
        translation_key="cost_today",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        value_fn=_cost("cost_today"),
        attrs_fn=_cost_attrs("cost_today"),
    ),
    HemsSiteSensorDescription(
        key="cost_tomorrow",
        translation_key="cost_tomorrow",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        value_fn=_cost("cost_tomorrow"),
        attrs_fn=_cost_attrs("cost_tomorrow"),
    ),
    # Over the plan's horizon: the same energy into each car at full power from plug-in, minus
    # the plan (hems_core.control.outlook.savings_vs_plug_in).
    HemsSiteSensorDescription(
        key="savings",
        translation_key="savings",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        monetary=True,
        value_fn=_savings,
    ),
    HemsSiteSensorDescription(
        key="month_peak",
        translation_key="month_peak",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        needs="peak",
        value_fn=_status_value(lambda st: round(st.month_peak_kw, 3)),
    ),
    HemsSiteSensorDescription(
        key="peak_budget",
        translation_key="peak_budget",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        needs="peak",
        value_fn=_status_value(lambda st: st.peak_budget_kw),
    ),
    HemsSiteSensorDescription(
        key="capacity_average",
        translation_key="capacity_average",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        needs="average",
        value_fn=_status_value(lambda st: st.capacity_average_kw),
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
    def native_value(self) -> StateType | datetime:
        """From the control loop's newest state."""
        control = self._entry.runtime_data.control
        return None if control is None else self.entity_description.value_fn(control, self._car)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Small context where the description has some (departure time and target)."""
        control = self._entry.runtime_data.control
        fn = self.entity_description.attrs_fn
        return None if control is None or fn is None else fn(control, self._car)


class HemsSiteSensor(HemsEntity, SensorEntity):
    """A site value of the control loop (plan read-outs, peaks), refreshed after every tick."""

    _attr_should_poll = False
    entity_description: HemsSiteSensorDescription

    def __init__(self, entry: HemsConfigEntry, desc: HemsSiteSensorDescription) -> None:
        """Bind the description to the site."""
        super().__init__(entry, desc.key)
        self.entity_description = desc

    async def async_added_to_hass(self) -> None:
        """Follow the control loop."""
        control = self._entry.runtime_data.control
        if control is not None:
            self.async_on_remove(control.async_add_listener(self.async_write_ha_state))

    @property
    def native_unit_of_measurement(self) -> str | None:
        """Money in the prices' currency (EUR without a price feed); else the description's."""
        if not self.entity_description.monetary:
            return self.entity_description.native_unit_of_measurement
        prices = self._entry.runtime_data.prices
        data = None if prices is None else prices.data
        return "EUR" if data is None else data.prices.currency

    @property
    def native_value(self) -> StateType | datetime:
        """From the control loop."""
        control = self._entry.runtime_data.control
        return None if control is None else self.entity_description.value_fn(control)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Context of the value (the reason of the next action, a day's covered hours)."""
        control = self._entry.runtime_data.control
        fn = self.entity_description.attrs_fn
        return None if control is None or fn is None else fn(control)


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
