"""Actions of the HEMS integration (registered once in ``async_setup``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.util import dt as dt_util

from .const import ATTR_CONFIG_ENTRY_ID, DOMAIN, SERVICE_GET_FORECAST, SERVICE_GET_PRICES
from .schema import vol

if TYPE_CHECKING:
    from . import HemsConfigEntry

GET_FORECAST_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): str})
GET_PRICES_SCHEMA = GET_FORECAST_SCHEMA


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


def async_setup_services(hass: HomeAssistant) -> None:
    """Register ``hems.get_forecast`` and ``hems.get_prices``."""

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
