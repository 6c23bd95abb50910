"""The backtest scenario format: one YAML file plus CSV series (see ``scenarios/README.md``).

A scenario is everything a closed-loop run needs and nothing a controller may peek at by
accident: the site and its devices, 15-minute load / PV / spot series (including a warm-up
history before ``start`` that forecasters learn from), the EV sessions (arrival, departure,
trip energy), the tariff and events (DSO caps). Loading validates everything once and raises
:class:`ScenarioError` naming the file and field.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

# ScenarioError is re-exported: one error class for every scenario format.
from ..scenario import ScenarioError as ScenarioError
from ..scenario import read_scenario_yaml
from ..timegrid import STEP_S

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Session:
    """One stay at home: plugged from ``arrive_s`` to ``depart_s`` (epoch seconds).

    ``trip_kwh`` is what the car used on the trip that ended with this arrival; ``target_soc``
    is what the driver wants at departure (the shortfall KPI measures against it).
    """

    ev: str
    arrive_s: int
    depart_s: int
    trip_kwh: float
    target_soc: float


@dataclass(frozen=True)
class EvSpec:
    """One car and its charger; ``departures`` is the owner's weekly setting (weekday → time)."""

    name: str
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    efficiency: float
    min_soc: float
    soc: float
    target_soc: float
    departures: dict[int, time]
    chemistry: str = "nmc"


@dataclass(frozen=True)
class BatterySpec:
    """An optional home battery."""

    capacity_kwh: float
    max_kw: float
    efficiency: float
    soc: float
    reserve_soc: float = 0.1


@dataclass(frozen=True)
class Capacity:
    """Capacity tariff: ``monthly_peak`` (Flanders, demand charge) or ``top_peaks`` (Sweden)."""

    kind: str
    eur_per_kw_month: float
    floor_kw: float = 0.0
    count: int = 3
    night_weight: float = 1.0


@dataclass(frozen=True)
class CapEvent:
    """A DSO cap (kW) on each controllable device (§14a dimming) from ``start_s`` to ``end_s``."""

    start_s: int
    end_s: int
    kw: float


