"""Every Home Assistant price source into one :class:`PriceSeries`, detecting the format itself.

Recognised payloads (shapes checked against each integration's code; see the sample files under
``tests/core/tariffs/samples/``):

=====================  ==========================================================================
``nordpool``           core action ``nordpool.get_prices_for_date``:
                       ``{area: [{start, end, price}]}`` in currency/**MWh** (the raw Nord Pool
                       value); one delivery day per call.
``nordpool_custom``    HACS ``custom_components/nordpool`` sensor attributes: ``raw_today`` /
                       ``raw_tomorrow`` lists of ``{start, end, value}`` plus ``unit``,
                       ``currency``, ``price_in_cents``; or only the ``today`` / ``tomorrow``
                       float lists.
``entsoe_custom``      HACS ``hass-entso-e`` average-price sensor: ``prices_today``,
                       ``prices_tomorrow``, ``prices`` lists of ``{time, price}`` (currency/kWh).
``entsoe_xml``         ENTSO-E Transparency ``Publication_MarketDocument`` (A44), PT15M/PT60M
                       periods, omitted positions repeating the previous one (curve type A03).
``energyzero``         core actions ``energyzero.get_energy_prices`` and
                       ``easyenergy.get_energy_usage_prices`` / ``…_return_prices`` (same shape):
                       ``{"prices": [{timestamp, price}]}`` in €/kWh.
``tibber``             core action ``tibber.get_prices``: ``{"prices": {home: [{start_time,
                       price}]}}``; ``price`` is Tibber's total incl. energy tax and VAT.
``frank_energie``      HACS Frank Energie sensor attribute ``prices``: ``[{from, till, price}]``.
``octopus``            HACS Octopus Energy rate events: ``rates`` of ``{start, end,
                       value_inc_vat}`` in GBP/kWh, 30-minute slots.
``flat``               a plain list of floats for one local day (or ``today``/``tomorrow`` lists):
                       the step is inferred from the length (24 h, 23 h or 25 h ÷ count).
=====================  ==========================================================================

Any of these may be wrapped in a Home Assistant state object (``{"entity_id", "state",
"attributes", "last_updated"}``) or a REST action result (``{"service_response": …}``).
Values may be strings from JSON or real ``datetime`` objects from live Home Assistant attributes.

Everything goes through one path: records -> intervals (epoch seconds, currency/kWh) -> magnitude
check -> :func:`~hems_core.tariffs.resample.intervals_to_series`. Every failure is a
:class:`~hems_core.tariffs.errors.PriceDataError`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any, cast

import numpy as np

from .errors import PriceDataError
from .resample import SeriesMeta, infer_ends, intervals_to_series
from .series import PriceSeries
from .timegrid import (
    floor_quarter,
    local_day_bounds,
    quarters_in_day,
    zone,
)
from .units import AREA_ZONES, check_magnitude, energy_factor, parse_unit

FORMATS = (
    "nordpool",
    "nordpool_custom",
    "entsoe_custom",
    "entsoe_xml",
    "energyzero",
    "tibber",
    "frank_energie",
    "octopus",
    "flat",
)


@dataclass(frozen=True)
class ParseOptions:
    """What the payload itself may not say.

    ``tz``: the local zone (needed for flat lists and to count quarters of a local day; many
    formats have a sensible default). ``day``: the local date a flat ``today`` list belongs to.
    ``now``: when given, data that ends before the current quarter is rejected as stale.
    ``currency``: for formats that do not name it (Nord Pool core, Tibber). ``area``: which area
    (Nord Pool core) or home (Tibber) to take when there are several. ``step_minutes``: the
    expected resolution of a flat list (removes the 48-quarters-or-48-half-hours ambiguity).
    ``includes_vat`` / ``includes_energy_tax`` / ``includes_grid_fees``: override what a source's
    values contain when the payload cannot tell (Nord Pool custom with ``additional_costs``).
    """

    tz: tzinfo | None = None
    day: date | None = None
    now: datetime | None = None
    currency: str | None = None
    area: str | None = None
    step_minutes: int | None = None
    source: str | None = None
    includes_vat: bool | None = None
    includes_energy_tax: bool | None = None
    includes_grid_fees: bool | None = None


@dataclass
class _Intervals:
    """Raw intervals on the way to a series."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, start: int, end: int, value: float) -> None:
        self.starts.append(start)
        self.ends.append(end)
        self.values.append(value)


