"""An OCPP charging station with a car behind it, for tests and ``hems sim ocpp``.

Written from the OCPP specification (1.6J edition 2, 2.0.1 and 2.1 part 2, use cases B01 boot,
E transactions, J meter values, K smart charging, Q V2X), not from our CSMS or driver: it
shares no code with :mod:`hems_core.devices.ocpp` and checks the CSMS's requests against the
official JSON schemas the ``ocpp`` package ships.

Smart-charging rules it applies (K08 "composite schedule"): the valid ``TxProfile`` of the
running transaction with the highest stack level wins, else the ``TxDefaultProfile``, else the
station's full power; a ``ChargingStationMaxProfile`` (1.6 ``ChargePointMaxProfile``) caps
the result. A profile is valid from ``startSchedule`` for ``duration`` seconds; in 2.1 one
with ``maxOfflineDuration`` and ``invalidAfterOfflineDuration`` stops counting once the
station has been offline that long (Q: "offline behaviour"). 2.1 periods carry
``operationMode``: ``CentralSetpoint`` follows the signed ``setpoint`` within ``limit`` and
``dischargeLimit`` (≤ 0), ``ChargingOnly`` charges up to ``limit``, ``Idle`` holds 0.

:class:`StationCore` is sans-IO (``now`` passed in, frames out); :class:`StationClient` binds
it to a websocket and injects the faults of :class:`StationFaults`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import decimal
import itertools
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

_LOGGER = logging.getLogger(__name__)

_SCHEMA_DIR = {"ocpp1.6": "1.6", "ocpp2.0.1": "2.0.1", "ocpp2.1": "2.1"}
VOLTAGE = 230.0


class StationCallError(Exception):
    """A request the station answers with a CallError."""

    def __init__(self, code: str, description: str) -> None:
        self.code = code
        self.description = description
        super().__init__(f"{code}: {description}")


def _ts(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def check_schema(version: str, action: str, payload: Any) -> None:
    """The spec's JSON schema for a request; StationCallError (spec codes) when it fails."""
    import ocpp.messages  # type: ignore[import-untyped]

    v = _SCHEMA_DIR[version]
    pf: Any = decimal.Decimal if v == "1.6" else float
    fmt = "FormationViolation" if v == "1.6" else "FormatViolation"
    try:
        validator = ocpp.messages.get_validator(2, action, v, parse_float=pf)
    except OSError as err:
        code = "NotSupported" if v == "1.6" else "NotImplemented"
        raise StationCallError(code, f"{action} not supported") from err
    data = json.loads(json.dumps(payload), parse_float=pf)
    for problem in validator.iter_errors(data):
        raise StationCallError(fmt, problem.message[:120])


@dataclass
class EvModel:
    """The car: battery, power abilities, and a fault where it ignores setpoints."""

    capacity_kwh: float = 60.0
    soc_pct: float = 60.0
    max_charge_w: float = 11000.0
    #: 0: a car that cannot discharge
    max_discharge_w: float = 11000.0
    min_soc_pct: float = 10.0
    plugged: bool = True
    #: fault: the car charges at what the limit allows, whatever the setpoint says
    ignores_setpoint: bool = False

    def accept(self, offered_w: float) -> float:
        """What the car takes of an offered signed power."""
        if offered_w > 0:
            return 0.0 if self.soc_pct >= 100.0 else min(offered_w, self.max_charge_w)
        if self.soc_pct <= self.min_soc_pct:
            return 0.0
        return max(offered_w, -self.max_discharge_w)

    def integrate(self, power_w: float, dt: float) -> None:
        """Move the SoC (losses are the station's, not modelled here)."""
        self.soc_pct += power_w * dt / 3600.0 / (self.capacity_kwh * 10.0)
        self.soc_pct = min(100.0, max(0.0, self.soc_pct))


@dataclass
class StationFaults:
    """Faults :class:`StationClient` injects."""

    link_down: bool = False
    slow_reply_s: float = 0.0
    malformed_replies: bool = False
    reject_profiles: bool = False


@dataclass
class _Profile:
    pid: int
    purpose: str  # 2.x names (1.6 ChargePointMaxProfile stored as ChargingStationMaxProfile)
    stack: int
    evse: int
    tx: str | None
    start: float
    duration: float | None
    unit: str
    periods: list[dict[str, Any]]
    valid_to: float | None = None
    max_offline: float | None = None
    invalid_after_offline: bool = False


