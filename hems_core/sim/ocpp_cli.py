"""``hems sim ocpp``: the CSMS and the OCPP driver against the station simulator, per version.

For OCPP 1.6J, 2.0.1 and 2.1 in turn, over real websockets on loopback: a station with a known
identity boots; an unknown identity and a wrong password are refused at the handshake; a charge
limit is applied; on 2.1 a discharge setpoint must show in the meter values within one
meter-value period; then the link is dropped and we time (on the simulated clock, read every
second like the runtime does) how long until the station is at or below the configured safe
limit and not discharging. Time is a manual clock, so the run takes seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import time
from collections.abc import Callable
from typing import Any

VERSIONS = ("ocpp1.6", "ocpp2.0.1", "ocpp2.1")
T0 = 1_768_500_000.0  # 2026-01-15 18:00 UTC: a winter evening, the car would discharge


def register_subcommands(sub: Any) -> None:
    """Add ``ocpp`` to the ``sim`` command group."""
    p = sub.add_parser("ocpp", help="OCPP 1.6J / 2.0.1 / 2.1 CSMS + driver vs the simulator")
    p.add_argument("--safe-limit-w", type=float, default=1380.0, help="fallback limit (W)")
    p.add_argument("--offline-timeout", type=int, default=6, help="TxProfile life (s)")
    p.add_argument("--json", action="store_true", help="print JSON only")
    p.set_defaults(handler=_ocpp)


def _ocpp(args: argparse.Namespace) -> int:
    from hems_core.cli import CliError

    if not 0.0 <= args.safe_limit_w <= 11000.0 or not 1 <= args.offline_timeout <= 60:
        raise CliError("--safe-limit-w must be within 0..11000 and --offline-timeout 1..60")
    try:
        result = asyncio.run(run_ocpp_sim(args.safe_limit_w, args.offline_timeout))
    except ImportError as err:
        raise CliError(str(err)) from err
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


async def _until(pred: Callable[[], bool], real_s: float = 5.0) -> bool:
    """Let the loop run until ``pred`` holds (I/O completion, bounded in real time)."""
    end = time.monotonic() + real_s
    while not pred():
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.005)
    return True


async def run_version(
    version: str, *, safe_limit_w: float = 1380.0, offline_timeout_s: int = 6,
    meter_interval_s: float = 5.0,
) -> dict[str, Any]:  # fmt: skip
    """One version's run (see the module docstring)."""
    from hems_core.devices.clock import ManualClock
    from hems_core.devices.errors import DeviceError
    from hems_core.devices.model import WallboxLimits
    from hems_core.devices.ocpp import CsmsConfig, OcppCsms, OcppWallbox, OcppWallboxConfig

    from .ocpp_station import EvModel, StationClient, StationCore

    clock = ManualClock(T0)
    ident, password = "garage-box", "correct horse"
    cfg = CsmsConfig(host="127.0.0.1", port=0, identities={ident: password},
                     id_tokens={"HOME-CARD"}, heartbeat_s=60, call_timeout_s=3.0)  # fmt: skip
    out: dict[str, Any] = {"version": version}
    async with OcppCsms(cfg, clock=clock) as csms:
        limits = WallboxLimits(max_charge_w=11000.0, max_discharge_w=7000.0)
        wb = OcppWallbox(csms, OcppWallboxConfig(ident, limits, safe_limit_w=safe_limit_w,
                                                 offline_timeout_s=offline_timeout_s),
                         clock=clock)  # fmt: skip
        core = StationCore(ident, version, ev=EvModel(soc_pct=70.0),
                           meter_interval_s=meter_interval_s)  # fmt: skip
        station = StationClient(core, csms.url(ident, "127.0.0.1"), password, clock=clock)
        try:
            await station.tick()
            await _until(lambda: wb.safe_profile_programmed)
            await station.tick()
            out["booted"] = core.booted and core.tx is not None and wb.safe_profile_programmed

            intruders = [StationClient(StationCore("intruder", version), csms.url("intruder",
                                       "127.0.0.1"), password, clock=clock),
                         StationClient(StationCore(ident, version), csms.url(ident, "127.0.0.1"),
                                       "wrong", clock=clock)]  # fmt: skip
            refused = [not await s.connect() and s.refused_status for s in intruders]
            out["unknown_identity_refused"] = refused == [404, 401]

            async def period(n: int = 1) -> None:
                """``n`` meter-value periods, the driver read every simulated second."""
                for _ in range(int(n * meter_interval_s)):
                    clock.advance(1.0)
                    await station.tick()
                    with contextlib.suppress(DeviceError):  # offline: the core would see it
                        await wb.read_state()

            await wb.set_power(4000.0)
            await period()
            out["charge_limit_w"] = (await wb.read_state()).power_w
            if version == "ocpp2.1":
                await wb.set_power(-5000.0)
                await period()
                out["v2x_power_w"] = (await wb.read_state()).power_w
                out["v2x_setpoint_followed"] = abs(out["v2x_power_w"] + 5000.0) < 50.0
            before = core.power_w
            station.faults.link_down = True
            t_drop = clock()
            fallback_s: float | None = None
            for _ in range(60):
                clock.advance(1.0)
                await station.tick()
                if fallback_s is None and 0.0 <= core.power_w <= safe_limit_w + 1e-6:
                    fallback_s = clock() - t_drop
                    out["fallback_w"] = core.power_w
            out["power_before_drop_w"] = before
            out["fallback_s"] = fallback_s
            out["power_after_60_s_offline_w"] = core.power_w
            station.faults.link_down = False
            await station.tick()
            await _until(lambda: wb.safe_profile_programmed)
            await period()
            out["recovered"] = csms.connected(ident) and wb.safe_profile_programmed
        finally:
            await wb.close()
            await station.close()
    return out


