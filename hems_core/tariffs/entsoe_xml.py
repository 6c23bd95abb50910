"""ENTSO-E Transparency Platform day-ahead price documents (A44) to a :class:`PriceSeries`.

A ``Publication_MarketDocument`` holds ``TimeSeries`` with ``Period`` elements, each with a
``timeInterval`` (UTC), a ``resolution`` (``PT15M``, ``PT30M``, ``PT60M``) and ``Point``s numbered
from 1. Two details matter:

* Curve type ``A03`` ("variable sized block") omits a position whose price equals the previous
  one, so a missing position repeats the previous price; position 1 is always present. Curve type
  ``A01`` has every position; a missing one there is a gap.
* One document may mix resolutions (the 2025-10-01 switch to 15 minutes) and, for DE-LU, carry
  several classification sequences for the same period; the lowest sequence is the primary one.

Prices are in ``currency_Unit.name`` per ``price_Measure_Unit.name`` (MWH).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime, tzinfo

import numpy as np

from .errors import PriceDataError
from .resample import SeriesMeta, intervals_to_series
from .series import PriceSeries
from .timegrid import from_epoch_s
from .units import check_magnitude, energy_factor

_RES = re.compile(r"^P(?:T(?:(\d+)H)?(?:(\d+)M)?)$")
MAX_POINTS = 100_000


@dataclass(frozen=True)
class _Period:
    start: int
    end: int
    step: int
    curve: str
    points: dict[int, float]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element, name: str) -> ET.Element | None:
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _text(el: ET.Element, path: str, where: str) -> str:
    cur: ET.Element | None = el
    for part in path.split("/"):
        cur = None if cur is None else _child(cur, part)
    if cur is None or cur.text is None or not cur.text.strip():
        raise PriceDataError("format", f"ENTSO-E XML: {where} has no {path}")
    return cur.text.strip()


def _opt_text(el: ET.Element, path: str) -> str | None:
    cur: ET.Element | None = el
    for part in path.split("/"):
        cur = None if cur is None else _child(cur, part)
    if cur is None or cur.text is None:
        return None
    return cur.text.strip() or None


def _utc(text: str, where: str) -> int:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise PriceDataError(
            "format", f"ENTSO-E XML: {where} time {text[:30]!r} is invalid"
        ) from None
    if dt.tzinfo is None:
        raise PriceDataError("format", f"ENTSO-E XML: {where} time {text[:30]!r} has no zone")
    try:
        return int(dt.timestamp())
    except (OverflowError, ValueError, OSError) as err:
        raise PriceDataError("format", f"ENTSO-E XML: {where} time is out of range") from err


def _resolution(text: str) -> int:
    m = _RES.match(text)
    if m is None or (m.group(1) is None and m.group(2) is None):
        raise PriceDataError("format", f"ENTSO-E XML: unsupported resolution {text[:20]!r}")
    seconds = int(m.group(1) or 0) * 3600 + int(m.group(2) or 0) * 60
    if seconds <= 0 or seconds > 86_400:
        raise PriceDataError("format", f"ENTSO-E XML: unsupported resolution {text[:20]!r}")
    return seconds


def _period(p: ET.Element, curve: str, where: str) -> _Period:
    start = _utc(_text(p, "timeInterval/start", where), where)
    end = _utc(_text(p, "timeInterval/end", where), where)
    step = _resolution(_text(p, "resolution", where))
    if end <= start or (end - start) % step:
        raise PriceDataError(
            "format",
            f"ENTSO-E XML: {where} interval is not a whole number of {step // 60}-minute steps",
        )
    n = (end - start) // step
    if n > MAX_POINTS:
        raise PriceDataError("format", f"ENTSO-E XML: {where} has too many positions")
    points: dict[int, float] = {}
    for pt in p:
        if _local(pt.tag) != "Point":
            continue
        pos_text = _text(pt, "position", where)
        try:
            pos = int(pos_text)
        except ValueError:
            raise PriceDataError(
                "format", f"ENTSO-E XML: position {pos_text[:10]!r} is not an integer"
            ) from None
        price_text = _text(pt, "price.amount", f"{where} position {pos}")
        try:
            price = float(price_text)
        except ValueError:
            raise PriceDataError(
                "format", f"ENTSO-E XML: price {price_text[:20]!r} is not a number"
            ) from None
        if price != price or price in (float("inf"), float("-inf")):
            raise PriceDataError("nan", f"ENTSO-E XML: {where} position {pos} price is not finite")
        if not 1 <= pos <= n:
            raise PriceDataError("format", f"ENTSO-E XML: {where} position {pos} is outside 1..{n}")
        if pos in points:
            raise PriceDataError("duplicate", f"ENTSO-E XML: {where} position {pos} appears twice")
        points[pos] = price
    if not points:
        raise PriceDataError("incomplete", f"ENTSO-E XML: {where} has no prices")
    return _Period(start, end, step, curve, points)


def parse_entsoe_xml(
    text: str,
    *,
    tz: tzinfo | None = None,
    currency: str | None = None,
    source: str | None = None,
) -> PriceSeries:
    """Parse an A44 price document; omitted A03 positions repeat the previous price.

    ``tz`` is accepted for symmetry with the other adapters; the document is in UTC throughout.
    """
    del tz
    try:
        root = ET.fromstring(text)
    except (ET.ParseError, ValueError) as err:
        raise PriceDataError("format", f"ENTSO-E XML does not parse: {err}") from err
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        reason = _opt_text(root, "Reason/text") or "no reason given"
        raise PriceDataError("incomplete", f"ENTSO-E returned no prices: {reason}")
    if kind != "Publication_MarketDocument":
        raise PriceDataError("format", f"not an ENTSO-E price document (root <{kind[:40]}>)")

    series_els = [c for c in root if _local(c.tag) == "TimeSeries"]
    if not series_els:
        raise PriceDataError("incomplete", "ENTSO-E XML has no TimeSeries")

    def seq(ts: ET.Element) -> int:
        t = _opt_text(ts, "classificationSequence_AttributeInstanceComponent.position")
        try:
            return int(t) if t else 1
        except ValueError:
            raise PriceDataError("format", f"ENTSO-E XML: bad classification {t!r}") from None

    primary = min(seq(ts) for ts in series_els)
    cur: str | None = None
    unit: str | None = None
    eic: str | None = None
    periods: list[_Period] = []
    for i, ts in enumerate(series_els):
        if seq(ts) != primary:
            continue
        where = f"TimeSeries {i + 1}"
        c = _opt_text(ts, "currency_Unit.name") or "EUR"
        u = _opt_text(ts, "price_Measure_Unit.name") or "MWH"
        if (cur, unit) != (None, None) and (c, u) != (cur, unit):
            raise PriceDataError("format", "ENTSO-E XML mixes currencies or units")
        cur, unit = c, u
        eic = eic or _opt_text(ts, "in_Domain.mRID")
        curve = _opt_text(ts, "curveType") or "A01"
        for j, p in enumerate(x for x in ts if _local(x.tag) == "Period"):
            periods.append(_period(p, curve, f"{where} period {j + 1}"))
    factor = energy_factor(unit or "MWH")
    cur = cur or "EUR"

    starts: list[int] = []
    ends: list[int] = []
    values: list[float] = []
    for per in periods:
        n = (per.end - per.start) // per.step
        last: float | None = None
        for pos in range(1, n + 1):
            if pos in per.points:
                last = per.points[pos]
            elif per.curve != "A03" or last is None:
                t = per.start + (pos - 1) * per.step
                raise PriceDataError(
                    "gap",
                    f"ENTSO-E XML: no price at position {pos} "
                    f"({from_epoch_s(t).isoformat()}) in a curve of type {per.curve}",
                )
            starts.append(per.start + (pos - 1) * per.step)
            ends.append(per.start + pos * per.step)
            values.append(last * factor)
    meta = SeriesMeta(currency=(currency or cur).upper(), source=source or "entsoe_xml")
    check_magnitude(np.asarray(values, dtype=np.float64), meta.currency)
    return intervals_to_series(starts, ends, values, meta)
