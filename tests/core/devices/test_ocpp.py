"""The OCPP CSMS and driver against the spec-written station simulator, over real websockets.

Every test runs a real CSMS on 127.0.0.1 (port 0) and a real websocket client station, for each
of OCPP 1.6J, 2.0.1 and 2.1. Time is a manual clock; the driver is read every simulated second
as the runtime would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ocpp.v21", reason="the [ocpp] extra is not installed")
pytest.importorskip("websockets.asyncio.server", reason="websockets >= 13 is not installed")

from hems_core.devices.clock import ManualClock
from hems_core.devices.errors import (
    DeviceConnectionError,
    DeviceError,
    DeviceTimeoutError,
    ValueOutOfRangeError,
    WriteRefusedError,
)
from hems_core.devices.model import Wallbox, WallboxLimits, WallboxStatus
from hems_core.devices.ocpp import (
    CsmsConfig,
    CsmsSession,
    OcppCsms,
    OcppWallbox,
    OcppWallboxConfig,
)
from hems_core.sim.ocpp_station import (
    EvModel,
    StationClient,
    StationCore,
    StationFaults,
)

VERSIONS = ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")
IDENT, PASSWORD = "garage-box", "correct horse"
SAFE_W, TIMEOUT_S, METER_S = 1380.0, 6, 5.0
ROOT = Path(__file__).resolve().parents[3]


async def until(pred: Callable[[], bool], real_s: float = 5.0) -> None:
    """Let the loop deliver frames until ``pred`` holds (bounded in real time)."""
    end = time.monotonic() + real_s
    while not pred():
        assert time.monotonic() < end, "condition not reached"
        await asyncio.sleep(0.005)


@dataclass
class Rig:
    clock: ManualClock
    csms: OcppCsms
    wb: OcppWallbox
    core: StationCore
    station: StationClient

    async def boot(self) -> None:
        await self.station.tick()
        await until(lambda: self.wb.safe_profile_programmed)
        await self.station.tick()
        assert self.core.tx is not None

    async def seconds(self, n: float) -> None:
        """Advance ``n`` simulated seconds, station ticking and the driver read each second."""
        for _ in range(round(n)):
            self.clock.advance(1.0)
            await self.station.tick()
            with contextlib.suppress(DeviceError):
                await self.wb.read_state()

    def client(self, ident: str, password: str | None) -> StationClient:
        url = self.csms.url(ident, "127.0.0.1")
        return StationClient(StationCore(ident, self.core.version), url, password, clock=self.clock)


async def make_rig(
    version: str, *, ev: EvModel | None = None, faults: StationFaults | None = None,
    call_timeout_s: float = 3.0, safe_default: bool = True,
) -> Rig:  # fmt: skip
    clock = ManualClock(1_768_500_000.0)
    cfg = CsmsConfig(host="127.0.0.1", port=0, identities={IDENT: PASSWORD},
                     id_tokens={"HOME-CARD"}, call_timeout_s=call_timeout_s)  # fmt: skip
    csms = OcppCsms(cfg, clock=clock)
    await csms.start()
    limits = WallboxLimits(max_charge_w=11000.0, max_discharge_w=7000.0)
    wcfg = OcppWallboxConfig(IDENT, limits, safe_limit_w=SAFE_W, offline_timeout_s=TIMEOUT_S,
                             call_timeout_s=call_timeout_s)  # fmt: skip
    wb = OcppWallbox(csms, wcfg, clock=clock)
    if not safe_default:  # the failure of lbbrhzn/ocpp #492: a CSMS that programs no fallback
        wb.program_safe_default = _no_default(wb)  # type: ignore[method-assign]
    core = StationCore(IDENT, version, ev=ev or EvModel(soc_pct=70.0), meter_interval_s=METER_S)
    station = StationClient(core, csms.url(IDENT, "127.0.0.1"), PASSWORD, clock=clock,
                            faults=faults)  # fmt: skip
    return Rig(clock, csms, wb, core, station)


def _no_default(wb: OcppWallbox) -> Callable[[], Any]:
    async def skip() -> None:
        wb.safe_profile_programmed = True

    return skip


@pytest.fixture(params=VERSIONS)
async def rig(request: pytest.FixtureRequest) -> AsyncIterator[Rig]:
    r = await make_rig(request.param)
    try:
        yield r
    finally:
        await r.wb.close()
        await r.station.close()
        await r.csms.stop()


async def close(r: Rig) -> None:
    await r.wb.close()
    await r.station.close()
    await r.csms.stop()


# -- boot and identity ---------------------------------------------------------------------------


async def test_boot_with_known_identity_programs_the_safe_default(rig: Rig) -> None:
    assert isinstance(rig.wb, Wallbox)
    await rig.boot()
    st = rig.csms.state(IDENT)
    assert st is not None and st.booted and st.vendor == "HEMS-Sim"
    assert rig.wb.version == rig.core.version
    by_purpose = {p.purpose: p for p in rig.core.profiles}
    default = by_purpose["TxDefaultProfile"].periods[0]
    assert default["limit"] == SAFE_W
    assert by_purpose["ChargingStationMaxProfile"].periods[0]["limit"] == 11000.0
    if rig.core.version == "ocpp2.1":
        assert default["operationMode"] == "ChargingOnly" and default["dischargeLimit"] == 0
    # no setpoint yet: the transaction runs at the safe default, not at full power
    await rig.seconds(METER_S)
    state = await rig.wb.read_state()
    assert state.plugged and state.power_w == pytest.approx(SAFE_W)
    assert state.soc_pct == pytest.approx(70.0, abs=0.5)


async def test_unknown_identity_and_wrong_password_are_refused(rig: Rig) -> None:
    await rig.boot()
    intruder, wrong, none = (rig.client("intruder", PASSWORD), rig.client(IDENT, "wrong"),
                             rig.client(IDENT, None))  # fmt: skip
    assert not await intruder.connect() and intruder.refused_status == 404
    assert not await wrong.connect() and wrong.refused_status == 401
    assert not await none.connect() and none.refused_status == 401
    assert "intruder" not in rig.csms.sessions
    assert [s for _, s in rig.csms.rejected] == [404, 401, 401]
    assert rig.csms.connected(IDENT)  # the real station keeps its link


async def test_charge_limit_applied(rig: Rig) -> None:
    await rig.boot()
    await rig.wb.set_power(4000.0)
    await rig.seconds(METER_S)
    assert rig.core.power_w == pytest.approx(4000.0)
    state = await rig.wb.read_state()
    assert state.power_w == pytest.approx(4000.0) and state.status is WallboxStatus.CHARGING
    assert state.energy_in_kwh is not None and state.energy_in_kwh > 0
    if rig.core.version != "ocpp2.1":  # charge only: a discharge is refused before sending
        sent = len(rig.core.log)
        with pytest.raises(ValueOutOfRangeError, match="charge only"):
            await rig.wb.set_power(-1000.0)
        assert len(rig.core.log) == sent
        assert (await rig.wb.read_state()).limits == WallboxLimits(11000.0, 0.0)


async def test_v2x_discharge_setpoint_followed_within_one_meter_period() -> None:
    r = await make_rig("ocpp2.1")
    try:
        await r.boot()
        await r.seconds(METER_S)
        ev = r.csms.state(IDENT).ev  # type: ignore[union-attr]
        assert ev is not None and ev.bidirectional and ev.max_discharge_w == 11000.0
        await r.wb.set_power(-5000.0)
        period = r.core.log[-1][1]
        assert "'operationMode': 'CentralSetpoint'" in period and "'setpoint': -5000.0" in period
        await r.seconds(METER_S)  # exactly one meter-value period
        state = await r.wb.read_state()
        assert state.power_w == pytest.approx(-5000.0)
        assert state.status is WallboxStatus.DISCHARGING
        assert state.energy_out_kwh is not None and state.energy_out_kwh > 0
    finally:
        await close(r)


async def test_v2x_limits_come_from_the_ev_charging_needs() -> None:
    r = await make_rig("ocpp2.1", ev=EvModel(soc_pct=70.0, max_discharge_w=3000.0))
    try:
        await r.boot()
        await r.seconds(1)
        assert (await r.wb.read_state()).limits == WallboxLimits(11000.0, 3000.0)
        with pytest.raises(ValueOutOfRangeError):
            await r.wb.set_power(-5000.0)
        await r.wb.set_power(-3000.0)
        await r.seconds(METER_S)
        assert (await r.wb.read_state()).power_w == pytest.approx(-3000.0)
    finally:
        await close(r)


# -- malformed frames ----------------------------------------------------------------------------


async def test_malformed_messages_get_the_protocol_error_and_no_crash(rig: Rig) -> None:
    await rig.boot()
    v16 = rig.core.version == "ocpp1.6"
    reply = await rig.station.send_raw("this is not json")
    assert reply[0] == 4 and reply[1] == "-1"
    assert reply[2] == ("FormationViolation" if v16 else "FormatViolation")
    reply = await rig.station.send_raw('[2, "m1", "Heartbeat", {"bogus": 1}]')
    assert reply[:2] == [4, "m1"]
    assert reply[2] == ("FormationViolation" if v16 else "FormatViolation")
    reply = await rig.station.send_raw('[2, "m2", "StatusNotification", {}]')
    assert reply[:3] == [4, "m2", "OccurrenceConstraintViolation"]
    reply = await rig.station.send_raw('[2, "m3", "NoSuchAction", {}]')
    assert reply[:3] == [4, "m3", "NotImplemented"]
    reply = await rig.station.send_raw('[7, "m4", {}]')
    assert reply[:2] == [4, "m4"]
    reply = await rig.station.send_raw('{"an": "object"}')
    assert reply[0] == 4
    # the CSMS lives on: the same link still carries meter values and setpoints
    await rig.wb.set_power(3000.0)
    await rig.seconds(METER_S)
    assert (await rig.wb.read_state()).power_w == pytest.approx(3000.0)
    assert rig.csms.state(IDENT).errors_sent == 6  # type: ignore[union-attr]


async def test_requests_before_boot_are_refused() -> None:
    s = CsmsSession("x", "ocpp2.0.1")
    got = s.receive(0.0, '[2, "a", "Heartbeat", {}]')
    assert json.loads(got.replies[0])[:3] == [4, "a", "SecurityError"]
    s16 = CsmsSession("x", "ocpp1.6")
    got = s16.receive(0.0, '[2, "a", "Heartbeat", {}]')
    assert json.loads(got.replies[0])[:3] == [4, "a", "GenericError"]


async def test_unknown_card_gets_no_transaction_and_free_vending_does() -> None:
    r = await make_rig("ocpp2.0.1")
    r.core.id_token = "STRANGER"
    try:
        await r.station.tick()
        await r.station.tick()
        assert r.core.tx is None and r.core.tx_refused
        assert r.csms.state(IDENT).transaction_id is None  # type: ignore[union-attr]
    finally:
        await close(r)
    free = CsmsSession("x", "ocpp1.6", id_tokens=None)
    free.receive(0.0, '[2, "b", "BootNotification", {"chargePointVendor": "v", '
                      '"chargePointModel": "m"}]')  # fmt: skip
    got = free.receive(1.0, '[2, "c", "StartTransaction", {"connectorId": 1, "idTag": "ANY", '
                            '"meterStart": 0, "timestamp": "2026-01-15T18:00:00Z"}]')  # fmt: skip
    assert json.loads(got.replies[0])[2]["idTagInfo"]["status"] == "Accepted"


# -- lost link -----------------------------------------------------------------------------------


async def test_link_dropped_station_falls_back_to_the_safe_profile(rig: Rig) -> None:
    await rig.boot()
    target = -5000.0 if rig.core.version == "ocpp2.1" else 7000.0
    await rig.wb.set_power(target)
    await rig.seconds(2 * METER_S)
    assert rig.core.power_w == pytest.approx(target)
    rig.station.faults.link_down = True
    fallback_at = None
    for t in range(1, 31):
        rig.clock.advance(1.0)
        await rig.station.tick()
        if fallback_at is None and 0.0 <= rig.core.power_w <= SAFE_W:
            fallback_at = t
        if fallback_at is not None:  # never back to full power, never discharge
            assert 0.0 <= rig.core.power_w <= SAFE_W
    assert fallback_at is not None and fallback_at <= TIMEOUT_S
    assert rig.core.power_w == pytest.approx(SAFE_W)
    with pytest.raises(DeviceConnectionError):
        await rig.wb.read_state()
    # the link returns: the driver re-programs the station and its setpoint is back
    rig.station.faults.link_down = False
    await rig.station.tick()
    await until(lambda: rig.wb.safe_profile_programmed)
    await rig.seconds(METER_S)
    assert (await rig.wb.read_state()).power_w == pytest.approx(target)


async def test_without_a_safe_default_the_station_goes_to_full_power() -> None:
    """The simulator is not rigged: with no TxDefaultProfile it does what #492 describes."""
    r = await make_rig("ocpp2.0.1", safe_default=False)
    try:
        await r.boot()
        await r.wb.set_power(2000.0)
        await r.seconds(METER_S)
        r.station.faults.link_down = True
        await r.seconds(TIMEOUT_S + 1)
        assert r.core.power_w == pytest.approx(11000.0)
    finally:
        await close(r)


