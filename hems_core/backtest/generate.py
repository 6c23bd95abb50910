"""How the reference scenarios' CSV files were made.

Rerun with ``python -m hems_core.backtest.generate [NAME ...]``.

Real series are copied only where the source licence allows it (MIT): NL 15-minute day-ahead
prices 2025 (jeroen.nl via ``langestefan/langestefan.github.io``), SE3 hourly prices
(ENTSO-E via ``punnoose-1620/machine-learning-project``) and measured Utrecht PV
(``giumonros/Measured-vs-simulated-PV``), all from ``../shared/data``. Household and office
loads and EV sessions have no shippable source and are generated here with a fixed seed.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from ..scenario import FloatArray

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
OUT = Path(__file__).resolve().parents[2] / "scenarios"


def _read(path: Path, col: str) -> dict[int, float]:
    with path.open(newline="") as handle:
        return {
            int(
                datetime.fromisoformat(r["timestamp_utc"].replace("Z", "+00:00")).timestamp()
            ): float(r[col])
            for r in csv.DictReader(handle)
        }


def quarters(t0: datetime, t1: datetime) -> np.ndarray[tuple[int], np.dtype[np.int64]]:
    """Epoch seconds of every quarter in [t0, t1)."""
    return np.arange(int(t0.timestamp()), int(t1.timestamp()), 900, dtype=np.int64)


def prices(
    stamps: np.ndarray[tuple[int], np.dtype[np.int64]], source: str, *, before: int | None = None
) -> FloatArray:
    """EUR/MWh per quarter from a shared price file (hourly values held for four quarters).

    Quarters before ``before`` (epoch s) that the file lacks are NaN, written as empty cells:
    forecast history, where no controller reads a price, and no copyable source exists.
    """
    series = _read(DATA / source, "price_eur_mwh")
    hourly = "hourly" in source
    out = np.empty(stamps.shape[0])
    for i, s in enumerate(stamps):
        key = int(s - s % 3600) if hourly else int(s)
        if key not in series and before is not None and s < before:
            out[i] = math.nan
        else:
            out[i] = series[key]
    return out


def pv_per_kwp(stamps: np.ndarray[tuple[int], np.dtype[np.int64]], year: int = 2016) -> FloatArray:
    """Utrecht measured PV (kW/kWp), replaying the same calendar date and hour of ``year``.

    The source lacks 31 December 2016; that day (and any other hour ``year`` lacks) replays
    the year before.
    """
    series = _read(DATA / "pv_nl_utrecht_measured_2014_2017_hourly.csv", "pv_kw_per_kwp")
    out = np.empty(stamps.shape[0])
    for i, s in enumerate(stamps):
        d = datetime.fromtimestamp(int(s), UTC)
        value = None
        for y in (year, year - 1):
            try:
                src = d.replace(year=y, minute=0)
            except ValueError:  # 29 February
                src = d.replace(year=y, day=28, minute=0)
            value = series.get(int(src.timestamp()))
            if value is not None:
                break
        out[i] = 0.0 if value is None else value
    return out


def _local_hours(stamps: np.ndarray[tuple[int], np.dtype[np.int64]], tz: str) -> FloatArray:
    zone = ZoneInfo(tz)
    return np.array(
        [(lt := datetime.fromtimestamp(int(s), UTC).astimezone(zone)).hour + lt.minute / 60
         for s in stamps]
    )  # fmt: skip


def smooth_load(
    stamps: np.ndarray[tuple[int], np.dtype[np.int64]], tz: str, kwh_day: float
) -> FloatArray:
    """A plain household profile (kW): night floor, morning and evening peaks; kWh/day mean."""
    hrs = _local_hours(stamps, tz)
    shape = (
        0.25
        + 0.35 * np.exp(-(((hrs - 7.5) / 1.2) ** 2))
        + 0.9 * np.exp(-(((hrs - 18.5) / 1.8) ** 2))
        + 0.15 * np.exp(-(((hrs - 13.0) / 3.0) ** 2))
    )
    out: FloatArray = shape / shape.mean() * kwh_day / 24.0
    return out


def house_load(
    stamps: np.ndarray[tuple[int], np.dtype[np.int64]], tz: str, kwh_day: float, seed: int,
    *, winter_heat_kw: float = 0.0,
) -> FloatArray:  # fmt: skip
    """A household (kW per quarter): base, morning/evening peaks, random appliance spikes."""
    rng = np.random.default_rng(seed)
    hrs = _local_hours(stamps, tz)
    base = smooth_load(stamps, tz, kwh_day)
    noise = np.exp(rng.normal(0, 0.25, stamps.shape[0]))
    spikes = (rng.random(stamps.shape[0]) < 0.03) * rng.uniform(1.0, 2.5, stamps.shape[0])
    heat = (
        winter_heat_kw * (0.6 + 0.4 * np.cos((hrs - 6) / 24 * 2 * math.pi)) if winter_heat_kw else 0
    )
    out: FloatArray = np.round(base * noise + spikes + heat, 4)
    return out


def commuter_sessions(
    ev: str, tz: str, first: date, days: int, seed: int, *, depart: time = time(7, 30),
    arrive: time = time(17, 45), trip_kwh: tuple[float, float] = (8.0, 18.0),
    saturday: bool = True, target: float = 0.8,
) -> list[tuple[str, datetime, datetime, float, float]]:  # fmt: skip
    """Weekday commutes around the configured times (±20 min out, ±45 min back), a Saturday trip."""
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(tz)
    out: list[tuple[str, datetime, datetime, float, float]] = []
    plug = datetime.combine(first - timedelta(days=1), arrive, zone)
    for k in range(days):
        day = first + timedelta(days=k)
        wd = day.weekday()
        if wd < 5:
            dep = datetime.combine(day, depart, zone) + timedelta(minutes=float(rng.normal(0, 12)))
            back = datetime.combine(day, arrive, zone) + timedelta(minutes=float(rng.normal(0, 35)))
        elif wd == 5 and saturday:
            dep = datetime.combine(day, time(10, 0), zone) + timedelta(
                minutes=float(rng.normal(0, 15))
            )
            back = dep + timedelta(hours=float(rng.uniform(2.5, 5)))
        else:
            continue
        dep, back = dep.replace(second=0, microsecond=0), back.replace(second=0, microsecond=0)
        energy = float(rng.uniform(*trip_kwh))
        out.append((ev, plug, dep, round(energy, 2), target))
        plug = back
    last = datetime.combine(first + timedelta(days=days + 1), depart, zone)
    out.append((ev, plug, last, round(float(rng.uniform(*trip_kwh)), 2), target))
    # the trip energy of a row is the trip that ended with that arrival
    return [(e, a, d, out[i - 1][3] if i else 0.0, t) for i, (e, a, d, _, t) in enumerate(out)]


def write(folder: Path, stamps: np.ndarray[tuple[int], np.dtype[np.int64]], load: FloatArray,
          pv: FloatArray, price: FloatArray,
          sessions: list[tuple[str, datetime, datetime, float, float]],
          tag: str = "", *, exact: bool = False) -> None:  # fmt: skip
    """``series{tag}.csv`` and ``sessions{tag}.csv`` in ``folder`` (``exact``: full precision)."""
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"series{tag}.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp_utc", "load_kw", "pv_kw", "price_eur_mwh"])
        for s, a, b, c in zip(stamps, load, pv, price, strict=True):
            ts = datetime.fromtimestamp(int(s), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            ab = [repr(float(a)), repr(float(b))] if exact else [f"{a:.4f}", f"{b:.4f}"]
            w.writerow([ts, *ab, "" if math.isnan(c) else f"{c:.2f}"])
    with (folder / f"sessions{tag}.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ev", "arrive_utc", "depart_utc", "trip_kwh", "target_soc"])
        for ev, a, d, kwh, tgt in sessions:
            fmt = "%Y-%m-%dT%H:%M:%SZ"
            w.writerow(
                [ev, a.astimezone(UTC).strftime(fmt), d.astimezone(UTC).strftime(fmt), kwh, tgt]
            )


def _home(name: str, tz: str, t0: datetime, t1: datetime, price_file: str, kwp: float,
          kwh_day: float, seed: int, evs: list[str], tag: str = "",
          start: datetime | None = None, **kw: float) -> None:  # fmt: skip
    """A home's series and sessions over [t0, t1); prices may be missing before ``start``."""
    stamps = quarters(t0, t1)
    load = house_load(stamps, tz, kwh_day, seed, winter_heat_kw=kw.get("heat_kw", 0.0))
    pv = np.round(pv_per_kwp(stamps) * kwp, 4)
    days = (t1.date() - t0.date()).days + 1
    sessions = []
    for k, ev in enumerate(evs):
        sessions += commuter_sessions(ev, tz, t0.astimezone(ZoneInfo(tz)).date(), days,
                                      seed + 100 + k)  # fmt: skip
    before = int(start.timestamp()) if start else None
    write(OUT / name, stamps, load, pv, prices(stamps, price_file, before=before), sessions, tag)


