"""A physical EV battery behind a wallbox: SoC, efficiency, ramping, plug schedule.

Sign convention: AC power positive charges the battery, negative discharges it (V2H).
Energy counters are on the AC side (what a wallbox meters); the battery sees the AC power
times the charge efficiency, or the AC power divided by the discharge efficiency.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EvParams:
    """Vehicle and session parameters."""

    capacity_kwh: float = 40.0
    soc_pct: float = 50.0
    min_soc_pct: float = 5.0
    max_soc_pct: float = 100.0
    eta_charge: float = 0.93
    eta_discharge: float = 0.93
    max_charge_w: float = 7400.0
    max_discharge_w: float = 7400.0
    ramp_w_per_s: float = 2000.0
    #: plugged intervals in seconds since the simulation start, as (start, end); empty = always
    plug_schedule: tuple[tuple[float, float], ...] = ()

    def __post_init__(self) -> None:
        if self.capacity_kwh <= 0:
            raise ValueError("capacity must be positive")
        if not 0 < self.eta_charge <= 1 or not 0 < self.eta_discharge <= 1:
            raise ValueError("efficiencies must be in (0, 1]")
        if not 0 <= self.min_soc_pct <= self.soc_pct <= self.max_soc_pct <= 100:
            raise ValueError("need 0 <= min_soc <= soc <= max_soc <= 100")
        if self.ramp_w_per_s <= 0:
            raise ValueError("ramp must be positive")


class EvBattery:
    """Integrates power over time; never leaves its SoC window."""

    def __init__(self, params: EvParams, start_time: float = 0.0) -> None:
        self.params = params
        self.energy_kwh = params.capacity_kwh * params.soc_pct / 100
        self.power_w = 0.0
        self.energy_in_kwh = 0.0
        self.energy_out_kwh = 0.0
        self.start_time = start_time
        self.time = start_time

    @property
    def soc_pct(self) -> float:
        """State of charge in percent."""
        return 100 * self.energy_kwh / self.params.capacity_kwh

    def plugged_at(self, t: float) -> bool:
        """Whether the car is plugged in at absolute time ``t``."""
        sched = self.params.plug_schedule
        if not sched:
            return True
        rel = t - self.start_time
        return any(a <= rel < b for a, b in sched)

    def _bounds(self) -> tuple[float, float]:
        p = self.params
        lo = -p.max_discharge_w if self.soc_pct > p.min_soc_pct + 1e-9 else 0.0
        hi = p.max_charge_w if self.soc_pct < p.max_soc_pct - 1e-9 else 0.0
        return lo, hi

    def advance(self, until: float, target_w: float) -> None:
        """Move to time ``until`` with the box asking for ``target_w`` (1 s sub-steps)."""
        p = self.params
        while self.time < until - 1e-9:
            dt = min(1.0, until - self.time)
            plugged = self.plugged_at(self.time)
            lo, hi = self._bounds()
            goal = min(max(target_w, lo), hi) if plugged else 0.0
            step = p.ramp_w_per_s * dt
            if not plugged:
                self.power_w = 0.0
            elif goal > self.power_w:
                self.power_w = min(goal, self.power_w + step)
            else:
                self.power_w = max(goal, self.power_w - step)
            hours = dt / 3600
            if self.power_w > 0:
                self.energy_in_kwh += self.power_w / 1000 * hours
                self.energy_kwh += self.power_w / 1000 * hours * p.eta_charge
            elif self.power_w < 0:
                self.energy_out_kwh += -self.power_w / 1000 * hours
                self.energy_kwh -= -self.power_w / 1000 * hours / p.eta_discharge
            cap = p.capacity_kwh
            self.energy_kwh = min(
                max(self.energy_kwh, cap * p.min_soc_pct / 100), cap * p.max_soc_pct / 100
            )
            self.time += dt
