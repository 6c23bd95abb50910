"""Run ``hems_core``'s control Runtime for a config entry (glue: every decision is the core's).

The site document (``docs/configuration.md``) is parsed by ``hems_core.config``; the runtime it
builds reads the devices, lets ``ControlCore`` decide, writes setpoints and solves plans in its own
executor thread. Here we only pace the ticks on Home Assistant's loop, tell entities after each
tick, turn core events into bus events, and on unload stop the loop, hand the devices back and
close their connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

import numpy as np
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from hems_core.config import SiteConfig, parse_config
from hems_core.control import outlook
from hems_core.control.core import CoreStatus
from hems_core.control.planning import Forecast, peak_margin_kw
from hems_core.control.runtime import Runtime
from hems_core.control.types import Event, Mode, StorageObs
from hems_core.forecast import QuantileForecast

from .const import (
    DOMAIN,
    EVENT_HEMS,
    PRICE_HORIZON_HOURS,
    STATUS_BOOST,
    STATUS_FAIL_SAFE,
    STATUS_FALLBACK,
    STATUS_FOLLOWING,
    STATUS_ISLAND,
    STATUS_OFF,
    STATUS_PLANNING,
)
from .entity_device import meter_factories, wallbox_factories

_LOGGER = logging.getLogger(__name__)

#: Core events that automations care about, under the names the README documents.
EVENT_KINDS = {
    "device_lost": "device_unreachable",
    "device_recovered": "device_recovered",
    "failsafe": "fail_safe_entered",
    "failsafe_cleared": "fail_safe_left",
}


STEP_S = 900
STORE_VERSION = 1
#: Seconds between saves of the core's snapshot (energy counters, month peak, SoC estimates).
SAVE_DELAY_S = 300
#: Seconds unload waits for a running solve to finish.
SOLVE_WAIT_S = 30.0


def _from(start: datetime, values: Any, at: datetime) -> Any:
    """``values`` (per quarter from ``start``) from the quarter ``at`` on; None if not covered."""
    i = int((at - start).total_seconds() // STEP_S)
    if i < 0 or i >= len(values):
        return None
    return np.asarray(values[i:], dtype=float)


def forecast_from(
    now: datetime,
    import_price: tuple[datetime, Any] | None,
    export_price: tuple[datetime, Any] | None,
    load: QuantileForecast | None,
    pv: QuantileForecast | None,
) -> Forecast | None:
    """The core's Forecast from the coordinators' series, cut to what all of them cover.

    No prices, no plan (the core's rule-based fallback runs); a missing PV forecast is zero.
    The peak margin comes from the load's p90 and the PV's p10 (the core's rule, not ours).
    """
    if import_price is None or export_price is None or load is None:
        return None
    start = datetime.fromtimestamp(now.timestamp() // STEP_S * STEP_S, UTC)
    imp = _from(*import_price, start)
    exp = _from(*export_price, start)
    ld = _from(load.start, load.p50, start)
    ld90 = _from(load.start, load.p90, start)
    pvk = pv10 = np.zeros(len(ld)) if ld is not None else None
    if pv is not None and (p := _from(pv.start, pv.p50, start)) is not None:
        pvk, pv10 = p, _from(pv.start, pv.p10, start)
    if imp is None or exp is None or ld is None or ld90 is None or pvk is None or pv10 is None:
        return None
    n = min(len(imp), len(exp), len(ld), len(pvk), PRICE_HORIZON_HOURS * 4)
    if n < 4:
        return None
    margin = peak_margin_kw(ld[:n], ld90[:n], pvk[:n], pv10[:n])
    return Forecast(
        start, imp[:n], exp[:n], ld[:n], pvk[:n], source="home_assistant", peak_margin_kw=margin
    )


def site_config(raw: Mapping[str, Any]) -> SiteConfig:
    """Parse the entry's site document (SiteConfigError names the bad field)."""
    return parse_config(raw)


def status_events(prev: CoreStatus | None, st: CoreStatus) -> list[tuple[str, dict[str, Any]]]:
    """Bus events for what changed between two statuses (the core decided; we only compare).

    ``boost_started``/``boost_ended`` per car, ``plan_changed`` on a new plan,
    ``departure_target_at_risk`` when a car's next departure turns at risk (once per
    departure), ``island_mode_changed`` when the island machine moves.
    """
    out: list[tuple[str, dict[str, Any]]] = []
    before = set() if prev is None else set(prev.boosts)
    for car in sorted(set(st.boosts) - before):
        out.append(("boost_started", {"car": car}))
    for car in sorted(before - set(st.boosts)):
        out.append(("boost_ended", {"car": car}))
    if st.plan_seq is not None and (prev is None or st.plan_seq != prev.plan_seq):
        out.append(("plan_changed", {"plan_seq": st.plan_seq}))
    for car, dep in st.departures.items():
        was = None if prev is None else prev.departures.get(car)
        if dep.state == outlook.AT_RISK and (
            was is None or was.state != outlook.AT_RISK or was.at != dep.at
        ):
            soc = st.socs.get(car)
            out.append(
                (
                    "departure_target_at_risk",
                    {
                        "car": car,
                        "departure": dep.at.isoformat(),
                        "target_soc": round(dep.target_soc * 100.0, 1),
                        "expected_soc": None
                        if dep.expected_soc is None
                        else round(dep.expected_soc * 100.0, 1),
                        "soc": None if soc is None else round(soc * 100.0, 1),
                    },
                )
            )
    if prev is not None and st.island_state != prev.island_state:
        out.append(
            ("island_mode_changed", {"state": st.island_state, "previous": prev.island_state})
        )
    return out


def status_of(st: CoreStatus, solving: bool) -> str:
    """One word for the status sensor, most important first."""
    if st.mode is Mode.OFF:
        return STATUS_OFF
    if st.failsafe:
        return STATUS_FAIL_SAFE
    if st.island_state != "grid_connected":
        return STATUS_ISLAND
    if st.boosts:
        return STATUS_BOOST
    if st.plan_source == "optimiser":
        return STATUS_FOLLOWING
    if solving:
        return STATUS_PLANNING
    return STATUS_FALLBACK


class HemsControl:
    """One site's running control loop inside Home Assistant."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        config: SiteConfig,
        interval_s: float,
        title: str = "HEMS",
    ) -> None:
        """Keep what the loop needs; nothing connects until :meth:`async_start`."""
        self.hass = hass
        self.entry_id = entry_id
        self.title = title
        self._issues: set[str] = set()
        self.config = config
        self.interval_s = interval_s
        self.runtime: Runtime | None = None
        self.cars: tuple[str, ...] = tuple(c.name for c in config.cars)
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[], None]] = []
        self._last: CoreStatus | None = None
        self._outlook: tuple[tuple[int | None, int], dict[str, Any]] | None = None
        self._store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, f"hems.{entry_id}")

    async def async_start(self) -> None:
        """Build drivers and planner off the loop (imports the solver), connect, start ticking."""
        restore = await self._store.async_load()
        runtime = await self.hass.async_add_executor_job(self._build, restore)
        self.runtime = runtime
        # MQTT/OCPP sessions, meter and gateway; an unreachable meter or gateway: set-up retries
        await runtime.connect()
        await runtime.start()
        self._task = self.hass.async_create_background_task(
            self._loop(runtime), f"hems control {self.entry_id}"
        )

    def _build(self, restore: dict[str, Any] | None) -> Runtime:
        return self.config.runtime(
            restore=restore,
            on_event=self._on_event_threadsafe,
            wallbox_factories=wallbox_factories(self.hass),
            meter_factories=meter_factories(self.hass),
        )

    def _snapshot(self) -> dict[str, Any]:
        assert self.runtime is not None
        return self.runtime.core.snapshot()

    async def _loop(self, runtime: Runtime) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                await runtime.tick()
            except Exception:  # one bad tick must never end the loop
                _LOGGER.exception("control tick failed")
            self._after_tick()
            self._store.async_delay_save(self._snapshot, SAVE_DELAY_S)
            wait = max(0.0, self.interval_s - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)

    async def async_stop(self) -> None:
        """Stop ticking, hand every device back (power 0) and close the connections."""
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        runtime = self.runtime
        if runtime is None:
            return
        await runtime.close()
        # A solve still running ends on its own (the executor takes no new ones): wait for it
        # so the unloaded site leaves no thread behind.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                self.hass.async_add_executor_job(partial(runtime.executor.shutdown, wait=True)),
                SOLVE_WAIT_S,
            )
        await self._store.async_save(self._snapshot())
        for issue in self._issues:
            ir.async_delete_issue(self.hass, DOMAIN, issue)
        self._issues.clear()
        for drv in [runtime.meter, *(d.driver for d in runtime.devices.values())]:
            await _close(drv)
        if runtime.gateway is not None:
            await _close(runtime.gateway)
        if runtime.pv is not None:
            await _close(runtime.pv.driver)

    # -- what entities and actions use -----------------------------------------------------

    @callback
    def async_add_listener(self, update: Callable[[], None]) -> Callable[[], None]:
        """Call ``update`` after every tick; returns the remover."""
        self._listeners.append(update)
        return lambda: self._listeners.remove(update)

    def status(self) -> CoreStatus | None:
        """The core's status now, None before the runtime exists."""
        if self.runtime is None:
            return None
        return self.runtime.core.status(self.runtime.now())

    @property
    def state(self) -> str | None:
        """The status sensor's word."""
        st = self.status()
        if st is None or self.runtime is None:
            return None
        solving = self.runtime._solving is not None and not self.runtime._solving.done()
        return status_of(st, solving)

    @callback
    def async_set_forecast(self, forecast: Forecast | None) -> None:
        """New prices or forecasts from the coordinators: the core re-plans on its next tick."""
        if forecast is None or self.runtime is None:
            return
        self.runtime.core.set_forecast(self.runtime.now(), forecast)

    def device(self, name: str) -> StorageObs | None:
        """The newest read of a car's charger (None before the first good read)."""
        if self.runtime is None or name not in self.runtime.devices:
            return None
        last = self.runtime.devices[name].last
        return last if isinstance(last, StorageObs) else None

    def require_runtime(self) -> Runtime:
        """The runtime, for actions (raises when the site is not running)."""
        if self.runtime is None:
            raise RuntimeError("the control loop is not running")
        return self.runtime

    def outlook(self) -> dict[str, Any]:
        """The plan's read-outs (``hems_core.control.outlook``), kept per plan and minute.

        ``next_action``, ``cost_today``/``cost_tomorrow`` (:func:`outlook.day_costs`),
        ``savings`` (:func:`outlook.savings_vs_plug_in`); empty before the runtime exists.
        """
        rt = self.runtime
        if rt is None:
            return {}
        core = rt.core
        now = rt.now()
        t_s = now.timestamp()
        key = (None if core.plan is None else core.plan.seq, int(t_s // 60))
        if self._outlook is not None and self._outlook[0] == key:
            return self._outlook[1]
        today, tomorrow = outlook.day_costs(core.plan, t_s, core.tz)
        caps = {n: s.max_charge_w / 1000.0 for n, s in core.storages.items() if s.kind == "ev"}
        data: dict[str, Any] = {
            "next_action": outlook.next_action(core.plan, t_s),
            "cost_today": today,
            "cost_tomorrow": tomorrow,
            "savings": outlook.savings_vs_plug_in(core.plan, t_s, caps),
        }
        self._outlook = (key, data)
        return data

    def planned_power(self, car: str) -> tuple[float | None, ...]:
        """A car's planned power (W) in the running step and the next."""
        rt = self.runtime
        if rt is None:
            return (None, None)
        return outlook.planned_power_w(rt.core.plan, car, rt.now().timestamp())

    @callback
    def async_changed(self) -> None:
        """An owner's setting reached the core: save soon (survives a restart), tell entities."""
        if self.runtime is not None:
            self._store.async_delay_save(self._snapshot, 1)
        for update in list(self._listeners):
            update()

    @callback
    def _after_tick(self) -> None:
        st = self.status()
        if st is not None:
            for kind, data in status_events(self._last, st):
                self._fire(kind, **data)
            self._last = st
        for update in list(self._listeners):
            update()

    def _on_event_threadsafe(self, ev: Event) -> None:
        # Core events arrive on the loop (from tick/solve tasks); stay safe if not.
        self.hass.loop.call_soon_threadsafe(self._on_event, ev)

    @callback
    def _on_event(self, ev: Event) -> None:
        kind = EVENT_KINDS.get(ev.kind)
        if kind is not None:
            self._fire(kind, message=ev.message, device=ev.device)
        # Repairs: raised while a device or the meter is gone, cleared when it is back.
        if ev.kind == "device_lost" and ev.device is not None:
            self._raise(f"device_unreachable_{ev.device}", "device_unreachable", ev.device)
        elif ev.kind == "device_recovered" and ev.device is not None:
            self._clear(f"device_unreachable_{ev.device}")
        elif ev.kind == "failsafe" and "meter" in ev.message:
            self._raise("p1_silent", "p1_silent", "meter")
        elif ev.kind == "failsafe_cleared":
            self._clear("p1_silent")

    @callback
    def async_check_prices(self, configured: bool) -> None:
        """Without a price source the core only runs its rule-based fallback: say so, fixably."""
        issue = self._issue_id("no_price_source")
        if configured:
            self._clear("no_price_source")
            return
        self._issues.add(issue)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue,
            is_fixable=True,
            data={"entry_id": self.entry_id},
            severity=ir.IssueSeverity.WARNING,
            translation_key="no_price_source",
            translation_placeholders={"site": self.title},
        )

    def _issue_id(self, key: str) -> str:
        return f"{self.entry_id}_{key}"

    @callback
    def _raise(self, key: str, translation_key: str, device: str) -> None:
        issue = self._issue_id(key)
        self._issues.add(issue)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=translation_key,
            translation_placeholders={"site": self.title, "device": device},
        )

    @callback
    def _clear(self, key: str) -> None:
        issue = self._issue_id(key)
        if issue in self._issues:
            self._issues.discard(issue)
            ir.async_delete_issue(self.hass, DOMAIN, issue)

    @callback
    def _fire(self, kind: str, **data: Any) -> None:
        self.hass.bus.async_fire(EVENT_HEMS, {"entry_id": self.entry_id, "type": kind, **data})


async def _close(driver: Any) -> None:
    """Close a driver's connection where it has one (never raises: unload must finish)."""
    for name in ("close", "disconnect"):
        fn = getattr(driver, name, None)
        if fn is None:
            continue
        try:
            result = fn()
            if asyncio.iscoroutine(result):
                await asyncio.wait_for(result, 5.0)
        except Exception as err:  # a dead link must not block unload
            _LOGGER.debug("closing %s: %s", type(driver).__name__, err)
        return
    client = getattr(driver, "client", None)
    if client is not None and client is not driver:
        await _close(client)
