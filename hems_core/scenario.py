"""Reference scenarios: a YAML description plus CSV series, loaded into plain arrays.

A scenario fixes one planning window (start + hours) in 15-minute steps aligned to clock quarters,
so demos, tests and benchmarks all see the same inputs. Loading validates everything and raises
``ScenarioError`` with a message that names the file and the field.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import yaml

from .timegrid import STEP

FloatArray = npt.NDArray[np.float64]


class ScenarioError(ValueError):
    """A scenario file is missing, malformed or inconsistent."""


@dataclass(frozen=True)
class EvSpec:
    """One car: battery, limits and the trip it must be ready for."""

    name: str
    capacity_kwh: float
    soc: float
    target_soc: float
    min_soc: float
    departure: datetime
    max_charge_kw: float
    max_discharge_kw: float
    efficiency: float


@dataclass(frozen=True)
class Scenario:
    """Inputs for one planning window; every array has one value per 15-minute step."""

    name: str
    timezone: ZoneInfo
    start: datetime
    steps: int
    spot_eur_kwh: FloatArray
    import_eur_kwh: FloatArray
    export_eur_kwh: FloatArray
    pv_kw: FloatArray
    load_kw: FloatArray
    grid_import_kw: float
    grid_export_kw: float
    ev: EvSpec

    def times(self) -> list[datetime]:
        """Start of every step (UTC)."""
        return [self.start + i * STEP for i in range(self.steps)]


def synthetic_load_kw(times: list[datetime], tz: ZoneInfo, kwh_per_day: float) -> FloatArray:
    """A plain household profile: night floor, morning and evening peaks; scaled to kWh/day.

    Used only where no licensed measured series may be shipped; documented in scenarios/README.md.
    """
    hours = np.array([t.astimezone(tz).hour + t.astimezone(tz).minute / 60 for t in times])
    shape = (
        0.25
        + 0.35 * np.exp(-(((hours - 7.5) / 1.2) ** 2))
        + 0.9 * np.exp(-(((hours - 18.5) / 1.8) ** 2))
        + 0.15 * np.exp(-(((hours - 13.0) / 3.0) ** 2))
    )
    day_mean = float(np.mean(shape))
    return np.asarray(shape / day_mean * kwh_per_day / 24.0, dtype=np.float64)


def _read_series(path: Path, column: str) -> dict[datetime, float]:
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read ({err.strerror})") from err
    series: dict[datetime, float] = {}
    for line, row in enumerate(rows, start=2):
        try:
            stamp = datetime.fromisoformat(row["timestamp_utc"].replace("Z", "+00:00"))
            value = float(row[column])
        except (KeyError, TypeError, ValueError) as err:
            raise ScenarioError(f"{path}:{line}: expected timestamp_utc and {column}") from err
        if not math.isfinite(value):
            raise ScenarioError(f"{path}:{line}: {column} is not a finite number")
        series[stamp.astimezone(UTC)] = value
    return series


def _sample(
    series: dict[datetime, float],
    times: list[datetime],
    hold: timedelta,
    name: str,
    scale: float = 1.0,
) -> FloatArray:
    """Value per step, holding each sample for ``hold`` (hourly PV -> four quarters)."""
    out = np.empty(len(times))
    for i, t in enumerate(times):
        key = datetime.fromtimestamp(
            (t.timestamp() // hold.total_seconds()) * hold.total_seconds(), UTC
        )
        if key not in series:
            raise ScenarioError(f"{name}: no value for {t.isoformat()}")
        out[i] = series[key] * scale
    return out


def _get(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ScenarioError(f"{where}: missing '{key}'")
    return data[key]


def read_scenario_yaml(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """Read ``scenario.yaml`` (or the folder holding it) as a mapping; errors name the file."""
    path = Path(path)
    if path.is_dir():
        path = path / "scenario.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ScenarioError(f"{path}: {err}") from err
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top level")
    return path, data


def load_scenario(path: str | Path, *, hours: float | None = None) -> Scenario:
    """Load ``scenario.yaml`` (or the folder holding it); ``hours`` overrides its window."""
    path, data = read_scenario_yaml(path)
    where = str(path)
    try:
        tz = ZoneInfo(str(_get(data, "timezone", where)))
        start = datetime.fromisoformat(str(_get(data, "start", where))).astimezone(UTC)
        if start.minute % 15 or start.second or start.microsecond:
            raise ScenarioError(f"{where}: start must be on a clock quarter")
        steps = int(float(hours if hours is not None else _get(data, "hours", where)) * 4)
        times = [start + i * STEP for i in range(steps)]
        folder = path.parent
        spot_mwh = _read_series(folder / data["prices"], "price_eur_mwh")
        spot = _sample(spot_mwh, times, STEP, "prices", scale=1e-3)
        pv_per_kwp = _read_series(folder / data["pv"], "pv_kw_per_kwp")
        pv = _sample(pv_per_kwp, times, 4 * STEP, "pv", scale=float(data.get("pv_kwp", 0.0)))
        load = synthetic_load_kw(times, tz, float(_get(data, "base_load_kwh_per_day", where)))
        tariff = _get(data, "tariff", where)
        vat = 1.0 + float(tariff["vat"])
        buy = (spot + float(tariff["purchase_fee"]) + float(tariff["energy_tax"])) * vat
        sell = buy.copy() if tariff.get("net_metering") else spot.copy()
        grid = _get(data, "grid", where)
        ev = _get(data, "ev", where)
        spec = EvSpec(
            name=str(ev.get("name", "EV")),
            capacity_kwh=float(ev["capacity_kwh"]),
            soc=float(ev["soc"]),
            target_soc=float(ev["target_soc"]),
            min_soc=float(ev.get("min_soc", 0.0)),
            departure=datetime.fromisoformat(str(ev["departure"])).astimezone(UTC),
            max_charge_kw=float(ev["max_charge_kw"]),
            max_discharge_kw=float(ev.get("max_discharge_kw", 0.0)),
            efficiency=float(ev.get("efficiency", 0.92)),
        )
    except (KeyError, TypeError, ValueError) as err:
        if isinstance(err, ScenarioError):
            raise
        raise ScenarioError(f"{where}: {err!r}") from err
    if not 0.0 <= spec.min_soc <= spec.soc <= 1.0 or not 0.0 <= spec.target_soc <= 1.0:
        raise ScenarioError(
            f"{where}: EV state of charge values must be within 0..1 and soc >= min_soc"
        )
    return Scenario(
        name=str(data.get("name", path.parent.name)),
        timezone=tz,
        start=start,
        steps=steps,
        spot_eur_kwh=spot,
        import_eur_kwh=buy,
        export_eur_kwh=sell,
        pv_kw=pv,
        load_kw=load,
        grid_import_kw=float(grid["import_kw"]),
        grid_export_kw=float(grid["export_kw"]),
        ev=spec,
    )
