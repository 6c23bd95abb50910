"""A SunSpec home battery: model 124 "Storage" controls on the SunSpec discovery.

Points (SunSpec information model 124, ``sunspec/models`` ``json/model_124.json``): ``WChaMax``
(max charge W), ``StorCtl_Mod`` (bitfield: bit 0 CHARGE, bit 1 DiSCHARGE activate the rate
limits), ``ChaState`` (SoC %), ``ChaSt`` (1 off … 4 charging, 6 holding), ``OutWRte`` /
``InWRte`` (int16 % of the max discharge / charge rate), ``InOutWRte_RvrtTms`` (seconds after
which the rates revert: the device-side watchdog). The measured power is the storage
inverter's ``W`` (model 101–103/111–113, positive = AC out = discharging), so our
``power_w = -W``.

Control convention (vendor practice, not spelled out in the model text; Fronius documents it
for its storage control): with both bits set, the battery power is held in the window
``[-OutWRte, +InWRte]`` (in % of ``WChaMax``, + = charge); a negative ``OutWRte`` forces
charging, a negative ``InWRte`` forces discharging. A fixed setpoint ``p`` is the window
``[p, p]``: ``InWRte = p``, ``OutWRte = -p``. ``StorCtl_Mod = 0`` returns the battery to its own
self-consumption control, which follows the device's own grid meter.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from .errors import DeviceError, ProtocolError, ValueOutOfRangeError
from .model import BatteryLimits, BatteryMode, HomeBatteryState
from .sunspec import SunSpecInverter

_LOGGER = logging.getLogger(__name__)

CHARGE_BIT = 1
DISCHARGE_BIT = 2


class SunSpecBattery(SunSpecInverter):
    """A :class:`~hems_core.devices.model.Battery` over SunSpec models 1, 10x/11x, 120, 124."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_charge_w: float | None = None
        self.max_discharge_w: float | None = None
        self.storage_revert_s = 0
        #: True while our setpoint (remote mode) is in force on this connection
        self.in_control = False

    async def discover(self) -> Any:
        """Discovery plus the storage nameplate (``WChaMax``, model 120 rates)."""
        models = await super().discover()
        if 124 not in models:
            raise ProtocolError("no storage model 124")
        storage = await self._read_model(124)
        wcha = storage.get("WChaMax")
        if not isinstance(wcha, float) or wcha <= 0:
            raise ProtocolError("model 124 does not report WChaMax")
        self.max_charge_w = wcha
        self.max_discharge_w = wcha
        if 120 in models:
            plate = await self._read_model(120)
            for key, attr in (("MaxChaRte", "max_charge_w"), ("MaxDisChaRte", "max_discharge_w")):
                value = plate.get(key)
                if isinstance(value, float) and value > 0:
                    setattr(self, attr, min(value, wcha) if attr == "max_charge_w" else value)
        return models

    async def read_state(self) -> HomeBatteryState:  # type: ignore[override]
        """SoC, signed power (+ charging), mode and limits."""
        if not self.models:
            await self.discover()
        inv = await self._read_model(self._inverter_model())
        ac = inv.get("W")
        if not isinstance(ac, float):
            raise ProtocolError("storage inverter does not report W")
        storage = await self._read_model(124)
        self._freeze.check(
            tuple(sorted((k, v) for k, v in {**inv, **storage}.items() if v is not None)),
            abs(ac) > 1,
        )
        mod = storage.get("StorCtl_Mod")
        mode = (
            BatteryMode.UNKNOWN
            if not isinstance(mod, float)
            else BatteryMode.SELF_CONSUMPTION
            if mod == 0
            else BatteryMode.REMOTE
        )
        soc = storage.get("ChaState")
        status = storage.get("ChaSt")
        assert self.max_charge_w is not None
        assert self.max_discharge_w is not None
        return HomeBatteryState(
            soc_pct=soc if isinstance(soc, float) and 0 <= soc <= 100 else None,
            power_w=-ac,
            mode=mode,
            limits=BatteryLimits(self.max_charge_w, self.max_discharge_w),
            raw_status=int(status) if isinstance(status, float) else None,
        )

    async def _write_rates(self, charge_pct: float, discharge_pct: float, mod: int) -> None:
        assert self._device is not None
        sf = (await self._read_model(124)).get("InOutWRte_SF")
        scale = 10.0 ** (sf if isinstance(sf, float) else 0.0)
        await self._device.write("124.InWRte", round(charge_pct / scale))
        await self._device.write("124.OutWRte", round(discharge_pct / scale))
        if self.storage_revert_s:
            await self._device.write("124.InOutWRte_RvrtTms", self.storage_revert_s)
        await self._device.write("124.StorCtl_Mod", mod)

    async def set_power(self, watts: float) -> None:
        """Fixed signed setpoint: the window ``[p, p]`` (remote mode, meter not followed)."""
        if not self.models:
            await self.discover()
        assert self.max_charge_w is not None
        assert self.max_discharge_w is not None
        if not math.isfinite(watts) or not -self.max_discharge_w <= watts <= self.max_charge_w:
            raise ValueOutOfRangeError(
                f"battery setpoint {watts} W outside [-{self.max_discharge_w}, {self.max_charge_w}]"
            )
        pct = 100.0 * watts / self.max_charge_w
        await self._write_rates(pct, -pct, CHARGE_BIT | DISCHARGE_BIT)
        self.in_control = True

    async def follow_meter(self, enabled: bool) -> None:
        """True: hand the meter to the device (self-consumption); False: hold at 0 W."""
        if not self.models:
            await self.discover()
        if enabled:
            await self.release()
        else:
            await self.set_power(0.0)

    async def program_watchdog(self, timeout_s: float) -> bool:
        """Use ``InOutWRte_RvrtTms`` (written with every setpoint) as the device watchdog."""
        if not self.models:
            await self.discover()
        self.storage_revert_s = round(timeout_s)
        return True

    async def release(self) -> None:
        """Back to the device's own control: rates 100 %, ``StorCtl_Mod`` ← 0."""
        if not self.models:
            await self.discover()
        await self._write_rates(100.0, 100.0, 0)
        self.in_control = False

    async def close(self) -> None:
        """Hand back if we hold control on this connection (best effort), then disconnect."""
        if self.in_control and self.client.connected:
            try:
                await self.release()
            except DeviceError as err:
                _LOGGER.warning("SunSpec battery: hand-back on close failed: %s", err)
        await self.client.close()
