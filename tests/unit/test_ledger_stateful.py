"""The tracker over the in-memory store, driven by hypothesis: any sequence of fills (splits, two
symbols, duplicates, fees in base, quote or a third asset with rates, restarts) gives a rebuild equal to
the incremental result, in holdings, stats and per-day rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_adapters.telemetry import RecordingTelemetry
from trader_core.model import (
    ZERO,
    Asset,
    BotId,
    ClientOrderId,
    Fill,
    Liquidity,
    Money,
    OrderRole,
    Price,
    Quantity,
    RunId,
    Side,
    Symbol,
    TradeId,
    VenueOrderId,
)
from trader_core.model.stats import StatsScope
from trader_core.portfolio import LedgerPolicy, PortfolioTracker

T0 = datetime(2025, 1, 1, tzinfo=UTC)
SYMBOLS = (Symbol.parse("BTC/USDT"), Symbol.parse("ETH/USDT"))
BNB = Asset("BNB")
RUN = RunId("r")
SCOPE = StatsScope(RUN)

amounts = st.decimals(min_value=Decimal("0.001"), max_value=Decimal(5), places=3)
prices = st.decimals(min_value=Decimal(1), max_value=Decimal(1000), places=2)
fee_kinds = st.sampled_from(["quote", "base", "third", "none"])
rates = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(700), places=4)
hours = st.integers(min_value=0, max_value=24 * 5)


def new_tracker(store: InMemoryStore, zone: str = "UTC") -> PortfolioTracker:
    tracker = PortfolioTracker(store, SimulatedClock(T0), RecordingTelemetry(), policy=LedgerPolicy(day_timezone=zone))
    tracker.start(SCOPE)
    return tracker


def make_fill(number: int, symbol: Symbol, side: Side, quantity: Decimal, price: Decimal, *, fee_kind: str,
              hour: int) -> Fill:
    notional = quantity * price
    fee = {
        "quote": Money(notional / 1000, symbol.quote),
        "base": Money(quantity / 1000, symbol.base),
        "third": Money(Decimal("0.0003"), BNB),
        "none": Money(ZERO, symbol.quote),
    }[fee_kind]
    return Fill(
        trade_id=TradeId(str(number)), venue_order_id=VenueOrderId(str(number)),
        client_order_id=ClientOrderId(f"tc-{number}-1"), symbol=symbol, side=side, price=Price(price),
        quantity=Quantity(quantity), fee=fee, time=T0 + timedelta(hours=hour), liquidity=Liquidity.TAKER,
    )


def book(tracker: PortfolioTracker, fill: Fill, rate: Decimal) -> None:
    third = fill.fee.asset == BNB
    tracker.book(fill, run_id=RUN, venue="paper", plan_id=None, role=OrderRole.ENTRY,
                 fee_rate=rate if third else None, fee_rate_source="test" if third else None)


def rebuilt(store: InMemoryStore, zone: str = "UTC") -> PortfolioTracker:
    tracker = PortfolioTracker(store, SimulatedClock(T0), RecordingTelemetry(), policy=LedgerPolicy(day_timezone=zone))
    tracker.rebuild(SCOPE)
    return tracker


trades = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(Side), amounts, prices, fee_kinds, hours, rates,
              st.booleans()),
    min_size=1, max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(trades, st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo"]))
def test_rebuild_equals_incremental_in_holdings_stats_and_days_whatever_the_sequence(
    sequence: list[tuple[Symbol, Side, Decimal, Decimal, str, int, Decimal, bool]], zone: str
) -> None:
    store = InMemoryStore(BotId("b"))
    tracker = new_tracker(store, zone)
    for number, (symbol, side, quantity, price, fee_kind, hour, rate, again) in enumerate(sequence):
        fill = make_fill(number, symbol, side, quantity, price, fee_kind=fee_kind, hour=hour)
        book(tracker, fill, rate)
        if again:
            before = tracker.snapshot()
            book(tracker, fill, rate)  # a duplicate never changes the result
            assert tracker.snapshot() == before
        assert all(h.quantity >= ZERO and h.cost >= ZERO for h in tracker.holdings())
    assert rebuilt(store, zone).snapshot() == tracker.snapshot()
    with store.unit_of_work() as uow:
        assert uow.ledger.find(SCOPE) == tracker.snapshot()
    assert new_tracker(store, zone).snapshot() == tracker.snapshot()  # from the cache


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(amounts, prices), min_size=1, max_size=5), prices, fee_kinds, rates)
def test_net_realized_of_a_closed_round_trip_equals_cash_in_minus_cash_out(
    buys: list[tuple[Decimal, Decimal]], exit_price: Decimal, fee_kind: str, rate: Decimal
) -> None:
    tracker = new_tracker(InMemoryStore(BotId("b")))
    symbol = SYMBOLS[0]
    for number, (quantity, price) in enumerate(buys):
        book(tracker, make_fill(number, symbol, Side.BUY, quantity, price, fee_kind=fee_kind, hour=0), rate)
    held = tracker.holding(symbol).quantity
    book(tracker, make_fill(99, symbol, Side.SELL, held, exit_price, fee_kind="quote", hour=1), rate)
    stats = tracker.stats
    # Every fee counts in quote at its fill-time value (a BNB fee spends BNB worth that much quote).
    assert tracker.holding(symbol).quantity == ZERO
    assert stats.net_realized == stats.cash


class TrackerMachine(RuleBasedStateMachine):
    """Bookings, duplicates, restarts and rebuilds in any order: the cache, a rebuild and memory agree."""

    def __init__(self) -> None:
        super().__init__()
        self.store = InMemoryStore(BotId("b"))
        self.tracker = new_tracker(self.store)
        self.booked: list[Fill] = []
        self.number = 0

    @rule(symbol=st.sampled_from(SYMBOLS), side=st.sampled_from(Side), quantity=amounts, price=prices,
          fee_kind=fee_kinds, hour=hours, rate=rates)
    def book_a_fill(self, *, symbol: Symbol, side: Side, quantity: Decimal, price: Decimal, fee_kind: str,
                    hour: int, rate: Decimal) -> None:
        self.number += 1
        fill = make_fill(self.number, symbol, side, quantity, price, fee_kind=fee_kind, hour=hour)
        book(self.tracker, fill, rate)
        self.booked.append(fill)

    @precondition(lambda self: bool(self.booked))
    @rule(data=st.data())
    def report_a_booked_fill_again(self, data: st.DataObject) -> None:
        fill = data.draw(st.sampled_from(self.booked))
        before = self.tracker.snapshot()
        book(self.tracker, fill, Decimal(1))
        assert self.tracker.snapshot() == before

    @rule()
    def restart(self) -> None:
        self.tracker = new_tracker(self.store)

    @rule()
    def rebuild_on_demand(self) -> None:
        before = self.tracker.snapshot()
        self.tracker.rebuild()
        assert self.tracker.snapshot() == before

    @invariant()
    def cache_memory_and_a_rebuild_agree(self) -> None:
        with self.store.unit_of_work() as uow:
            cached = uow.ledger.find(SCOPE)
        mine = self.tracker.snapshot()
        if cached is not None:
            assert cached == mine
        assert rebuilt(self.store).snapshot() == mine

    @invariant()
    def holdings_never_go_negative(self) -> None:
        assert all(h.quantity >= ZERO and h.cost >= ZERO for h in self.tracker.holdings())


TrackerMachine.TestCase.settings = settings(max_examples=30, stateful_step_count=20, deadline=None)
test_the_tracker_machine = TrackerMachine.TestCase
