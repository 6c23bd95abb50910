"""Per-solve data: time series over the horizon (:class:`Inputs`) and measured :class:`State`.

The optimiser takes plain numpy arrays so it does not depend on how prices or forecasts were
made. One value per step; step 0 runs from ``start`` to the next clock quarter (it may be a
partial quarter), every later step is a full clock quarter.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from ..model import ModelError
from ..timegrid import STEP, STEP_H, STEP_S, floor_quarter_s

__all__ = [
    "MAX_STEPS",
    "STEP",
    "STEP_H",
    "FloatArray",
    "InputError",
    "Inputs",
    "State",
    "local_calendar",
    "local_offsets",
    "quantile_linear",
    "step_edges",
    "tiered_edges",
]

#: Longest horizon in quarters: 72 h (a 15-minute grid that long is the reference the
#: multi-tier grid of :mod:`hems_core.optimize.tiers` is measured against).
MAX_STEPS = 288

FloatArray = NDArray[np.float64]


class InputError(ModelError):
    """Per-solve inputs or state are invalid (wrong length, NaN, unknown vehicle …)."""


def step_edges(start: datetime, steps: int) -> tuple[NDArray[np.int64], FloatArray]:
    """Step boundaries as UTC epoch seconds (``steps + 1`` values) and step lengths in hours.

    The first edge is ``start`` truncated to the second; the others are clock quarters.
    """
    start_s = int(start.timestamp())
    edges = floor_quarter_s(start_s) + STEP_S * np.arange(steps + 1, dtype=np.int64)
    edges[0] = start_s
    dt: FloatArray = np.diff(edges).astype(np.float64)
    dt /= 3600.0
    return np.asarray(edges, dtype=np.int64), dt


def tiered_edges(
    start: datetime, quarters: NDArray[np.int64]
) -> tuple[NDArray[np.int64], FloatArray]:
    """Like :func:`step_edges` for steps of ``quarters[k]`` clock quarters each.

    Step 0 is the running (possibly partial) quarter; with all ones this equals
    :func:`step_edges`.
    """
    start_s = int(start.timestamp())
    edges = floor_quarter_s(start_s) + STEP_S * np.concatenate(
        [[0], np.cumsum(quarters, dtype=np.int64)]
    )
    edges[0] = start_s
    dt: FloatArray = np.diff(edges).astype(np.float64)
    dt /= 3600.0
    return np.asarray(edges, dtype=np.int64), dt


def local_offsets(tz: str, epoch_s: NDArray[np.int64]) -> NDArray[np.int64]:
    """UTC offsets (seconds) of ``tz`` at each instant, without a per-instant loop.

    Offsets change at most once within 72 h in every real zone, so the offset is read at
    both ends and, if they differ, the transition is found by bisection (about 18 look-ups).
    """
    zone = ZoneInfo(tz)

    def off(t: int) -> int:
        d = datetime.fromtimestamp(t, UTC).astimezone(zone).utcoffset()
        return 0 if d is None else int(d.total_seconds())

    lo, hi = int(epoch_s[0]), int(epoch_s[-1])
    o_lo, o_hi = off(lo), off(hi)
    if o_lo == o_hi:
        return np.full(epoch_s.shape, o_lo, dtype=np.int64)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if off(mid) == o_lo:
            lo = mid
        else:
            hi = mid
    return np.where(epoch_s >= hi, o_hi, o_lo).astype(np.int64)


def local_calendar(
    tz: str, epoch_s: NDArray[np.int64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Local (month index, day index, hour of day) for each instant, vectorised."""
    local = epoch_s + local_offsets(tz, epoch_s)
    t64 = local.astype("datetime64[s]")
    month = t64.astype("datetime64[M]").astype(np.int64)
    day = t64.astype("datetime64[D]").astype(np.int64)
    hour = (local // 3600) % 24
    return month, day, hour


def quantile_linear(values: FloatArray, q: float) -> float:
    """``np.quantile(values, q)`` (method "linear"), bit for bit, without its overhead.

    The planner asks for the lower quartile of prices several times per plan and numpy's
    generic path costs ~80 us a call; this sorts once and interpolates like numpy's ``_lerp``
    (``a + d*t`` below ``t = 0.5``, ``b - d*(1-t)`` from it), so the values are identical.
    """
    n = int(values.shape[0])
    if n == 0:
        raise InputError("quantile of an empty series")
    srt = np.sort(values)
    v = float((n - 1) * q)
    lo = math.floor(v)
    hi = min(lo + 1, n - 1)
    a, b = float(srt[lo]), float(srt[hi])
    t = v - lo
    d = b - a
    return b - d * (1.0 - t) if t >= 0.5 else a + d * t


def _series(name: str, value: Any, steps: int | None, *, nonneg: bool = False) -> FloatArray:
    arr = np.array(value, dtype=np.float64, copy=True).reshape(-1)
    if steps is not None and arr.shape[0] != steps:
        raise InputError(f"{name} has {arr.shape[0]} values, expected {steps}")
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{name} contains NaN or infinite values")
    if nonneg and np.any(arr < 0):
        raise InputError(f"{name} must be >= 0")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Inputs:
    """Time series over the horizon (one value per step, ``len == steps``).

    ``import_price``/``export_price`` are all-in EUR/kWh (taxes, fees, VAT as applicable);
    ``load_kw``/``pv_kw`` are mean powers forecast for each step. ``import_cap_kw`` is an optional
    time-varying import cap (DSO dimming); ``temperature_factor`` multiplies the calendar-ageing
    cost per step (1 = reference temperature). ``peak_margin_kw`` is headroom kept under the
    month's peak in each step (kW, >= 0): the load and PV forecasts are medians, and a plan that
    fills the peak budget with the median leaves nothing for a kettle, so the planned import
    plus the margin must fit under the peak it pays for. ``terminal_value_eur_per_kwh`` values
    energy left in storage at the end (default: the lower quartile of import prices, i.e. what
    refilling at a cheap time would cost).
    """

    start: datetime
    import_price: FloatArray
    export_price: FloatArray
    load_kw: FloatArray
    pv_kw: FloatArray
    import_cap_kw: FloatArray | None = None
    temperature_factor: FloatArray | None = None
    terminal_value_eur_per_kwh: float | None = None
    peak_margin_kw: FloatArray | None = None

    def __post_init__(self) -> None:
        if (
            not isinstance(self.start, datetime)
            or self.start.tzinfo is None
            or self.start.utcoffset() is None
        ):
            raise InputError("Inputs.start must be a timezone-aware datetime")
        imp = _series("import_price", self.import_price, None)
        n = imp.shape[0]
        if not 1 <= n <= MAX_STEPS:
            raise InputError(f"horizon must have 1..{MAX_STEPS} steps, got {n}")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "import_price", imp)
        object.__setattr__(self, "export_price", _series("export_price", self.export_price, n))
        object.__setattr__(self, "load_kw", _series("load_kw", self.load_kw, n, nonneg=True))
        object.__setattr__(self, "pv_kw", _series("pv_kw", self.pv_kw, n, nonneg=True))
        if self.import_cap_kw is not None:
            cap = _series("import_cap_kw", self.import_cap_kw, n, nonneg=True)
            object.__setattr__(self, "import_cap_kw", cap)
        if self.temperature_factor is not None:
            tf = _series("temperature_factor", self.temperature_factor, n, nonneg=True)
            object.__setattr__(self, "temperature_factor", tf)
        if self.peak_margin_kw is not None:
            pm = _series("peak_margin_kw", self.peak_margin_kw, n, nonneg=True)
            object.__setattr__(self, "peak_margin_kw", pm)
        tv = self.terminal_value_eur_per_kwh
        if tv is not None and (not isinstance(tv, int | float) or not math.isfinite(tv)):
            raise InputError("terminal_value_eur_per_kwh must be a finite number")

    @property
    def steps(self) -> int:
        """Number of steps in the horizon."""
        return int(self.import_price.shape[0])

    def terminal_value(self) -> float:
        """EUR per kWh of stored energy left at the end of the horizon."""
        if self.terminal_value_eur_per_kwh is not None:
            return float(self.terminal_value_eur_per_kwh)
        # Asked up to three times per plan (shifted-reuse check, numbers, reasons): once.
        got: float | None = self.__dict__.get("_tval")
        if got is None:
            got = max(0.0, quantile_linear(self.import_price, 0.25))
            object.__setattr__(self, "_tval", got)
        return got


