"""Fixtures shared by the core tests: a real MQTT broker on a free loopback port.

``mosquitto`` is the system broker (required in CI); ``mqtt_broker`` runs a test against
mosquitto and the embedded amqtt (the ``demo`` extra) in turn.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from hems_core.sim.broker import (
    AmqttBroker,
    Broker,
    MosquittoBroker,
    amqtt_available,
    find_mosquitto,
)


@contextmanager
def running_broker() -> Iterator[MosquittoBroker]:
    """Start mosquitto (listener 127.0.0.1, anonymous) and stop it afterwards.

    Without the binary the test is skipped, unless ``HEMS_REQUIRE_MOSQUITTO`` is set (CI sets it),
    so a missing broker can never silently hide the MQTT tests there.
    """
    if find_mosquitto() is None:
        if os.environ.get("HEMS_REQUIRE_MOSQUITTO"):
            pytest.fail("mosquitto is required (HEMS_REQUIRE_MOSQUITTO) but not installed")
        pytest.skip("mosquitto binary not installed (apt-get install mosquitto)")
    broker = MosquittoBroker()
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoBroker]:
    """One broker for the whole session."""
    with running_broker() as broker:
        yield broker


@pytest.fixture(scope="session", params=["mosquitto", "amqtt"])
def mqtt_broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    """Each broker the demo can use: mosquitto, then the embedded amqtt (CI needs both)."""
    if request.param == "mosquitto":
        with running_broker() as broker:
            yield broker
        return
    if not amqtt_available():
        if os.environ.get("HEMS_REQUIRE_MOSQUITTO"):
            pytest.fail("amqtt is required in CI (the demo extra) but not installed")
        pytest.skip("amqtt not installed (pip install -e '.[demo]')")
    amqtt = AmqttBroker()
    amqtt.start()
    try:
        yield amqtt
    finally:
        amqtt.stop()
