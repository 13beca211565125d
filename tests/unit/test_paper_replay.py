"""Replay rules of the paper venue, the replay market, the clocks, and the CSV and synthetic feeds."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trader_adapters.clock import SimulatedClock, SystemClock
from trader_adapters.feeds import generate_candles, load_candles_csv
from trader_adapters.memory.exchange import FakeExchange
from trader_adapters.paper import PaperExchange, ReplayMarket, default_rules
from trader_adapters.paper.live import LivePaperMarket
from trader_core.model import (
    Asset,
    Candle,
    ClientOrderId,
    ConfigError,
    ExchangeUnavailableError,
    ExitBracket,
    Liquidity,
    OrderRejectedError,
    OrderRequest,
    OrderStatus,
    OrderType,
    Price,
    Quantity,
    Side,
    Symbol,
    Timeframe,
)

SOL = Symbol.parse("SOL/USDT")
ETH = Symbol.parse("ETH/USDT")
USDT, SOL_ASSET = Asset("USDT"), Asset("SOL")
TF = Timeframe("1m")
MINUTE = TF.duration
T0 = datetime(2024, 1, 1, tzinfo=UTC)
_T = TypeVar("_T")


def run(coro: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(coro)


def bar(index: int, ohlc: str, symbol: Symbol = SOL, volume: str = "10") -> Candle:
    """Candle number ``index`` (open at T0 + index minutes) from ``"open high low close"``."""
    o, h, low, c = (Decimal(text) for text in ohlc.split())
    return Candle(
        symbol=symbol, timeframe=TF, open_time=T0 + index * MINUTE,
        open=o, high=h, low=low, close=c, volume=Decimal(volume),
    )


class Venue:
    """A paper venue over ``candles``, with the clock at the close of candle 0."""

    def __init__(self, candles: list[Candle], slippage: str = "0", usdt: str = "10000", sol: str = "0") -> None:
        self.clock = SimulatedClock(T0)
        self.market = ReplayMarket({SOL: candles}, self.clock)
        self.paper = PaperExchange(
            market=self.market, clock=self.clock, fee_rate=Decimal("0.001"), slippage_rate=Decimal(slippage),
            balances={USDT: Decimal(usdt), SOL_ASSET: Decimal(sol)},
        )
        self.clock.advance_to(T0 + MINUTE)  # candle 0 has closed: the bot decides on it now

    def to_close_of(self, index: int) -> None:
        self.clock.advance_to(T0 + (index + 1) * MINUTE)

    def place(self, request: OrderRequest) -> OrderStatus:
        return run(self.paper.place_order(request)).status

    def status(self, client_id: str) -> OrderStatus:
        return run(self.paper.fetch_order(SOL, ClientOrderId(client_id))).status

    def fills(self) -> list[tuple[str, Decimal, datetime, Liquidity]]:
        return [
            (str(f.client_order_id), f.price.value, f.time, f.liquidity) for f in run(self.paper.fetch_fills(SOL))
        ]


def order(client_id: str, side: Side, kind: OrderType, quantity: str = "1", price: str | None = None) -> OrderRequest:
    stop = price if kind is OrderType.STOP_LOSS else None
    limit = price if kind in (OrderType.LIMIT, OrderType.TAKE_PROFIT) else None
    return OrderRequest(
        client_order_id=ClientOrderId(client_id), symbol=SOL, side=side, order_type=kind, quantity=Quantity(quantity),
        price=None if limit is None else Price(limit), stop_price=None if stop is None else Price(stop),
    )


def sell_bracket(stop: str = "95", target: str = "110") -> ExitBracket:
    return ExitBracket(
        symbol=SOL, side=Side.SELL, quantity=Quantity("1"), stop_price=Price(stop), target_price=Price(target),
        stop_client_order_id=ClientOrderId("sl"), target_client_order_id=ClientOrderId("tp"),
    )


# -- market orders --------------------------------------------------------------------------------


def test_market_order_fills_at_next_open_with_adverse_slippage() -> None:
    venue = Venue([bar(0, "100 101 99 100"), bar(1, "100.03 101 99 100.5"), bar(2, "100.5 101 99 100")],
                  slippage="0.001", sol="1")
    assert venue.place(order("buy", Side.BUY, OrderType.MARKET)) is OrderStatus.OPEN
    assert venue.place(order("sell", Side.SELL, OrderType.MARKET)) is OrderStatus.OPEN
    assert venue.fills() == []  # nothing fills until the next candle has traded
    venue.to_close_of(1)
    # 100.03 * 1.001 = 100.13003 -> up to 100.14; 100.03 * 0.999 = 99.92997 -> down to 99.92.
    assert venue.fills() == [
        ("buy", Decimal("100.14"), T0 + MINUTE, Liquidity.TAKER),
        ("sell", Decimal("99.92"), T0 + MINUTE, Liquidity.TAKER),
    ]


def test_no_look_ahead_order_at_close_of_t_ignores_candle_t() -> None:
    # Candle 0 dipped to 90; a buy limit at 95 placed after it closed must not use that dip.
    venue = Venue([bar(0, "100 101 90 100"), bar(1, "100 102 98 101"), bar(2, "101 102 94 96")])
    venue.place(order("lim", Side.BUY, OrderType.LIMIT, price="95"))
    venue.place(order("mkt", Side.BUY, OrderType.MARKET))
    venue.to_close_of(1)
    assert venue.status("lim") is OrderStatus.OPEN
    assert venue.fills() == [("mkt", Decimal("100"), T0 + MINUTE, Liquidity.TAKER)]  # not candle 0's close
    venue.to_close_of(2)
    assert venue.fills()[-1] == ("lim", Decimal("95"), T0 + 2 * MINUTE, Liquidity.MAKER)


def test_order_placed_mid_candle_waits_for_the_next_open() -> None:
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "100 100 100 100"), bar(2, "103 104 102 103")])
    venue.clock.advance_to(T0 + MINUTE + timedelta(seconds=30))  # candle 1 is forming
    venue.place(order("mkt", Side.BUY, OrderType.MARKET))
    venue.to_close_of(1)
    assert venue.fills() == []
    venue.to_close_of(2)
    assert venue.fills() == [("mkt", Decimal("103"), T0 + 2 * MINUTE, Liquidity.TAKER)]


def test_market_orders_fill_before_resting_orders_in_a_candle() -> None:
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "100 101 94 95")])
    venue.place(order("lim", Side.BUY, OrderType.LIMIT, price="96"))  # placed first
    venue.place(order("mkt", Side.BUY, OrderType.MARKET))
    venue.to_close_of(1)
    assert [name for name, *_ in venue.fills()] == ["mkt", "lim"]


def test_market_buy_expires_when_the_open_gaps_beyond_the_hold() -> None:
    # Hold = 1 * 100 * (1 + 0.02 margin) * (1 + 0.001 fee) = 102.102; the open gaps to 105.
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "105 106 104 105")], usdt="102.102")
    venue.place(order("mkt", Side.BUY, OrderType.MARKET))
    venue.to_close_of(1)
    assert venue.status("mkt") is OrderStatus.EXPIRED
    assert venue.fills() == []
    assert run(venue.paper.fetch_balances())[0].free == Decimal("102.102")


# -- limits and brackets --------------------------------------------------------------------------


def test_limit_fills_at_the_open_when_the_candle_opens_through_it() -> None:
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "98 99 97 98")], sol="1")
    venue.place(order("buy", Side.BUY, OrderType.LIMIT, price="99"))
    venue.to_close_of(1)
    assert venue.fills() == [("buy", Decimal("98"), T0 + MINUTE, Liquidity.MAKER)]


def test_stop_fills_at_stop_when_touched_inside_the_candle() -> None:
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "100 101 94 96")], sol="1")
    run(venue.paper.place_exit_bracket(sell_bracket()))
    venue.to_close_of(1)
    assert venue.fills() == [("sl", Decimal("95"), T0 + MINUTE, Liquidity.TAKER)]
    assert venue.status("tp") is OrderStatus.CANCELED


def test_gap_through_stop_fills_at_the_open_less_slippage() -> None:
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "90 92 88 91")], sol="1", slippage="0.001")
    run(venue.paper.place_exit_bracket(sell_bracket()))
    venue.to_close_of(1)
    assert venue.fills() == [("sl", Decimal("89.91"), T0 + MINUTE, Liquidity.TAKER)]  # 90 * 0.999


def test_both_legs_touched_in_one_candle_stop_fills_first() -> None:
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "100 111 94 105")], sol="1")
    run(venue.paper.place_exit_bracket(sell_bracket()))
    venue.to_close_of(1)
    assert venue.fills() == [("sl", Decimal("95"), T0 + MINUTE, Liquidity.TAKER)]
    assert venue.status("tp") is OrderStatus.CANCELED
    assert run(venue.paper.fetch_open_orders(SOL)) == ()


def test_gap_above_target_fills_target_at_open_even_if_the_stop_is_touched_later() -> None:
    # The open is the first trade of the candle: at 112 the target was certainly reached first.
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "112 113 94 100")], sol="1")
    run(venue.paper.place_exit_bracket(sell_bracket()))
    venue.to_close_of(1)
    assert venue.fills() == [("tp", Decimal("112"), T0 + MINUTE, Liquidity.MAKER)]
    assert venue.status("sl") is OrderStatus.CANCELED


def test_target_fills_at_target_price() -> None:
    venue = Venue([bar(0, "100 100 100 100"), bar(1, "100 111 99 105")], sol="1")
    run(venue.paper.place_exit_bracket(sell_bracket()))
    venue.to_close_of(1)
    assert venue.fills() == [("tp", Decimal("110"), T0 + MINUTE, Liquidity.MAKER)]
    usdt = next(b for b in run(venue.paper.fetch_balances()) if b.asset == USDT)
    assert usdt.free == Decimal("10000") + Decimal("110") - Decimal("0.110")


# -- the replay market ----------------------------------------------------------------------------


def test_replay_reveals_in_close_time_then_symbol_order_before_returning_data() -> None:
    clock = SimulatedClock(T0)
    sol = [bar(i, "100 100 100 100") for i in range(3)]
    eth = [bar(i, "50 50 50 50", symbol=ETH) for i in range(3)]
    market = ReplayMarket({SOL: sol, ETH: eth}, clock)
    seen: list[tuple[str, int]] = []
    market.subscribe(lambda c: seen.append((c.symbol.base.code, c.open_time.minute)))
    assert (market.start_time, market.end_time) == (T0 + MINUTE, T0 + 3 * MINUTE)
    assert market.symbols == (ETH, SOL)
    assert market.timeframe == TF
    clock.advance_to(T0 + 2 * MINUTE + timedelta(seconds=59))
    assert run(market.fetch_candles(SOL, TF)) == tuple(sol[:2])  # the forming candle 2 is hidden
    assert seen == [("ETH", 0), ("SOL", 0), ("ETH", 1), ("SOL", 1)]
    assert not market.is_exhausted
    clock.advance_to(T0 + 3 * MINUTE)
    assert run(market.fetch_candles(SOL, TF, since=T0 + MINUTE, limit=1)) == (sol[1],)
    assert run(market.fetch_candles(SOL, TF, limit=2)) == tuple(sol[1:])
    assert market.is_exhausted


def test_quote_from_the_last_candle_with_spread_on_the_tick() -> None:
    clock = SimulatedClock(T0 + MINUTE)
    market = ReplayMarket({SOL: [bar(0, "100 101 99 100.00")]}, clock, spread_bps=Decimal(3))
    quote = run(market.fetch_quote(SOL))
    # Half of 3 bps of 100 is 0.015: rounded outwards to the 0.01 tick.
    assert (quote.bid, quote.last, quote.ask) == (Decimal("99.98"), Decimal("100.00"), Decimal("100.02"))
    assert quote.venue_time == T0 + MINUTE
    assert quote.observed_at == T0 + MINUTE
    assert run(market.fetch_instrument(SOL)) == default_rules(SOL)


def test_appended_candles_keep_close_time_then_symbol_order() -> None:
    clock = SimulatedClock(T0)
    market = ReplayMarket({SOL: [bar(0, "1 1 1 1")], ETH: [bar(0, "2 2 2 2", symbol=ETH)]}, clock)
    seen: list[tuple[str, int]] = []
    market.subscribe(lambda c: seen.append((c.symbol.base.code, c.open_time.minute)))
    market.append(bar(1, "1 1 1 1"))
    market.append(bar(1, "2 2 2 2", symbol=ETH))
    clock.advance_to(T0 + 2 * MINUTE)
    market.sync()
    assert seen == [("ETH", 0), ("SOL", 0), ("ETH", 1), ("SOL", 1)]
    with pytest.raises(ConfigError, match="not after the last"):
        market.append(bar(1, "1 1 1 1"))
    with pytest.raises(ConfigError, match="before revealed data"):
        market.append(bar(0, "3 3 3 3", symbol=Symbol.parse("BTC/USDT")))
    assert market.symbols == (ETH, SOL)


def test_replay_refuses_inconsistent_series() -> None:
    clock = SimulatedClock(T0)
    with pytest.raises(ConfigError, match="not ascending"):
        ReplayMarket({SOL: [bar(1, "1 1 1 1"), bar(0, "1 1 1 1")]}, clock)
    with pytest.raises(ConfigError, match="filed under"):
        ReplayMarket({ETH: [bar(0, "1 1 1 1")]}, clock)


# -- clocks ---------------------------------------------------------------------------------------


def test_simulated_clock_never_goes_back() -> None:
    clock = SimulatedClock(T0)
    clock.advance(MINUTE)
    assert clock.now() == T0 + MINUTE
    assert clock.monotonic() == MINUTE
    clock.advance_to(T0 + MINUTE)  # staying put is fine
    with pytest.raises(ValueError, match="back"):
        clock.advance_to(T0)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(-MINUTE)


def test_system_clock_is_aware_utc_and_monotonic() -> None:
    clock = SystemClock()
    assert clock.now().utcoffset() == timedelta(0)
    first = clock.monotonic()
    assert clock.monotonic() >= first


# -- CSV feed -------------------------------------------------------------------------------------

HEADER = "timestamp_ms,open,high,low,close,volume\n"
MS0 = 1_717_200_000_000  # 2024-06-01T00:00:00Z


def write(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "data.csv"
    path.write_text(header + body)
    return path


def rows(*lines: str) -> str:
    return "".join(f"{line}\n" for line in lines)


def test_csv_loads_exact_decimals_and_infers_the_timeframe(tmp_path: Path) -> None:
    path = write(tmp_path, rows(
        f"{MS0},100.10,101,99.5,100.2,1.5",
        f"{MS0 + 300_000},100.2,101,99.5,100.3,0",
        f"{MS0 + 600_000},100.3,101,99.5,100.4,2",
        f"{MS0 + 1_500_000},100.4,101,99.5,100.5,2",  # a gap is allowed
    ))
    candles = load_candles_csv(path, SOL)
    assert len(candles) == 4
    assert candles[0].timeframe == Timeframe("5m")
    assert candles[0].open_time == datetime(2024, 6, 1, tzinfo=UTC)
    assert str(candles[0].open) == "100.10"
    assert candles[-1].close_time == datetime(2024, 6, 1, 0, 30, tzinfo=UTC)
    assert load_candles_csv(path, SOL, Timeframe("1m"))[0].timeframe == Timeframe("1m")


OK0 = f"{MS0},100,101,99,100,1"
OK1 = f"{MS0 + 60_000},100,101,99,100,1"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (rows(OK0, f"{MS0 + 60_000},100,99.5,100.2,100,1"), "line 3: high 99.5 below low 100.2"),
        (rows(OK0, f"{MS0 + 60_000},NaN,101,99,100,1"), "line 3: open 'NaN' is not a finite"),
        (rows(f"{MS0},100,101,99,100,-1", OK1), "line 2: volume -1 is negative"),
        (rows(f"{MS0},100,101,-99,100,1", OK1), "line 2: low -99 is not positive"),
        (rows(OK0, f"{MS0 + 60_000},1e400,1e400,1e400,1e400,10"), "line 3: open 1e400 is out of range"),
        (rows(f"{MS0},1e-400,1e-400,1e-400,1e-400,10", OK1), "line 2: open 1e-400 is out of range"),
        (rows(f"{MS0},100,101,99,100,1e-400", OK1), "line 2: volume 1e-400 is out of range"),
        (rows(f"{MS0},100,1e15,99,100,1", OK1), "line 2: high 1e15 is out of range"),
        (rows(f"{MS0},100,101,99,100"), "line 2: expected 6 columns"),
        (rows(f"{MS0},100,101,abc,100,1"), "line 2: low 'abc' is not a number"),
        (rows(OK0, OK1, OK0), "line 4: timestamp_ms .* is before the previous"),
        (rows(OK0, OK1, OK1), "line 4: duplicate timestamp_ms"),
        (rows(f"{MS0 // 1000},1,1,1,1,1", f"{MS0 // 1000 + 60},1,1,1,1,1"), "line 2: .* looks like seconds"),
        (rows(f"{MS0}.5,100,101,99,100,1", OK1), "line 2: timestamp_ms .* not an integer"),
        (rows(OK0, "99999999999999999999,100,101,99,100,1"), r"line 3: timestamp_ms 99999999999999999999 is beyond "
         r"the calendar \(after year 9999\): expected milliseconds since 1970-01-01 UTC, from 100000000000 \(1973\) "
         r"to 253402300799999 \(the end of 9999\)"),
        (rows("253402300800000,1,1,1,1,1", "253402300860000,1,1,1,1,1"),
         r"line 2: timestamp_ms 253402300800000 is beyond the calendar \(after year 9999\)"),
        (rows(OK0), "line 2: cannot infer the timeframe"),
        ("", "line 2: no candles"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(ConfigError, match=rf"data\.csv {message}"):
        load_candles_csv(write(tmp_path, body), SOL)


def test_csv_header_and_empty_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.csv line 1: bad header"):
        load_candles_csv(write(tmp_path, rows(OK0), header="time,open,high,low,close,volume\n"), SOL)
    with pytest.raises(ConfigError, match=r"data\.csv line 1: empty file"):
        load_candles_csv(write(tmp_path, "", header=""), SOL)
    with pytest.raises(ConfigError, match="cannot read"):
        load_candles_csv(tmp_path / "missing.csv", SOL)


def test_csv_spacing_shorter_than_the_timeframe_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, rows(f"{MS0},1,1,1,1,1", f"{MS0 + 30_000},1,1,1,1,1"))
    with pytest.raises(ConfigError, match=r"line 3: .* only 30000 ms after"):
        load_candles_csv(path, SOL, Timeframe("1m"))


# -- synthetic feed -------------------------------------------------------------------------------


def test_synthetic_is_deterministic_and_seed_and_symbol_dependent() -> None:
    first = generate_candles(SOL, TF, T0, 300, seed=7)
    assert first == generate_candles(SOL, TF, T0, 300, seed=7)
    assert first != generate_candles(SOL, TF, T0, 300, seed=8)
    eth = generate_candles(ETH, TF, T0, 300, seed=7)
    assert [c.close for c in eth] != [c.close for c in first]
    assert first[0].open == Decimal(150)
    assert eth[0].open == Decimal(3000)
    assert generate_candles(SOL, TF, T0, 0, seed=1) == ()


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32), timeframe=st.sampled_from(["1m", "1h", "1d"]))
def test_synthetic_candles_are_valid_and_continuous(seed: int, timeframe: str) -> None:
    tf = Timeframe(timeframe)
    candles = generate_candles(Symbol.parse("DOGE/USDT"), tf, T0, 500, seed=seed)
    assert len(candles) == 500
    for previous, candle in itertools.pairwise(candles):
        assert candle.open_time == previous.open_time + tf.duration
        assert candle.open == previous.close
    for candle in candles:
        assert candle.high >= max(candle.open, candle.close)
        assert candle.low <= min(candle.open, candle.close)
        assert candle.low > 0
        assert candle.volume > 0
        assert candle.close == candle.close.quantize(Decimal("0.01"))


# -- executions pushed by the venue ---------------------------------------------------------------


def test_the_venue_reports_each_candle_that_changed_an_order_and_no_other() -> None:
    venue = Venue([bar(0, "100 101 99 100"), bar(1, "100 101 99 100"), bar(2, "100 101 99 100"),
                   bar(3, "100 111 99 105"), bar(4, "105 106 104 105")], sol="1")
    reported: list[tuple[Symbol, datetime]] = []
    venue.paper.subscribe_executions(lambda symbol: reported.append((symbol, venue.clock.now())))
    run(venue.paper.place_exit_bracket(sell_bracket(stop="95", target="110")))
    venue.to_close_of(2)
    assert venue.fills() == []  # candles 1-2 revealed; the bracket rests untouched: nothing to report
    assert reported == []
    venue.to_close_of(4)
    assert venue.status("tp") is OrderStatus.FILLED
    assert venue.status("sl") is OrderStatus.CANCELED
    # Candle 3 reached the target: that leg filled and its partner was cancelled, reported once.
    assert [symbol for symbol, _ in reported] == [SOL]


# -- paper trading on a live venue's data ---------------------------------------------------------


class LivePaper:
    """A paper venue fed by a live venue (the in-memory fake) through ``LivePaperMarket``, 1h candles, the clock
    30 s into candle 2 (candles 0 and 1 closed and seen): the moment a live-paper bot acts on candle 1."""

    HOUR = Timeframe("1h")

    def __init__(self, *, usdt: str = "10000", sol: str = "0") -> None:
        self.clock = SimulatedClock(T0 + 2 * self.HOUR.duration + timedelta(seconds=30))
        self.live = FakeExchange(clock=self.clock, symbols=[SOL])
        self.live.add_candles([self.candle(0, "100 101 99 100"), self.candle(1, "100 101 99 100")])
        replay = ReplayMarket({SOL: ()}, self.clock, timeframe=self.HOUR)
        self.market = LivePaperMarket(self.live, replay)
        self.paper = PaperExchange(market=replay, clock=self.clock, fee_rate=Decimal("0.001"),
                                   balances={USDT: Decimal(usdt), SOL_ASSET: Decimal(sol)}, touch=self.live)
        self.reported: list[Symbol] = []
        self.paper.subscribe_executions(self.reported.append)
        run(self.market.fetch_candles(SOL, self.HOUR))

    def candle(self, index: int, ohlc: str) -> Candle:
        o, h, low, c = (Decimal(text) for text in ohlc.split())
        return Candle(symbol=SOL, timeframe=self.HOUR, open_time=T0 + index * self.HOUR.duration,
                      open=o, high=h, low=low, close=c, volume=Decimal(10))

    def candle_closes(self, index: int, ohlc: str) -> None:
        """Candle ``index`` closes at the live venue (the clock 30 s past its close) and the bot fetches it."""
        self.live.add_candles([self.candle(index, ohlc)])
        self.clock.advance_to(T0 + (index + 1) * self.HOUR.duration + timedelta(seconds=30))
        run(self.market.fetch_candles(SOL, self.HOUR, since=T0 + index * self.HOUR.duration))

    def balance(self, asset: Asset) -> Decimal:
        return next((b.free for b in run(self.paper.fetch_balances()) if b.asset == asset), Decimal(0))


def test_a_live_paper_market_order_fills_when_placed_at_the_live_touch_not_a_candle_later() -> None:
    venue = LivePaper()
    venue.live.set_quote(SOL, Decimal("100.00"), Decimal("100.10"))
    placed = run(venue.paper.place_order(order("b1", Side.BUY, OrderType.MARKET, quantity="2")))
    # A live market buy takes the ask now; it used to wait for the open of candle 3 (an hour later, at 200 here).
    assert placed.status is OrderStatus.FILLED
    assert placed.average_price == Price("100.10")
    assert venue.reported == [SOL]
    venue.candle_closes(2, "100 200 100 200")
    venue.live.set_quote(SOL, Decimal("199.90"), Decimal("200.00"))
    sold = run(venue.paper.place_order(order("s1", Side.SELL, OrderType.MARKET, quantity="2")))
    assert sold.status is OrderStatus.FILLED
    assert sold.average_price == Price("199.90")  # the bid
    fills = run(venue.paper.fetch_fills(SOL))
    assert [(f.price.value, f.time, f.liquidity) for f in fills] == [
        (Decimal("100.10"), T0 + 2 * venue.HOUR.duration + timedelta(seconds=30), Liquidity.TAKER),
        (Decimal("199.90"), T0 + 3 * venue.HOUR.duration + timedelta(seconds=30), Liquidity.TAKER),
    ]
    # Balances agree with the fills and their fees (0.1 % of each notional, in USDT).
    assert [f.fee.amount for f in fills] == [Decimal("0.2002"), Decimal("0.3998")]
    assert venue.balance(USDT) == Decimal(10000) - Decimal("200.20") - Decimal("0.2002") + Decimal("399.80") - Decimal(
        "0.3998")
    assert venue.balance(SOL_ASSET) == 0


def test_a_live_paper_fill_from_a_later_candle_is_never_stamped_before_an_earlier_fill() -> None:
    venue = LivePaper(sol="1")
    run(venue.paper.place_order(order("l1", Side.SELL, OrderType.LIMIT, price="105")))  # rests from 02:00:30
    venue.candle_closes(2, "100 101 99 100")
    venue.live.set_quote(SOL, Decimal("100.00"), Decimal("100.10"))
    run(venue.paper.place_order(order("b1", Side.BUY, OrderType.MARKET)))  # filled at 03:00:30
    venue.candle_closes(3, "100 106 99 104")  # candle 3 (opened 03:00) reaches the limit; seen at 04:00:30
    assert run(venue.paper.fetch_order(SOL, ClientOrderId("l1"))).status is OrderStatus.FILLED
    bought = run(venue.paper.fetch_fills(SOL))[0]
    # A fill cursor at the market buy's fill still finds the limit's fill: it is not dated before it.
    later = run(venue.paper.fetch_fills(SOL, since=bought.time))
    assert [str(f.client_order_id) for f in later] == ["b1", "l1"]


def test_a_live_paper_market_order_without_a_live_quote_waits_for_the_next_open() -> None:
    venue = LivePaper()  # the live venue has no quote to give
    assert run(venue.paper.place_order(order("b1", Side.BUY, OrderType.MARKET))).status is OrderStatus.OPEN
    venue.candle_closes(2, "100 101 99 100")
    venue.candle_closes(3, "103 104 102 103")
    assert [f.price.value for f in run(venue.paper.fetch_fills(SOL))] == [Decimal(103)]


def test_a_live_paper_entry_gets_its_bracket_though_the_price_moved_past_the_stop_since_the_last_close() -> None:
    venue = LivePaper()  # candle 1 closed at 100
    venue.live.set_quote(SOL, Decimal("104.95"), Decimal("105.05"), last=Decimal("105.00"))  # up 5 % since
    bought = run(venue.paper.place_order(order("b1", Side.BUY, OrderType.MARKET)))
    assert bought.average_price == Price("105.05")
    # Stop 2 % and target 3 % from the fill straddle the live price; against the close of 100 both were above it and
    # the bracket was refused as triggering at once (the bot then sells what it just bought).
    bracket = ExitBracket(
        symbol=SOL, side=Side.SELL, quantity=Quantity("1"), stop_price=Price("102.95"), target_price=Price("108.20"),
        stop_client_order_id=ClientOrderId("sl"), target_client_order_id=ClientOrderId("tp"),
    )
    stop, target = run(venue.paper.place_exit_bracket(bracket))
    assert (stop.status, target.status) == (OrderStatus.OPEN, OrderStatus.OPEN)


def test_a_live_paper_post_only_order_is_judged_against_the_live_touch() -> None:
    venue = LivePaper()  # candle 1 closed at 100
    venue.live.set_quote(SOL, Decimal("104.95"), Decimal("105.05"))
    maker = attrs.evolve(order("m1", Side.BUY, OrderType.LIMIT, price="104.90"), post_only=True)
    assert run(venue.paper.place_order(maker)).status is OrderStatus.OPEN  # below the live bid: it rests
    taker = attrs.evolve(order("m2", Side.BUY, OrderType.LIMIT, price="105.05"), post_only=True)
    with pytest.raises(OrderRejectedError, match="post-only"):
        run(venue.paper.place_order(taker))  # at the live ask: it would take


def test_a_live_paper_candle_that_arrives_a_tick_late_still_fills_the_stop_it_reaches() -> None:
    clock = SimulatedClock(T0 + 2 * MINUTE + timedelta(seconds=5))
    live = FakeExchange(clock=clock, symbols=[SOL, ETH])
    for symbol in (SOL, ETH):
        live.add_candles([bar(0, "100 101 99 100", symbol), bar(1, "100 101 99 100", symbol)])
    replay = ReplayMarket({SOL: (), ETH: ()}, clock, timeframe=TF)
    market = LivePaperMarket(live, replay)
    paper = PaperExchange(market=replay, clock=clock, balances={Asset("ETH"): Decimal(1)})
    for symbol in (SOL, ETH):
        run(market.fetch_candles(symbol, TF))
    run(paper.place_order(attrs.evolve(order("sl", Side.SELL, OrderType.STOP_LOSS, price="95"), symbol=ETH)))

    def minute_closes(index: int, eth: str, *, eth_fails: bool = False) -> None:
        live.add_candles([bar(index, "100 101 99 100", SOL), bar(index, eth, ETH)])
        clock.advance(MINUTE)
        run(market.fetch_candles(SOL, TF, since=T0 + index * MINUTE))  # SOL's newest candle is revealed first
        if eth_fails:
            live.fail_next("fetch_candles", ExchangeUnavailableError("timeout"))
            with pytest.raises(ExchangeUnavailableError):
                run(market.fetch_candles(ETH, TF, since=T0 + index * MINUTE))
        else:
            run(market.fetch_candles(ETH, TF, since=T0 + (index - 1) * MINUTE))

    minute_closes(2, "100 101 99 100")
    minute_closes(3, "100 100 80 99", eth_fails=True)  # ETH falls through the stop; its fetch fails this tick
    minute_closes(4, "99 101 98 100")  # ETH's candles 3 and 4 come together, after SOL's 4 was revealed
    # The late candle reaches the paper venue: the stop filled at 95 in minute 3, as the live stop would have.
    assert [(f.price.value, f.time) for f in run(paper.fetch_fills(ETH))] == [(Decimal(95), T0 + 3 * MINUTE)]


def _bracketed_at_105() -> LivePaper:
    """A live paper venue holding 1 SOL under a stop at 102.95 and a target at 108.20, the market at 105."""
    venue = LivePaper(sol="1")
    venue.live.set_quote(SOL, Decimal("104.95"), Decimal("105.05"), last=Decimal("105.00"))
    bracket = ExitBracket(
        symbol=SOL, side=Side.SELL, quantity=Quantity("1"), stop_price=Price("102.95"), target_price=Price("108.20"),
        stop_client_order_id=ClientOrderId("sl"), target_client_order_id=ClientOrderId("tp"),
    )
    run(venue.paper.place_exit_bracket(bracket))  # at 02:00:30
    return venue


def test_a_live_paper_target_fills_at_its_price_not_at_an_open_the_market_reached_while_it_rested() -> None:
    venue = _bracketed_at_105()
    venue.candle_closes(2, "100 118 100 118")  # the rest of the placement candle: never matched (not seen whole)
    venue.candle_closes(3, "118 119 117 118")  # opens far above the target
    # The target rested at 108.20 while the market rose through it: a live venue fills it there, not at 118.
    assert [(str(f.client_order_id), f.price.value) for f in run(venue.paper.fetch_fills(SOL))] == [
        ("tp", Decimal("108.20"))]


def test_a_live_paper_maker_buy_fills_at_its_price_not_at_a_lower_open() -> None:
    venue = LivePaper()
    venue.live.set_quote(SOL, Decimal("100.00"), Decimal("100.10"))
    maker = attrs.evolve(order("m1", Side.BUY, OrderType.LIMIT, price="99.95"), post_only=True)
    assert run(venue.paper.place_order(maker)).status is OrderStatus.OPEN
    venue.candle_closes(2, "100 100 95 95")
    venue.candle_closes(3, "95 96 94 95")
    assert [f.price.value for f in run(venue.paper.fetch_fills(SOL))] == [Decimal("99.95")]


def test_a_live_paper_maker_buy_fills_when_the_live_ask_reaches_it_not_a_candle_after_its_placement() -> None:
    # A maker order rested until a whole candle after its placement was seen; on 1m candles its 60 s timeout
    # always cancelled it first, so a paper run never made a maker fill. The live quote now runs the book.
    venue = LivePaper()
    venue.live.set_quote(SOL, Decimal("100.00"), Decimal("100.10"))
    maker = attrs.evolve(order("m1", Side.BUY, OrderType.LIMIT, price="99.95"), post_only=True)
    assert run(venue.paper.place_order(maker)).status is OrderStatus.OPEN
    venue.clock.advance(timedelta(seconds=10))
    venue.live.set_quote(SOL, Decimal("99.90"), Decimal("100.00"))  # the ask is above the bid: nothing sold at it
    run(venue.market.fetch_quote(SOL))
    assert run(venue.paper.fetch_fills(SOL)) == ()
    venue.clock.advance(timedelta(seconds=10))
    venue.live.set_quote(SOL, Decimal("99.85"), Decimal("99.95"))  # a seller at the bid's price: it trades
    run(venue.market.fetch_quote(SOL))
    fills = run(venue.paper.fetch_fills(SOL))
    assert [(f.price.value, f.liquidity, f.time) for f in fills] == [
        (Decimal("99.95"), Liquidity.MAKER, venue.clock.now())]
    assert venue.reported == [SOL], "pushed to the bot like a candle's fill"


def test_a_live_paper_stop_fills_when_the_live_bid_falls_to_it_and_cancels_its_target() -> None:
    venue = _bracketed_at_105()
    venue.clock.advance(timedelta(seconds=5))
    venue.live.set_quote(SOL, Decimal("102.90"), Decimal("103.00"), last=Decimal("102.90"))
    run(venue.market.fetch_quote(SOL))
    assert [(str(f.client_order_id), f.price.value, f.liquidity) for f in run(venue.paper.fetch_fills(SOL))] == [
        ("sl", Decimal("102.90"), Liquidity.TAKER)]
    assert run(venue.paper.fetch_open_orders(SOL)) == (), "the target went with it"
    venue.candle_closes(2, "105 109 100 101")  # the candle reaches both levels later: nothing fills twice
    assert len(run(venue.paper.fetch_fills(SOL))) == 1


_PRICES = st.integers(min_value=80, max_value=120)


@settings(max_examples=60, deadline=None)
@given(bars=st.lists(st.tuples(_PRICES, _PRICES, _PRICES), min_size=1, max_size=6),
       orders=st.lists(st.tuples(st.integers(0, 5), st.booleans(), st.integers(0, 10)), max_size=6))
def test_live_paper_fills_stay_in_time_order_limits_fill_at_their_price_and_balances_agree(
        bars: list[tuple[int, int, int]], orders: list[tuple[int, bool, int]]) -> None:
    """Whatever the candles and when orders go in (a market buy, or a maker buy some ticks below the live bid):
    the fills of the symbol are in time order, a limit fills at its own price, and the balances are what the
    fills and their fees say."""
    venue = LivePaper(usdt="100000")
    limits: dict[str, Decimal] = {}
    for index, (o, c, spread) in enumerate(bars, start=2):
        bid = Decimal(o)
        venue.live.set_quote(SOL, bid, bid + Decimal("0.10"))
        for n, (at, market, below) in enumerate(orders):
            if at != index - 2:
                continue
            cid = f"o{n}"
            if market:
                run(venue.paper.place_order(order(cid, Side.BUY, OrderType.MARKET)))
            else:
                price = bid - Decimal(below)
                limits[cid] = price
                run(venue.paper.place_order(attrs.evolve(order(cid, Side.BUY, OrderType.LIMIT, price=str(price)),
                                                         post_only=True)))
        low, high = min(o, c) - spread, max(o, c) + spread
        venue.candle_closes(index, f"{o} {high} {max(low, 1)} {c}")
    fills = run(venue.paper.fetch_fills(SOL))
    assert [f.time for f in fills] == sorted(f.time for f in fills)
    assert all(f.price.value == limits[str(f.client_order_id)] for f in fills if str(f.client_order_id) in limits)
    spent = sum((f.price.value * f.quantity.value + f.fee.amount for f in fills), Decimal(0))
    assert venue.balance(USDT) + sum((b.locked for b in run(venue.paper.fetch_balances()) if b.asset == USDT),
                                     Decimal(0)) == Decimal(100000) - spent
    assert venue.balance(SOL_ASSET) == sum((f.quantity.value for f in fills), Decimal(0))
