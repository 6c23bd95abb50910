"""The plan side of the core: forecasts in, the accepted plan looked up by time.

- :class:`Forecast` holds prices and load/PV forecasts on the 15-minute grid; the core cuts
  the optimiser's :class:`~hems_core.optimize.Inputs` out of it at each request.
- :class:`ActivePlan` is an accepted :class:`~hems_core.optimize.Plan` with its step edges as
  epoch seconds, so the fast loop finds the step for ``now`` without parsing or allocating.
  A plan stays usable, shifted, until its horizon ends: that is the "last good plan" when a
  newer solve fails.
"""

from __future__ import annotations

import bisect
import dataclasses
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from ..optimize.inputs import MAX_STEPS, FloatArray, Inputs
from ..optimize.plan import AssetPlan, Plan
from ..timegrid import STEP_S, epoch_s, floor_quarter_s
from .settings import ControlError


def _array(name: str, values: Any, n: int | None) -> FloatArray:
    arr = np.array(values, dtype=np.float64)
    if arr.ndim != 1 or (n is not None and arr.shape[0] != n):
        raise ControlError(f"Forecast.{name} must be a 1-D series of {n} values")
    # A finite sum means every value is finite (one reduction, no temporary); only a sum
    # that is not (NaN, inf, or an overflow of finite values) needs the element-wise check.
    if not math.isfinite(arr.sum()) and not np.isfinite(arr).all():
        raise ControlError(f"Forecast.{name} contains NaN or infinite values")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Forecast:
    """Prices (all-in EUR/kWh) and forecasts (mean kW) per clock quarter from ``start``.

    ``load_kw``/``pv_kw`` are medians; ``peak_margin_kw`` (optional, >= 0) is the headroom the
    plan keeps under the month's peak for what the medians miss (:func:`peak_margin_kw`).
    """

    start: datetime
    import_price: FloatArray
    export_price: FloatArray
    load_kw: FloatArray
    pv_kw: FloatArray
    import_cap_kw: FloatArray | None = None
    source: str = "forecast"
    peak_margin_kw: FloatArray | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.start, datetime) or self.start.utcoffset() is None:
            raise ControlError("Forecast.start must be a timezone-aware datetime")
        if epoch_s(self.start) % STEP_S:
            raise ControlError("Forecast.start must be a clock quarter")
        imp = _array("import_price", self.import_price, None)
        n = imp.shape[0]
        if n == 0:
            raise ControlError("Forecast must hold at least one quarter")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "import_price", imp)
        object.__setattr__(self, "export_price", _array("export_price", self.export_price, n))
        load = _array("load_kw", self.load_kw, n)
        pv = _array("pv_kw", self.pv_kw, n)
        if load.min() < 0 or pv.min() < 0:  # finite and not empty (checked above)
            raise ControlError("Forecast.load_kw and pv_kw must be >= 0")
        object.__setattr__(self, "load_kw", load)
        object.__setattr__(self, "pv_kw", pv)
        if self.import_cap_kw is not None:
            cap = _array("import_cap_kw", self.import_cap_kw, n)
            object.__setattr__(self, "import_cap_kw", cap)
        if self.peak_margin_kw is not None:
            margin = _array("peak_margin_kw", self.peak_margin_kw, n)
            if margin.min() < 0:
                raise ControlError("Forecast.peak_margin_kw must be >= 0")
            object.__setattr__(self, "peak_margin_kw", margin)

    @property
    def end_s(self) -> int:
        """Epoch seconds where the forecast ends."""
        return epoch_s(self.start) + STEP_S * int(self.import_price.shape[0])

    def inputs(self, now: datetime, max_steps: int) -> Inputs | None:
        """The optimiser inputs from ``now`` (a partial first quarter), None if nothing is left."""
        first = (floor_quarter_s(epoch_s(now)) - epoch_s(self.start)) // STEP_S
        if first < 0:
            return None
        n = min(int(self.import_price.shape[0]) - first, max_steps)
        if n <= 0:
            return None
        cut = slice(first, first + n)
        cap = None if self.import_cap_kw is None else self.import_cap_kw[cut]
        margin = None if self.peak_margin_kw is None else self.peak_margin_kw[cut]
        # (the forecast does not check the cap's sign: a negative cap goes to Inputs' check)
        if n > MAX_STEPS or now.utcoffset() is None or (cap is not None and cap.min() < 0):
            return Inputs(  # let Inputs say what is wrong
                start=now,
                import_price=self.import_price[cut],
                export_price=self.export_price[cut],
                load_kw=self.load_kw[cut],
                pv_kw=self.pv_kw[cut],
                import_cap_kw=cap,
                peak_margin_kw=margin,
            )
        return _checked_inputs(
            start=now.astimezone(UTC),
            import_price=self.import_price[cut],
            export_price=self.export_price[cut],
            load_kw=self.load_kw[cut],
            pv_kw=self.pv_kw[cut],
            import_cap_kw=cap,
            peak_margin_kw=margin,
        )


