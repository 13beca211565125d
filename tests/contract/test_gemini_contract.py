"""The exchange contract suite through ``CcxtExchange`` and the real ``ccxt.gemini`` against the emulator's
Gemini face (``start_sandbox(venue="gemini")``), plus what only Gemini does.

The shared test functions of ``test_exchange_contract`` are collected with this module's ``harness``. Gemini
charges commissions in the quote asset, like the simulated venues, so the fee tests run as they are. The ones
below in ``VENUE_SPECIFIC`` assert what Gemini does not offer (OCO brackets, a minimum notional, refusing a
client id already in use) and are replaced by Gemini-true variants.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest

from tests.contract import test_exchange_contract as contract
from tests.contract.ccxt_harness import CcxtSandboxHarness
from tests.contract.exchange_harness import BTC, BTC_ASSET, TF, USDT, run
from tests.contract.test_exchange_contract import balances, bracket, cid, limit, market
from trader_adapters.ccxt import CcxtExchange
from trader_core.model import (
    Balance,
    ExchangeUnavailableError,
    InstrumentRules,
    Liquidity,
    OrderNotFoundError,
    OrderRejectedError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    RateLimitedError,
    Side,
    Symbol,
)

VENUE_SPECIFIC = {
    "test_candles_shape_and_since": "wall-clock candles: see test_candles_are_closed_oldest_first",
    "test_instrument_rules": "no minimum notional on Gemini: see test_instrument_rules_from_symbol_details",
    "test_venue_identity": "no OCO on Gemini: see test_venue_holds_a_stop_not_a_bracket",
    "test_exit_bracket_stop_fills_and_target_is_cancelled": "see test_venue_held_stop_fills_when_the_price_falls",
    "test_exit_bracket_target_fills_and_stop_is_cancelled": "no brackets on Gemini",
    "test_cancelling_one_bracket_leg_cancels_both": "no brackets on Gemini",
    "test_bracket_that_would_trigger_at_once_rejected": "no brackets on Gemini",
    "test_insufficient_funds_rejected": "see test_insufficient_funds_rejected_without_brackets",
    "test_below_min_notional_rejected": "see test_small_orders_are_accepted_without_a_minimum_notional",
    "test_duplicate_client_id_among_open_orders_rejected": "see test_client_id_in_use_is_not_refused_by_gemini",
}
SHARED = sorted(
    name for name in dir(contract)
    if name.startswith("test_") and not name.startswith("test_fake_") and name not in VENUE_SPECIFIC
)
globals().update({name: getattr(contract, name) for name in SHARED})


@pytest.fixture
def harness() -> Iterator[CcxtSandboxHarness]:
    """CcxtExchange over a fresh Gemini emulator (BTC/USDT 30000, ETH/USDT 2000, empty account)."""
    h = CcxtSandboxHarness("gemini")
    try:
        yield h
    finally:
        h.close()


def private_payloads(h: CcxtSandboxHarness, path: str) -> list[dict[str, Any]]:
    """The decoded payloads of the private requests to ``path`` the emulator logged."""
    return [r for r in h.sandbox.requests() if r["path"] == path]


def stop(client_id: str, quantity: str, stop_price: str) -> OrderRequest:
    return OrderRequest(client_order_id=cid(client_id), symbol=BTC, side=Side.SELL, order_type=OrderType.STOP_LOSS,
                        quantity=Quantity(quantity), stop_price=Price(stop_price))


# -- Gemini-true variants ------------------------------------------------------------------------------


def test_candles_are_closed_oldest_first(harness: CcxtSandboxHarness) -> None:
    candles = run(harness.market.fetch_candles(BTC, TF))
    assert len(candles) >= 3
    assert all(c.close_time <= harness.clock.now() for c in candles)
    assert [c.open_time for c in candles] == sorted({c.open_time for c in candles})
    assert run(harness.market.fetch_candles(BTC, TF, limit=2)) == candles[-2:]
    assert run(harness.market.fetch_candles(BTC, TF, since=candles[1].open_time, limit=2)) == candles[1:3]


def test_instrument_rules_from_symbol_details(harness: CcxtSandboxHarness) -> None:
    rules = run(harness.market.fetch_instrument(BTC))
    assert rules == InstrumentRules(symbol=BTC, tick_size=Decimal("0.01"), step_size=Decimal("0.00001"),
                                    min_quantity=Decimal("0.00001"), min_notional=Decimal(0))


def test_venue_holds_a_stop_not_a_bracket(harness: CcxtSandboxHarness) -> None:
    assert harness.venue.venue == "gemini-emulator"
    assert harness.venue.holds_protective_exits is False
    assert harness.exchange.holds_protective_stops is True  # the strongest form here: a venue-held stop
    harness.fund(BTC_ASSET, Decimal("0.1"))
    with pytest.raises(OrderRejectedError, match="cannot hold protective exits"):
        run(harness.venue.place_exit_bracket(bracket()))
    assert run(harness.venue.fetch_open_orders(BTC)) == ()


def test_venue_held_stop_fills_when_the_price_falls(harness: CcxtSandboxHarness) -> None:
    harness.fund(BTC_ASSET, Decimal("0.1"))
    placed = run(harness.venue.place_order(stop("sl-1", "0.1", "29000")))
    assert (placed.order_type, placed.status, placed.stop_price) == (OrderType.STOP_LOSS, OrderStatus.OPEN,
                                                                     Price("29000"))
    assert balances(harness)["BTC"] == Balance(BTC_ASSET, Decimal(0), Decimal("0.1"))
    sent = private_payloads(harness, "/v1/order/new")[-1]["params"]
    assert (sent["type"], sent["stop_price"], sent["price"]) == ("exchange stop limit", "29000", "28855")
    run(harness.move_price_to(BTC, Decimal("28900")))
    order = run(harness.venue.fetch_order(BTC, cid("sl-1")))
    assert (order.order_type, order.status) == (OrderType.STOP_LOSS, OrderStatus.FILLED)
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert fill.client_order_id == cid("sl-1")
    assert Price("28855") <= fill.price <= Price("29000")
    assert fill.liquidity is Liquidity.TAKER


def test_insufficient_funds_rejected_without_brackets(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("100"))
    with pytest.raises(OrderRejectedError, match="insufficient USDT"):
        run(harness.venue.place_order(limit("poor-1", Side.BUY, "0.1", "29000")))
    with pytest.raises(OrderRejectedError, match="insufficient USDT"):
        run(harness.venue.place_order(market("poor-2", Side.BUY, "0.1")))
    with pytest.raises(OrderRejectedError, match="insufficient BTC"):
        run(harness.venue.place_order(limit("poor-3", Side.SELL, "0.1", "31000")))
    with pytest.raises(OrderRejectedError, match="insufficient BTC"):
        run(harness.venue.place_order(stop("poor-4", "0.1", "29000")))
    assert run(harness.venue.fetch_open_orders(BTC)) == ()
    assert balances(harness)["USDT"] == Balance(USDT, Decimal("100"), Decimal(0))


def test_small_orders_are_accepted_without_a_minimum_notional(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    small = run(harness.venue.place_order(limit("tiny-1", Side.BUY, "0.0001", "29000")))
    assert small.status is OrderStatus.OPEN


def test_client_id_in_use_is_not_refused_by_gemini(harness: CcxtSandboxHarness) -> None:
    # Gemini does not keep client ids unique; the bot's ids are unique per bot, and a lookup by a client id
    # finds the newest order carrying it.
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("dup-1", Side.BUY, "0.1", "29000")))
    run(harness.venue.place_order(limit("dup-1", Side.BUY, "0.1", "28000")))
    assert run(harness.venue.fetch_order(BTC, cid("dup-1"))).price == Price("28000")


# -- what goes over the wire ---------------------------------------------------------------------------


def test_market_order_is_an_immediate_or_cancel_limit_bounded_beyond_the_ask(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    placed = run(harness.venue.place_order(market("mkt-9", Side.BUY, "0.1")))
    assert (placed.order_type, placed.status, placed.price) == (OrderType.MARKET, OrderStatus.FILLED, None)
    sent = private_payloads(harness, "/v1/order/new")[-1]["params"]
    assert sent["type"] == "exchange limit"
    assert sent["options"] == ["immediate-or-cancel"]
    assert Decimal(sent["price"]) == Decimal("30600.02")  # ask 30000.01 x 1.02 = 30600.0102, up to the tick
    assert sent["client_order_id"] == "mkt-9"


def test_a_market_order_on_a_thin_book_fills_what_is_offered_and_the_rest_is_cancelled(
        harness: CcxtSandboxHarness) -> None:
    # Gemini's immediate-or-cancel limit takes what the book offers up to its price and cancels the rest.
    harness.fund(USDT, Decimal("10000"))
    harness.sandbox.configure(taker_depth="0.04")
    placed = run(harness.venue.place_order(market("thin-1", Side.BUY, "0.1")))
    assert placed.status is OrderStatus.CANCELED
    assert placed.filled_quantity == Quantity("0.04")
    (fill,) = run(harness.venue.fetch_fills(BTC))
    assert (fill.client_order_id, fill.quantity) == (cid("thin-1"), Quantity("0.04"))
    assert balances(harness)["BTC"].total == Decimal("0.04")


def test_post_only_that_would_take_is_cancelled_by_gemini_and_reported_rejected(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    with pytest.raises(OrderRejectedError, match="post-only"):
        run(harness.venue.place_order(limit("po-9", Side.BUY, "0.1", "30500", post_only=True)))
    assert private_payloads(harness, "/v1/order/new")[-1]["params"]["options"] == ["maker-or-cancel"]
    assert run(harness.venue.fetch_order(BTC, cid("po-9"))).status is OrderStatus.CANCELED
    assert balances(harness)["USDT"] == Balance(USDT, Decimal("10000"), Decimal(0))


def test_cancel_after_a_restart_finds_the_venue_id_by_client_id_first(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("rs-1", Side.BUY, "0.1", "29000")))
    # A second adapter stands for the restarted bot: it has noted no venue order id.
    restarted = CcxtExchange.create("gemini", clock=harness.clock, api_key=harness.sandbox.api_key,
                                    secret=harness.sandbox.secret, base_url=harness.sandbox.url,
                                    options={"enableRateLimit": False})
    try:
        canceled = run(restarted.cancel_order(BTC, cid("rs-1")))
    finally:
        run(restarted.close())
    assert canceled.status is OrderStatus.CANCELED
    status_call = private_payloads(harness, "/v1/order/status")[-1]
    cancel_call = private_payloads(harness, "/v1/order/cancel")[-1]
    assert status_call["params"]["client_order_id"] == "rs-1"
    assert "order_id" not in status_call["params"], "Gemini takes one id in a lookup, never both"
    assert cancel_call["params"]["order_id"] == str(canceled.venue_order_id)


def test_a_lookup_sends_exactly_one_id(harness: CcxtSandboxHarness) -> None:
    harness.fund(USDT, Decimal("10000"))
    placed = run(harness.venue.place_order(limit("one-1", Side.BUY, "0.1", "29000")))
    assert run(harness.venue.fetch_order(BTC, cid("one-1"))).venue_order_id == placed.venue_order_id
    (status_call,) = private_payloads(harness, "/v1/order/status")
    assert (status_call["params"]["order_id"], "client_order_id" in status_call["params"]) == (
        str(placed.venue_order_id), False)


def test_signed_payload_carries_the_endpoint_and_an_increasing_nonce(harness: CcxtSandboxHarness) -> None:
    run(harness.venue.fetch_balances())
    run(harness.venue.fetch_balances())
    nonces = [int(r["params"]["nonce"]) for r in private_payloads(harness, "/v1/balances")]
    assert len(nonces) == 2
    assert nonces[0] < nonces[1]
    assert all(r["params"]["request"] == "/v1/balances" for r in private_payloads(harness, "/v1/balances"))


def test_start_up_reads_the_details_of_the_symbols_it_trades_not_of_every_listed_one() -> None:
    # Gemini lists over a hundred symbols, and ccxt, told to read every symbol's details, sends one request for each
    # at start-up and after every rules reload: each a chance for a fault to fail the whole load, and all of them
    # against Gemini's public rate limit. The bot needs the details of the symbols it trades.
    h = CcxtSandboxHarness("gemini", symbols=("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"))
    try:
        assert run(h.market.fetch_instrument(BTC)).tick_size == Decimal("0.01")
        details = [r["path"] for r in h.sandbox.requests() if r["path"].startswith("/v1/symbols/details/")]
        assert details == ["/v1/symbols/details/btcusdt"]
        run(h.market.fetch_instrument(BTC))
        h.fund(USDT, Decimal(1000))
        run(h.venue.place_order(limit("tc-d-1", Side.BUY, "0.001", "20000")))  # no second reading
        assert len([r for r in h.sandbox.requests() if r["path"].startswith("/v1/symbols/details/")]) == 1
        eth = run(h.market.fetch_instrument(Symbol.parse("ETH/USDT")))
        assert eth.symbol == Symbol.parse("ETH/USDT")
        assert [r["path"] for r in h.sandbox.requests() if r["path"].startswith("/v1/symbols/details/")] == [
            "/v1/symbols/details/btcusdt", "/v1/symbols/details/ethusdt"]
    finally:
        h.close()


def test_a_price_refused_on_a_changed_tick_reads_that_symbols_details_again(harness: CcxtSandboxHarness) -> None:
    # The venue's rules change under a running bot: its refusal reads the traded symbol's details again (once a
    # minute at most), not the whole list of markets, and the next order is checked against the new tick.
    harness.fund(USDT, Decimal(10_000))
    run(harness.market.fetch_instrument(BTC))
    ex = harness.sandbox.exchange
    with ex.lock:
        ex.rules["BTCUSDT"] = dataclasses.replace(ex.rules["BTCUSDT"], tick=Decimal(1))
    with pytest.raises(OrderRejectedError, match="increment is 1"):
        run(harness.venue.place_order(limit("tc-t-1", Side.BUY, "0.001", "20000.5")))
    assert run(harness.market.fetch_instrument(BTC)).tick_size == Decimal(1)
    with pytest.raises(OrderRejectedError, match="not a multiple of the tick 1"):  # refused before it is sent
        run(harness.venue.place_order(limit("tc-t-2", Side.BUY, "0.001", "20000.5")))
    assert run(harness.venue.place_order(limit("tc-t-3", Side.BUY, "0.001", "20001"))).status is OrderStatus.OPEN
    details = [r["path"] for r in harness.sandbox.requests() if r["path"].startswith("/v1/symbols")]
    assert details == ["/v1/symbols", "/v1/symbols/details/btcusdt", "/v1/symbols/details/btcusdt"]


def test_a_404_page_that_is_not_geminis_answer_proves_nothing_absent(harness: CcxtSandboxHarness) -> None:
    """A proxy's or gateway's HTML 404 on the order lookup is the venue unreachable, not "no such order": three of
    them in a row would otherwise prove a resting order absent (Gemini has no acceptance window), and the bot would
    place its successor beside it. Gemini's own "not found" (JSON, reason OrderNotFound) still is one."""
    harness.fund(USDT, Decimal("10000"))
    run(harness.venue.place_order(limit("nf-1", Side.BUY, "0.1", "29000")))
    harness.sandbox.inject("/v1/order/status", method="POST", status=404,
                           body="<html><body><h1>404 Not Found</h1>nginx</body></html>", times=3)
    for _ in range(3):
        with pytest.raises(ExchangeUnavailableError):
            run(harness.venue.fetch_order(BTC, cid("nf-1")))
    assert run(harness.venue.fetch_order(BTC, cid("nf-1"))).venue_order_id, "it was there all along"
    with pytest.raises(OrderNotFoundError):
        run(harness.venue.fetch_order(BTC, cid("never-placed")))


