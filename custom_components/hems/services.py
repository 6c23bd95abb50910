"""Actions of the HEMS integration (registered once in ``async_setup``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import ServiceValidationError

from .const import ATTR_CONFIG_ENTRY_ID, DOMAIN, SERVICE_GET_FORECAST
from .schema import vol

if TYPE_CHECKING:
    from . import HemsConfigEntry

GET_FORECAST_SCHEMA = vol.Schema({vol.Required(ATTR_CONFIG_ENTRY_ID): str})


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
    """Register ``hems.get_forecast``."""

    async def get_forecast(call: ServiceCall) -> ServiceResponse:
        """Return the site's household load forecast (kW per quarter hour, P10/P50/P90)."""
        entry = _loaded_entry(hass, call.data[ATTR_CONFIG_ENTRY_ID])
        forecast = entry.runtime_data.forecast.data
        return {"load": forecast.as_dict(decimals=3)}

    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_FORECAST,
        get_forecast,
        schema=GET_FORECAST_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
