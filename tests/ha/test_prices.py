"""Price glue: real source shapes in, current prices + 15-minute series + action out.

Sources are the committed samples of ``tests/core/tariffs/samples``: attribute sources are set as
states, action sources are answered by a test service registered under the real action name.
Expected values come from ``hems_core`` itself (the glue must only wire it), never hard-coded.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import (
    CoreState,
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.hems.const import (
    CONF_FEED_IN_COMPENSATION,
    CONF_FEED_IN_FEE,
    CONF_FLUVIUS_AREA,
    CONF_GRID_FEE,
    CONF_PRICE_AREA,
    CONF_PRICE_CONFIG_ENTRY,
    CONF_PRICE_ENTITY,
    CONF_PRICE_SOURCE,
    CONF_SITE_NAME,
    CONF_SUPPLIER_FEE,
    CONF_TARIFF,
    DOMAIN,
)
from hems_core.tariffs import TariffTemplate, compose, nl_dynamic, parse_prices, se

SAMPLES = Path(__file__).resolve().parents[1] / "core" / "tariffs" / "samples"
IMPORT = "sensor.home_import_price"
EXPORT = "sensor.home_export_price"
STEP = timedelta(minutes=15)


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def _entry(**options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"}, options=options, unique_id="h"
    )


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, zone: str, when: str) -> None:
    await hass.config.async_set_time_zone(zone)
    freezer.move_to(datetime.fromisoformat(when))


def _set_state(hass: HomeAssistant, sample: dict[str, Any]) -> str:
    entity_id = str(sample["entity_id"])
    hass.states.async_set(entity_id, sample["state"], sample["attributes"])
    return entity_id


async def _get_prices(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        "get_prices",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return response


def _quarter(now: datetime) -> datetime:
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


def _register(hass: HomeAssistant, domain: str, action: str, answer: Any) -> list[dict[str, Any]]:
    """A stand-in for another integration's price action; records the calls it gets."""
    calls: list[dict[str, Any]] = []

    async def handler(call: ServiceCall) -> ServiceResponse:
        calls.append(dict(call.data))
        result: ServiceResponse = answer(call.data)
        return result

    hass.services.async_register(domain, action, handler, supports_response=SupportsResponse.ONLY)
    return calls


