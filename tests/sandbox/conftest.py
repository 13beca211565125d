"""Fixtures for tests that need a running Binance-spot emulator and ccxt clients pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from trader_sandbox import Sandbox
from trader_sandbox.testing import ccxt_client, running_sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh emulator on a free loopback port (stopped after the test)."""
    with running_sandbox() as sb:
        yield sb


@pytest.fixture
def exchange(sandbox: Sandbox) -> Any:
    """A real sync ``ccxt.binance`` pointed at :func:`sandbox`, markets loaded."""
    ex = ccxt_client(sandbox)
    ex.load_markets()
    return ex
