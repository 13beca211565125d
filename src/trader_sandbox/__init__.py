"""A Binance-spot-compatible exchange emulator for loopback tests (an independent program).

Start one with :func:`start_sandbox` (or ``python -m trader_sandbox`` / ``trader-app sandbox``) and point
the real ``ccxt.binance`` at its ``url`` (see :mod:`trader_sandbox.testing`)."""

from trader_sandbox.faults import Fault
from trader_sandbox.sandbox import Sandbox, start_sandbox

__all__ = ["Fault", "Sandbox", "start_sandbox"]
