"""From a spot price series to the all-in import and export prices a household pays and earns.

The optimiser needs, per 15-minute step, what one more kWh imported costs and one more kWh
exported earns, all-in. That is spot plus the supplier's fee, energy tax, the network's kWh charge
and time-of-use adders, with VAT on top; export has its own rule (net metering in NL until
2026-12-31, feed-in fees, no remuneration during negative prices for new German PV). Capacity
tariffs are not per-kWh prices and travel alongside as parameters (:mod:`.capacity`).

Every template is linear in spot with per-step adders, so composition commutes with resampling
and keeps time-weighted averages (tested). Country helpers read their yearly values from
``hems_core/tariffs/data/*.json``; a horizon crossing New Year uses each year's values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import ClassVar, Literal, cast

import numpy as np
from numpy.typing import NDArray

from . import data
from .capacity import (
    CapacityTariff,
    FlandersCapacityTariff,
    PowerWindow,
    SwedishPowerTariff,
)
from .errors import PriceDataError
from .formula import Formula
from .series import PriceSeries
from .timegrid import STEP, STEP_MINUTES

FloatArray = NDArray[np.float64]
ALL_DAYS = frozenset(range(7))
ALL_MONTHS = frozenset(range(1, 13))


@dataclass(frozen=True)
class TouAdder:
    """A per-kWh adder (before VAT) in a local time window on some weekdays, months and dates.

    ``start == end`` means all day; ``end < start`` wraps midnight. ``weekdays``: 0 = Monday.
    ``date_from``/``date_to`` are inclusive local dates. ``side`` picks import or export price.
    """

    value: float
    start: time = time(0)
    end: time = time(0)
    weekdays: frozenset[int] = ALL_DAYS
    months: frozenset[int] = ALL_MONTHS
    date_from: date | None = None
    date_to: date | None = None
    side: Literal["import", "export"] = "import"
    name: str = ""

    def mask(self, cal: LocalCalendar) -> NDArray[np.bool_]:
        """Steps this adder applies to."""
        a = self.start.hour * 60 + self.start.minute
        b = self.end.hour * 60 + self.end.minute
        m = cal.minute
        if a == b:
            in_window = np.ones(m.shape, dtype=bool)
        elif a < b:
            in_window = (m >= a) & (m < b)
        else:
            in_window = (m >= a) | (m < b)
        ok = in_window & np.isin(cal.weekday, list(self.weekdays))
        ok &= np.isin(cal.month, list(self.months))
        if self.date_from is not None:
            ok &= cal.ordinal >= self.date_from.toordinal()
        if self.date_to is not None:
            ok &= cal.ordinal <= self.date_to.toordinal()
        return ok


@dataclass(frozen=True)
class ExportRule:
    """What an exported kWh earns: ``(spot·spot_factor + fixed − fee + ToU) · (1 + vat)``.

    ``zero_when_spot_negative``: German new PV (Solarspitzengesetz) earns nothing while spot < 0.
    ``net_metering_until``: inclusive local date up to which an exported kWh is netted against
    import, so it is worth the all-in import price (NL salderingsregeling, ends 2026-12-31).
    """

    spot_factor: float = 1.0
    fixed: float = 0.0
    fee: float = 0.0
    vat: float = 0.0
    zero_when_spot_negative: bool = False
    net_metering_until: date | None = None


@dataclass(frozen=True)
class TariffTemplate:
    """``import = (spot·spot_factor + markup + energy_tax + grid_per_kwh + ToU) · (1 + vat)``."""

    name: str
    vat: float = 0.0
    spot_factor: float = 1.0
    markup: float = 0.0
    energy_tax: float = 0.0
    grid_per_kwh: float = 0.0
    tou: tuple[TouAdder, ...] = ()
    export: ExportRule = field(default_factory=ExportRule)
    capacity: CapacityTariff | None = None


@dataclass(frozen=True)
class FormulaTariff:
    """A user's own formulas (see :mod:`.formula`) for import and export prices."""

    name: str
    import_formula: str
    export_formula: str = "spot"
    capacity: CapacityTariff | None = None

    def __post_init__(self) -> None:
        Formula(self.import_formula)  # validate early, with a clear message
        Formula(self.export_formula)


