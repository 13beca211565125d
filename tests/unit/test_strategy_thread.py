"""A user's strategy that computes without awaiting holds neither the bot's loop nor its deadline (run against a
venue: its ``decide`` runs on a thread of its own)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from trader_adapters.strategies.loader import load_strategy
from trader_core.model import InvalidDataError, Signal
from trader_core.ports import DecisionContext

CONTEXT = DecisionContext(now=datetime(2025, 1, 1, tzinfo=UTC))


class Blocking:
    """``decide`` blocks its thread (no await) until ``release`` is set or ``wait_s`` passes."""

    release = threading.Event()
    wait_s = 10.0
    released: ClassVar[list[bool]] = []

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        type(self).released.append(type(self).release.wait(type(self).wait_s))
        return ()


def _strategy(timeout_s: float) -> object:
    Blocking.release, Blocking.released = threading.Event(), []
    return load_strategy(f"{__name__}:Blocking", {}, decide_timeout_s=timeout_s, own_thread=True)


def test_while_the_strategy_computes_the_bots_loop_goes_on() -> None:
    # The bot's loop releases the strategy: possible only if the loop runs while decide blocks. On the bot's own
    # loop, decide held everything (protection, commands, the lease) until it returned, 10 s later here.
    strategy = _strategy(timeout_s=30)

    async def meanwhile() -> None:
        await asyncio.sleep(0.05)
        Blocking.release.set()

    async def go() -> tuple[Signal, ...]:
        answer, _ = await asyncio.gather(strategy.decide(CONTEXT), meanwhile())  # type: ignore[attr-defined]
        return answer  # type: ignore[no-any-return]

    assert asyncio.run(go()) == ()
    assert Blocking.released == [True], "released by the bot's loop while it computed, not at the end of its wait"


def test_a_decide_that_computes_past_the_deadline_is_cut_short_and_no_second_one_piles_up() -> None:
    strategy = _strategy(timeout_s=0.2)

    async def go() -> None:
        with pytest.raises(InvalidDataError, match=r"did not answer within 0\.2 s"):
            await strategy.decide(CONTEXT)  # type: ignore[attr-defined]
        with pytest.raises(InvalidDataError, match="still computing"):
            await strategy.decide(CONTEXT)  # type: ignore[attr-defined]
        Blocking.release.set()
        for _ in range(100):  # the abandoned decision ends once released
            await asyncio.sleep(0.01)
            try:
                assert await strategy.decide(CONTEXT) == ()  # type: ignore[attr-defined]
                return
            except InvalidDataError:
                continue
        pytest.fail("the strategy never decided again after its abandoned decision ended")

    asyncio.run(go())
