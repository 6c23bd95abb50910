"""The canonical price series: one value per clock quarter, in currency per kWh.

Everything downstream (tariff composition, the optimiser, the controller) consumes this one shape,
so every adapter's job is to produce it and nothing else. Values are a read-only ``float64`` numpy
array; ``known[i]`` says whether step ``i`` is a published price (``True``) or a forecast filled in
beyond the published horizon (``False``, see :mod:`hems_core.tariffs.tail`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import PriceDataError
from .timegrid import STEP, STEP_MINUTES, STEP_S, epoch_s, is_aligned, local_day_bounds

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def _frozen(a: ArrayLike, dtype: type) -> Any:
    arr: Any = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class PriceSeries:
    """Prices on the 15-minute UTC grid starting at ``start`` (aware, quarter-aligned).

    ``includes_*`` say what the values already contain, so tariff composition never adds VAT or
    energy tax twice. ``source`` names the adapter (``"nordpool"``, ``"entsoe_xml"`` …).
    """

    start: datetime
    values: FloatArray
    known: BoolArray
    currency: str = "EUR"
    source: str = "unknown"
    includes_vat: bool = False
    includes_energy_tax: bool = False
    includes_grid_fees: bool = False

    step_minutes: ClassVar[int] = STEP_MINUTES

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise PriceDataError("format", "PriceSeries.start must be timezone-aware")
        if not is_aligned(self.start):
            raise PriceDataError(
                "alignment", f"series start {self.start.isoformat()} is not on a clock quarter"
            )
        values = _frozen(self.values, np.float64)
        known = _frozen(self.known, np.bool_)
        if values.ndim != 1 or values.size == 0:
            raise PriceDataError("format", "a price series needs at least one value")
        if known.shape != values.shape:
            raise PriceDataError("format", "known flags and values differ in length")
        if not np.all(np.isfinite(values)):
            bad = int(np.flatnonzero(~np.isfinite(values))[0])
            at = self.start + bad * STEP
            raise PriceDataError("nan", f"price at {_iso(at)} is not a finite number")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "known", known)

    # -- shape -----------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.values.size)

    @property
    def end(self) -> datetime:
        """End (exclusive) of the last step."""
        return self.start + len(self) * STEP

    @property
    def known_until(self) -> datetime | None:
        """End of the last published (known) step, or ``None`` if nothing is known."""
        idx = np.flatnonzero(self.known)
        if idx.size == 0:
            return None
        return self.start + (int(idx[-1]) + 1) * STEP

    def epoch(self) -> NDArray[np.int64]:
        """Start of every step as epoch seconds (UTC)."""
        return epoch_s(self.start) + STEP_S * np.arange(len(self), dtype=np.int64)

    def times(self) -> list[datetime]:
        """Start of every step as aware UTC datetimes."""
        return [self.start + i * STEP for i in range(len(self))]

    def index_of(self, when: datetime) -> int:
        """Index of the step containing ``when`` (may be out of range)."""
        return int((epoch_s(when) - epoch_s(self.start)) // STEP_S)

    # -- derived series --------------------------------------------------------------------
    def replace(self, **changes: Any) -> PriceSeries:
        """A copy with some fields changed (values/known re-validated)."""
        return dataclasses.replace(self, **changes)

    def slice(self, start: datetime | None = None, end: datetime | None = None) -> PriceSeries:
        """The steps inside ``[start, end)`` (clipped to the series)."""
        i0 = 0 if start is None else max(0, self.index_of(start))
        i1 = (
            len(self)
            if end is None
            else min(len(self), -(-(epoch_s(end) - epoch_s(self.start)) // STEP_S))
        )
        if i1 <= i0:
            raise PriceDataError("incomplete", "no prices in the requested window")
        return self.replace(
            start=self.start + i0 * STEP, values=self.values[i0:i1], known=self.known[i0:i1]
        )

    def extend(self, other: PriceSeries) -> PriceSeries:
        """Union of two adjacent or overlapping series (e.g. today + tomorrow).

        Where both have a value, a known value wins over a forecast and ``self`` wins a tie. A gap
        between the two is an error: the result must stay continuous.
        """
        if other.currency != self.currency:
            raise PriceDataError(
                "format", f"cannot join {self.currency} and {other.currency} prices"
            )
        mine = (self.includes_vat, self.includes_energy_tax, self.includes_grid_fees)
        theirs = (other.includes_vat, other.includes_energy_tax, other.includes_grid_fees)
        if mine != theirs:
            raise PriceDataError(
                "format",
                f"cannot join {self.source} and {other.source} prices: one includes VAT, tax or "
                "grid fees and the other does not",
            )
        lo = min(self.start, other.start)
        hi = max(self.end, other.end)
        if other.start > self.end or self.start > other.end:
            a, b = sorted((self, other), key=lambda s: s.start)
            raise PriceDataError(
                "gap", f"gap in prices: nothing from {_iso(a.end)} to {_iso(b.start)}"
            )
        n = int((hi - lo) / STEP)
        values = np.full(n, np.nan)
        known = np.zeros(n, dtype=bool)
        for s in (other, self):  # self last so it wins ties
            i0 = int((s.start - lo) / STEP)
            sl = slice(i0, i0 + len(s))
            take = s.known | ~known[sl]
            values[sl] = np.where(take, s.values, values[sl])
            known[sl] |= s.known
        return self.replace(start=lo, values=values, known=known)

    # -- local days ------------------------------------------------------------------------
    def day_coverage(self, day: date, tz: tzinfo) -> tuple[int, int]:
        """(known quarters present, quarters the local day has) for one local day."""
        d0, d1 = local_day_bounds(day, tz)
        need = int((d1 - d0) / STEP)
        i0 = max(0, self.index_of(d0))
        i1 = min(len(self), self.index_of(d1))
        have = int(np.count_nonzero(self.known[i0:i1])) if i1 > i0 else 0
        return have, need

    def is_day_complete(self, day: date, tz: tzinfo) -> bool:
        """Whether every quarter of the local day has a published (known) price."""
        have, need = self.day_coverage(day, tz)
        return have == need

    def local_days(self, tz: tzinfo) -> list[date]:
        """Local dates touched by the series."""
        first = self.start.astimezone(tz).date()
        last = (self.end - timedelta(seconds=1)).astimezone(tz).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]

    def complete_days(self, tz: tzinfo) -> list[date]:
        """Local dates whose every quarter is known."""
        return [d for d in self.local_days(tz) if self.is_day_complete(d, tz)]

    # -- output ----------------------------------------------------------------------------
    def to_json_dict(self) -> dict[str, Any]:
        """The CLI's JSON shape: start, step, values, known flags, currency, source."""
        return {
            "start": _iso(self.start),
            "step_minutes": STEP_MINUTES,
            "values": [round(float(v), 6) for v in self.values],
            "known": [bool(k) for k in self.known],
            "currency": self.currency,
            "source": self.source,
        }


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
