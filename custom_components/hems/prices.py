"""Price glue: the user's options to ``hems_core.tariffs`` calls, and the result to attributes.

Nothing here knows a price format or a tax rate: payloads go to :func:`parse_prices` untouched,
the tail comes from :func:`extend_with_tail` and the all-in prices from :func:`compose` with the
country template the user picked. The functions are synchronous and run in an executor.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from functools import partial
from typing import Any

from hems_core.tariffs import (
    ComposedPrices,
    PriceDataError,
    PriceSeries,
    TariffTemplate,
    be_flanders,
    check_fresh,
    compose,
    de,
    extend_with_tail,
    nl_dynamic,
    parse_prices,
    se,
)
from hems_core.tariffs.composition import TariffSource
from hems_core.timegrid import STEP

from .const import (
    ATTRIBUTE_LIMIT_BYTES,
    CONF_FEED_IN_COMPENSATION,
    CONF_FEED_IN_FEE,
    CONF_FEED_IN_TARIFF,
    CONF_FLUVIUS_AREA,
    CONF_GRID_FEE,
    CONF_PRICE_AREA,
    CONF_PRICE_CONFIG_ENTRY,
    CONF_PRICE_ENTITY,
    CONF_PRICE_SOURCE,
    CONF_SUPPLIER_FEE,
    CONF_TARIFF,
    PRICE_HISTORY_DAYS,
    PRICE_HORIZON_HOURS,
    PRICE_SOURCE_NONE,
    TARIFF_ALL_IN,
    TARIFF_BE,
    TARIFF_DE,
    TARIFF_FIELDS,
    TARIFF_NL,
    TARIFF_SE,
)


@dataclass(frozen=True)
class PriceSettings:
    """The price part of a site's options."""

    source: str
    entity: str | None = None
    config_entry: str | None = None
    area: str | None = None
    tariff: str = TARIFF_ALL_IN
    params: Mapping[str, float] = field(default_factory=dict)
    fluvius_area: str | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PriceSettings | None:
        """``None`` when the user chose no price source."""
        source = str(options.get(CONF_PRICE_SOURCE, PRICE_SOURCE_NONE))
        if source == PRICE_SOURCE_NONE:
            return None
        tariff = str(options.get(CONF_TARIFF, TARIFF_ALL_IN))
        params = {k: float(options.get(k, 0.0)) for k in TARIFF_FIELDS.get(tariff, ())}
        return cls(
            source=source,
            entity=options.get(CONF_PRICE_ENTITY) or None,
            config_entry=options.get(CONF_PRICE_CONFIG_ENTRY) or None,
            area=(str(options.get(CONF_PRICE_AREA) or "").strip() or None),
            tariff=tariff,
            params=params,
            fluvius_area=options.get(CONF_FLUVIUS_AREA) or None,
        )

    def tariff_source(self) -> TariffSource:
        """The ``hems_core`` template for the chosen country, as a function of the local year."""
        p = self.params
        fee = p.get(CONF_SUPPLIER_FEE, 0.0)
        if self.tariff == TARIFF_NL:
            return partial(
                nl_dynamic,
                purchase_fee=fee,
                feed_in_fee=p.get(CONF_FEED_IN_FEE, 0.0),
                feed_in_compensation=p.get(CONF_FEED_IN_COMPENSATION, 0.0),
            )
        if self.tariff == TARIFF_BE:
            if self.fluvius_area is None:
                # Entries saved before the area field existed: a clear reason (shown in the
                # repair issue and the sensors' problem), never a guessed network charge.
                raise PriceDataError(
                    "tariff",
                    "no Fluvius network area is chosen for the Flemish tariff: pick it in the "
                    "HEMS options (Configure, price source and tariff)",
                )
            return partial(
                be_flanders,
                area=self.fluvius_area,
                supplier_markup=fee,
                injection_fee=p.get(CONF_FEED_IN_FEE, 0.0),
            )
        if self.tariff == TARIFF_SE:
            return partial(se, supplier_markup=fee, grid_per_kwh=p.get(CONF_GRID_FEE, 0.0))
        if self.tariff == TARIFF_DE:
            return partial(
                de,
                supplier_markup=fee,
                grid_per_kwh=p.get(CONF_GRID_FEE, 0.0),
                feed_in_tariff=p.get(CONF_FEED_IN_TARIFF, 0.0),
            )
        # The source's price is already what the household pays (and earns, when netted).
        return TariffTemplate(name=TARIFF_ALL_IN)