def test_an_order_is_not_held_behind_the_market_data_reads_before_it(harness: CcxtSandboxHarness) -> None:
    """Gemini limits its public and its private entry points apart (120 and 600 requests a minute), and the adapter
    paces them apart: an order sent while a tick's market data is being read goes out at once. Paced through one
    bucket (ccxt's), it waited half a second behind each public read queued before it, a protective stop after a
    restart among them."""
    harness.fund(USDT, Decimal("10000"))
    paced = CcxtExchange.create("gemini", clock=harness.clock, api_key=harness.sandbox.api_key,
                                secret=harness.sandbox.secret, base_url=harness.sandbox.url, options={"timeout": 5000})

    async def tick() -> None:
        try:
            await paced.fetch_instrument(BTC)  # markets and the symbol's details: two public reads
            await asyncio.gather(paced.fetch_candles(BTC, TF, limit=5), paced.fetch_quote(BTC),
                                 paced.place_order(limit("paced-1", Side.BUY, "0.001", "29000")))
        finally:
            await paced.close()

    run(tick())
    paths = [r["path"] for r in harness.sandbox.requests()]
    tick_reads = [p for p in paths[2:] if p.startswith(("/v2/candles", "/v1/book", "/v1/pubticker"))]
    assert len(tick_reads) == 3
    assert paths.index("/v1/order/new") < paths.index(tick_reads[0]), f"the order waited for market data: {paths}"


