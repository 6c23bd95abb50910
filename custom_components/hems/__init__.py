"""The HEMS integration: Home Assistant glue around ``hems_core`` (no energy logic here)."""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util
from homeassistant.util import slugify

from hems_core import __version__ as CORE_VERSION
from hems_core.config import SiteConfigError
from hems_core.devices.errors import DeviceError

from .card import async_setup_card
from .const import (
    CONF_FAST_LOOP_S,
    CONF_SITE_CONFIG,
    CONF_SITE_NAME,
    DEFAULT_FAST_LOOP_S,
    DOMAIN,
    PLATFORMS,
    STATUS_WAITING,
)
from .control import HemsControl, forecast_from, site_config
from .coordinator import HemsForecastCoordinator, HemsPriceCoordinator, HemsPvCoordinator
from .prices import PriceSettings
from .services import async_setup_services
from .site import CAR_SUBENTRIES, migrate_document
from .site import build as build_site

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


@dataclass
class HemsRuntimeData:
    """What a loaded entry keeps; grows as the runtime lands."""

    site_name: str
    core_version: str
    forecast: HemsForecastCoordinator
    pv: HemsPvCoordinator
    prices: HemsPriceCoordinator | None = None
    control: HemsControl | None = None
    #: The site's device in the registry: the cars' devices hang off it.
    site_device_id: str = ""

    @property
    def status(self) -> str:
        """The control loop's state word; waiting until a site document runs it."""
        if self.control is None:
            return STATUS_WAITING
        return self.control.state or STATUS_WAITING


type HemsConfigEntry = ConfigEntry[HemsRuntimeData]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions and the plan card once for all sites."""
    async_setup_services(hass)
    await async_setup_card(hass)
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
    control: HemsControl | None = None
    # The site document from the entry's subentries (and a hand-written site_config option).
    document = build_site(entry, str(hass.config.time_zone))
    legacy = CONF_SITE_CONFIG in entry.options
    if legacy or document.has_devices:
        try:
            cfg = site_config(document.document)
        except SiteConfigError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="bad_site_config",
                translation_placeholders={"error": str(err)},
            ) from err
    # Devices without a P1 source yet: checked above, but nothing to run until one is added.
    if legacy or document.runnable:
        interval = float(entry.options.get(CONF_FAST_LOOP_S, DEFAULT_FAST_LOOP_S))
        control = HemsControl(hass, entry.entry_id, cfg, interval, entry.title)
        try:
            await control.async_start()
        except SiteConfigError as err:  # a device type this runtime cannot build
            await control.async_stop()
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="bad_site_config",
                translation_placeholders={"error": str(err)},
            ) from err
        except (DeviceError, OSError) as err:
            await control.async_stop()
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="devices_unreachable",
                translation_placeholders={"error": str(err)},
            ) from err
        entry.async_on_unload(control.async_stop)
        control.async_check_prices(prices is not None)
        _feed_forecast(hass, control, forecast, pv, prices, entry)
    # The site device first: the cars' devices hang off it.
    site_device = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={(DOMAIN, entry.entry_id)},
        name=entry.title,
        manufacturer="HEMS",
        model="Energy management",
        sw_version=CORE_VERSION,
        entry_type=dr.DeviceEntryType.SERVICE,
    )
    entry.runtime_data = HemsRuntimeData(
        site_name=entry.data[CONF_SITE_NAME],
        core_version=CORE_VERSION,
        forecast=forecast,
        pv=pv,
        prices=prices,
        control=control,
        site_device_id=site_device.id,
    )
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    # HA <= 2026.10 rejects None here, so always return a bool.
    return True


def _feed_forecast(
    hass: HomeAssistant,
    control: HemsControl,
    load: HemsForecastCoordinator,
    pv: HemsPvCoordinator,
    prices: HemsPriceCoordinator | None,
    entry: HemsConfigEntry,
) -> None:
    """Hand the coordinators' prices and forecasts to the core whenever one of them updates."""

    @callback
    def update() -> None:
        data = None if prices is None else prices.data
        control.async_set_forecast(
            forecast_from(
                dt_util.utcnow(),
                None if data is None else (data.prices.start, data.prices.import_price),
                None if data is None else (data.prices.start, data.prices.export_price),
                load.data,
                pv.data,
            )
        )

    for coordinator in (load, pv, prices):
        if coordinator is not None:
            entry.async_on_unload(coordinator.async_add_listener(update))
    update()


async def _async_options_updated(hass: HomeAssistant, entry: HemsConfigEntry) -> None:
    """Reload so changed sources and tariffs take effect at once."""
    await hass.config_entries.async_reload(entry.entry_id)


async def async_migrate_entry(hass: HomeAssistant, entry: HemsConfigEntry) -> bool:
    """1.1 → 1.2: a ``site_config`` option's devices become subentries (site/control stay)."""
    if entry.version > 1:
        return False  # a newer release wrote this entry
    if entry.minor_version < 2:
        options = dict(entry.options)
        if isinstance(doc := options.get(CONF_SITE_CONFIG), dict):
            subentries, rest = migrate_document(doc)
            taken: set[str] = set()
            for kind, title, data in subentries:
                uid = slugify(title) if kind in CAR_SUBENTRIES else kind
                hass.config_entries.async_add_subentry(
                    entry,
                    ConfigSubentry(
                        data=MappingProxyType(data),
                        subentry_type=kind,
                        title=title,
                        # Two cars of one name (parse_config refuses that) must not stop this.
                        unique_id=None if uid in taken else uid,
                    ),
                )
                taken.add(uid)
            if rest:
                options[CONF_SITE_CONFIG] = rest
            else:
                del options[CONF_SITE_CONFIG]
        hass.config_entries.async_update_entry(entry, options=options, minor_version=2)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: HemsConfigEntry) -> bool:
    """Unload a HEMS site."""
    return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
