"""What the energy is for while the house runs on its own: island dispatch and load shedding.

Pure functions and one small state keeper, used by :class:`~hems_core.control.core.ControlCore`
in the off-grid states of :class:`~hems_core.control.grid.IslandMachine`:

- :func:`island_dispatch` balances the island with no grid at all: the house load minus PV is
  carried by storage above its island floor. The island plan's split is used for the devices
  that do not form the island; the grid-forming source takes what the others cannot (home
  battery first, then the cars, so the car keeps its range as long as the battery can); when a
  box cannot run as low as the deficit it runs at its minimum and the source stores the rest.
  Surplus PV charges storage, and the inverter is limited to load plus what storage can take
  (minus a margin). By construction the commands balance: ``load - pv + sum(setpoints)`` is
  zero, or positive by exactly the demand the island cannot carry (``unserved_w``, which the
  shedder then removes). Nothing is ever planned to come from or go to the grid.
- :class:`Shedder` switches load tiers off (highest priority number first) and back on in
  stages, one tier per dwell, and remembers what it shed and for how long.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .grid import ShedTier
from .rules import Live, Proposal, Storage, Want, controllable
from .types import Source

#: A device at most this far above its floor counts as at the floor (SoC, 0..1).
FLOOR_MARGIN = 0.002


@dataclass(frozen=True, slots=True)
class Dispatch:
    """The island's setpoints, the PV limit (W, None: no PV) and the demand it cannot carry."""

    prop: Proposal
    pv_limit_w: float | None
    unserved_w: float
    capacity_w: float


def _order(storages: Mapping[str, Storage]) -> list[str]:
    return sorted(storages, key=lambda n: (storages[n].kind != "battery", n))


def discharge_room_w(s: Storage, lv: Live | None, floor: float) -> float:
    """How much a device may discharge in island (0 at its floor or with its SoC unknown)."""
    if lv is None or not controllable(s, lv) or s.max_discharge_w <= 0:
        return 0.0
    if lv.soc is None or not lv.soc_known or lv.soc <= floor + FLOOR_MARGIN:
        return 0.0
    return s.max_discharge_w


def charge_room_w(s: Storage, lv: Live | None) -> float:
    """How much a device may charge in island (from PV only)."""
    if lv is None or not controllable(s, lv) or (lv.soc is not None and lv.soc >= s.max_soc):
        return 0.0
    return s.max_charge_w


def island_dispatch(
    storages: Mapping[str, Storage],
    live: Mapping[str, Live],
    floors: Mapping[str, float],
    source: str | None,
    load_w: float,
    pv_w: float | None,
    limit_w: float,
    pv_margin_w: float,
    planned: Mapping[str, float] | None = None,
) -> Dispatch:
    """Balance the island (see the module docstring); ``pv_w`` None: the site has no PV."""
    order = _order(storages)
    dis = {n: discharge_room_w(storages[n], live.get(n), floors.get(n, 1.0)) for n in order}
    chg = {n: charge_room_w(storages[n], live.get(n)) for n in order}
    load = max(0.0, load_w)
    pv_limit: float | None = None
    pv = 0.0
    if pv_w is not None:
        headroom = sum(chg.values())
        pv_limit = max(0.0, load + headroom - pv_margin_w)
        pv = min(max(0.0, pv_w), pv_limit)
    prop: Proposal = {n: Want(0.0, Source.GRID, "island: idle") for n in storages}
    net = load - pv  # > 0: storage must supply; < 0: surplus to store
    remaining = abs(net)
    charging = net < 0
    room = chg if charging else dis
    used = dict.fromkeys(order, 0.0)

    def take(n: str, want: float) -> None:
        nonlocal remaining
        share = min(room[n] - used[n], remaining, want)
        if share <= 0:
            return
        if n != source and used[n] + share < storages[n].settings.min_active_w:
            return  # below what the box can run at: the source takes it
        used[n] += share
        remaining -= share

    # 1. the island plan's split for the devices that do not form the island
    for n in order:
        p = (planned or {}).get(n)
        if n != source and p is not None and (p > 0) == charging:
            take(n, abs(p))
    # 2. the source, then everyone else up to their limits (battery first)
    if source in used:
        take(source, math.inf)
    for n in order:
        take(n, math.inf)
    # 3. a deficit below a box's minimum power: run the box at its minimum; the source
    #    delivers that much less, or stores the rest
    if remaining > 0 and not charging and source in used:
        for n in order:
            m = storages[n].settings.min_active_w
            if n == source or used[n] > 0 or m <= remaining or dis[n] < m:
                continue
            shift = m - remaining
            if used[source] >= shift:
                used[source] -= shift
            elif used[source] == 0 and shift <= chg[source]:
                prop[source] = Want(shift, Source.GRID, "island: storing the surplus")
            else:
                continue
            used[n] = m
            remaining = 0.0
            break
    for n, u in used.items():
        if u > 0:
            why = "island: storing PV surplus" if charging else "island: carrying the house"
            prop[n] = Want(u if charging else -u, Source.GRID, why)
    unserved = 0.0
    if remaining > 0:
        if charging:
            # nowhere to put the surplus: lower the PV limit by what is left
            if pv_limit is not None:
                pv_limit = max(0.0, pv - remaining)
        else:
            unserved = remaining
    capacity = min(limit_w, sum(dis.values()) + pv)
    if load > limit_w:
        unserved = max(unserved, load - limit_w)
    return Dispatch(prop, pv_limit, unserved, capacity)


@dataclass
class Shedder:
    """Which tiers are off; changes are at least ``min_gap_s`` apart."""

    tiers: tuple[ShedTier, ...]
    shed: dict[str, float] = field(default_factory=dict)  # tier name -> shed since (epoch s)
    last_change_s: float = -1e18
    shed_s: dict[str, float] = field(default_factory=dict)  # tier name -> total seconds off

    def sheddable(self) -> list[ShedTier]:
        """Tiers that may be shed (priority > 0), highest priority number first."""
        return sorted((t for t in self.tiers if t.priority > 0), key=lambda t: -t.priority)

    def shed_next(self, now_s: float, min_priority: int = 1) -> ShedTier | None:
        """Shed the next tier that is still on (priority >= ``min_priority``)."""
        for t in self.sheddable():
            if t.name not in self.shed and t.priority >= min_priority:
                self.shed[t.name] = now_s
                self.last_change_s = now_s
                return t
        return None

    def next_to_restore(self) -> ShedTier | None:
        """The shed tier that comes back first (lowest priority number)."""
        off = [t for t in self.tiers if t.name in self.shed]
        return min(off, key=lambda t: t.priority) if off else None

    def restore(self, now_s: float, tier: ShedTier) -> None:
        """Switch a tier back on."""
        since = self.shed.pop(tier.name, None)
        if since is not None:
            self.shed_s[tier.name] = self.shed_s.get(tier.name, 0.0) + now_s - since
        self.last_change_s = now_s

    def is_shed(self, name: str) -> bool:
        """True while the tier is off."""
        return name in self.shed
