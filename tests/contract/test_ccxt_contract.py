"""The exchange contract suite, run through ``CcxtExchange`` and real ccxt against the Binance-spot emulator,
plus the scenarios only a real HTTP venue produces: lost answers, maybe-cancelled orders, rate limits,
clock drift, reconnects.

The shared test functions of ``test_exchange_contract`` are collected here with this module's ``harness``
fixture. Three of them assert what the simulated venues do and Binance does not; they are replaced by
venue-true variants below (``VENUE_SPECIFIC`` says why).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.contract import test_exchange_contract as contract
from tests.contract.ccxt_harness import CcxtSandboxHarness, OnLoop
from tests.contract.exchange_harness import BTC, BTC_ASSET, FEE_RATE, TF, USDT, run
from tests.contract.test_exchange_contract import balances, cid, limit, market
from trader_adapters.ccxt import CcxtExchange
from trader_core.model import (
    AuthenticationError,
    Balance,
    ExchangeUnavailableError,
    IntentStatus,
    Liquidity,
    OrderNotFoundError,
    OrderRejectedError,
    OrderRole,
    OrderStatus,
    OutcomeUnknownError,
    Price,
    Quantity,
    RateLimitedError,
    RunId,
    Side,
    TrackedOrder,
)
from trader_core.ports import OrderIdMemory

VENUE_SPECIFIC = {
    # Binance charges a buy's commission in the asset received (base), not in the quote asset.
    "test_market_buy_fills_with_fee_in_quote": "fees in the received asset: see test_market_buy_fee_in_base",
    "test_limit_rests_then_fills_when_price_trades_through": "fees in the received asset: see test_limit_buy_*",
    # The emulator's candles follow the wall clock and its own series; moving the price does not close a bar.
    "test_candles_shape_and_since": "wall-clock candles: see test_candles_are_closed_oldest_first_*",
}
SHARED = sorted(
    name for name in dir(contract)
    if name.startswith("test_") and not name.startswith("test_fake_") and name not in VENUE_SPECIFIC
)
globals().update({name: getattr(contract, name) for name in SHARED})


@pytest.fixture
def harness() -> Iterator[CcxtSandboxHarness]:
    """CcxtExchange over a fresh emulator (BTC/USDT 30000, ETH/USDT 2000, empty account)."""
    h = CcxtSandboxHarness()
    try:
        yield h
    finally:
        h.close()


def requests_to(h: CcxtSandboxHarness, method: str, path: str) -> list[dict[str, Any]]:
    """The emulator's log of ``method path`` requests."""
    return [r for r in h.sandbox.requests() if r["method"] == method and r["path"] == path]


# -- venue-true variants of the shared tests ----------------------------------------------------------


