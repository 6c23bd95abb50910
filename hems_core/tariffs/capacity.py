"""Capacity (peak) tariffs: their parameters for the optimiser and their state from meter data.

Three designs are covered, each a plain frozen dataclass the optimiser reads:

* :class:`FlandersCapacityTariff`: the month's highest clock-quarter average *import* power,
  floored at 2.5 kW, billed as the mean of the last 12 monthly peaks. Raising this month's peak by
  1 kW costs ``€/kW/yr ÷ 12`` in total, whatever the averaging.
* :class:`SwedishPowerTariff`: the mean of the N (usually 3) highest hourly average powers of the
  month, at most one per day, with time-window weights (Ellevio: 22–06 counts half).
* :class:`DemandCharge`: a plain price per kW of the month's highest quarter.

The state (:class:`FlandersPeakState`, :class:`SwedishPeakState`) is rebuilt from meter data:
quarter-hour averages aligned to clock quarters, from a cumulative import counter (what P1/DSMR
meters report and what the DSO bills) or from power samples. The quarter still running counts
with the energy already drawn in it. Months and days are local (the meter's zone).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, tzinfo
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import PriceDataError
from .timegrid import STEP_S, epoch_s, from_epoch_s

FloatArray = NDArray[np.float64]


# -- parameters ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlandersCapacityTariff:
    """Flemish capacity tariff: ``eur_per_kw_year`` excl. VAT, peaks floored at ``min_kw``."""

    eur_per_kw_year: float
    min_kw: float = 2.5
    vat: float = 0.0

    @property
    def cost_per_kw_month(self) -> float:
        """Total cost of 1 kW more on this month's peak (spread over the next bills), incl. VAT."""
        return self.eur_per_kw_year / 12.0 * (1.0 + self.vat)


@dataclass(frozen=True)
class PowerWindow:
    """A local time window with a weight for the Swedish power tariff (end may wrap midnight)."""

    start: time
    end: time
    weight: float

    def contains(self, t: time) -> bool:
        """Whether local time ``t`` is inside ``[start, end)``."""
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True)
class SwedishPowerTariff:
    """Mean of the ``n_peaks`` highest weighted hourly powers per month (``price_per_kw_month``)."""

    price_per_kw_month: float
    n_peaks: int = 3
    one_peak_per_day: bool = True
    windows: tuple[PowerWindow, ...] = ()
    default_weight: float = 1.0
    months: frozenset[int] = field(default_factory=lambda: frozenset(range(1, 13)))
    weekdays_only: bool = False

    def weight_at(self, local: datetime) -> float:
        """The weight of the hour starting at ``local`` (0 outside charged months/days)."""
        if local.month not in self.months or (self.weekdays_only and local.weekday() >= 5):
            return 0.0
        for w in self.windows:
            if w.contains(local.time()):
                return w.weight
        return self.default_weight

    def weights(self, start: datetime, n: int, tz: tzinfo) -> FloatArray:
        """Weight of every 15-minute step from ``start`` (for the optimiser's peak constraints)."""
        t0 = epoch_s(start)
        return np.array(
            [self.weight_at(from_epoch_s(t0 + i * STEP_S).astimezone(tz)) for i in range(n)],
            dtype=np.float64,
        )


@dataclass(frozen=True)
class DemandCharge:
    """A price per kW of the month's highest quarter-hour import (no floor, no averaging)."""

    price_per_kw_month: float


CapacityTariff = FlandersCapacityTariff | SwedishPowerTariff | DemandCharge


# -- meter data to clock-quarter averages --------------------------------------------------------


@dataclass(frozen=True, eq=False)
class QuarterAverages:
    """Average import power per clock quarter (kW), with the running quarter's energy so far."""

    starts: NDArray[np.int64]  # epoch seconds of each complete quarter
    kw: FloatArray
    running_start: datetime | None = None
    running_kwh: float = 0.0

    def __len__(self) -> int:
        return int(self.starts.size)


