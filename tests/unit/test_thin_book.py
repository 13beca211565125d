"""Market orders on a thin book: a Binance market order that exhausts the liquidity within its price band fills
part and EXPIRES with the rest. The bot must protect what it holds, whatever part of an entry or an exit filled."""

from __future__ import annotations

from decimal import Decimal

from tests.unit.trading_bot import BTC, T0, USDT, Bot, make_bot, run
from trader_adapters.clock import SimulatedClock
from trader_adapters.memory.exchange import FakeExchange
from trader_core.model import Action, OrderRole, PlanStatus


def _thin_bot(size: str) -> Bot:
    clock = SimulatedClock(T0)
    venue = FakeExchange(clock=clock, balances={USDT: Decimal(100000)}, thin_book=True)
    venue.set_quote(BTC, Decimal(49990), Decimal(50010), last=Decimal(50000), bid_size=Decimal(size),
                    ask_size=Decimal(size))
    return make_bot(clock=clock, venue=venue)


def _protected_quantity(bot: Bot) -> set[Decimal]:
    legs = bot.services.book.orders_of_plan(bot.plan().plan_id, OrderRole.STOP, OrderRole.TARGET)
    return {leg.request.quantity.value for leg in legs if leg.status.is_active}


def test_a_market_entry_that_fills_in_part_is_protected_for_what_filled() -> None:
    bot = _thin_bot("0.005")  # the stake buys 0.02 BTC; the book offers 0.005 at the touch
    bot.buy()
    bot.tick()
    plan = bot.plan()
    assert plan.status is PlanStatus.OPEN
    assert plan.quantity.value == Decimal("0.005")
    assert _protected_quantity(bot) == {Decimal("0.005")}
    assert bot.services.tracker.holding(BTC).quantity == Decimal("0.005")


def test_a_market_exit_that_fills_in_part_leaves_the_rest_protected() -> None:
    bot = _thin_bot("1")
    bot.buy()
    bot.tick()
    held = bot.plan().quantity.value
    bot.venue.set_quote(BTC, Decimal(49990), Decimal(50010), last=Decimal(50000), bid_size=Decimal("0.005"),
                        ask_size=Decimal(1))
    bot.act(Action.CLOSE_POSITION)  # its bracket is withdrawn, the sell takes 0.005 and expires
    for _ in range(3):
        bot.tick()
    plan = bot.plan()
    assert plan.status is PlanStatus.OPEN
    assert plan.quantity.value == held - Decimal("0.005")
    assert _protected_quantity(bot) == {held - Decimal("0.005")}, "what the exit left is protected again"
    assert run(bot.venue.fetch_open_orders(BTC)), "at the venue"