def demo_home(name: str) -> None:
    """The demo's home: 14 days of October 2025, a smooth 9 kWh/day load, the car home Tuesday.

    Load and PV are written at full precision so ``hems demo`` plans exactly these numbers.
    """
    ams = ZoneInfo("Europe/Amsterdam")
    stamps = quarters(datetime(2025, 10, 1, tzinfo=ams), datetime(2025, 10, 15, tzinfo=ams))
    load = smooth_load(stamps, "Europe/Amsterdam", 9.0)
    pv = pv_per_kwp(stamps) * 5.0
    stay = ("Car", datetime(2025, 10, 7, 16, 0, tzinfo=ams), datetime(2025, 10, 8, 7, 30,
            tzinfo=ams), 0.0, 0.8)  # fmt: skip
    price = prices(stamps, "prices_nl_dayahead_15min_2025.csv")
    write(OUT / name, stamps, load, pv, price, [stay], exact=True)


def office(name: str, seed: int) -> None:
    """Ten bidirectional cars at an office with 40 kWp PV (2025-10-06 … 2025-11-02)."""
    tz = "Europe/Amsterdam"
    zone = ZoneInfo(tz)
    t0 = datetime(2025, 9, 22, tzinfo=zone)
    t1 = datetime(2025, 11, 3, tzinfo=zone)
    stamps = quarters(t0, t1)
    rng = np.random.default_rng(seed)
    local = [datetime.fromtimestamp(int(s), UTC).astimezone(zone) for s in stamps]
    hrs = np.array([lt.hour + lt.minute / 60 for lt in local])
    work = np.array([lt.weekday() < 5 for lt in local])
    load = 4.0 + work * 14.0 * np.clip(np.sin((hrs - 7) / 12 * math.pi), 0, None)
    load = np.round(load * np.exp(rng.normal(0, 0.1, stamps.shape[0])), 4)
    pv = np.round(pv_per_kwp(stamps) * 40.0, 4)
    sessions = []
    for k in range(10):
        r = np.random.default_rng(seed + k)
        day = t0.date()
        while day < t1.date():
            if day.weekday() < 5 and r.random() < 0.9:
                a = datetime.combine(day, time(8, 0), zone) + timedelta(
                    minutes=float(r.normal(15, 25))
                )
                d = datetime.combine(day, time(17, 0), zone) + timedelta(
                    minutes=float(r.normal(0, 40))
                )
                sessions.append((f"car{k + 1}", a.replace(second=0, microsecond=0),
                                 d.replace(second=0, microsecond=0),
                                 round(float(r.uniform(8, 25)), 2), 0.7))  # fmt: skip
            day += timedelta(days=1)
    write(
        OUT / name, stamps, load, pv, prices(stamps, "prices_nl_dayahead_15min_2025.csv"), sessions
    )


