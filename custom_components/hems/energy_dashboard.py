"""What this Home Assistant's Energy dashboard can take, detected rather than assumed by version.

The dashboard's battery source took energy in/out counters only up to 2025.11; 2025.12 added
its power (``stat_rate``: positive discharges) and 2026.6 the battery's state of charge
(``stat_soc``; both verified in 2026.10.4's ``energy/data.py``). We look at the keys the
installed ``energy`` component declares for a battery source, so one code base runs on 2025.4
(neither) and 2026.10 (both): the car's dashboard-power sensor exists only where the dashboard
can use it.
"""

from __future__ import annotations

import contextlib
from typing import Any


def battery_source_keys(source_type: Any = None, schema: Any = None) -> frozenset[str]:
    """The keys a battery source may carry here: its TypedDict's and its voluptuous schema's."""
    if source_type is None and schema is None:
        try:
            from homeassistant.components.energy import data
        except ImportError:  # pragma: no cover - energy is a core component
            return frozenset()
        source_type = getattr(data, "BatterySourceType", None)
        schema = getattr(data, "BATTERY_SOURCE_SCHEMA", None)
    keys: set[str] = set()
    # voluptuous (2025.4) and probatio (2026.10) both keep the mapping in ``.schema``; a
    # schema that is no mapping leaves the TypedDict to tell.
    with contextlib.suppress(TypeError):
        keys |= {str(k) for k in getattr(schema, "schema", None) or {}}
    for attr in ("__required_keys__", "__optional_keys__"):
        keys |= set(getattr(source_type, attr, ()))
    annotations = getattr(source_type, "__annotations__", {})
    keys |= set(annotations)
    return frozenset(keys)


def energy_features(source_type: Any = None, schema: Any = None) -> frozenset[str]:
    """``stat_rate`` (battery power, 2025.12) and ``stat_soc`` (battery SoC, 2026.6) if known."""
    keys = battery_source_keys(source_type, schema)
    return frozenset(k for k in ("stat_rate", "stat_soc") if k in keys)


ENERGY_FEATURES = energy_features()