@dataclass
class StationCore:
    """One charging station with one EVSE/connector, sans-IO."""

    identity: str
    version: str
    max_power_w: float = 11000.0
    phases: int = 3
    ev: EvModel = field(default_factory=EvModel)
    id_token: str = "HOME-CARD"
    meter_interval_s: float = 10.0
    #: 2.1: the transfer mode the car requests (AC_BPT, DC_BPT, …)
    energy_transfer: str = "AC_BPT"
    #: optional physical car (:class:`hems_core.sim.ev.EvBattery`: ramp, efficiency, plug
    #: schedule); it then replaces the simple model for power, SoC, energy and plug state
    battery: Any = None

    def __post_init__(self) -> None:
        if self.version not in _SCHEMA_DIR:
            raise ValueError(f"unknown OCPP version {self.version!r}")
        self.booted = False
        self.online = False
        self.offline_since: float | None = None
        self.status_sent: str | None = None  # the connector status the CSMS last heard
        self.tx: str | None = None
        self.tx_refused = False
        self.needs_sent = False
        self.seq = itertools.count()
        self.profiles: list[_Profile] = []
        self.power_w = 0.0
        self.energy_in_wh = 0.0
        self.energy_out_wh = 0.0
        self.heartbeat_s = 60.0
        self.next_heartbeat = math.inf
        self.next_meter = math.inf
        self.last_step: float | None = None
        self.log: list[tuple[float, str]] = []  # (time, what) for tests and the CLI

    # -- link --------------------------------------------------------------------------------

    def connected(self, now: float) -> None:
        """The websocket is open (a reconnect does not reboot: no new BootNotification)."""
        self.online = True
        self.offline_since = None
        self.status_sent = None

    def disconnected(self, now: float) -> None:
        """The websocket is gone; profiles with an offline life start counting."""
        if self.online:
            self.online = False
            self.offline_since = now

    # -- what to send ------------------------------------------------------------------------

    def next_call(self, now: float) -> tuple[str, dict[str, Any]] | None:
        """The next request the station makes now, if any (one outstanding at a time)."""
        if not self.online:
            return None
        v16 = self.version == "ocpp1.6"
        if not self.booted:
            if v16:
                return "BootNotification", {"chargePointVendor": "HEMS-Sim",
                                            "chargePointModel": "Spec-1.6"}  # fmt: skip
            return "BootNotification", {"reason": "PowerUp", "chargingStation": {
                "vendorName": "HEMS-Sim", "model": f"Spec-{self.version[4:]}"}}  # fmt: skip
        if self.status_sent != self.connector_status():
            return "StatusNotification", self._status_payload(now)
        if self.tx is not None and not self.ev.plugged:  # E06/E07: the car left
            if v16:
                return "StopTransaction", {"transactionId": int(self.tx), "timestamp": _ts(now),
                                           "meterStop": round(self.energy_in_wh),
                                           "reason": "EVDisconnected"}  # fmt: skip
            return "TransactionEvent", {
                "eventType": "Ended", "timestamp": _ts(now), "triggerReason": "EVDeparted",
                "seqNo": next(self.seq), "transactionInfo": {"transactionId": self.tx,
                                                             "stoppedReason": "EVDisconnected"},
            }  # fmt: skip
        if self.ev.plugged and self.tx is None and not self.tx_refused:
            if v16:
                return "StartTransaction", {"connectorId": 1, "idTag": self.id_token,
                                            "meterStart": round(self.energy_in_wh),
                                            "timestamp": _ts(now)}  # fmt: skip
            return "TransactionEvent", {
                "eventType": "Started", "timestamp": _ts(now), "triggerReason": "Authorized",
                "seqNo": next(self.seq), "transactionInfo": {"transactionId": f"tx-{now:.0f}"},
                "idToken": {"idToken": self.id_token, "type": "ISO14443"},
                "evse": {"id": 1, "connectorId": 1},
            }  # fmt: skip
        if self.tx is not None and self.version == "ocpp2.1" and not self.needs_sent:
            return "NotifyEVChargingNeeds", self._needs_payload(now)
        if self.tx is not None and now >= self.next_meter:
            self.next_meter = now + self.meter_interval_s
            return self._meter_call(now)
        if now >= self.next_heartbeat:
            self.next_heartbeat = now + self.heartbeat_s
            return "Heartbeat", {}
        return None

    def connector_status(self) -> str:
        """1.6: ChargePointStatus (energy flowing or not); 2.x: ConnectorStatusEnumType."""
        if self.version == "ocpp1.6":
            if self.tx is not None:
                return "Charging" if abs(self.power_w) > 0 else "SuspendedEVSE"
            return "Preparing" if self.ev.plugged else "Available"
        return "Occupied" if self.ev.plugged else "Available"

    def _status_payload(self, now: float) -> dict[str, Any]:
        status = self.connector_status()
        if self.version == "ocpp1.6":
            return {"connectorId": 1, "errorCode": "NoError", "status": status}
        return {"timestamp": _ts(now), "evseId": 1, "connectorId": 1, "connectorStatus": status}

    def _needs_payload(self, now: float) -> dict[str, Any]:
        v2x = {"maxChargePower": self.ev.max_charge_w, "minChargePower": 0.0,
               "maxDischargePower": self.ev.max_discharge_w, "minDischargePower": 0.0,
               "targetSoC": 80}  # fmt: skip
        transfer = self.energy_transfer if self.ev.max_discharge_w > 0 else "AC_three_phase"
        return {"evseId": 1, "timestamp": _ts(now), "chargingNeeds": {
            "requestedEnergyTransfer": transfer, "controlMode": "DynamicControl",
            "v2xChargingParameters": v2x}}  # fmt: skip

    def _meter_call(self, now: float) -> tuple[str, dict[str, Any]]:
        imp, exp = max(self.power_w, 0.0), max(-self.power_w, 0.0)
        if self.version == "ocpp1.6":

            def sv(value: float, measurand: str, unit: str) -> dict[str, Any]:
                return {"value": f"{value:.1f}", "measurand": measurand, "unit": unit,
                        "context": "Sample.Periodic"}  # fmt: skip

            values = [sv(imp, "Power.Active.Import", "W"),
                      sv(self.energy_in_wh, "Energy.Active.Import.Register", "Wh"),
                      sv(self.soc_pct, "SoC", "Percent")]  # fmt: skip
            return "MeterValues", {"connectorId": 1, "transactionId": int(self.tx or 0),
                                   "meterValue": [{"timestamp": _ts(now),
                                                   "sampledValue": values}]}  # fmt: skip
        sampled = [
            {"value": round(imp, 1), "measurand": "Power.Active.Import"},
            {"value": round(exp, 1), "measurand": "Power.Active.Export"},
            {"value": round(self.energy_in_wh, 1), "measurand": "Energy.Active.Import.Register"},
            {"value": round(self.energy_out_wh, 1), "measurand": "Energy.Active.Export.Register"},
            {"value": round(self.soc_pct, 1), "measurand": "SoC",
             "unitOfMeasure": {"unit": "Percent"}},
        ]  # fmt: skip
        return "TransactionEvent", {
            "eventType": "Updated", "timestamp": _ts(now), "triggerReason": "MeterValuePeriodic",
            "seqNo": next(self.seq), "transactionInfo": {"transactionId": self.tx},
            "meterValue": [{"timestamp": _ts(now), "sampledValue": sampled}],
        }  # fmt: skip

    def result(self, now: float, action: str, payload: dict[str, Any] | None) -> None:
        """The CSMS's answer to our request (None: a CallError or no answer)."""
        if payload is None:
            return
        if action == "BootNotification" and payload.get("status") == "Accepted":
            self.booted = True
            self.heartbeat_s = float(payload.get("interval") or 60)
            self.next_heartbeat = now + self.heartbeat_s
            self.log.append((now, "booted"))
        elif action == "StatusNotification":
            self.status_sent = self.connector_status()
        elif action == "StartTransaction":
            if payload["idTagInfo"]["status"] == "Accepted":
                self.tx = str(payload["transactionId"])
                self.next_meter = now
            else:
                self.tx_refused = True
        elif action == "StopTransaction" or (
            action == "TransactionEvent" and self.tx is not None and not self.ev.plugged
        ):
            self._end_transaction()
        elif action == "TransactionEvent" and self.tx is None:
            info = payload.get("idTokenInfo", {"status": "Accepted"})
            if info.get("status") == "Accepted":
                self.tx = f"tx-{now:.0f}"
                self.next_meter = now
            else:
                self.tx_refused = True
        elif action == "NotifyEVChargingNeeds":
            self.needs_sent = True

    def _end_transaction(self) -> None:
        """K01.FR.05: a TxProfile ends with its transaction."""
        self.tx, self.needs_sent = None, False
        self.profiles = [q for q in self.profiles if q.purpose != "TxProfile"]

    @property
    def soc_pct(self) -> float:
        """The car's SoC (the physical battery's when there is one)."""
        return float(self.battery.soc_pct) if self.battery is not None else self.ev.soc_pct

    # -- requests from the CSMS --------------------------------------------------------------

    def handle(self, now: float, action: str, payload: Any, reject: bool = False) -> dict[str, Any]:
        """Answer a CSMS request (StationCallError for the spec's CallErrors)."""
        check_schema(self.version, action, payload)
        if action == "SetChargingProfile":
            return {"status": "Rejected" if reject else self._set_profile(now, payload)}
        if action == "ClearChargingProfile":
            return {"status": self._clear(payload)}
        if action == "GetCompositeSchedule":
            return {"status": "Rejected"}
        raise StationCallError("NotSupported" if self.version == "ocpp1.6" else "NotImplemented",
                               f"{action} is not implemented by this simulator")  # fmt: skip

    def _set_profile(self, now: float, p: dict[str, Any]) -> str:
        if self.version == "ocpp1.6":
            evse, cp = p["connectorId"], p["csChargingProfiles"]
            pid, sched = cp["chargingProfileId"], cp["chargingSchedule"]
            purpose = cp["chargingProfilePurpose"].replace("ChargePoint", "ChargingStation")
            tx = None if cp.get("transactionId") is None else str(cp["transactionId"])
        else:
            evse, cp = p["evseId"], p["chargingProfile"]
            pid, sched = cp["id"], cp["chargingSchedule"][0]
            purpose, tx = cp["chargingProfilePurpose"], cp.get("transactionId")
        if purpose == "ChargingStationMaxProfile" and evse != 0:
            return "Rejected"  # K01.FR.03
        if purpose == "TxProfile" and (self.tx is None or (tx is not None and tx != self.tx)):
            return "Rejected"  # K01.FR.09: a TxProfile needs the running transaction
        if purpose not in ("ChargingStationMaxProfile", "TxDefaultProfile", "TxProfile"):
            return "Rejected"
        kind = cp["chargingProfileKind"]
        start = now
        if "startSchedule" in sched and kind == "Absolute":
            start = _parse_ts(sched["startSchedule"])
        prof = _Profile(
            pid=pid, purpose=purpose, stack=cp["stackLevel"], evse=evse, tx=tx, start=start,
            duration=sched.get("duration"), unit=sched["chargingRateUnit"],
            periods=sorted(sched["chargingSchedulePeriod"], key=lambda q: q["startPeriod"]),
            valid_to=_parse_ts(cp["validTo"]) if "validTo" in cp else None,
            max_offline=cp.get("maxOfflineDuration"),
            invalid_after_offline=bool(cp.get("invalidAfterOfflineDuration", False)),
        )  # fmt: skip
        self.profiles = [
            q for q in self.profiles
            if q.pid != pid and not (q.purpose == purpose and q.stack == prof.stack
                                     and q.evse == evse)
        ]  # fmt: skip
        self.profiles.append(prof)
        self.log.append((now, f"profile {purpose} {prof.periods[0]}"))
        return "Accepted"

    def _clear(self, p: dict[str, Any]) -> str:
        pid = p.get("id") if self.version == "ocpp1.6" else p.get("chargingProfileId")
        before = len(self.profiles)
        self.profiles = [q for q in self.profiles if pid is not None and q.pid != pid]
        return "Accepted" if len(self.profiles) < before else "Unknown"

    # -- physics -----------------------------------------------------------------------------

    def _valid(self, q: _Profile, now: float) -> bool:
        if now < q.start or (q.duration is not None and now >= q.start + q.duration):
            return False
        if q.valid_to is not None and now >= q.valid_to:
            return False
        if (
            self.version == "ocpp2.1" and q.max_offline is not None and q.invalid_after_offline
            and self.offline_since is not None and now - self.offline_since > q.max_offline
        ):  # fmt: skip
            return False
        return not (q.purpose == "TxProfile" and q.tx is not None and q.tx != self.tx)

    def _period(self, q: _Profile, now: float) -> dict[str, Any]:
        chosen = q.periods[0]
        for period in q.periods:
            if period["startPeriod"] <= now - q.start:
                chosen = period
        return chosen

    def _w(self, q: _Profile, period: dict[str, Any], key: str) -> float | None:
        value = period.get(key)
        if value is None:
            return None
        if q.unit == "A":
            return float(value) * VOLTAGE * float(period.get("numberPhases", self.phases))
        return float(value)

    def offered_w(self, now: float) -> float:
        """What the station offers the car now (signed), per the module docstring."""
        if self.tx is None:
            return 0.0
        valid = [q for q in self.profiles if self._valid(q, now)]

        def best(purpose: str) -> _Profile | None:
            c = [q for q in valid if q.purpose == purpose and q.evse in (0, 1)]
            return max(c, key=lambda q: (q.stack, q.evse), default=None)

        active = best("TxProfile") or best("TxDefaultProfile")
        upper, lower = self.max_power_w, 0.0
        mode, setpoint = "ChargingOnly", None
        if active is not None:
            period = self._period(active, now)
            limit = self._w(active, period, "limit")
            upper = min(upper, limit) if limit is not None else upper
            if self.version == "ocpp2.1":
                mode = period.get("operationMode", "ChargingOnly")
                dl = self._w(active, period, "dischargeLimit")
                lower = -self.max_power_w if dl is None else max(dl, -self.max_power_w)
                setpoint = self._w(active, period, "setpoint")
        cap = best("ChargingStationMaxProfile")
        if cap is not None:
            period = self._period(cap, now)
            limit = self._w(cap, period, "limit")
            upper = min(upper, limit) if limit is not None else upper
            dl = self._w(cap, period, "dischargeLimit") if self.version == "ocpp2.1" else None
            lower = max(lower, dl) if dl is not None else lower
        if mode == "Idle":
            return 0.0
        if mode == "CentralSetpoint" and setpoint is not None and not self.ev.ignores_setpoint:
            return min(max(setpoint, lower), upper)
        return max(upper, 0.0)  # ChargingOnly (and a car ignoring its setpoint)

    def step(self, now: float) -> None:
        """Advance the car and the energy registers to ``now``."""
        if self.battery is not None:
            self._step_battery(now)
            return
        if self.last_step is not None and now > self.last_step:
            dt = now - self.last_step
            self.ev.integrate(self.power_w, dt)
            if self.power_w > 0:
                self.energy_in_wh += self.power_w * dt / 3600.0
            else:
                self.energy_out_wh += -self.power_w * dt / 3600.0
        self.last_step = now
        bidir = self.version == "ocpp2.1" and self.ev.max_discharge_w > 0
        offered = self.offered_w(now) if self.ev.plugged else 0.0
        self.power_w = self.ev.accept(offered if bidir else max(offered, 0.0))

    def _step_battery(self, now: float) -> None:
        b = self.battery
        self.ev.plugged = bool(b.plugged_at(now))
        if not self.ev.plugged:
            self.tx_refused = False  # a new plug-in is a new authorisation
        bidir = self.version == "ocpp2.1" and b.params.max_discharge_w > 0
        offered = self.offered_w(now) if self.ev.plugged else 0.0
        b.advance(now, offered if bidir else max(offered, 0.0))
        self.power_w = float(b.power_w)
        self.energy_in_wh = 1000.0 * b.energy_in_kwh
        self.energy_out_wh = 1000.0 * b.energy_out_kwh
        self.last_step = now