def test_market_buy_fee_in_base(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    placed = run(harness.venue.place_order(market("mkt-1", Side.BUY, "0.1")))
    assert placed.client_order_id == cid("mkt-1")
    assert placed.status is OrderStatus.FILLED
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert fill.client_order_id == cid("mkt-1")
    assert fill.venue_order_id == placed.venue_order_id
    assert fill.quantity == Quantity("0.1")
    assert fill.fee.asset == BTC_ASSET
    assert fill.fee.amount == Decimal("0.1") * FEE_RATE
    assert fill.liquidity is Liquidity.TAKER
    after = balances(harness)
    assert after["BTC"] == Balance(BTC_ASSET, Decimal("0.1") - fill.fee.amount, Decimal(0))
    assert after["USDT"].free == Decimal("10000") - fill.notional
    assert run(harness.venue.fetch_fills(BTC, since=fill.time)) == (fill,)
    assert placed.fills == (fill,), "the answer carries the same fill the fill query reports"


def test_a_market_order_on_a_thin_book_fills_what_is_offered_and_expires(harness: CcxtSandboxHarness) -> None:
    # Binance: a market order that exhausts the book within its price band fills part and EXPIRES with the rest.
    harness.fund(USDT, Decimal("10000"))
    harness.sandbox.configure(taker_depth="0.04")
    placed = run(harness.venue.place_order(market("thin-1", Side.BUY, "0.1")))
    assert placed.status is OrderStatus.EXPIRED
    assert placed.filled_quantity == Quantity("0.04")
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert (fill.client_order_id, fill.quantity) == (cid("thin-1"), Quantity("0.04"))
    assert placed.fills == (fill,), "the answer carries the fill it made"
    harness.sandbox.configure(unlimited_depth=True)
    assert run(harness.venue.place_order(market("thin-2", Side.BUY, "0.1"))).status is OrderStatus.FILLED


def test_a_resting_orders_answer_carries_no_fill(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    resting = run(harness.venue.place_order(limit("lim-0", Side.BUY, "0.1", "29000")))
    assert (resting.status, resting.fills) == (OrderStatus.OPEN, ())


def test_limit_buy_rests_then_fills_as_maker_with_fee_in_base(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    placed = run(harness.venue.place_order(limit("lim-1", Side.BUY, "0.1", "29000")))
    assert placed.status is OrderStatus.OPEN
    assert balances(harness)["USDT"].locked == Decimal("2900")
    run(harness.move_price_to(BTC, Decimal("28900")))
    order = run(harness.venue.fetch_order(BTC, cid("lim-1")))
    assert order.status is OrderStatus.FILLED
    assert order.average_price == Price("29000")
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert (fill.price, fill.liquidity, fill.fee.asset) == (Price("29000"), Liquidity.MAKER, BTC_ASSET)
    after = balances(harness)
    assert after["USDT"] == Balance(USDT, Decimal("7100"), Decimal(0))
    assert after["BTC"].free == Decimal("0.1") - Decimal("0.0001")


def test_candles_are_closed_oldest_first_and_honour_since_and_limit(harness: CcxtSandboxHarness) -> None:
    candles = run(harness.market.fetch_candles(BTC, TF))
    assert len(candles) >= 3
    now = harness.clock.now()
    assert all(c.close_time <= now for c in candles)  # the forming bar is never returned
    assert [c.open_time for c in candles] == sorted({c.open_time for c in candles})
    assert run(harness.market.fetch_candles(BTC, TF, limit=2)) == candles[-2:]
    assert run(harness.market.fetch_candles(BTC, TF, since=candles[1].open_time, limit=2)) == candles[1:3]
    assert run(harness.market.fetch_candles(BTC, TF, since=candles[-1].close_time)) == ()


# -- lost answers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", [{"status": 503}, {"status": 500, "code": -1000, "msg": "An unknown error occurred"},
                                   {"drop": True}], ids=["503", "500", "dropped"])
def test_create_applied_then_answer_lost_is_outcome_unknown_and_found_by_client_id(
    harness: CcxtSandboxHarness, fault: dict[str, Any]
) -> None:
    harness.fund(USDT, Decimal("10000"))
    harness.sandbox.inject("/api/v3/order", "POST", apply=True, **fault)
    with pytest.raises(OutcomeUnknownError, match="lost-1"):
        run(harness.venue.place_order(limit("lost-1", Side.BUY, "0.1", "29000")))
    found = run(harness.venue.fetch_order(BTC, cid("lost-1")))
    assert found.status is OrderStatus.OPEN
    assert found.price == Price("29000")
    assert len(requests_to(harness, "POST", "/api/v3/order")) == 1  # sent once, never re-sent


def test_create_timing_out_is_outcome_unknown_and_the_order_appears(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    impatient: Any = OnLoop(CcxtExchange.create(
        "binance", clock=harness.clock, api_key=harness.sandbox.api_key, secret=harness.sandbox.secret,
        base_url=harness.sandbox.url, options={"enableRateLimit": False, "timeout": 300},
    ), harness.loop)
    run(impatient.connect())
    harness.sandbox.inject("/api/v3/order", "POST", delay=0.8)  # answers (and applies) after the client gave up
    try:
        with pytest.raises(OutcomeUnknownError, match="slow-1"):
            run(impatient.place_order(limit("slow-1", Side.BUY, "0.1", "29000")))
    finally:
        run(impatient.close())
    time.sleep(1.0)
    assert run(harness.venue.fetch_order(BTC, cid("slow-1"))).status is OrderStatus.OPEN
    assert len(requests_to(harness, "POST", "/api/v3/order")) == 1


def test_cancel_applied_then_answer_lost_is_maybe_cancelled(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("lc-1", Side.BUY, "0.1", "29000")))
    harness.sandbox.inject("/api/v3/order", "DELETE", apply=True, drop=True)
    # aiohttp re-sends the DELETE once on the dropped connection; the re-sent one finds nothing to cancel.
    with pytest.raises(OrderNotFoundError, match="may already be cancelled"):
        run(harness.venue.cancel_order(BTC, cid("lc-1")))
    assert run(harness.venue.fetch_order(BTC, cid("lc-1"))).status is OrderStatus.CANCELED
    assert len(requests_to(harness, "DELETE", "/api/v3/order")) == 2
    assert balances(harness)["USDT"] == Balance(USDT, Decimal("10000"), Decimal(0))


def test_cancel_answer_lost_without_resend_is_outcome_unknown(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("lc-2", Side.BUY, "0.1", "29000")))
    harness.sandbox.inject("/api/v3/order", "DELETE", apply=True, status=503)
    with pytest.raises(OutcomeUnknownError):
        run(harness.venue.cancel_order(BTC, cid("lc-2")))
    assert run(harness.venue.fetch_order(BTC, cid("lc-2"))).status is OrderStatus.CANCELED