async def test_nordpool_custom_attributes_spring_dst_se_tariff(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Nord Pool custom sensor, 2026-03-29 in SE3: a 23-hour day, Swedish tariff."""
    await _at(hass, freezer, "Europe/Stockholm", "2026-03-29T10:07:00+02:00")
    sample = _sample("nordpool_custom_SE3_2026-03-29.json")
    entity_id = _set_state(hass, sample)
    entry = _entry(
        **{
            CONF_PRICE_SOURCE: "entity",
            CONF_PRICE_ENTITY: entity_id,
            CONF_TARIFF: "se",
            CONF_SUPPLIER_FEE: 0.05,
            CONF_GRID_FEE: 0.2,
        }
    )
    await _setup(hass, entry)

    tz = ZoneInfo("Europe/Stockholm")
    now = datetime.fromisoformat("2026-03-29T10:07:00+02:00")
    spot = parse_prices(hass.states.get(entity_id).as_dict(), tz=tz)  # type: ignore[union-attr]
    expected = compose(spot, partial(se, supplier_markup=0.05, grid_per_kwh=0.2), tz)
    i = spot.index_of(now)

    state = hass.states.get(IMPORT)
    assert state is not None
    assert float(state.state) == pytest.approx(float(expected.import_price[i]), abs=1e-5)
    assert state.attributes["unit_of_measurement"] == "EUR/kWh"
    assert state.attributes["state_class"] == "measurement"
    assert "device_class" not in state.attributes
    export = hass.states.get(EXPORT)
    assert export is not None
    assert float(export.state) == pytest.approx(float(expected.export_price[i]), abs=1e-5)

    # The 23-hour day is complete with 92 quarters; known from now to the end of 03-30.
    assert spot.day_coverage(date(2026, 3, 29), tz) == (92, 92)
    attrs = state.attributes
    remaining_today = (datetime(2026, 3, 30, tzinfo=tz) - _quarter(now)) // STEP
    assert remaining_today == 56
    assert sum(attrs["known"]) == remaining_today + 96
    assert attrs["known"][0] is True and attrs["known"][-1] is False
    assert datetime.fromisoformat(attrs["known_until"]) == datetime(2026, 3, 31, tzinfo=tz)
    assert len(attrs["prices"]) == 48 * 4
    assert attrs["tariff"] == "se_2026"
    assert len(json.dumps(dict(attrs)).encode()) < 16 * 1024

    # The series the action returns agrees with the sensor, from the current quarter on.
    prices = await _get_prices(hass, entry)
    assert datetime.fromisoformat(prices["start"]) == _quarter(now)
    assert prices["step_minutes"] == 15
    assert prices["import"][0] == pytest.approx(float(state.state), abs=1e-5)
    assert prices["spot"][0] == pytest.approx(float(spot.values[i]), abs=1e-5)
    assert len(prices["import"]) == len(prices["export"]) == len(prices["known"])
    assert prices["problem"] is None


@pytest.mark.parametrize(
    ("sample", "zone", "now", "tariff"),
    [
        ("entsoe_custom_NL_2026-10-25.json", "Europe/Amsterdam", "2026-10-25T02:20:00+01:00", "nl"),
        (
            "frank_energie_NL_2026-03-29.json",
            "Europe/Amsterdam",
            "2026-03-29T03:05:00+02:00",
            "all",
        ),
        (
            "octopus_current_day_rates_2026-03-29.json",
            "Europe/London",
            "2026-03-29T18:40:00+01:00",
            "all",
        ),
    ],
)
async def test_attribute_sources(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    sample: str,
    zone: str,
    now: str,
    tariff: str,
) -> None:
    """ENTSO-E (autumn DST, in the repeated hour), Frank Energie all-in, Octopus rate events."""
    await _at(hass, freezer, zone, now)
    payload = _sample(sample)
    entity_id = _set_state(hass, payload)
    options: dict[str, Any] = {CONF_PRICE_SOURCE: "entity", CONF_PRICE_ENTITY: entity_id}
    if tariff == "nl":
        options |= {CONF_TARIFF: "nl_dynamic", CONF_SUPPLIER_FEE: 0.02}
        template: Any = partial(nl_dynamic, purchase_fee=0.02)
    else:
        options |= {CONF_TARIFF: "all_in"}
        template = TariffTemplate(name="all_in")
    entry = _entry(**options)
    await _setup(hass, entry)

    tz = ZoneInfo(zone)
    spot = parse_prices(hass.states.get(entity_id).as_dict(), tz=tz)  # type: ignore[union-attr]
    expected = compose(spot, template, tz)
    i = spot.index_of(datetime.fromisoformat(now))
    state = hass.states.get(IMPORT)
    assert state is not None
    assert float(state.state) == pytest.approx(float(expected.import_price[i]), abs=1e-5)
    assert state.attributes["source"] == spot.source
    prices = await _get_prices(hass, entry)
    assert prices["known_until"] == spot.known_until.isoformat()  # type: ignore[union-attr]
    assert prices["unit"] == f"{spot.currency}/kWh"


async def test_nordpool_action_autumn_dst(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Nord Pool core action: a call per day; tomorrow unpublished; 2026-10-25 has 100 quarters."""
    await _at(hass, freezer, "Europe/Amsterdam", "2026-10-25T12:00:00+01:00")
    response = _sample("nordpool_core_NL_2026-10-25.json")

    def answer(data: Any) -> Any:
        if str(data["date"]) == "2026-10-25":
            return response
        raise ServiceValidationError("no prices for that date yet")

    calls = _register(hass, "nordpool", "get_prices_for_date", answer)
    # The response does not name its currency: the Nord Pool entry's setting does.
    MockConfigEntry(
        domain="nordpool", entry_id="nordpool_entry", data={"currency": "EUR"}
    ).add_to_hass(hass)
    entry = _entry(
        **{
            CONF_PRICE_SOURCE: "nordpool",
            CONF_PRICE_CONFIG_ENTRY: "nordpool_entry",
            CONF_PRICE_AREA: "NL",
            CONF_TARIFF: "nl_dynamic",
            CONF_SUPPLIER_FEE: 0.02,
            CONF_FEED_IN_FEE: 0.0,
            CONF_FEED_IN_COMPENSATION: 0.0,
        }
    )
    await _setup(hass, entry)
    assert [c["date"] for c in calls] == ["2026-10-25", "2026-10-26"]
    assert calls[0]["areas"] == ["NL"] and calls[0]["config_entry"] == "nordpool_entry"

    tz = ZoneInfo("Europe/Amsterdam")
    spot = parse_prices(response, tz=tz)
    assert spot.day_coverage(date(2026, 10, 25), tz) == (100, 100)
    expected = compose(spot, partial(nl_dynamic, purchase_fee=0.02), tz)
    i = spot.index_of(datetime.fromisoformat("2026-10-25T12:00:00+01:00"))
    state = hass.states.get(IMPORT)
    assert state is not None
    assert float(state.state) == pytest.approx(float(expected.import_price[i]), abs=1e-5)
    # Net metering runs until 2026-12-31: an exported kWh is worth the import price.
    assert hass.states.get(EXPORT).state == state.state  # type: ignore[union-attr]
    prices = await _get_prices(hass, entry)
    assert sum(prices["known"]) == 12 * 4  # 12:00 to midnight (the extra hour was at night)
    assert len(prices["known"]) == 48 * 4  # forecast tail up to now + 48 h
    assert prices["known_until"] == "2026-10-25T23:00:00+00:00"


@pytest.mark.parametrize(
    ("domain", "action", "sample", "now", "all_in"),
    [
        ("energyzero", "get_energy_prices", "energyzero_NL_2026-03-29.json", "03-29T20:10", False),
        (
            "easyenergy",
            "get_energy_usage_prices",
            "easyenergy_usage_NL_2026-10-25.json",
            "10-25T09:50",
            False,
        ),
        ("tibber", "get_prices", "tibber_NL_2026-10-25.json", "10-25T02:30", True),
    ],
)
async def test_action_sources(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    domain: str,
    action: str,
    sample: str,
    now: str,
    all_in: bool,
) -> None:
    """EnergyZero, easyEnergy and Tibber responses; a two-day request falls back to today."""
    await _at(hass, freezer, "Europe/Amsterdam", f"2026-{now}:00+01:00")
    response = _sample(sample)
    seen: list[str] = []

    def answer(data: Any) -> Any:
        seen.append(str(data.get("end")))
        if len(seen) == 1 and domain != "tibber":
            raise HomeAssistantError("tomorrow is not published yet")
        return response

    calls = _register(hass, domain, action, answer)
    options: dict[str, Any] = {CONF_PRICE_SOURCE: domain, CONF_PRICE_CONFIG_ENTRY: "x"}
    options[CONF_TARIFF] = "all_in" if all_in else "nl_dynamic"
    entry = _entry(**options)
    await _setup(hass, entry)
    assert calls
    if domain != "tibber":
        assert calls[0]["incl_vat"] is False
        assert len(calls) == 2  # the two-day call failed, the today-only call answered

    tz = ZoneInfo("Europe/Amsterdam")
    spot = parse_prices(response, tz=tz)
    template: Any = TariffTemplate(name="all_in") if all_in else nl_dynamic
    expected = compose(spot, template, tz)
    i = spot.index_of(datetime.fromisoformat(f"2026-{now}:00+01:00"))
    state = hass.states.get(IMPORT)
    assert state is not None
    assert float(state.state) == pytest.approx(float(expected.import_price[i]), abs=1e-5)


def _flat(value: float) -> dict[str, Any]:
    """A Nord Pool custom sensor with only the flat ``today`` list (hourly values)."""
    return {
        "today": [value] * 24,
        "tomorrow": [],
        "tomorrow_valid": False,
        "currency": "EUR",
        "unit": "kWh",
        "region": "NL",
    }


async def test_broken_feed_keeps_last_good_then_recovers(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Bad data: last good series + repair issue; past its end: unavailable; good data: back."""
    await _at(hass, freezer, "Europe/Amsterdam", "2026-06-10T09:00:00+02:00")
    entity_id = "sensor.nordpool_kwh_nl_eur"
    hass.states.async_set(entity_id, "0.1", _flat(0.1))
    entry = _entry(
        **{CONF_PRICE_SOURCE: "entity", CONF_PRICE_ENTITY: entity_id, CONF_TARIFF: "all_in"}
    )
    await _setup(hass, entry)
    assert float(hass.states.get(IMPORT).state) == pytest.approx(0.1)  # type: ignore[union-attr]
    issues = ir.async_get(hass)

    # Tomorrow arrives half-published: the whole payload is rejected, the last good one stays.
    broken = _flat(0.1) | {"tomorrow": [0.2] * 11, "tomorrow_valid": True}
    hass.states.async_set(entity_id, "0.1", broken)
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get(IMPORT)
    assert state is not None
    assert float(state.state) == pytest.approx(0.1)
    assert "has 11 prices" in state.attributes["problem"]
    issue = issues.async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "price_feed_broken"
    assert "has 11 prices" in issue.translation_placeholders["reason"]  # type: ignore[index]
    assert (await _get_prices(hass, entry))["problem"] == state.attributes["problem"]

    # The next quarter refreshes by itself; the source is still broken and the series still good.
    coordinator = entry.runtime_data.prices
    assert coordinator is not None
    fetches: list[datetime] = []
    fetch = coordinator._async_fetch

    async def counting_fetch(now: datetime) -> Any:
        fetches.append(now)
        return await fetch(now)

    coordinator._async_fetch = counting_fetch  # type: ignore[method-assign]
    freezer.move_to(datetime.fromisoformat("2026-06-10T09:15:00+02:00"))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert fetches == [datetime.fromisoformat("2026-06-10T09:15:00+02:00")]
    assert hass.states.get(IMPORT).state != STATE_UNAVAILABLE  # type: ignore[union-attr]

    # Past the last published price: nothing safe to show.
    hass.states.async_set(entity_id, STATE_UNAVAILABLE, {})
    freezer.move_to(datetime.fromisoformat("2026-06-11T00:00:00+02:00"))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(IMPORT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get(EXPORT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    with pytest.raises(HomeAssistantError) as err:
        await _get_prices(hass, entry)
    assert err.value.translation_key == "prices_unavailable"

    # The feed comes back: prices, no problem, no repair issue, without a reload.
    freezer.tick(timedelta(seconds=30))
    hass.states.async_set(entity_id, "0.3", _flat(0.3))
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))  # refresh cooldown
    await hass.async_block_till_done(wait_background_tasks=True)
    state = hass.states.get(IMPORT)
    assert state is not None
    assert float(state.state) == pytest.approx(0.3)
    assert state.attributes["problem"] is None
    assert issues.async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}") is None


async def test_missing_source_leaves_site_up(hass: HomeAssistant) -> None:
    """A source entity that does not exist: prices unavailable, the rest of the site loads."""
    entry = _entry(**{CONF_PRICE_SOURCE: "entity", CONF_PRICE_ENTITY: "sensor.nope"})
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(IMPORT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert hass.states.get("sensor.home_status") is not None
    # Home Assistant is running in tests, so the user is told in Repairs as well.
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}") is not None


async def test_flemish_entry_without_area_is_a_repair_then_priced_once_chosen(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """A Belgian entry saved before the Fluvius area field: the site loads, the price sensors
    are unavailable and Repairs says what to choose; with the area stored, a real price."""
    await _at(hass, freezer, "Europe/Brussels", "2026-06-10T09:00:00+02:00")
    entity_id = "sensor.nordpool_kwh_be_eur"
    hass.states.async_set(entity_id, "0.1", _flat(0.1))
    options = {
        CONF_PRICE_SOURCE: "entity",
        CONF_PRICE_ENTITY: entity_id,
        CONF_TARIFF: "be_flanders",
        CONF_SUPPLIER_FEE: 0.0,
        CONF_FEED_IN_FEE: 0.0,
    }
    entry = _entry(**options)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(IMPORT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}")
    assert issue is not None
    reason = issue.translation_placeholders["reason"]  # type: ignore[index]
    assert "no Fluvius network area" in reason and "HEMS options" in reason

    hass.config_entries.async_update_entry(entry, options={**options, CONF_FLUVIUS_AREA: "kempen"})
    await hass.async_block_till_done(wait_background_tasks=True)  # the update reloads the site
    # Spot + Kempen's network charge + June 2026 levies, + 6 % VAT.
    want = (0.1 + 0.0598 + 0.04748 + 0.0019261 + 0.01492) * 1.06
    assert float(hass.states.get(IMPORT).state) == pytest.approx(want, abs=1e-4)  # type: ignore[union-attr]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}") is None


async def test_failing_action_is_a_feed_problem(hass: HomeAssistant) -> None:
    """A price action that raises (or is missing) never takes the site down."""

    def answer(data: Any) -> Any:
        raise HomeAssistantError("cloud down")

    _register(hass, "tibber", "get_prices", answer)
    entry = _entry(**{CONF_PRICE_SOURCE: "tibber", CONF_TARIFF: "all_in"})
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get(IMPORT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}")
    assert issue is not None
    assert "tibber.get_prices" in issue.translation_placeholders["source"]  # type: ignore[index]


async def test_unload_stops_refreshing_and_clears_issue(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    await _at(hass, freezer, "Europe/Amsterdam", "2026-06-10T09:00:00+02:00")
    entity_id = "sensor.nordpool_kwh_nl_eur"
    hass.states.async_set(entity_id, "x", {"today": "garbage"})
    entry = _entry(**{CONF_PRICE_SOURCE: "entity", CONF_PRICE_ENTITY: entity_id})
    await _setup(hass, entry)
    issues = ir.async_get(hass)
    assert issues.async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}") is not None
    coordinator = entry.runtime_data.prices
    assert coordinator is not None

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert issues.async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}") is None
    hass.states.async_set(entity_id, "0.1", _flat(0.1))
    freezer.move_to(datetime.fromisoformat("2026-06-10T09:15:00+02:00"))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert coordinator.data is None  # nothing refreshed after unload
    assert hass.states.get(IMPORT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]


async def test_get_prices_without_price_source(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> None:
    await _setup(hass, mock_config_entry)
    assert hass.states.get(IMPORT) is None
    with pytest.raises(ServiceValidationError) as err:
        await _get_prices(hass, mock_config_entry)
    assert err.value.translation_key == "prices_not_configured"


async def test_no_repair_issue_while_starting_and_nordpool_without_area(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """At startup a source may not exist yet: no Repairs notice then; it recovers on its own."""
    await _at(hass, freezer, "Europe/Amsterdam", "2026-10-25T12:00:00+01:00")
    hass.set_state(CoreState.starting)
    answers: list[Any] = []

    def answer(data: Any) -> Any:
        assert "areas" not in data  # no area chosen: the entry's own areas
        if not answers or str(data["date"]) != "2026-10-25":
            answers.append(data)
            raise HomeAssistantError("not yet")
        return _sample("nordpool_core_NL_2026-10-25.json")

    _register(hass, "nordpool", "get_prices_for_date", answer)
    entry = _entry(**{CONF_PRICE_SOURCE: "nordpool", CONF_PRICE_CONFIG_ENTRY: "np"})
    await _setup(hass, entry)
    assert hass.states.get(IMPORT).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"price_feed_{entry.entry_id}") is None

    hass.set_state(CoreState.running)
    freezer.move_to(datetime.fromisoformat("2026-10-25T12:15:00+01:00"))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get(IMPORT).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
