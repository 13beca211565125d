"""One contract for the MarketData and Trading ports, run against FakeExchange and PaperExchange."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.contract.exchange_harness import (
    BTC,
    BTC_ASSET,
    ETH,
    FEE_RATE,
    HARNESSES,
    T0,
    TF,
    UNLISTED,
    USDT,
    ExchangeHarness,
    FakeHarness,
    make_harness,
    run,
)
from trader_adapters.clock import SimulatedClock
from trader_adapters.memory.exchange import FakeExchange
from trader_core.model import (
    Balance,
    ClientOrderId,
    ExchangeUnavailableError,
    ExitBracket,
    Liquidity,
    OrderNotFoundError,
    OrderRejectedError,
    OrderRequest,
    OrderStatus,
    OrderType,
    OutcomeUnknownError,
    Price,
    Quantity,
    Side,
    UnknownSymbolError,
)


@pytest.fixture(params=HARNESSES)
def harness(request: pytest.FixtureRequest) -> ExchangeHarness:
    """Each exchange implementation in turn."""
    return make_harness(request.param)


def cid(text: str) -> ClientOrderId:
    return ClientOrderId(text)


def limit(client_id: str, side: Side, quantity: str, price: str, *, post_only: bool = False) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid(client_id), symbol=BTC, side=side, order_type=OrderType.LIMIT,
        quantity=Quantity(quantity), price=Price(price), post_only=post_only,
    )


def market(client_id: str, side: Side, quantity: str) -> OrderRequest:
    return OrderRequest(
        client_order_id=cid(client_id), symbol=BTC, side=side, order_type=OrderType.MARKET, quantity=Quantity(quantity)
    )


def bracket(quantity: str = "0.1", stop: str = "29000", target: str = "32000") -> ExitBracket:
    return ExitBracket(
        symbol=BTC, side=Side.SELL, quantity=Quantity(quantity), stop_price=Price(stop),
        target_price=Price(target), stop_client_order_id=cid("sl-1"), target_client_order_id=cid("tp-1"),
    )


def balances(h: ExchangeHarness) -> dict[str, Balance]:
    return {b.asset.code: b for b in run(h.venue.fetch_balances())}


# -- market data ----------------------------------------------------------------------------------


def test_quote_shape(harness: ExchangeHarness) -> None:
    quote = run(harness.market.fetch_quote(BTC))
    assert quote.symbol == BTC
    assert quote.bid <= quote.last <= quote.ask
    assert quote.last == Decimal("30000")
    assert quote.observed_at.utcoffset() is not None


def test_candles_shape_and_since(harness: ExchangeHarness) -> None:
    run(harness.move_price_to(BTC, Decimal("30100")))
    candles = run(harness.market.fetch_candles(BTC, TF))
    assert len(candles) == 2
    assert all(c.symbol == BTC and c.timeframe == TF for c in candles)
    assert [c.open_time for c in candles] == sorted(c.open_time for c in candles)
    assert candles[-1].close == Decimal("30100")
    assert run(harness.market.fetch_candles(BTC, TF, limit=1)) == candles[-1:]
    assert run(harness.market.fetch_candles(BTC, TF, since=candles[1].open_time)) == candles[1:]
    assert run(harness.market.fetch_candles(BTC, TF, since=candles[1].close_time)) == ()


def test_instrument_rules(harness: ExchangeHarness) -> None:
    rules = run(harness.market.fetch_instrument(BTC))
    assert rules.symbol == BTC
    assert rules.tick_size == Decimal("0.01")
    assert rules.step_size == Decimal("0.00001")
    assert rules.min_notional == Decimal("5")
    assert run(harness.market.fetch_instrument(ETH)).symbol == ETH


def test_venue_identity(harness: ExchangeHarness) -> None:
    assert isinstance(harness.venue.venue, str)
    assert harness.venue.venue
    assert harness.venue.holds_protective_exits is True


# -- orders that execute --------------------------------------------------------------------------


def test_market_buy_fills_with_fee_in_quote(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    placed = run(harness.venue.place_order(market("mkt-1", Side.BUY, "0.1")))
    assert placed.client_order_id == cid("mkt-1")
    assert placed.status in (OrderStatus.OPEN, OrderStatus.FILLED)
    run(harness.move_price_to(BTC, Decimal("30000")))

    order = run(harness.venue.fetch_order(BTC, cid("mkt-1")))
    assert order.status is OrderStatus.FILLED
    assert order.filled_quantity == Quantity("0.1")
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert fill.client_order_id == cid("mkt-1")
    assert fill.venue_order_id == order.venue_order_id
    assert fill.side is Side.BUY
    assert fill.quantity == Quantity("0.1")
    assert fill.price == Price("30000")
    assert fill.fee.asset == USDT
    assert fill.fee.amount == fill.notional * FEE_RATE
    assert fill.liquidity is Liquidity.TAKER
    after = balances(harness)
    assert after["BTC"] == Balance(BTC_ASSET, Decimal("0.1"), Decimal(0))
    assert after["USDT"].free == Decimal("10000") - fill.notional - fill.fee.amount
    assert after["USDT"].locked == 0
    assert run(harness.venue.fetch_fills(BTC, since=fill.time)) == (fill,)
    assert run(harness.venue.fetch_open_orders(BTC)) == ()


def test_market_sell_credits_quote_less_fee(harness: ExchangeHarness) -> None:
    harness.fund(BTC_ASSET, Decimal("0.2"))
    run(harness.venue.place_order(market("mkt-s", Side.SELL, "0.2")))
    run(harness.move_price_to(BTC, Decimal("30000")))
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert fill.side is Side.SELL
    after = balances(harness)
    assert "BTC" not in after  # zero balances are not reported
    assert after["USDT"].free == fill.notional - fill.fee.amount


def test_limit_rests_then_fills_when_price_trades_through(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    placed = run(harness.venue.place_order(limit("lim-1", Side.BUY, "0.1", "29000")))
    assert placed.status is OrderStatus.OPEN
    assert placed.price == Price("29000")
    assert balances(harness)["USDT"].locked > 0
    run(harness.move_price_to(BTC, Decimal("29500")))
    assert [o.client_order_id for o in run(harness.venue.fetch_open_orders(BTC))] == [cid("lim-1")]

    run(harness.move_price_to(BTC, Decimal("28900")))
    order = run(harness.venue.fetch_order(BTC, cid("lim-1")))
    assert order.status is OrderStatus.FILLED
    assert order.average_price == Price("29000")
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert fill.price == Price("29000")
    assert fill.liquidity is Liquidity.MAKER
    after = balances(harness)
    assert after["USDT"] == Balance(USDT, Decimal("10000") - Decimal("2900") - Decimal("2.9"), Decimal(0))
    assert after["BTC"].free == Decimal("0.1")


def test_cancel_returns_canceled_and_releases_funds(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("lim-c", Side.BUY, "0.1", "29000")))
    canceled = run(harness.venue.cancel_order(BTC, cid("lim-c")))
    assert canceled.status is OrderStatus.CANCELED
    assert run(harness.venue.fetch_open_orders(BTC)) == ()
    assert run(harness.venue.fetch_order(BTC, cid("lim-c"))).status is OrderStatus.CANCELED
    assert balances(harness)["USDT"] == Balance(USDT, Decimal("10000"), Decimal(0))
    with pytest.raises(OrderNotFoundError):
        run(harness.venue.cancel_order(BTC, cid("lim-c")))
    # The price later trading through a cancelled order does nothing.
    run(harness.move_price_to(BTC, Decimal("28000")))
    assert run(harness.venue.fetch_fills(BTC)) == ()


def test_exit_bracket_stop_fills_and_target_is_cancelled(harness: ExchangeHarness) -> None:
    harness.fund(BTC_ASSET, Decimal("0.1"))
    stop, target = run(harness.venue.place_exit_bracket(bracket()))
    assert (stop.order_type, target.order_type) == (OrderType.STOP_LOSS, OrderType.TAKE_PROFIT)
    assert stop.status is target.status is OrderStatus.OPEN
    assert stop.stop_price == Price("29000")
    assert target.price == Price("32000")
    assert len(run(harness.venue.fetch_open_orders(BTC))) == 2
    assert balances(harness)["BTC"] == Balance(BTC_ASSET, Decimal(0), Decimal("0.1"))  # one hold for both legs

    run(harness.move_price_to(BTC, Decimal("28500")))
    assert run(harness.venue.fetch_order(BTC, cid("sl-1"))).status is OrderStatus.FILLED
    assert run(harness.venue.fetch_order(BTC, cid("tp-1"))).status is OrderStatus.CANCELED
    assert run(harness.venue.fetch_open_orders(BTC)) == ()
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert fill.client_order_id == cid("sl-1")
    assert fill.price <= Price("29000")
    assert fill.liquidity is Liquidity.TAKER
    assert "BTC" not in balances(harness)


def test_exit_bracket_target_fills_and_stop_is_cancelled(harness: ExchangeHarness) -> None:
    harness.fund(BTC_ASSET, Decimal("0.1"))
    run(harness.venue.place_exit_bracket(bracket()))
    run(harness.move_price_to(BTC, Decimal("32500")))
    assert run(harness.venue.fetch_order(BTC, cid("tp-1"))).status is OrderStatus.FILLED
    assert run(harness.venue.fetch_order(BTC, cid("sl-1"))).status is OrderStatus.CANCELED
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert fill.price == Price("32000")
    assert balances(harness)["USDT"].free == Decimal("3200") - Decimal("3.2")


def test_cancelling_one_bracket_leg_cancels_both(harness: ExchangeHarness) -> None:
    harness.fund(BTC_ASSET, Decimal("0.1"))
    run(harness.venue.place_exit_bracket(bracket()))
    assert run(harness.venue.cancel_order(BTC, cid("tp-1"))).status is OrderStatus.CANCELED
    assert run(harness.venue.fetch_order(BTC, cid("sl-1"))).status is OrderStatus.CANCELED
    assert balances(harness)["BTC"] == Balance(BTC_ASSET, Decimal("0.1"), Decimal(0))


# -- rejections and errors ------------------------------------------------------------------------


def test_insufficient_funds_rejected(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("100"))
    with pytest.raises(OrderRejectedError, match="insufficient USDT"):
        run(harness.venue.place_order(limit("poor-1", Side.BUY, "0.1", "29000")))
    with pytest.raises(OrderRejectedError, match="insufficient USDT"):
        run(harness.venue.place_order(market("poor-2", Side.BUY, "0.1")))
    with pytest.raises(OrderRejectedError, match="insufficient BTC"):
        run(harness.venue.place_order(limit("poor-3", Side.SELL, "0.1", "31000")))
    with pytest.raises(OrderRejectedError, match="insufficient BTC"):
        run(harness.venue.place_exit_bracket(bracket()))
    assert run(harness.venue.fetch_open_orders(BTC)) == ()
    assert balances(harness)["USDT"] == Balance(USDT, Decimal("100"), Decimal(0))


def test_below_min_notional_rejected(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    with pytest.raises(OrderRejectedError, match="notional"):
        run(harness.venue.place_order(limit("tiny-1", Side.BUY, "0.0001", "29000")))
    with pytest.raises(OrderRejectedError, match="notional"):
        run(harness.venue.place_order(market("tiny-2", Side.BUY, "0.0001")))


def test_off_tick_and_off_step_rejected(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    with pytest.raises(OrderRejectedError, match="tick"):
        run(harness.venue.place_order(limit("tick-1", Side.BUY, "0.1", "29000.005")))
    with pytest.raises(OrderRejectedError, match="step"):
        run(harness.venue.place_order(limit("step-1", Side.BUY, "0.100001", "29000")))


def test_post_only_crossing_rejected(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    with pytest.raises(OrderRejectedError, match="post-only"):
        run(harness.venue.place_order(limit("po-1", Side.BUY, "0.1", "30500", post_only=True)))
    assert run(harness.venue.place_order(limit("po-2", Side.BUY, "0.1", "29500", post_only=True))).status is (
        OrderStatus.OPEN
    )


def test_bracket_that_would_trigger_at_once_rejected(harness: ExchangeHarness) -> None:
    harness.fund(BTC_ASSET, Decimal("0.1"))
    with pytest.raises(OrderRejectedError, match="straddle"):
        run(harness.venue.place_exit_bracket(bracket(stop="30500", target="32000")))


def test_duplicate_client_id_among_open_orders_rejected(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("dup-1", Side.BUY, "0.1", "29000")))
    with pytest.raises(OrderRejectedError, match="duplicate client order id"):
        run(harness.venue.place_order(limit("dup-1", Side.BUY, "0.1", "28000")))
    assert len(run(harness.venue.fetch_open_orders(BTC))) == 1
    # Once the first order is closed its id may be reused, as on Binance; the id then means the new one.
    run(harness.venue.cancel_order(BTC, cid("dup-1")))
    again = run(harness.venue.place_order(limit("dup-1", Side.BUY, "0.1", "28000")))
    assert again.status is OrderStatus.OPEN
    assert run(harness.venue.fetch_order(BTC, cid("dup-1"))).price == Price("28000")


def test_unknown_order_not_found(harness: ExchangeHarness) -> None:
    with pytest.raises(OrderNotFoundError):
        run(harness.venue.fetch_order(BTC, cid("nope")))
    with pytest.raises(OrderNotFoundError):
        run(harness.venue.cancel_order(BTC, cid("nope")))


def test_unknown_symbol(harness: ExchangeHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    request = OrderRequest(
        client_order_id=cid("x-1"), symbol=UNLISTED, side=Side.BUY, order_type=OrderType.LIMIT,
        quantity=Quantity("10"), price=Price("1"),
    )
    with pytest.raises(UnknownSymbolError):
        run(harness.venue.place_order(request))
    with pytest.raises(UnknownSymbolError):
        run(harness.market.fetch_quote(UNLISTED))
    with pytest.raises(UnknownSymbolError):
        run(harness.market.fetch_instrument(UNLISTED))
    with pytest.raises(UnknownSymbolError):
        run(harness.market.fetch_candles(UNLISTED, TF))
    with pytest.raises(UnknownSymbolError):
        run(harness.venue.fetch_open_orders(UNLISTED))


def test_fetch_balances_reports_only_non_zero(harness: ExchangeHarness) -> None:
    assert run(harness.venue.fetch_balances()) == ()
    harness.fund(USDT, Decimal("5"))
    assert run(harness.venue.fetch_balances()) == (Balance(USDT, Decimal("5"), Decimal(0)),)


# -- FakeExchange test controls (the fake's own promises to the unit tests that use it) --------------


def fake() -> FakeHarness:
    h = FakeHarness()
    h.fund(USDT, Decimal("10000"))
    return h


def test_fake_fail_next_raises_once_without_applying() -> None:
    h = fake()
    h.exchange.fail_next("place_order", ExchangeUnavailableError("down"))
    with pytest.raises(ExchangeUnavailableError):
        run(h.venue.place_order(limit("f-1", Side.BUY, "0.1", "29000")))
    assert run(h.venue.fetch_open_orders(BTC)) == ()
    assert run(h.venue.place_order(limit("f-1", Side.BUY, "0.1", "29000"))).status is OrderStatus.OPEN


def test_fake_apply_then_fail_leaves_the_order_at_the_venue() -> None:
    h = fake()
    h.exchange.apply_then_fail("place_order", OutcomeUnknownError("timeout"))
    with pytest.raises(OutcomeUnknownError):
        run(h.venue.place_order(limit("f-2", Side.BUY, "0.1", "29000")))
    assert run(h.venue.fetch_order(BTC, cid("f-2"))).status is OrderStatus.OPEN
    h.exchange.apply_then_fail("cancel_order", OutcomeUnknownError("timeout"))
    with pytest.raises(OutcomeUnknownError):
        run(h.venue.cancel_order(BTC, cid("f-2")))
    assert run(h.venue.fetch_order(BTC, cid("f-2"))).status is OrderStatus.CANCELED


def test_fake_records_calls_and_rejects_unknown_method_names() -> None:
    h = fake()
    run(h.venue.fetch_balances())
    run(h.market.fetch_quote(BTC))
    assert h.exchange.calls[-2:] == [("fetch_balances",), ("fetch_quote", "BTC/USDT")]
    with pytest.raises(ValueError, match="no port method"):
        h.exchange.fail_next("place", ExchangeUnavailableError("x"))


def test_fake_market_order_fills_at_once_at_the_ask() -> None:
    h = fake()
    h.exchange.set_quote(BTC, Decimal("29990"), Decimal("30010"))
    order = run(h.venue.place_order(market("f-m", Side.BUY, "0.1")))
    assert order.status is OrderStatus.FILLED
    assert order.average_price == Price("30010")


def test_fake_without_protective_exits_rejects_brackets() -> None:
    exchange = FakeExchange(clock=SimulatedClock(T0), holds_protective_exits=False, balances={BTC_ASSET: Decimal(1)})
    exchange.set_price(BTC, Decimal(30000))
    assert exchange.holds_protective_exits is False
    with pytest.raises(OrderRejectedError, match="protective"):
        run(exchange.place_exit_bracket(bracket()))
