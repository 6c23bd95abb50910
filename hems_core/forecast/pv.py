"""PV forecast: Home Assistant forecast sources first, a learned clear-sky model as the fallback.

Sources, in order of preference (per 15-minute step, so a short source is extended, not dropped):

1. **Solcast** (the ``solcast_solar`` custom integration): the ``detailedForecast`` attribute of its
   forecast sensors (or ``detailedHourly``), a list of ``{"period_start", "pv_estimate",
   "pv_estimate10", "pv_estimate90"}`` — average **kW** over a 30-minute (hourly) period starting
   at ``period_start`` (a datetime inside HA, an ISO string through the REST API / recorder).
   It carries P10/P50/P90 itself.
2. **Forecast.Solar** (core integration): the energy platform's ``{"wh_hours": {iso_ts: Wh}}``.
   Its values are Forecast.Solar's ``watt_hours_period``: energy of the period **ending** at the
   timestamp (sunrise and sunset make the first and last period of a day shorter than an hour;
   checked against the library's fixture, where 06:20→07:00 ramps 0→270 W and gives 89 Wh).
   Some other integrations label by period start: pass ``label="start"``. It has no quantiles:
   P10/P90 come from the learned day-to-day spread (:class:`PvCorrection`) or default ratios.
3. **Clear sky × learned cloudiness** (:class:`ClearSkyPv`, :func:`learn_pv_correction`): solar
   geometry and a simple clear-sky irradiance model on the configured panel orientation, scaled by
   what the measured production says — a calibration factor (shading, soiling, kWp rating, inverter
   limits: the clear days' ratio of measured to modelled energy) and the recent distribution of
   daily clearness (P10/P50/P90), nudged toward today's clearness so far.
4. **Nothing known** (no orientation configured): zero PV, source ``"none"`` — planning as if the
   sun will not shine is the safe side for the import peak.

A source is **stale** when issued more than ``max_age`` before ``now`` (default 12 h; Solcast's
hobby tier refreshes a few times a day) and then ignored; malformed entries are skipped and
counted in the notes. Nothing here raises for a missing, stale or broken source — the result
always has every step, and ``source``/``notes`` say what was used.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from .errors import ForecastInputError
from .timegrid import (
    STEP_H,
    STEP_S,
    FloatArray,
    IntArray,
    TimestampLike,
    floor_quarter_s,
    from_epoch_s,
    grid_epochs,
    to_epoch_array,
    to_epoch_s,
    to_quarter_grid,
    values_array,
)
from .types import QuantileForecast

DEFAULT_MAX_AGE: Final = timedelta(hours=12)
#: Spread around a P50-only source (Forecast.Solar): P10 = 0.5 × P50, P90 = 1.25 × P50.
DEFAULT_P10_RATIO: Final = 0.5
DEFAULT_P90_RATIO: Final = 1.25


# --------------------------------------------------------------------------------------------
# Source adapters: payload -> list of periods (start epoch, end epoch, p10, p50, p90 kW)


@dataclass(frozen=True, slots=True)
class Periods:
    """Parsed forecast periods: average kW per period; ``skipped`` malformed entries."""

    start: IntArray
    end: IntArray
    p10: FloatArray
    p50: FloatArray
    p90: FloatArray
    skipped: int = 0
    zero_outside: tuple[int, int] | None = None
    """(from, to) epoch span inside which uncovered time is known to be zero (night)."""


def _num(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def parse_solcast(entries: Iterable[Any] | Mapping[str, Any] | None) -> Periods:
    """Parse Solcast ``detailedForecast`` / ``detailedHourly`` entries (see module docstring).

    The period length is the typical spacing of ``period_start`` (30 min for ``detailedForecast``,
    60 for ``detailedHourly``; 30 when there is a single entry). Missing ``pv_estimate10``/``90``
    fall back to ``pv_estimate``. The sensor's whole attribute mapping is accepted too (its
    ``detailedForecast``, else ``detailedHourly``, is used).
    """
    if isinstance(entries, Mapping):
        entries = entries.get("detailedForecast", entries.get("detailedHourly"))
    if entries is None:
        return _empty(0)
    if not isinstance(entries, list | tuple):
        return _empty(1)
    starts: list[int] = []
    p10: list[float] = []
    p50: list[float] = []
    p90: list[float] = []
    skipped = 0
    for e in entries:
        if not isinstance(e, Mapping):
            skipped += 1
            continue
        mid = _num(e.get("pv_estimate"))
        raw_start = e.get("period_start")
        if mid is None or raw_start is None:
            skipped += 1
            continue
        try:
            t = to_epoch_s(raw_start)
        except ForecastInputError:
            skipped += 1
            continue
        lo = _num(e.get("pv_estimate10"))
        hi = _num(e.get("pv_estimate90"))
        starts.append(t)
        p50.append(max(mid, 0.0))
        p10.append(max(lo if lo is not None else mid, 0.0))
        p90.append(max(hi if hi is not None else mid, 0.0))
    if not starts:
        return _empty(skipped)
    s = np.array(starts, dtype=np.int64)
    # The glue may concatenate the per-day sensors' lists, which can overlap: keep one entry per
    # period start (the last given, i.e. the newest list), or overlapping energy would add up.
    rev_unique, rev_idx = np.unique(s[::-1], return_index=True)
    order = (s.size - 1 - rev_idx).astype(np.int64)
    skipped += s.size - rev_unique.size
    s = s[order]
    diffs = np.diff(s)
    length = int(np.median(diffs[diffs > 0])) if np.any(diffs > 0) else 1800
    length = min(max(length, 300), 3600)
    a10, a50, a90 = (np.array(x)[order] for x in (p10, p50, p90))
    q = np.sort(np.vstack([a10, a50, a90]), axis=0)
    return Periods(s, s + length, q[0], q[1], q[2], skipped)


def parse_forecast_solar(
    payload: Mapping[str, Any] | None, *, label: str = "end", max_period: int = 3600
) -> Periods:
    """Parse a Forecast.Solar energy-platform payload ``{"wh_hours": {timestamp: Wh}}``.

    Also accepts the bare ``{timestamp: Wh}`` mapping. With ``label="end"`` each value is the
    energy since the previous timestamp (at most ``max_period`` back: the first value after the
    night covers at most an hour); with ``label="start"`` it is the energy of the hour starting
    at the timestamp. Time between the first and last period that no period covers is night (0).
    """
    if label not in ("end", "start"):
        raise ForecastInputError(f"label must be 'end' or 'start', got {label!r}")
    if payload is None:
        return _empty(0)
    raw = payload.get("wh_hours", payload) if isinstance(payload, Mapping) else None
    if not isinstance(raw, Mapping):
        return _empty(1)
    items: list[tuple[int, float]] = []
    skipped = 0
    for k, v in raw.items():
        wh = _num(v)
        if wh is None:
            skipped += 1
            continue
        try:
            items.append((to_epoch_s(k), max(wh, 0.0)))
        except ForecastInputError:
            skipped += 1
    if not items:
        return _empty(skipped)
    items.sort()
    t = np.array([i[0] for i in items], dtype=np.int64)
    wh_arr = np.array([i[1] for i in items])
    t, first = np.unique(t, return_index=True)  # the same instant written with two offsets
    skipped += len(items) - t.size
    wh_arr = wh_arr[first]
    if label == "end":
        prev = np.concatenate([[t[0] - max_period], t[:-1]])
        start = np.maximum(prev, t - max_period)
        end = t
    else:
        nxt = np.concatenate([t[1:], [t[-1] + max_period]])
        start = t
        end = np.minimum(nxt, t + max_period)
    dur_h = (end - start) / 3600.0
    keep = dur_h > 0
    kw = np.where(keep, wh_arr / 1000.0 / np.where(keep, dur_h, 1.0), 0.0)
    return Periods(
        start[keep],
        end[keep],
        kw[keep],
        kw[keep],
        kw[keep],
        skipped,
        zero_outside=(int(start[0]), int(end[-1])),
    )


def _empty(skipped: int) -> Periods:
    z = np.zeros(0)
    zi = np.zeros(0, dtype=np.int64)
    return Periods(zi, zi, z, z, z, skipped)


def periods_to_grid(periods: Periods, start: int, steps: int) -> tuple[FloatArray, FloatArray]:
    """Average kW per 15-minute step (3 × steps) and the covered fraction of each step.

    Steps covered less than half are NaN (left to the next source). Steps touching the
    ``zero_outside`` span count uncovered time as zero power (night) and are always valid.
    """
    edges = grid_epochs(start, steps + 1)
    lo, hi = edges[:-1], edges[1:]
    # overlap seconds of each step with each period (steps × periods); periods are few (<= ~400)
    ov = np.clip(
        np.minimum(hi[:, None], periods.end[None, :])
        - np.maximum(lo[:, None], periods.start[None, :]),
        0,
        None,
    ).astype(np.float64)
    covered = ov.sum(axis=1)
    energy = np.vstack([ov @ periods.p10, ov @ periods.p50, ov @ periods.p90])  # kW·s
    frac = covered / STEP_S
    with np.errstate(invalid="ignore", divide="ignore"):
        kw = np.where(frac >= 0.5, energy / np.maximum(covered, 1.0), np.nan)
    if periods.zero_outside is not None:
        # Inside the source's span, time no period covers is night: the step average counts it
        # as zero, which keeps the energy of the short sunrise/sunset periods.
        z0, z1 = periods.zero_outside
        inside = np.clip(np.minimum(hi, z1) - np.maximum(lo, z0), 0, None).astype(np.float64)
        touched = inside > 0
        kw = np.where(touched[None, :], energy / STEP_S, kw)
        frac = np.where(touched, 1.0, frac)
    return kw, frac


# --------------------------------------------------------------------------------------------
# Clear-sky model and the learned cloudiness correction


@dataclass(frozen=True, slots=True)
class ClearSkyPv:
    """A PV array: location, orientation (azimuth 180 = south, tilt 0 = flat) and size.

    The clear-sky model is deliberately simple (Haurwitz global irradiance, Meinel beam with the
    Kasten–Young air mass, isotropic sky, ground albedo 0.2): its systematic error is absorbed by
    the calibration learned from measured production.
    """

    latitude: float
    longitude: float
    tilt_deg: float
    azimuth_deg: float
    kwp: float
    performance_ratio: float = 0.85

    def __post_init__(self) -> None:
        if not -90 <= self.latitude <= 90 or not -180 <= self.longitude <= 180:
            raise ForecastInputError("latitude/longitude out of range")
        if not 0 <= self.tilt_deg <= 90:
            raise ForecastInputError("tilt_deg must be within 0..90")
        if not 0 <= self.azimuth_deg <= 360:
            raise ForecastInputError("azimuth_deg must be within 0..360 (180 = south)")
        if not self.kwp > 0 or not 0 < self.performance_ratio <= 1.2:
            raise ForecastInputError("kwp must be > 0 and performance_ratio within (0, 1.2]")

    def power_at(self, epochs: npt.NDArray[np.floating[Any]] | IntArray) -> FloatArray:
        """Clear-sky AC power (kW) at instants (epoch seconds, may be fractional)."""
        t = np.asarray(epochs, dtype=np.float64)
        cos_z, sun_az = solar_position(t, self.latitude, self.longitude)
        up = cos_z > 0.01
        cz = np.where(up, cos_z, 1.0)
        ghi = np.where(up, 1098.0 * cz * np.exp(-0.057 / cz), 0.0)
        zen_deg = np.degrees(np.arccos(np.clip(cz, -1, 1)))
        air_mass = 1.0 / (cz + 0.50572 * np.power(np.maximum(96.07995 - zen_deg, 0.1), -1.6364))
        dni = np.where(up, 1353.0 * np.power(0.7, np.power(air_mass, 0.678)), 0.0)
        dni = np.minimum(dni, ghi / cz)
        dhi = np.maximum(ghi - dni * cz, 0.0)
        beta = math.radians(self.tilt_deg)
        sin_z = np.sqrt(np.maximum(1 - cz**2, 0.0))
        cos_aoi = cz * math.cos(beta) + sin_z * math.sin(beta) * np.cos(
            np.radians(sun_az - self.azimuth_deg)
        )
        poa = (
            dni * np.maximum(cos_aoi, 0.0)
            + dhi * (1 + math.cos(beta)) / 2
            + ghi * 0.2 * (1 - math.cos(beta)) / 2
        )
        out: FloatArray = np.where(up, self.kwp * poa / 1000.0 * self.performance_ratio, 0.0)
        return out

    def step_kw(self, start: int, steps: int) -> FloatArray:
        """Clear-sky average kW per 15-minute step (five samples per step).

        From clock quarters the values are kept per array (:data:`_CLEAR`): a backtest asks
        every quarter for the next two days and every day for the last month, nearly all of it
        asked before. The same per-quarter computation either way (equal to rounding, tested).
        """
        start, steps = int(start), int(steps)
        if start % STEP_S or steps < 1 or steps > _CLEAR_MAX:
            return self._step_kw(start, steps)
        q0, q1 = start // STEP_S, start // STEP_S + steps
        have = _CLEAR.get(self)
        if have is None or q0 < have[0] or q1 > have[0] + have[1].shape[0]:
            lo, hi = q0, q1
            if have is not None and max(q1, have[0] + have[1].shape[0]) - min(q0, have[0]) <= (
                _CLEAR_MAX
            ):
                h0, table = have
                lo, hi = min(q0, h0), max(q1, h0 + table.shape[0])
                parts = []
                if lo < h0:
                    parts.append(self._step_kw(lo * STEP_S, h0 - lo))
                parts.append(table)
                if hi > h0 + table.shape[0]:
                    end = h0 + table.shape[0]
                    parts.append(self._step_kw(end * STEP_S, hi - end))
                have = (lo, np.concatenate(parts))
            else:
                have = (lo, self._step_kw(lo * STEP_S, hi - lo))
            _CLEAR[self] = have
        h0, table = have
        out: FloatArray = table[q0 - h0 : q1 - h0].copy()
        return out

    def _step_kw(self, start: int, steps: int) -> FloatArray:
        centres = start + STEP_S * (np.arange(steps)[:, None] + (np.arange(5)[None, :] + 0.5) / 5)
        out: FloatArray = self.power_at(centres.ravel()).reshape(steps, 5).mean(axis=1)
        return out


#: Clear-sky kW per quarter by array: (first quarter index, values), grown as asked.
_CLEAR: dict[ClearSkyPv, tuple[int, FloatArray]] = {}
#: Quarters one table may span (two years).
_CLEAR_MAX = 2 * 366 * 96


def solar_position(
    epochs: FloatArray, latitude: float, longitude: float
) -> tuple[FloatArray, FloatArray]:
    """Cosine of the solar zenith and solar azimuth (degrees from north, clockwise).

    Spencer's (1971) series for declination and the equation of time: accurate to a few tenths
    of a degree, far better than the uncertainty of any cloud forecast.
    """
    d64 = (epochs.astype(np.int64)).astype("datetime64[s]")
    year_start = d64.astype("datetime64[Y]").astype("datetime64[s]")
    doy = (d64 - year_start).astype(np.int64) / 86400.0  # fractional, 0 at Jan 1 00:00 UTC
    gamma = 2 * np.pi / 365.0 * doy
    decl = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    utc_min = (epochs % 86400) / 60.0
    true_solar = utc_min + eqtime + 4.0 * longitude
    ha = np.radians(true_solar / 4.0 - 180.0)
    lat = math.radians(latitude)
    cos_z = math.sin(lat) * np.sin(decl) + math.cos(lat) * np.cos(decl) * np.cos(ha)
    az = np.degrees(
        np.arctan2(np.sin(ha), np.cos(ha) * math.sin(lat) - np.tan(decl) * math.cos(lat))
    )
    return cos_z, (az + 180.0) % 360.0


@dataclass(frozen=True, slots=True)
class PvCorrection:
    """What measured production taught us about the clear-sky model.

    ``scale``: measured ÷ modelled energy on clear days (calibration). ``k10/k50/k90``: quantiles
    of the daily clearness (measured ÷ calibrated clear-sky energy) over the recent days.
    ``today``: today's clearness so far (``None`` before enough daylight was measured).
    """

    scale: float = 1.0
    k10: float = 0.2
    k50: float = 0.6
    k90: float = 0.95
    today: float | None = None
    days: int = 0

    def __post_init__(self) -> None:
        if not (self.scale > 0 and 0 <= self.k10 <= self.k50 <= self.k90):
            raise ForecastInputError("PvCorrection needs scale > 0 and 0 <= k10 <= k50 <= k90")


#: Used before any measurement was learned: a typical Benelux spread of daily clearness.
DEFAULT_CORRECTION: Final = PvCorrection()

#: Daily clearness (measured ÷ this module's clear-sky energy) per calendar month, P10/P50/P90,
#: from a measured Utrecht rooftop system (Visser et al., doi:10.1016/j.rser.2024.115044, data
#: in giumonros/Measured-vs-simulated-PV, MIT; 1.9 kWp, tilt 30°, azimuth 170°, hourly
#: 2014–2017, 113–124 complete days per month; the six weeks of 2015 under tests/core/forecast/
#: data are an excerpt). It holds the climate (winter days are
#: mostly overcast: December's median day gives a fifth of the clear-sky energy) and a typical
#: system's losses, so it is where a site starts until its own production has been learnt.
CLIMATE_CLEARNESS: Final[dict[int, tuple[float, float, float]]] = {
    1: (0.05, 0.27, 0.84),
    2: (0.09, 0.40, 0.93),
    3: (0.22, 0.65, 1.00),
    4: (0.30, 0.66, 0.93),
    5: (0.26, 0.61, 0.88),
    6: (0.30, 0.56, 0.83),
    7: (0.29, 0.60, 0.79),
    8: (0.25, 0.62, 0.85),
    9: (0.28, 0.58, 0.88),
    10: (0.13, 0.45, 0.85),
    11: (0.06, 0.29, 0.84),
    12: (0.04, 0.20, 0.73),
}


def climate_correction(now: TimestampLike, latitude: float = 52.0, days: int = 0) -> PvCorrection:
    """The climatological clearness of ``now``'s month (seasons flipped south of the equator)."""
    month = datetime.fromtimestamp(to_epoch_s(now), UTC).month
    if latitude < 0:
        month = (month + 5) % 12 + 1
    k10, k50, k90 = CLIMATE_CLEARNESS[month]
    return PvCorrection(k10=k10, k50=k50, k90=k90, days=days)