@dataclass(frozen=True)
class Scenario:
    """A loaded scenario. Series cover ``t0_s`` … end in quarters (warm-up history first)."""

    name: str
    path: Path
    tz: str
    t0_s: int  # first quarter of the series (history starts here)
    start_s: int  # first quarter the controllers run
    days: int
    load_kw: FloatArray
    pv_kw: FloatArray
    spot_eur_kwh: FloatArray
    import_eur_kwh: FloatArray
    export_eur_kwh: FloatArray
    grid_import_kw: float
    grid_export_kw: float
    allow_export_from_storage: bool
    evs: tuple[EvSpec, ...]
    sessions: tuple[Session, ...]
    battery: BatterySpec | None = None
    capacity: Capacity | None = None
    events: tuple[CapEvent, ...] = ()
    latitude: float = 52.0
    longitude: float = 5.0
    pv_kwp: float = 0.0
    price_publish_hour: int = 13
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def end_s(self) -> int:
        """End of the controlled period (epoch s)."""
        return self.start_s + self.days * 86400

    def index(self, t_s: float) -> int:
        """Quarter index of an instant in the series."""
        return int((int(t_s) - self.t0_s) // STEP_S)

    def with_days(self, days: int) -> Scenario:
        """The same scenario over fewer days (tests, quick runs)."""
        if not 1 <= days <= self.days:
            raise ScenarioError(f"{self.path}: days must be within 1..{self.days}, got {days}")
        return replace(self, days=days)

    def known_until_s(self, now_s: float) -> int:
        """Day-ahead publication: tomorrow's prices are known from ``price_publish_hour`` local."""
        zone = ZoneInfo(self.tz)
        local = datetime.fromtimestamp(now_s, UTC).astimezone(zone)
        day_end = datetime.combine(local.date() + timedelta(days=1), time(), zone)
        if local.hour >= self.price_publish_hour:
            day_end = datetime.combine(local.date() + timedelta(days=2), time(), zone)
        return int(day_end.timestamp())


def _get(data: dict[str, Any], key: str, where: str) -> Any:
    if key not in data:
        raise ScenarioError(f"{where}: missing '{key}'")
    return data[key]


def _num(data: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if value is None:
        raise ScenarioError(f"{where}: missing '{key}'")
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"{where}.{key}: expected a number, got {value!r}") from err
    if not math.isfinite(out):
        raise ScenarioError(f"{where}.{key}: expected a finite number")
    return out


def _stamp(value: Any, where: str) -> int:
    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as err:
        raise ScenarioError(f"{where}: not an ISO timestamp: {value!r}") from err
    if dt.tzinfo is None:
        raise ScenarioError(f"{where}: timestamp needs a UTC offset: {value!r}")
    return int(dt.timestamp())


def read_series(
    path: Path, columns: tuple[str, ...], *, blank_before: tuple[str, int] | None = None
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Epoch seconds and the named columns of a 15-minute CSV (``timestamp_utc`` first).

    ``blank_before = (column, epoch_s)`` lets that column be empty (NaN) in rows before the
    instant: prices in forecast history, which no controller reads.
    """
    try:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise ScenarioError(f"{path}: cannot read ({err.strerror})") from err
    if not rows:
        raise ScenarioError(f"{path}: no rows")
    stamps = np.empty(len(rows), dtype=np.int64)
    values = np.empty((len(columns), len(rows)))
    for i, row in enumerate(rows):
        stamps[i] = _stamp(row.get("timestamp_utc"), f"{path}:{i + 2}")
        for j, col in enumerate(columns):
            if (
                blank_before is not None
                and col == blank_before[0]
                and row.get(col) == ""
                and stamps[i] < blank_before[1]
            ):
                values[j, i] = math.nan
                continue
            try:
                values[j, i] = float(row[col])
            except (KeyError, TypeError, ValueError) as err:
                raise ScenarioError(
                    f"{path}:{i + 2}: column {col} missing or not a number"
                ) from err
    blank = np.zeros(values.shape, dtype=bool)
    if blank_before is not None and blank_before[0] in columns:
        j = columns.index(blank_before[0])
        blank[j] = np.isnan(values[j]) & (stamps < blank_before[1])
    if not np.all(np.isfinite(values) | blank):
        raise ScenarioError(f"{path}: non-finite values")
    if np.any(np.diff(stamps) != STEP_S) or stamps[0] % STEP_S:
        raise ScenarioError(f"{path}: rows must be consecutive clock quarters")
    return stamps, values


def _departures(raw: Any, where: str) -> dict[int, time]:
    out: dict[int, time] = {}
    if raw is None:
        return out
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: expected a mapping weekday (0 = Monday) → 'HH:MM'")
    for wd, hhmm in raw.items():
        try:
            day = int(wd)
            out[day] = time.fromisoformat(str(hhmm))
        except ValueError as err:
            raise ScenarioError(f"{where}[{wd}]: expected 'HH:MM'") from err
        if not 0 <= day <= 6:
            raise ScenarioError(f"{where}: weekday {day} not in 0..6")
    return out


def _prices(
    tariff: dict[str, Any], spot: FloatArray, hours: FloatArray, where: str
) -> tuple[FloatArray, FloatArray]:
    """All-in import and export EUR/kWh: (spot + fee + tax [+ window fee]) × (1 + VAT)."""
    vat = 1.0 + _num(tariff, "vat", where, 0.0)
    fee = _num(tariff, "purchase_fee", where, 0.0) + _num(tariff, "energy_tax", where, 0.0)
    extra = np.zeros_like(spot)
    for k, win in enumerate(tariff.get("windows") or []):
        w = f"{where}.windows[{k}]"
        lo, hi = _num(win, "from_hour", w), _num(win, "to_hour", w)
        extra += np.where((hours >= lo) & (hours < hi), _num(win, "eur_kwh", w), 0.0)
    buy = (spot + fee + extra) * vat
    if tariff.get("net_metering"):
        return buy, buy.copy()
    sell = spot * _num(tariff, "export_factor", where, 1.0) - _num(tariff, "export_fee", where, 0.0)
    return buy, sell


def load_scenario(path: str | Path) -> Scenario:
    """Load ``scenario.yaml`` (or the folder holding it)."""
    path, data = read_scenario_yaml(path)
    where = str(path)
    folder = path.parent
    tz = str(_get(data, "timezone", where))
    try:
        zone = ZoneInfo(tz)
    except (ValueError, KeyError, OSError) as err:
        raise ScenarioError(f"{where}.timezone: unknown zone {tz!r}") from err
    start_s = _stamp(_get(data, "start", where), f"{where}.start")
    if start_s % STEP_S:
        raise ScenarioError(f"{where}.start must be on a clock quarter")
    days = int(_num(data, "days", where))
    stamps, vals = read_series(
        folder / str(_get(data, "series", where)),
        ("load_kw", "pv_kw", "price_eur_mwh"),
        blank_before=("price_eur_mwh", start_s),
    )
    t0 = int(stamps[0])
    end = start_s + days * 86400
    if start_s < t0 or end > int(stamps[-1]) + STEP_S:
        raise ScenarioError(f"{where}: the series must cover start .. start + days")
    if np.any(vals[0] < 0) or np.any(vals[1] < 0):
        raise ScenarioError(f"{where}: load_kw and pv_kw must be >= 0")
    pv_kwp = _num(data, "pv_kwp", where, 0.0)
    spot = vals[2] / 1000.0
    local_hours = np.array(
        [datetime.fromtimestamp(int(s), UTC).astimezone(zone).hour for s in stamps], dtype=float
    )
    buy, sell = _prices(dict(_get(data, "tariff", where)), spot, local_hours, f"{where}.tariff")
    grid = dict(_get(data, "grid", where))
    evs: list[EvSpec] = []
    for k, raw in enumerate(data.get("evs") or []):
        w = f"{where}.evs[{k}]"
        ev = EvSpec(
            name=str(raw.get("name", f"ev{k + 1}")),
            capacity_kwh=_num(raw, "capacity_kwh", w),
            max_charge_kw=_num(raw, "max_charge_kw", w),
            max_discharge_kw=_num(raw, "max_discharge_kw", w, 0.0),
            efficiency=_num(raw, "efficiency", w, 0.92),
            min_soc=_num(raw, "min_soc", w, 0.2),
            soc=_num(raw, "soc", w, 0.5),
            target_soc=_num(raw, "target_soc", w, 0.8),
            departures=_departures(raw.get("departures"), f"{w}.departures"),
            chemistry=str(raw.get("chemistry", "nmc")),
        )
        if not 0 <= ev.min_soc <= ev.target_soc <= 1 or not 0 <= ev.soc <= 1:
            raise ScenarioError(f"{w}: SoC values must be within 0..1 and min_soc <= target_soc")
        evs.append(ev)
    names = {e.name for e in evs}
    sessions: list[Session] = []
    if data.get("sessions"):
        spath = folder / str(data["sessions"])
        try:
            with spath.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as err:
            raise ScenarioError(f"{spath}: cannot read ({err.strerror})") from err
        for i, row in enumerate(rows, start=2):
            w = f"{spath}:{i}"
            if row.get("ev") not in names:
                raise ScenarioError(f"{w}: unknown ev {row.get('ev')!r}")
            s = Session(
                ev=str(row["ev"]),
                arrive_s=_stamp(row.get("arrive_utc"), w),
                depart_s=_stamp(row.get("depart_utc"), w),
                trip_kwh=_num(row, "trip_kwh", w),
                target_soc=_num(row, "target_soc", w),
            )
            if s.depart_s <= s.arrive_s or s.trip_kwh < 0:
                raise ScenarioError(f"{w}: departure must follow arrival; trip_kwh >= 0")
            sessions.append(s)
    battery = None
    if data.get("battery"):
        b = dict(data["battery"])
        w = f"{where}.battery"
        battery = BatterySpec(
            capacity_kwh=_num(b, "capacity_kwh", w),
            max_kw=_num(b, "max_kw", w),
            efficiency=_num(b, "efficiency", w, 0.95),
            soc=_num(b, "soc", w, 0.5),
            reserve_soc=_num(b, "reserve_soc", w, 0.1),
        )
    capacity = None
    cap = dict(data["tariff"]).get("capacity")
    if cap:
        w = f"{where}.tariff.capacity"
        kind = str(cap.get("kind", "monthly_peak"))
        if kind not in ("monthly_peak", "top_peaks"):
            raise ScenarioError(f"{w}.kind must be monthly_peak or top_peaks")
        capacity = Capacity(
            kind=kind,
            eur_per_kw_month=_num(cap, "eur_per_kw_month", w),
            floor_kw=_num(cap, "floor_kw", w, 0.0),
            count=int(_num(cap, "count", w, 3)),
            night_weight=_num(cap, "night_weight", w, 1.0),
        )
    events: list[CapEvent] = []
    for k, ev_raw in enumerate(data.get("events") or []):
        w = f"{where}.events[{k}]"
        if ev_raw.get("kind") != "import_cap":
            raise ScenarioError(f"{w}.kind: only 'import_cap' is supported")
        events.append(
            CapEvent(
                _stamp(ev_raw.get("start"), w), _stamp(ev_raw.get("end"), w), _num(ev_raw, "kw", w)
            )
        )
    site = dict(data.get("site") or {})
    return Scenario(
        name=str(data.get("name", folder.name)),
        path=path,
        tz=tz,
        t0_s=t0,
        start_s=start_s,
        days=days,
        load_kw=np.asarray(vals[0]),
        pv_kw=np.asarray(vals[1]),
        spot_eur_kwh=spot,
        import_eur_kwh=buy,
        export_eur_kwh=sell,
        grid_import_kw=_num(grid, "import_kw", f"{where}.grid"),
        grid_export_kw=_num(grid, "export_kw", f"{where}.grid"),
        allow_export_from_storage=bool(data.get("allow_export_from_storage", False)),
        evs=tuple(evs),
        sessions=tuple(sorted(sessions, key=lambda s: s.arrive_s)),
        battery=battery,
        capacity=capacity,
        events=tuple(events),
        latitude=_num(site, "latitude", where, 52.0),
        longitude=_num(site, "longitude", where, 5.0),
        pv_kwp=pv_kwp,
        price_publish_hour=int(_num(data, "price_publish_hour", where, 13)),
        meta={k: v for k, v in data.items() if k in ("kind", "description")},
    )
