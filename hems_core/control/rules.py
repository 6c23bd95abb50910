"""The arbitration layers of one fast-loop tick, each a small function on plain values.

A tick starts from the optimiser's proposal (:func:`track_plan`, or :func:`fallback` when no
plan covers now) and passes it up the layers, each of which may override a device's setpoint
and record why (:class:`~hems_core.control.types.Source`)::

    safety( island | dso( user( soc( track_plan ) ) ) )

Off grid (``grid.IslandMachine`` in an off-grid state) the island layer replaces everything
below it (``island.island_dispatch``): there is no plan to track and no operator to obey.

Safety is last, so nothing above it can push a setpoint past a device limit, the fuse, the
minimum SoC or the V2H-only rule. Powers are W; storage positive charges. The functions mutate
the proposal dictionary in place (a tick must cost microseconds, so no copies per layer).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .settings import StorageSettings
from .types import Source


@dataclass(frozen=True, slots=True)
class Storage:
    """Static facts about one storage device (a car's charger or the home battery)."""

    name: str
    kind: str  # "ev" or "battery"
    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    min_soc: float
    max_soc: float
    charge_efficiency: float
    settings: StorageSettings


@dataclass(slots=True)
class Live:
    """What the core believes about a device this tick."""

    online: bool
    plugged: bool
    power_w: float
    soc: float | None
    #: the SoC rests on a reading (now or counted on from one) or the owner's entry, not on
    #: an assumed arrival value: only then may the device discharge
    soc_known: bool = True


@dataclass(slots=True)
class Want:
    """A proposed setpoint and the rule that set it."""

    watts: float
    source: Source
    reason: str


@dataclass(slots=True)
class Tick:
    """The measured situation of one tick (``base_w``: grid power without any storage)."""

    now_s: float
    grid_w: float
    base_w: float
    phase_w: tuple[float | None, float | None, float | None]
    meter_ok: bool
    live: dict[str, Live]


Proposal = dict[str, Want]


def controllable(s: Storage, lv: Live | None) -> bool:
    """A device that is online and (for a car) plugged in."""
    return lv is not None and lv.online and lv.plugged


def can_discharge(s: Storage, lv: Live, margin: float = 0.005) -> bool:
    """Discharge allowed: bidirectional, SoC known and above the owner's floor."""
    return (
        s.max_discharge_w > 0
        and lv.soc_known
        and lv.soc is not None
        and lv.soc > s.min_soc + margin
    )


def predicted_grid_w(t: Tick, prop: Proposal) -> float:
    """Grid power if every proposed setpoint were applied now."""
    return t.base_w + sum(w.watts for w in prop.values())


# -- layer 0: follow the plan ----------------------------------------------------------------


def smooth(
    want: float, last: float | None, dt_s: float, *, deadband_w: float, ramp_w_per_s: float,
    hysteresis_w: float,
) -> float:  # fmt: skip
    """Deadband, ramp (charge rises only) and charge/discharge hysteresis against the last value."""
    if last is None:
        return want
    if abs(want - last) < deadband_w:
        return last
    if last > 0 and want < 0 and want > -hysteresis_w:
        want = 0.0  # not far enough past zero to switch to discharging
    elif last < 0 and 0 < want < hysteresis_w:
        want = 0.0
    rise = ramp_w_per_s * max(dt_s, 0.0)
    if want > 0 and want > max(last, 0.0) + rise:
        want = max(last, 0.0) + rise
    return want


def surplus_charge_w(t: Tick, prop: Proposal, name: str) -> float:
    """Charge power for ``name`` that absorbs the PV surplus now (0 when importing)."""
    others = sum(w.watts for n, w in prop.items() if n != name)
    return max(0.0, -(t.base_w + others))


def follow_meter(t: Tick, prop: Proposal, s: Storage, lv: Live, target_grid_w: float) -> float:
    """The follower's power that brings the grid to ``target_grid_w`` (V2H follows the load)."""
    others = sum(w.watts for n, w in prop.items() if n != s.name)
    want = target_grid_w - t.base_w - others
    low = -s.max_discharge_w if can_discharge(s, lv) else 0.0  # at its floor it cannot help
    return min(max(want, low), s.max_charge_w)


#: Unplanned export below this (W) is left alone: meter noise, not a PV surprise.
SOAK_MIN_W = 50.0


def soak_export_w(t: Tick, prop: Proposal, target_grid_w: float) -> float:
    """Export (W) the proposal would send beyond what the plan wanted (0 if none).

    The plan exports on purpose where it sells; PV above its forecast shows up as more export
    than planned (or export where the plan imports). Measured against ``min(target, 0)``: a
    planned import is never raised, only a surprise export is taken back.
    """
    extra = min(target_grid_w, 0.0) - predicted_grid_w(t, prop)
    return extra if extra >= SOAK_MIN_W else 0.0


def soak(
    t: Tick, prop: Proposal, storages: dict[str, Storage], export_w: float, skip: set[str],
    caps: Mapping[str, float] | None = None,
) -> dict[str, float]:  # fmt: skip
    """Charge ``export_w`` more into storage, the home battery first; returns W added per name.

    Devices in ``skip`` (the meter follower, planned dischargers) keep their setpoint; a full
    or offline device takes nothing; with ``caps`` a device takes at most its cap (and one
    not named nothing): how the core holds the last soak between meter readings. Stored
    surplus PV is worth more than its export price under every tariff without net metering,
    and the next plan decides where it goes.
    """
    added: dict[str, float] = {}
    order = sorted(storages, key=lambda n: storages[n].kind != "battery")
    for name in order:
        if export_w <= 0:
            break
        s, lv, w = storages[name], t.live.get(name), prop.get(name)
        if name in skip or w is None or w.watts < 0 or not controllable(s, lv):
            continue
        assert lv is not None
        if lv.soc is not None and lv.soc >= s.max_soc - 0.005:
            continue
        take = min(export_w, s.max_charge_w - w.watts)
        if caps is not None:
            take = min(take, caps.get(name, 0.0))
        if take <= 0:
            continue
        w.watts += take
        w.reason = "charging unplanned PV export"
        added[name] = take
        export_w -= take
    return added


def guard_peak(
    t: Tick, prop: Proposal, storages: dict[str, Storage], allowed_import_w: float,
) -> None:  # fmt: skip
    """Keep the running quarter's average under the peak budget: less charge, then discharge."""
    excess = predicted_grid_w(t, prop) - allowed_import_w
    if excess <= 0:
        return
    reason = f"quarter-hour average would exceed the peak budget by {excess:.0f} W"
    # Only the optimiser's and fallback's setpoints give way: a boost or a floor charge does not.
    movable = (Source.PLAN, Source.FALLBACK)
    give_way(t, prop, storages, excess, Source.PEAK, reason, movable, (*movable, Source.PEAK))


def give_way(
    t: Tick, prop: Proposal, storages: dict[str, Storage], excess: float, source: Source,
    reason: str, cut: tuple[Source, ...] | None = None, discharge: tuple[Source, ...] | None = None,
) -> None:  # fmt: skip
    """Take ``excess`` W off the import: the biggest charging first, then storage discharges.

    ``cut`` / ``discharge`` name the sources whose setpoints may be lowered / turned into
    discharge (None: any). What changes is marked with ``source`` and ``reason``.
    """
    for name in sorted(prop, key=lambda n: -prop[n].watts):
        w = prop[name]
        if excess <= 0:
            return
        if w.watts > 0 and (cut is None or w.source in cut):
            take = min(w.watts, excess)
            w.watts -= take
            excess -= take
            w.source, w.reason = source, reason
    for name, w in prop.items():
        if excess <= 0:
            return
        s, lv = storages[name], t.live.get(name)
        if lv is None or not controllable(s, lv) or not can_discharge(s, lv):
            continue
        if discharge is not None and w.source not in discharge:
            continue
        add = min(s.max_discharge_w + w.watts, excess)
        if add > 0:
            w.watts -= add
            excess -= add
            w.source, w.reason = source, reason


# -- layer 1: minimum SoC and departure ------------------------------------------------------


def soc_rules(
    t: Tick, prop: Proposal, storages: dict[str, Storage],
    departures: dict[str, tuple[float, float]], margin_h: float,
) -> None:  # fmt: skip
    """Charge at full power below the floor or when the departure target is at risk.

    ``departures``: per car, (epoch seconds of the next departure, target SoC).
    """
    for name, w in prop.items():
        s, lv = storages[name], t.live.get(name)
        if lv is None or not controllable(s, lv) or lv.soc is None:
            continue
        if lv.soc < s.min_soc:
            w.watts = s.max_charge_w
            w.source, w.reason = Source.MIN_SOC, f"below the minimum SoC of {s.min_soc:.0%}"
            continue
        dep = departures.get(name)
        if dep is None:
            continue
        at_s, target = dep
        target = min(target, s.max_soc)
        if lv.soc >= target or at_s <= t.now_s:
            continue
        need_kwh = (target - lv.soc) * s.capacity_kwh / s.charge_efficiency
        hours_needed = need_kwh / max(s.max_charge_w / 1000.0, 1e-6)
        hours_left = (at_s - t.now_s) / 3600.0
        if hours_left <= hours_needed + margin_h and w.watts < s.max_charge_w:
            w.watts = s.max_charge_w
            w.source = Source.DEPARTURE
            w.reason = f"{target:.0%} by departure needs full power now"


# -- layer 2: the owner's mode and boost ------------------------------------------------------


def mode_rules(t: Tick, prop: Proposal, mode: str) -> None:
    """Charge only: no discharge. Solar only: charge from the PV surplus only."""
    if mode == "charge_only":
        for w in prop.values():
            if w.watts < 0:
                w.watts, w.source, w.reason = 0.0, Source.MODE, "mode charge only"
    elif mode == "solar_only":
        for name, w in prop.items():
            if w.source in (Source.MIN_SOC, Source.DEPARTURE):
                continue  # the owner's floor and departure still hold
            w.watts = 0.0
            w.watts = surplus_charge_w(t, prop, name)
            w.source, w.reason = Source.MODE, "mode solar only: charging from PV surplus"


def boost_rules(t: Tick, prop: Proposal, storages: dict[str, Storage], boosts: set[str]) -> None:
    """A boosted car charges at full power, whatever the optimiser wanted."""
    for name in boosts:
        w = prop.get(name)
        if w is None:
            continue
        w.watts, w.source, w.reason = storages[name].max_charge_w, Source.BOOST, "boost"


# -- layer 3: grid operator -----------------------------------------------------------------


def dso_rules(t: Tick, prop: Proposal, cap_w: float | None) -> None:
    """Hold a DSO import cap (§14a dimming, congestion): charging gives way first."""
    if cap_w is None:
        return
    excess = predicted_grid_w(t, prop) - cap_w
    for name in sorted(prop, key=lambda n: -prop[n].watts):
        w = prop[name]
        if excess <= 0:
            break
        if w.watts > 0:
            cut = min(w.watts, excess)
            w.watts -= cut
            excess -= cut
            w.source, w.reason = Source.DSO, f"grid operator caps import at {cap_w:.0f} W"


def recovery_guard(
    t: Tick, prop: Proposal, storages: dict[str, Storage], allowed_import_w: float,
    *, only_refill: bool = False,
) -> None:  # fmt: skip
    """After an outage: recharging (the plan's, the fallback's and a home battery refilling its
    reserve) gives way to the month's peak; then the peak guard may discharge to hold it.

    ``only_refill``: only a home battery refilling its reserve gives way (on grid, a reserve
    emptied by an outage is no reason for a new monthly peak)."""
    excess = predicted_grid_w(t, prop) - allowed_import_w
    reason = "recovery: recharging without a new monthly peak"
    for name in sorted(prop, key=lambda n: -prop[n].watts):
        w = prop[name]
        if excess <= 0:
            break
        refill = w.source is Source.MIN_SOC and storages[name].kind == "battery"
        other = not only_refill and w.source in (Source.PLAN, Source.FALLBACK, Source.PEAK)
        if w.watts > 0 and (refill or other):
            cut = min(w.watts, excess)
            w.watts -= cut
            excess -= cut
            w.source, w.reason = Source.PEAK, reason
    if not only_refill:
        guard_peak(t, prop, storages, allowed_import_w)


def dim_14a_rules(prop: Proposal, per_device_w: float) -> None:
    """§14a dimming: each controllable device draws at most ``per_device_w`` from the grid.

    Charging of every car and of the home battery is a controllable device (SteuVE); V2H
    discharge is not limited (it lowers the draw).
    """
    for w in prop.values():
        if w.watts > per_device_w:
            w.watts = per_device_w
            w.source = Source.DSO
            w.reason = f"§14a dimming: at most {per_device_w:.0f} W per device"


def hold_import_cap(
    t: Tick, prop: Proposal, storages: dict[str, Storage], cap_w: float, why: str
) -> None:  # fmt: skip
    """Keep the predicted import under ``cap_w``: charging gives way, then storage discharges."""
    give_way(t, prop, storages, predicted_grid_w(t, prop) - cap_w, Source.DSO, why)


def hold_export_cap(t: Tick, prop: Proposal, cap_w: float, why: str) -> None:
    """Storage discharge gives way when it would push export above ``cap_w`` (PV is limited
    separately through the inverter)."""
    over = -predicted_grid_w(t, prop) - cap_w
    for w in prop.values():
        if over <= 0:
            return
        if w.watts < 0:
            cut = min(-w.watts, over)
            w.watts += cut
            over -= cut
            w.source, w.reason = Source.DSO, why


# -- layer 4: electrical safety (last) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Limits:
    """Site-wide hard limits for the safety layer."""

    max_import_w: float
    max_export_w: float
    fuse_w: float | None  # per phase
    allow_export_from_storage: bool
    safe_charge_w: float


def _phase_excess(
    t: Tick, prop: Proposal, storages: dict[str, Storage], fuse_w: float
) -> list[float]:
    """Per phase, predicted import minus the fuse (positive: over the fuse)."""
    out: list[float] = []
    for ph in (1, 2, 3):
        measured = t.phase_w[ph - 1]
        if measured is None:
            out.append(-math.inf)
            continue
        pred = measured
        for name, w in prop.items():
            s = storages[name]
            phases = s.settings.phases
            if ph in phases:
                lv = t.live.get(name)
                was = lv.power_w if lv is not None and lv.online else 0.0
                pred += (w.watts - was) / len(phases)
        out.append(pred - fuse_w)
    return out


def _min_active(prop: Proposal, storages: dict[str, Storage], t: Tick, *, round_up: bool) -> None:
    for name, w in prop.items():
        s = storages[name]
        m = s.settings.min_active_w
        lv = t.live.get(name)
        keep_going = round_up and s.settings.cannot_pause and lv is not None and lv.plugged
        if abs(w.watts) >= m or (w.watts == 0.0 and not keep_going):
            continue
        if keep_going:
            w.watts = m  # the car would end its session at 0 A
            w.source, w.reason = Source.DEVICE, "the car cannot pause: minimum current"
        else:
            w.watts = 0.0
            w.source, w.reason = Source.DEVICE, f"below the device minimum of {m:.0f} W"


def safety_rules(t: Tick, prop: Proposal, storages: dict[str, Storage], lim: Limits) -> None:
    """Device limits, SoC floor, fail-safe, V2H-only, connection limit and fuse, in that order."""
    for name, w in prop.items():
        s, lv = storages[name], t.live.get(name)
        if lv is None or not controllable(s, lv):
            w.watts, w.source, w.reason = 0.0, Source.DEVICE, "device offline or unplugged"
            continue
        if w.watts > s.max_charge_w:
            w.watts, w.source, w.reason = s.max_charge_w, Source.DEVICE, "device charge limit"
        if w.watts < 0 and not can_discharge(s, lv):
            w.watts, w.source = 0.0, Source.MIN_SOC
            known = lv.soc is not None and lv.soc_known
            w.reason = f"at the {s.min_soc:.0%} minimum" if known else "SoC unknown"
        if w.watts < -s.max_discharge_w:
            w.watts, w.source = -s.max_discharge_w, Source.DEVICE
            w.reason = "device discharge limit"
        if lv.soc is not None and lv.soc >= s.max_soc and w.watts > 0:
            w.watts, w.source, w.reason = 0.0, Source.DEVICE, "full"
    _min_active(prop, storages, t, round_up=True)
    if not t.meter_ok:
        for w in prop.values():
            if w.watts < 0 or w.watts > lim.safe_charge_w:
                w.watts = 0.0 if w.watts < 0 else lim.safe_charge_w
                w.source, w.reason = Source.FAILSAFE, "meter stale: safe state"
        _min_active(prop, storages, t, round_up=False)
        return
    if not lim.allow_export_from_storage:
        _no_storage_export(t, prop)
    _connection_limit(t, prop, storages, lim)
    if lim.fuse_w is not None:
        _fuse(t, prop, storages, lim.fuse_w)
    _min_active(prop, storages, t, round_up=False)


def _no_storage_export(t: Tick, prop: Proposal) -> None:
    """V2H only: discharge never exceeds what the house and charging cars draw."""
    charging = sum(w.watts for w in prop.values() if w.watts > 0)
    room = max(0.0, t.base_w + charging)
    discharging = -sum(w.watts for w in prop.values() if w.watts < 0)
    if discharging <= room + 1e-9:
        return
    scale = room / discharging
    for w in prop.values():
        if w.watts < 0:
            w.watts *= scale
            w.source, w.reason = Source.EXPORT, "V2H only: stored energy is not exported"


def _connection_limit(t: Tick, prop: Proposal, storages: dict[str, Storage], lim: Limits) -> None:
    excess = predicted_grid_w(t, prop) - lim.max_import_w
    if excess <= 0:
        return  # both loops below would stop at once: no sort on the common path
    for name in sorted(prop, key=lambda n: -prop[n].watts):
        if excess <= 0:
            break
        w = prop[name]
        if w.watts > 0:
            cut = min(w.watts, excess)
            w.watts -= cut
            excess -= cut
            w.source, w.reason = Source.FUSE, "connection import limit"
    for name, w in prop.items():
        if excess <= 0:
            break
        s, lv = storages[name], t.live[name]
        if controllable(s, lv) and can_discharge(s, lv):
            add = min(s.max_discharge_w + w.watts, excess)
            if add > 0:
                w.watts -= add
                excess -= add
                w.source, w.reason = Source.FUSE, "discharging to stay under the import limit"
    over_export = -predicted_grid_w(t, prop) - lim.max_export_w
    for w in prop.values():
        if over_export <= 0:
            break
        if w.watts < 0:
            cut = min(-w.watts, over_export)
            w.watts += cut
            over_export -= cut
            w.source, w.reason = Source.FUSE, "connection export limit"


def _fuse(t: Tick, prop: Proposal, storages: dict[str, Storage], fuse_w: float) -> None:
    for _ in range(3):  # a device on several phases relieves all of them: re-check
        excess = _phase_excess(t, prop, storages, fuse_w)
        worst = max(excess)
        if worst <= 1e-6:
            return
        ph = excess.index(worst) + 1
        users = [n for n in prop if ph in storages[n].settings.phases]
        for name in sorted(users, key=lambda n: -prop[n].watts):
            w, n_ph = prop[name], len(storages[name].settings.phases)
            if worst <= 0:
                break
            if w.watts > 0:
                cut = min(w.watts, worst * n_ph)
                w.watts -= cut
                worst -= cut / n_ph
                w.source, w.reason = Source.FUSE, f"fuse on L{ph}"
        for name in users:
            if worst <= 0:
                break
            s, lv, w = storages[name], t.live[name], prop[name]
            if controllable(s, lv) and can_discharge(s, lv):
                n_ph = len(s.settings.phases)
                add = min(s.max_discharge_w + w.watts, worst * n_ph)
                if add > 0:
                    w.watts -= add
                    worst -= add / n_ph
                    w.source, w.reason = Source.FUSE, f"discharging to relieve the fuse on L{ph}"