def test_read_failures_are_unavailable_and_safe_to_retry(harness: CcxtSandboxHarness) -> None:
    harness.sandbox.inject("/api/v3/account", "GET", status=502, body="<html>Bad Gateway</html>")
    with pytest.raises(ExchangeUnavailableError) as caught:
        run(harness.venue.fetch_balances())
    assert not isinstance(caught.value, RateLimitedError)
    assert run(harness.venue.fetch_balances()) == ()


# -- rate limits and bans ---------------------------------------------------------------------------


def test_429_is_rate_limited_with_the_venues_retry_after_and_nothing_applied(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    harness.sandbox.inject("/api/v3/order", "POST", status=429, code=-1003, msg="Too many requests.",
                           headers={"Retry-After": "7"})
    with pytest.raises(RateLimitedError) as caught:
        run(harness.venue.place_order(limit("rl-1", Side.BUY, "0.1", "29000")))
    assert caught.value.retry_after == timedelta(seconds=7)
    assert run(harness.venue.fetch_open_orders(BTC)) == ()


def test_418_ban_is_rate_limited_until_the_ban_ends(harness: CcxtSandboxHarness) -> None:
    harness.sandbox.ban(30)
    with pytest.raises(RateLimitedError) as caught:
        run(harness.venue.fetch_balances())
    assert caught.value.retry_after is not None
    assert timedelta(seconds=25) <= caught.value.retry_after <= timedelta(seconds=30)


def test_weight_limit_answers_429_with_retry_after(harness: CcxtSandboxHarness) -> None:
    run(harness.venue.fetch_balances())  # markets loaded first: their weight is not part of the budget
    harness.sandbox.rate_limit(25, window_s=60)
    run(harness.venue.fetch_balances())  # weight 20
    with pytest.raises(RateLimitedError) as caught:
        run(harness.venue.fetch_balances())
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > timedelta(0)


# -- clock drift --------------------------------------------------------------------------------------


def test_clock_drift_is_resynced_and_a_read_retried_once(harness: CcxtSandboxHarness) -> None:
    run(harness.venue.fetch_balances())
    harness.sandbox.set_clock_skew(-15_000)  # the venue's clock is now 15 s behind ours
    assert run(harness.venue.fetch_balances()) == ()
    statuses = [r["status"] for r in requests_to(harness, "GET", "/api/v3/account")]
    assert statuses == [200, 400, 200]


def test_clock_drift_on_create_is_unavailable_never_resent_then_the_next_create_works(
    harness: CcxtSandboxHarness,
) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.fetch_balances())
    harness.sandbox.set_clock_skew(-15_000)
    with pytest.raises(ExchangeUnavailableError) as caught:
        run(harness.venue.place_order(limit("skew-1", Side.BUY, "0.1", "29000")))
    assert not isinstance(caught.value, OutcomeUnknownError)
    assert [r["status"] for r in requests_to(harness, "POST", "/api/v3/order")] == [400]
    assert run(harness.venue.place_order(limit("skew-1", Side.BUY, "0.1", "29000"))).status is OrderStatus.OPEN


def test_a_bar_is_taken_as_closed_by_the_venues_clock_not_a_host_clock_running_ahead() -> None:
    """The host runs 10 s ahead of the venue (ccxt measures it at connect): the bars that closed by the host's clock
    but not yet by the venue's are still forming there, their close not final. They were returned as closed."""
    from trader_adapters.clock import SystemClock
    from trader_core.model import Timeframe
    from trader_sandbox.testing import running_sandbox

    with running_sandbox(candle_ms=1000, history=60) as sandbox:
        sandbox.set_clock_skew(-10_000)  # the venue's clock 10 s behind the host's
        venue = CcxtExchange.create("binance", clock=SystemClock(), api_key=sandbox.api_key, secret=sandbox.secret,
                                    base_url=sandbox.url)
        try:
            candles = run(venue.fetch_candles(BTC, Timeframe("1s"), limit=60))
        finally:
            run(venue.close())
        venue_now = sandbox.exchange.server_time() / 1000
    newest = candles[-1]
    assert (newest.open_time + timedelta(seconds=1)).timestamp() <= venue_now, "a bar still forming at the venue"
    assert (newest.open_time + timedelta(seconds=1)).timestamp() > venue_now - 3, "the bars closed there are read"


# -- markets, reconnect, client ids, secrets -----------------------------------------------------------


def test_markets_reload_once_after_a_venue_rule_rejection(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.fetch_balances())
    assert len(requests_to(harness, "GET", "/api/v3/exchangeInfo")) == 1
    with pytest.raises(OrderRejectedError, match="step"):  # above LOT_SIZE maxQty: only the venue knows
        run(harness.venue.place_order(limit("big-1", Side.BUY, "9001", "1")))
    with pytest.raises(OrderRejectedError):
        run(harness.venue.place_order(limit("big-2", Side.BUY, "9001", "1")))
    assert len(requests_to(harness, "GET", "/api/v3/exchangeInfo")) == 2  # reloaded once, not per rejection


