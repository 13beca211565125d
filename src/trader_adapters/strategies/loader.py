"""Loads a strategy by name (built-in) or as ``package.module:Class`` (any SignalSource)."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
import traceback
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from trader_adapters.strategies.sma_cross import SmaCross
from trader_core.model import ConfigError, InvalidDataError, Signal
from trader_core.ports import DecisionContext, SignalSource

__all__ = ["load_strategy"]


def load_strategy(spec: str, options: dict[str, Any], *, decide_timeout_s: float = 30.0,
                  own_thread: bool = False) -> SignalSource:
    """Build the strategy named ``spec``.

    ``sma`` (or ``sma_cross``) is built in. ``package.module:Class`` imports the class and calls it with
    the keyword options its constructor accepts (``fast``, ``slow``, ``stop_pct``, ``target_pct``, ...); its
    ``decide`` gets ``decide_timeout_s`` seconds to answer. ``own_thread`` (a run against a venue): its ``decide``
    runs on a thread and event loop of its own, so computing without awaiting holds neither the bot's loop nor
    the deadline.
    """
    if spec in ("sma", "sma_cross"):
        return SmaCross(fast=int(options["fast"]), slow=int(options["slow"]),
                        stop_pct=_pct(options.get("stop_pct")), target_pct=_pct(options.get("target_pct")),
                        volatility_sizing=bool(options.get("volatility_sizing", False)))
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"strategy {spec!r}: use a built-in name (sma) or package.module:Class")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"strategy {spec!r} cannot be loaded: {exc}") from exc
    except Exception as exc:  # the user's module failed as it ran (a SyntaxError, a NameError at its top level)
        raise ConfigError(f"strategy {spec!r} cannot be loaded: {_failure(exc)}") from exc
    if not inspect.isclass(cls):
        raise ConfigError(f"strategy {spec!r} is not a class")
    accepted = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in options.items() if k in accepted}
    try:
        strategy = cls(**kwargs)
    except Exception as exc:  # the user's constructor: one line saying where, not a traceback
        raise ConfigError(f"strategy {spec!r} could not be built: {_failure(exc)}") from exc
    if not callable(getattr(strategy, "decide", None)):
        raise ConfigError(f"strategy {spec!r} has no decide(context) method")
    return _Guarded(spec, strategy, decide_timeout_s, _StrategyThread() if own_thread else None)


class _StrategyThread:
    """A thread running an event loop of its own, on which a user's strategy decides: its ``decide`` may compute
    for as long as it likes while the bot's loop goes on (protection, commands, the lease). One loop for the
    run's life, so what the strategy keeps between calls (a client session, a task) stays on the loop it was
    made on. A daemon thread: a ``decide`` that never ends does not keep the process alive at exit."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="strategy", daemon=True)
        self._thread.start()
        self._computing = threading.Event()

    def busy(self) -> bool:
        """Whether a decision (one abandoned at its deadline) is still computing on the strategy's thread."""
        return self._computing.is_set()

    async def run(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """``call()`` awaited on the strategy's loop; cancelling this abandons it (it ends at its next await)."""
        async def start() -> Any:
            self._computing.set()
            try:
                return await call()
            finally:
                self._computing.clear()

        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(start(), self._loop))


class _Guarded:
    """A user's strategy, whose failures are the bot's kind: an exception raised by its ``decide``, an answer
    that is not a sequence of signals, or no answer within ``timeout_s`` (a ``decide`` awaiting a server that
    never answers held the whole loop: no protection, no exit, no operator command) becomes ``InvalidDataError``
    (reported; the loop carries on, no signal that tick), never the end or the stall of a running bot. Only an
    await can be cut short on the bot's loop; with a ``thread`` of its own (a run against a venue) a ``decide`` that
    computes without awaiting is cut short too: abandoned at its deadline, and no new decision is asked of the
    strategy until that one has ended (each tick says so)."""

    def __init__(self, spec: str, strategy: Any, timeout_s: float = 30.0,
                 thread: _StrategyThread | None = None) -> None:
        self._spec, self._strategy, self._timeout_s, self._thread = spec, strategy, timeout_s, thread

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        if self._thread is not None and self._thread.busy():
            raise InvalidDataError(f"strategy {self._spec}: its decision abandoned at the deadline is still computing; "
                                   "no new decision until it ends")
        deadline = asyncio.timeout(self._timeout_s)
        try:
            async with deadline:
                if self._thread is None:
                    answer = await self._strategy.decide(context)
                else:
                    answer = await self._thread.run(lambda: self._strategy.decide(context))
        except Exception as exc:  # the user's code: any failure is reported, not raised through the loop
            if deadline.expired():
                raise InvalidDataError(f"strategy {self._spec}: decide did not answer within {self._timeout_s:g} s "
                                       "(strategy_timeout_seconds)") from exc
            raise InvalidDataError(f"strategy {self._spec}: decide raised {type(exc).__name__}: {exc}"[:300]) from exc
        if not isinstance(answer, (tuple, list)) or not all(isinstance(signal, Signal) for signal in answer):
            raise InvalidDataError(f"strategy {self._spec}: decide returned {type(answer).__name__}, not a sequence "
                                   "of Signal")
        return tuple(answer)


def _failure(exc: BaseException) -> str:
    """``Type: message (file:line)`` of the innermost frame an exception passed through: where the user's code
    failed, in one line."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__)
    if frames:
        where = f" ({frames[-1].filename}:{frames[-1].lineno})"
    return f"{type(exc).__name__}: {exc}{where}"[:400]


def _pct(value: object) -> Decimal | None:
    if value is None or Decimal(str(value)) == 0:
        return None
    return Decimal(str(value))
