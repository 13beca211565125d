"""Shared end-to-end fixtures: a Binance-spot emulator whose one-second candles follow the wall clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trader_sandbox.sandbox import Sandbox
from trader_sandbox.testing import running_sandbox


@pytest.fixture
def moving_sandbox() -> Iterator[Sandbox]:
    """The emulator stepping a one-second candle each second: a bot on ``--timeframe 1s`` sees a closed
    candle every second, its SMA crosses within seconds, and candle times agree with its clock."""
    with running_sandbox(candle_ms=1000, history=60) as sandbox:
        sandbox.start_timer(1.0)
        yield sandbox
