"""OCPP 1.6J / 2.0.1 / 2.1: a local CSMS and a wallbox driver on top of it.

- :mod:`.session` — the sans-IO protocol state of one station (frames in, frames out);
- :mod:`.csms` — the websocket server (security profiles 1 and 2) around the sessions;
- :mod:`.wallbox` — :class:`OcppWallbox`, a :class:`~hems_core.devices.model.Wallbox` that
  sends charging profiles (2.1: V2X setpoints) and programs the station's safe fallback.

Importing this package needs nothing beyond the core; starting the CSMS or checking a frame
needs the extra ``pip install 'hems-core[ocpp]'`` (``ocpp`` ≥ 2.1 for the 2.1 schemas,
``websockets`` ≥ 13 for its ``asyncio`` API) and raises a clear ImportError without it.
"""

from ._schema import INSTALL_HINT, SUBPROTOCOLS, OcppError, require_ocpp
from .csms import CsmsConfig, OcppCsms
from .session import CsmsSession, EvChargingNeeds, Received, StationState
from .wallbox import OcppWallbox, OcppWallboxConfig

__all__ = [
    "INSTALL_HINT",
    "SUBPROTOCOLS",
    "CsmsConfig",
    "CsmsSession",
    "EvChargingNeeds",
    "OcppCsms",
    "OcppError",
    "OcppWallbox",
    "OcppWallboxConfig",
    "Received",
    "StationState",
    "require_ocpp",
]
