"""The CSMS side of one charging station, sans-IO: fed frames, returns frames.

:class:`CsmsSession` holds what we know about a station (boot, connector status, transaction,
meter values, the EV's V2X parameters) and decides every answer. It never touches a socket or
a clock: :meth:`CsmsSession.receive` takes ``(now, text)`` and returns the replies to send and
the answer to one of our own calls, :meth:`CsmsSession.call` frames (and schema-checks) a call
we want to send. The websocket binding is :mod:`hems_core.devices.ocpp.csms`.

Rules it applies (OCPP 1.6J / 2.0.1 / 2.1 part 4, "RPC framework", and use cases B01, E, F):
- a frame that is not JSON, not a list, or has a bad message type gets a CallError (2.x:
  ``RpcFrameworkError`` with id ``"-1"`` when the id cannot be read), never an exception;
- a payload that fails the official schema gets the schema's error code;
- before a BootNotification was accepted every other request gets ``SecurityError``;
- tokens are checked against the home's cards; ``id_tokens=None`` is free vending.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from ._schema import (
    CALL,
    CALLERROR,
    CALLRESULT,
    SUBPROTOCOLS,
    OcppError,
    error_code,
    frame_call,
    frame_error,
    frame_result,
    iso,
    validate,
)

#: 1.6 connector states with a car at the plug
_PLUGGED_16 = {"Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"}


@dataclass
class EvChargingNeeds:
    """What NotifyEVChargingNeeds told us (W; discharge powers positive)."""

    energy_transfer: str
    control_mode: str | None = None
    max_charge_w: float | None = None
    max_discharge_w: float | None = None
    min_charge_w: float | None = None
    min_discharge_w: float | None = None
    target_soc: float | None = None
    departure: str | None = None

    @property
    def bidirectional(self) -> bool:
        """True when the EV asked for a bidirectional (BPT) energy transfer."""
        return "BPT" in self.energy_transfer


@dataclass
class StationState:
    """The CSMS's view of one station (updated only by :class:`CsmsSession`)."""

    identity: str
    version: str
    booted: bool = False
    vendor: str | None = None
    model: str | None = None
    connector_status: str = "Unknown"
    transaction_id: str | None = None
    id_token: str | None = None
    authorized: bool = False
    power_w: float | None = None
    energy_in_wh: float | None = None
    energy_out_wh: float | None = None
    soc_pct: float | None = None
    last_meter: float = -math.inf
    last_seen: float = -math.inf
    ev: EvChargingNeeds | None = None
    errors_sent: int = 0

    @property
    def plugged(self) -> bool:
        """A car is at the plug (connector status, or a running transaction)."""
        if self.version == "ocpp1.6":
            return self.connector_status in _PLUGGED_16 or self.transaction_id is not None
        return self.connector_status == "Occupied" or self.transaction_id is not None


@dataclass
class Received:
    """What one incoming frame produced."""

    replies: list[str] = field(default_factory=list)
    #: the answer to one of our calls: (unique id, payload) or (unique id, OcppError)
    answer: tuple[str, dict[str, Any] | OcppError] | None = None
    #: the action of a request the station made ("BootNotification", …)
    action: str | None = None
    #: True on the first accepted boot of this session (the driver programs the station then)
    booted_now: bool = False