# -- station faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
async def test_rejected_profile_is_a_typed_error(version: str) -> None:
    r = await make_rig(version)
    try:
        await r.boot()
        r.station.faults.reject_profiles = True
        with pytest.raises(WriteRefusedError, match="Rejected"):
            await r.wb.set_power(3000.0)
    finally:
        await close(r)


@pytest.mark.parametrize("fault", ["slow", "malformed"])
async def test_slow_or_malformed_replies_time_out_cleanly(fault: str) -> None:
    faults = StationFaults()
    r = await make_rig("ocpp2.1", faults=faults, call_timeout_s=0.3)
    try:
        await r.boot()
        if fault == "slow":
            faults.slow_reply_s = 1.0
        else:
            faults.malformed_replies = True
        with pytest.raises(DeviceTimeoutError):
            await r.wb.set_power(3000.0)
        faults.slow_reply_s, faults.malformed_replies = 0.0, False
        await asyncio.sleep(1.0 if fault == "slow" else 0.0)  # the late answer arrives: ignored
        await r.wb.set_power(3000.0)
        await r.seconds(METER_S)
        assert (await r.wb.read_state()).power_w == pytest.approx(3000.0)
    finally:
        await close(r)


async def test_a_car_ignoring_its_setpoint_is_reported_as_it_is() -> None:
    r = await make_rig("ocpp2.1", ev=EvModel(soc_pct=70.0, ignores_setpoint=True))
    try:
        await r.boot()
        await r.wb.set_power(-4000.0)
        await r.seconds(METER_S)
        state = await r.wb.read_state()
        assert state.power_w > 0 and state.status is WallboxStatus.CHARGING
    finally:
        await close(r)


# -- packaging and the CLI -----------------------------------------------------------------------


def test_core_modules_import_without_the_extra() -> None:
    code = ("import sys; import hems_core.config, hems_core.devices, hems_core.devices.ocpp, "
            "hems_core.sim.cli; bad = [m for m in ('ocpp', 'websockets') if m in sys.modules]; "
            "print(bad)")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_hems_sim_ocpp_json() -> None:
    out = subprocess.run([sys.executable, "-m", "hems_core.cli", "sim", "ocpp", "--json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["versions"] == list(VERSIONS)
    assert data["v2x_setpoint_followed"] is True
    assert data["unknown_identity_rejected"] is True
    assert 0.0 <= data["lost_link_fallback_kw"] <= data["safe_limit_kw"]
    assert 0 < data["lost_link_fallback_s"] <= 10.0
    assert all(r["recovered"] for r in data["runs"])
