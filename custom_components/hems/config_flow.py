"""Config flow for HEMS: one site per entry."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.helpers.selector import EntitySelector, EntitySelectorConfig
from homeassistant.util import slugify

from .const import CONF_LOAD_ENERGY_ENTITY, CONF_SITE_NAME, DEFAULT_SITE_NAME, DOMAIN
from .schema import vol


class HemsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create a HEMS site; devices and tariffs are added in later steps as they land."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> HemsOptionsFlow:
        """Options: where the household's history comes from."""
        return HemsOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the site's name; the slug keeps two sites apart."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input[CONF_SITE_NAME]).strip()
            if not any(char.isalnum() for char in name):
                errors[CONF_SITE_NAME] = "invalid_name"
            else:
                await self.async_set_unique_id(slugify(name))
                self._abort_if_unique_id_configured()
                return self.async_create_entry(title=name, data={CONF_SITE_NAME: name})
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema({vol.Required(CONF_SITE_NAME, default=DEFAULT_SITE_NAME): str}),
            errors=errors,
        )


class HemsOptionsFlow(OptionsFlow):
    """Choose the cumulative household energy sensor the load forecast learns from."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form; leaving the sensor empty uses the default profile."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        current = self.config_entry.options.get(CONF_LOAD_ENERGY_ENTITY)
        field = (
            vol.Optional(CONF_LOAD_ENERGY_ENTITY, description={"suggested_value": current})
            if current
            else vol.Optional(CONF_LOAD_ENERGY_ENTITY)
        )
        selector = EntitySelector(
            EntitySelectorConfig(domain="sensor", device_class=SensorDeviceClass.ENERGY)
        )
        return self.async_show_form(step_id="init", data_schema=vol.Schema({field: selector}))