def test_the_adapter_keeps_within_geminis_request_rates_where_an_unpaced_client_meets_429(
    harness: CcxtSandboxHarness,
) -> None:
    """Gemini answers 429 past its request rates (120 public and 600 private a minute, a second's worth at once and
    five more queued), and the emulator now holds them. Ticks of the adapter (market data and an order at once, as a
    tick sends them) all pass; the same burst from a client without its pacing meets 429."""
    harness.fund(USDT, Decimal("10000"))
    harness.sandbox.gemini_rates()
    paced = CcxtExchange.create("gemini", clock=harness.clock, api_key=harness.sandbox.api_key,
                                secret=harness.sandbox.secret, base_url=harness.sandbox.url, options={"timeout": 20000})
    unpaced = CcxtExchange.create("gemini", clock=harness.clock, api_key=harness.sandbox.api_key,
                                  secret=harness.sandbox.secret, base_url=harness.sandbox.url,
                                  options={"enableRateLimit": False, "timeout": 20000})

    async def ticks() -> list[Any]:
        try:
            await paced.fetch_instrument(BTC)
            answers: list[Any] = []
            for n in range(2):
                answers += await asyncio.gather(
                    paced.fetch_candles(BTC, TF, limit=5), paced.fetch_quote(BTC),
                    *(paced.place_order(limit(f"rate-{n}-{k}", Side.BUY, "0.001", "29000")) for k in range(6)),
                    paced.fetch_balances(), return_exceptions=True)
            return answers
        finally:
            await paced.close()

    async def burst() -> list[Any]:
        try:
            return list(await asyncio.gather(*(unpaced.fetch_quote(BTC) for _ in range(10)), return_exceptions=True))
        finally:
            await unpaced.close()

    failed = [a for a in run(ticks()) if isinstance(a, BaseException)]
    assert not failed, f"the adapter's own requests met {failed}"
    harness.sandbox.gemini_rates()  # a fresh second's worth for the burst
    limited = [a for a in run(burst()) if isinstance(a, RateLimitedError)]
    assert 0 < len(limited) < 10, "two reads at once, five queued, the rest refused"


