"""Constants for the HEMS integration."""

from __future__ import annotations

from typing import Final

from homeassistant.const import Platform

DOMAIN: Final = "hems"
PLATFORMS: Final = [Platform.SENSOR]

CONF_LOAD_ENERGY_ENTITY: Final = "load_energy_entity"
FORECAST_HISTORY_DAYS: Final = 35
FORECAST_STEPS: Final = 192  # 48 h of quarter hours

SERVICE_GET_FORECAST: Final = "get_forecast"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"

CONF_SITE_NAME: Final = "site_name"
DEFAULT_SITE_NAME: Final = "Home"

# Planner states shown by the status sensor; translated in translations/*.json.
STATUS_WAITING: Final = "waiting_for_data"
STATUS_OPTIONS: Final = [STATUS_WAITING, "planning", "following_plan", "fail_safe", "off"]
