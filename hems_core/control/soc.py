"""State of charge per storage asset: reported when the device can read it, counted otherwise.

:class:`SocEstimator` takes, at every reading, the SoC the device reports (``None`` when the
charger cannot read the car, as with AC wallboxes) and the monotonic energy totals from
:class:`~hems_core.control.energy.EnergyCounter`. A reported SoC always wins and clears the
``estimated`` flag. Without one, the energy since the previous reading moves the SoC from the last
known or assumed value: ``(charge_efficiency * energy_in - energy_out / discharge_efficiency) /
capacity_kwh``, clamped to [0, 1]. Unplugging keeps the last value (the optimiser subtracts trip
energy on return); a new plug-in without a reading starts from the user's :meth:`assume` value
given since the unplug, else from ``arrival_soc`` (the car's typical arrival SoC), and is marked
estimated.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Final

from ..model import Ev, HomeBattery
from .state_errors import StateKeeperError, check_fraction, check_positive

__all__ = ["SocEstimator", "SocEstimatorError"]

_SNAPSHOT_VERSION: Final = 1


class SocEstimatorError(StateKeeperError):
    """An input or a snapshot given to :class:`SocEstimator` is invalid."""


def _efficiency(name: str, value: float) -> float:
    v = check_positive(name, value, SocEstimatorError)
    if v > 1.0:
        raise SocEstimatorError(f"{name} must be within (0, 1], got {value!r}")
    return v


class SocEstimator:
    """SoC (0..1) of one battery or car, with whether it is an estimate."""

    def __init__(
        self,
        capacity_kwh: float,
        charge_efficiency: float = 0.92,
        discharge_efficiency: float = 0.92,
        *,
        arrival_soc: float = 0.5,
        snapshot: dict[str, Any] | None = None,
    ) -> None:
        self._cap = check_positive("SocEstimator.capacity_kwh", capacity_kwh, SocEstimatorError)
        self._eta_c = _efficiency("SocEstimator.charge_efficiency", charge_efficiency)
        self._eta_d = _efficiency("SocEstimator.discharge_efficiency", discharge_efficiency)
        self._arrival = check_fraction("SocEstimator.arrival_soc", arrival_soc, SocEstimatorError)
        self._soc: float | None = None
        self._estimated = False
        self._plugged: bool | None = None  # None: not observed yet
        self._pending: float | None = None  # assume() while unplugged: for the next plug-in
        self._last_in: float | None = None
        self._last_out: float | None = None
        if snapshot is not None:
            self._load(snapshot)

    @classmethod
    def for_ev(cls, ev: Ev, arrival_soc: float = 0.5, **kwargs: Any) -> SocEstimator:
        """An estimator with the capacity and efficiencies of ``ev``."""
        return cls(
            ev.capacity_kwh,
            ev.charge_efficiency,
            ev.discharge_efficiency,
            arrival_soc=arrival_soc,
            **kwargs,
        )

    @classmethod
    def for_battery(cls, battery: HomeBattery, **kwargs: Any) -> SocEstimator:
        """An estimator with the capacity and efficiencies of a home battery."""
        return cls(
            battery.capacity_kwh,
            battery.charge_efficiency,
            battery.discharge_efficiency,
            **kwargs,
        )

    @property
    def soc(self) -> float | None:
        """The SoC (0..1), ``None`` before anything is known."""
        return self._soc

    @property
    def estimated(self) -> bool:
        """Whether :attr:`soc` is counted or assumed rather than reported by the device."""
        return self._estimated

    @property
    def plugged(self) -> bool:
        """Whether the last observation saw the asset connected."""
        return bool(self._plugged)

    def assume(self, soc: float) -> None:
        """A user-entered SoC: used now if connected, else at the next plug-in without a reading.

        A reported SoC still wins as soon as the device gives one.
        """
        v = check_fraction("SocEstimator.assume: soc", soc, SocEstimatorError)
        if self._plugged:
            self._soc = v
            self._estimated = True
        else:
            self._pending = v

    def observe(
        self,
        now: datetime,
        soc_reported: float | None,
        energy_in_kwh: float,
        energy_out_kwh: float,
        plugged: bool,
    ) -> None:
        """Fold one reading in (``energy_*`` are the monotonic totals, e.g. ``EnergyCounter``'s)."""
        if now.tzinfo is None:
            raise SocEstimatorError(f"SocEstimator.observe: now must be timezone-aware: {now!r}")
        if soc_reported is not None and not (
            math.isfinite(soc_reported) and 0.0 <= soc_reported <= 1.0
        ):
            raise SocEstimatorError(
                f"SocEstimator.observe: soc_reported must be within [0, 1], got {soc_reported!r}"
            )
        if not (math.isfinite(energy_in_kwh) and math.isfinite(energy_out_kwh)):
            raise SocEstimatorError("SocEstimator.observe: energy_in/out_kwh must be finite")
        d_in = 0.0 if self._last_in is None else max(0.0, energy_in_kwh - self._last_in)
        d_out = 0.0 if self._last_out is None else max(0.0, energy_out_kwh - self._last_out)
        self._last_in, self._last_out = energy_in_kwh, energy_out_kwh
        was = self._plugged
        self._plugged = plugged
        if not plugged:
            return  # away or unplugged: keep the last value
        if soc_reported is not None:
            self._soc = float(soc_reported)
            self._estimated = False
            self._pending = None
            return
        if not was or self._soc is None:  # a new plug-in (or the first sight) without a reading
            self._soc = self._arrival if self._pending is None else self._pending
            self._pending = None
            self._estimated = True
            return
        if d_in or d_out:
            s = self._soc + (self._eta_c * d_in - d_out / self._eta_d) / self._cap
            self._soc = 0.0 if s < 0.0 else 1.0 if s > 1.0 else s
            self._estimated = True

    def snapshot(self) -> dict[str, Any]:
        """JSON-able state for a restart."""
        return {
            "version": _SNAPSHOT_VERSION,
            "soc": self._soc,
            "estimated": self._estimated,
            "plugged": self._plugged,
            "pending": self._pending,
            "last_in": self._last_in,
            "last_out": self._last_out,
        }

    @classmethod
    def restore(cls, snapshot: dict[str, Any], capacity_kwh: float, **kwargs: Any) -> SocEstimator:
        """An estimator carrying on from :meth:`snapshot`."""
        return cls(capacity_kwh, snapshot=snapshot, **kwargs)

    def _load(self, s: dict[str, Any]) -> None:
        def opt(key: str) -> float | None:
            v = s[key]
            return None if v is None else float(v)

        try:
            if s["version"] != _SNAPSHOT_VERSION:
                raise SocEstimatorError(f"SocEstimator snapshot version {s['version']!r} unknown")
            soc, pending = opt("soc"), opt("pending")
            last_in, last_out = opt("last_in"), opt("last_out")
            estimated = bool(s["estimated"])
            plugged = None if s["plugged"] is None else bool(s["plugged"])
        except SocEstimatorError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise SocEstimatorError(f"SocEstimator snapshot is malformed: {exc!r}") from exc
        for name, v in (("soc", soc), ("pending", pending)):
            if v is not None:
                check_fraction(f"SocEstimator snapshot {name}", v, SocEstimatorError)
        self._soc, self._pending, self._estimated, self._plugged = soc, pending, estimated, plugged
        self._last_in, self._last_out = last_in, last_out