Tariff = TariffTemplate | FormulaTariff
TariffSource = Tariff | Callable[[int], Tariff]


@dataclass(frozen=True, eq=False)
class LocalCalendar:
    """Local calendar fields of each step (for windows and formulas)."""

    minute: NDArray[np.int64]
    weekday: NDArray[np.int64]
    month: NDArray[np.int64]
    day: NDArray[np.int64]
    year: NDArray[np.int64]
    ordinal: NDArray[np.int64]

    @classmethod
    def of(cls, start: datetime, n: int, tz: tzinfo) -> LocalCalendar:
        """Fields for ``n`` steps from ``start``."""
        cols: list[list[int]] = [[], [], [], [], [], []]
        for i in range(n):
            t = (start + i * STEP).astimezone(tz)
            for c, v in zip(
                cols,
                (t.hour * 60 + t.minute, t.weekday(), t.month, t.day, t.year, t.toordinal()),
                strict=True,
            ):
                c.append(v)
        arrs = [np.asarray(c, dtype=np.int64) for c in cols]
        return cls(*arrs)

    def subset(self, mask: NDArray[np.bool_]) -> LocalCalendar:
        """The fields of the masked steps."""
        return LocalCalendar(
            self.minute[mask],
            self.weekday[mask],
            self.month[mask],
            self.day[mask],
            self.year[mask],
            self.ordinal[mask],
        )


@dataclass(frozen=True, eq=False)
class ComposedPrices:
    """All-in prices per 15-minute step: what the optimiser consumes.

    ``import_price[i]`` / ``export_price[i]``: currency per kWh imported / exported during step
    ``i`` starting at ``start + i·15 min``; ``known[i]`` false where spot was a forecast.
    ``capacity`` carries the peak-tariff parameters, if the tariff has one.
    """

    start: datetime
    import_price: FloatArray
    export_price: FloatArray
    known: NDArray[np.bool_]
    currency: str
    tariff: str
    capacity: CapacityTariff | None = None

    step_minutes: ClassVar[int] = STEP_MINUTES

    def __len__(self) -> int:
        return int(self.import_price.size)


def compose(spot: PriceSeries, tariff: TariffSource, tz: tzinfo) -> ComposedPrices:
    """All-in import/export prices for every step of ``spot`` under ``tariff`` (local zone ``tz``).

    ``tariff`` may be a function of the local year (country helpers such as :func:`nl_dynamic`),
    so a horizon across New Year uses each year's taxes. Raises :class:`PriceDataError` when the
    spot series already contains a component the template would add again (VAT, energy tax, grid
    fees), or when a formula gives a non-finite price.
    """
    n = len(spot)
    cal = LocalCalendar.of(spot.start, n, tz)
    imp = np.empty(n)
    exp = np.empty(n)
    first: Tariff | None = None
    for year in cast(list[int], np.unique(cal.year).tolist()):
        t = tariff(int(year)) if callable(tariff) else tariff
        first = first or t
        m = cal.year == year
        imp[m], exp[m] = _apply(t, spot, spot.values[m], cal.subset(m))
    assert first is not None
    for arr, side in ((imp, "import"), (exp, "export")):
        if not np.all(np.isfinite(arr)):
            raise PriceDataError("tariff", f"tariff {first.name!r} gives a non-finite {side} price")
    imp.setflags(write=False)
    exp.setflags(write=False)
    return ComposedPrices(
        start=spot.start,
        import_price=imp,
        export_price=exp,
        known=spot.known,
        currency=spot.currency,
        tariff=first.name,
        capacity=first.capacity,
    )


