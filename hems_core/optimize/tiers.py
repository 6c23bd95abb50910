"""A multi-tier time grid: 15-minute steps near now, coarser steps further out.

Planning 72 h ahead on quarters costs 288 steps per asset; beyond the first day a quarter's
detail is worth little (prices are forecasts or hourly, PV and load are smooth, the next
decision is re-planned in 15 minutes anyway). So the grid keeps the running quarter plus the
next 96 quarters (at least 24 h) on 15 minutes — that is where the capacity tariff's quarter
peaks, the nowcast and the next departures are — and then takes steps of several quarters.

Layout (:meth:`Tiers.layout`): step lengths in quarters, relative to the window (not the
clock), so the layout stays the same while the window slides with inputs of the same length
(a forecast that always reaches as far ahead); the steps cover every input quarter, a
remainder shorter than a coarse step being one shorter last step.

Aggregation (:func:`aggregate`) is exact for a schedule that is constant within each coarse
step: prices, load, PV and the temperature factor become time means (energy and cost of such
a schedule are the same on both grids, tested), import caps the minimum (a constant power must
respect every quarter's cap). Trips are aggregated by the model itself (availability as a
share of the step, see ``problem._ev_schedule``); month-peak rows on a coarse step bound its
mean power, exact on the 15-minute part.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .inputs import FloatArray, InputError, Inputs


@dataclass(frozen=True)
class Tiers:
    """``fine_quarters`` 15-minute steps after the running one, then ``coarse`` tiers of
    ``(hours, quarters per step)``; the last tier takes whatever the inputs still cover."""

    fine_quarters: int = 96
    coarse: tuple[tuple[float, int], ...] = ((12.0, 2), (36.0, 4))

    def __post_init__(self) -> None:
        if self.fine_quarters < 1:
            raise InputError("Tiers.fine_quarters must be >= 1")
        for hours, q in self.coarse:
            if q < 1 or hours <= 0:
                raise InputError("every coarse tier needs hours > 0 and quarters >= 1")

    def layout(self, quarters: int) -> tuple[int, ...]:
        """Step lengths (in quarters) for inputs of ``quarters`` steps (step 0 the running one).

        The steps cover every input quarter: a remainder shorter than a tier's step ends the
        grid as one shorter step.
        """
        fine = min(quarters, 1 + self.fine_quarters)
        out = [1] * fine
        left = quarters - fine
        for i, (hours, q) in enumerate(self.coarse):
            last = i == len(self.coarse) - 1
            span = left if last else min(left, round(hours * 4))
            count, rest = divmod(span, q)
            out += [q] * count
            left -= count * q
            if rest and (last or left == rest):
                out.append(rest)  # the inputs end inside this tier
                left -= rest
            if left <= 0:
                break
        return tuple(out)


#: The default multi-tier grid: 97 quarters, 12 h of 30 minutes, 36 h of hours (157 steps
#: for 72 h of inputs; HAEO plans about 104 intervals over a similar horizon).
DEFAULT_TIERS = Tiers()


def _block_mean(values: FloatArray, bounds: NDArray[np.int64]) -> FloatArray:
    sums = np.add.reduceat(values, bounds[:-1])
    out: FloatArray = sums / np.diff(bounds)
    return out


def aggregate(inputs: Inputs, layout: tuple[int, ...]) -> Inputs:
    """``inputs`` (per quarter) on the grid of ``layout`` (see the module docstring)."""
    bounds = np.concatenate([[0], np.cumsum(layout)]).astype(np.int64)
    used = int(bounds[-1])
    if used > inputs.steps:
        raise InputError(f"layout covers {used} quarters, inputs hold {inputs.steps}")

    def mean(arr: FloatArray | None) -> FloatArray | None:
        return None if arr is None else _block_mean(np.asarray(arr[:used]), bounds)

    cap = None
    if inputs.import_cap_kw is not None:
        cap = np.minimum.reduceat(np.asarray(inputs.import_cap_kw[:used]), bounds[:-1])
    imp = mean(inputs.import_price)
    exp_ = mean(inputs.export_price)
    load = mean(inputs.load_kw)
    pv = mean(inputs.pv_kw)
    assert imp is not None
    assert exp_ is not None
    assert load is not None
    assert pv is not None
    return Inputs(
        start=inputs.start,
        import_price=imp,
        export_price=exp_,
        load_kw=load,
        pv_kw=pv,
        import_cap_kw=cap,
        temperature_factor=mean(inputs.temperature_factor),
        peak_margin_kw=mean(inputs.peak_margin_kw),
        # Computed from all quarters: a coarse step's mean would move the lower quartile.
        terminal_value_eur_per_kwh=inputs.terminal_value(),
    )
