"""Monotonic energy counters per device, from its own counters or from its power.

:class:`EnergyCounter` keeps ``energy_in_kwh`` (into the device: charging) and
``energy_out_kwh`` (out of it: discharging) that only ever grow, across restarts (snapshot) and
across the device's own counter resets. With a device counter, its deltas are used; a negative
delta (reset, swap, firmware update) or an implausible one (more than ``1.5 x max_power_w`` over
the interval, plus one counter step) is treated as a reset: the new value becomes the baseline and
the interval is integrated from power instead. Without counters (the Wallbox Quasar 1 has none),
power is integrated by the trapezoid rule, split by sign where it changes sign within an interval;
an interval longer than ``max_gap_s`` counts only ``max_gap_s`` of the previous power (a silent
device must not invent energy) and is recorded as a gap.

Pure and cheap: a few float operations per reading, no clock, no allocation.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

from .state_errors import StateKeeperError, check_positive

__all__ = ["EnergyCounter", "EnergyCounterError"]

#: Device counters step by 1-10 Wh; a delta may exceed what power explains by one step.
_SLACK_KWH: Final = 0.01
_SNAPSHOT_VERSION: Final = 1


class EnergyCounterError(StateKeeperError):
    """A reading or a snapshot given to :class:`EnergyCounter` is invalid."""


def _split_trapezoid(p0: float, p1: float, dt: float) -> tuple[float, float]:
    """Energy in and out (J) of a power ramping linearly from ``p0`` to ``p1`` over ``dt``."""
    if p0 >= 0.0 and p1 >= 0.0:
        return 0.5 * (p0 + p1) * dt, 0.0
    if p0 <= 0.0 and p1 <= 0.0:
        return 0.0, -0.5 * (p0 + p1) * dt
    span = abs(p0) + abs(p1)  # the ramp crosses zero: two triangles
    pos, neg = (p0, -p1) if p0 > 0.0 else (p1, -p0)
    return 0.5 * pos * pos / span * dt, 0.5 * neg * neg / span * dt


class EnergyCounter:
    """Energy into and out of one device (kWh), never decreasing.

    ``max_power_w`` is the device's largest power either way (for the plausibility check).
    """

    def __init__(
        self,
        max_power_w: float,
        *,
        max_gap_s: float = 60.0,
        snapshot: dict[str, Any] | None = None,
    ) -> None:
        self._max_w = check_positive("EnergyCounter.max_power_w", max_power_w, EnergyCounterError)
        self._max_gap_s = check_positive("EnergyCounter.max_gap_s", max_gap_s, EnergyCounterError)
        self._in = 0.0
        self._out = 0.0
        self._last_t: float | None = None
        self._last_p: float | None = None  # None: unknown (after a restore)
        self._c_in: float | None = None
        self._c_out: float | None = None
        self.resets = 0
        self.gaps = 0
        self.gap_s = 0.0
        self.out_of_order = 0
        if snapshot is not None:
            self._load(snapshot)

    @property
    def energy_in_kwh(self) -> float:
        """Energy into the device so far (charging), kWh."""
        return self._in

    @property
    def energy_out_kwh(self) -> float:
        """Energy out of the device so far (discharging), kWh."""
        return self._out

    def observe(
        self,
        now: datetime,
        power_w: float,
        counter_in_kwh: float | None = None,
        counter_out_kwh: float | None = None,
    ) -> None:
        """Fold one device reading in (power + into the device, - out of it; counters in kWh)."""
        if now.tzinfo is None:
            raise EnergyCounterError(f"EnergyCounter.observe: now must be timezone-aware: {now!r}")
        self.observe_s(now.timestamp(), power_w, counter_in_kwh, counter_out_kwh)

    def observe_s(
        self,
        t: float,
        power_w: float,
        counter_in_kwh: float | None = None,
        counter_out_kwh: float | None = None,
    ) -> None:
        """:meth:`observe` with ``now`` as epoch seconds."""
        if not math.isfinite(power_w):
            raise EnergyCounterError(f"EnergyCounter.observe: power_w must be finite: {power_w!r}")
        if counter_in_kwh is not None and not math.isfinite(counter_in_kwh):
            counter_in_kwh = None
        if counter_out_kwh is not None and not math.isfinite(counter_out_kwh):
            counter_out_kwh = None
        last = self._last_t
        if last is not None and t < last:
            self.out_of_order += 1
            return
        if last is None or t == last:
            self._last_t = t
            self._last_p = power_w
            self._c_in = self._baseline(self._c_in, counter_in_kwh)
            self._c_out = self._baseline(self._c_out, counter_out_kwh)
            return
        dt = t - last
        limit = self._max_w * 1.5 * dt / 3.6e6 + _SLACK_KWH
        d_in = self._delta(self._c_in, counter_in_kwh, limit)
        d_out = self._delta(self._c_out, counter_out_kwh, limit)
        if d_in is None or d_out is None:
            j_in, j_out = self._from_power(self._last_p, power_w, dt)
            if d_in is None:
                d_in = j_in / 3.6e6
            if d_out is None:
                d_out = j_out / 3.6e6
        self._in += d_in
        self._out += d_out
        self._c_in = self._baseline(self._c_in, counter_in_kwh)
        self._c_out = self._baseline(self._c_out, counter_out_kwh)
        self._last_t = t
        self._last_p = power_w

    def _delta(self, prev: float | None, cur: float | None, limit: float) -> float | None:
        """The counter's plausible increase, 0 for jitter, or ``None``: use power instead."""
        if cur is None or prev is None:
            return None
        d = cur - prev
        if 0.0 <= d <= limit:
            return d
        if -_SLACK_KWH <= d < 0.0:
            return 0.0  # read jitter: keep the old baseline (see _baseline)
        self.resets += 1
        return None

    @staticmethod
    def _baseline(prev: float | None, cur: float | None) -> float | None:
        if cur is None:
            return None
        if prev is not None and -_SLACK_KWH <= cur - prev < 0.0:
            return prev
        return cur

    def _from_power(self, p0: float | None, p1: float, dt: float) -> tuple[float, float]:
        if p0 is None:  # power before a restart is unknown: the downtime is a gap
            self.gaps += 1
            self.gap_s += dt
            return 0.0, 0.0
        if dt > self._max_gap_s:
            self.gaps += 1
            self.gap_s += dt - self._max_gap_s
            h = self._max_gap_s
            return (p0 * h, 0.0) if p0 >= 0.0 else (0.0, -p0 * h)
        return _split_trapezoid(p0, p1, dt)

    # -- persistence -----------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The totals and the device counters' last values, JSON-able."""
        return {
            "version": _SNAPSHOT_VERSION,
            "energy_in_kwh": self._in,
            "energy_out_kwh": self._out,
            "last_t": self._last_t,
            "counter_in_kwh": self._c_in,
            "counter_out_kwh": self._c_out,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], max_power_w: float, **kwargs: Any) -> EnergyCounter:
        """A counter carrying on from :meth:`snapshot`.

        A device counter that kept counting over the downtime contributes its delta (checked
        against ``max_power_w`` over the downtime); power is not held over it.
        """
        return cls(max_power_w, snapshot=snapshot, **kwargs)

    def _load(self, s: dict[str, Any]) -> None:
        try:
            if s["version"] != _SNAPSHOT_VERSION:
                raise EnergyCounterError(f"EnergyCounter snapshot version {s['version']!r} unknown")
            e_in, e_out = float(s["energy_in_kwh"]), float(s["energy_out_kwh"])
            last_t = None if s["last_t"] is None else float(s["last_t"])
            c_in = None if s["counter_in_kwh"] is None else float(s["counter_in_kwh"])
            c_out = None if s["counter_out_kwh"] is None else float(s["counter_out_kwh"])
        except EnergyCounterError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise EnergyCounterError(f"EnergyCounter snapshot is malformed: {exc!r}") from exc
        if not (math.isfinite(e_in) and math.isfinite(e_out) and e_in >= 0 and e_out >= 0):
            raise EnergyCounterError("EnergyCounter snapshot: energies must be finite and >= 0")
        self._in, self._out = e_in, e_out
        self._last_t, self._last_p = last_t, None
        self._c_in, self._c_out = c_in, c_out