def plaza(name: str, seed: int) -> None:
    """Woon / werk / bestemming plazas, 12 sessions a day each, one week of October 2025."""
    tz = "Europe/Amsterdam"
    zone = ZoneInfo(tz)
    t0 = datetime(2025, 10, 6, tzinfo=zone)
    t1 = datetime(2025, 10, 14, tzinfo=zone)
    stamps = quarters(t0, t1)
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    price = prices(stamps, "prices_nl_dayahead_15min_2025.csv")
    with (folder / "prices.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["timestamp_utc", "price_eur_mwh"])
        for st, pr in zip(stamps, price, strict=True):
            w.writerow(
                [datetime.fromtimestamp(int(st), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), f"{pr:.2f}"]
            )
    rng = np.random.default_rng(seed)
    # (arrival hour mean, sd), (dwell hours low, high), (energy kWh low, high)
    shapes = {
        "woon": ((18.0, 1.3), (10.0, 14.0), (6.0, 22.0)),
        "werk": ((8.5, 0.7), (7.0, 9.5), (6.0, 20.0)),
        "bestemming": ((14.0, 3.0), (1.0, 3.5), (4.0, 15.0)),
    }
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    with (folder / "sessions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["profile", "arrive_utc", "depart_utc", "energy_kwh"])
        for prof, ((mu, sd), dwell, kwh) in shapes.items():
            for k in range(7):
                day = t0.date() + timedelta(days=k)
                if prof == "werk" and day.weekday() >= 5:
                    continue
                for j in range(12):
                    # a workplace plaza also serves a few evening users (a quarter of sessions)
                    late = prof == "werk" and j % 4 == 3
                    hour = float(
                        np.clip(rng.normal(17.0, 1.0) if late else rng.normal(mu, sd), 6.0, 21.5)
                    )
                    a = datetime.combine(day, time(), zone) + timedelta(hours=hour)
                    d = a + timedelta(hours=float(rng.uniform(*((2.0, 5.0) if late else dwell))))
                    a, d = a.replace(second=0, microsecond=0), d.replace(second=0, microsecond=0)
                    w.writerow(
                        [
                            prof,
                            a.astimezone(UTC).strftime(fmt),
                            d.astimezone(UTC).strftime(fmt),
                            round(float(rng.uniform(*kwh)), 2),
                        ]
                    )


def flanders() -> None:
    """A winter and a summer month of a Flemish home with PV and one V2H car."""
    bru = ZoneInfo("Europe/Brussels")
    nl = "prices_nl_dayahead_15min_2025.csv"
    for tag, (m0, m1, seed, heat) in {
        "-winter": (1, 2, 21, 0.4),
        "-summer": (6, 7, 22, 0.0),
    }.items():
        t0, t1 = datetime(2025, m0, 1, tzinfo=bru), datetime(2025, m1, 1, tzinfo=bru)
        _home("be-flanders-capacity", "Europe/Brussels", t0, t1, nl, 6.0, 10.0, seed, ["car"], tag,
              heat_kw=heat)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    """Regenerate every reference scenario's CSVs."""
    zones = ("Europe/Amsterdam", "Europe/Stockholm", "Europe/Berlin")
    ams, sto, ber = (ZoneInfo(z) for z in zones)
    nl = "prices_nl_dayahead_15min_2025.csv"
    jobs: dict[str, Callable[[], None]] = {
        # the whole of 2025 (the only copyable year of NL quarter prices) after 28 days of
        # load and PV history in December 2024, whose prices are left empty
        "nl-2027-v2h": lambda: _home(
            "nl-2027-v2h",
            "Europe/Amsterdam",
            datetime(2024, 12, 4, tzinfo=ams),
            datetime(2026, 1, 1, tzinfo=ams),
            nl,
            5.0,
            9.5,
            11,
            ["car"],
            start=datetime(2025, 1, 1, tzinfo=ams),
        ),
        "be-flanders-capacity": flanders,
        "se-effekt": lambda: _home(
            "se-effekt",
            "Europe/Stockholm",
            datetime(2023, 12, 10, tzinfo=sto),
            datetime(2024, 2, 1, tzinfo=sto),
            "prices_se3_dayahead_hourly_2023_2024.csv",
            0.0,
            18.0,
            31,
            ["car"],
            heat_kw=1.5,
        ),
        "de-14a": lambda: _home(
            "de-14a",
            "Europe/Berlin",
            datetime(2025, 10, 15, tzinfo=ber),
            datetime(2025, 11, 15, tzinfo=ber),
            nl,
            8.0,
            11.0,
            41,
            ["car"],
        ),
        "negative-prices": lambda: _home(
            "negative-prices",
            "Europe/Amsterdam",
            datetime(2025, 4, 25, tzinfo=ams),
            datetime(2025, 5, 14, tzinfo=ams),
            nl,
            6.0,
            9.5,
            51,
            ["car"],
        ),
        "v2b-office-10ev": lambda: office("v2b-office-10ev", 61),
        "nl_v2h_home": lambda: demo_home("nl_v2h_home"),
        "plaza-v2v": lambda: plaza("plaza-v2v", 71),
    }
    wanted = argv if argv else list(jobs)
    for name in wanted:
        jobs[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