def peak_margin_kw(load_p50: Any, load_p90: Any, pv_p50: Any, pv_p10: Any) -> FloatArray:
    """Per-quarter headroom under the month's peak from the forecasts' quantiles (kW).

    The plan is made on medians; a quarter where the load runs at its p90 and the PV at its
    p10 imports ``(p90 - p50) + (p50 - p10)`` more than planned. The margin is that spread,
    but never more than the import in that bad case (``p90 load - p10 PV``): where even poor
    PV covers the load there is no peak to protect. Never negative.
    """
    l50, l90 = np.asarray(load_p50, dtype=np.float64), np.asarray(load_p90, dtype=np.float64)
    p50, p10 = np.asarray(pv_p50, dtype=np.float64), np.asarray(pv_p10, dtype=np.float64)
    spread = np.maximum(l90 - l50, 0.0) + np.maximum(p50 - p10, 0.0)
    out: FloatArray = np.maximum(np.minimum(spread, l90 - p10), 0.0)
    return out


def _checked_inputs(**values: Any) -> Inputs:
    """:class:`Inputs` from a :class:`Forecast`'s series without checking them again.

    The forecast holds read-only float copies it checked by the same rules (1-D, one length,
    finite, load and PV >= 0; the caller checks the cap's sign), so slices of them are what
    ``Inputs`` would make of them; the
    fields left out take their defaults. ``tests/core/control`` compares the result with
    ``Inputs(...)`` field by field (~25 us a plan request saved).
    """
    obj = object.__new__(Inputs)
    for f in dataclasses.fields(Inputs):
        if f.name in values:
            v = values[f.name]
        elif f.default is not dataclasses.MISSING:
            v = f.default
        elif f.default_factory is not dataclasses.MISSING:
            v = f.default_factory()
        else:  # a new required field: only Inputs itself knows how to check it
            return Inputs(**values)
        object.__setattr__(obj, f.name, v)
    return obj


def _starts_s(plan: Plan) -> list[float]:
    """The step starts as epoch seconds: the planner's own integers where it left them
    (``Plan.step_start_s``; the ISO strings are whole seconds of the same), else parsed."""
    if "_starts_s" in plan.__dict__:  # whole seconds: ints compare and subtract exactly as floats
        return list(plan.step_start_s)
    return [datetime.fromisoformat(s).timestamp() for s in plan.step_start]


def _month(t_s: float, zone: ZoneInfo) -> int:
    d = datetime.fromtimestamp(t_s, zone)
    return d.year * 12 + d.month


@dataclass(frozen=True, slots=True)
class AssetStep:
    """One asset's plan for the step running now."""

    power_w: float
    soc_start: float
    soc_end: float
    available: bool


