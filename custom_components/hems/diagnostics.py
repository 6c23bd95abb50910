"""Diagnostics for bug reports: config, core status, runtime counters; secrets redacted."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED, async_redact_data
from homeassistant.core import HomeAssistant

from . import HemsConfigEntry

#: Hosts, credentials, serials, identities and coordinates never leave the house.
TO_REDACT = {
    "host",
    "username",
    "password",
    "token",
    "api_key",
    "serial",
    "serial_number",
    "identity",
    "id_tokens",
    "certfile",
    "keyfile",
    "latitude",
    "longitude",
    "unique_id",
    # MQTT topics often carry a serial or the owner's name (the gateway's, a bridge's).
    "topic",
    "topics",
}


_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


def _hosts(value: Any) -> set[str]:
    """Every ``host`` in a (plain) site document: event messages may name them."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "host" and isinstance(v, str) and v:
                found.add(v)
            else:
                found |= _hosts(v)
    elif isinstance(value, list):
        for v in value:
            found |= _hosts(v)
    return found


def _scrub(text: str, hosts: set[str]) -> str:
    """An event message without addresses (a driver error often quotes host:port)."""
    for host in sorted(hosts, key=len, reverse=True):
        text = text.replace(host, REDACTED)
    return _IPV4.sub(REDACTED, text)


def _plain(value: Any) -> Any:
    """JSON-able: dataclasses to dicts, datetimes and enums to strings."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: HemsConfigEntry
) -> dict[str, Any]:
    """The entry (redacted), the control loop's status and counters."""
    data: dict[str, Any] = {
        "entry": async_redact_data(
            {"title": entry.title, "data": dict(entry.data), "options": dict(entry.options)},
            TO_REDACT,
        ),
        # The devices live in subentries (hosts, serials, tokens redacted like the options).
        "subentries": [
            async_redact_data(
                {"type": sub.subentry_type, "title": sub.title, "data": dict(sub.data)},
                TO_REDACT,
            )
            for sub in entry.subentries.values()
        ],
        "core_version": entry.runtime_data.core_version,
        "status": entry.runtime_data.status,
    }
    control = entry.runtime_data.control
    if control is not None and control.runtime is not None:
        rt = control.runtime
        st = rt.core.status(rt.now())
        hosts = _hosts(_plain(control.config))
        events = [_plain(e) for e in rt.events[-50:]]
        for ev in events:
            ev["message"] = _scrub(str(ev.get("message", "")), hosts)
        data["control"] = {
            "core": _plain(st),
            "stats": {
                k: v
                for k, v in _plain(rt.stats).items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            },
            "events": events,
        }
    return data