def quarters_from_counter(
    times: ArrayLike | list[datetime],
    counter_kwh: ArrayLike,
    max_gap_s: float | None = None,
) -> QuarterAverages:
    """Clock-quarter averages from a cumulative import counter (kWh) read at ``times``.

    ``times`` are aware datetimes or epoch seconds. The counter is interpolated linearly at quarter
    boundaries; only quarters fully inside the readings count as complete, and the energy drawn in
    the last, unfinished quarter is reported as ``running_kwh``. A decreasing counter is an error
    (meter swap or a bad read), as are unsorted or repeated times. With ``max_gap_s``, quarters
    overlapping a longer gap between readings are left out (their energy is known, its shape not).
    """
    t = _epoch_array(times)
    c = np.asarray(counter_kwh, dtype=np.float64)
    if t.size != c.size or t.size < 2:
        raise PriceDataError("format", "need at least two counter readings with one time each")
    if not np.all(np.isfinite(c)):
        raise PriceDataError("nan", "meter counter reading is not a finite number")
    if np.any(np.diff(t) <= 0):
        raise PriceDataError("overlap", "meter readings are not in strictly increasing time order")
    if np.any(np.diff(c) < 0):
        i = int(np.flatnonzero(np.diff(c) < 0)[0])
        raise PriceDataError(
            "format",
            f"import counter decreases at {from_epoch_s(int(t[i + 1])).isoformat()} "
            "(meter swap or bad reading)",
        )
    q0 = -(-int(t[0]) // STEP_S) * STEP_S
    q_last = int(t[-1]) // STEP_S * STEP_S
    bounds = np.arange(q0, q_last + 1, STEP_S, dtype=np.int64)
    at = np.interp(bounds.astype(np.float64), t.astype(np.float64), c)
    kw = np.diff(at) / (STEP_S / 3600.0)
    # Readings all inside one quarter: what they span is drawn in the running quarter.
    running_kwh = float(c[-1] - (at[-1] if bounds.size else c[0]))
    q = QuarterAverages(
        starts=bounds[:-1],
        kw=kw,
        running_start=from_epoch_s(q_last),
        running_kwh=max(0.0, running_kwh),
    )
    return q if max_gap_s is None else _drop_gaps(q, t, max_gap_s)


def quarters_from_power(
    times: ArrayLike | list[datetime], power_kw: ArrayLike, max_gap_s: float = 120.0
) -> QuarterAverages:
    """Clock-quarter averages from import power samples (kW, sample-and-hold).

    A quarter with a sampling gap longer than ``max_gap_s`` is left out rather than guessed (a
    missing quarter must not become a low peak). Negative power (export) counts as zero import.
    """
    t = _epoch_array(times)
    p = np.asarray(power_kw, dtype=np.float64)
    if t.size != p.size or t.size < 2:
        raise PriceDataError("format", "need at least two power samples with one time each")
    if not np.all(np.isfinite(p)):
        raise PriceDataError("nan", "power sample is not a finite number")
    if np.any(np.diff(t) <= 0):
        raise PriceDataError("overlap", "power samples are not in strictly increasing time order")
    p = np.maximum(p, 0.0)
    energy = np.concatenate(([0.0], np.cumsum(p[:-1] * np.diff(t)) / 3600.0))
    return _drop_gaps(quarters_from_counter(t, energy), t, max_gap_s)


def _drop_gaps(q: QuarterAverages, t: NDArray[np.int64], max_gap_s: float) -> QuarterAverages:
    """Leave out quarters that overlap a reading gap longer than ``max_gap_s``."""
    if len(q) == 0:
        return q
    keep = np.ones(len(q), dtype=bool)
    for i in np.flatnonzero(np.diff(t) > max_gap_s):
        lo, hi = t[i], t[i + 1]
        keep &= ~((q.starts < hi) & (q.starts + STEP_S > lo))
    return QuarterAverages(q.starts[keep], q.kw[keep], q.running_start, q.running_kwh)


def _epoch_array(times: ArrayLike | list[datetime]) -> NDArray[np.int64]:
    seq: Any = times if isinstance(times, np.ndarray) else list(times)  # type: ignore[arg-type]
    if len(seq) and isinstance(seq[0], datetime):
        out = []
        for x in seq:
            if not isinstance(x, datetime) or x.tzinfo is None:
                raise PriceDataError("format", "meter times must be timezone-aware")
            out.append(x.timestamp())
        return np.asarray(out, dtype=np.float64).astype(np.int64)
    return np.asarray(seq, dtype=np.float64).astype(np.int64)


# -- Flanders ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlandersPeakState:
    """Month-to-date peak and the last completed monthly peaks (oldest first), in kW."""

    year: int
    month: int
    month_peak_kw: float = 0.0
    month_peak_start: datetime | None = None
    previous_peaks_kw: tuple[float, ...] = ()
    running_start: datetime | None = None
    running_kwh: float = 0.0

    def billed_peak_kw(self, min_kw: float = 2.5) -> float:
        """This month's peak as billed (floored); the optimiser's ``peak_so_far``."""
        return max(self.month_peak_kw, min_kw)

    def average_peak_kw(self, min_kw: float = 2.5, months: int = 12) -> float:
        """Mean of the last ``months`` monthly peaks including this month's, each floored."""
        previous = self.previous_peaks_kw[-(months - 1) :] if months > 1 else ()
        peaks = [*previous, self.month_peak_kw]
        return float(np.mean([max(p, min_kw) for p in peaks]))


def update_flanders(
    state: FlandersPeakState | None, quarters: QuarterAverages, tz: tzinfo, keep: int = 12
) -> FlandersPeakState:
    """Fold complete quarters into the state, rolling months over in local time."""
    st = state
    for s, kw in zip(
        cast(list[int], quarters.starts.tolist()),
        cast(list[float], quarters.kw.tolist()),
        strict=True,
    ):
        local = from_epoch_s(s).astimezone(tz)
        if st is None:
            st = FlandersPeakState(local.year, local.month)
        if (local.year, local.month) != (st.year, st.month):
            if (local.year, local.month) < (st.year, st.month):
                continue  # older than the state: already counted
            prev = (*st.previous_peaks_kw, st.month_peak_kw)[-keep:]
            skipped = (local.year - st.year) * 12 + local.month - st.month - 1
            prev = (*prev, *([0.0] * min(skipped, keep)))[-keep:]
            st = FlandersPeakState(local.year, local.month, previous_peaks_kw=prev)
        if kw > st.month_peak_kw:
            st = FlandersPeakState(st.year, st.month, kw, from_epoch_s(s), st.previous_peaks_kw)
    if st is None:
        raise PriceDataError("incomplete", "no complete quarter in the meter data")
    return FlandersPeakState(
        st.year,
        st.month,
        st.month_peak_kw,
        st.month_peak_start,
        st.previous_peaks_kw,
        quarters.running_start,
        quarters.running_kwh,
    )


# -- Sweden --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SwedishPeakState:
    """The month's weighted hourly peaks so far as (local hour start, kW), oldest first.

    With ``one_peak_per_day`` there is at most one entry per local day (that day's highest hour).
    """

    year: int
    month: int
    peaks: tuple[tuple[datetime, float], ...] = ()

    def top(self, n: int) -> list[float]:
        """The ``n`` largest peaks so far (fewer early in the month)."""
        return sorted((p for _, p in self.peaks), reverse=True)[:n]

    def billed_kw(self, n: int = 3) -> float:
        """Mean of the ``n`` largest peaks, counting missing ones as zero (as on the bill)."""
        return float(sum(self.top(n)) / n) if n > 0 else 0.0

    def threshold_kw(self, n: int = 3) -> float:
        """The n-th largest peak: a new peak only costs where it exceeds this."""
        top = self.top(n)
        return top[-1] if len(top) == n else 0.0


def update_sweden(
    state: SwedishPeakState | None,
    quarters: QuarterAverages,
    tariff: SwedishPowerTariff,
    tz: tzinfo,
) -> SwedishPeakState:
    """Fold complete clock hours (4 complete quarters) into the month's weighted peaks."""
    by_hour: dict[int, list[float]] = {}
    for s, kw in zip(
        cast(list[int], quarters.starts.tolist()),
        cast(list[float], quarters.kw.tolist()),
        strict=True,
    ):
        by_hour.setdefault(s - s % 3600, []).append(kw)

    def key(hour: datetime) -> date | datetime:
        return hour.date() if tariff.one_peak_per_day else hour

    st = state
    peaks: dict[date | datetime, tuple[datetime, float]] = (
        {} if st is None else {key(h): (h, v) for h, v in st.peaks}
    )
    for h in sorted(by_hour):
        vals = by_hour[h]
        if len(vals) != 4:
            continue  # incomplete hour: not metered yet
        local = from_epoch_s(h).astimezone(tz)
        if st is None:
            st = SwedishPeakState(local.year, local.month)
        if (local.year, local.month) != (st.year, st.month):
            if (local.year, local.month) < (st.year, st.month):
                continue
            st = SwedishPeakState(local.year, local.month)
            peaks = {}
        w = tariff.weight_at(local) * float(np.mean(vals))
        k = key(local)
        if k not in peaks or w > peaks[k][1]:
            peaks[k] = (local, w)
    if st is None:
        raise PriceDataError("incomplete", "no complete hour in the meter data")
    return SwedishPeakState(st.year, st.month, tuple(sorted(peaks.values())))
