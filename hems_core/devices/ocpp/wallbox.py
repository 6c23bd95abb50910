"""An OCPP charging station behind the :class:`~hems_core.devices.model.Wallbox` interface.

Power goes out as charging profiles (W):

- **1.6J / 2.0.1, charge only**: a ``TxProfile`` with ``limit`` = the setpoint (≥ 0);
  a negative setpoint is refused before anything is sent.
- **2.1 V2X**: a ``TxProfile`` whose period has ``operationMode: CentralSetpoint`` and the signed
  ``setpoint`` (negative discharges) inside ``limit`` / ``dischargeLimit`` (≤ 0). The EV's V2X
  parameters from ``NotifyEVChargingNeeds`` narrow the limits :meth:`read_state` reports.

**Lost link = safe limit, never full power, never discharge.** On every (re)connect the driver
programs the station's own fallback before anything else: a ``ChargingStationMaxProfile``
(1.6: ``ChargePointMaxProfile``) at the box's maximum and a ``TxDefaultProfile`` at
``safe_limit_w`` (2.1: ``operationMode: ChargingOnly``, ``dischargeLimit`` 0). Our ``TxProfile``
carries a short life: ``duration`` = ``offline_timeout_s`` in every version (refreshed by
:meth:`read_state` while the link is up), and in 2.1 also ``maxOfflineDuration`` with
``invalidAfterOfflineDuration``. When the CSMS disappears, the station drops back to the
stored default within that timeout — the failure behind ``lbbrhzn/ocpp`` #492 cannot happen.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

from ..clock import Clock
from ..errors import (
    DeviceConnectionError,
    DeviceError,
    StaleDataError,
    ValueOutOfRangeError,
    WriteRefusedError,
)
from ..model import WallboxLimits, WallboxState, WallboxStatus
from ._schema import iso
from .csms import OcppCsms

_LOGGER = logging.getLogger(__name__)

MAX_PROFILE_ID, DEFAULT_PROFILE_ID, TX_PROFILE_ID = 1, 2, 3

_STATUS_16 = {
    "Available": WallboxStatus.DISCONNECTED, "Preparing": WallboxStatus.WAITING,
    "Charging": WallboxStatus.CHARGING, "SuspendedEV": WallboxStatus.PAUSED,
    "SuspendedEVSE": WallboxStatus.PAUSED, "Finishing": WallboxStatus.WAITING,
    "Reserved": WallboxStatus.DISCONNECTED, "Unavailable": WallboxStatus.ERROR,
    "Faulted": WallboxStatus.ERROR,
}  # fmt: skip
_STATUS_2X = {
    "Available": WallboxStatus.DISCONNECTED, "Occupied": WallboxStatus.WAITING,
    "Reserved": WallboxStatus.DISCONNECTED, "Unavailable": WallboxStatus.ERROR,
    "Faulted": WallboxStatus.ERROR,
}  # fmt: skip


@dataclass(frozen=True)
class OcppWallboxConfig:
    """One station (identity) on the CSMS, and its safety figures."""

    identity: str
    limits: WallboxLimits = field(
        default_factory=lambda: WallboxLimits(max_charge_w=11000.0, max_discharge_w=0.0)
    )
    #: what the station may draw on its own when our link is gone (W, ≥ 0; never discharge)
    safe_limit_w: float = 0.0
    #: life of our TxProfile: the station reverts to the safe default this long after losing us
    offline_timeout_s: int = 60
    evse_id: int = 1
    stale_after_s: float = 120.0
    call_timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.safe_limit_w <= self.limits.max_charge_w:
            raise ValueError("safe_limit_w must be within 0..max_charge_w")
        if self.offline_timeout_s < 1:
            raise ValueError("offline_timeout_s must be at least 1 s")


class OcppWallbox:
    """A :class:`~hems_core.devices.model.Wallbox` on a station connected to our CSMS."""

    def __init__(
        self, csms: OcppCsms, config: OcppWallboxConfig, *, clock: Clock = time.time
    ) -> None:
        self.csms = csms
        self.config = config
        self._clock = clock
        self._target_w: float | None = None  # the last commanded setpoint (None: none)
        self._sent_at = -math.inf
        self._sent_tx: str | None = None
        self.safe_profile_programmed = False
        self.in_control = False
        #: life of our TxProfile (s); :meth:`program_watchdog` changes it
        self.offline_timeout_s = config.offline_timeout_s
        self._acquired = False
        self.errors: list[str] = []
        csms.add_listener(config.identity, self._on_event)

    @property
    def version(self) -> str | None:
        """The OCPP version the station speaks (None before it connected)."""
        st = self.csms.state(self.config.identity)
        return None if st is None else st.version

    @property
    def v2x(self) -> bool:
        """True when setpoints may be negative (OCPP 2.1 and a discharging box)."""
        return self.version == "ocpp2.1" and self.config.limits.max_discharge_w > 0

    # -- events from the CSMS ----------------------------------------------------------------

    async def _on_event(self, event: str) -> None:
        if event == "disconnected":
            self.safe_profile_programmed = False
            self._sent_tx = None
            return
        try:
            if event == "ready":
                await self.program_safe_default()
            if self._target_w is not None and self._tx_id() is not None:
                await self._send_tx(self._target_w)  # new transaction / new EV needs
        except DeviceError as err:
            self.errors.append(f"{event}: {err}")
            _LOGGER.warning("%s: %s after %s", self.config.identity, err, event)

    # -- profiles ----------------------------------------------------------------------------

    def _profile(
        self, pid: int, purpose: str, stack: int, period: dict[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """One profile, shaped per version (1.6 ``csChargingProfiles``, 2.x ``chargingProfile``)."""
        version = self.version
        now = self._clock()
        sched: dict[str, Any] = {"chargingRateUnit": "W", "chargingSchedulePeriod": [period],
                                 "startSchedule": iso(now)}  # fmt: skip
        if "duration" in extra:
            sched["duration"] = extra.pop("duration")
        if version == "ocpp1.6":
            prof: dict[str, Any] = {
                "chargingProfileId": pid, "stackLevel": stack,
                "chargingProfilePurpose": purpose.replace("ChargingStation", "ChargePoint"),
                "chargingProfileKind": "Absolute", "chargingSchedule": sched,
            }  # fmt: skip
            if "transactionId" in extra:
                prof["transactionId"] = int(extra.pop("transactionId"))
            return prof
        sched["id"] = pid
        prof = {"id": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
                "chargingProfileKind": "Absolute", "chargingSchedule": [sched]}  # fmt: skip
        prof.update(extra)
        return prof

    async def _set_profile(self, evse: int, profile: dict[str, Any]) -> None:
        if self.version == "ocpp1.6":
            payload = {"connectorId": evse, "csChargingProfiles": profile}
        else:
            payload = {"evseId": evse, "chargingProfile": profile}
        reply = await self.csms.call(
            self.config.identity, "SetChargingProfile", payload, self.config.call_timeout_s
        )
        if reply.get("status") != "Accepted":
            raise WriteRefusedError(
                f"{self.config.identity}: SetChargingProfile {reply.get('status')}"
            )

    async def program_safe_default(self) -> None:
        """Station max at the box limit, TxDefault at the safe limit (charge only)."""
        lim, safe = self.config.limits, self.config.safe_limit_w
        maxp: dict[str, Any] = {"startPeriod": 0, "limit": lim.max_charge_w}
        default: dict[str, Any] = {"startPeriod": 0, "limit": safe}
        if self.version == "ocpp2.1":
            maxp["dischargeLimit"] = -lim.max_discharge_w
            default.update(dischargeLimit=0.0, operationMode="ChargingOnly")
        await self._set_profile(0, self._profile(MAX_PROFILE_ID, "ChargingStationMaxProfile", 0,
                                                 maxp))  # fmt: skip
        await self._set_profile(0, self._profile(DEFAULT_PROFILE_ID, "TxDefaultProfile", 0,
                                                 default))  # fmt: skip
        self.safe_profile_programmed = True

    def _tx_id(self) -> str | None:
        st = self.csms.state(self.config.identity)
        return None if st is None else st.transaction_id

    async def _send_tx(self, watts: float) -> None:
        tx = self._tx_id()
        if tx is None:
            return  # no session: the setpoint waits for the next transaction
        lim = self._limits()
        period: dict[str, Any] = {"startPeriod": 0}
        extra: dict[str, Any] = {"transactionId": tx, "duration": self.offline_timeout_s}
        if self.version == "ocpp2.1":
            period.update(operationMode="CentralSetpoint", setpoint=watts,
                          limit=lim.max_charge_w, dischargeLimit=-lim.max_discharge_w)  # fmt: skip
            extra.update(maxOfflineDuration=self.offline_timeout_s,
                         invalidAfterOfflineDuration=True)  # fmt: skip
        else:
            period["limit"] = watts
        profile = self._profile(TX_PROFILE_ID, "TxProfile", 1, period, **extra)
        await self._set_profile(self.config.evse_id, profile)
        self._sent_at = self._clock()
        self._sent_tx = tx

    # -- Wallbox -----------------------------------------------------------------------------

    def _limits(self) -> WallboxLimits:
        """Configured limits, narrowed by the EV's V2X parameters; discharge 0 unless V2X."""
        lim = self.config.limits
        charge, discharge = lim.max_charge_w, lim.max_discharge_w if self.v2x else 0.0
        st = self.csms.state(self.config.identity)
        ev = None if st is None else st.ev
        if ev is not None:
            if ev.max_charge_w is not None:
                charge = min(charge, max(ev.max_charge_w, 0.0))
            if not ev.bidirectional:
                discharge = 0.0
            elif ev.max_discharge_w is not None:
                discharge = min(discharge, abs(ev.max_discharge_w))
        return WallboxLimits(charge, discharge, lim.min_active_w)

    async def read_state(self) -> WallboxState:
        """The latest meter values; refreshes our TxProfile before it lapses."""
        ident = self.config.identity
        st = self.csms.state(ident)
        if st is None or not self.csms.connected(ident):
            raise DeviceConnectionError(f"OCPP station {ident!r} is not connected")
        now = self._clock()
        if (
            self._target_w is not None
            and st.transaction_id is not None
            and (st.transaction_id != self._sent_tx
                 or now - self._sent_at > self.offline_timeout_s / 2)
        ):  # fmt: skip
            await self._send_tx(self._target_w)
        if st.transaction_id is not None and now - st.last_meter > self.config.stale_after_s:
            raise StaleDataError(f"{ident}: no meter values for {now - st.last_meter:.0f} s")
        power = (st.power_w or 0.0) if st.transaction_id is not None else 0.0
        table = _STATUS_16 if st.version == "ocpp1.6" else _STATUS_2X
        status = table.get(st.connector_status, WallboxStatus.UNKNOWN)
        if st.transaction_id is not None and status is not WallboxStatus.ERROR:
            status = (
                WallboxStatus.CHARGING if power > 1.0
                else WallboxStatus.DISCHARGING if power < -1.0
                else WallboxStatus.PAUSED if status is WallboxStatus.PAUSED
                else WallboxStatus.WAITING
            )  # fmt: skip
        return WallboxState(
            status=status,
            plugged=st.plugged,
            power_w=power,
            energy_in_kwh=None if st.energy_in_wh is None else st.energy_in_wh / 1000.0,
            energy_out_kwh=None if st.energy_out_wh is None else st.energy_out_wh / 1000.0,
            soc_pct=st.soc_pct,
            limits=self._limits(),
            raw_status=st.connector_status,
        )

    def check_setpoint(self, watts: float) -> float:
        """Range-check a signed setpoint (discharge only on a 2.1 V2X station)."""
        lim = self._limits()
        if not math.isfinite(watts) or not -lim.max_discharge_w <= watts <= lim.max_charge_w:
            kind = "" if self.v2x else " (charge only: OCPP < 2.1 or no V2X)"
            raise ValueOutOfRangeError(
                f"{self.config.identity}: {watts} W outside "
                f"[-{lim.max_discharge_w}, {lim.max_charge_w}]{kind}"
            )
        if watts != 0 and abs(watts) < lim.min_active_w:
            raise ValueOutOfRangeError(f"|{watts}| W below the minimum of {lim.min_active_w} W")
        return float(watts)

    async def set_power(self, watts: float) -> None:
        """Signed setpoint as a TxProfile (applied when a transaction runs)."""
        watts = self.check_setpoint(watts)
        if not self.csms.connected(self.config.identity):
            raise DeviceConnectionError(f"OCPP station {self.config.identity!r} is not connected")
        if not self.safe_profile_programmed:
            await self.program_safe_default()
        self._target_w = watts
        self.in_control = True
        await self._send_tx(watts)

    async def start(self) -> None:
        """Nothing to do: a running transaction follows the TxProfile."""

    async def stop(self) -> None:
        """Setpoint 0 (the transaction stays open, the car pauses)."""
        await self.set_power(0.0)

    async def program_watchdog(self, timeout_s: float) -> bool:
        """The station's offline fallback is our watchdog: TxProfile life = ``timeout_s``."""
        t = max(1, round(timeout_s))
        if t != self.offline_timeout_s:
            self.offline_timeout_s = t
            if self._target_w is not None and self.csms.connected(self.config.identity):
                await self._send_tx(self._target_w)
        return True

    async def release(self) -> None:
        """Hand back: clear our TxProfile; the station stays on the safe default profile."""
        self._target_w = None
        self.in_control = False
        if not self.csms.connected(self.config.identity):
            return
        if self.version == "ocpp1.6":
            payload: dict[str, Any] = {"id": TX_PROFILE_ID}
        else:
            payload = {"chargingProfileId": TX_PROFILE_ID}
        await self.csms.call(self.config.identity, "ClearChargingProfile", payload,
                             self.config.call_timeout_s)  # fmt: skip

    async def connect(self) -> None:
        """Start (or share) the CSMS; the station connects to us, reachable at :meth:`url`."""
        if not self._acquired:
            await self.csms.acquire()
            self._acquired = True

    def url(self, host: str | None = None) -> str:
        """The URL to enter in the charger's OCPP settings (``host``: this machine's address)."""
        return self.csms.url(self.config.identity, host)

    async def close(self) -> None:
        """Hand back (best effort); the last driver started by :meth:`connect` stops the CSMS."""
        if self.in_control:
            try:
                await self.release()
            except DeviceError as err:
                _LOGGER.warning("%s: hand-back on close failed: %s", self.config.identity, err)
        if self._acquired:
            self._acquired = False
            await self.csms.release_user()
