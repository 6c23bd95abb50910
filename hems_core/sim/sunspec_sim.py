"""A simulated SunSpec PV inverter: a PV profile, curtailment and a revert timer.

Register image: ``SunS`` at 40000, models 1, 103 (or 113 with ``float_model``), 120, 121,
123 (and 704 with ``der_704``), end marker. The AC output is the PV profile's available power
clipped at the rated power and at the active limit; the limit reverts when its revert time
(``WMaxLimPct_RvrtTms``) passes without a new limit write — the inverter's own watchdog.
The layout comes from :mod:`hems_core.sim.sunspec_models` (typed in from the SunSpec model
definitions), never from the driver's point tables.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from hems_core.devices.clock import Clock
from hems_core.devices.errors import ModbusExceptionError
from hems_core.devices.modbus_codec import EXC_ILLEGAL_ADDRESS, EXC_ILLEGAL_VALUE

from .faults import Faults
from .sunspec_models import LENGTHS, SUNS_MARKER, WRITABLE, encode_model, offset


@dataclass(frozen=True, slots=True)
class PvProfile:
    """Available DC power over the UTC day: a half-sine between sunrise and sunset."""

    peak_w: float = 5000.0
    sunrise_h: float = 6.0
    sunset_h: float = 20.0
    constant_w: float | None = None

    def available_w(self, t: float) -> float:
        """Available power at epoch seconds ``t``."""
        if self.constant_w is not None:
            return self.constant_w
        hour = (t % 86400) / 3600
        if not self.sunrise_h < hour < self.sunset_h:
            return 0.0
        x = (hour - self.sunrise_h) / (self.sunset_h - self.sunrise_h)
        return self.peak_w * math.sin(math.pi * x)


class SunSpecInverterSim:
    """Register backend of a SunSpec inverter."""

    BASE = 40000

    def __init__(
        self,
        clock: Clock,
        *,
        profile: PvProfile | None = None,
        rated_w: float = 6000.0,
        float_model: bool = False,
        der_704: bool = False,
        faults: Faults | None = None,
        seed: int = 2,
    ) -> None:
        self.clock = clock
        self.profile = profile or PvProfile()
        self.rated_w = rated_w
        self.faults = faults if faults is not None else Faults()
        self.inverter_model = 113 if float_model else 103
        self.limit_model = 704 if der_704 else 123
        self._rng = random.Random(seed)
        self.energy_wh = 1_000_000.0
        self.time = clock()
        self.ac_w = max(0.0, min(self.profile.available_w(self.time), rated_w))
        self.last_limit_write = clock()
        self.writes: list[tuple[int, int]] = []
        self.layout: dict[int, int] = {}
        chain = [1, self.inverter_model, 120, 121, self.limit_model]
        self.words: dict[int, int] = {self.BASE: SUNS_MARKER[0], self.BASE + 1: SUNS_MARKER[1]}
        address = self.BASE + 2
        for mid in chain:
            length = LENGTHS[mid]
            self.words[address] = mid
            self.words[address + 1] = length
            self.layout[mid] = address + 2
            for i, w in enumerate(self._initial(mid)):
                self.words[address + 2 + i] = w
            address += 2 + length
        self.words[address] = 0xFFFF
        self.words[address + 1] = 0
        self._refresh()

    def _initial(self, mid: int) -> list[int]:
        if mid == 1:
            return encode_model(
                1, {"Mn": "HEMS", "Md": "SimInverter", "Vr": "1.0", "SN": "SIM0001", "DA": 1}
            )
        if mid == 120:
            return encode_model(120, {"DERTyp": 4, "WRtg": round(self.rated_w / 10), "WRtg_SF": 1})
        if mid == 121:
            return encode_model(121, {"WMax": round(self.rated_w / 10), "WMax_SF": 1})
        if mid == 123:
            return encode_model(
                123, {"Conn": 1, "WMaxLimPct": 1000, "WMaxLim_Ena": 0, "WMaxLimPct_SF": -1}
            )
        if mid == 704:
            return encode_model(704, {"WMaxLimPctEna": 0, "WMaxLimPct": 100, "WMaxLimPct_SF": 0})
        return [0] * LENGTHS[mid]

    def _point(self, mid: int, name: str) -> int:
        return self.layout[mid] + offset(mid, name)

    def limit_w(self) -> float | None:
        """The active limit in W, or None."""
        mid = self.limit_model
        ena = "WMaxLim_Ena" if mid == 123 else "WMaxLimPctEna"
        if self.words[self._point(mid, ena)] != 1:
            return None
        sf_raw = self.words[self._point(mid, "WMaxLimPct_SF")]
        sf = sf_raw - 0x10000 if sf_raw & 0x8000 else sf_raw
        pct = self.words[self._point(mid, "WMaxLimPct")] * 10.0**sf
        return self.rated_w * pct / 100

    def _revert_s(self) -> int:
        mid = self.limit_model
        if mid == 123:
            return self.words[self._point(123, "WMaxLimPct_RvrtTms")]
        a = self._point(704, "WMaxLimPctRvrtTms")
        return (self.words[a] << 16) | self.words[a + 1]

    def advance(self) -> None:
        """Integrate energy up to the clock and apply the revert timer."""
        now = self.clock()
        revert = self._revert_s()
        if revert and now - self.last_limit_write > revert and self.limit_w() is not None:
            ena = "WMaxLim_Ena" if self.limit_model == 123 else "WMaxLimPctEna"
            self.words[self._point(self.limit_model, ena)] = 0
        limit = self.limit_w()  # registers do not change while we integrate
        while self.time < now - 1e-9:
            # 10 s sub-steps: PV changes slowly, and a 12-hour jump must not take the server
            # long enough to time out its client
            dt = min(10.0, now - self.time)
            self.time += dt
            avail = min(self.profile.available_w(self.time), self.rated_w)
            self.ac_w = max(0.0, min(avail, limit) if limit is not None else avail)
            self.energy_wh += self.ac_w * dt / 3600
        if not self.faults.frozen:
            self._refresh()

    def _refresh(self) -> None:
        mid = self.inverter_model
        ac = self.ac_w + (self._rng.uniform(-2, 2) if self.ac_w > 0 else 0.0)
        if mid == 113:
            values = {
                "W": ac,
                "WH": self.energy_wh,
                "Hz": 50.0,
                "PhVphA": 230.0,
                "A": ac / 230.0,
                "DCW": ac * 1.03,
                "St": 4 if ac > 0 else 2,
            }
        else:
            values = {
                "W": round(ac),
                "W_SF": 0,
                "WH": max(1, round(self.energy_wh)),
                "WH_SF": 0,
                "Hz": 5000,
                "Hz_SF": -2,
                "PhVphA": 2300,
                "V_SF": -1,
                "A": round(ac / 230 * 100),
                "A_SF": -2,
                "DCW": round(ac * 1.03),
                "DCW_SF": 0,
                "St": 4 if ac > 0 else 2,
            }
        for i, w in enumerate(encode_model(mid, values)):
            self.words[self.layout[mid] + i] = w

    def on_request(self) -> None:
        """Requests advance time."""
        self.advance()

    def read(self, table: str, address: int, count: int) -> list[int]:
        """Holding registers of the image; anything else is an illegal address."""
        if table != "holding":
            raise ModbusExceptionError(4, EXC_ILLEGAL_ADDRESS, address)
        out = []
        for a in range(address, address + count):
            if a not in self.words:
                raise ModbusExceptionError(3, EXC_ILLEGAL_ADDRESS, a)
            out.append(self.words[a])
        return out

    def write(self, address: int, words: list[int], function: int = 16) -> None:
        """Only RW points of the control models are writable."""
        mid = self.limit_model
        for name in WRITABLE[mid]:
            width = 2 if name == "WMaxLimPctRvrtTms" else 1
            if self._point(mid, name) == address and width == len(words):
                if name == "WMaxLimPct" and words[0] * 10.0 ** self._sf() > 100:
                    raise ModbusExceptionError(function, EXC_ILLEGAL_VALUE, address)
                self.advance()
                for i, w in enumerate(words):
                    self.words[address + i] = w
                self.writes.append((address, words[0]))
                self.last_limit_write = self.clock()
                self.advance()
                return
        raise ModbusExceptionError(function, EXC_ILLEGAL_ADDRESS, address)

    def _sf(self) -> int:
        raw = self.words[self._point(self.limit_model, "WMaxLimPct_SF")]
        return raw - 0x10000 if raw & 0x8000 else raw