class CsmsSession:
    """One station's protocol state (see the module docstring)."""

    def __init__(
        self,
        identity: str,
        version: str,
        *,
        id_tokens: Collection[str] | None = None,
        heartbeat_s: int = 60,
        on_event: Callable[[str], None] | None = None,
    ) -> None:
        if version not in SUBPROTOCOLS:
            raise ValueError(f"unsupported OCPP version {version!r}")
        self.state = StationState(identity, version)
        self.version = version
        self.id_tokens = None if id_tokens is None else frozenset(id_tokens)
        self.heartbeat_s = heartbeat_s
        self._ids = itertools.count(1)
        self._pending: dict[str, str] = {}  # our call id -> action
        self._tx_counter = itertools.count(1)
        self._on_event = on_event

    # -- our calls ---------------------------------------------------------------------------

    def call(self, action: str, payload: dict[str, Any]) -> tuple[str, str]:
        """(unique id, frame) of a schema-checked call to the station."""
        validate(self.version, action, payload)
        uid = f"csms-{next(self._ids)}"
        self._pending[uid] = action
        return uid, frame_call(uid, action, payload)

    def forget(self, uid: str) -> None:
        """Drop a call that timed out (a late answer is then ignored)."""
        self._pending.pop(uid, None)

    # -- incoming ----------------------------------------------------------------------------

    def receive(self, now: float, text: str | bytes) -> Received:
        """Handle one frame from the station."""
        self.state.last_seen = now
        out = Received()
        try:
            msg = json.loads(text)
        except (ValueError, RecursionError):
            return self._error(out, "-1", "FormatViolation", "frame is not JSON")
        if not isinstance(msg, list) or len(msg) < 3 or not isinstance(msg[1], str):
            return self._error(out, "-1", "RpcFrameworkError", "frame is not [type, id, …]")
        kind, uid = msg[0], msg[1]
        if kind == CALL and len(msg) == 4 and isinstance(msg[2], str):
            out.action = msg[2]
            try:
                validate(self.version, msg[2], msg[3])
                payload = self._handle(now, msg[2], msg[3], out)
            except OcppError as err:
                return self._error(out, uid, err.code, err.description)
            out.replies.append(frame_result(uid, payload))
            if self._on_event is not None:
                self._on_event(msg[2])
            return out
        if kind == CALLRESULT and len(msg) == 3:
            action = self._pending.pop(uid, None)
            if action is None:
                return out  # late or unknown: the spec says ignore
            try:
                validate(self.version, action, msg[2], response=True)
                out.answer = (uid, msg[2])
            except OcppError as err:
                out.answer = (uid, err)
            return out
        if kind == CALLERROR and len(msg) >= 4:
            if self._pending.pop(uid, None) is not None:
                out.answer = (uid, OcppError(str(msg[2]), str(msg[3])[:200]))
            return out
        if kind in (CALL, CALLRESULT, CALLERROR):
            return self._error(out, uid, "FormatViolation", "wrong number of elements")
        return self._error(out, uid, "MessageTypeNotSupported", f"message type {kind!r}")

    def _error(self, out: Received, uid: str, code: str, description: str) -> Received:
        self.state.errors_sent += 1
        out.replies.append(frame_error(uid, error_code(self.version, code), description))
        return out

    def _handle(self, now: float, action: str, p: dict[str, Any], out: Received) -> dict[str, Any]:
        s = self.state
        if action == "BootNotification":
            first = not s.booted
            s.booted = True
            out.booted_now = first
            if self.version == "ocpp1.6":
                s.vendor, s.model = p.get("chargePointVendor"), p.get("chargePointModel")
                return {"status": "Accepted", "currentTime": iso(now),
                        "interval": self.heartbeat_s}  # fmt: skip
            cs = p.get("chargingStation", {})
            s.vendor, s.model = cs.get("vendorName"), cs.get("model")
            return {"status": "Accepted", "currentTime": iso(now), "interval": self.heartbeat_s}
        if not s.booted:
            raise OcppError("SecurityError", "BootNotification first")
        if action == "Heartbeat":
            return {"currentTime": iso(now)}
        if action == "StatusNotification":
            s.connector_status = str(p.get("status") or p.get("connectorStatus"))
            return {}
        if action == "Authorize":
            if self.version == "ocpp1.6":
                return {"idTagInfo": {"status": self._auth(p["idTag"])}}
            return {"idTokenInfo": {"status": self._auth_token(p["idToken"])}}
        if action == "StartTransaction":  # 1.6
            status = self._auth(p["idTag"])
            tx = next(self._tx_counter)
            if status == "Accepted":
                s.transaction_id, s.id_token, s.authorized = str(tx), p["idTag"], True
                s.energy_in_wh = float(p["meterStart"])
            return {"idTagInfo": {"status": status}, "transactionId": tx}
        if action == "StopTransaction":  # 1.6
            s.transaction_id, s.authorized = None, False
            s.energy_in_wh = float(p["meterStop"])
            s.power_w = 0.0
            return {}
        if action == "TransactionEvent":  # 2.x
            return self._transaction_event(now, p)
        if action == "MeterValues":
            for mv in p.get("meterValue", []):
                self._meter(now, mv)
            return {}
        if action == "NotifyEVChargingNeeds":
            self._ev_needs(p["chargingNeeds"])
            return {"status": "Accepted"}
        if action in (
            "SecurityEventNotification",
            "FirmwareStatusNotification",
            "NotifyEvent",
            "DiagnosticsStatusNotification",
            "LogStatusNotification",
            "NotifyReport",
        ):
            return {}  # fmt: skip
        if action == "DataTransfer":
            return {"status": "UnknownVendorId"}
        raise OcppError("NotImplemented", f"{action} is not handled by this CSMS")

    def _auth(self, token: str) -> str:
        if self.id_tokens is None or token in self.id_tokens:
            return "Accepted"
        return "Invalid"

    def _auth_token(self, tok: dict[str, Any]) -> str:
        if self.id_tokens is None:
            return "Accepted"  # free vending, NoAuthorization included
        return "Accepted" if tok.get("idToken") in self.id_tokens else "Invalid"

    def _transaction_event(self, now: float, p: dict[str, Any]) -> dict[str, Any]:
        s = self.state
        reply: dict[str, Any] = {}
        if "idToken" in p:
            status = self._auth_token(p["idToken"])
            reply["idTokenInfo"] = {"status": status}
            s.authorized = status == "Accepted"
            s.id_token = p["idToken"].get("idToken")
        tx = p["transactionInfo"]["transactionId"]
        if p["eventType"] == "Ended":
            s.transaction_id, s.authorized = None, False
            s.power_w = 0.0
        elif "idToken" in p and not s.authorized:
            s.transaction_id = None  # refused card: the station must not deliver energy
        else:
            s.transaction_id = tx
            if p["eventType"] == "Started" and "idToken" not in p and self.id_tokens is None:
                s.authorized = True
        for mv in p.get("meterValue", []):
            self._meter(now, mv)
        return reply

    def _meter(self, now: float, mv: dict[str, Any]) -> None:
        """Totals (no phase) of power, energy registers and SoC, in W / Wh / %."""
        s = self.state
        imp = exp = None
        for sv in mv.get("sampledValue", []):
            if sv.get("phase") is not None:
                continue
            measurand = sv.get("measurand", "Energy.Active.Import.Register")
            try:
                value = float(sv["value"])
            except (TypeError, ValueError):
                continue  # 1.6 carries strings; a bad one is skipped, not fatal
            if not math.isfinite(value):
                continue
            value *= _scale(self.version, sv)
            if measurand == "Power.Active.Import":
                imp = value
            elif measurand == "Power.Active.Export":
                exp = value
            elif measurand == "Energy.Active.Import.Register":
                s.energy_in_wh = value
            elif measurand == "Energy.Active.Export.Register":
                s.energy_out_wh = value
            elif measurand == "SoC" and 0.0 <= value <= 100.0:
                s.soc_pct = value
        if imp is not None or exp is not None:
            s.power_w = (imp or 0.0) - (exp or 0.0)
            s.last_meter = now

    def _ev_needs(self, needs: dict[str, Any]) -> None:
        v2x = needs.get("v2xChargingParameters") or {}
        dc = needs.get("dcChargingParameters") or {}
        ev = EvChargingNeeds(
            energy_transfer=str(needs["requestedEnergyTransfer"]),
            control_mode=needs.get("controlMode"),
            max_charge_w=v2x.get("maxChargePower", dc.get("evMaxPower")),
            max_discharge_w=v2x.get("maxDischargePower"),
            min_charge_w=v2x.get("minChargePower"),
            min_discharge_w=v2x.get("minDischargePower"),
            target_soc=v2x.get("targetSoC"),
            departure=needs.get("departureTime"),
        )
        self.state.ev = ev


_UNIT_SCALE = {"W": 1.0, "Wh": 1.0, "kW": 1000.0, "kWh": 1000.0, "Percent": 1.0}


def _scale(version: str, sv: dict[str, Any]) -> float:
    """The factor that turns a sampled value into W / Wh (1.6 ``unit``, 2.x ``unitOfMeasure``)."""
    if version == "ocpp1.6":
        return _UNIT_SCALE.get(str(sv.get("unit", "Wh")), 1.0)
    uom = sv.get("unitOfMeasure") or {}
    mult = uom.get("multiplier", 0)
    return _UNIT_SCALE.get(str(uom.get("unit", "Wh")), 1.0) * 10.0 ** int(mult)
