"""A simulated SunSpec home battery: SoC, efficiency, limits, self-consumption and a revert timer.

The register layout is built here from the SunSpec model definitions (``sunspec/models``
``json/model_1.json``, ``model_103.json``, ``model_120.json``, ``model_124.json``; offsets
counted after the two-register ID/L header), not from the driver's point tables, so an
offset or scale mistake in :mod:`hems_core.devices.sunspec` fails its tests.

Physics: the battery power ``p`` (+ charge) moves toward a target at ``ramp_w_per_s``. The
target is the self-consumption answer ``-site_w()`` (the grid power the battery sees without
itself; export is charged, import discharged) held inside the control window
``[-OutWRte, +InWRte]`` (% of ``WChaMax``) whose sides are active when ``StorCtl_Mod`` bit 1 /
bit 0 is set. A fixed setpoint is a window of width 0. ``InOutWRte_RvrtTms`` > 0 reverts the
rates to 100 % and ``StorCtl_Mod`` to 0 when no rate is written for that long.
"""

from __future__ import annotations

from collections.abc import Callable

from hems_core.devices.clock import Clock
from hems_core.devices.errors import ModbusExceptionError
from hems_core.devices.modbus_codec import EXC_ILLEGAL_ADDRESS, EXC_ILLEGAL_VALUE

BASE = 40000
# body offsets of the points this simulator serves, per model (from the SunSpec JSON)
M1_LEN, M103_LEN, M120_LEN, M124_LEN = 66, 50, 26, 24
M103 = {"W": 12, "W_SF": 13, "WH": 22, "WH_SF": 24, "St": 36}
M120 = {"DERTyp": 0, "WRtg": 1, "WRtg_SF": 2, "WHRtg": 17, "WHRtg_SF": 18}
M120 |= {"MaxChaRte": 21, "MaxChaRte_SF": 22, "MaxDisChaRte": 23, "MaxDisChaRte_SF": 24}
M124 = {
    "WChaMax": 0,
    "StorCtl_Mod": 3,
    "ChaState": 6,
    "ChaSt": 9,
    "OutWRte": 10,
    "InWRte": 11,
    "InOutWRte_RvrtTms": 13,
    "WChaMax_SF": 16,
    "ChaState_SF": 20,
    "InOutWRte_SF": 23,
}
WRITABLE_124 = ("StorCtl_Mod", "OutWRte", "InWRte", "InOutWRte_RvrtTms")


def _s16(value: int) -> int:
    return value & 0xFFFF


def _signed(word: int) -> int:
    return word - 0x10000 if word & 0x8000 else word


