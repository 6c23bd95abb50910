"""The one scenario format: a ``scenario.yaml`` plus CSV series (``scenarios/README.md``).

Every user of a scenario reads it through this module:

- the **backtest** (``hems backtest``): :func:`load_scenario` gives a :class:`Scenario` — the
  site and its devices, 15-minute load / PV / spot series (with a warm-up history before
  ``start`` that forecasters learn from), EV sessions, the tariff and events (DSO caps,
  grid outages);
- the **demo** and the closed-loop **simulators** (``hems demo``, ``hems sim closed-loop``):
  :meth:`Scenario.window` / :func:`load_window` cut one planning window from ``start`` with
  the car plugged in and its departure;
- the **device simulators** (``hems sim devices``): :func:`load_devices` reads the
  ``wallboxes`` / ``inverters`` / ``meters`` section;
- the **solver bench** and optimiser tests: the seeded synthetic cases at the end
  (:func:`profile_inputs`, :func:`case_a_site`, ...), which need no files.

Loading validates everything once and raises :class:`ScenarioError` naming the file and field.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import yaml

from .devices.errors import ConfigError
from .model import Chemistry, Ev, Grid, HomeBattery, MonthlyPeakTariff, Pv, Site, Trip, WearModel
from .timegrid import STEP, STEP_S

if TYPE_CHECKING:
    from .optimize.inputs import Inputs, State

FloatArray = npt.NDArray[np.float64]


class ScenarioError(ConfigError, ValueError):
    """A scenario file is missing, malformed or inconsistent (a ``ConfigError`` of the sims)."""


def read_scenario_yaml(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """Read ``scenario.yaml`` (or the folder holding it; JSON is YAML) as a mapping."""
    path = Path(path)
    if path.is_dir():
        path = path / "scenario.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise ScenarioError(f"{path}: {err}") from err
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping at the top level")
    return path, data


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
class Outage:
    """A grid outage from ``start_s`` to ``end_s`` (epoch s): the home islands on its backup."""

    start_s: int
    end_s: int


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
    outages: tuple[Outage, ...] = ()
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

    def window(self, hours: float | None = None) -> Window:
        """The planning window of the demo and the closed-loop sims: ``hours`` from ``start``.

        The first car must be plugged in at ``start``; its departure is that session's end
        and its target that session's target. Default length: the scenario's ``days``.
        """
        steps = int((self.days * 24 if hours is None else hours) * 4)
        i0 = self.index(self.start_s)
        if steps < 1 or i0 + steps > self.load_kw.shape[0]:
            last = datetime.fromtimestamp(self.t0_s + STEP_S * self.load_kw.shape[0], UTC)
            raise ScenarioError(
                f"{self.path}: no value for a {steps}-quarter window from start (the series"
                f" ends {last.isoformat()})"
            )
        if not self.evs:
            raise ScenarioError(f"{self.path}: a planning window needs a car (evs)")
        ev = self.evs[0]
        at = self.start_s
        stay = next(
            (s for s in self.sessions if s.ev == ev.name and s.arrive_s <= at < s.depart_s), None
        )
        if stay is None:
            raise ScenarioError(f"{self.path}: {ev.name} is not plugged in at start (sessions)")
        if ev.soc < ev.min_soc:
            raise ScenarioError(f"{self.path}: {ev.name}: soc must be >= min_soc")
        part = slice(i0, i0 + steps)
        return Window(
            name=self.name,
            timezone=ZoneInfo(self.tz),
            start=datetime.fromtimestamp(self.start_s, UTC),
            steps=steps,
            spot_eur_kwh=self.spot_eur_kwh[part],
            import_eur_kwh=self.import_eur_kwh[part],
            export_eur_kwh=self.export_eur_kwh[part],
            pv_kw=self.pv_kw[part],
            load_kw=self.load_kw[part],
            grid_import_kw=self.grid_import_kw,
            grid_export_kw=self.grid_export_kw,
            ev=WindowEv(
                name=ev.name,
                capacity_kwh=ev.capacity_kwh,
                soc=ev.soc,
                target_soc=stay.target_soc,
                min_soc=ev.min_soc,
                departure=datetime.fromtimestamp(stay.depart_s, UTC),
                max_charge_kw=ev.max_charge_kw,
                max_discharge_kw=ev.max_discharge_kw,
                efficiency=ev.efficiency,
            ),
        )


@dataclass(frozen=True)
class WindowEv:
    """The window's car: plugged in at the start, leaving at ``departure``."""

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
class Window:
    """One planning window of a scenario; every array has one value per 15-minute step."""

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
    ev: WindowEv

    def times(self) -> list[datetime]:
        """Start of every step (UTC)."""
        return [self.start + i * STEP for i in range(self.steps)]


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
    outages: list[Outage] = []
    for k, ev_raw in enumerate(data.get("events") or []):
        w = f"{where}.events[{k}]"
        if not isinstance(ev_raw, dict):
            raise ScenarioError(f"{w}: expected a mapping")
        event_kind = ev_raw.get("kind")
        lo, hi = _stamp(ev_raw.get("start"), f"{w}.start"), _stamp(ev_raw.get("end"), f"{w}.end")
        if hi <= lo:
            raise ScenarioError(f"{w}: end must follow start")
        if event_kind == "import_cap":
            events.append(CapEvent(lo, hi, _num(ev_raw, "kw", w)))
        elif event_kind == "outage":
            outages.append(Outage(lo, hi))
        else:
            raise ScenarioError(f"{w}.kind: expected 'import_cap' or 'outage', got {event_kind!r}")
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
        outages=tuple(outages),
        latitude=_num(site, "latitude", where, 52.0),
        longitude=_num(site, "longitude", where, 5.0),
        pv_kwp=pv_kwp,
        price_publish_hour=int(_num(data, "price_publish_hour", where, 13)),
        meta={k: v for k, v in data.items() if k in ("kind", "description", "backup")},
    )


