"""Repair flows: a missing or broken price feed is fixed by picking a price sensor here.

The form is the price part of the options (a sensor with today's/tomorrow's prices; the
tariff and fees stay as they are); the sensor's state is checked with the same parser the
coordinator uses before anything is saved. Saving updates the entry's options, which
reloads the site; the issue is gone once good prices arrive (the coordinator clears it).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant

try:  # newer HA: repairs flows have their own result type (with a next_flow field)
    from homeassistant.components.repairs import (  # type: ignore[attr-defined,unused-ignore]
        RepairsFlowResult as FlowResult,
    )
except ImportError:  # HA 2025.4
    from homeassistant.data_entry_flow import (  # type: ignore[assignment,unused-ignore]
        FlowResult,
    )
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.selector import EntitySelector, EntitySelectorConfig
from homeassistant.util import dt as dt_util

from hems_core.tariffs import PriceDataError

from .const import (
    CONF_PRICE_ENTITY,
    CONF_PRICE_SOURCE,
    CONF_TARIFF,
    DOMAIN,
    PRICE_SOURCE_ENTITY,
    TARIFF_ALL_IN,
)
from .prices import Payload, PriceSettings, build_prices
from .schema import vol


class PriceSourceRepairFlow(RepairsFlow):
    """Pick a price sensor for the site named in the issue's data."""

    def __init__(self, entry_id: str, issue_id: str) -> None:
        """The entry whose prices are missing or broken, and the issue that says why."""
        self._entry_id = entry_id
        self._issue_id = issue_id

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Straight to the sensor picker."""
        return await self.async_step_price_entity()

    async def async_step_price_entity(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask for a price sensor; refuse one whose prices do not parse (the reason shown)."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_gone")
        errors: dict[str, str] = {}
        issue = ir.async_get(self.hass).async_get_issue(DOMAIN, self._issue_id)
        placeholders = {"source": "", "reason": ""}
        placeholders.update((issue.translation_placeholders or {}) if issue else {})
        placeholders.update(site=entry.title, problem="")
        if user_input is not None:
            entity = str(user_input[CONF_PRICE_ENTITY])
            options = {
                **entry.options,
                CONF_PRICE_SOURCE: PRICE_SOURCE_ENTITY,
                CONF_PRICE_ENTITY: entity,
                CONF_TARIFF: entry.options.get(CONF_TARIFF, TARIFF_ALL_IN),
            }
            reason = await self._check(entity, options)
            if reason is None:
                self.hass.config_entries.async_update_entry(entry, options=options)
                return self.async_create_entry(data={})
            errors[CONF_PRICE_ENTITY] = "invalid_prices"
            placeholders["problem"] = reason
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_PRICE_ENTITY, default=entry.options.get(CONF_PRICE_ENTITY) or vol.UNDEFINED
                ): EntitySelector(EntitySelectorConfig(domain="sensor")),
            }
        )
        return self.async_show_form(
            step_id="price_entity",
            data_schema=schema,
            errors=errors,
            description_placeholders=placeholders,
        )

    async def _check(self, entity: str, options: dict[str, Any]) -> str | None:
        """None when the sensor's prices parse into a usable series, else why not."""
        state = self.hass.states.get(entity)
        if state is None or state.state == STATE_UNAVAILABLE:
            return f"{entity} is unavailable"
        settings = PriceSettings.from_options(options)
        assert settings is not None
        build = partial(
            build_prices,
            [Payload(state.as_dict())],
            settings,
            now=dt_util.utcnow(),
            tz=dt_util.get_default_time_zone(),
        )
        try:
            await self.hass.async_add_executor_job(build)
        except PriceDataError as err:
            return str(err)
        return None


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """The price issues carry the entry id; every fixable HEMS issue is a price issue."""
    entry_id = str((data or {}).get("entry_id", ""))
    return PriceSourceRepairFlow(entry_id, issue_id)