# -- small parsers -------------------------------------------------------------------------------


def _num(x: object, where: str) -> float:
    if isinstance(x, bool):
        raise PriceDataError("format", f"{where}: expected a number, got a boolean")
    if isinstance(x, int | float):
        v = float(x)
        if math.isnan(v) or math.isinf(v):
            raise PriceDataError("nan", f"{where}: price is not a finite number")
        return v
    if x is None:
        raise PriceDataError("nan", f"{where}: price is missing (null)")
    if isinstance(x, str):
        try:
            v = float(x)
        except ValueError:
            raise PriceDataError("format", f"{where}: price {x[:30]!r} is not a number") from None
        if math.isnan(v) or math.isinf(v):
            raise PriceDataError("nan", f"{where}: price is not a finite number")
        return v
    raise PriceDataError("format", f"{where}: expected a number, got {type(x).__name__}")


class _Clock:
    """Timestamp parser that resolves naive local times, including the repeated autumn hour."""

    def __init__(self, tz: tzinfo | None) -> None:
        self.tz = tz
        self.last: int | None = None
        self.offsets: set[int] = set()

    def guess_zone(self) -> tzinfo | None:
        """A zone that reproduces the local days of the offsets seen, when no zone was given.

        Only local-day boundaries matter here. EU zones share one DST rule, so a CET/CEST pair is
        Europe/Berlin (equally Amsterdam, Brussels, Stockholm); a single offset is a fixed zone,
        which is right for every day without a switch (and a DST day missing one of its two
        offsets is incomplete either way).
        """
        pairs = {(3600, 7200): "Europe/Berlin", (0, 3600): "Europe/London"}
        pairs[(7200, 10800)] = "Europe/Helsinki"
        offs = tuple(sorted(self.offsets))
        if offs in pairs:
            return zone(pairs[offs])
        if len(offs) == 1:
            return timezone(timedelta(seconds=offs[0]))
        return None

    def __call__(self, x: object, where: str) -> int:
        if isinstance(x, str):
            try:
                dt = datetime.fromisoformat(x.strip())
            except ValueError:
                raise PriceDataError(
                    "format", f"{where}: {x[:40]!r} is not an ISO 8601 time"
                ) from None
        elif isinstance(x, datetime):
            dt = x
        elif isinstance(x, date):
            dt = datetime(x.year, x.month, x.day)
        else:
            raise PriceDataError("format", f"{where}: expected a time, got {type(x).__name__}")
        if dt.tzinfo is None or dt.utcoffset() is None:
            if self.tz is None:
                raise PriceDataError(
                    "format", f"{where}: time {dt.isoformat()} has no UTC offset and no zone given"
                )
            aware = dt.replace(tzinfo=self.tz)
            t = _epoch(aware)
            if self.last is not None and t <= self.last:
                later = _epoch(dt.replace(tzinfo=self.tz, fold=1))
                if later > self.last:
                    t = later
        else:
            off = dt.utcoffset()
            if off is not None:
                self.offsets.add(int(off.total_seconds()))
            t = _epoch(dt)
        self.last = t
        return t


def _epoch(dt: datetime) -> int:
    try:
        ts = dt.timestamp()
    except (OverflowError, ValueError, OSError) as err:
        raise PriceDataError("format", f"time {dt!r} is out of range") from err
    if ts != int(ts):
        raise PriceDataError("alignment", f"time {dt.isoformat()} is not on a whole second")
    return int(ts)


def _records(obj: object, where: str) -> list[Mapping[str, Any]]:
    if not isinstance(obj, list | tuple):
        raise PriceDataError("format", f"{where}: expected a list, got {type(obj).__name__}")
    for i, r in enumerate(obj):
        if not isinstance(r, Mapping):
            raise PriceDataError(
                "format", f"{where}[{i}]: expected an object, got {type(r).__name__}"
            )
    return list(obj)


