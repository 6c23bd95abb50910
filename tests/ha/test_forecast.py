"""Load forecast glue: recorder statistics in, sensor + attributes + action out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.models import StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.hems.const import (
    CONF_LOAD_ENERGY_ENTITY,
    CONF_PV_AZIMUTH,
    CONF_PV_ENERGY_ENTITY,
    CONF_PV_KWP,
    CONF_PV_TILT,
    CONF_SITE_NAME,
    DOMAIN,
)
from hems_core.forecast.pv import ClearSkyPv

STAT_ID = "sensor.house_energy"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: Any
) -> None:
    """Start the recorder before Home Assistant (the harness requires that order)."""


def _metadata(statistic_id: str = STAT_ID) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "has_mean": False,
        "has_sum": True,
        "name": "House energy",
        "source": "recorder",
        "statistic_id": statistic_id,
        "unit_of_measurement": "kWh",
        "mean_type": StatisticMeanType.NONE,
    }
    if "unit_class" in StatisticMetaData.__annotations__:  # newer Home Assistant
        meta["unit_class"] = "energy"
    return meta


async def _import_history(hass: HomeAssistant, days: int, night_kw: float, day_kw: float) -> None:
    """Hourly cumulative energy: night_kw from 23:00 to 07:00 local, day_kw otherwise."""
    end = dt_util.start_of_local_day() - timedelta(hours=1)
    start = end - timedelta(days=days)
    rows = []
    total = 0.0
    t = start
    while t <= end:
        hour = dt_util.as_local(t).hour
        total += night_kw if hour >= 23 or hour < 7 else day_kw
        rows.append({"start": t, "sum": total, "state": total})
        t += timedelta(hours=1)
    async_import_statistics(hass, _metadata(), rows)  # type: ignore[arg-type]
    await async_wait_recording_done(hass)


def _entry(with_sensor: bool) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_LOAD_ENERGY_ENTITY: STAT_ID} if with_sensor else {},
        unique_id="home",
    )


async def test_forecast_learns_from_recorder_statistics(hass: HomeAssistant) -> None:
    await _import_history(hass, days=21, night_kw=0.2, day_kw=0.8)
    entry = _entry(with_sensor=True)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    state = hass.states.get("sensor.home_load_forecast_next_24_h")
    assert state is not None
    # 8 night hours at 0.2 kW + 16 day hours at 0.8 kW = 14.4 kWh a day.
    assert float(state.state) == pytest.approx(14.4, rel=0.05)
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert "state_class" not in state.attributes
    assert len(state.attributes["p50"]) == 192
    assert "default" not in state.attributes["sources"]

    response = await hass.services.async_call(
        DOMAIN,
        "get_forecast",
        {"config_entry_id": entry.entry_id},
        blocking=True,
        return_response=True,
    )
    load = response["load"]  # type: ignore[index]
    assert load["step_minutes"] == 15
    assert len(load["p90"]) == 192
    assert all(hi >= mid for hi, mid in zip(load["p90"], load["p50"], strict=True))
    # Night quarters are forecast low, day quarters high: the profile was learned, not flat.
    assert min(load["p50"]) == pytest.approx(0.2, abs=0.05)
    assert max(load["p50"]) == pytest.approx(0.8, abs=0.05)


async def test_forecast_without_history_falls_back(hass: HomeAssistant) -> None:
    entry = _entry(with_sensor=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get("sensor.home_load_forecast_next_24_h")
    assert state is not None
    assert float(state.state) > 0
    assert state.attributes["sources"] == ["default"]
    assert state.attributes["notes"]


async def test_get_forecast_rejects_unknown_or_unloaded_entry(hass: HomeAssistant) -> None:
    entry = _entry(with_sensor=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "get_forecast", {"config_entry_id": "nope"}, blocking=True, return_response=True
        )
    assert err.value.translation_key == "entry_not_found"
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_forecast",
            {"config_entry_id": entry.entry_id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "entry_not_loaded"


async def test_options_flow_sets_history_sensor_and_reloads(hass: HomeAssistant) -> None:
    entry = _entry(with_sensor=False)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_LOAD_ENERGY_ENTITY: STAT_ID}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options[CONF_LOAD_ENERGY_ENTITY] == STAT_ID
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.forecast.load_entity == STAT_ID

    # Re-opening shows the current choice as the suggestion.
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema_keys = list(result["data_schema"].schema)
    assert schema_keys[0].description == {"suggested_value": STAT_ID}


async def test_pv_fallback_learns_from_measured_production(hass: HomeAssistant) -> None:
    """Half of what the clear-sky model says, every day: the fallback learns scale 0.5."""
    pv_id = "sensor.pv_energy"
    model = ClearSkyPv(hass.config.latitude, hass.config.longitude, 35, 180, 5.0)
    end = dt_util.start_of_local_day() - timedelta(hours=1)
    t = end - timedelta(days=21)
    rows = []
    total = 0.0
    while t <= end:
        hour_kwh = float(model.step_kw(int(t.timestamp()), 4).sum()) * 0.25
        total += 0.5 * hour_kwh
        rows.append({"start": t, "sum": total, "state": total})
        t += timedelta(hours=1)
    async_import_statistics(hass, _metadata(pv_id), rows)  # type: ignore[arg-type]
    await async_wait_recording_done(hass)

    options = {
        CONF_PV_ENERGY_ENTITY: pv_id,
        CONF_PV_KWP: 5.0,
        CONF_PV_TILT: 35,
        CONF_PV_AZIMUTH: 180,
    }
    entry = MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"}, options=options
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get("sensor.home_pv_forecast_next_24_h")
    assert state is not None
    assert state.attributes["sources"] == ["clearsky"]
    note = next(n for n in state.attributes["notes"] if "clear-sky" in n)
    assert "scale 0.50" in note
    assert int(note.split("learned on ")[1].split(" ")[0]) >= 15
    # P50 clearness of identical days is 1: the forecast is half the clear-sky energy.
    now = dt_util.utcnow().replace(minute=dt_util.utcnow().minute // 15 * 15, second=0)
    clear = float(model.step_kw(int(now.timestamp()), 96).sum()) * 0.25
    assert float(state.state) == pytest.approx(0.5 * clear, rel=0.05)


async def test_pv_history_without_array_is_not_read(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        data={CONF_SITE_NAME: "Home"},
        options={CONF_PV_ENERGY_ENTITY: "sensor.pv_energy"},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get("sensor.home_pv_forecast_next_24_h").state == "0.0"  # type: ignore[union-attr]
