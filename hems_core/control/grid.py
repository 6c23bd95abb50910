"""Grid state, the backup/island state machine and DSO/external grid signals (sans-IO).

The HEMS is never the protection device: a backup gateway or transfer switch opens the
connection and a grid-forming inverter (a V2H wallbox, a hybrid inverter) carries the house.
This module only *observes* that and decides what the energy is for.

**Grid-state fusion** (:func:`fuse_grid`). Sources, most trusted first: the backup gateway's
grid and island flags, the inverter's grid status, grid-side voltage and frequency, an external
boolean (a Home Assistant entity), and a fresh P1 reading. The first fresh source that says
something decides. A silent P1 meter is no evidence at all (it may simply be offline, and in a
real outage it goes dark too); a fresh P1 reading is evidence that the grid is *there*, never that
it is gone. With no usable source the grid is ``UNKNOWN``, and ``UNKNOWN`` never starts or ends
an outage: the machine stays where it is.

**The island state machine** (:class:`IslandMachine`). ``t`` is the time spent in the state;
``grid`` the fused state, ``island`` the gateway's "island formed" flag (``None``: unknown):

=========================  ==============================================  =======================
from                       condition                                       to
=========================  ==============================================  =======================
grid_connected             grid OFF for ``detect_s`` or island True        outage_detected
outage_detected            island True                                     islanded
outage_detected            grid ON, island not True, for ``detect_s``      grid_connected (a blip)
outage_detected            t > ``transfer_timeout_s``                      blackout
blackout                   island True                                     islanded
blackout                   grid ON, island not True, for ``stable_s``      recovery
islanded                   low energy, t >= ``min_dwell_s``                islanded_low_energy
islanded_low_energy        energy above the exit level, t >= min dwell     islanded
islanded / low energy      grid ON, island True                            grid_returned_waiting
islanded / low energy      grid ON, island False                           resynchronising
grid_returned_waiting      grid OFF                                        islanded (flap)
grid_returned_waiting      island False, or None and grid ON ``stable_s``  resynchronising
grid_returned_waiting      t > ``wait_timeout_s``                          islanded (stalled)
resynchronising            t >= ``resync_hold_s``, island not True         recovery
resynchronising            island True and grid OFF                        islanded
resynchronising            t > ``resync_timeout_s``                        recovery / islanded
recovery                   grid OFF for ``detect_s`` or island True        outage_detected
recovery                   tiers and reserves back, t >= min recovery      grid_connected
recovery                   t > ``recovery_timeout_s``                      grid_connected
=========================  ==============================================  =======================

Hysteresis: an outage must persist ``detect_s`` before it is believed, low energy has separate
enter and exit levels, every state is held at least its dwell, and ``stalled`` keeps a gateway
that never closes from bouncing between islanded and waiting (it is cleared when the grid goes
OFF again or the gateway closes). Every transitional state has a timeout, so the machine is never
stuck in one.

**Signals** (:class:`SignalBook`): §14a dimming, a time-varying import cap, an export cap and an
aggregator grid setpoint, each with a source label (``"ha:switch.dso"``, ``"mqtt:dso/cap"``,
``"action"``) and an expiry; an expired signal simply stops applying, and the plan is back.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from .settings import ControlError, _check
from .types import GridObs

__all__ = [
    "DIM_14A_W",
    "GridObs",
    "GridState",
    "GridView",
    "IslandMachine",
    "IslandSettings",
    "IslandState",
    "ShedTier",
    "Signal",
    "SignalBook",
    "SignalKind",
    "fuse_grid",
]

#: §14a EnWG: power a dimmed controllable device is always allowed to draw (BNetzA BK6-22-300).
DIM_14A_W = 4200.0


class GridState(enum.StrEnum):
    """The fused grid state: ``unknown`` is never treated as off-grid."""

    ON = "on"
    OFF = "off"
    UNKNOWN = "unknown"


class IslandState(enum.StrEnum):
    """States of the backup/island machine (see the module docstring's table)."""

    GRID_CONNECTED = "grid_connected"
    OUTAGE_DETECTED = "outage_detected"
    BLACKOUT = "blackout"
    ISLANDED = "islanded"
    ISLANDED_LOW_ENERGY = "islanded_low_energy"
    GRID_RETURNED_WAITING = "grid_returned_waiting"
    RESYNCHRONISING = "resynchronising"
    RECOVERY = "recovery"


#: States in which the house runs on its own sources (no grid variables, no export).
OFF_GRID: frozenset[IslandState] = frozenset(
    {
        IslandState.OUTAGE_DETECTED,
        IslandState.BLACKOUT,
        IslandState.ISLANDED,
        IslandState.ISLANDED_LOW_ENERGY,
        IslandState.GRID_RETURNED_WAITING,
    }
)


@dataclass(frozen=True, slots=True)
class GridView:
    """The fused result: state, island flag and which source decided (for the UI)."""

    state: GridState
    island: bool | None
    decided_by: str


#: Grid-side voltage/frequency bands that count as "grid present" (EN 50549-1 reconnection
#: window: 85–110 % Un, 47.5–50.1 Hz; wider tolerances for reading noise).
V_OK = (0.85 * 230.0, 1.10 * 230.0)
F_OK = (47.5, 50.2)
#: Below this grid-side voltage the grid is gone.
V_DEAD = 50.0


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


_BY_METER = GridView(GridState.ON, None, "meter")
_NO_VIEW = GridView(GridState.UNKNOWN, None, "none")


def fuse_grid(obs: GridObs | None, now_s: float, timeout_s: float, meter_live: bool) -> GridView:
    """Combine the sources (see the module docstring); ``meter_live``: a fresh P1 reading."""
    if obs is None:  # no grid source at all (most sites): the meter decides
        return _BY_METER if meter_live else _NO_VIEW
    island: bool | None = None
    if obs is not None and now_s - obs.at.timestamp() <= timeout_s:
        island = obs.gateway_island
        if obs.gateway_grid is not None:
            return GridView(GridState.ON if obs.gateway_grid else GridState.OFF, island, "gateway")
        if obs.inverter_grid is not None:
            state = GridState.ON if obs.inverter_grid else GridState.OFF
            return GridView(state, island, "inverter")
        v, f = _finite(obs.voltage_v), _finite(obs.frequency_hz)
        if v is not None:
            if v < V_DEAD:
                return GridView(GridState.OFF, island, "voltage")
            f_ok = f is None or F_OK[0] <= f <= F_OK[1]
            if V_OK[0] <= v <= V_OK[1] and f_ok:
                return GridView(GridState.ON, island, "voltage")
            return GridView(GridState.OFF, island, "voltage/frequency out of range")
        if obs.external_grid is not None:
            state = GridState.ON if obs.external_grid else GridState.OFF
            return GridView(state, island, "external")
    if meter_live and island is not True:
        return GridView(GridState.ON, island, "meter")
    return GridView(GridState.UNKNOWN, island, "none")


@dataclass(frozen=True)
class ShedTier:
    """Loads shed together: ``priority`` 0 is never shed, higher goes first.

    ``loads`` are switch names the runtime maps to callables (HA: switches the user picks);
    ``expected_w`` is what the tier draws when on (used to restore it without a new peak).
    """

    name: str
    priority: int
    loads: tuple[str, ...]
    expected_w: float

    def __post_init__(self) -> None:
        if not self.name or not self.loads:
            raise ControlError("ShedTier needs a name and at least one load")
        if not isinstance(self.priority, int) or not 0 <= self.priority <= 9:
            raise ControlError(f"ShedTier.priority must be an int in 0..9, got {self.priority!r}")
        _check("ShedTier.expected_w", self.expected_w, 0.0, 100_000.0)


@dataclass(frozen=True)
class IslandSettings:
    """Timings, reserves and tiers of the island machine (see the module docstring).

    Reserves in island: each car keeps ``ev_mobility_floor`` (per name; default its
    ``min_soc``), raised to what its next departure's trip needs; the home battery may go down
    to ``battery_island_floor`` (default its reserve: the reserve *is* the backup energy, so
    typically set lower, e.g. 0.05). ``outage_risk_reserve``: battery SoC held ahead of a
    warned outage. ``low_energy_enter_h``/``exit_h``: autonomy (usable energy above the floors
    over the island load) at which the island becomes low on energy, and stops being so.
    """

    detect_s: float = 2.0
    transfer_timeout_s: float = 30.0
    stable_s: float = 60.0
    min_dwell_s: float = 10.0
    wait_timeout_s: float = 900.0
    resync_hold_s: float = 10.0
    resync_timeout_s: float = 60.0
    min_recovery_s: float = 60.0
    recovery_timeout_s: float = 7200.0
    restore_stage_s: float = 120.0
    low_energy_enter_h: float = 1.0
    low_energy_exit_h: float = 1.5
    expected_outage_h: float = 4.0
    extend_outage_h: float = 1.0
    island_replan_s: float = 900.0
    grid_timeout_s: float = 10.0
    pv_margin_w: float = 200.0
    island_limit_w: float | None = None
    battery_island_floor: float | None = None
    ev_mobility_floor: Mapping[str, float] = field(default_factory=dict)
    outage_risk_reserve: float = 0.8
    tiers: tuple[ShedTier, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "detect_s", "transfer_timeout_s", "stable_s", "min_dwell_s", "wait_timeout_s",
            "resync_hold_s", "resync_timeout_s", "min_recovery_s", "recovery_timeout_s",
            "restore_stage_s", "island_replan_s", "grid_timeout_s", "pv_margin_w",
        ):  # fmt: skip
            _check(f"IslandSettings.{name}", getattr(self, name), 0.0, 86_400.0)
        if self.resync_timeout_s < self.resync_hold_s:
            raise ControlError("IslandSettings.resync_timeout_s must be >= resync_hold_s")
        _check("IslandSettings.low_energy_enter_h", self.low_energy_enter_h, 0.0, 48.0)
        _check("IslandSettings.low_energy_exit_h", self.low_energy_exit_h, 0.0, 48.0)
        if self.low_energy_exit_h < self.low_energy_enter_h:
            raise ControlError("IslandSettings.low_energy_exit_h must be >= low_energy_enter_h")
        _check("IslandSettings.expected_outage_h", self.expected_outage_h, 0.25, 48.0)
        _check("IslandSettings.extend_outage_h", self.extend_outage_h, 0.25, 48.0)
        if self.island_limit_w is not None:
            _check("IslandSettings.island_limit_w", self.island_limit_w, 0.0, 1e6)
        if self.battery_island_floor is not None:
            _check("IslandSettings.battery_island_floor", self.battery_island_floor, 0.0, 1.0)
        for n, v in self.ev_mobility_floor.items():
            _check(f"IslandSettings.ev_mobility_floor[{n}]", v, 0.0, 1.0)
        _check("IslandSettings.outage_risk_reserve", self.outage_risk_reserve, 0.0, 1.0)
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ControlError("IslandSettings.tiers must have unique names")


#: Longest a state may last before its timeout moves the machine on (None: a resting state).
def timeout_s(state: IslandState, cfg: IslandSettings) -> float | None:
    """The timeout of a transitional state (None for the resting states)."""
    return {
        IslandState.OUTAGE_DETECTED: cfg.transfer_timeout_s,
        IslandState.GRID_RETURNED_WAITING: cfg.wait_timeout_s,
        IslandState.RESYNCHRONISING: cfg.resync_timeout_s,
        IslandState.RECOVERY: cfg.recovery_timeout_s,
    }.get(state)


class IslandMachine:
    """The backup/island state machine: :meth:`step` once a tick with the fused grid view."""

    def __init__(self, cfg: IslandSettings, now_s: float = 0.0) -> None:
        self.cfg = cfg
        self.state = IslandState.GRID_CONNECTED
        self.since_s = now_s
        self.stalled = False
        self._off_since: float | None = None
        self._on_since: float | None = None

    def step(
        self, now_s: float, view: GridView, *, low_energy: bool, energy_ok: bool, restored: bool
    ) -> IslandState | None:
        """Advance; returns the new state on a transition, else None.

        ``low_energy``: autonomy below the enter level; ``energy_ok``: above the exit level;
        ``restored``: every shed tier is back on (recovery may end).
        """
        cfg, s, t = self.cfg, self.state, now_s - self.since_s
        g, isl = view.state, view.island
        # debounce: how long the grid has been continuously ON / OFF (UNKNOWN resets neither)
        if g is GridState.OFF:
            self._on_since = None
            self._off_since = now_s if self._off_since is None else self._off_since
        elif g is GridState.ON:
            self._off_since = None
            self._on_since = now_s if self._on_since is None else self._on_since
        off_for = 0.0 if self._off_since is None else now_s - self._off_since
        on_for = 0.0 if self._on_since is None else now_s - self._on_since
        if g is GridState.OFF or isl is False:
            self.stalled = False
        new: IslandState | None = None
        S = IslandState
        if s is S.GRID_CONNECTED:
            if isl is True or (g is GridState.OFF and off_for >= cfg.detect_s):
                new = S.OUTAGE_DETECTED
        elif s is S.OUTAGE_DETECTED:
            if isl is True:
                new = S.ISLANDED
            elif g is GridState.ON and on_for >= cfg.detect_s:
                new = S.GRID_CONNECTED
            elif t > cfg.transfer_timeout_s:
                new = S.BLACKOUT
        elif s is S.BLACKOUT:
            if isl is True:
                new = S.ISLANDED
            elif g is GridState.ON and on_for >= cfg.stable_s:
                new = S.RECOVERY
        elif s in (S.ISLANDED, S.ISLANDED_LOW_ENERGY):
            if g is GridState.ON and isl is False:
                new = S.RESYNCHRONISING
            elif g is GridState.ON and not self.stalled:
                new = S.GRID_RETURNED_WAITING
            elif t >= cfg.min_dwell_s:
                if s is S.ISLANDED and low_energy:
                    new = S.ISLANDED_LOW_ENERGY
                elif s is S.ISLANDED_LOW_ENERGY and energy_ok:
                    new = S.ISLANDED
        elif s is S.GRID_RETURNED_WAITING:
            if g is GridState.OFF:
                new = S.ISLANDED_LOW_ENERGY if low_energy else S.ISLANDED
            elif isl is False or (isl is None and on_for >= cfg.stable_s):
                new = S.RESYNCHRONISING
            elif t > cfg.wait_timeout_s:
                self.stalled = True
                new = S.ISLANDED_LOW_ENERGY if low_energy else S.ISLANDED
        elif s is S.RESYNCHRONISING:
            if isl is True and g is GridState.OFF:
                new = S.ISLANDED
            elif t >= cfg.resync_hold_s and isl is not True:
                new = S.RECOVERY
            elif t > cfg.resync_timeout_s:
                new = S.ISLANDED if isl is True else S.RECOVERY
        elif s is S.RECOVERY:
            if isl is True or (g is GridState.OFF and off_for >= cfg.detect_s):
                new = S.OUTAGE_DETECTED
            elif (restored and t >= cfg.min_recovery_s) or t > cfg.recovery_timeout_s:
                new = S.GRID_CONNECTED
        if new is not None and new is not s:
            self.state = new
            self.since_s = now_s
            return new
        return None

    def overdue(self, now_s: float) -> bool:
        """True when a transitional state has outlived its timeout (an invariant for tests)."""
        limit = timeout_s(self.state, self.cfg)
        return limit is not None and now_s - self.since_s > limit


class SignalKind(enum.StrEnum):
    """Grid operator and external signals, arbitrated above the owner and the optimiser."""

    DIM_14A = "dim_14a"  # §14a dimming: each controllable device draws at most value_w
    IMPORT_CAP = "import_cap"  # site import at most value_w
    EXPORT_CAP = "export_cap"  # site export at most value_w
    SETPOINT = "setpoint"  # aggregator: hold the grid exchange at value_w (import positive)


#: Expiry of an aggregator setpoint that is not refreshed (s).
SETPOINT_TTL_S = 60.0


@dataclass(frozen=True, slots=True)
class Signal:
    """One signal: what, how much (W), who sent it, since when and until when (epoch s)."""

    kind: SignalKind
    value_w: float
    source: str
    since_s: float
    expires_s: float


class SignalBook:
    """The signals in force, one per kind (a newer one of a kind replaces the older)."""

    def __init__(self) -> None:
        self.active: dict[SignalKind, Signal] = {}

    def set(
        self, now_s: float, kind: SignalKind | str, value_w: float | None, source: str,
        ttl_s: float | None = None, until_s: float | None = None,
    ) -> Signal | None:  # fmt: skip
        """Set, refresh (same kind) or lift (``value_w`` None) a signal; returns it."""
        try:
            k = SignalKind(kind)
        except ValueError:
            known = [x.value for x in SignalKind]
            raise ControlError(f"unknown grid signal {kind!r}; one of {known}") from None
        if not isinstance(source, str) or not source:
            raise ControlError("a grid signal needs a source label (entity, topic or action)")
        if value_w is None:
            self.active.pop(k, None)
            return None
        if isinstance(value_w, bool) or not isinstance(value_w, int | float):
            raise ControlError(f"{k.value}: value_w must be a number, got {value_w!r}")
        if not math.isfinite(value_w) or (k is not SignalKind.SETPOINT and value_w < 0):
            raise ControlError(f"{k.value}: value_w must be finite (and >= 0 for a limit)")
        if ttl_s is None and until_s is None and k is SignalKind.SETPOINT:
            ttl_s = SETPOINT_TTL_S
        if ttl_s is not None:
            _check(f"{k.value}: ttl_s", ttl_s, 0.0, 7 * 86_400.0)
            end = now_s + ttl_s
        else:
            end = math.inf if until_s is None else until_s
        if until_s is not None:
            end = min(end, until_s)
        if end <= now_s:
            raise ControlError(f"{k.value}: the signal would expire before it starts")
        old = self.active.get(k)
        since = old.since_s if old is not None and old.value_w == value_w else now_s
        sig = Signal(k, float(value_w), source, since, end)
        self.active[k] = sig
        return sig

    def expire(self, now_s: float) -> list[Signal]:
        """Drop and return the signals whose time is up."""
        gone = [s for s in self.active.values() if now_s >= s.expires_s]
        for s in gone:
            del self.active[s.kind]
        return gone

    def value(self, kind: SignalKind) -> float | None:
        """The value of a signal in force, or None."""
        s = self.active.get(kind)
        return None if s is None else s.value_w