def _field(r: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in r:
        raise PriceDataError("format", f"{where}: missing field {key!r}")
    return r[key]


def _start_end_value(
    recs: Sequence[Mapping[str, Any]],
    keys: tuple[str, str, str],
    clock: _Clock,
    factor: float,
    where: str,
) -> _Intervals:
    out = _Intervals()
    ks, ke, kv = keys
    for i, r in enumerate(recs):
        w = f"{where}[{i}]"
        s = clock(_field(r, ks, w), w)
        e = clock(_field(r, ke, w), w)
        out.add(s, e, _num(_field(r, kv, w), w) * factor)
    return out


def _time_value(
    recs: Sequence[Mapping[str, Any]],
    keys: tuple[str, str],
    clock: _Clock,
    factor: float,
    where: str,
    tz: tzinfo | None,
) -> _Intervals:
    kt, kv = keys
    starts = []
    values = []
    for i, r in enumerate(recs):
        w = f"{where}[{i}]"
        starts.append(clock(_field(r, kt, w), w))
        values.append(_num(_field(r, kv, w), w) * factor)
    out = _Intervals()
    if not starts:
        return out
    ends = infer_ends(starts, tz or clock.guess_zone() or UTC)
    for s, e, v in zip(starts, cast(list[int], ends.tolist()), values, strict=True):
        out.add(s, int(e), v)
    return out


def _series(iv: _Intervals, meta: SeriesMeta) -> PriceSeries:
    if not iv.values:
        raise PriceDataError("format", f"no prices in the {meta.source} payload")
    check_magnitude(np.asarray(iv.values, dtype=np.float64), meta.currency)
    return intervals_to_series(iv.starts, iv.ends, iv.values, meta)


def _require_whole_day(series: PriceSeries, day: date, tz: tzinfo, label: str) -> None:
    have, need = series.day_coverage(day, tz)
    if have != need:
        raise PriceDataError(
            "incomplete",
            f"{label} ({day.isoformat()}) is incomplete: {have} of {need} quarters",
        )


def _need_zone(tz: tzinfo | None) -> tzinfo:
    if tz is None:
        raise PriceDataError(
            "format", "a time zone is needed to check that each day is complete (--tz)"
        )
    return tz


def _first_local_day(iv: _Intervals, tz: tzinfo) -> date:
    return datetime.fromtimestamp(min(iv.starts), tz=UTC).astimezone(tz).date()


def _join(parts: list[PriceSeries]) -> PriceSeries:
    out = parts[0]
    for p in parts[1:]:
        out = out.extend(p)
    return out


# -- format adapters -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Ctx:
    """Payload plus what the wrapping state object told us."""

    data: Any
    opts: ParseOptions
    unit: str | None = None  # unit_of_measurement of a wrapping state object
    updated: datetime | None = None  # last_updated of a wrapping state object
    entity: str = ""


def _meta(ctx: _Ctx, source: str, currency: str, **flags: bool) -> SeriesMeta:
    o = ctx.opts
    base = {"includes_vat": False, "includes_energy_tax": False, "includes_grid_fees": False}
    base.update(flags)
    for k in base:
        override = getattr(o, k)
        if override is not None:
            base[k] = override
    return SeriesMeta(currency=(o.currency or currency).upper(), source=o.source or source, **base)


def _zone_for_area(area: str | None) -> tzinfo | None:
    if area is None:
        return None
    name = AREA_ZONES.get(area.upper())
    return zone(name) if name else None


def _nordpool_core(ctx: _Ctx) -> PriceSeries:
    d: Mapping[str, Any] = ctx.data
    areas = [a for a in d if isinstance(d[a], list)]
    if ctx.opts.area is not None:
        wanted = ctx.opts.area.upper()
        match = [a for a in areas if a.upper() == wanted]
        if not match:
            raise PriceDataError(
                "format", f"area {ctx.opts.area!r} not in the response (has {', '.join(areas)})"
            )
        area = match[0]
    else:
        area = areas[0]
    tz = ctx.opts.tz or _zone_for_area(area)
    recs = _records(d[area], area)
    iv = _start_end_value(recs, ("start", "end", "price"), _Clock(tz), 1e-3, area)
    series = _series(iv, _meta(ctx, "nordpool", "EUR"))
    if tz is not None:  # one call returns one whole delivery day
        for day in series.local_days(tz):
            _require_whole_day(series, day, tz, f"Nord Pool {area} delivery day")
    return series


def _unit_from_state(ctx: _Ctx, default: float, currency: str) -> tuple[float, str]:
    if ctx.unit:
        factor, cur = parse_unit(ctx.unit)
        return factor, cur or currency
    return default, currency


def _nordpool_custom(ctx: _Ctx) -> PriceSeries:
    d: Mapping[str, Any] = ctx.data
    currency = str(d.get("currency") or "EUR")
    factor = energy_factor(str(d.get("unit") or "kWh"))
    if d.get("price_in_cents") is True:
        factor /= 100.0
    if ctx.unit and d.get("unit") is None:
        factor, cur = parse_unit(ctx.unit)
        currency = cur or currency
    tz = ctx.opts.tz or _zone_for_area(str(d.get("region") or "") or None)
    nordpool_keys = ("raw_today", "raw_tomorrow", "region", "tomorrow_valid", "unit", "currency")
    source = "nordpool_custom" if any(k in d for k in nordpool_keys) else "flat"
    meta = _meta(ctx, source, currency)
    if not any(isinstance(d.get(k), list) and d.get(k) for k in ("raw_today", "raw_tomorrow")):
        return _flat_days(ctx, d.get("today"), d.get("tomorrow"), tz, factor, meta)
    parts: list[PriceSeries] = []
    for key, label in (("raw_today", "today"), ("raw_tomorrow", "tomorrow")):
        raw = d.get(key)
        if raw is None or raw == []:
            continue
        recs = _records(raw, key)
        clock = _Clock(tz)
        iv = _start_end_value(recs, ("start", "end", "value"), clock, factor, key)
        s = _series(iv, meta)
        day_tz = _need_zone(tz or clock.guess_zone())
        _require_whole_day(s, _first_local_day(iv, day_tz), day_tz, label)
        parts.append(s)
    return _join(parts)


def _entsoe_custom(ctx: _Ctx) -> PriceSeries:
    d: Mapping[str, Any] = ctx.data
    factor, currency = _unit_from_state(ctx, 1.0, "EUR")
    tz = ctx.opts.tz
    meta = _meta(ctx, "entsoe_custom", currency)
    parts: list[PriceSeries] = []
    for key, label in (
        ("prices", None),
        ("prices_today", "today"),
        ("prices_tomorrow", "tomorrow"),
    ):
        raw = d.get(key)
        if raw is None or raw == []:
            continue
        recs = _records(raw, key)
        clock = _Clock(tz)
        iv = _time_value(recs, ("time", "price"), clock, factor, key, tz)
        s = _series(iv, meta)
        if label is not None:
            day_tz = _need_zone(tz or clock.guess_zone())
            _require_whole_day(s, _first_local_day(iv, day_tz), day_tz, label)
        parts.append(s)
    if not parts:
        raise PriceDataError("format", "no prices in the ENTSO-E attributes")
    return _join(parts)


def _energyzero(ctx: _Ctx) -> PriceSeries:
    recs = _records(ctx.data["prices"], "prices")
    tz = ctx.opts.tz or zone("Europe/Amsterdam")
    factor, currency = _unit_from_state(ctx, 1.0, "EUR")
    iv = _time_value(recs, ("timestamp", "price"), _Clock(tz), factor, "prices", tz)
    return _series(iv, _meta(ctx, "energyzero", currency))


def _tibber(ctx: _Ctx) -> PriceSeries:
    homes: Mapping[str, Any] = ctx.data["prices"]
    names = list(homes)
    if not names:
        raise PriceDataError("format", "the Tibber response has no homes")
    if ctx.opts.area is not None:
        if ctx.opts.area not in homes:
            raise PriceDataError(
                "format", f"home {ctx.opts.area!r} not in the response (has {', '.join(names)})"
            )
        name = ctx.opts.area
    else:
        name = names[0]
    recs = _records(homes[name], name)
    tz = ctx.opts.tz
    iv = _time_value(recs, ("start_time", "price"), _Clock(tz), 1.0, name, tz)
    return _series(iv, _meta(ctx, "tibber", "EUR", includes_vat=True, includes_energy_tax=True))


def _frank(ctx: _Ctx) -> PriceSeries:
    recs = _records(ctx.data["prices"], "prices")
    tz = ctx.opts.tz or zone("Europe/Amsterdam")
    factor, currency = _unit_from_state(ctx, 1.0, "EUR")
    iv = _start_end_value(recs, ("from", "till", "price"), _Clock(tz), factor, "prices")
    all_in = "all_in" in ctx.entity or "allin" in ctx.entity
    return _series(
        iv,
        _meta(
            ctx,
            "frank_energie",
            currency,
            includes_vat=all_in,
            includes_energy_tax=all_in,
        ),
    )


def _octopus(ctx: _Ctx) -> PriceSeries:
    d: Mapping[str, Any] = ctx.data
    recs = _records(d["rates"], "rates")
    tz = ctx.opts.tz or zone("Europe/London")
    iv = _start_end_value(recs, ("start", "end", "value_inc_vat"), _Clock(tz), 1.0, "rates")
    series = _series(iv, _meta(ctx, "octopus", "GBP", includes_vat=True))
    if str(d.get("event_type", "")).endswith("day_rates") and tz is not None:
        for day in series.local_days(tz):
            _require_whole_day(series, day, tz, "day rates")
    return series


def _flat_list(ctx: _Ctx) -> PriceSeries:
    factor, currency = _unit_from_state(ctx, 1.0, "EUR")
    return _flat_days(ctx, ctx.data, None, ctx.opts.tz, factor, _meta(ctx, "flat", currency))


def _anchor_day(ctx: _Ctx, tz: tzinfo) -> date:
    if ctx.opts.day is not None:
        return ctx.opts.day
    if ctx.updated is not None:
        return ctx.updated.astimezone(tz).date()
    if ctx.opts.now is not None:
        return ctx.opts.now.astimezone(tz).date()
    # Said without a command-line flag: the same reason reaches the Home Assistant form.
    raise PriceDataError(
        "format",
        "a flat price list carries no date: give the local day it belongs to, or the whole "
        "state object with its last_updated time",
    )


def _flat_days(
    ctx: _Ctx,
    today: object,
    tomorrow: object,
    tz: tzinfo | None,
    factor: float,
    meta: SeriesMeta,
) -> PriceSeries:
    if tz is None:
        raise PriceDataError(
            "format", "a flat price list needs a time zone to find its local day (--tz)"
        )
    if not isinstance(today, list) or not today:
        raise PriceDataError("format", "no price list for today")
    day = _anchor_day(ctx, tz)
    parts = []
    steps: list[int] = []
    for k, (vals, label) in enumerate(((today, "today"), (tomorrow, "tomorrow"))):
        if vals is None or vals == []:
            continue
        if not isinstance(vals, list):
            raise PriceDataError("format", f"{label}: expected a list of numbers")
        d = day + timedelta(days=k)
        step = _flat_step(len(vals), d, tz, label, ctx.opts.step_minutes)
        if steps and step > steps[-1]:
            raise PriceDataError(
                "incomplete",
                f"{label} ({d.isoformat()}) has {len(vals)} prices, coarser than today's "
                f"{steps[-1]}-minute steps: probably only part of the day",
            )
        steps.append(step)
        d0, _ = local_day_bounds(d, tz)
        t0 = int(d0.timestamp())
        iv = _Intervals()
        for i, x in enumerate(vals):
            iv.add(t0 + i * step * 60, t0 + (i + 1) * step * 60, _num(x, f"{label}[{i}]") * factor)
        parts.append(_series(iv, meta))
    return _join(parts)


def _flat_step(n: int, day: date, tz: tzinfo, label: str, expected: int | None) -> int:
    quarters = quarters_in_day(day, tz)
    minutes = quarters * 15
    for step in (15, 30, 60):
        if n * step == minutes and (expected is None or expected == step):
            return step
    want = (
        f"{quarters // (expected // 15)}"
        if expected in (15, 30, 60)
        else f"{quarters}, {quarters // 2} or {quarters // 4}"
    )
    raise PriceDataError(
        "incomplete",
        f"{label} ({day.isoformat()}) has {n} prices; a {minutes // 60}-hour day needs {want}",
    )


# -- detection -----------------------------------------------------------------------------------


def _first_record(x: object) -> Mapping[str, Any] | None:
    if isinstance(x, list | tuple) and x and isinstance(x[0], Mapping):
        return x[0]
    return None


def _is_number_list(x: object) -> bool:
    return (
        isinstance(x, list)
        and bool(x)
        and all((isinstance(v, int | float) and not isinstance(v, bool)) or v is None for v in x)
    )


def _detect(d: object) -> Callable[[_Ctx], PriceSeries]:
    """Pick the adapter from the payload's shape alone."""
    if isinstance(d, str):
        from .entsoe_xml import parse_entsoe_xml

        def xml(ctx: _Ctx) -> PriceSeries:
            o = ctx.opts
            return parse_entsoe_xml(ctx.data, tz=o.tz, currency=o.currency, source=o.source)

        if d.lstrip().startswith("<"):
            return xml
        raise PriceDataError("format", "text payload is neither JSON nor ENTSO-E XML")
    if isinstance(d, list):
        if _is_number_list(d):
            return _flat_list
        raise PriceDataError("format", "a list payload must be a flat list of numbers")
    if not isinstance(d, Mapping):
        raise PriceDataError("format", f"unrecognised price payload ({type(d).__name__})")
    if (
        "raw_today" in d
        or "raw_tomorrow" in d
        or (
            "today" in d and ("tomorrow_valid" in d or "region" in d or _is_number_list(d["today"]))
        )
    ):
        return _nordpool_custom
    if any(k in d for k in ("prices_today", "prices_tomorrow")):
        return _entsoe_custom
    if "rates" in d:
        return _octopus
    prices = d.get("prices")
    if isinstance(prices, Mapping):
        return _tibber
    rec = _first_record(prices)
    if rec is not None:
        if "time" in rec:
            return _entsoe_custom
        if "timestamp" in rec:
            return _energyzero
        if "from" in rec or "till" in rec:
            return _frank
        if "start_time" in rec:
            return _tibber_list
    lists = [v for v in d.values() if isinstance(v, list)]
    if (
        lists
        and len(lists) == len(d)
        and all(
            (r := _first_record(v)) is not None and "price" in r and "start" in r for v in lists
        )
    ):
        return _nordpool_core
    raise PriceDataError(
        "format",
        "unrecognised price payload (keys: "
        + ", ".join(sorted(str(k) for k in list(d)[:8]))
        + "); expected one of "
        + ", ".join(FORMATS),
    )


def _tibber_list(ctx: _Ctx) -> PriceSeries:
    return _tibber(replace(ctx, data={"prices": {"home": ctx.data["prices"]}}))


def _unwrap(payload: object, opts: ParseOptions) -> _Ctx:
    d = payload
    if isinstance(d, Mapping) and "service_response" in d:
        d = d["service_response"]
    unit = None
    updated = None
    entity = ""
    if (
        isinstance(d, Mapping)
        and isinstance(d.get("attributes"), Mapping)
        and ("entity_id" in d or "state" in d)
    ):
        attrs = d["attributes"]
        entity = str(d.get("entity_id", "")).lower()
        u = attrs.get("unit_of_measurement")
        unit = str(u) if isinstance(u, str) and "/" in u else None
        updated = _state_time(d.get("last_updated") or d.get("last_changed"))
        d = attrs
    return _Ctx(data=d, opts=opts, unit=unit, updated=updated, entity=entity)


def _state_time(x: object) -> datetime | None:
    """A state's ``last_updated``, or ``None`` if it is no aware time.

    Only its local date is used (the day of a flat list), so sub-second parts are fine: Home
    Assistant's timestamps carry microseconds, which the price-time parser rightly refuses.
    """
    if isinstance(x, str):
        try:
            x = datetime.fromisoformat(x.strip())
        except ValueError:
            return None
    if not isinstance(x, datetime) or x.utcoffset() is None:
        return None
    return x.astimezone(UTC)


def detect_format(payload: object) -> str:
    """Name of the format :func:`parse_prices` would use for ``payload``."""
    fn = _detect(_unwrap(payload, ParseOptions()).data)
    names: dict[Callable[[_Ctx], PriceSeries], str] = {
        _nordpool_core: "nordpool",
        _nordpool_custom: "nordpool_custom",
        _entsoe_custom: "entsoe_custom",
        _energyzero: "energyzero",
        _tibber: "tibber",
        _tibber_list: "tibber",
        _frank: "frank_energie",
        _octopus: "octopus",
        _flat_list: "flat",
    }
    return names.get(fn, "entsoe_xml")


def parse_prices(
    payload: object,
    *,
    tz: str | tzinfo | None = None,
    day: date | None = None,
    now: datetime | None = None,
    currency: str | None = None,
    area: str | None = None,
    step_minutes: int | None = None,
    source: str | None = None,
    includes_vat: bool | None = None,
    includes_energy_tax: bool | None = None,
    includes_grid_fees: bool | None = None,
) -> PriceSeries:
    """Turn any supported price payload into a validated 15-minute :class:`PriceSeries`.

    Raises :class:`PriceDataError` (and nothing else) when the payload is not usable: unknown
    shape, broken time axis, NaN, implausible magnitude, an incomplete today/tomorrow day, or
    (when ``now`` is given) data that ends before the current quarter.
    """
    opts = ParseOptions(
        tz=zone(tz),
        day=day,
        now=now,
        currency=currency,
        area=area,
        step_minutes=step_minutes,
        source=source,
        includes_vat=includes_vat,
        includes_energy_tax=includes_energy_tax,
        includes_grid_fees=includes_grid_fees,
    )
    ctx = _unwrap(payload, opts)
    try:
        series = _detect(ctx.data)(ctx)
    except PriceDataError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError) as err:
        # A shape the detector accepted but a field of the wrong kind deeper down.
        raise PriceDataError("format", f"malformed price payload: {err}") from err
    if now is not None:
        check_fresh(series, now)
    return series