class StationClient:
    """A :class:`StationCore` on a websocket (``ws://…/<identity>``, Basic auth)."""

    def __init__(
        self,
        core: StationCore,
        url: str,
        password: str | None,
        *,
        clock: Callable[[], float],
        faults: StationFaults | None = None,
        reply_timeout_s: float = 5.0,
        ssl_context: Any = None,
    ) -> None:
        self.core = core
        #: an ``ssl.SSLContext`` trusting the CSMS certificate (``wss://``, security profile 2)
        self.ssl_context = ssl_context
        self.url = url
        self.password = password
        self.clock = clock
        self.faults = faults or StationFaults()
        self.reply_timeout_s = reply_timeout_s
        self.ws: Any = None
        self.refused_status: int | None = None
        self.errors_received: list[tuple[str, str]] = []
        self.unmatched: asyncio.Queue[list[Any]] = asyncio.Queue()
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        """True while the websocket is open."""
        return self.ws is not None

    async def connect(self) -> bool:
        """Open the websocket; False (``refused_status`` set) when the CSMS refuses us."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidStatus

        headers = {}
        if self.password is not None:
            raw = f"{self.core.identity}:{self.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        extra: dict[str, Any] = {} if self.ssl_context is None else {"ssl": self.ssl_context}
        try:
            self.ws = await connect(self.url, subprotocols=[self.core.version],  # type: ignore[list-item]
                                    additional_headers=headers, ping_interval=None,
                                    open_timeout=5, **extra)  # fmt: skip
        except InvalidStatus as err:
            self.refused_status = err.response.status_code
            return False
        if self.ws.subprotocol != self.core.version:
            await self.ws.close()
            self.ws = None
            return False
        self.core.connected(self.clock())
        self._reader = asyncio.get_running_loop().create_task(self._read(self.ws))
        return True

    async def drop(self) -> None:
        """Close the link (the fault "link dropped" and the end of a run)."""
        ws, self.ws = self.ws, None
        if ws is not None:
            self.core.disconnected(self.clock())
            with contextlib.suppress(Exception):
                await ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader
            self._reader = None
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(ConnectionError("link dropped"))
        self._pending.clear()

    async def close(self) -> None:
        """Drop the link and stop pending replies."""
        await self.drop()
        for task in list(self._tasks):
            task.cancel()

    async def tick(self) -> None:
        """Physics to now, link faults, then every request that is due (each awaited)."""
        now = self.clock()
        self.core.step(now)
        if self.faults.link_down and self.connected:
            await self.drop()
        elif not self.faults.link_down and not self.connected:
            await self.connect()
        while self.connected:
            call = self.core.next_call(self.clock())
            if call is None:
                break
            action, payload = call
            answer = await self._call(action, payload)
            self.core.result(self.clock(), action, answer)
            if answer is None:
                break

    async def _call(self, action: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        uid = f"cs-{next(self._ids)}"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[uid] = fut
        try:
            await self.ws.send(json.dumps([2, uid, action, payload]))
            reply = await asyncio.wait_for(fut, self.reply_timeout_s)
        except (TimeoutError, ConnectionError, OSError):
            return None
        except Exception as err:  # websockets' ConnectionClosed: the link is gone
            _LOGGER.debug("station %s: %s", self.core.identity, err)
            await self.drop()
            return None
        finally:
            self._pending.pop(uid, None)
        if reply[0] == 4:
            self.errors_received.append((action, str(reply[2])))
            return None
        return reply[2] if isinstance(reply[2], dict) else None

    async def send_raw(self, text: str) -> list[Any]:
        """Send any frame (malformed ones too) and return the next frame no call waits for."""
        await self.ws.send(text)
        return await asyncio.wait_for(self.unmatched.get(), self.reply_timeout_s)

    async def _read(self, ws: Any) -> None:
        try:
            async for text in ws:
                try:
                    msg = json.loads(text)
                except ValueError:
                    continue
                if not isinstance(msg, list) or len(msg) < 3:
                    continue
                if msg[0] in (3, 4):
                    fut = self._pending.get(msg[1])
                    if fut is not None and not fut.done():
                        fut.set_result(msg)
                    else:
                        self.unmatched.put_nowait(msg)
                elif msg[0] == 2 and len(msg) == 4:
                    task = asyncio.get_running_loop().create_task(self._answer(ws, msg))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        except Exception as err:  # closed by the CSMS or by a drop
            _LOGGER.debug("station %s reader ended: %s", self.core.identity, err)
        if self.ws is ws:
            self.ws = None
            self.core.disconnected(self.clock())

    async def _answer(self, ws: Any, msg: list[Any]) -> None:
        uid, action, payload = msg[1], msg[2], msg[3]
        try:
            result = self.core.handle(self.clock(), action, payload, self.faults.reject_profiles)
            text = json.dumps([3, uid, result])
        except StationCallError as err:
            text = json.dumps([4, uid, err.code, err.description, {}])
        if self.faults.slow_reply_s > 0:
            await asyncio.sleep(self.faults.slow_reply_s)  # the fault itself, not a wait
        if self.faults.malformed_replies:
            text = '[3, "' + uid + '", {"status": '  # cut short: not JSON
        with contextlib.suppress(Exception):
            await ws.send(text)
