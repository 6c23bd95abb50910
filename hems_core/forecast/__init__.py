"""Forecasts for the planner: household load, PV, EV habits — with measured accuracy.

- :mod:`.load` — household load (without EV and battery) from 15-minute history: similar-day
  weighted quantiles (recency, weekday, holidays), blended with the last hours, optional
  temperature sensitivity. :func:`forecast_load`.
- :mod:`.pv` — PV from Home Assistant forecast sources (Forecast.Solar ``wh_hours``, Solcast's
  ``detailedForecast`` attributes with P10/P50/P90) with a clear-sky fallback whose cloudiness
  correction is learned from measured production. :func:`forecast_pv`.
- :mod:`.ev` — plug-in, departure and energy-need habits per vehicle and weekday.
- :mod:`.evaluate` — rolling-origin evaluation against naive baselines (``hems forecast evaluate``).

Measured (``hems forecast evaluate --history
../shared/data/household_load_be_fluvius_2022_15min.csv --json``, 1,341 origins every 6 h over
2022, 24 h ahead, kWh per quarter-hour): MAE 0.0425 vs 0.0644 (yesterday) and 0.0605 (last week),
P90 coverage 0.899. PV fallback on Utrecht 2014–2017 (``hems forecast evaluate-pv``): hourly MAE
0.0559 vs 0.0611 kWh/kWp for "same as yesterday".

Home Assistant glue: :func:`.history.from_statistics_rows` turns recorder statistics into interval
energies, :func:`derive_household_load` removes EV and battery from the meter balance, and
:meth:`QuantileForecast.as_attributes` fits a forecast into the recorder's attribute limit.

Every forecast is a :class:`QuantileForecast`: average kW per 15-minute step (P10/P50/P90 numpy
arrays, read-only) from a UTC quarter boundary — what :mod:`hems_core.optimize` consumes.

The **price tail** beyond the published day-ahead horizon is *not* here: one implementation for the
project lives in :mod:`hems_core.tariffs.tail` (prices are a tariff concern; the planner asks the
tariffs package for a full-horizon price series).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import ForecastError, ForecastInputError, InsufficientHistoryError
    from .ev import ChargingSession, DepartureEstimate, EvHabits, learn_habits
    from .load import (
        LoadForecastConfig,
        derive_household_load,
        fallback_load_forecast,
        forecast_load,
    )
    from .pv import ClearSkyPv, PvCorrection, PvSource, forecast_pv, learn_pv_correction
    from .types import QuantileForecast

# Lazy exports: ``hems --help`` imports ``hems_core.forecast.cli`` and must not pay for numpy.
_EXPORTS = {
    "ForecastError": "errors",
    "ForecastInputError": "errors",
    "InsufficientHistoryError": "errors",
    "ChargingSession": "ev",
    "DepartureEstimate": "ev",
    "EvHabits": "ev",
    "learn_habits": "ev",
    "LoadForecastConfig": "load",
    "derive_household_load": "load",
    "fallback_load_forecast": "load",
    "forecast_load": "load",
    "ClearSkyPv": "pv",
    "PvCorrection": "pv",
    "PvSource": "pv",
    "forecast_pv": "pv",
    "learn_pv_correction": "pv",
    "QuantileForecast": "types",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "ChargingSession",
    "ClearSkyPv",
    "DepartureEstimate",
    "EvHabits",
    "ForecastError",
    "ForecastInputError",
    "InsufficientHistoryError",
    "LoadForecastConfig",
    "PvCorrection",
    "PvSource",
    "QuantileForecast",
    "derive_household_load",
    "fallback_load_forecast",
    "forecast_load",
    "forecast_pv",
    "learn_habits",
    "learn_pv_correction",
]
