"""Options flow: sources, price source and tariff steps, with every error and recovery path."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.hems.const import (
    CONF_FEED_IN_COMPENSATION,
    CONF_FEED_IN_FEE,
    CONF_FEED_IN_TARIFF,
    CONF_FLUVIUS_AREA,
    CONF_GRID_FEE,
    CONF_LOAD_ENERGY_ENTITY,
    CONF_PRICE_AREA,
    CONF_PRICE_CONFIG_ENTRY,
    CONF_PRICE_ENTITY,
    CONF_PRICE_SOURCE,
    CONF_PV_AZIMUTH,
    CONF_PV_ENERGY_ENTITY,
    CONF_PV_FORECAST_SOLAR_ENTRIES,
    CONF_PV_KWP,
    CONF_PV_SOLCAST_ENTITIES,
    CONF_PV_TILT,
    CONF_SITE_NAME,
    CONF_SUPPLIER_FEE,
    CONF_TARIFF,
    DOMAIN,
)
from custom_components.hems.schema import vol

SAMPLES = Path(__file__).resolve().parents[1] / "core" / "tariffs" / "samples"


async def _loaded(hass: HomeAssistant, **options: Any) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"}, options=options, unique_id="h"
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def _keys(result: Any) -> list[str]:
    return [str(k) for k in result["data_schema"].schema]


def _suggestion(result: Any, key: str) -> Any:
    for k in result["data_schema"].schema:
        if str(k) == key:
            return (k.description or {}).get("suggested_value")
    raise KeyError(key)


def _register_action(hass: HomeAssistant, domain: str, action: str) -> None:
    async def handler(call: ServiceCall) -> ServiceResponse:
        return {}

    hass.services.async_register(domain, action, handler, supports_response=SupportsResponse.ONLY)


async def test_sources_with_pv_and_forecast_solar_planes(hass: HomeAssistant) -> None:
    plane = MockConfigEntry(domain="forecast_solar", title="South roof")
    plane.add_to_hass(hass)
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "init"
    assert CONF_PV_FORECAST_SOLAR_ENTRIES in _keys(result)
    user_input = {
        CONF_PRICE_SOURCE: "none",
        CONF_PV_SOLCAST_ENTITIES: ["sensor.solcast_pv_forecast_forecast_today"],
        CONF_PV_FORECAST_SOLAR_ENTRIES: [plane.entry_id],
        CONF_PV_ENERGY_ENTITY: "sensor.pv_energy",
        CONF_PV_KWP: 6.2,
        CONF_PV_TILT: 30,
        CONF_PV_AZIMUTH: 200,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the options update reloads the site
    assert entry.options == user_input
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.pv.forecast_solar_entries == [plane.entry_id]

    # Reopened, the form suggests the current choices.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert _suggestion(result, CONF_PV_KWP) == 6.2
    assert _suggestion(result, CONF_PV_FORECAST_SOLAR_ENTRIES) == [plane.entry_id]
    assert _suggestion(result, CONF_LOAD_ENERGY_ENTITY) is None


async def test_no_forecast_solar_field_without_planes(hass: HomeAssistant) -> None:
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert CONF_PV_FORECAST_SOLAR_ENTRIES not in _keys(result)


async def test_price_entity_checked_then_all_in_saved(hass: HomeAssistant) -> None:
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "entity"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "prices"
    assert _keys(result) == [CONF_PRICE_ENTITY, CONF_TARIFF]

    # An entity that does not exist.
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_ENTITY: "sensor.nope", CONF_TARIFF: "all_in"}
    )
    assert result["errors"] == {CONF_PRICE_ENTITY: "entity_not_found"}

    # An entity whose attributes are not prices: the library's reason is shown.
    hass.states.async_set("sensor.temperature", "21", {"unit_of_measurement": "°C"})
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_ENTITY: "sensor.temperature", CONF_TARIFF: "all_in"}
    )
    assert result["errors"] == {"base": "invalid_prices"}
    assert "unrecognised price payload" in result["description_placeholders"]["reason"]
    # The refused choice stays in the form to be corrected, not wiped.
    assert _suggestion(result, CONF_PRICE_ENTITY) == "sensor.temperature"
    assert result["data_schema"]({CONF_PRICE_ENTITY: "sensor.x"})[CONF_TARIFF] == "all_in"

    # An all-in Frank Energie sensor under a template that adds VAT and tax: refused, with why.
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    frank = json.loads((SAMPLES / "frank_energie_NL_2026-03-29.json").read_text())
    hass.states.async_set(frank["entity_id"], frank["state"], frank["attributes"])
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_ENTITY: frank["entity_id"], CONF_TARIFF: "nl_dynamic"}
    )
    assert result["errors"] == {"base": "invalid_prices"}
    assert "would add them again" in result["description_placeholders"]["reason"]
    # The same under the Flemish template: still the double-tax reason, not a missing area
    # (the area is asked on the next step).
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_ENTITY: frank["entity_id"], CONF_TARIFF: "be_flanders"}
    )
    assert result["errors"] == {"base": "invalid_prices"}
    assert "would add them again" in result["description_placeholders"]["reason"]

    # A real ENTSO-E sensor, read in the site's zone: accepted; all-in needs no parameters.
    sample = json.loads((SAMPLES / "entsoe_custom_NL_2026-10-25.json").read_text())
    hass.states.async_set(sample["entity_id"], sample["state"], sample["attributes"])
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_ENTITY: sample["entity_id"], CONF_TARIFF: "all_in"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the options update reloads the site
    assert result["data"] == {
        CONF_PRICE_SOURCE: "entity",
        CONF_PRICE_ENTITY: sample["entity_id"],
        CONF_TARIFF: "all_in",
        CONF_PV_TILT: 35,
        CONF_PV_AZIMUTH: 180,
    }


async def test_flat_today_tomorrow_sensor_with_ha_timestamps_is_accepted(
    hass: HomeAssistant,
) -> None:
    """A Nord Pool custom sensor with plain today/tomorrow lists: its day comes from
    last_updated, which Home Assistant stamps with microseconds."""
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    entry = await _loaded(hass)
    attrs = {"today": [0.1] * 24, "tomorrow": [0.2] * 24, "currency": "EUR", "unit": "kWh"}
    hass.states.async_set(
        "sensor.nordpool_kwh_nl_eur", "0.1", attrs, timestamp=int(time.time()) + 0.123456
    )
    state = hass.states.get("sensor.nordpool_kwh_nl_eur")
    assert state is not None and state.last_updated.microsecond == 123456
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "entity"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_ENTITY: "sensor.nordpool_kwh_nl_eur", CONF_TARIFF: "all_in"}
    )
    assert result.get("errors") in (None, {}), result.get("description_placeholders")
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_PRICE_ENTITY] == "sensor.nordpool_kwh_nl_eur"


async def test_nordpool_action_missing_then_nl_tariff(hass: HomeAssistant) -> None:
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "nordpool"}
    )
    assert _keys(result) == [CONF_PRICE_CONFIG_ENTRY, CONF_PRICE_AREA, CONF_TARIFF]
    prices = {CONF_PRICE_CONFIG_ENTRY: "np", CONF_PRICE_AREA: "NL", CONF_TARIFF: "nl_dynamic"}
    result = await hass.config_entries.options.async_configure(result["flow_id"], prices)
    assert result["errors"] == {"base": "action_missing"}
    assert result["description_placeholders"]["action"] == "nordpool.get_prices_for_date"

    _register_action(hass, "nordpool", "get_prices_for_date")
    result = await hass.config_entries.options.async_configure(result["flow_id"], prices)
    assert result["step_id"] == "tariff"
    assert _keys(result) == [CONF_SUPPLIER_FEE, CONF_FEED_IN_FEE, CONF_FEED_IN_COMPENSATION]
    # The template's readable name (the tariff selector's), not its key; sourced defaults
    # with their unit, not zeros.
    assert result["description_placeholders"]["tariff"] == "Netherlands: dynamic contract"
    defaults = result["data_schema"]({})
    assert defaults[CONF_SUPPLIER_FEE] == 0.0248 and defaults[CONF_FEED_IN_FEE] == 0.0248
    for key in result["data_schema"].schema.values():
        assert key.config["unit_of_measurement"] == "EUR/kWh"
    fees = {CONF_SUPPLIER_FEE: 0.0218, CONF_FEED_IN_FEE: 0.0115, CONF_FEED_IN_COMPENSATION: 0.01}
    result = await hass.config_entries.options.async_configure(result["flow_id"], fees)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the options update reloads the site
    assert entry.options[CONF_SUPPLIER_FEE] == 0.0218
    assert entry.options[CONF_PRICE_AREA] == "NL"
    assert entry.runtime_data.prices is not None
    assert entry.runtime_data.prices.settings.tariff == "nl_dynamic"

    # Reopened: the same source and tariff are the defaults, the fees the current values.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "nordpool"}
    )
    assert _suggestion(result, CONF_PRICE_CONFIG_ENTRY) == "np"
    result = await hass.config_entries.options.async_configure(result["flow_id"], prices)
    schema = result["data_schema"]({})
    assert schema[CONF_SUPPLIER_FEE] == 0.0218


async def test_tibber_asks_for_a_home_and_german_tariff(hass: HomeAssistant) -> None:
    _register_action(hass, "tibber", "get_prices")
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "tibber"}
    )
    assert _keys(result) == [CONF_PRICE_AREA, CONF_TARIFF]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TARIFF: "de"}
    )
    assert _keys(result) == [CONF_SUPPLIER_FEE, CONF_GRID_FEE, CONF_FEED_IN_TARIFF]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_SUPPLIER_FEE: 0.02, CONF_GRID_FEE: 0.09, CONF_FEED_IN_TARIFF: 0.08}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the options update reloads the site
    assert result["data"][CONF_TARIFF] == "de"


async def test_energyzero_asks_for_its_entry(hass: HomeAssistant) -> None:
    _register_action(hass, "energyzero", "get_energy_prices")
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "energyzero"}
    )
    assert _keys(result) == [CONF_PRICE_CONFIG_ENTRY, CONF_TARIFF]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_CONFIG_ENTRY: "ez", CONF_TARIFF: "be_flanders"}
    )
    # Flanders: the Fluvius area first, offered from the data file's eight areas.
    assert _keys(result) == [CONF_FLUVIUS_AREA, CONF_SUPPLIER_FEE, CONF_FEED_IN_FEE]
    area_field = result["data_schema"].schema[CONF_FLUVIUS_AREA]
    assert area_field.config["options"] == [
        "antwerpen", "halle_vilvoorde", "imewo", "kempen",
        "limburg", "midden_vlaanderen", "west", "zenne_dijle",
    ]  # fmt: skip
    assert area_field.config["translation_key"] == CONF_FLUVIUS_AREA
    fees = {CONF_SUPPLIER_FEE: 0.015, CONF_FEED_IN_FEE: 0.012}
    # An area whose kWh network charge the data file lacks: refused on the field, choice kept.
    for unpriced in ("limburg", "west", "zenne_dijle"):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {CONF_FLUVIUS_AREA: unpriced, **fees}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {CONF_FLUVIUS_AREA: "area_unpriced"}
        assert unpriced in result["description_placeholders"]["reason"]
        assert result["data_schema"]({})[CONF_FLUVIUS_AREA] == unpriced
        assert result["data_schema"]({})[CONF_SUPPLIER_FEE] == 0.015
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_FLUVIUS_AREA: "antwerpen", **fees}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # the options update reloads the site
    assert result["data"][CONF_FLUVIUS_AREA] == "antwerpen"
    assert entry.options[CONF_FLUVIUS_AREA] == "antwerpen"
    # Opened again: the stored area is the default.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "energyzero"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_CONFIG_ENTRY: "ez", CONF_TARIFF: "be_flanders"}
    )
    assert result["data_schema"]({})[CONF_FLUVIUS_AREA] == "antwerpen"


async def test_tibber_defaults_to_all_in_and_an_entry_is_asked_for_not_required(
    hass: HomeAssistant,
) -> None:
    """Tibber prices are all-in; the entry field is optional in the schema (2025.4's frontend
    draws nothing for a required config_entry selector) and checked instead."""
    _register_action(hass, "tibber", "get_prices")
    _register_action(hass, "energyzero", "get_energy_prices")
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "tibber"}
    )
    assert result["data_schema"]({})[CONF_TARIFF] == "all_in"
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "energyzero"}
    )
    field = next(k for k in result["data_schema"].schema if str(k) == CONF_PRICE_CONFIG_ENTRY)
    assert isinstance(field, vol.Optional) and not isinstance(field, vol.Required)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TARIFF: "nl_dynamic"}
    )
    assert result["errors"] == {CONF_PRICE_CONFIG_ENTRY: "entry_required"}


async def test_hems_own_sensors_are_not_offered_and_are_refused(hass: HomeAssistant) -> None:
    entry = await _loaded(hass)
    own = "sensor.home_load_forecast_next_24_h"
    assert hass.states.get(own) is not None
    result = await hass.config_entries.options.async_init(entry.entry_id)
    field = next(k for k in result["data_schema"].schema if str(k) == CONF_LOAD_ENERGY_ENTITY)
    selector = result["data_schema"].schema[field]
    assert own in selector.config["exclude_entities"]
    with pytest.raises(InvalidData):
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {CONF_LOAD_ENERGY_ENTITY: own, CONF_PRICE_SOURCE: "none", CONF_PV_TILT: 35,
             CONF_PV_AZIMUTH: 180},
        )  # fmt: skip


async def test_swedish_tariff_in_the_system_language_with_sek(hass: HomeAssistant) -> None:
    """The template's name follows Home Assistant's language; Sweden's fees are in SEK."""
    hass.config.language = "nl"
    _register_action(hass, "tibber", "get_prices")
    entry = await _loaded(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "tibber"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TARIFF: "se"}
    )
    assert result["description_placeholders"]["tariff"] == "Zweden"
    assert result["data_schema"]({})[CONF_GRID_FEE] == 0.20
    for key in result["data_schema"].schema.values():
        assert key.config["unit_of_measurement"] == "SEK/kWh"
    # A language without HEMS strings falls back to English.
    hass.config.language = "fi"
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PRICE_SOURCE: "tibber"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_TARIFF: "se"}
    )
    assert result["description_placeholders"]["tariff"] == "Sweden"
