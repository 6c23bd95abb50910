"""Alias of the bench's synthetic cases in :mod:`hems_core.scenario` (no code of its own).

Kept only so modules not yet switched keep importing; new code imports ``hems_core.scenario``.
"""

from __future__ import annotations

from ..scenario import (
    DEFAULT_START,
    case_a_site,
    case_b_site,
    case_state,
    profile_inputs,
    receding_inputs,
)

__all__ = [
    "DEFAULT_START",
    "case_a_site",
    "case_b_site",
    "case_state",
    "profile_inputs",
    "receding_inputs",
]