@dataclass(frozen=True, eq=False)
class State:
    """What is measured now.

    - ``ev_soc``: SoC (0..1) per EV name; for a car that is away, its last known SoC (the trip
      energy is subtracted on return).
    - ``ev_plugged``: overrides availability *now*: ``False`` with no trip covering now means
      the car is away for the whole horizon; ``True`` ignores a trip that covers now.
    - ``battery_soc``: home battery SoC (required when the site has one).
    - ``month_peak_kw``: highest 15-min import power this month so far (monthly peak tariff).
    - ``quarter_import_kwh``: energy already imported in the running quarter (counts toward the
      first step's quarter average).
    - ``hour_import_kwh``, ``today_peak_kw``, ``month_daily_peaks_kw``: the same for the
      Swedish top-peaks tariff (today's weighted hourly peak so far; completed days' peaks).
    """

    ev_soc: Mapping[str, float] = field(default_factory=dict)
    ev_plugged: Mapping[str, bool] = field(default_factory=dict)
    battery_soc: float | None = None
    month_peak_kw: float = 0.0
    quarter_import_kwh: float = 0.0
    hour_import_kwh: float = 0.0
    today_peak_kw: float = 0.0
    month_daily_peaks_kw: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for name, soc in self.ev_soc.items():
            if not isinstance(soc, int | float) or not (0.0 <= soc <= 1.0):
                raise InputError(f"ev_soc[{name}] must be within [0, 1], got {soc!r}")
        if self.battery_soc is not None and not 0.0 <= self.battery_soc <= 1.0:
            raise InputError(f"battery_soc must be within [0, 1], got {self.battery_soc!r}")
        for fname in ("month_peak_kw", "quarter_import_kwh", "hour_import_kwh", "today_peak_kw"):
            v = getattr(self, fname)
            if not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise InputError(f"{fname} must be a finite number >= 0, got {v!r}")
        for v in self.month_daily_peaks_kw:
            if not math.isfinite(v) or v < 0:
                raise InputError("month_daily_peaks_kw must hold finite numbers >= 0")
