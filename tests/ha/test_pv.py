"""PV forecast glue: Solcast attributes and the Forecast.Solar energy platform in, sensor out.

Missing, stale or broken sources must fall back as ``hems_core.forecast.pv`` documents (clear-sky
model when the array is configured, else zero) and never fail the site.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest.mock import AsyncMock, Mock, patch

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_platform,
)

from custom_components.hems.const import (
    CONF_PV_AZIMUTH,
    CONF_PV_ENERGY_ENTITY,
    CONF_PV_FORECAST_SOLAR_ENTRIES,
    CONF_PV_KWP,
    CONF_PV_SOLCAST_ENTITIES,
    CONF_PV_TILT,
    CONF_SITE_NAME,
    DOMAIN,
)
from hems_core.forecast.errors import ForecastInputError

PV = "sensor.home_pv_forecast_next_24_h"
TODAY = "sensor.solcast_pv_forecast_forecast_today"
TOMORROW = "sensor.solcast_pv_forecast_forecast_tomorrow"
NOON = "2026-06-10T12:05:00+02:00"


def _entry(**options: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN, title="Home", data={CONF_SITE_NAME: "Home"}, options=options
    )


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


def _solcast_day(day: datetime, peak_kw: float) -> list[dict[str, Any]]:
    """Solcast ``detailedForecast``: half-hour periods, 1 kW·peak between 08:00 and 18:00 local."""
    out = []
    for half in range(48):
        start = day + timedelta(minutes=30 * half)
        sunny = 16 <= half < 36
        out.append(
            {
                "period_start": start,  # a datetime, as inside Home Assistant
                "pv_estimate": peak_kw if sunny else 0.0,
                "pv_estimate10": peak_kw * 0.6 if sunny else 0.0,
                "pv_estimate90": peak_kw * 1.2 if sunny else 0.0,
            }
        )
    return out


async def _at(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: str) -> datetime:
    await hass.config.async_set_time_zone("Europe/Amsterdam")
    freezer.move_to(datetime.fromisoformat(when))
    return dt_util.start_of_local_day()


async def _get_forecast(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "get_forecast", {"config_entry_id": entry.entry_id}, True, return_response=True
    )
    assert isinstance(response, dict)
    return response


async def test_solcast_sensors_feed_the_forecast(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    midnight = await _at(hass, freezer, NOON)
    hass.states.async_set(TODAY, "20", {"detailedForecast": _solcast_day(midnight, 2.0)})
    tomorrow = dt_util.start_of_local_day(midnight + timedelta(hours=25))
    # Only the hourly attribute on this one (Solcast can be set to publish either).
    hass.states.async_set(TOMORROW, "30", {"detailedHourly": _solcast_day(tomorrow, 3.0)})
    entry = _entry(**{CONF_PV_SOLCAST_ENTITIES: [TODAY, TOMORROW]})
    await _setup(hass, entry)

    state = hass.states.get(PV)
    assert state is not None
    # From 12:00: six sunny hours today at 2 kW, then 10 h tomorrow until 12:00 ... the next 24 h
    # hold 12:00-18:00 today (12 kWh) and 08:00-12:00 tomorrow (12 kWh).
    assert float(state.state) == pytest.approx(24.0, abs=0.01)
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert "state_class" not in state.attributes
    # The 48-hour horizon ends at noon the day after tomorrow, past the two Solcast days.
    assert state.attributes["sources"] == ["none", "solcast"]
    response = await _get_forecast(hass, entry)
    pv = response["pv"]
    assert len(pv["p50"]) == 192
    assert max(pv["p90"]) == pytest.approx(3.6)
    assert all(lo <= mid <= hi for lo, mid, hi in zip(pv["p10"], pv["p50"], pv["p90"], strict=True))
    assert "load" in response

    # A new Solcast poll changes the attributes: the forecast follows without waiting.
    hass.states.async_set(TODAY, "10", {"detailedForecast": _solcast_day(midnight, 1.0)})
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done(wait_background_tasks=True)
    assert float(hass.states.get(PV).state) == pytest.approx(18.0, abs=0.01)  # type: ignore[union-attr]


async def test_stale_solcast_falls_back_to_clear_sky(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    midnight = await _at(hass, freezer, "2026-06-09T20:00:00+02:00")
    day = dt_util.start_of_local_day(midnight + timedelta(hours=25))
    hass.states.async_set(TODAY, "20", {"detailedForecast": _solcast_day(day, 2.0)})
    freezer.move_to(datetime.fromisoformat(NOON))  # 16 h later: stale (older than 12 h)
    entry = _entry(
        **{
            CONF_PV_SOLCAST_ENTITIES: [TODAY],
            CONF_PV_KWP: 5.0,
            CONF_PV_TILT: 35,
            CONF_PV_AZIMUTH: 180,
        }
    )
    await _setup(hass, entry)
    state = hass.states.get(PV)
    assert state is not None
    assert state.attributes["sources"] == ["clearsky"]
    assert any("stale" in note for note in state.attributes["notes"])
    assert float(state.state) > 0


async def test_no_sources_means_zero_pv(hass: HomeAssistant) -> None:
    """Nothing configured, an unavailable Solcast sensor, a missing plane: zero, never a crash."""
    hass.states.async_set(TODAY, STATE_UNAVAILABLE, {})
    hass.states.async_set(TOMORROW, "0", {"friendly_name": "no forecast attributes"})
    entry = _entry(
        **{
            CONF_PV_SOLCAST_ENTITIES: [TODAY, TOMORROW, "sensor.gone"],
            CONF_PV_FORECAST_SOLAR_ENTRIES: ["x"],
        }
    )
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    state = hass.states.get(PV)
    assert state is not None
    assert float(state.state) == 0.0
    assert state.attributes["sources"] == ["none"]
    assert state.attributes["notes"]


async def test_bad_array_is_ignored(hass: HomeAssistant) -> None:
    entry = _entry(**{CONF_PV_KWP: 5.0, CONF_PV_TILT: 120})
    await _setup(hass, entry)
    assert hass.states.get(PV).attributes["sources"] == ["none"]  # type: ignore[union-attr]


def _plane(hass: HomeAssistant, title: str) -> MockConfigEntry:
    entry = MockConfigEntry(domain="forecast_solar", title=title, state=ConfigEntryState.LOADED)
    entry.add_to_hass(hass)
    return entry


async def test_forecast_solar_planes_are_summed(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Two planes through the energy platform (as the Energy dashboard reads them), summed."""
    midnight = await _at(hass, freezer, NOON)
    hours = [dt_util.as_local(midnight + timedelta(hours=h)) for h in range(13, 18)]
    east = {t.isoformat(): 1000.0 for t in hours}
    west = {t.isoformat(): 500.0 for t in hours}
    broken = _plane(hass, "Broken")
    not_loaded = MockConfigEntry(domain="forecast_solar", title="Off")
    not_loaded.add_to_hass(hass)
    planes = {_plane(hass, "East").entry_id: east, _plane(hass, "West").entry_id: west}

    async def forecast(_hass: HomeAssistant, entry_id: str) -> dict[str, Any] | None:
        if entry_id == broken.entry_id:
            raise RuntimeError("coordinator has no data")
        return {"wh_hours": planes[entry_id]}

    mock_platform(hass, "forecast_solar.energy", Mock(async_get_solar_forecast=forecast))
    entry = _entry(
        **{
            CONF_PV_FORECAST_SOLAR_ENTRIES: [
                *planes,
                broken.entry_id,
                not_loaded.entry_id,
            ]
        }
    )
    await _setup(hass, entry)
    state = hass.states.get(PV)
    assert state is not None
    # Five hour-periods ending 13:00 … 17:00 of 1.5 kWh each.
    assert float(state.state) == pytest.approx(7.5, abs=0.01)
    assert "forecast_solar" in state.attributes["sources"]

    # One plane alone is passed through as the platform gave it.
    one = _entry(**{CONF_PV_FORECAST_SOLAR_ENTRIES: [next(iter(planes))]})
    one.add_to_hass(hass)
    assert await hass.config_entries.async_setup(one.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert one.runtime_data.pv.data.p50.sum() * 0.25 == pytest.approx(5.0, abs=0.01)


async def test_forecast_solar_odd_payloads(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Non-mapping answers are skipped; a non-numeric value is left to the library to count."""
    midnight = await _at(hass, freezer, NOON)
    t = dt_util.as_local(midnight + timedelta(hours=14)).isoformat()
    answers = [None, {"wh_hours": "nope"}, {"wh_hours": {t: 800.0}}, {"wh_hours": {t: "n/a"}}]
    ids = [_plane(hass, f"P{i}").entry_id for i in range(len(answers))]
    platform = Mock(async_get_solar_forecast=AsyncMock(side_effect=answers))
    mock_platform(hass, "forecast_solar.energy", platform)
    entry = _entry(**{CONF_PV_FORECAST_SOLAR_ENTRIES: ids})
    await _setup(hass, entry)
    state = hass.states.get(PV)
    assert state is not None
    assert float(state.state) == pytest.approx(0.8, abs=0.01)


async def test_absurd_solcast_timestamp_does_not_break_the_forecast(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """An integer beyond int64 as ``period_start`` is rejected by hems_core; no source is used."""
    hass.states.async_set(
        TODAY, "1", {"detailedForecast": [{"period_start": 2**63, "pv_estimate": 0.0}]}
    )
    entry = _entry(**{CONF_PV_SOLCAST_ENTITIES: [TODAY]})
    await _setup(hass, entry)
    state = hass.states.get(PV)
    assert state is not None
    assert state.attributes["sources"] == ["none"]


async def test_pv_forecast_error_drops_the_sources_not_the_forecast(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Defence in depth: should the library still raise on a source, the glue drops the sources."""
    from hems_core.forecast import forecast_pv

    def flaky(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("sources"):
            raise OverflowError("Python int too large to convert to C long")
        return forecast_pv(*args, **kwargs)

    hass.states.async_set(
        TODAY,
        "1",
        {"detailedForecast": [{"period_start": dt_util.utcnow().isoformat(), "pv_estimate": 1.0}]},
    )
    entry = _entry(**{CONF_PV_SOLCAST_ENTITIES: [TODAY]})
    with patch("custom_components.hems.coordinator.forecast_pv", side_effect=flaky):
        await _setup(hass, entry)
    state = hass.states.get(PV)
    assert state is not None
    assert state.attributes["sources"] == ["none"]
    assert "PV sources ignored" in caplog.text


async def test_unusable_pv_history_keeps_the_default_correction(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    entry = _entry(**{CONF_PV_ENERGY_ENTITY: "sensor.pv_energy", CONF_PV_KWP: 4.0})
    with patch(
        "custom_components.hems.coordinator.learn_pv_correction",
        side_effect=ForecastInputError("3 timestamps but 2 values"),
    ):
        await _setup(hass, entry)
    state = hass.states.get(PV)
    assert state is not None
    assert state.attributes["sources"] == ["clearsky"]
    assert "PV history not used: 3 timestamps but 2 values" in caplog.text


async def test_an_unlearnt_site_starts_from_the_months_climate_not_clear_sky(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """5 kWp south in Utrecht on 2 December, nothing measured yet: about 2 kWh (P50), not the
    6.7 kWh a flat clearness of 0.6 on clear sky gave."""
    hass.config.latitude, hass.config.longitude = 52.09, 5.12
    await _at(hass, freezer, "2026-12-02T00:00:00+01:00")
    await _setup(hass, _entry(**{CONF_PV_KWP: 5.0, CONF_PV_TILT: 35, CONF_PV_AZIMUTH: 180}))
    state = hass.states.get(PV)
    assert state is not None and state.attributes["sources"] == ["clearsky"]
    assert 1.0 < float(state.state) < 4.0, state.state
    assert any("clearness P50 0.20" in note for note in state.attributes["notes"])
