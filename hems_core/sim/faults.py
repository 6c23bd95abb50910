"""Fault injection shared by every simulator.

A :class:`Faults` object is mutable on purpose: a test flips a fault on, checks that the
driver raises its typed error, flips it off and checks that the driver recovers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Faults:
    """What a simulator should do wrong right now (all off by default)."""

    #: stop listening: new connections are refused by the OS
    refuse_connections: bool = False
    #: accept, then close the connection as soon as a request arrives
    drop_connections: bool = False
    #: hold every answer this many seconds (beyond the client's timeout = a hang)
    delay_s: float = 0.0
    #: answer every request with this Modbus exception code
    exception_code: int | None = None
    #: answer with random bytes instead of a frame
    garbage: bool = False
    #: P1: publish telegrams with a wrong CRC
    bad_crc: bool = False
    #: values stop updating (a frozen gateway or meter)
    frozen: bool = False

    def clear(self) -> None:
        """Switch every fault off."""
        self.refuse_connections = False
        self.drop_connections = False
        self.delay_s = 0.0
        self.exception_code = None
        self.garbage = False
        self.bad_crc = False
        self.frozen = False
