"""Site description: the physical assets behind one grid connection and their economics.

Everything here is a frozen, validated value object. Construction fails with
:class:`ModelError` (a :class:`ValueError`) and a message naming the field, so a bad
configuration is rejected once at the edge instead of producing an unsafe plan later.

Units: power kW, energy kWh, money EUR (any currency works if used consistently),
state of charge as a fraction 0..1, times as timezone-aware :class:`datetime` (UTC inside).

Battery-wear defaults per chemistry (see :meth:`WearModel.for_chemistry`) are derived from
two numbers the user can look up: the replacement value of the pack (EUR/kWh) and its cycle
life in full equivalent cycles. The derivation is written next to the code.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ModelError(ValueError):
    """A site description is invalid (the message names the offending field)."""


def _finite(name: str, value: float) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ModelError(f"{name} must be a finite number, got {value!r}")


def _nonneg(name: str, value: float) -> None:
    _finite(name, value)
    if value < 0:
        raise ModelError(f"{name} must be >= 0, got {value!r}")


def _positive(name: str, value: float) -> None:
    _finite(name, value)
    if value <= 0:
        raise ModelError(f"{name} must be > 0, got {value!r}")


def _fraction(name: str, value: float) -> None:
    _finite(name, value)
    if not 0.0 <= value <= 1.0:
        raise ModelError(f"{name} must be within [0, 1], got {value!r}")


def _efficiency(name: str, value: float) -> None:
    _finite(name, value)
    if not 0.5 <= value <= 1.0:
        raise ModelError(f"{name} must be within [0.5, 1], got {value!r}")


def _aware(name: str, value: datetime) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise ModelError(f"{name} must be a timezone-aware datetime, got {value!r}")


class Chemistry(StrEnum):
    """Cell chemistry; selects wear defaults and the SoC band that ages the cells."""

    NMC = "nmc"
    LFP = "lfp"


@dataclass(frozen=True)
class CalendarThreshold:
    """Calendar ageing: cost per kWh stored above ``soc`` per hour (convex, stacks).

    Dwelling at high SoC ages NMC cells (Keil et al. 2016); a convex hinge penalty makes the
    plan charge "just in time" instead of filling up early.
    """

    soc: float
    eur_per_kwh_h: float

    def __post_init__(self) -> None:
        _fraction("CalendarThreshold.soc", self.soc)
        _nonneg("CalendarThreshold.eur_per_kwh_h", self.eur_per_kwh_h)


@dataclass(frozen=True)
class WearModel:
    """Convex battery-wear cost.

    - ``throughput_eur_per_kwh``: cost per kWh charged plus per kWh discharged (AC side).
    - ``dod_segments``/``dod_exponent``: optional depth-of-discharge cost (Xu et al. 2018):
      the pack is split into ``dod_segments`` equal energy slices; energy leaving the slice at
      depth j costs ``c_j`` so that a full cycle of depth d costs ``R * d**k / N`` (Wöhler
      curve). Zero segments disables it.
    - ``quadratic_eur_per_kw2h``: ``w * P**2`` per hour for charge and discharge power
      (C-rate stress and I²R losses; it also smooths the plan and helps first-order solvers).
    - ``calendar``: hinge penalties on energy above SoC thresholds.
    - ``replacement_eur_per_kwh``/``cycle_life``: kept for the DoD segment costs.
    """

    throughput_eur_per_kwh: float = 0.0
    quadratic_eur_per_kw2h: float = 0.0
    calendar: tuple[CalendarThreshold, ...] = ()
    dod_segments: int = 0
    dod_exponent: float = 1.3
    replacement_eur_per_kwh: float = 0.0
    cycle_life: float = 3000.0

    def __post_init__(self) -> None:
        _nonneg("WearModel.throughput_eur_per_kwh", self.throughput_eur_per_kwh)
        _nonneg("WearModel.quadratic_eur_per_kw2h", self.quadratic_eur_per_kw2h)
        if not isinstance(self.dod_segments, int) or not 0 <= self.dod_segments <= 8:
            raise ModelError(
                f"WearModel.dod_segments must be an int in 0..8, got {self.dod_segments!r}"
            )
        _finite("WearModel.dod_exponent", self.dod_exponent)
        if not 1.0 <= self.dod_exponent <= 3.0:
            raise ModelError("WearModel.dod_exponent must be within [1, 3]")
        _nonneg("WearModel.replacement_eur_per_kwh", self.replacement_eur_per_kwh)
        _positive("WearModel.cycle_life", self.cycle_life)
        socs = [c.soc for c in self.calendar]
        if socs != sorted(set(socs)):
            raise ModelError("WearModel.calendar thresholds must have strictly increasing soc")

    @classmethod
    def for_chemistry(
        cls,
        chemistry: Chemistry,
        *,
        max_power_kw: float,
        replacement_eur_per_kwh: float | None = None,
        cycle_life: float | None = None,
        dod_segments: int = 0,
    ) -> WearModel:
        """Defaults derived from replacement value R (EUR/kWh) and cycle life N (full cycles).

        - Throughput: one full cycle moves 2 kWh of throughput per kWh of capacity and uses
          1/N of the pack, so ``c_thr = R / (2 N)``. NMC: R=150, N=2000 → 0.0375 EUR/kWh;
          LFP: R=110, N=5000 → 0.011 EUR/kWh (BNEF 2024 pack prices plus margin).
        - Quadratic: at full power the C-rate term adds 20 % of the throughput cost,
          ``w * P_max**2 = 0.2 * c_thr * P_max`` → ``w = 0.2 c_thr / P_max``.
        - Calendar (NMC): about 4 %/year extra capacity loss when kept full rather than at
          80 %; spread over the 20 % band above 80 %: ``R * 0.04 / (8760 h * 0.2)`` per kWh·h,
          doubled again above 90 %. LFP tolerates high SoC: a tenth of that above 95 %.
        - DoD exponent: 1.3 (NMC), 1.1 (LFP), used only when ``dod_segments > 0``.
        """
        lfp = chemistry is Chemistry.LFP
        r = (
            (110.0 if lfp else 150.0)
            if replacement_eur_per_kwh is None
            else replacement_eur_per_kwh
        )
        n = (5000.0 if lfp else 2000.0) if cycle_life is None else cycle_life
        _positive("replacement_eur_per_kwh", r)
        _positive("cycle_life", n)
        _positive("max_power_kw", max_power_kw)
        c_thr = r / (2.0 * n)
        gamma = r * 0.04 / (8760.0 * 0.2)
        calendar = (
            (CalendarThreshold(0.95, gamma * 0.1),)
            if lfp
            else (CalendarThreshold(0.8, gamma), CalendarThreshold(0.9, gamma))
        )
        return cls(
            throughput_eur_per_kwh=c_thr,
            quadratic_eur_per_kw2h=0.2 * c_thr / max_power_kw,
            calendar=calendar,
            dod_segments=dod_segments,
            dod_exponent=1.1 if lfp else 1.3,
            replacement_eur_per_kwh=r,
            cycle_life=n,
        )

    def dod_costs(self, capacity_kwh: float) -> tuple[float, ...]:
        """EUR per kWh leaving each DoD slice, shallowest slice first (non-decreasing).

        A cycle of depth d = m/J empties slices 1..m; choosing
        ``c_j = R * J / N * (phi(j/J) - phi((j-1)/J))`` with ``phi(d) = d**k`` makes its cost
        ``R * capacity * d**k / N`` per cycle, i.e. the Wöhler curve at the slice edges.
        """
        del capacity_kwh  # costs are per kWh; kept for a future capacity-dependent curve
        j = self.dod_segments
        if j == 0:
            return ()
        r, n, k = self.replacement_eur_per_kwh, self.cycle_life, self.dod_exponent
        return tuple(r * j / n * ((i / j) ** k - ((i - 1) / j) ** k) for i in range(1, j + 1))


class _ChemistryWear(WearModel):
    """Type of :data:`CHEMISTRY_WEAR` (never left in a constructed asset)."""


#: Default of ``Ev.wear``/``HomeBattery.wear``: a placeholder that construction replaces by the
#: asset's chemistry wear (:func:`default_wear`). A plain ``WearModel()`` is not it: that one
#: stays and means zero wear cost, on purpose. (A sentinel rather than ``None`` keeps the
#: field typed ``WearModel`` for every reader.)
CHEMISTRY_WEAR: WearModel = _ChemistryWear()


@dataclass(frozen=True)
class Grid:
    """The grid connection.

    ``import_limit_kw``/``export_limit_kw`` are contractual or inverter limits; ``fuse_kw`` the
    main fuse expressed as kW (the tighter of the two bounds import). A time-varying cap
    (DSO dimming, §14a EnWG) comes per solve in ``Inputs.import_cap_kw``.
    """

    import_limit_kw: float = 17.0
    export_limit_kw: float = 10.0
    fuse_kw: float | None = None

    def __post_init__(self) -> None:
        _nonneg("Grid.import_limit_kw", self.import_limit_kw)
        _nonneg("Grid.export_limit_kw", self.export_limit_kw)
        if self.fuse_kw is not None:
            _positive("Grid.fuse_kw", self.fuse_kw)

    @property
    def max_import_kw(self) -> float:
        """The binding static import bound."""
        return (
            self.import_limit_kw
            if self.fuse_kw is None
            else min(self.import_limit_kw, self.fuse_kw)
        )


@dataclass(frozen=True)
class Trip:
    """The vehicle is away from ``depart`` to ``arrive`` and uses ``energy_kwh`` meanwhile.

    ``target_soc`` is the SoC wanted at ``depart`` (soft: shortfall is penalised heavily).
    ``depart`` may lie before the horizon (the car is away now) and ``arrive`` after it.
    """

    depart: datetime
    arrive: datetime
    energy_kwh: float = 0.0
    target_soc: float | None = None

    def __post_init__(self) -> None:
        _aware("Trip.depart", self.depart)
        _aware("Trip.arrive", self.arrive)
        if self.arrive <= self.depart:
            raise ModelError("Trip.arrive must be after Trip.depart")
        _nonneg("Trip.energy_kwh", self.energy_kwh)
        if self.target_soc is not None:
            _fraction("Trip.target_soc", self.target_soc)


@dataclass(frozen=True)
class Ev:
    """One vehicle on one (bi)directional charger.

    ``min_soc`` is the user's hard floor (never discharged below; if the car arrives lower,
    the floor applies from the moment it is reachable at full charge power). ``max_soc`` the
    upper window. ``v2h_budget_kwh`` caps discharge over the horizon (warranty terms such as
    VW's 10,000 kWh; the caller converts a weekly/yearly budget into what is left).
    """

    name: str
    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float = 0.0
    charge_efficiency: float = 0.92
    discharge_efficiency: float = 0.92
    bidirectional: bool = True
    min_soc: float = 0.1
    max_soc: float = 1.0
    chemistry: Chemistry = Chemistry.NMC
    #: Default: this chemistry's wear (:func:`default_wear`), resolved at construction.
    #: Pass ``WearModel()`` explicitly for a zero-cost battery.
    wear: WearModel = CHEMISTRY_WEAR
    trips: tuple[Trip, ...] = ()
    v2h_budget_kwh: float | None = None

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise ModelError("Ev.name must be a non-empty string")
        _positive(f"Ev[{self.name}].capacity_kwh", self.capacity_kwh)
        _nonneg(f"Ev[{self.name}].max_charge_kw", self.max_charge_kw)
        _nonneg(f"Ev[{self.name}].max_discharge_kw", self.max_discharge_kw)
        _efficiency(f"Ev[{self.name}].charge_efficiency", self.charge_efficiency)
        _efficiency(f"Ev[{self.name}].discharge_efficiency", self.discharge_efficiency)
        _fraction(f"Ev[{self.name}].min_soc", self.min_soc)
        _fraction(f"Ev[{self.name}].max_soc", self.max_soc)
        if self.min_soc > self.max_soc:
            raise ModelError(f"Ev[{self.name}].min_soc must not exceed max_soc")
        if self.v2h_budget_kwh is not None:
            _nonneg(f"Ev[{self.name}].v2h_budget_kwh", self.v2h_budget_kwh)
        _resolve_wear(self, f"Ev[{self.name}]")
        for trip in self.trips:
            if trip.energy_kwh > self.capacity_kwh:
                raise ModelError(f"Ev[{self.name}]: trip energy exceeds the capacity")
        ordered = sorted(self.trips, key=lambda t: t.depart)
        for a, b in itertools.pairwise(ordered):
            if b.depart < a.arrive:
                raise ModelError(f"Ev[{self.name}]: trips overlap")


@dataclass(frozen=True)
class HomeBattery:
    """A stationary battery; ``reserve_soc`` is a hard backup floor."""

    capacity_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    reserve_soc: float = 0.1
    max_soc: float = 1.0
    chemistry: Chemistry = Chemistry.LFP
    #: Default: this chemistry's wear, as for :class:`Ev`.
    wear: WearModel = CHEMISTRY_WEAR
    name: str = "battery"

    def __post_init__(self) -> None:
        _positive("HomeBattery.capacity_kwh", self.capacity_kwh)
        _nonneg("HomeBattery.max_charge_kw", self.max_charge_kw)
        _nonneg("HomeBattery.max_discharge_kw", self.max_discharge_kw)
        _efficiency("HomeBattery.charge_efficiency", self.charge_efficiency)
        _efficiency("HomeBattery.discharge_efficiency", self.discharge_efficiency)
        _fraction("HomeBattery.reserve_soc", self.reserve_soc)
        _fraction("HomeBattery.max_soc", self.max_soc)
        if self.reserve_soc > self.max_soc:
            raise ModelError("HomeBattery.reserve_soc must not exceed max_soc")
        _resolve_wear(self, "HomeBattery")


def default_wear(chemistry: Chemistry, max_charge_kw: float, max_discharge_kw: float) -> WearModel:
    """The wear an asset gets when none is given: :meth:`WearModel.for_chemistry` defaults.

    Zero wear is a trap (a plan without wear cost cycles the battery for a cent of spread),
    so it must be asked for explicitly with ``WearModel()``. The quadratic term is scaled to
    the larger of the two power limits; an asset that cannot move power gets 1 kW (the term
    then never applies).
    """
    power = max(max_charge_kw, max_discharge_kw)
    return WearModel.for_chemistry(chemistry, max_power_kw=power if power > 0 else 1.0)


def _resolve_wear(asset: Ev | HomeBattery, who: str) -> None:
    if not isinstance(asset.chemistry, Chemistry):
        raise ModelError(f"{who}.chemistry must be a Chemistry, got {asset.chemistry!r}")
    if isinstance(asset.wear, _ChemistryWear):
        wear = default_wear(asset.chemistry, asset.max_charge_kw, asset.max_discharge_kw)
        object.__setattr__(asset, "wear", wear)  # frozen dataclass: resolved once, here
    elif not isinstance(asset.wear, WearModel):
        raise ModelError(f"{who}.wear must be a WearModel, got {asset.wear!r}")


@dataclass(frozen=True)
class Pv:
    """PV array; its forecast comes per solve. ``curtailable``: the inverter accepts a limit.

    ``peak_kw`` is informational only: the optimiser never reads it (the forecast carries the
    power), and it may go away, so callers should not depend on it.
    """

    peak_kw: float | None = None
    curtailable: bool = True

    def __post_init__(self) -> None:
        if self.peak_kw is not None:
            _nonneg("Pv.peak_kw", self.peak_kw)


@dataclass(frozen=True)
class Load:
    """Uncontrolled base load; its forecast comes per solve."""

    name: str = "base"


@dataclass(frozen=True)
class MonthlyPeakTariff:
    """Capacity tariff on the highest 15-min import power of each calendar month.

    Flanders: ``MonthlyPeakTariff.flanders(eur_per_kw_year)`` → EUR/kW·year ÷ 12 with a 2.5 kW
    floor (raising one month's peak by 1 kW costs T/12 over the following 12 bills). A
    generic demand charge is the same with ``floor_kw=0``.
    """

    eur_per_kw_month: float
    floor_kw: float = 0.0
    tz: str = "Europe/Brussels"

    def __post_init__(self) -> None:
        _nonneg("MonthlyPeakTariff.eur_per_kw_month", self.eur_per_kw_month)
        _nonneg("MonthlyPeakTariff.floor_kw", self.floor_kw)

    @classmethod
    def flanders(cls, eur_per_kw_year: float = 53.0) -> MonthlyPeakTariff:
        """Fluvius capaciteitstarief (per-DSO, per-year figure; 53 is a 2025 placeholder)."""
        _nonneg("eur_per_kw_year", eur_per_kw_year)
        return cls(eur_per_kw_month=eur_per_kw_year / 12.0, floor_kw=2.5, tz="Europe/Brussels")


@dataclass(frozen=True)
class TopPeaksTariff:
    """Swedish effektavgift: mean of the ``count`` highest daily hourly peaks per month.

    Each day contributes its highest hourly mean import; hours in the night window
    (``night_start_hour``..``night_end_hour`` local, ``tz``) are weighted by ``night_weight``
    (Ellevio: 22–06 at 0.5).
    """

    eur_per_kw_month: float
    count: int = 3
    night_weight: float = 1.0
    night_start_hour: int = 22
    night_end_hour: int = 6
    tz: str = "Europe/Stockholm"

    def __post_init__(self) -> None:
        _nonneg("TopPeaksTariff.eur_per_kw_month", self.eur_per_kw_month)
        if not isinstance(self.count, int) or not 1 <= self.count <= 10:
            raise ModelError("TopPeaksTariff.count must be an int in 1..10")
        _fraction("TopPeaksTariff.night_weight", self.night_weight)
        if not (0 <= self.night_start_hour <= 23 and 0 <= self.night_end_hour <= 23):
            raise ModelError("TopPeaksTariff night hours must be within 0..23")


@dataclass(frozen=True)
class Site:
    """Everything behind one connection: the unit the optimiser plans for."""

    grid: Grid = field(default_factory=Grid)
    evs: tuple[Ev, ...] = ()
    battery: HomeBattery | None = None
    pv: Pv | None = None
    load: Load = field(default_factory=Load)
    peak_tariff: MonthlyPeakTariff | None = None
    top_peaks_tariff: TopPeaksTariff | None = None
    #: Where stored energy may go. ``False`` (default, "V2H only"): EV and home-battery
    #: discharge, and imported energy, only serve the house and charging; grid export never
    #: exceeds the PV produced in the step (warranties, grid codes, the end of Dutch net
    #: metering in 2027). ``True`` allows exporting stored energy (V2G, battery arbitrage).
    allow_export_from_storage: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.allow_export_from_storage, bool):
            raise ModelError(
                "Site.allow_export_from_storage must be a bool, "
                f"got {self.allow_export_from_storage!r}"
            )
        names = [ev.name for ev in self.evs]
        if len(set(names)) != len(names):
            raise ModelError("Site.evs must have unique names")
        if self.battery is not None and self.battery.name in names:
            raise ModelError("Site.battery.name clashes with an EV name")
        if not isinstance(self.evs, tuple):
            raise ModelError("Site.evs must be a tuple")
