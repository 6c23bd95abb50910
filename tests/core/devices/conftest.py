"""Fixtures for device tests: a real mosquitto broker on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hems_core.sim.broker import MosquittoBroker, find_mosquitto


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    """A mosquitto broker (listener 127.0.0.1, anonymous) for the whole session."""
    if find_mosquitto() is None:
        pytest.skip("mosquitto binary not installed (apt-get install mosquitto)")
    broker = MosquittoBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