def learn_pv_correction(
    model: ClearSkyPv,
    timestamps: Sequence[TimestampLike] | npt.NDArray[np.generic],
    measured_kwh: Sequence[float] | npt.NDArray[np.generic],
    *,
    now: TimestampLike,
    lookback_days: int = 30,
    interval_s: int | None = None,
) -> PvCorrection:
    """Learn calibration and cloudiness from measured production (kWh per interval).

    Days are local-solar days (UTC day shifted by longitude) with at least 80 % of their
    clear-sky energy's hours measured. Fewer than 5 such days: the calibration stays 1.0 and
    the month's climatological clearness is used (:func:`climate_correction`; ``days`` says how
    many were used).
    """
    now_s = to_epoch_s(now)
    epochs = to_epoch_array(timestamps)
    vals = values_array(measured_kwh, "measured_kwh")
    if epochs.size != vals.size:
        raise ForecastInputError(f"{epochs.size} timestamps but {vals.size} values")
    keep = (epochs < now_s) & (epochs >= now_s - (lookback_days + 1) * 86400)
    if not np.any(keep & np.isfinite(vals)):
        return climate_correction(now_s, model.latitude)
    g0, grid = to_quarter_grid(epochs[keep], vals[keep], interval_s=interval_s)
    grid = np.maximum(grid, 0.0)
    clear = model.step_kw(g0, grid.size) * STEP_H  # kWh per quarter
    # solar day index: shift by longitude so a day is one arc of the sun
    shift = round(model.longitude / 15.0 * 3600)
    day = (grid_epochs(g0, grid.size) + shift) // 86400
    uniq, inv = np.unique(day, return_inverse=True)
    meas_day = np.zeros(uniq.size)
    clear_day = np.zeros(uniq.size)
    clear_seen = np.zeros(uniq.size)
    ok = np.isfinite(grid)
    np.add.at(meas_day, inv[ok], grid[ok])
    np.add.at(clear_seen, inv[ok], clear[ok])
    np.add.at(clear_day, inv, clear)
    today_idx = int(np.searchsorted(uniq, (now_s + shift) // 86400))
    complete = (clear_day > 0) & (clear_seen >= 0.8 * clear_day)
    if today_idx < uniq.size:
        complete[today_idx] = False
    ratios = meas_day[complete] / clear_day[complete]
    if ratios.size < 5:
        return climate_correction(now_s, model.latitude, int(ratios.size))
    scale = float(np.quantile(ratios, 0.9))
    if scale <= 0:
        return climate_correction(now_s, model.latitude, int(ratios.size))
    k = ratios / scale
    today: float | None = None
    if today_idx < uniq.size and clear_seen[today_idx] >= 0.15 * clear_day[today_idx] > 0:
        today = float(meas_day[today_idx] / clear_seen[today_idx] / scale)
    return PvCorrection(
        scale=scale,
        k10=float(np.quantile(k, 0.1)),
        k50=float(np.quantile(k, 0.5)),
        k90=float(np.quantile(k, 0.9)),
        today=today,
        days=int(ratios.size),
    )


def clearsky_forecast_kw(
    model: ClearSkyPv,
    start: int,
    steps: int,
    correction: PvCorrection,
    *,
    today_end: int | None = None,
    today_weight: float = 0.6,
) -> FloatArray:
    """P10/P50/P90 kW (3 × steps) from the clear-sky model and a correction.

    Steps before ``today_end`` (epoch) lean on today's clearness so far: the quantiles are pulled
    toward it by ``today_weight`` (clouds persist within a day more than across days).
    """
    clear = model.step_kw(start, steps) * correction.scale
    ks = np.array([correction.k10, correction.k50, correction.k90])[:, None]
    ks = np.repeat(ks, steps, axis=1)
    if correction.today is not None and today_end is not None:
        w = np.where(grid_epochs(start, steps) < today_end, today_weight, 0.0)
        ks = ks * (1 - w) + np.clip(correction.today, 0.0, 1.2) * w
    out: FloatArray = np.sort(clear[None, :] * ks, axis=0)
    return out


# --------------------------------------------------------------------------------------------
# Combining the sources


@dataclass(frozen=True, slots=True)
class PvSource:
    """One forecast source as read from Home Assistant: payload and when it was issued."""

    kind: str
    """``"solcast"`` or ``"forecast_solar"``."""
    payload: Any
    issued_at: datetime | None = None
    label: str = "end"
    """Forecast.Solar only: whether ``wh_hours`` keys are period ends (default) or starts."""
    extra: dict[str, Any] = field(default_factory=dict)


def solar_day_end_s(clearsky: ClearSkyPv, now_s: float) -> int:
    """Where "today" ends for the clear-sky fallback: the next local-solar midnight after now
    (epoch s). Steps before it lean on today's clearness so far."""
    shift = round(clearsky.longitude / 15.0 * 3600)
    return int(((now_s + shift) // 86400 + 1) * 86400 - shift)


def forecast_pv(
    *,
    start: TimestampLike,
    steps: int,
    now: TimestampLike,
    sources: Sequence[PvSource] = (),
    clearsky: ClearSkyPv | None = None,
    correction: PvCorrection | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
) -> QuantileForecast:
    """Combine the sources into one P10/P50/P90 PV forecast (see the module docstring)."""
    if steps < 1:
        raise ForecastInputError("steps must be at least 1")
    s0 = floor_quarter_s(to_epoch_s(start))
    now_s = to_epoch_s(now)
    corr = correction or DEFAULT_CORRECTION
    out = np.full((3, steps), np.nan)
    src = ["none"] * steps
    notes: list[str] = []
    for source in sources:
        name = source.kind
        if name not in ("solcast", "forecast_solar"):
            notes.append(f"unknown PV source {name!r} ignored")
            continue
        if source.issued_at is not None:
            age = now_s - to_epoch_s(source.issued_at)
            if age > max_age.total_seconds():
                notes.append(f"{name}: stale (issued {age / 3600:.1f} h ago), not used")
                continue
        if name == "solcast":
            periods = parse_solcast(source.payload)
        else:
            periods = parse_forecast_solar(source.payload, label=source.label)
        if periods.skipped:
            notes.append(f"{name}: {periods.skipped} malformed entries skipped")
        if periods.start.size == 0:
            notes.append(f"{name}: no usable forecast")
            continue
        kw, _ = periods_to_grid(periods, s0, steps)
        if name == "forecast_solar":
            kw[0] = kw[1] * DEFAULT_P10_RATIO
            kw[2] = kw[1] * DEFAULT_P90_RATIO
            if clearsky is not None:
                cap = clearsky.step_kw(s0, steps) * corr.scale * 1.1
                kw[2] = np.maximum(np.minimum(kw[2], cap), kw[1])
        fill = np.isnan(out[1]) & np.isfinite(kw[1])
        out[:, fill] = kw[:, fill]
        for i in np.flatnonzero(fill):
            src[int(i)] = name
        missing = int(np.isnan(kw[1]).sum())
        if missing:
            notes.append(f"{name}: covers {steps - missing} of {steps} steps")
    gap = np.isnan(out[1])
    if np.any(gap):
        if clearsky is not None:
            today_end = solar_day_end_s(clearsky, now_s)
            cs = clearsky_forecast_kw(clearsky, s0, steps, corr, today_end=today_end)
            out[:, gap] = cs[:, gap]
            for i in np.flatnonzero(gap):
                src[int(i)] = "clearsky"
            notes.append(
                f"clear-sky fallback for {int(gap.sum())} steps "
                f"(scale {corr.scale:.2f}, clearness P50 {corr.k50:.2f}, learned on {corr.days} d)"
            )
        else:
            out[:, gap] = 0.0
            notes.append(
                f"no PV information for {int(gap.sum())} steps: assuming zero (configure the "
                "panel orientation for a clear-sky fallback)"
            )
    ordered = np.sort(np.maximum(out, 0.0), axis=0)
    return QuantileForecast(
        start=from_epoch_s(s0),
        p10=ordered[0],
        p50=ordered[1],
        p90=ordered[2],
        source=tuple(src),
        notes=tuple(notes),
    )
