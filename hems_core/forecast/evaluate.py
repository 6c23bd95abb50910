"""Rolling-origin evaluation of the load forecast against naive baselines.

At each origin (every ``origin_every_hours`` after a warm-up) the model forecasts the next
``horizon_hours`` from data strictly before the origin, exactly as in operation. Two naive baselines
forecast the same steps: **yesterday** (the most recent known value at the same time of day, i.e.
24 h earlier within the first day) and **last week** (168 h earlier). Errors are pooled per horizon
hour over all origins, on the steps where the actual value and every forecast exist (the same
steps for all methods, so the comparison is fair).

Metrics (kWh per quarter-hour, the unit of the history): MAE, RMSE, pinball loss at 0.5 and 0.9
(a baseline's single value serves as its every quantile), and the P90 coverage (share of actual
quarter-hours at or below the P90).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from .errors import ForecastInputError, InsufficientHistoryError
from .load import LoadForecastConfig, _build_history, _forecast_kwh, _zone
from .pv import ClearSkyPv
from .timegrid import QUARTERS_PER_DAY, STEP_S, FloatArray, from_epoch_s, local_keys

METHODS = ("model", "yesterday", "last_week")


@dataclass(frozen=True, slots=True)
class EvaluationOptions:
    """What to evaluate."""

    horizon_hours: int = 24
    origin_every_hours: int = 6
    warmup_days: int = 28
    max_origins: int | None = None
    """Evaluate at most this many origins, spread evenly (keeps tests fast)."""
    tz: str = "Europe/Brussels"
    config: LoadForecastConfig = field(default_factory=LoadForecastConfig)
    extra_holidays: tuple[date, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.horizon_hours <= 7 * 24:
            raise ForecastInputError("horizon_hours must be within 1..168")
        if self.origin_every_hours < 1:
            raise ForecastInputError("origin_every_hours must be at least 1")
        if self.warmup_days < 7:
            raise ForecastInputError("warmup_days must be at least 7 (the last-week baseline)")
        if self.max_origins is not None and self.max_origins < 1:
            raise ForecastInputError("max_origins must be at least 1")


def _pinball(err: FloatArray, tau: float) -> FloatArray:
    """Pinball loss of ``err = actual - forecast``; NaN stays NaN."""
    out: FloatArray = np.maximum(tau * err, (tau - 1.0) * err)
    return out


def _r(x: float | np.floating[Any]) -> float | None:
    return None if not np.isfinite(x) else round(float(x), 6)


def evaluate_load_forecast(
    grid_start: int, grid: FloatArray, options: EvaluationOptions | None = None
) -> dict[str, Any]:
    """Evaluate on a 15-minute grid of kWh per quarter starting at ``grid_start`` (epoch s)."""
    opt = options or EvaluationOptions()
    cfg = opt.config
    zone: ZoneInfo = _zone(opt.tz)
    if grid_start % STEP_S:
        raise ForecastInputError("grid_start must be on a clock quarter")
    h_steps = opt.horizon_hours * 4
    n = grid.size
    hist = _build_history(grid_start, grid, zone, cfg.country, opt.extra_holidays, None)
    # first origin: local midnight after the warm-up; then every origin_every_hours
    first = grid_start + opt.warmup_days * 86400
    _day, q = local_keys(np.array([first], dtype=np.int64), zone)
    first += (QUARTERS_PER_DAY - int(q[0])) % QUARTERS_PER_DAY * STEP_S
    last = grid_start + (n - h_steps) * STEP_S
    if first > last:
        raise InsufficientHistoryError(
            f"history of {n / QUARTERS_PER_DAY:.1f} days is too short for a "
            f"{opt.warmup_days}-day warm-up and a {opt.horizon_hours} h horizon"
        )
    origins = np.arange(first, last + 1, opt.origin_every_hours * 3600, dtype=np.int64)
    if opt.max_origins is not None and origins.size > opt.max_origins:
        pick = np.unique(np.linspace(0, origins.size - 1, opt.max_origins).round().astype(int))
        origins = origins[pick]
    actual = np.full((origins.size, h_steps), np.nan)
    fc = {m: np.full((origins.size, h_steps), np.nan) for m in METHODS}
    p90 = np.full((origins.size, h_steps), np.nan)
    lead = np.arange(h_steps)
    day_back = QUARTERS_PER_DAY * (lead // QUARTERS_PER_DAY + 1)
    model_s = 0.0
    for k, o in enumerate(origins):
        i0 = int((o - grid_start) // STEP_S)
        idx = i0 + lead
        actual[k] = grid[idx]
        t_fc = time.perf_counter()
        quant, _ = _forecast_kwh(hist, int(o), h_steps, cfg)
        model_s += time.perf_counter() - t_fc
        fc["model"][k] = quant[1]
        p90[k] = quant[2]
        fc["yesterday"][k] = grid[idx - day_back]
        wk = idx - 7 * QUARTERS_PER_DAY
        fc["last_week"][k] = np.where(wk >= 0, grid[np.maximum(wk, 0)], np.nan)
    valid = np.isfinite(actual) & np.isfinite(p90)
    for m in METHODS:
        valid &= np.isfinite(fc[m])
    err = {m: np.where(valid, actual - fc[m], np.nan) for m in METHODS}
    err90 = np.where(valid, actual - p90, np.nan)

    def block(sl: slice) -> dict[str, Any]:
        v = valid[:, sl]
        count = int(v.sum())
        res: dict[str, Any] = {"mae": {}, "rmse": {}, "pinball_p50": {}, "pinball_p90": {}}
        for m in METHODS:
            e = err[m][:, sl][v]
            res["mae"][m] = _r(np.mean(np.abs(e))) if count else None
            res["rmse"][m] = _r(np.sqrt(np.mean(e**2))) if count else None
            res["pinball_p50"][m] = _r(np.mean(_pinball(e, 0.5))) if count else None
            e90 = err90[:, sl][v] if m == "model" else e
            res["pinball_p90"][m] = _r(np.mean(_pinball(e90, 0.9))) if count else None
        res["p90_coverage"] = _r(np.mean(err90[:, sl][v] <= 0)) if count else None
        res["n"] = count
        return res

    per_hour = []
    for h in range(opt.horizon_hours):
        b = block(slice(4 * h, 4 * h + 4))
        b["hour"] = h + 1
        per_hour.append(b)
    summary = block(slice(0, min(h_steps, QUARTERS_PER_DAY)))
    mae = summary["mae"]
    if mae["model"] is not None:
        for base in ("yesterday", "last_week"):
            summary[f"skill_vs_{base}"] = _r(1.0 - mae["model"] / mae[base]) if mae[base] else None
    return {
        "unit": "kWh per 15 min",
        "origins": int(origins.size),
        "first_origin": from_epoch_s(int(origins[0])).isoformat(),
        "last_origin": from_epoch_s(int(origins[-1])).isoformat(),
        "horizon_hours": opt.horizon_hours,
        "origin_every_hours": opt.origin_every_hours,
        "tz": opt.tz,
        "config": asdict(cfg),
        "summary_24h": summary,
        "per_horizon_hour": per_hour,
        "timing": {"ms_per_forecast": round(1000 * model_s / max(origins.size, 1), 3)},
    }


def evaluate_pv_fallback(
    grid_start: int,
    grid: FloatArray,
    model: ClearSkyPv,
    *,
    interval_s: int = STEP_S,
    lookback_days: int = 30,
    warmup_days: int = 14,
    max_origins: int | None = None,
) -> dict[str, Any]:
    """Day-ahead evaluation of the clear-sky fallback (learned calibration and cloudiness).

    Origins are every UTC midnight after the warm-up; the forecast for the next 24 h uses only
    measurements before the origin, like :func:`evaluate_load_forecast`. The baseline is
    *yesterday* (persistence of the last 24 h). Errors are compared at the history's own
    resolution (``interval_s``), so hourly measurements are not judged against 15-minute detail.
    """
    from .pv import forecast_pv, learn_pv_correction

    if grid_start % STEP_S or interval_s % STEP_S:
        raise ForecastInputError("grid_start and interval_s must be whole quarters")
    agg = interval_s // STEP_S
    first = (grid_start // 86400 + warmup_days) * 86400
    last = grid_start + (grid.size - 96) * STEP_S
    if first > last:
        raise InsufficientHistoryError("PV history too short for the warm-up and one day")
    origins = np.arange(first, last + 1, 86400, dtype=np.int64)
    if max_origins is not None and origins.size > max_origins:
        pick = np.unique(np.linspace(0, origins.size - 1, max_origins).round().astype(int))
        origins = origins[pick]
    epochs = grid_start + STEP_S * np.arange(grid.size, dtype=np.int64)
    rows: dict[str, list[FloatArray]] = {
        "actual": [],
        "model": [],
        "p10": [],
        "p90": [],
        "yesterday": [],
    }
    for o in origins:
        i0 = int((o - grid_start) // STEP_S)
        corr = learn_pv_correction(
            model,
            epochs[:i0],
            grid[:i0],
            now=int(o),
            lookback_days=lookback_days,
            interval_s=STEP_S,
        )
        fc = forecast_pv(start=int(o), steps=96, now=int(o), clearsky=model, correction=corr)

        def per_interval(x: FloatArray) -> FloatArray:
            out: FloatArray = x.reshape(-1, agg).sum(axis=1)
            return out

        rows["actual"].append(per_interval(grid[i0 : i0 + 96]))
        rows["yesterday"].append(per_interval(grid[i0 - 96 : i0]))
        rows["model"].append(per_interval(fc.energy_kwh("p50")))
        rows["p10"].append(per_interval(fc.energy_kwh("p10")))
        rows["p90"].append(per_interval(fc.energy_kwh("p90")))
    a = np.vstack(rows["actual"])
    valid = np.isfinite(a) & np.isfinite(np.vstack(rows["yesterday"]))
    res: dict[str, Any] = {"mae": {}, "rmse": {}}
    for m in ("model", "yesterday"):
        e = (a - np.vstack(rows[m]))[valid]
        res["mae"][m] = _r(np.mean(np.abs(e)))
        res["rmse"][m] = _r(np.sqrt(np.mean(e**2)))
    e10 = (a - np.vstack(rows["p10"]))[valid]
    e90 = (a - np.vstack(rows["p90"]))[valid]
    res["pinball_p10"] = _r(np.mean(_pinball(e10, 0.1)))
    res["pinball_p90"] = _r(np.mean(_pinball(e90, 0.9)))
    day_a = np.where(valid, a, 0.0).sum(axis=1)
    day_lo = np.vstack(rows["p10"]).sum(axis=1)
    day_hi = np.vstack(rows["p90"]).sum(axis=1)
    res["daily_energy_in_p10_p90"] = _r(np.mean((day_a >= day_lo) & (day_a <= day_hi)))
    res["n"] = int(valid.sum())
    return {
        "unit": f"kWh per {interval_s // 60} min",
        "origins": int(origins.size),
        "first_origin": from_epoch_s(int(origins[0])).isoformat(),
        "last_origin": from_epoch_s(int(origins[-1])).isoformat(),
        "model": asdict(model),
        "summary_24h": res,
    }