def test_a_market_order_is_bounded_by_the_ticks_quote_without_a_read_of_its_own(harness: CcxtSandboxHarness) -> None:
    """Gemini takes no market orders: one is sent as an IOC limit 2 % beyond the touch. Right after the tick's quote
    that touch is the quote's, so an exit goes out at once instead of after a ticker read that waits its turn behind
    the tick's public reads (its stop already withdrawn); without a recent quote the ticker is read first."""
    harness.fund(BTC_ASSET, Decimal("1"))
    quote = run(harness.market.fetch_quote(BTC))
    before = len(harness.sandbox.requests())
    order = run(harness.venue.place_order(market("q-1", Side.SELL, "0.01")))
    assert order.filled_quantity.value == Decimal("0.01")
    sent = harness.sandbox.requests()[before:]
    assert [r["path"] for r in sent] == ["/v1/order/new"]
    assert Decimal(sent[0]["params"]["price"]) == (quote.bid * Decimal("0.98")).quantize(Decimal("0.01"), ROUND_FLOOR)

    fresh = CcxtExchange.create("gemini", clock=harness.clock, api_key=harness.sandbox.api_key,
                                secret=harness.sandbox.secret, base_url=harness.sandbox.url,
                                options={"enableRateLimit": False})
    before = len(harness.sandbox.requests())

    async def sell() -> None:
        try:
            await fresh.place_order(market("q-2", Side.SELL, "0.01"))
        finally:
            await fresh.close()

    run(sell())
    assert [r["path"] for r in harness.sandbox.requests()[before:]][-2:] == ["/v1/pubticker/btcusdt", "/v1/order/new"]