@dataclass(eq=False)
class ActivePlan:
    """An accepted plan, indexed by epoch seconds for the fast loop."""

    seq: int
    plan: Plan
    accepted_at: datetime
    edges: list[float] = field(default_factory=list)
    _soc0: dict[str, float] = field(default_factory=dict)
    #: Index into ``plan.month_peak_kw`` per step: the plan holds one budget per calendar month
    #: its horizon touches, not one per step.
    _month_slot: list[int] = field(default_factory=list)
    #: ``plan.assets`` by name (built on first use; the plan never changes).
    _assets: dict[str, AssetPlan] = field(default_factory=dict)
    #: :meth:`asset_step` per (name, step): the fast loop asks ~every second for the same step.
    _steps: dict[tuple[str, int], AssetStep | None] = field(default_factory=dict)
    #: The step :meth:`step_at` found last (checked against the edges before it is used).
    _last_k: int = -1

    @classmethod
    def of(
        cls,
        seq: int,
        plan: Plan,
        accepted_at: datetime,
        soc_now: dict[str, float],
        month_tz: str = "UTC",
    ) -> ActivePlan:
        """Index ``plan``; ``soc_now`` is each asset's SoC when the plan was requested.

        ``month_tz`` is the capacity tariff's time zone, where its months begin.
        """
        starts = _starts_s(plan)
        if not starts:
            raise ControlError("a plan without steps cannot be applied")
        last = starts[-1] + plan.dt_h[-1] * 3600.0
        top = max(0, len(plan.month_peak_kw) - 1)
        n = len(starts)
        slot = [0] * n
        if top > 0:
            zone = ZoneInfo(month_tz)
            first = _month(starts[0], zone)
            # The same month at the first and the last step: every slot is 0 (local months only
            # go back across a fall-back at midnight, and a step in an earlier month clamps to
            # 0; going forth and back again within one plan would need two such changes).
            if _month(starts[-1], zone) != first:
                slot = [min(top, max(0, _month(t, zone) - first)) for t in starts]
        return cls(seq, plan, accepted_at, [*starts, last], dict(soc_now), slot)

    @property
    def end_s(self) -> float:
        """Epoch seconds where the plan's horizon ends."""
        return self.edges[-1]

    def step_at(self, t_s: float) -> int | None:
        """Index of the step covering ``t_s``, or None outside the horizon."""
        edges = self.edges
        if t_s < edges[0] or t_s >= edges[-1]:
            return None
        k = self._last_k
        if 0 <= k < len(edges) - 1 and edges[k] <= t_s < edges[k + 1]:
            return k  # a tick asks several times for the same instant
        k = bisect.bisect_right(edges, t_s) - 1
        self._last_k = k
        return k

    def grid_target_w(self, k: int) -> float:
        """Planned net grid power of step ``k`` (import positive)."""
        p = self.plan
        return (p.grid_import_kw[k] - p.grid_export_kw[k]) * 1000.0

    def month_peak_kw(self, k: int) -> float:
        """The peak budget the plan allows for step ``k``'s quarter."""
        if not self.plan.month_peak_kw:
            return math.inf
        return self.plan.month_peak_kw[self._month_slot[k]]

    def pv_limit_w(self, k: int) -> float | None:
        """Planned inverter limit (W) when the plan curtails PV in step ``k``, else None."""
        p = self.plan
        if p.pv_curtail_kw[k] <= 0.05:
            return None
        return max(0.0, (p.pv_kw[k] - p.pv_curtail_kw[k]) * 1000.0)

    def asset_step(self, name: str, k: int) -> AssetStep | None:
        """The asset's planned power and SoC band for step ``k`` (None if not in the plan)."""
        try:
            return self._steps[name, k]
        except KeyError:
            pass
        got = self._asset_step(name, k)
        if len(self._steps) > 64:
            self._steps.clear()
        self._steps[name, k] = got
        return got

    def _asset_step(self, name: str, k: int) -> AssetStep | None:
        assets = self._assets
        if not assets:
            for x in self.plan.assets:
                assets.setdefault(x.name, x)  # the first of a name, as the plan's lookup
        a = assets.get(name)
        if a is None:
            return None
        start = a.soc[k - 1] if k > 0 else self._soc0.get(name, a.soc[0])
        return AssetStep(a.power_kw[k] * 1000.0, start, a.soc[k], a.available[k])

    def planned_soc(self, name: str, t_s: float) -> float | None:
        """The plan's SoC for ``name`` at ``t_s``, interpolated within the step."""
        k = self.step_at(t_s)
        if k is None:
            return None
        st = self.asset_step(name, k)
        if st is None:
            return None
        frac = (t_s - self.edges[k]) / max(1.0, self.edges[k + 1] - self.edges[k])
        return st.soc_start + (st.soc_end - st.soc_start) * frac