def load_window(path: str | Path, *, hours: float | None = None) -> Window:
    """The planning window of a scenario (``hems demo``, the closed-loop simulators)."""
    return load_scenario(path).window(hours)


def load_devices(path: str | Path) -> dict[str, Any]:
    """The device-simulator section (``wallboxes``, ``inverters``, ``meters``, ``mqtt``, ...).

    A file holding only those keys is a valid scenario for ``hems sim devices``. ``_dir`` is the
    folder that relative ``map:`` paths are read from.
    """
    path, data = read_scenario_yaml(path)
    data.setdefault("_dir", str(path.parent))
    return data


# --- Synthetic cases for the solver bench and the optimiser tests (no files) -----------------
#
# Shapes follow a Belgian/Dutch winter-spring day: a morning and an evening price peak around a
# midday PV dip, evening load, PV bell around 13:00 UTC. Deterministic for a given seed.


def profile_inputs(
    start: datetime, steps: int, seed: int = 0, *, pv_peak_kw: float = 6.0
) -> Inputs:
    """Prices, load and PV for ``steps`` steps from ``start`` (vectorised)."""
    from .optimize.inputs import Inputs

    imp, exp, load, pv = _profile(start, steps, seed, pv_peak_kw)
    return Inputs(start=start, import_price=imp, export_price=exp, load_kw=load, pv_kw=pv)


