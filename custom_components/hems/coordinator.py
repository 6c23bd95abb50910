"""Load forecast coordinator: recorder statistics in, a ``hems_core`` forecast out.

Only glue lives here: reading history off the event loop (the recorder's own executor) and
running the pure forecast function in an executor. The forecasting itself is ``hems_core``'s.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING

from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.core import HomeAssistant
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from hems_core.forecast import QuantileForecast, forecast_load
from hems_core.forecast.history import from_statistics_rows

from .const import CONF_LOAD_ENERGY_ENTITY, DOMAIN, FORECAST_HISTORY_DAYS, FORECAST_STEPS

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
        if entity is not None and "recorder" in self.hass.config.components:
            stats = await get_instance(self.hass).async_add_executor_job(
                statistics_during_period,
                self.hass,
                now - timedelta(days=FORECAST_HISTORY_DAYS),
                None,
                {entity},
                "hour",
                {"energy": "kWh"},
                {"change"},
            )
            rows = [dict(row) for row in stats.get(entity, [])]
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