def _apply(
    t: Tariff, spot: PriceSeries, s: FloatArray, cal: LocalCalendar
) -> tuple[FloatArray, FloatArray]:
    if isinstance(t, FormulaTariff):
        env = {
            "spot": s,
            "hour": cal.minute / 60.0,
            "weekday": cal.weekday.astype(np.float64),
            "month": cal.month.astype(np.float64),
            "day": cal.day.astype(np.float64),
            "year": cal.year.astype(np.float64),
            "weekend": (cal.weekday >= 5).astype(np.float64),
            "spot_negative": (s < 0).astype(np.float64),
        }
        return Formula(t.import_formula).evaluate(env), Formula(t.export_formula).evaluate(env)
    clashes = [
        what
        for what, has, adds in (
            ("VAT", spot.includes_vat, t.vat != 0 or t.export.vat != 0),
            ("energy tax", spot.includes_energy_tax, t.energy_tax != 0),
            ("grid fees", spot.includes_grid_fees, t.grid_per_kwh != 0),
        )
        if has and adds
    ]
    if clashes:
        raise PriceDataError(
            "tariff",
            f"prices from {spot.source} already include {', '.join(clashes)}; "
            f"tariff {t.name!r} would add them again",
        )
    tou_in = np.zeros(s.shape)
    tou_out = np.zeros(s.shape)
    for a in t.tou:
        target = tou_in if a.side == "import" else tou_out
        target += np.where(a.mask(cal), a.value, 0.0)
    imp = (s * t.spot_factor + t.markup + t.energy_tax + t.grid_per_kwh + tou_in) * (1 + t.vat)
    e = t.export
    exp = (s * e.spot_factor + e.fixed - e.fee + tou_out) * (1 + e.vat)
    if e.zero_when_spot_negative:
        exp = np.where(s < 0, 0.0, exp)
    if e.net_metering_until is not None:
        exp = np.where(cal.ordinal <= e.net_metering_until.toordinal(), imp, exp)
    return imp, exp


# -- country templates (values from data/*.json) -------------------------------------------------


def nl_dynamic(
    year: int,
    *,
    purchase_fee: float = 0.0,
    feed_in_fee: float = 0.0,
    feed_in_compensation: float = 0.0,
    tou: tuple[TouAdder, ...] = (),
) -> TariffTemplate:
    """Dutch dynamic contract: ``(spot + purchase_fee + energy tax) · 1.21``.

    Export: netted against import (worth the import price) through 2026-12-31; from 2027 spot plus
    the supplier's ``feed_in_compensation`` minus per-kWh ``feed_in_fee`` (terugleverkosten), no
    tax and no VAT. Grid fees are a fixed yearly charge by connection size: not per kWh.
    """
    until = date.fromisoformat(str(data.scalar("nl", "net_metering_until")))
    return TariffTemplate(
        name=f"nl_dynamic_{year}",
        vat=float(data.scalar("nl", "vat")),
        markup=purchase_fee,
        energy_tax=data.yearly("nl", "energy_tax_per_kwh", year).value,
        tou=tou,
        export=ExportRule(fixed=feed_in_compensation, fee=feed_in_fee, net_metering_until=until),
    )


def flanders_areas() -> tuple[str, ...]:
    """The Fluvius distribution areas the data file knows (``area=`` of :func:`be_flanders`)."""
    return tuple(str(a) for a in data.scalar("be_flanders", "areas"))


def _flanders_area_value(key: str, area: str, year: int) -> float:
    """``key`` for one Fluvius area: the year's value, else the newest earlier one; else an error.

    A missing value is never taken as zero: the all-in price would then look cheaper than it is
    by the network charge, and the planner would import more than pays.
    """
    if area not in flanders_areas():
        raise PriceDataError(
            "tariff", f"unknown Fluvius area {area!r} (one of {', '.join(flanders_areas())})"
        )
    tables = data.load("be_flanders")[key]
    entry = tables["by_area"][area]
    table = {int(y): float(v) for y, v in entry.get("by_year", {}).items()}
    known = [y for y in table if y <= year]
    if not known:
        raise PriceDataError(
            "tariff",
            f"be_flanders: no {key} for Fluvius {area} in {year} or before "
            f"({entry.get('source') or tables.get('source', 'no source')}); give it explicitly",
        )
    return table[max(known)]


