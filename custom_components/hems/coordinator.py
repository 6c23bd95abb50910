"""Coordinators: load forecast, prices and PV forecast of one site.

Only glue lives here: reading history off the event loop (the recorder's own executor), reading
price and PV sources from states and actions, and running the pure ``hems_core`` functions in an
executor. The forecasting, parsing and tariff composition are ``hems_core``'s.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import (
    CALLBACK_TYPE,
    CoreState,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_utc_time_change,
)
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.loader import async_get_integration
from homeassistant.util import dt as dt_util

from hems_core.forecast import QuantileForecast, forecast_load
from hems_core.forecast.errors import ForecastInputError
from hems_core.forecast.history import from_statistics_rows
from hems_core.forecast.pv import (
    ClearSkyPv,
    PvCorrection,
    PvSource,
    climate_correction,
    forecast_pv,
    learn_pv_correction,
)
from hems_core.tariffs import PriceDataError

from .const import (
    CONF_LOAD_ENERGY_ENTITY,
    CONF_PV_AZIMUTH,
    CONF_PV_ENERGY_ENTITY,
    CONF_PV_FORECAST_SOLAR_ENTRIES,
    CONF_PV_KWP,
    CONF_PV_SOLCAST_ENTITIES,
    CONF_PV_TILT,
    DOMAIN,
    FORECAST_HISTORY_DAYS,
    FORECAST_STEPS,
    PRICE_ACTIONS,
    PRICE_SOURCE_ENTITY,
    PRICE_SOURCE_NORDPOOL,
    PRICE_SOURCE_TIBBER,
    PV_LEARN_DAYS,
)
from .prices import Payload, PriceData, PriceSettings, build_prices

if TYPE_CHECKING:
    from . import HemsConfigEntry

_LOGGER = logging.getLogger(__name__)


class HemsForecastCoordinator(DataUpdateCoordinator[QuantileForecast]):
    """Refresh the household load forecast every quarter hour."""

    config_entry: HemsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: HemsConfigEntry) -> None:
        """Create the coordinator for one site."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} load forecast",
            update_interval=timedelta(minutes=15),
        )

    @property
    def load_entity(self) -> str | None:
        """The cumulative household energy sensor (kWh), if the user chose one."""
        entity: str | None = self.config_entry.options.get(CONF_LOAD_ENERGY_ENTITY)
        return entity or None

    async def _async_update_data(self) -> QuantileForecast:
        """Read hourly statistics and forecast; without history the flat fallback is used."""
        now = dt_util.utcnow()
        rows: list[dict[str, object]] = []
        entity = self.load_entity
        if entity is not None:
            rows = await _async_hourly_energy(self.hass, entity, now, FORECAST_HISTORY_DAYS)
        epochs, kwh = from_statistics_rows(rows, unit="kWh")
        return await self.hass.async_add_executor_job(
            partial(
                forecast_load,
                epochs,
                kwh,
                origin=now,
                horizon_steps=FORECAST_STEPS,
                tz=str(self.hass.config.time_zone),
                interval_s=3600,
            )
        )


async def _async_hourly_energy(
    hass: HomeAssistant, entity: str, now: datetime, days: int
) -> list[dict[str, object]]:
    """Hourly energy statistics (kWh) of ``entity``, read in the recorder's executor."""
    if "recorder" not in hass.config.components:
        return []
    stats = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        now - timedelta(days=days),
        None,
        {entity},
        "hour",
        {"energy": "kWh"},
        {"change"},
    )
    return [dict(row) for row in stats.get(entity, [])]


class PriceFeedError(Exception):
    """The price source could not be read or its data was rejected (one-line reason)."""


