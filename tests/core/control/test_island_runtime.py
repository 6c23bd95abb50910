"""The runtime's edge for island mode: the gateway's report in, shed-tier switches out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hems_core.control.core import ControlCore
from hems_core.control.runtime import Runtime
from hems_core.control.types import Command, CommandKind, Source
from hems_core.model import Ev, Site
from hems_core.sim.gateway_sim import GatewaySim, GridSchedule

T0 = 1_800_000_000.0


def runtime(switches: dict[str, list[bool]], gw: GatewaySim | None = None) -> Runtime:
    core = ControlCore(Site(evs=(Ev("car", 60.0, 7.4, 7.4),)))

    def switch(name: str):  # type: ignore[no-untyped-def]
        return lambda on: switches.setdefault(name, []).append(on)

    return Runtime(
        core, meter=None, storage={}, solver=lambda req: None, clock=lambda: T0 + 5.0,
        gateway=gw, load_switches={"dryer": switch("dryer"), "boom": _boom},
    )  # fmt: skip


def _boom(on: bool) -> None:
    raise RuntimeError("relay unreachable")


def load(name: str, on: bool) -> Command:
    at = datetime.fromtimestamp(T0, UTC) + timedelta(days=1)
    return Command(name, CommandKind.LOAD, None if on else 0.0, Source.GRID, "tier", at)


async def test_load_commands_call_the_owners_switches_and_a_failing_one_is_reported() -> None:
    seen: dict[str, list[bool]] = {}
    rt = runtime(seen)
    await rt.apply([load("dryer", False), load("boom", False), load("unknown", True)])
    await rt.apply([load("dryer", True)])
    assert seen == {"dryer": [False, True]}
    assert [e.kind for e in rt.events] == ["write_failed"]  # the loop carries on


async def test_the_gateway_report_reaches_the_observation() -> None:
    gw = GatewaySim(GridSchedule([(T0, T0 + 60)]), source="battery", limit_w=5000.0)
    gw.step(T0 + 1)
    gw.load_w = 1234.0
    rt = runtime({}, gw)
    await rt._read_gateway()
    obs = rt._grid_obs
    assert obs is not None and obs.gateway_island is True and obs.gateway_grid is False
    assert obs.backup_load_w == 1234.0 and obs.island_source == "battery"
    assert obs.at.timestamp() == T0 + 5.0