def _flanders_levies(year: int) -> tuple[float, tuple[TouAdder, ...]]:
    """Per-kWh levies for ``year``: the value on 1 January, and adders for later changes.

    Each component (excise, energy contribution, certificate levies) has dated periods; the last
    one stays in force until a newer one is added. A day of ``year`` that no period covers is an
    error, not a zero.
    """
    first, last = date(year, 1, 1), date(year, 12, 31)
    base = 0.0
    adders: list[TouAdder] = []
    components = data.load("be_flanders")["levies_per_kwh"]["components"]
    for name, comp in components.items():
        periods = sorted(
            (
                date.fromisoformat(p["from"]),
                date.fromisoformat(p["to"]) if "to" in p else None,
                float(p["value"]),
            )
            for p in comp["periods"]
        )
        cursor = first
        at_start: float | None = None
        for start, end, value in periods:
            stop = last if end is None or end > last else end
            if stop < cursor:
                continue
            if start > cursor:
                break  # a gap: reported below
            if at_start is None:
                at_start = value
            elif value != at_start:
                adders.append(
                    TouAdder(value - at_start, date_from=max(start, first), date_to=stop, name=name)
                )
            cursor = stop + timedelta(days=1)
            if stop == last:
                break
        if at_start is None or cursor <= last:
            raise PriceDataError(
                "tariff",
                f"be_flanders: no {name} levy for all of {year} in the data file "
                f"({comp.get('source', 'no source')}); give levies_per_kwh explicitly",
            )
        base += at_start
    return base, tuple(adders)


def be_flanders(
    year: int,
    *,
    area: str | None = None,
    supplier_markup: float = 0.0,
    network_per_kwh: float | None = None,
    levies_per_kwh: float | None = None,
    injection_fee: float = 0.0,
    capacity_eur_per_kw_year: float | None = None,
    tou: tuple[TouAdder, ...] = (),
) -> TariffTemplate:
    """Flanders: kWh parts (spot, supplier, network kWh charge, levies) plus VAT, and the capacity
    tariff as a parameter.

    ``area`` is the Fluvius distribution area (:func:`flanders_areas`); its network kWh charge
    and capacity tariff come from the data file unless given. Levies (federal excise, energy
    contribution, Flemish certificate levies) come from the data file unless given, with changes
    during the year as dated adders. Any value neither given nor in the data file raises
    :class:`PriceDataError`: a silent zero would make grid energy look cheaper than it is.
    Without ``area`` the capacity tariff is the Flemish average. Export earns spot minus the
    supplier's ``injection_fee``, without VAT.
    """
    vat = float(data.scalar("be_flanders", "vat"))
    if network_per_kwh is None:
        if area is None:
            raise PriceDataError(
                "tariff",
                "be_flanders: choose the Fluvius area (one of "
                f"{', '.join(flanders_areas())}) or give network_per_kwh",
            )
        network_per_kwh = _flanders_area_value("network_per_kwh", area, year)
    levy_adders: tuple[TouAdder, ...] = ()
    if levies_per_kwh is None:
        levies_per_kwh, levy_adders = _flanders_levies(year)
    if capacity_eur_per_kw_year is None:
        if area is not None:
            capacity_eur_per_kw_year = _flanders_area_value(
                "capacity_eur_per_kw_year_by_area", area, year
            )
        else:
            capacity_eur_per_kw_year = data.yearly(
                "be_flanders", "capacity_eur_per_kw_year", year
            ).value
    return TariffTemplate(
        name=f"be_flanders_{area}_{year}" if area else f"be_flanders_{year}",
        vat=vat,
        markup=supplier_markup,
        energy_tax=levies_per_kwh,
        grid_per_kwh=network_per_kwh,
        tou=tou + levy_adders,
        export=ExportRule(fee=injection_fee),
        capacity=FlandersCapacityTariff(
            eur_per_kw_year=capacity_eur_per_kw_year,
            min_kw=float(data.scalar("be_flanders", "capacity_min_kw")),
            vat=vat,
        ),
    )