class HemsPriceCoordinator(DataUpdateCoordinator[PriceData]):
    """Prices of one site, refreshed at every clock quarter and when the source entity changes.

    A broken feed never takes the prices down at once: the last good series is served (with the
    reason in ``PriceData.problem``, the log and a repair issue) while it still has a published
    price for the current quarter; after that the price sensors become unavailable. The first
    good refresh clears all of it.
    """

    config_entry: HemsConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: HemsConfigEntry, settings: PriceSettings
    ) -> None:
        """Create the coordinator; :meth:`async_start` attaches the triggers."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} prices",
            update_interval=None,  # driven by clock quarters and source changes, see async_start
        )
        self.settings = settings
        self._last_good: PriceData | None = None
        self._problem: str | None = None
        # A quarter tick and a source change can overlap; one refresh at a time, so an older
        # (slower) result never overwrites a newer one.
        self._lock = asyncio.Lock()

    @property
    def issue_id(self) -> str:
        """The repair issue of this site's price feed."""
        return f"price_feed_{self.config_entry.entry_id}"

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Refresh at every clock quarter and on source state changes; returns the unsubscriber."""

        async def _quarter(_now: datetime) -> None:
            await self.async_refresh()

        @callback
        def _changed(_event: Event[EventStateChangedData]) -> None:
            self.hass.async_create_task(self.async_request_refresh())

        unsubs = [
            async_track_utc_time_change(self.hass, _quarter, minute=(0, 15, 30, 45), second=0)
        ]
        if self.settings.source == PRICE_SOURCE_ENTITY and self.settings.entity:
            unsubs.append(
                async_track_state_change_event(self.hass, [self.settings.entity], _changed)
            )

        @callback
        def _stop() -> None:
            for unsub in unsubs:
                unsub()
            ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)

        return _stop

    async def _async_update_data(self) -> PriceData:
        async with self._lock:
            return await self._async_update_locked()

    async def _async_update_locked(self) -> PriceData:
        now = dt_util.utcnow()
        tz = dt_util.get_default_time_zone()
        try:
            payloads = await self._async_fetch(now)
            history = None if self._last_good is None else self._last_good.spot
            data = await self.hass.async_add_executor_job(
                partial(build_prices, payloads, self.settings, now=now, tz=tz, history=history)
            )
        except (PriceFeedError, PriceDataError) as err:
            return self._keep_last_good(str(err), now)
        if self._problem is not None:
            _LOGGER.info("%s: prices are back (%s)", self.config_entry.title, data.spot.source)
            ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)
            self._problem = None
        self._last_good = data
        return data

    def _keep_last_good(self, reason: str, now: datetime) -> PriceData:
        """Serve the last good series while it covers now; otherwise fail (sensors unavailable)."""
        if self._problem != reason:
            _LOGGER.warning(
                "%s: price feed %s rejected: %s", self.config_entry.title, self._source_name, reason
            )
            self._problem = reason
        if self.hass.state is CoreState.running:  # not for sources still starting up
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self.issue_id,
                is_fixable=True,
                data={"entry_id": self.config_entry.entry_id},
                severity=ir.IssueSeverity.WARNING,
                translation_key="price_feed_broken",
                translation_placeholders={
                    "site": self.config_entry.title,
                    "source": self._source_name,
                    "reason": reason,
                },
            )
        last = self._last_good
        if last is None or not last.covers(now):
            raise UpdateFailed(f"no usable prices from {self._source_name}: {reason}")
        return PriceData(spot=last.spot, prices=last.prices, updated=last.updated, problem=reason)

    @property
    def _source_name(self) -> str:
        s = self.settings
        if s.source == PRICE_SOURCE_ENTITY:
            return str(s.entity)
        domain, action = PRICE_ACTIONS[s.source]
        return f"{domain}.{action}"

    async def _async_fetch(self, now: datetime) -> list[Payload]:
        """Raw payloads: the source entity's state, or the price action's responses."""
        s = self.settings
        if s.source == PRICE_SOURCE_ENTITY:
            state = self.hass.states.get(str(s.entity))
            if state is None:
                raise PriceFeedError(f"{s.entity} does not exist")
            if state.state == STATE_UNAVAILABLE:
                raise PriceFeedError(f"{s.entity} is unavailable")
            return [Payload(state.as_dict())]
        domain, action = PRICE_ACTIONS[s.source]
        local = dt_util.as_local(now)
        today = dt_util.start_of_local_day(local)
        tomorrow = dt_util.start_of_local_day(today + timedelta(hours=26))
        after = dt_util.start_of_local_day(tomorrow + timedelta(hours=26))
        calls: list[tuple[dict[str, Any], bool]]
        currency: str | None = None
        if s.source == PRICE_SOURCE_NORDPOOL:
            base: dict[str, Any] = {"config_entry": s.config_entry}
            if s.area:
                base["areas"] = [s.area]
            entry = self.hass.config_entries.async_get_entry(str(s.config_entry))
            if entry is not None and isinstance(entry.data.get("currency"), str):
                currency = entry.data["currency"]
            # One delivery day per call; tomorrow is optional until it is published.
            calls = [
                ({**base, "date": today.date().isoformat()}, True),
                ({**base, "date": tomorrow.date().isoformat()}, False),
            ]
        elif s.source == PRICE_SOURCE_TIBBER:
            calls = [({"start": today.isoformat(), "end": after.isoformat()}, True)]
        else:  # EnergyZero / easyEnergy: spot without VAT, the tariff adds it
            base = {"config_entry": s.config_entry, "incl_vat": False, "start": today.isoformat()}
            calls = [
                ({**base, "end": (after - timedelta(seconds=1)).isoformat()}, False),
                ({**base, "end": (tomorrow - timedelta(seconds=1)).isoformat()}, True),
            ]
        out: list[Payload] = []
        for data, required in calls:
            try:
                response = await self.hass.services.async_call(
                    domain, action, data, blocking=True, return_response=True
                )
            except Exception as err:  # any integration's failure is a feed problem, not ours
                if required and not out:
                    raise PriceFeedError(f"{domain}.{action} failed: {err}") from err
                continue
            out.append(Payload(response, required=required, currency=currency))
            if s.source not in (PRICE_SOURCE_NORDPOOL,):
                break  # the two-day call answered: no need for the today-only fallback
        return out


class HemsPvCoordinator(DataUpdateCoordinator[QuantileForecast]):
    """PV forecast of one site from Solcast attributes and Forecast.Solar's energy platform.

    Missing, stale or malformed sources are the library's business: :func:`forecast_pv` falls
    back per step (clear-sky model when the array is configured, else zero) and says so in
    ``notes``; nothing here raises for a bad source.
    """

    config_entry: HemsConfigEntry

    def __init__(self, hass: HomeAssistant, entry: HemsConfigEntry) -> None:
        """Create the coordinator for one site."""
        super().__init__(
            hass,
            _LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} PV forecast",
            update_interval=timedelta(minutes=15),
        )

    @property
    def solcast_entities(self) -> list[str]:
        """Solcast forecast sensors (today, tomorrow, …) whose ``detailedForecast`` is read."""
        return list(self.config_entry.options.get(CONF_PV_SOLCAST_ENTITIES) or [])

    @property
    def forecast_solar_entries(self) -> list[str]:
        """Forecast.Solar config entries (one per plane) read through the energy platform."""
        return list(self.config_entry.options.get(CONF_PV_FORECAST_SOLAR_ENTRIES) or [])

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Refresh when a Solcast sensor changes; returns the unsubscriber."""

        @callback
        def _changed(_event: Event[EventStateChangedData]) -> None:
            self.hass.async_create_task(self.async_request_refresh())

        if not self.solcast_entities:
            return lambda: None
        return async_track_state_change_event(self.hass, self.solcast_entities, _changed)

    def _clearsky(self) -> ClearSkyPv | None:
        options = self.config_entry.options
        kwp = float(options.get(CONF_PV_KWP) or 0.0)
        if kwp <= 0:
            return None
        try:
            return ClearSkyPv(
                latitude=self.hass.config.latitude,
                longitude=self.hass.config.longitude,
                tilt_deg=float(options.get(CONF_PV_TILT, 35.0)),
                azimuth_deg=float(options.get(CONF_PV_AZIMUTH, 180.0)),
                kwp=kwp,
            )
        except ForecastInputError as err:
            _LOGGER.warning("%s: PV array ignored: %s", self.config_entry.title, err)
            return None

    def _solcast(self) -> PvSource | None:
        entries: list[Any] = []
        issued: datetime | None = None
        for entity_id in self.solcast_entities:
            state = self.hass.states.get(entity_id)
            if state is None or state.state == STATE_UNAVAILABLE:
                continue
            detailed = state.attributes.get("detailedForecast")
            if not isinstance(detailed, list | tuple):
                detailed = state.attributes.get("detailedHourly")
            if isinstance(detailed, list | tuple):
                entries.extend(detailed)
                issued = state.last_updated if issued is None else max(issued, state.last_updated)
        if not entries:
            return None
        return PvSource("solcast", entries, issued_at=issued)

    async def _forecast_solar(self) -> PvSource | None:
        """Sum of the selected planes' ``wh_hours`` (one Forecast.Solar entry per plane)."""
        payloads: list[Mapping[str, Any]] = []
        for entry_id in self.forecast_solar_entries:
            entry = self.hass.config_entries.async_get_entry(entry_id)
            if entry is None or entry.state is not ConfigEntryState.LOADED:
                continue
            try:
                integration = await async_get_integration(self.hass, entry.domain)
                platform = await integration.async_get_platform("energy")
                payload = await platform.async_get_solar_forecast(self.hass, entry_id)
            except Exception as err:  # another integration's failure: fall back, never crash
                _LOGGER.debug("%s: no solar forecast from %s: %s", self.name, entry.title, err)
                continue
            if isinstance(payload, Mapping):
                payloads.append(payload)
        if not payloads:
            return None
        if len(payloads) == 1:
            return PvSource("forecast_solar", payloads[0])
        merged: dict[str, Any] = {}
        for payload in payloads:
            hours = payload.get("wh_hours", payload)
            if not isinstance(hours, Mapping):
                continue
            for key, wh in hours.items():
                try:
                    merged[key] = float(merged.get(key, 0.0)) + float(wh)
                except (TypeError, ValueError):
                    merged.setdefault(key, wh)  # the library skips and counts it
        return PvSource("forecast_solar", {"wh_hours": merged})

    async def _async_correction(self, model: ClearSkyPv | None, now: datetime) -> PvCorrection:
        """Calibration and cloudiness learned from the measured production sensor, if any."""
        entity = self.config_entry.options.get(CONF_PV_ENERGY_ENTITY)
        if model is None:
            return PvCorrection()
        if not entity:  # nothing to learn from: the month's climatological cloudiness
            return climate_correction(now, model.latitude)
        rows = await _async_hourly_energy(self.hass, entity, now, PV_LEARN_DAYS + 1)
        epochs, kwh = from_statistics_rows(rows, unit="kWh")
        return await self.hass.async_add_executor_job(
            partial(
                learn_pv_correction,
                model,
                epochs,
                kwh,
                now=now,
                lookback_days=PV_LEARN_DAYS,
                interval_s=3600,
            )
        )

    async def _async_update_data(self) -> QuantileForecast:
        now = dt_util.utcnow()
        sources = [s for s in (self._solcast(), await self._forecast_solar()) if s is not None]
        model = self._clearsky()
        try:
            correction = await self._async_correction(model, now)
        except ForecastInputError as err:
            _LOGGER.warning("%s: PV history not used: %s", self.config_entry.title, err)
            correction = climate_correction(now, 52.0 if model is None else model.latitude)
        run = partial(
            forecast_pv,
            start=now,
            steps=FORECAST_STEPS,
            now=now,
            clearsky=model,
            correction=correction,
        )
        try:
            return await self.hass.async_add_executor_job(partial(run, sources=sources))
        except (ForecastInputError, ArithmeticError, ValueError, TypeError) as err:
            # forecast_pv promises not to raise for bad sources; should a source still break it,
            # drop the sources rather than the forecast (defence in depth for the planner).
            _LOGGER.warning("%s: PV sources ignored: %s", self.config_entry.title, err)
            return await self.hass.async_add_executor_job(partial(run, sources=()))
