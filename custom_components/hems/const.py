"""Constants for the HEMS integration."""

from __future__ import annotations

from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "hems"
PLATFORMS: Final = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
    Platform.TIME,
]

CONF_LOAD_ENERGY_ENTITY: Final = "load_energy_entity"
FORECAST_HISTORY_DAYS: Final = 35
FORECAST_STEPS: Final = 192  # 48 h of quarter hours

SERVICE_GET_FORECAST: Final = "get_forecast"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"

CONF_SITE_NAME: Final = "site_name"
DEFAULT_SITE_NAME: Final = "Home"

# Planner states shown by the status sensor; translated in translations/*.json.
STATUS_WAITING: Final = "waiting_for_data"
STATUS_PLANNING: Final = "planning"
STATUS_FOLLOWING: Final = "following_plan"
STATUS_FALLBACK: Final = "fallback"
STATUS_BOOST: Final = "boost"
STATUS_FAIL_SAFE: Final = "fail_safe"
STATUS_ISLAND: Final = "island"
STATUS_OFF: Final = "off"
STATUS_OPTIONS: Final = [
    STATUS_WAITING,
    STATUS_PLANNING,
    STATUS_FOLLOWING,
    STATUS_FALLBACK,
    STATUS_BOOST,
    STATUS_FAIL_SAFE,
    STATUS_ISLAND,
    STATUS_OFF,
]

# -- control runtime ----------------------------------------------------------------------------
#: The site document of docs/configuration.md (cars, devices, control) in the entry's options.
CONF_SITE_CONFIG: Final = "site_config"
#: Seconds between fast-loop ticks (each reads the P1 meter and every device once).
CONF_FAST_LOOP_S: Final = "fast_loop_s"
DEFAULT_FAST_LOOP_S: Final = 2.0
#: Bus event for automations; ``type`` says which (plan_changed, boost_started, ...).
EVENT_HEMS: Final = "hems_event"
DEFAULT_BOOST_HOURS: Final = 4.0

# -- prices ---------------------------------------------------------------------------------------
SERVICE_GET_PRICES: Final = "get_prices"

CONF_PRICE_SOURCE: Final = "price_source"
CONF_PRICE_ENTITY: Final = "price_entity"
CONF_PRICE_CONFIG_ENTRY: Final = "price_config_entry"
CONF_PRICE_AREA: Final = "price_area"
CONF_TARIFF: Final = "tariff"
CONF_SUPPLIER_FEE: Final = "supplier_fee"
CONF_FEED_IN_FEE: Final = "feed_in_fee"
CONF_FEED_IN_COMPENSATION: Final = "feed_in_compensation"
CONF_GRID_FEE: Final = "grid_fee"
CONF_FEED_IN_TARIFF: Final = "feed_in_tariff"
CONF_FLUVIUS_AREA: Final = "fluvius_area"
"""Flanders: the Fluvius network area, which sets the network kWh charge and capacity tariff."""

PRICE_SOURCE_NONE: Final = "none"
PRICE_SOURCE_ENTITY: Final = "entity"
PRICE_SOURCE_NORDPOOL: Final = "nordpool"
PRICE_SOURCE_ENERGYZERO: Final = "energyzero"
PRICE_SOURCE_EASYENERGY: Final = "easyenergy"
PRICE_SOURCE_TIBBER: Final = "tibber"
PRICE_SOURCES: Final = [
    PRICE_SOURCE_NONE,
    PRICE_SOURCE_ENTITY,
    PRICE_SOURCE_NORDPOOL,
    PRICE_SOURCE_ENERGYZERO,
    PRICE_SOURCE_EASYENERGY,
    PRICE_SOURCE_TIBBER,
]
#: Action-based sources: (domain, action); each needs a config entry of that domain but Tibber.
PRICE_ACTIONS: Final = {
    PRICE_SOURCE_NORDPOOL: ("nordpool", "get_prices_for_date"),
    PRICE_SOURCE_ENERGYZERO: ("energyzero", "get_energy_prices"),
    PRICE_SOURCE_EASYENERGY: ("easyenergy", "get_energy_usage_prices"),
    PRICE_SOURCE_TIBBER: ("tibber", "get_prices"),
}

TARIFF_ALL_IN: Final = "all_in"
TARIFF_NL: Final = "nl_dynamic"
TARIFF_BE: Final = "be_flanders"
TARIFF_SE: Final = "se"
TARIFF_DE: Final = "de"
TARIFFS: Final = [TARIFF_NL, TARIFF_BE, TARIFF_SE, TARIFF_DE, TARIFF_ALL_IN]
#: The few numbers a user must give per template (currency/kWh, before VAT).
TARIFF_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    TARIFF_NL: (CONF_SUPPLIER_FEE, CONF_FEED_IN_FEE, CONF_FEED_IN_COMPENSATION),
    TARIFF_BE: (CONF_SUPPLIER_FEE, CONF_FEED_IN_FEE),
    TARIFF_SE: (CONF_SUPPLIER_FEE, CONF_GRID_FEE),
    TARIFF_DE: (CONF_SUPPLIER_FEE, CONF_GRID_FEE, CONF_FEED_IN_TARIFF),
    TARIFF_ALL_IN: (),
}
PRICE_HORIZON_HOURS: Final = 48
PRICE_HISTORY_DAYS: Final = 7
#: The recorder drops state attributes above 16 KiB; stay clearly below.
ATTRIBUTE_LIMIT_BYTES: Final = 14 * 1024

# -- PV forecast ---------------------------------------------------------------------------------
CONF_PV_SOLCAST_ENTITIES: Final = "pv_solcast_entities"
CONF_PV_FORECAST_SOLAR_ENTRIES: Final = "pv_forecast_solar_entries"
CONF_PV_ENERGY_ENTITY: Final = "pv_energy_entity"
PV_LEARN_DAYS: Final = 30
CONF_PV_KWP: Final = "pv_kwp"
CONF_PV_TILT: Final = "pv_tilt"
CONF_PV_AZIMUTH: Final = "pv_azimuth"
FORECAST_SOLAR_DOMAIN: Final = "forecast_solar"
SOLCAST_DOMAIN: Final = "solcast_solar"