def test_reconnect_opens_a_new_session_and_keeps_markets(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("rc-1", Side.BUY, "0.1", "29000")))
    run(harness.venue.reconnect())
    assert run(harness.venue.fetch_order(BTC, cid("rc-1"))).status is OrderStatus.OPEN
    assert len(requests_to(harness, "GET", "/api/v3/exchangeInfo")) == 1
    run(harness.venue.close())
    run(harness.venue.close())  # idempotent
    assert run(harness.venue.fetch_open_orders(BTC))[0].client_order_id == cid("rc-1")  # reopens on demand


def test_fills_of_orders_placed_before_a_restart_keep_their_client_id(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(market("before-1", Side.BUY, "0.1")))
    restarted: Any = OnLoop(CcxtExchange.create(
        "binance", clock=harness.clock, api_key=harness.sandbox.api_key, secret=harness.sandbox.secret,
        base_url=harness.sandbox.url, options={"enableRateLimit": False},
    ), harness.loop)
    try:
        (fill,) = run(restarted.fetch_fills(BTC))
    finally:
        run(restarted.close())
    assert fill.client_order_id == cid("before-1")
    lookups = [r for r in requests_to(harness, "GET", "/api/v3/order") if "orderId" in r["params"]]
    assert len(lookups) == 1  # resolved by one order lookup (Binance's myTrades has no client id)


def test_a_restarted_adapter_told_the_bots_stored_orders_recognises_their_fills_without_a_lookup(
        harness: CcxtSandboxHarness) -> None:
    # Each lookup is a request a restarted bot makes before it can book a fill and protect the position: under
    # faults, one more chance for its first tick to fail (the soak's worst late restart was one such lookup).
    harness.fund(USDT, Decimal("10000"))
    order = run(harness.venue.place_order(market("before-2", Side.BUY, "0.1")))
    stored = TrackedOrder(run_id=RunId("r1"), request=market("before-2", Side.BUY, "0.1"), role=OrderRole.ENTRY,
                          status=IntentStatus.FILLED, created_at=order.created_at, updated_at=order.created_at,
                          venue_order_id=order.venue_order_id)
    restarted = CcxtExchange.create(
        "binance", clock=harness.clock, api_key=harness.sandbox.api_key, secret=harness.sandbox.secret,
        base_url=harness.sandbox.url, options={"enableRateLimit": False},
    )
    assert isinstance(restarted, OrderIdMemory)
    restarted.remember_orders([stored])
    on_loop: Any = OnLoop(restarted, harness.loop)
    try:
        (fill,) = run(on_loop.fetch_fills(BTC))
    finally:
        run(on_loop.close())
    assert fill.client_order_id == cid("before-2")
    assert not [r for r in requests_to(harness, "GET", "/api/v3/order") if "orderId" in r["params"]]


def test_credentials_never_appear_in_errors_from_the_venue(harness: CcxtSandboxHarness) -> None:
    key, secret = harness.sandbox.api_key, harness.sandbox.secret
    harness.sandbox.inject("/api/v3/account", "GET", status=401, code=-2015,
                           msg=f"Invalid API-key {key} with secret {secret}")
    with pytest.raises(AuthenticationError) as caught:
        run(harness.venue.fetch_balances())
    for text in (str(caught.value), repr(caught.value), repr(harness.exchange)):
        assert key not in text
        assert secret not in text


def test_wrong_credentials_are_an_authentication_error(harness: CcxtSandboxHarness) -> None:
    wrong: Any = OnLoop(CcxtExchange.create("binance", clock=harness.clock, api_key="nope", secret="nope",
                                            base_url=harness.sandbox.url, options={"enableRateLimit": False}),
                        harness.loop)
    try:
        with pytest.raises(AuthenticationError):
            run(wrong.fetch_balances())
    finally:
        run(wrong.close())


def test_calls_from_a_new_event_loop_get_a_new_session_and_keep_markets(harness: CcxtSandboxHarness) -> None:
    exchange = CcxtExchange.create("binance", clock=harness.clock, api_key=harness.sandbox.api_key,
                                   secret=harness.sandbox.secret, base_url=harness.sandbox.url,
                                   options={"enableRateLimit": False})
    assert asyncio.run(exchange.fetch_balances()) == ()
    assert asyncio.run(exchange.fetch_balances()) == ()  # a second loop: the first loop's session is gone
    asyncio.run(exchange.close())
    assert len(requests_to(harness, "GET", "/api/v3/exchangeInfo")) == 1
