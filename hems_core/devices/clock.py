"""Injectable clocks.

Drivers never sleep to wait for time to pass: back-off and staleness are decided by comparing
``clock()`` readings, so tests advance a :class:`ManualClock` instead of waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: A clock returns seconds (monotonic or epoch; only differences matter to the device layer).
Clock = Callable[[], float]


def monotonic_clock() -> float:
    """The default clock of drivers: monotonic seconds."""
    return time.monotonic()


class ManualClock:
    """A clock that only moves when told to (tests, simulations faster than real time)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward; time never goes backwards."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds

    def set(self, now: float) -> None:
        """Jump to an absolute time that is not earlier than the current one."""
        if now < self._now:
            raise ValueError("a clock cannot go backwards")
        self._now = float(now)
