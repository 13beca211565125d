"""Plan rules: trailing, age, day-end, overnight widening and the plan cap (catalog §7, §13 PlanMonitor)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import BTC_USDT, T0, decimals
from trader_core.model import (
    ClientOrderId,
    InstrumentRules,
    InvalidDataError,
    InvalidValueError,
    Plan,
    PlanId,
    PlanStatus,
    Price,
    Quantity,
    RunId,
    Side,
    Symbol,
)
from trader_core.plans import (
    PlanPolicy,
    age_exceeded,
    day_end_due,
    loss_capped_stop,
    overnight_widening,
    plan_cap,
    protective_prices,
    trail_fraction,
    trail_to_breakeven,
)

D = Decimal
ETH_USDT = Symbol.parse("ETH/USDT")


def plan(side: Side = Side.BUY, entry: str | Decimal = "100", stop: str | Decimal | None = None,
         target: str | Decimal | None = None, opened_at: datetime = T0, *, number: int = 1,
         status: PlanStatus = PlanStatus.OPEN, symbol: Symbol = BTC_USDT) -> Plan:
    return Plan(
        plan_id=PlanId(f"p{number}"), run_id=RunId("r1"), symbol=symbol, side=side, status=status,
        entry_client_order_id=ClientOrderId(f"tc-{number}-1"), opened_at=opened_at, quantity=Quantity(1),
        entry_filled=Quantity(1), entry_price=Price(D(entry)), stop_price=Price(D(stop)) if stop else None,
        target_price=Price(D(target)) if target else None,
    )


def mirror(entry: Decimal, level: Decimal) -> Decimal:
    return 2 * entry - level


# --- trail to breakeven -------------------------------------------------------------------------------------------


def test_a_sell_plan_trails_its_stop_to_the_entry() -> None:
    # The original suite: SELL at entry 100, stop 110, trail 5 %, price 85 -> the stop trails to 100.
    policy = PlanPolicy(trail_to_breakeven=D("0.05"))
    assert trail_to_breakeven(plan(Side.SELL, "100", "110"), D(85), policy) == Price(100)
    assert trail_to_breakeven(plan(Side.SELL, "100", "110"), D(96), policy) is None


@pytest.mark.parametrize(("volatility", "move", "trails"), [
    ("medium", "2", True), ("low", "2", True), ("high", "0.8", True), ("low", "1", False), (None, "1", True),
    ("high", "0.6", False),
])
def test_volatility_changes_where_a_buy_plan_trails(volatility: str | None, move: str, trails: bool) -> None:
    # Base 1 %: low x1.5 -> 1.5 %, high x0.7 -> 0.7 %.
    price = D(100) * (1 + D(move) / 100)
    new = trail_to_breakeven(plan(Side.BUY, "100", "98"), price, PlanPolicy(), volatility)
    assert (new == Price(100)) is trails
    assert trail_fraction(PlanPolicy(trail_to_breakeven=None), volatility) is None


def test_a_stop_at_or_beyond_breakeven_or_a_plan_without_a_stop_never_trails() -> None:
    policy = PlanPolicy()
    assert trail_to_breakeven(plan(Side.BUY, "100", "100"), D(200), policy) is None
    assert trail_to_breakeven(plan(Side.BUY, "100", "101"), D(200), policy) is None
    assert trail_to_breakeven(plan(Side.BUY, "100", None), D(200), policy) is None
    assert trail_to_breakeven(plan(Side.SELL, "100", "99"), D(50), policy) is None


offsets = decimals("-99", "99", 2)


@settings(max_examples=150)
@given(entry=decimals("100", "1000", 2), stop_offset=offsets, price_offset=offsets, trail=decimals("0", "0.03", 3),
       volatility=st.sampled_from([None, "low", "high"]))
def test_a_stop_only_ever_trails_toward_breakeven_and_sides_mirror(
    entry: Decimal, stop_offset: Decimal, price_offset: Decimal, trail: Decimal, volatility: str | None
) -> None:
    policy = PlanPolicy(trail_to_breakeven=trail)
    stop, price = entry + stop_offset, entry + price_offset
    new = trail_to_breakeven(plan(Side.BUY, entry, stop), price, policy, volatility)
    if new is not None:
        assert new.value == entry
        assert stop < new.value  # it moved up, from below the entry to it: toward breakeven
    mirrored = trail_to_breakeven(plan(Side.SELL, entry, mirror(entry, stop)), mirror(entry, price), policy, volatility)
    assert mirrored == new


# --- age and day end ----------------------------------------------------------------------------------------------


def test_a_plan_older_than_the_max_age_is_due() -> None:
    policy = PlanPolicy(max_age=timedelta(minutes=60))
    assert age_exceeded(plan(), T0 + timedelta(minutes=120), policy)
    assert age_exceeded(plan(), T0 + timedelta(minutes=60), policy)
    assert not age_exceeded(plan(), T0 + timedelta(minutes=59), policy)
    assert not age_exceeded(plan(), T0 + timedelta(days=9), PlanPolicy(max_age=None))
    with pytest.raises(InvalidDataError):
        age_exceeded(plan(), datetime(2025, 1, 1, 2), policy)  # a naive time is refused, never subtracted


SYDNEY_CLOSE = PlanPolicy(day_end_cutoff=time(16, 0), day_timezone="Australia/Sydney")


def sydney(hour: int, minute: int = 0) -> datetime:
    """A time on 10 January 2026 in Sydney (UTC+11), as aware UTC."""
    return datetime(2026, 1, 10, hour, minute, tzinfo=UTC) - timedelta(hours=11)


def test_the_day_end_flatten_fires_only_after_the_cutoff() -> None:
    morning = plan(opened_at=sydney(9))
    assert not day_end_due(morning, sydney(15), SYDNEY_CLOSE)  # the original flattened it here
    assert day_end_due(morning, sydney(16), SYDNEY_CLOSE)
    assert day_end_due(morning, sydney(23, 59), SYDNEY_CLOSE)
    assert not day_end_due(plan(opened_at=sydney(16, 10)), sydney(16, 30), SYDNEY_CLOSE)
    assert not day_end_due(morning, sydney(17), PlanPolicy())  # off unless a cutoff is set


# --- overnight widening -------------------------------------------------------------------------------------------

WIDEN = PlanPolicy(overnight_widen_pct=D("0.01"), overnight_max_widen_pct=D("0.05"))
DAY1 = datetime(2026, 1, 10, 12, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def test_widening_never_pulls_a_level_beyond_the_cap_toward_the_entry() -> None:
    # The original turned stop 1700 -> 1710 and target 1950 -> 1890 for entry 1800; both stay now.
    assert overnight_widening(plan(Side.BUY, "1800", "1700", "1950", DAY1), DAY2, WIDEN, None) is None


def test_widening_moves_by_the_larger_delta_up_to_the_cap() -> None:
    widening = overnight_widening(plan(Side.BUY, "1800", "1790", "1820", DAY1), DAY2, WIDEN, None)
    assert widening is not None
    assert (widening.stop, widening.target, widening.day) == (Price(1772), Price(1838), date(2026, 1, 11))
    near = overnight_widening(plan(Side.BUY, "1800", "1715", "1885", DAY1), DAY2, WIDEN, None)
    assert near is not None
    assert (near.stop, near.target) == (Price(1710), Price(1890))
    absolute = PlanPolicy(overnight_widen_abs=D(30))
    wide = overnight_widening(plan(Side.SELL, "1800", "1810", "1790", DAY1), DAY2, absolute, None)
    assert wide is not None
    assert (wide.stop, wide.target) == (Price(1840), Price(1760))


def test_widening_happens_once_per_local_day_after_the_opening_day() -> None:
    tight = plan(Side.BUY, "1800", "1790", "1820", DAY1)
    assert overnight_widening(tight, DAY1 + timedelta(hours=5), WIDEN, None) is None  # same day
    assert overnight_widening(tight, DAY2, WIDEN, widened_on=date(2026, 1, 11)) is None  # already today
    assert overnight_widening(tight, DAY2, PlanPolicy(overnight_widen=False), None) is None
    assert overnight_widening(tight.evolve(status=PlanStatus.PENDING), DAY2, WIDEN, None) is None


@settings(max_examples=150)
@given(entry=decimals("100", "1000", 2), stop_gap=decimals("0.01", "99", 2), target_gap=decimals("0.01", "99", 2),
       policy=st.builds(PlanPolicy, overnight_widen_pct=decimals("0", "0.05", 3),
                        overnight_max_widen_pct=decimals("0", "0.1", 3), overnight_widen_abs=decimals("0", "20", 1)))
def test_widening_only_moves_levels_away_from_the_entry_within_the_cap_and_sides_mirror(
    entry: Decimal, stop_gap: Decimal, target_gap: Decimal, policy: PlanPolicy
) -> None:
    delta = max(policy.overnight_widen_abs, entry * policy.overnight_widen_pct)
    cap = policy.overnight_max_widen_pct
    buy = plan(Side.BUY, entry, entry - stop_gap, entry + target_gap, DAY1)
    sell = plan(Side.SELL, entry, entry + stop_gap, entry - target_gap, DAY1)
    widenings = [overnight_widening(p, DAY2, policy, None) for p in (buy, sell)]
    for candidate, widening in zip((buy, sell), widenings, strict=True):
        if widening is None:
            continue
        for old, new in ((candidate.stop_price, widening.stop), (candidate.target_price, widening.target)):
            if old is None or new is None:
                continue
            assert abs(new.value - entry) > abs(old.value - entry)  # away from the entry, never toward it
            assert abs(new.value - old.value) <= delta
            assert abs(new.value - entry) <= entry * cap
    buy_widening, sell_widening = widenings
    if buy_widening is None or sell_widening is None:
        assert buy_widening is sell_widening
        return
    assert sell_widening.stop == (Price(mirror(entry, buy_widening.stop.value)) if buy_widening.stop else None)
    assert sell_widening.target == (Price(mirror(entry, buy_widening.target.value)) if buy_widening.target else None)


@settings(max_examples=150)
@given(entry=decimals("100", "1000", 2), locked=decimals("0", "50", 2), target_gap=decimals("0.01", "99", 2),
       side=st.sampled_from([Side.BUY, Side.SELL]),
       policy=st.builds(PlanPolicy, overnight_widen_pct=decimals("0", "0.05", 3),
                        overnight_max_widen_pct=decimals("0", "0.1", 3), overnight_widen_abs=decimals("0", "20", 1)))
def test_widening_never_moves_a_stop_trailed_to_breakeven_or_beyond(
    entry: Decimal, locked: Decimal, target_gap: Decimal, side: Side, policy: PlanPolicy
) -> None:
    # A stop at the entry (trailed to breakeven) or past it on the winning side locks a gain; a night must not
    # hand the trade back to a loss.
    stop = entry + side.sign * locked
    widening = overnight_widening(plan(side, entry, stop, entry + side.sign * target_gap, DAY1), DAY2, policy, None)
    assert widening is None or widening.stop is None


def test_a_negative_distance_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        PlanPolicy(overnight_widen_pct=D("-0.01"))


# --- plan cap -----------------------------------------------------------------------------------------------------


def test_the_plan_cap_refuses_or_replaces_the_oldest() -> None:
    plans = [plan(number=2, opened_at=T0 + timedelta(hours=1)), plan(number=1, opened_at=T0),
             plan(number=3, status=PlanStatus.CLOSED), plan(number=4, symbol=ETH_USDT)]
    policy = PlanPolicy(max_plans_per_symbol=2)
    assert plan_cap(plans[:1], BTC_USDT, policy).allowed
    refused = plan_cap(plans, BTC_USDT, policy)
    assert not refused.allowed
    assert refused.reason == "plan cap reached for BTC/USDT (2/2)"
    replaced = plan_cap(plans, BTC_USDT, PlanPolicy(max_plans_per_symbol=2, replace_oldest_on_cap=True))
    assert replaced.allowed
    assert [str(p.plan_id) for p in replaced.replace] == ["p1"]
    over = plan_cap(plans, BTC_USDT, PlanPolicy(max_plans_per_symbol=1, replace_oldest_on_cap=True))
    assert [str(p.plan_id) for p in over.replace] == ["p1", "p2"]
    assert plan_cap(plans, ETH_USDT, policy).allowed


@given(entry=decimals("100", "1000", 2), stop=decimals("1", "99.99", 6), target=decimals("1000.01", "2000", 6),
       tick=st.sampled_from(["0.01", "0.05", "0.25", "1"]))
def test_protective_levels_are_always_on_the_venue_tick(entry: Decimal, stop: Decimal, target: Decimal,
                                                        tick: str) -> None:
    """Whatever a plan stores (an absolute level from a signal or a clamp, or a stored older plan), the levels its
    bracket is built from are multiples of the tick (a venue refuses any other price), each within half a tick of
    the level asked for."""
    rules = InstrumentRules(symbol=BTC_USDT, tick_size=tick, step_size="0.001", min_quantity="0.001", min_notional="5")
    placed_stop, placed_target = protective_prices(plan(entry=entry, stop=stop, target=target), rules)
    assert placed_stop is not None
    assert placed_target is not None
    for asked, level in ((stop, placed_stop.value), (target, placed_target.value)):
        assert level % D(tick) == 0
        assert abs(level - asked) <= D(tick) / 2


# --- per-trade loss cap on a stop moving away ---------------------------------------------------------------------


@settings(max_examples=200)
@given(entry=decimals("10", "1000", 2), quantity=decimals("0.01", "5", 2), cap=decimals("0.5", "200", 2),
       proposed_off=decimals("0", "0.5", 3), previous_off=st.none() | decimals("0", "0.5", 3),
       fee=st.sampled_from([D(0), D("0.001"), D("0.0035"), D("0.01")]))
def test_a_stop_moved_away_from_the_entry_never_risks_more_than_the_cap_or_the_stop_it_replaces(
    *, entry: Decimal, quantity: Decimal, cap: Decimal, proposed_off: Decimal, previous_off: Decimal | None,
    fee: Decimal,
) -> None:
    """What a plan loses at its stop is the price distance plus the fee of its buy and of its sell at the stop."""
    tick = D("0.01")
    proposed = (entry * (1 - proposed_off)).quantize(tick)
    previous = None if previous_off is None else (entry * (1 - previous_off)).quantize(tick)
    held = Plan(plan_id=PlanId("p1"), run_id=RunId("r1"), symbol=BTC_USDT, side=Side.BUY, status=PlanStatus.OPEN,
                entry_client_order_id=ClientOrderId("tc-1-1"), opened_at=T0, quantity=Quantity(quantity),
                entry_filled=Quantity(quantity), entry_price=Price(entry))

    def lost(at: Decimal) -> Decimal:
        return quantity * (entry - at) + quantity * entry * fee + quantity * at * fee

    stop = loss_capped_stop(held, proposed, previous, cap, tick, fee_rate=fee)
    allowed = max(cap, D(0) if previous is None else lost(previous))
    if lost(proposed) <= cap or (previous is not None and proposed >= previous):
        assert stop == proposed, "within the cap, or not looser than before: untouched"
    else:
        assert lost(stop) <= allowed, "held to the cap, or to the stop it replaces when that was already beyond it"
        assert stop >= proposed, "never looser than asked"
        assert stop % tick == 0
    assert loss_capped_stop(held, proposed, previous, None, tick) == proposed, "no cap: untouched"
