"""The real runtime drives an OCPP 2.1 V2X station through our CSMS in the closed loop."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hems_core.control.types import CommandKind, Source
from hems_core.sim.broker import MosquittoBroker
from hems_core.sim.closed_loop import CAR, ClosedLoop, LoopOptions

pytest.importorskip("ocpp.v21", reason="the [ocpp] extra is not installed")


async def test_runtime_drives_an_ocpp_21_station(mosquitto: MosquittoBroker) -> None:
    opts = LoopOptions(days=0.2, meter_interval_s=2.0, wallbox="ocpp2.1")
    async with ClosedLoop(opts) as loop:
        from hems_core.devices.ocpp import OcppWallbox

        assert isinstance(loop.wallbox, OcppWallbox) and loop.wallbox.version == "ocpp2.1"
        await loop.run(120.0)
        assert loop.wallbox.offline_timeout_s == round(loop.core.settings.command_ttl_s)
        loop.core.start_boost(loop._now(), CAR, duration=timedelta(minutes=20))
        await loop.run(30.0)
        assert loop.wallbox_sim.ev.power_w == pytest.approx(7400.0, abs=50.0)
        last = loop.core.status(loop._now()).devices[CAR]
        assert (last.kind, last.source) == (CommandKind.POWER, Source.BOOST)
        # the websocket drops: the core loses the box, the station falls back by itself
        loop.ocpp.station.faults.link_down = True
        await loop.run(20.0)
        assert CAR in loop.core.status(loop._now()).lost_devices
        assert 0.0 <= loop.wallbox_sim.ev.power_w <= loop.core.settings.safe_charge_w + 1.0
        loop.ocpp.station.faults.link_down = False
        await loop.run(20.0)
        assert CAR not in loop.core.status(loop._now()).lost_devices
        assert loop.wallbox_sim.ev.power_w == pytest.approx(7400.0, abs=50.0)  # boost resumes
        assert loop.tally.fuse_breaches == 0
