"""Config flow for HEMS: one site per entry."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.util import slugify

from .const import CONF_SITE_NAME, DEFAULT_SITE_NAME, DOMAIN
from .schema import vol


class HemsConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create a HEMS site; devices and tariffs are added in later steps as they land."""

    VERSION = 1
    MINOR_VERSION = 1

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
