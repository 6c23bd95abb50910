"""The one error type every price parser and validator raises.

Callers (the planner loop, the Home Assistant integration, the CLI) catch exactly
:class:`PriceDataError`; anything else escaping a parser is a bug. A wrong price must never turn
into a silently wrong plan, so every rejection says what was wrong and where, in one line.
"""

from __future__ import annotations

from typing import Literal

#: What went wrong. ``format``: not a recognised payload or a malformed field; ``gap``/``overlap``/
#: ``duplicate``: the time axis is broken; ``nan``: a missing or non-finite value; ``magnitude``: a
#: value far outside plausible retail/spot prices (usually the wrong unit, e.g. €/MWh read as
#: €/kWh or cents as euros); ``stale``: nothing for the current slot or later; ``incomplete``: a day
#: that must be complete (e.g. "tomorrow") is not; ``alignment``: intervals that do not sit on the
#: 15-minute clock grid; ``tariff``: an invalid tariff template or formula.
ErrorKind = Literal[
    "format",
    "gap",
    "overlap",
    "duplicate",
    "nan",
    "magnitude",
    "stale",
    "incomplete",
    "alignment",
    "tariff",
]


class PriceDataError(ValueError):
    """Price data or a tariff definition that cannot be used safely.

    ``kind`` classifies the problem (see :data:`ErrorKind`); ``str(err)`` is a one-line message
    meant for a user ("gap in prices: nothing from 2026-03-29T10:00Z to 11:00Z").
    """

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind

    def __str__(self) -> str:
        return " ".join(str(self.args[0]).split())
