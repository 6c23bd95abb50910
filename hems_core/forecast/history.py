"""Reading energy history from CSV (the shared data sets' format and exports like it).

Format: a header row; a timestamp column (``timestamp_utc`` preferred, ISO 8601 with ``Z`` or an
offset, interval **start**); one or more numeric columns. The energy column is chosen with
``column=`` or detected: the first numeric column whose name ends in ``_kwh`` and mentions load,
consumption, import or offtake, else the first ``_kwh`` column, else the first column with
another unit suffix (``_kw``, ``_w``, ``_wh``).
Units come from the suffix: ``_kwh`` and ``_wh`` are energy per interval, ``_kw`` and
``_w`` average power (converted with the interval length). Empty cells are missing values.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from .errors import ForecastInputError
from .timegrid import FloatArray, IntArray, infer_interval_s, to_epoch_s

TIMESTAMP_CANDIDATES: Final = (
    "timestamp_utc",
    "timestamp",
    "start_utc",
    "period_start",
    "start",
    "time",
    "datetime",
    "date",
)
_PREFERRED_WORDS: Final = ("load", "consumption", "import", "offtake", "afname")
_UNIT_SUFFIXES: Final = (
    ("_kwh", 1.0, True),
    ("_wh", 1e-3, True),
    ("_kw", 1.0, False),
    ("_w", 1e-3, False),
)


@dataclass(frozen=True, slots=True)
class EnergyHistory:
    """A measured series: interval starts (epoch s, UTC) and kWh per interval."""

    epochs: IntArray
    energy_kwh: FloatArray
    interval_s: int
    column: str
    path: str


def _unit(column: str) -> tuple[float, bool] | None:
    name = column.lower()
    for suffix, scale, is_energy in _UNIT_SUFFIXES:
        if name.endswith(suffix) or (suffix + "_") in name:
            return scale, is_energy
    return None


def detect_column(header: list[str], numeric: set[str]) -> str:
    """Pick the energy column as documented in the module docstring."""
    kwh = [c for c in header if c in numeric and c.lower().endswith("_kwh")]
    for word in _PREFERRED_WORDS:
        for c in kwh:
            if word in c.lower() and "export" not in c.lower():
                return c
    if kwh:
        return kwh[0]
    for c in header:
        if c in numeric and _unit(c) is not None:
            return c
    raise ForecastInputError(
        "no energy column found (expected a numeric column ending in _kwh, _wh, _kw or _w); "
        f"columns: {', '.join(header)}; choose one with --column"
    )


def read_energy_csv(path: str | Path, column: str | None = None) -> EnergyHistory:
    """Read ``path``; see the module docstring for the accepted format."""
    p = Path(path)
    try:
        with p.open(newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                raise ForecastInputError(f"{p}: empty file") from None
            rows = list(reader)
    except OSError as err:
        raise ForecastInputError(f"{p}: cannot read ({err.strerror or err})") from err
    ts_col = next((c for c in TIMESTAMP_CANDIDATES if c in header), None)
    if ts_col is None:
        raise ForecastInputError(
            f"{p}: no timestamp column (one of {', '.join(TIMESTAMP_CANDIDATES)})"
        )
    ts_i = header.index(ts_col)
    rows = [r for r in rows if len(r) > ts_i and r[ts_i].strip()]
    if not rows:
        raise ForecastInputError(f"{p}: no data rows")
    numeric = set()
    sample = rows[: min(len(rows), 200)]
    for i, name in enumerate(header):
        if i == ts_i:
            continue
        cells = [r[i] for r in sample if i < len(r) and r[i].strip()]
        try:
            if cells:
                [float(c) for c in cells]
                numeric.add(name)
        except ValueError:
            pass
    if column is None:
        column = detect_column(header, numeric)
    elif column not in header:
        raise ForecastInputError(f"{p}: no column {column!r}; columns: {', '.join(header)}")
    col_i = header.index(column)
    epochs: npt.NDArray[np.int64] = np.empty(len(rows), dtype=np.int64)
    vals: npt.NDArray[np.float64] = np.empty(len(rows))
    for n, r in enumerate(rows):
        try:
            epochs[n] = to_epoch_s(r[ts_i].strip())
        except ForecastInputError as err:
            raise ForecastInputError(f"{p}: row {n + 2}: {err}") from err
        cell = r[col_i].strip() if col_i < len(r) else ""
        try:
            vals[n] = float(cell) if cell else np.nan
        except ValueError:
            raise ForecastInputError(
                f"{p}: row {n + 2}: {column} is not a number: {cell!r}"
            ) from None
    order = np.argsort(epochs, kind="stable")
    epochs, vals = epochs[order], vals[order]
    if np.any(np.diff(epochs) == 0):
        raise ForecastInputError(f"{p}: duplicate timestamps")
    interval = infer_interval_s(epochs)
    unit = _unit(column)
    scale, is_energy = unit if unit is not None else (1.0, True)
    kwh = np.asarray(
        vals * scale if is_energy else vals * scale * interval / 3600.0, dtype=np.float64
    )
    return EnergyHistory(epochs, kwh, interval, column, str(p))


_UNIT_SCALE: dict[str, float] = {"wh": 1e-3, "kwh": 1.0, "mwh": 1e3}


def from_statistics_rows(
    rows: Sequence[Mapping[str, object]], *, unit: str = "kWh"
) -> tuple[IntArray, FloatArray]:
    """Interval energies from Home Assistant recorder statistics rows (hourly or 5-minute).

    Each row has ``start`` (epoch seconds as the Python API returns it, epoch milliseconds as the
    websocket API returns it, a datetime, or an ISO string) and either ``change`` (energy of the
    period) or ``sum`` (cumulative at the period's end; the energy is then the difference to the
    previous row, so the first row and any row after a gap in ``sum`` is NaN). Negative
    energies (a meter swap the recorder did not catch) become NaN. ``unit`` is the statistic's
    unit (Wh, kWh or MWh). Rows without a usable ``start`` are skipped.
    """
    scale = _UNIT_SCALE.get(unit.lower())
    if scale is None:
        raise ForecastInputError(f"unsupported energy unit {unit!r} (Wh, kWh or MWh)")
    parsed: list[tuple[int, float, float]] = []
    for r in rows:
        start = r.get("start")
        try:
            if isinstance(start, int | float) and not isinstance(start, bool):
                epoch = int(start / 1000) if abs(start) > 1e11 else int(start)
            elif isinstance(start, str | datetime):
                epoch = to_epoch_s(start)
            else:
                continue
        except (ForecastInputError, OverflowError, ValueError):
            continue
        parsed.append((epoch, _as_float(r.get("change")), _as_float(r.get("sum"))))
    parsed.sort()
    epochs = np.array([p[0] for p in parsed], dtype=np.int64)
    change = np.array([p[1] for p in parsed])
    total = np.array([p[2] for p in parsed])
    if epochs.size == 0:
        return epochs, np.zeros(0)
    from_sum = np.concatenate([[np.nan], np.diff(total)])
    energy = np.where(np.isfinite(change), change, from_sum) * scale
    energy = np.where(energy < 0, np.nan, energy)
    return epochs, energy


def _as_float(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        x = float(value)
        return x if math.isfinite(x) else math.nan
    return math.nan