def ellevio_power_tariff() -> SwedishPowerTariff:
    """Ellevio's power tariff from the data file (3 peaks, one per day, night counts half)."""
    d = data.load("se")["power_tariffs"]["ellevio"]
    return SwedishPowerTariff(
        price_per_kw_month=float(d["price_per_kw_month"]),
        n_peaks=int(d["n_peaks"]),
        one_peak_per_day=bool(d["one_peak_per_day"]),
        windows=tuple(
            PowerWindow(time.fromisoformat(w["start"]), time.fromisoformat(w["end"]), w["weight"])
            for w in d["windows"]
        ),
        months=frozenset(int(m) for m in d["months"]),
    )


def se(
    year: int,
    *,
    supplier_markup: float = 0.0,
    grid_per_kwh: float = 0.0,
    power_tariff: SwedishPowerTariff | None = None,
    export_bonus: float | None = None,
    tou: tuple[TouAdder, ...] = (),
) -> TariffTemplate:
    """Sweden: ``(spot + markup + grid kWh fee + energiskatt) · 1.25`` in SEK/kWh.

    Export earns spot plus ``export_bonus`` (the microproducer tax reduction, from the data file
    unless given). The power tariff defaults to Ellevio's design.
    """
    if export_bonus is None:
        export_bonus = data.yearly("se", "microproducer_tax_reduction_per_kwh", year).value
    return TariffTemplate(
        name=f"se_{year}",
        vat=float(data.scalar("se", "vat")),
        markup=supplier_markup,
        energy_tax=data.yearly("se", "energy_tax_per_kwh", year).value,
        grid_per_kwh=grid_per_kwh,
        tou=tou,
        export=ExportRule(fixed=export_bonus),
        capacity=power_tariff if power_tariff is not None else ellevio_power_tariff(),
    )


def de_module3_example() -> tuple[TouAdder, ...]:
    """The example §14a module-3 levels from the data file (replace with your DSO's sheet)."""
    d = data.load("de")["module3_example"]
    months = frozenset(int(m) for m in d["months"])
    return tuple(
        TouAdder(
            value=float(lv["adder_per_kwh"]),
            start=time.fromisoformat(lv["start"]),
            end=time.fromisoformat(lv["end"]),
            months=months,
            name=str(lv["name"]),
        )
        for lv in d["levels"]
    )


def de(
    year: int,
    *,
    supplier_markup: float = 0.0,
    grid_per_kwh: float = 0.0,
    module3: tuple[TouAdder, ...] = (),
    feed_in_tariff: float = 0.0,
    direct_marketing: bool = False,
    new_pv: bool = True,
) -> TariffTemplate:
    """Germany: ``(spot + markup + network kWh fee + Stromsteuer + §14a module-3 level) · 1.19``.

    Export: the fixed EEG ``feed_in_tariff`` (or spot under ``direct_marketing``); for ``new_pv``
    nothing while spot is negative (Solarspitzengesetz).
    """
    return TariffTemplate(
        name=f"de_{year}",
        vat=float(data.scalar("de", "vat")),
        markup=supplier_markup,
        energy_tax=data.yearly("de", "electricity_tax_per_kwh", year).value,
        grid_per_kwh=grid_per_kwh,
        tou=module3,
        export=ExportRule(
            spot_factor=1.0 if direct_marketing else 0.0,
            fixed=0.0 if direct_marketing else feed_in_tariff,
            zero_when_spot_negative=new_pv,
        ),
    )
