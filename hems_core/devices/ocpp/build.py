"""OCPP drivers from the site configuration: one shared CSMS per listening address.

Several chargers can talk to one CSMS (each with its own identity and password), so the
configuration's OCPP wallboxes are grouped by ``(host, port)`` and each group gets one
:class:`~hems_core.devices.ocpp.csms.OcppCsms`. Charging profiles carry wall-clock times
(``startSchedule``), so a monotonic device clock is replaced by ``time.time``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..clock import Clock, monotonic_clock
from ..model import WallboxLimits
from .csms import CsmsConfig, OcppCsms
from .wallbox import OcppWallbox, OcppWallboxConfig


def build_wallboxes(
    entries: Mapping[str, tuple[Any, float, float]], *, clock: Clock = monotonic_clock
) -> dict[str, OcppWallbox]:
    """``{car: (endpoint, max_charge_w, max_discharge_w)}`` → un-started OCPP drivers.

    ``endpoint`` is a :class:`hems_core.config.EndpointConfig` of type ``ocpp``; a driver's
    :meth:`~OcppWallbox.connect` starts the shared server.
    """
    wall: Clock = time.time if clock is monotonic_clock else clock
    groups: dict[tuple[str, int], list[str]] = {}
    for name, (ep, _, _) in entries.items():
        groups.setdefault((ep.host, ep.port), []).append(name)
    out: dict[str, OcppWallbox] = {}
    for (host, port), names in groups.items():
        opts = [entries[n][0].options for n in names]
        first = opts[0]
        cfg = CsmsConfig(
            host=host,
            port=port,
            identities={o["identity"]: o["password"] for o in opts},
            id_tokens=first.get("id_tokens"),
            certfile=first.get("certfile"),
            keyfile=first.get("keyfile"),
        )
        csms = OcppCsms(cfg, clock=wall)
        for n, o in zip(names, opts, strict=True):
            _, charge_w, discharge_w = entries[n]
            wcfg = OcppWallboxConfig(
                identity=o["identity"],
                limits=WallboxLimits(max_charge_w=charge_w, max_discharge_w=discharge_w),
                safe_limit_w=min(o["safe_limit_w"], charge_w),
                offline_timeout_s=o["offline_timeout_s"],
            )
            out[n] = OcppWallbox(csms, wcfg, clock=wall)
    return out