def check_day_complete(series: PriceSeries, day: date, tz: tzinfo, label: str = "day") -> None:
    """Reject a series that lacks a published price for any quarter of local ``day``.

    Use it for "tomorrow" after publication time: 96 quarters, 92 or 100 on DST days.
    """
    _require_whole_day(series, day, tz, label)


def check_fresh(series: PriceSeries, now: datetime) -> None:
    """Reject a series with no price for the current quarter or later (stale data)."""
    if now.tzinfo is None:
        raise PriceDataError("format", "'now' must be timezone-aware")
    current = floor_quarter(now)
    until = series.known_until
    if until is None or until <= current:
        last = "nothing known" if until is None else f"last price ends {until.isoformat()}"
        raise PriceDataError("stale", f"stale prices: {last}, now is {current.isoformat()}")


def parse_text(text: str | bytes, **kwargs: Any) -> PriceSeries:
    """Parse a file's contents: JSON, ENTSO-E XML, or YAML (as copied from HA developer tools)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            raise PriceDataError("format", "file is not UTF-8 text") from err
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        return parse_prices(stripped, **kwargs)
    try:
        payload = json.loads(stripped)
    except ValueError:
        payload = _yaml(stripped)
    except RecursionError as err:
        raise PriceDataError("format", "JSON nested too deeply") from err
    return parse_prices(payload, **kwargs)


def _yaml(text: str) -> object:
    import yaml

    try:
        return yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError, ValueError) as err:
        raise PriceDataError("format", "file is neither JSON, YAML nor ENTSO-E XML") from err


__all__ = [
    "FORMATS",
    "ParseOptions",
    "check_day_complete",
    "check_fresh",
    "detect_format",
    "parse_prices",
    "parse_text",
]
