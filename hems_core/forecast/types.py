"""The value the optimiser consumes: a quantile forecast on the 15-minute grid."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from .errors import ForecastInputError
from .timegrid import STEP_H, STEP_S, FloatArray, IntArray, from_epoch_s, grid_epochs

RECORDER_ATTRIBUTE_LIMIT = 16384
"""Home Assistant's recorder limit for a state's attributes (bytes of JSON)."""


def _frozen(arr: FloatArray) -> FloatArray:
    out = np.array(arr, dtype=np.float64, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True, slots=True)
class QuantileForecast:
    """Average power per 15-minute step, as three quantiles.

    ``start`` is the UTC start of the first step, always on a clock quarter. Arrays hold **average
    kW** over each step (multiply by 0.25 for kWh); they are read-only, equally long, finite,
    non-negative and ordered ``p10 <= p50 <= p90`` step by step. ``source`` names where each step
    came from (e.g. ``"solcast"``, ``"clearsky"``), so the planner and the UI can show a fallback.

    Which quantile is the cautious one depends on the quantity: for household load it is P90 (the
    peak constraint must hold when the evening is heavier than usual), for PV it is P10.
    """

    start: datetime
    p10: FloatArray
    p50: FloatArray
    p90: FloatArray
    source: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ForecastInputError("forecast start must be timezone-aware")
        epoch = int(self.start.timestamp())
        if epoch % STEP_S:
            raise ForecastInputError(f"forecast start {self.start} is not on a clock quarter")
        n = len(self.p50)
        arrays = {}
        for name in ("p10", "p50", "p90"):
            arr = np.asarray(getattr(self, name), dtype=np.float64)
            if arr.ndim != 1 or arr.size != n:
                raise ForecastInputError(f"{name} must be 1-D with {n} steps")
            if not np.all(np.isfinite(arr)):
                raise ForecastInputError(f"{name} contains NaN or infinity")
            if np.any(arr < 0):
                raise ForecastInputError(f"{name} contains negative power")
            arrays[name] = arr
        if np.any(arrays["p10"] > arrays["p50"] + 1e-9) or np.any(
            arrays["p50"] > arrays["p90"] + 1e-9
        ):
            raise ForecastInputError("quantiles must be ordered p10 <= p50 <= p90")
        if len(self.source) != n:
            raise ForecastInputError(f"source must name each of the {n} steps")
        for name, arr in arrays.items():
            object.__setattr__(self, name, _frozen(arr))
        object.__setattr__(self, "start", from_epoch_s(epoch))

    @property
    def steps(self) -> int:
        """Number of 15-minute steps."""
        return int(self.p50.size)

    @property
    def end(self) -> datetime:
        """UTC end of the last step."""
        return self.start + timedelta(seconds=STEP_S * self.steps)

    def epochs(self) -> IntArray:
        """Epoch seconds of each step start."""
        return grid_epochs(int(self.start.timestamp()), self.steps)

    def energy_kwh(self, quantile: str = "p50") -> FloatArray:
        """kWh per step for one quantile (``"p10"``, ``"p50"`` or ``"p90"``)."""
        if quantile not in ("p10", "p50", "p90"):
            raise ForecastInputError(f"unknown quantile {quantile!r}")
        arr: FloatArray = getattr(self, quantile) * STEP_H
        return arr

    def as_dict(self, *, decimals: int = 3) -> dict[str, Any]:
        """A compact JSON-able form (for Home Assistant attributes and ``hems.get_plan``)."""
        return {
            "start": self.start.isoformat(),
            "step_minutes": STEP_S // 60,
            "unit": "kW",
            "p10": [round(float(v), decimals) for v in self.p10],
            "p50": [round(float(v), decimals) for v in self.p50],
            "p90": [round(float(v), decimals) for v in self.p90],
            "sources": sorted(set(self.source)),
            "notes": list(self.notes),
        }

    def as_attributes(self, max_bytes: int = RECORDER_ATTRIBUTE_LIMIT) -> dict[str, Any]:
        """:meth:`as_dict` shrunk until its JSON fits ``max_bytes``.

        Home Assistant's recorder drops state attributes above 16 KiB, so first precision is
        reduced (3 → 1 decimals), then steps are averaged to hours, then P10 is dropped.
        """
        for decimals in (3, 2, 1):
            d = self.as_dict(decimals=decimals)
            if _json_size(d) <= max_bytes:
                return d
        hourly = self.as_dict(decimals=1)
        n = self.steps - self.steps % 4
        for key in ("p10", "p50", "p90"):
            arr = getattr(self, key)[:n].reshape(-1, 4).mean(axis=1)
            hourly[key] = [round(float(v), 1) for v in arr]
        hourly["step_minutes"] = 60
        if _json_size(hourly) <= max_bytes:
            return hourly
        del hourly["p10"]
        while _json_size(hourly) > max_bytes and hourly["p50"]:
            hourly["p50"] = hourly["p50"][:-1]
            hourly["p90"] = hourly["p90"][:-1]
        return hourly


def _json_size(d: dict[str, Any]) -> int:
    return len(json.dumps(d, separators=(",", ":")).encode())