class SunSpecBatterySim:
    """Register backend of a SunSpec storage inverter (models 1, 103, 120, 124)."""

    def __init__(
        self,
        clock: Clock,
        *,
        capacity_kwh: float = 10.0,
        soc_pct: float = 50.0,
        max_charge_w: float = 5000.0,
        max_discharge_w: float = 5000.0,
        efficiency: float = 0.95,
        ramp_w_per_s: float = 2000.0,
        site_w: Callable[[], float] = lambda: 0.0,
    ) -> None:
        self.clock = clock
        self.capacity_kwh = capacity_kwh
        self.energy_kwh = capacity_kwh * soc_pct / 100
        self.max_charge_w = max_charge_w
        self.max_discharge_w = max_discharge_w
        self.efficiency = efficiency
        self.ramp = ramp_w_per_s
        self.site_w = site_w
        self.power_w = 0.0
        self.ac_out_wh = 0.0
        self.time = clock()
        self.last_rate_write = clock()
        self.reverts = 0
        self.writes: list[tuple[str, int]] = []
        self.words: dict[int, int] = {BASE: 0x5375, BASE + 1: 0x6E53}
        self.body: dict[int, int] = {}
        address = BASE + 2
        for mid, length in ((1, M1_LEN), (103, M103_LEN), (120, M120_LEN), (124, M124_LEN)):
            self.words[address], self.words[address + 1] = mid, length
            self.body[mid] = address + 2
            for i in range(length):
                self.words[address + 2 + i] = 0
            address += 2 + length
        self.words[address], self.words[address + 1] = 0xFFFF, 0
        self._put(1, 0, 0x4845)  # "HE"
        self._put(1, 1, 0x4D53)  # "MS"
        self._put(120, M120["DERTyp"], 82)  # 82 = PV + storage
        self._put(120, M120["WRtg"], round(max_discharge_w / 10))
        self._put(120, M120["WRtg_SF"], 1)
        self._put(120, M120["WHRtg"], round(capacity_kwh * 100))
        self._put(120, M120["WHRtg_SF"], 1)
        self._put(120, M120["MaxChaRte"], round(max_charge_w / 10))
        self._put(120, M120["MaxChaRte_SF"], 1)
        self._put(120, M120["MaxDisChaRte"], round(max_discharge_w / 10))
        self._put(120, M120["MaxDisChaRte_SF"], 1)
        self._put(124, M124["WChaMax"], round(max_charge_w / 10))
        self._put(124, M124["WChaMax_SF"], 1)
        self._put(124, M124["ChaState_SF"], _s16(-1))
        self._put(124, M124["InOutWRte_SF"], _s16(-2))  # rates in 0.01 %
        self._put(124, M124["InWRte"], 10000)
        self._put(124, M124["OutWRte"], 10000)
        self._put(103, M103["W_SF"], 0)
        self._put(103, M103["WH_SF"], 0)
        self._refresh()

    # --- image --------------------------------------------------------------------------
    def _put(self, mid: int, offset: int, word: int) -> None:
        self.words[self.body[mid] + offset] = word & 0xFFFF

    def _get(self, mid: int, offset: int) -> int:
        return self.words[self.body[mid] + offset]

    @property
    def soc_pct(self) -> float:
        """True state of charge."""
        return 100 * self.energy_kwh / self.capacity_kwh

    @property
    def mode_bits(self) -> int:
        """``StorCtl_Mod`` as written."""
        return self._get(124, M124["StorCtl_Mod"])

    def _rate_pct(self, name: str) -> float:
        sf = _signed(self._get(124, M124["InOutWRte_SF"]))
        return _signed(self._get(124, M124[name])) * 10.0**sf

    def window(self) -> tuple[float, float]:
        """The allowed power range (W, + charge) the control registers set."""
        low, high = -self.max_discharge_w, self.max_charge_w
        if self.mode_bits & 1:
            high = self._rate_pct("InWRte") / 100 * self.max_charge_w
        if self.mode_bits & 2:
            low = -self._rate_pct("OutWRte") / 100 * self.max_charge_w
        return low, high

    def target_w(self) -> float:
        """Self-consumption target clipped to the window and the SoC ends."""
        low, high = self.window()
        target = -self.site_w()
        target = min(max(target, low), high) if low <= high else (low + high) / 2
        if self.energy_kwh >= self.capacity_kwh - 1e-9:
            target = min(target, 0.0)
        if self.energy_kwh <= 1e-9:
            target = max(target, 0.0)
        return min(max(target, -self.max_discharge_w), self.max_charge_w)

    def grid_w(self) -> float:
        """What the grid meter would read with the battery."""
        return self.site_w() + self.power_w

    # --- physics ------------------------------------------------------------------------
    def advance(self) -> None:
        """Physics and revert timer up to the clock."""
        now = self.clock()
        revert = self._get(124, M124["InOutWRte_RvrtTms"])
        if revert and self.mode_bits and now - self.last_rate_write > revert:
            self._step_to(self.last_rate_write + revert)
            self._put(124, M124["StorCtl_Mod"], 0)
            self._put(124, M124["InWRte"], 10000)
            self._put(124, M124["OutWRte"], 10000)
            self.reverts += 1
        self._step_to(now)
        self._refresh()

    def _step_to(self, end: float) -> None:
        while self.time < end - 1e-9:
            dt = min(1.0, end - self.time)
            self.time += dt
            target = self.target_w()
            step = self.ramp * dt
            self.power_w += max(-step, min(step, target - self.power_w))
            if self.power_w >= 0:
                self.energy_kwh += self.power_w * self.efficiency * dt / 3.6e6
            else:
                self.energy_kwh += self.power_w / self.efficiency * dt / 3.6e6
                self.ac_out_wh += -self.power_w * dt / 3600
            self.energy_kwh = min(max(self.energy_kwh, 0.0), self.capacity_kwh)

    def _refresh(self) -> None:
        self._put(103, M103["W"], _s16(round(-self.power_w)))  # SunSpec W: + = AC out
        wh = max(1, round(self.ac_out_wh))
        self._put(103, M103["WH"], wh >> 16)
        self._put(103, M103["WH"] + 1, wh & 0xFFFF)
        self._put(103, M103["St"], 4)
        self._put(124, M124["ChaState"], round(self.soc_pct * 10))
        state = 4 if self.power_w > 1 else 3 if self.power_w < -1 else 6
        self._put(124, M124["ChaSt"], state)

    # --- RegisterBackend ----------------------------------------------------------------
    def on_request(self) -> None:
        """Requests advance time."""
        self.advance()

    def read(self, table: str, address: int, count: int) -> list[int]:
        """Holding registers only."""
        if table != "holding":
            raise ModbusExceptionError(4, EXC_ILLEGAL_ADDRESS, address)
        out = []
        for a in range(address, address + count):
            if a not in self.words:
                raise ModbusExceptionError(3, EXC_ILLEGAL_ADDRESS, a)
            out.append(self.words[a])
        return out

    def write(self, address: int, words: list[int], function: int = 16) -> None:
        """Only the RW control points of model 124 (one register each)."""
        for name in WRITABLE_124:
            if self.body[124] + M124[name] == address and len(words) == 1:
                value = words[0]
                if name in ("InWRte", "OutWRte") and abs(_signed(value)) > 10000:
                    raise ModbusExceptionError(function, EXC_ILLEGAL_VALUE, address)
                if name == "StorCtl_Mod" and value > 3:
                    raise ModbusExceptionError(function, EXC_ILLEGAL_VALUE, address)
                self.advance()
                self.words[address] = value
                self.writes.append((name, value))
                self.last_rate_write = self.clock()
                self.advance()
                return
        raise ModbusExceptionError(function, EXC_ILLEGAL_ADDRESS, address)
