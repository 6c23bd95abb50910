"""A backup gateway / automatic transfer switch and a grid that fails on a schedule (sans-IO).

Written from how the products and grid codes describe the transfer (see
``shared/reference/tariffs-wear-mpc-backup.md`` §4.1), not from the HEMS code:

- loss of mains opens the switch within ``transfer_s`` (0: seamless, as the gateways with a
  UPS-class switch-over of a few ms; a Quasar-style break is a few seconds);
- the switch stays open until the grid has been back and within limits for
  ``reconnect_delay_s`` (EN 50549-1 / VDE-AR-N 4105: ≥ 60 s), then the grid-former
  synchronises for ``resync_s`` and closes;
- the gateway reports the grid-side state it measures (voltage and frequency), whether the
  island is formed, the load it carries, the island source and its continuous limit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..devices.backup_gateway import GatewayStatus


@dataclass(frozen=True, slots=True)
class GridSchedule:
    """Outages as (start, end) epoch seconds; the grid is up outside them."""

    outages: Sequence[tuple[float, float]]

    def up(self, t_s: float) -> bool:
        """Whether the grid is up at ``t_s``."""
        return not any(a <= t_s < b for a, b in self.outages)


class GatewaySim:
    """The transfer switch's state over time; :meth:`step` once per simulated tick."""

    def __init__(
        self,
        grid: GridSchedule,
        *,
        source: str,
        limit_w: float,
        transfer_s: float = 0.0,
        reconnect_delay_s: float = 60.0,
        resync_s: float = 5.0,
    ) -> None:
        self.grid = grid
        self.source = source
        self.limit_w = limit_w
        self.transfer_s = transfer_s
        self.reconnect_delay_s = reconnect_delay_s
        self.resync_s = resync_s
        self.closed = True
        self._lost_at: float | None = None
        self._back_at: float | None = None
        self.load_w = 0.0
        self.grid_up = True
        self.transfers = 0
        self.reconnections = 0

    @property
    def island(self) -> bool:
        """The island is formed (switch open)."""
        return not self.closed

    def step(self, t_s: float) -> None:
        """Advance the switch: open on loss of mains, close after the delay and the resync."""
        self.grid_up = up = self.grid.up(t_s)
        if self.closed:
            if up:
                self._lost_at = None
                return
            if self._lost_at is None:
                self._lost_at = t_s
            if t_s - self._lost_at >= self.transfer_s:
                self.closed = False
                self.transfers += 1
                self._back_at = None
            return
        if not up:
            self._back_at = None  # a flap restarts the reconnection delay
            return
        if self._back_at is None:
            self._back_at = t_s
        if t_s - self._back_at >= self.reconnect_delay_s + self.resync_s:
            self.closed = True
            self.reconnections += 1
            self._lost_at = None

    def status(self) -> GatewayStatus:
        """What the gateway reports now."""
        return GatewayStatus(
            grid_ok=self.grid_up,
            island=not self.closed,
            voltage_v=230.0 if self.grid_up else 0.0,
            frequency_hz=50.0 if self.grid_up else None,
            backup_load_w=self.load_w,
            island_source=self.source,
            island_limit_w=self.limit_w,
        )

    def status_json(self) -> bytes:
        """The status as the JSON a bridge would publish (``backup_gateway.decode_status``)."""
        st = self.status()
        return json.dumps({
            "grid": st.grid_ok, "island": st.island, "voltage_v": st.voltage_v,
            "frequency_hz": st.frequency_hz, "backup_load_w": st.backup_load_w,
            "source": st.island_source, "limit_w": st.island_limit_w,
        }).encode()  # fmt: skip

    async def read_status(self) -> GatewayStatus:
        """The :class:`~hems_core.devices.backup_gateway.BackupGateway` interface."""
        return self.status()
