"""Actions of the HEMS integration (registered once in ``async_setup``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util

from hems_core.control.runtime import Runtime
from hems_core.control.settings import ControlError
from hems_core.control.types import Mode

from .const import ATTR_CONFIG_ENTRY_ID, DOMAIN, SERVICE_GET_FORECAST, SERVICE_GET_PRICES
from .schema import vol

if TYPE_CHECKING:
    from . import HemsConfigEntry

GET_FORECAST_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): str})
GET_PRICES_SCHEMA = GET_FORECAST_SCHEMA
ATTR_CAR = "car"
ATTR_DURATION = "duration"
ATTR_TARGET_SOC = "target_soc"
ATTR_UNTIL_DEPARTURE = "until_departure"
ATTR_DEPARTURE = "departure"
ATTR_MODE = "mode"
_ENTRY = vol.Required(ATTR_CONFIG_ENTRY_ID)
_SOC = vol.All(vol.Coerce(float), vol.Range(min=1, max=100))
START_BOOST_SCHEMA = vol.Schema(
    {
        _ENTRY: str,
        vol.Required(ATTR_CAR): str,
        vol.Optional(ATTR_DURATION): cv.positive_time_period,
        vol.Optional(ATTR_TARGET_SOC): _SOC,
        vol.Optional(ATTR_UNTIL_DEPARTURE, default=False): bool,
    }
)
CAR_SCHEMA = vol.Schema({_ENTRY: str, vol.Required(ATTR_CAR): str})
SET_DEPARTURE_SCHEMA = vol.Schema(
    {
        _ENTRY: str,
        vol.Required(ATTR_CAR): str,
        vol.Optional(ATTR_DEPARTURE): cv.datetime,
        vol.Optional(ATTR_TARGET_SOC): _SOC,
    }
)
SET_MODE_SCHEMA = vol.Schema(
    {_ENTRY: str, vol.Required(ATTR_MODE): vol.In([m.value for m in Mode])}
)


def _loaded_entry(hass: HomeAssistant, entry_id: str) -> HemsConfigEntry:
    entry = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_found",
            translation_placeholders={"entry_id": entry_id},
        )
    if entry.state is not ConfigEntryState.LOADED:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="entry_not_loaded",
            translation_placeholders={"title": entry.title},
        )
    hems_entry: HemsConfigEntry = entry
    return hems_entry


def _runtime(hass: HomeAssistant, call: ServiceCall) -> Runtime:
    entry = _loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
    control = entry.runtime_data.control
    if control is None or control.runtime is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_control",
            translation_placeholders={"title": entry.title},
        )
    return control.runtime


def _refused(err: ControlError) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="control_refused",
        translation_placeholders={"error": str(err)},
    )


def _soc(call: ServiceCall) -> float | None:
    pct = call.data.get(ATTR_TARGET_SOC)
    return None if pct is None else float(pct) / 100.0


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=dt_util.get_default_time_zone())


def _outlook(entry: HemsConfigEntry, st: Any) -> dict[str, Any]:
    """What the site's sensors show, in one reply: next action, day costs, savings, departures."""
    control = entry.runtime_data.control
    data = {} if control is None else control.outlook()
    act = data.get("next_action")
    days = {}
    for key in ("cost_today", "cost_tomorrow"):
        day = data.get(key)
        days[key] = None if day is None else {
            "date": day.day.isoformat(), "cost": day.cost, "hours": day.hours,
            "complete": day.complete,
        }  # fmt: skip
    return {
        "next_action": None
        if act is None
        else {
            "at": act.at.isoformat(),
            "device": act.device,
            "power_w": act.power_w,
            "reason": act.reason,
        },
        **days,
        "savings": data.get("savings"),
        "departures": {
            car: {
                "at": d.at.isoformat(),
                "target_soc": d.target_soc,
                "state": d.state,
                "expected_soc": d.expected_soc,
            }
            for car, d in st.departures.items()
        },
    }


def _control_actions(hass: HomeAssistant) -> None:
    """Boost, departure, mode and plan: each hands the request to the core, which decides."""

    async def start_boost(call: ServiceCall) -> None:
        rt = _runtime(hass, call)
        duration: timedelta | None = call.data.get(ATTR_DURATION)
        try:
            rt.core.start_boost(
                rt.now(),
                call.data[ATTR_CAR],
                duration=duration,
                target_soc=_soc(call),
                until_departure=call.data[ATTR_UNTIL_DEPARTURE],
            )
        except ControlError as err:
            raise _refused(err) from err

    async def cancel_boost(call: ServiceCall) -> None:
        rt = _runtime(hass, call)
        car = call.data[ATTR_CAR]
        if car not in rt.core.storages:
            raise _refused(ControlError(f"no car named {car!r}"))
        rt.core.cancel_boost(rt.now(), car)

    async def set_departure(call: ServiceCall) -> None:
        rt = _runtime(hass, call)
        when: datetime | None = call.data.get(ATTR_DEPARTURE)
        try:
            rt.core.set_departure(
                rt.now(), call.data[ATTR_CAR], None if when is None else _aware(when), _soc(call)
            )
        except ControlError as err:
            raise _refused(err) from err

    async def set_mode(call: ServiceCall) -> None:
        rt = _runtime(hass, call)
        rt.core.set_mode(rt.now(), call.data[ATTR_MODE])

    async def get_plan(call: ServiceCall) -> ServiceResponse:
        """The plan in force: per-quarter setpoints with reasons and the cost split."""
        rt = _runtime(hass, call)
        active = rt.core.plan
        st = rt.core.status(rt.now())
        out: dict[str, Any] = {
            "mode": st.mode.value,
            "source": st.plan_source,
            "seq": st.plan_seq,
            "plan": None if active is None else active.plan.to_dict(),
            "outlook": _outlook(_loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID]), st),
        }
        return out

    for name, handler, schema in (
        ("start_boost", start_boost, START_BOOST_SCHEMA),
        ("cancel_boost", cancel_boost, CAR_SCHEMA),
        ("set_departure", set_departure, SET_DEPARTURE_SCHEMA),
        ("set_mode", set_mode, SET_MODE_SCHEMA),
    ):
        hass.services.async_register(DOMAIN, name, handler, schema=schema)
    hass.services.async_register(
        DOMAIN,
        "get_plan",
        get_plan,
        schema=GET_FORECAST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )


def async_setup_services(hass: HomeAssistant) -> None:
    """Register every ``hems.*`` action."""
    _control_actions(hass)

    async def get_forecast(call: ServiceCall) -> ServiceResponse:
        """Return the site's load and PV forecasts (kW per quarter hour, P10/P50/P90)."""
        entry = _loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        runtime = entry.runtime_data
        return {
            "load": runtime.forecast.data.as_dict(decimals=3),
            "pv": runtime.pv.data.as_dict(decimals=3),
        }

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        """Return the site's normalised 15-minute price series from the current quarter on."""
        entry = _loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        coordinator = entry.runtime_data.prices
        if coordinator is None:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="prices_not_configured",
                translation_placeholders={"title": entry.title},
            )
        data = coordinator.data
        if data is None or not coordinator.last_update_success:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="prices_unavailable",
                translation_placeholders={"title": entry.title},
            )
        return data.as_dict(dt_util.utcnow())

    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_FORECAST,
        get_forecast,
        schema=GET_FORECAST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_PRICES,
        get_prices,
        schema=GET_PRICES_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