@dataclass(frozen=True)
class Payload:
    """One raw payload as Home Assistant gave it; ``required`` ones must parse."""

    data: object
    required: bool = True
    currency: str | None = None


@dataclass(frozen=True, eq=False)
class PriceData:
    """A site's prices: spot (published + forecast tail) and the all-in import/export series."""

    spot: PriceSeries
    prices: ComposedPrices
    updated: datetime
    problem: str | None = None
    """Why the feed is currently broken while this last good series is still served."""

    def index(self, now: datetime) -> int:
        """Step of ``now`` in the series (may be out of range)."""
        return int((now - self.prices.start) // STEP)

    def current(self, now: datetime) -> tuple[float, float] | None:
        """(import, export) price of the quarter containing ``now``."""
        i = self.index(now)
        if not 0 <= i < len(self.prices):
            return None
        return float(self.prices.import_price[i]), float(self.prices.export_price[i])

    def covers(self, now: datetime) -> bool:
        """Whether a published (known) price exists for the current quarter."""
        i = self.index(now)
        return 0 <= i < len(self.prices) and bool(self.prices.known[i])

    def as_dict(self, now: datetime, *, decimals: int = 5) -> dict[str, Any]:
        """The series from the current quarter on, JSON-able (``hems.get_prices``)."""
        i0 = max(0, self.index(now))
        p = self.prices
        known_until = self.spot.known_until
        return {
            "start": (p.start + i0 * STEP).isoformat(),
            "step_minutes": 15,
            "currency": p.currency,
            "unit": f"{p.currency}/kWh",
            "source": self.spot.source,
            "tariff": p.tariff,
            "known_until": None if known_until is None else known_until.isoformat(),
            "import": [round(float(v), decimals) for v in p.import_price[i0:]],
            "export": [round(float(v), decimals) for v in p.export_price[i0:]],
            "spot": [round(float(v), decimals) for v in self.spot.values[i0:]],
            "known": [bool(k) for k in p.known[i0:]],
            "updated": self.updated.isoformat(),
            "problem": self.problem,
        }

    def attributes(
        self, side: str, now: datetime, max_bytes: int = ATTRIBUTE_LIMIT_BYTES
    ) -> dict[str, Any]:
        """One side's series for a sensor, shrunk to stay under the recorder's 16 KiB limit."""
        full = self.as_dict(now)
        base = {k: full[k] for k in ("start", "step_minutes", "source", "tariff", "known_until")}
        base["problem"] = full["problem"]
        values: list[float] = full[side]
        known: list[bool] = full["known"]
        for decimals in (5, 4, 3):
            attrs = {
                **base,
                "prices": [round(v, decimals) for v in values],
                "known": known,
            }
            if _json_size(attrs) <= max_bytes:
                return attrs
        while _json_size(attrs) > max_bytes and attrs["prices"]:
            attrs["prices"] = attrs["prices"][:-4]
            attrs["known"] = attrs["known"][:-4]
        return attrs


def _json_size(d: Mapping[str, Any]) -> int:
    return len(json.dumps(d, separators=(",", ":")).encode())


def build_prices(
    payloads: Sequence[Payload],
    settings: PriceSettings,
    *,
    now: datetime,
    tz: tzinfo,
    history: PriceSeries | None = None,
) -> PriceData:
    """Parse, join, check, extend and compose; raises :class:`PriceDataError` only.

    An optional payload (tomorrow from a per-day action) that does not parse is left out: today
    alone is still a valid, complete series. ``history`` (the last good spot series) improves
    the tail's weekday profile.
    """
    spot: PriceSeries | None = None
    for payload in payloads:
        try:
            part = parse_prices(payload.data, tz=tz, area=settings.area, currency=payload.currency)
        except PriceDataError:
            if payload.required:
                raise
            continue
        spot = part if spot is None else spot.extend(part)
    if spot is None:
        raise PriceDataError("format", "the price source returned no prices")
    check_fresh(spot, now)
    quarter = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    until = quarter + timedelta(hours=PRICE_HORIZON_HOURS)
    full: PriceSeries | None = None
    if history is not None:
        try:
            past = history.slice(start=now - timedelta(days=PRICE_HISTORY_DAYS), end=spot.start)
            full = extend_with_tail(spot, until=until, tz=tz, history=past)
        except PriceDataError:
            full = None  # no usable overlap (another source, a gap): recent days only
    if full is None:
        full = extend_with_tail(spot, until=until, tz=tz)
    composed = compose(full, settings.tariff_source(), tz)
    return PriceData(spot=full, prices=composed, updated=now)
