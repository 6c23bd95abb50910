"""The HEMS integration: Home Assistant glue around ``hems_core`` (no energy logic here)."""

from __future__ import annotations

from dataclasses import dataclass

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from hems_core import __version__ as CORE_VERSION

from .const import CONF_SITE_NAME, DOMAIN, PLATFORMS, STATUS_WAITING
from .coordinator import HemsForecastCoordinator, HemsPriceCoordinator, HemsPvCoordinator
from .prices import PriceSettings
from .services import async_setup_services

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass
class HemsRuntimeData:
    """What a loaded entry keeps; grows as the runtime lands."""

    site_name: str
    core_version: str
    forecast: HemsForecastCoordinator
    pv: HemsPvCoordinator
    prices: HemsPriceCoordinator | None = None
    status: str = STATUS_WAITING


type HemsConfigEntry = ConfigEntry[HemsRuntimeData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions once for all sites."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: HemsConfigEntry) -> bool:
    """Set up one HEMS site from a config entry."""
    forecast = HemsForecastCoordinator(hass, entry)
    await forecast.async_config_entry_first_refresh()
    pv = HemsPvCoordinator(hass, entry)
    await pv.async_config_entry_first_refresh()
    entry.async_on_unload(pv.async_start())
    prices: HemsPriceCoordinator | None = None
    if (settings := PriceSettings.from_options(entry.options)) is not None:
        prices = HemsPriceCoordinator(hass, entry, settings)
        # Not first_refresh: a broken price feed must not keep the rest of the site down.
        await prices.async_refresh()
        entry.async_on_unload(prices.async_start())
    entry.runtime_data = HemsRuntimeData(
        site_name=entry.data[CONF_SITE_NAME],
        core_version=CORE_VERSION,
        forecast=forecast,
        pv=pv,
        prices=prices,
    )
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # HA <= 2026.10 rejects None here, so always return a bool.
    return True


async def _async_options_updated(hass: HomeAssistant, entry: HemsConfigEntry) -> None:
    """Reload so changed sources and tariffs take effect at once."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: HemsConfigEntry) -> bool:
    """Unload a HEMS site."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