def _profile(
    start: datetime, steps: int, seed: int, pv_peak_kw: float
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    from .optimize.inputs import step_edges

    rng = np.random.default_rng(seed)
    edges, _ = step_edges(start, steps)
    hour = ((edges[:-1] % 86400) / 3600.0).astype(np.float64)
    base = (
        0.10
        + 0.08 * np.exp(-(((hour - 7.5) / 1.5) ** 2))
        + 0.12 * np.exp(-(((hour - 18.5) / 2.0) ** 2))
    )
    base -= 0.06 * np.exp(-(((hour - 13.0) / 2.0) ** 2))
    spot = base + rng.normal(0.0, 0.01, steps)
    import_price = spot * 1.21 + 0.12
    export_price = spot - 0.01
    load = (
        0.4
        + 0.3 * np.exp(-(((hour - 7.5) / 1.0) ** 2))
        + 1.5 * np.exp(-(((hour - 19.0) / 2.0) ** 2))
    )
    load = load * (1 + rng.normal(0.0, 0.1, steps)).clip(0.5, 1.5)
    pv = pv_peak_kw * np.clip(np.cos((hour - 13.0) / 12.0 * np.pi) ** 3, 0.0, None)
    pv = pv * (hour > 6.5) * (hour < 19.5) * rng.uniform(0.7, 1.0)
    return import_price, export_price, load, pv


def receding_inputs(
    start: datetime, steps: int, k: int, seed: int = 0, *, pv_peak_kw: float = 6.0
) -> Inputs:
    """Window ``k`` of a receding horizon: the same forecast slid by ``k`` quarters, with the
    next hour's load and PV nowcast updated (fresh noise), as a planner sees it live."""
    from .optimize.inputs import Inputs

    imp, exp, load_all, pv_all = _profile(start, steps + k, seed, pv_peak_kw)
    rng = np.random.default_rng(10_000 + k)
    window = slice(k, k + steps)
    load = load_all[window].copy()
    pv = pv_all[window].copy()
    near = min(4, steps)
    load[:near] *= np.clip(1 + rng.normal(0.0, 0.15, near), 0.3, 2.0)
    pv[:near] *= np.clip(1 + rng.normal(0.0, 0.15, near), 0.0, 1.5)
    return Inputs(
        start=start + timedelta(minutes=15 * k),
        import_price=imp[window],
        export_price=exp[window],
        load_kw=load,
        pv_kw=pv,
    )


def case_a_site(start: datetime) -> Site:
    """One bidirectional EV + home battery + PV + Flemish peak + full wear model."""
    ev_wear = WearModel.for_chemistry(Chemistry.NMC, max_power_kw=11.0, dod_segments=2)
    bat_wear = WearModel.for_chemistry(Chemistry.LFP, max_power_kw=5.0, dod_segments=2)
    day0 = start.replace(hour=0, minute=0, second=0, microsecond=0)
    trips = tuple(
        Trip(
            depart=day0 + timedelta(days=d, hours=7),
            arrive=day0 + timedelta(days=d, hours=17, minutes=30),
            energy_kwh=12.0,
            target_soc=0.8,
        )
        for d in range(1, 4)
    )
    ev = Ev(
        name="ev",
        capacity_kwh=60.0,
        max_charge_kw=11.0,
        max_discharge_kw=11.0,
        min_soc=0.2,
        max_soc=0.9,
        chemistry=Chemistry.NMC,
        wear=ev_wear,
        trips=trips,
    )
    battery = HomeBattery(
        capacity_kwh=10.0, max_charge_kw=5.0, max_discharge_kw=5.0, reserve_soc=0.1, wear=bat_wear
    )
    return Site(
        grid=Grid(import_limit_kw=17.0, export_limit_kw=10.0, fuse_kw=17.0),
        evs=(ev,),
        battery=battery,
        pv=Pv(),
        peak_tariff=MonthlyPeakTariff.flanders(53.0),
    )


def case_b_site(start: datetime, evs: int = 10) -> Site:
    """``evs`` bidirectional EVs on one 50 kW connection (a small office, V2B)."""
    day0 = start.replace(hour=0, minute=0, second=0, microsecond=0)
    cars = []
    for i in range(evs):
        wear = WearModel.for_chemistry(Chemistry.NMC if i % 2 else Chemistry.LFP, max_power_kw=11.0)
        trips = tuple(
            Trip(
                depart=day0 + timedelta(days=d, hours=16 + (i % 3), minutes=15 * (i % 4)),
                arrive=day0 + timedelta(days=d + 1, hours=8 + (i % 2)),
                energy_kwh=8.0 + i,
                target_soc=0.7 + 0.02 * (i % 5),
            )
            for d in range(3)
        )
        cars.append(
            Ev(
                name=f"ev{i}",
                capacity_kwh=50.0 + 5 * (i % 4),
                max_charge_kw=11.0,
                max_discharge_kw=11.0,
                min_soc=0.2,
                chemistry=Chemistry.NMC if i % 2 else Chemistry.LFP,
                wear=wear,
                trips=trips,
            )
        )
    return Site(
        grid=Grid(import_limit_kw=50.0, export_limit_kw=30.0),
        evs=tuple(cars),
        pv=Pv(),
        peak_tariff=MonthlyPeakTariff(eur_per_kw_month=4.0),
    )


def case_state(site: Site, seed: int = 0) -> State:
    """A plausible measured state for a site."""
    from .optimize.inputs import State

    rng = np.random.default_rng(seed)
    return State(
        ev_soc={ev.name: float(rng.uniform(0.3, 0.6)) for ev in site.evs},
        battery_soc=0.5 if site.battery is not None else None,
        month_peak_kw=3.0,
        quarter_import_kwh=0.1,
    )


#: the bench's planning start (a Monday noon in March)
DEFAULT_START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
