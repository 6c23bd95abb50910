"""The schema library of the running Home Assistant.

HA 2026.x validates with probatio (a voluptuous-compatible API) and types flows against it;
older releases use voluptuous. Import ``vol`` from here so both type-check and run.
"""

from __future__ import annotations

try:
    import probatio as vol  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # Home Assistant before probatio
    import voluptuous as vol  # type: ignore[no-redef, unused-ignore]

__all__ = ["vol"]