async def run_ocpp_sim(safe_limit_w: float = 1380.0, offline_timeout_s: int = 6) -> dict[str, Any]:
    """Every version; the summary ``hems sim ocpp --json`` prints."""
    runs = [await run_version(v, safe_limit_w=safe_limit_w, offline_timeout_s=offline_timeout_s)
            for v in VERSIONS]  # fmt: skip
    fall_s = [r.get("fallback_s") for r in runs]
    fall_w = [r.get("fallback_w", math.inf) for r in runs]
    return {
        "versions": [r["version"] for r in runs if r.get("booted")],
        "v2x_setpoint_followed": bool(runs[-1].get("v2x_setpoint_followed")),
        "lost_link_fallback_kw": round(max(fall_w) / 1000.0, 3) if max(fall_w) < math.inf
        else None,
        "lost_link_fallback_s": None if None in fall_s else max(s for s in fall_s if s is not None),
        "unknown_identity_rejected": all(r.get("unknown_identity_refused") for r in runs),
        "safe_limit_kw": round(safe_limit_w / 1000.0, 3),
        "offline_timeout_s": offline_timeout_s,
        "runs": runs,
    }  # fmt: skip


class OcppCar:
    """The closed loop's car on an OCPP station: the CSMS, the driver and the station.

    :func:`attach_closed_loop` moves the loop's car (the same :class:`EvBattery`, plug schedule
    and P1 contribution) from the Modbus Quasar simulator onto an OCPP station, so the runtime
    drives it through the CSMS and :meth:`tick` advances the station with the loop's clock.
    """

    def __init__(self, csms: Any, wallbox: Any, station: Any) -> None:
        self.csms = csms
        self.wallbox = wallbox
        self.station = station

    async def tick(self) -> None:
        """Station physics and its due requests (meter values) at the loop's clock."""
        await self.station.tick()

    async def close(self) -> None:
        """Station off, then the CSMS."""
        await self.station.close()
        await self.csms.stop()


async def attach_closed_loop(loop: Any, version: str = "ocpp2.1") -> OcppCar:
    """Swap ``loop``'s Modbus wallbox for an OCPP ``version`` station (see :class:`OcppCar`)."""
    from hems_core.devices.model import WallboxLimits
    from hems_core.devices.ocpp import CsmsConfig, OcppCsms, OcppWallbox, OcppWallboxConfig

    from .closed_loop import CAR
    from .ocpp_station import EvModel, StationClient, StationCore

    battery = loop.wallbox_sim.ev
    del loop.runner.modbus_sims[CAR]  # the Quasar model no longer moves this car
    ident, password = "closed-loop-box", "closed-loop"
    csms = OcppCsms(CsmsConfig(host="127.0.0.1", port=0, identities={ident: password},
                               call_timeout_s=2.0), clock=loop.clock)  # fmt: skip
    await csms.start()
    p = battery.params
    limits = WallboxLimits(max_charge_w=p.max_charge_w, max_discharge_w=p.max_discharge_w)
    settings = loop.opts.settings
    safe = 0.0 if settings is None else settings.safe_charge_w
    wb = OcppWallbox(csms, OcppWallboxConfig(ident, limits, safe_limit_w=safe), clock=loop.clock)
    ev = EvModel(capacity_kwh=p.capacity_kwh, max_charge_w=p.max_charge_w,
                 max_discharge_w=p.max_discharge_w)  # fmt: skip
    core = StationCore(ident, version, max_power_w=max(p.max_charge_w, p.max_discharge_w), ev=ev,
                       meter_interval_s=loop.opts.meter_interval_s, battery=battery)  # fmt: skip
    station = StationClient(core, csms.url(ident, "127.0.0.1"), password, clock=loop.clock)
    await station.tick()
    await _until(lambda: wb.safe_profile_programmed)
    await station.tick()
    return OcppCar(csms, wb, station)
