"""A house load with second-level steps, built from a 15-minute profile.

Real loads are not the smooth quarter means of a profile: a kettle draws 2 kW for three
minutes, an oven 2.5 kW with its thermostat cycling, a heat pump starts with an inrush. The
fast loop has to follow exactly those steps, so the soak test needs them. Each quarter keeps
the profile's mean energy: appliance events are drawn with a seeded generator and the
remaining base load is lowered (never below a standby floor) so the quarter's mean stays the
profile's value where it can.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from hems_core.timegrid import STEP_S

#: Appliances: (name, power W, duration s, chance per quarter).
APPLIANCES: tuple[tuple[str, float, float, float], ...] = (
    ("kettle", 2000.0, 180.0, 0.05),
    ("oven", 2500.0, 2400.0, 0.01),
    ("heat_pump", 1500.0, 1800.0, 0.04),
    ("washer", 2100.0, 900.0, 0.02),
    ("microwave", 1100.0, 120.0, 0.04),
)
STANDBY_W = 80.0


@dataclass(frozen=True, slots=True)
class _Event:
    start: float
    end: float
    watts: float
    inrush_s: float


class HouseLoad:
    """``load_w(t)`` in W at epoch seconds ``t`` (deterministic for a seed)."""

    def __init__(self, start: float, profile_kw: Sequence[float], *, seed: int = 7) -> None:
        if start % STEP_S:
            raise ValueError("the profile must start on a clock quarter")
        if not profile_kw or any(not math.isfinite(v) or v < 0 for v in profile_kw):
            raise ValueError("the profile needs finite values >= 0")
        self.start = float(start)
        self.profile_w = [v * 1000.0 for v in profile_kw]
        rng = random.Random(seed)
        self.events: list[_Event] = []
        for q in range(len(self.profile_w)):
            q0 = self.start + q * STEP_S
            for _name, watts, duration, chance in APPLIANCES:
                if rng.random() < chance:
                    at = q0 + rng.uniform(0, STEP_S)
                    inrush = 2.0 if _name == "heat_pump" else 0.0
                    self.events.append(_Event(at, at + duration, watts, inrush))
        self.events.sort(key=lambda e: e.start)
        self._offset = [0.0] * len(self.profile_w)
        for q in range(len(self.profile_w)):
            q0 = self.start + q * STEP_S
            energy = sum(self._overlap(e, q0, q0 + STEP_S) * e.watts for e in self.events)
            self._offset[q] = energy / STEP_S

    @staticmethod
    def _overlap(e: _Event, a: float, b: float) -> float:
        return max(0.0, min(e.end, b) - max(e.start, a))

    @property
    def end(self) -> float:
        """Epoch seconds where the profile ends."""
        return self.start + STEP_S * len(self.profile_w)

    def quarter_mean_w(self, q: int) -> float:
        """The profile's mean for quarter ``q``."""
        return self.profile_w[q]

    def load_w(self, t: float) -> float:
        """The house load now: base (mean-preserving where possible) plus running appliances."""
        q = int((t - self.start) // STEP_S)
        q = min(max(q, 0), len(self.profile_w) - 1)
        base = max(STANDBY_W, self.profile_w[q] - self._offset[q])
        extra = 0.0
        for e in self.events:
            if e.start > t:
                break
            if t < e.end:
                extra += e.watts * (3.0 if t - e.start < e.inrush_s else 1.0)
        return base + extra
