"""The plan card: serve the bundled Lovelace card and load it on every dashboard.

The card ships inside the integration (``frontend/hems-plan-card.js``), so HACS users get it with
the integration and need no separate plugin or manual resource step. ``add_extra_js_url`` loads
the module on every frontend page, which registers the custom element and its card-picker entry.
A small websocket command gives the card what ``hems.get_plan`` does not carry: each storage's
SoC limits, live SoC and departures, and the entity ids of the site's status and boost entities.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from homeassistant.components import websocket_api
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_COMPONENT_LOADED
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

from .const import DOMAIN
from .schema import vol

if TYPE_CHECKING:
    from . import HemsConfigEntry

_LOGGER = logging.getLogger(__name__)

CARD_FILE = Path(__file__).parent / "frontend" / "hems-plan-card.js"
#: Outside ``/api`` (no auth needed for a static module) and unique to this integration.
CARD_URL_BASE = f"/{DOMAIN}_static"
CARD_URL = f"{CARD_URL_BASE}/hems-plan-card.js"
WS_CARD_INFO = f"{DOMAIN}/card_info"
#: hass.data key: the versioned module URL once it is registered with the frontend.
DATA_CARD = f"{DOMAIN}_card"
#: How far ahead departures are listed (the card shows at most 48 h).
DEPARTURE_HORIZON_S = 48 * 3600.0


def _card_version(path: Path) -> str:
    """A content hash for the URL, so browsers fetch a new bundle after an update."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


async def async_setup_card(hass: HomeAssistant) -> None:
    """Serve the bundle, add it to the frontend's extra modules and register ``card_info``.

    ``http`` and ``frontend`` are normally loaded before any integration; where one is not yet
    (or not at all, as in a bare test harness) the step waits for it instead of failing setup.
    """
    websocket_api.async_register_command(hass, ws_card_info)
    if not CARD_FILE.is_file():
        _LOGGER.warning("The plan card's bundle %s is missing; the card is not served", CARD_FILE)
        return
    version = await hass.async_add_executor_job(_card_version, CARD_FILE)
    url = f"{CARD_URL}?v={version}"
    state: dict[str, bool] = {"served": False, "added": False}
    unsubs: list[Any] = []

    async def _try() -> None:
        if not state["served"] and getattr(hass, "http", None) is not None:
            await _serve(hass)
            state["served"] = True
        if state["served"] and not state["added"] and "frontend" in hass.config.components:
            from homeassistant.components.frontend import add_extra_js_url

            add_extra_js_url(hass, url)
            hass.data[DATA_CARD] = url
            state["added"] = True
            while unsubs:
                unsubs.pop()()

    await _try()
    if state["added"]:
        return

    @callback
    def _loaded(event: Event[Any]) -> None:
        if event.data.get("component") in ("http", "frontend"):
            hass.async_create_task(_try())

    unsubs.append(hass.bus.async_listen(EVENT_COMPONENT_LOADED, _loaded))


async def _serve(hass: HomeAssistant) -> None:
    """Register the static path (``async_register_static_paths``: 2024.7 on, the only API in
    2026.x; ``StaticPathConfig`` moved to ``http.server`` but is still re-exported)."""
    from homeassistant.components.http import (  # type: ignore[attr-defined, unused-ignore]
        StaticPathConfig,
    )

    await hass.http.async_register_static_paths([StaticPathConfig(CARD_URL, str(CARD_FILE), True)])


def _entities(hass: HomeAssistant, entry_id: str) -> dict[str, str]:
    """Entity ids by the key after ``<entry_id>_`` in their unique id (``status``,
    ``<car>_boost_active``, ``<car>_boost``…): the card needs no entity names."""
    prefix = f"{entry_id}_"
    out: dict[str, str] = {}
    for ent in er.async_entries_for_config_entry(er.async_get(hass), entry_id):
        if ent.unique_id.startswith(prefix):
            out[f"{ent.domain}.{ent.unique_id[len(prefix) :]}"] = ent.entity_id
    return out


def card_info(hass: HomeAssistant, entry: HemsConfigEntry) -> dict[str, Any]:
    """Limits, live SoC and departures of every storage, plus the site's entity ids."""
    info: dict[str, Any] = {
        "title": entry.title,
        "entities": _entities(hass, entry.entry_id),
        "storages": [],
    }
    if entry.state is not ConfigEntryState.LOADED:
        return info
    control = entry.runtime_data.control
    rt = None if control is None else control.runtime
    if rt is None:
        return info
    core = rt.core
    now = rt.now()
    socs = core.status(now).socs
    until = now.timestamp() + DEPARTURE_HORIZON_S
    for name, s in core.storages.items():
        departures: list[dict[str, Any]] = []
        sched = core.departures.get(name)
        if sched is not None and s.kind == "ev":
            for when, target in sched.departures(now, datetime.fromtimestamp(until, UTC)):
                departures.append({"at": when.isoformat(), "target_soc": target})
        info["storages"].append(
            {
                "name": name,
                "kind": s.kind,
                "capacity_kwh": s.capacity_kwh,
                "min_soc": s.min_soc,
                "max_soc": s.max_soc,
                "soc": socs.get(name),
                "boost": name in core.boosts,
                "departures": departures,
            }
        )
    return info


@websocket_command({vol.Required("type"): WS_CARD_INFO, vol.Optional("config_entry_id"): str})
@callback
def ws_card_info(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """``hems/card_info``: one site's card facts; without an id, the list of HEMS sites."""
    entries = hass.config_entries.async_entries(DOMAIN)
    entry_id = msg.get("config_entry_id")
    if entry_id is None:
        connection.send_result(
            msg["id"], {"entries": [{"entry_id": e.entry_id, "title": e.title} for e in entries]}
        )
        return
    for entry in entries:
        if entry.entry_id == entry_id:
            hems_entry: HemsConfigEntry = entry
            connection.send_result(msg["id"], card_info(hass, hems_entry))
            return
    connection.send_error(msg["id"], "not_found", f"no HEMS site with entry id {entry_id}")
