"""Sizing and microstructure rules: the original suite's examples (catalog §13) and their properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.strategies import BTC_USDT, T0, decimals, instrument_rules, prices, quantities
from trader_core.execution import (
    MakerPreference,
    SizingPolicy,
    buffer_order_value,
    exit_quantity,
    liquidity_problems,
    parse_maker_overrides,
    passes_reward_risk,
    round_entry,
    size_entry,
    slippage_cap_pct,
    slippage_verdict,
    stacking_blocked,
    volatility_scaled,
)
from trader_core.model import Action, InstrumentRules, InvalidValueError, Price, Quantity, Quote, Side, Signal

POLICY = SizingPolicy()
D = Decimal


def quote(bid: str, ask: str, bid_size: str = "0", ask_size: str = "0") -> Quote:
    return Quote(symbol=BTC_USDT, bid=D(bid), ask=D(ask), last=D(bid), bid_size=D(bid_size), ask_size=D(ask_size),
                 observed_at=T0)


def mirror(price: Decimal, level: Decimal) -> Decimal:
    """The level reflected around ``price``: a BUY's stop below becomes a SELL's stop above."""
    return 2 * price - level


def buy_signal(volatility: str | None = None) -> Signal:
    return Signal(action=Action.BUY, symbol=BTC_USDT, regime=(("volatility", volatility),) if volatility else ())


# --- order value buffer -------------------------------------------------------------------------------------------


def test_the_defaults_are_the_originals() -> None:
    assert (POLICY.max_order_value, POLICY.order_value_buffer, POLICY.min_rr) == (5000, 5, D("1.2"))
    assert (POLICY.max_slippage_pct, POLICY.max_spread_pct) == (D("0.5"), D("0.2"))
    assert POLICY.min_top_of_book_notional == 100
    assert (POLICY.high_vol_size_factor, POLICY.medium_vol_size_factor) == (D("0.6"), D("0.8"))
    assert POLICY.order_value_cap == 4995


def test_the_buffer_trims_to_cap_minus_buffer_and_leaves_small_orders_alone() -> None:
    trim = buffer_order_value(D(1), D(10000), POLICY)
    assert trim.trimmed
    assert trim.quantity == Quantity(D("0.4995"))
    assert (trim.notional_before, trim.notional_after) == (10000, 4995)
    small = buffer_order_value(D("0.1"), D(10000), POLICY)
    assert not small.trimmed
    assert small.quantity == Quantity(D("0.1"))


@pytest.mark.parametrize(("quantity", "price"), [
    (D("NaN"), D(100)), (D(1), D("NaN")), (D("Infinity"), D(100)), (D(1), D(0)), (D(0), D(100)), (D(-1), D(100)),
])
def test_an_invalid_size_or_price_buffers_to_zero(quantity: Decimal, price: Decimal) -> None:
    assert buffer_order_value(quantity, price, POLICY).quantity == Quantity.zero()


def test_a_buffer_larger_than_the_cap_leaves_nothing() -> None:
    policy = SizingPolicy(max_order_value=D(5), order_value_buffer=D(10))
    assert buffer_order_value(D(1), D(1), policy).quantity == Quantity.zero()


@settings(max_examples=150)
@given(quantity=decimals("0.00000001", "1000", 8).filter(bool), price=prices,
       cap=decimals("0", "20000", 2), buffer=decimals("0", "100", 2))
def test_the_buffer_never_increases_a_size_and_never_exceeds_the_cap(
    quantity: Decimal, price: Price, cap: Decimal, buffer: Decimal
) -> None:
    policy = SizingPolicy(max_order_value=cap, order_value_buffer=buffer)
    trim = buffer_order_value(quantity, price.value, policy)
    assert trim.quantity.value <= quantity
    assert trim.quantity.value * price.value <= policy.order_value_cap
    assert trim.trimmed == (trim.quantity.value != quantity)


@settings(max_examples=100)
@given(wanted=decimals("0.00001", "1000", 5).filter(bool), price=prices, rules=instrument_rules(),
       volatility=st.sampled_from([None, "low", "medium", "high"]))
def test_no_entry_is_worth_more_than_the_cap_and_every_rule_break_is_said(
    wanted: Decimal, price: Price, rules: InstrumentRules, volatility: str | None
) -> None:
    sized = size_entry(wanted, price, buy_signal(volatility), rules, POLICY)
    assert sized.quantity.value * price.value <= POLICY.order_value_cap
    assert sized.quantity.value <= wanted
    # Rounding never produces an order below the venue minimum without saying so.
    assert sized.problems == (rules.violations(sized.quantity, price) if sized.quantity else ("quantity rounds to 0",))
    assert sized.sendable == (not sized.problems)


def test_an_entry_rounded_below_the_minimum_says_why() -> None:
    rules = InstrumentRules(symbol=BTC_USDT, tick_size="0.01", step_size="0.001", min_quantity="0.001",
                            min_notional="10")
    assert round_entry(D("0.0004"), Price(100), rules).problems == ("quantity rounds to 0",)
    below = round_entry(D("0.05"), Price(100), rules)
    assert not below.sendable
    assert "below minimum 10" in below.problems[0]
    assert round_entry(D("0.1239"), Price(100), rules).quantity == Quantity(D("0.123"))


# --- exits and dust ----------------------------------------------------------------------------------------------

RULES = InstrumentRules(symbol=BTC_USDT, tick_size="0.01", step_size="0.001", min_quantity="0.01", min_notional="5")


def test_an_exit_that_would_leave_dust_sells_the_whole_holding() -> None:
    # Selling 0.995 of 1.0 at 100 leaves 0.005: below the minimum quantity, unsellable. Sell it all.
    assert exit_quantity(D("0.995"), Quantity(1), Price(100), RULES).quantity == Quantity(1)


def test_an_exit_that_leaves_a_sellable_remainder_rounds_down_to_the_step() -> None:
    sized = exit_quantity(D("0.5006"), Quantity(1), Price(100), RULES)
    assert sized.quantity == Quantity(D("0.5"))
    assert sized.sendable


def test_an_exit_never_sells_more_than_is_held() -> None:
    assert exit_quantity(D(5), Quantity(D("1.2345")), Price(100), RULES).quantity == Quantity(D("1.234"))


def test_an_exit_of_pure_dust_says_it_cannot_be_sold() -> None:
    sized = exit_quantity(D(1), Quantity(D("0.004")), Price(100), RULES)
    assert not sized.sendable
    assert sized.problems


@settings(max_examples=100)
@given(held=quantities, fraction=decimals("0.01", "1", 2), price=prices, rules=instrument_rules())
def test_an_exit_stays_within_the_holding_and_reports_every_rule_break(
    held: Quantity, fraction: Decimal, price: Price, rules: InstrumentRules
) -> None:
    sized = exit_quantity(held.value * fraction, held, price, rules)
    assert sized.quantity.value <= held.value
    assert rules.round_quantity(sized.quantity.value) == sized.quantity
    if sized.sendable:
        assert rules.violations(sized.quantity, price) == ()
    elif sized.quantity:
        assert sized.problems == rules.violations(sized.quantity, price)


# --- reward / risk -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "price_stop_target", "min_rr", "passes"), [
    (Side.BUY, "100/99/101", "1.2", False),
    (Side.BUY, "100/99/101", "2.0", False),
    (Side.BUY, "100/99/102", "1.2", True),
    (Side.SELL, "100/101/98", "1.2", True),
    (Side.BUY, "100/100/102", "1.2", False),  # zero risk
    (Side.BUY, "100/99/100", "1.2", False),  # zero reward
    (Side.SELL, "100/99/98", "1.2", False),  # a SELL's stop below the price: no risk to measure, invalid
])
def test_reward_risk_examples_from_the_original_suite(
    side: Side, price_stop_target: str, min_rr: str, passes: bool
) -> None:
    price, stop, target = price_stop_target.split("/")
    assert passes_reward_risk(side, D(price), Price(stop), Price(target), D(min_rr)) is passes


def test_a_missing_stop_target_or_price_passes_the_reward_risk_filter() -> None:
    assert passes_reward_risk(Side.BUY, D(100), None, None, D("1.2"))
    assert passes_reward_risk(Side.BUY, D(100), Price(99), None, D("1.2"))
    assert passes_reward_risk(Side.SELL, None, Price(101), Price(90), D("1.2"))


@settings(max_examples=100)
@given(price=decimals("10", "1000", 2), stop=decimals("1", "1000", 2), target=decimals("1", "1000", 2),
       min_rr=decimals("0.5", "3", 1))
def test_reward_risk_is_side_symmetric(price: Decimal, stop: Decimal, target: Decimal, min_rr: Decimal) -> None:
    buy = passes_reward_risk(Side.BUY, price, stop, target, min_rr)
    assert passes_reward_risk(Side.SELL, price, mirror(price, stop), mirror(price, target), min_rr) is buy


# --- slippage and liquidity -------------------------------------------------------------------------------------


def test_a_two_percent_move_fails_on_a_thin_book_with_a_wide_spread() -> None:
    thin_wide = quote("100", "101", "0.5", "0.5")
    verdict = slippage_verdict(D(100), D(102), thin_wide, POLICY)
    assert not verdict.allowed
    assert verdict.move_pct == 2
    # Tightened (x0.25 and x0.3 would give 0.0375) but never below 10 % of the base cap.
    assert verdict.cap_pct == D("0.05")
    assert verdict.cap_pct < POLICY.max_slippage_pct


def test_a_rich_book_allows_a_small_move_and_a_thin_book_blocks_a_larger_one() -> None:
    rich = quote("100", "100.01", "50", "50")
    thin = quote("100", "100.01", "0.5", "0.5")
    assert slippage_verdict(D(100), D("100.2"), rich, POLICY).allowed
    assert not slippage_verdict(D(100), D("100.6"), thin, POLICY).allowed


def test_the_slippage_cap_steps_with_the_top_of_book() -> None:
    assert slippage_cap_pct(None, POLICY) == D("0.5")
    assert slippage_cap_pct(quote("100", "100.01", "1.5", "1.5"), POLICY) == D("0.25")  # 150 < 2 x 100
    assert slippage_cap_pct(quote("100", "100.01", "0.5", "0.5"), POLICY) == D("0.125")  # 50 < 100
    assert slippage_cap_pct(quote("100", "100.01"), POLICY) == D("0.5")  # no sizes reported


def test_a_missing_price_is_allowed_with_no_move() -> None:
    verdict = slippage_verdict(None, D(100), None, POLICY)
    assert verdict.allowed
    assert verdict.move_pct == 0


@settings(max_examples=100)
@given(price=decimals("1", "1000", 2), move=decimals("-50", "50", 2), spread=decimals("0", "5", 2),
       size=decimals("0", "100", 2))
def test_the_slippage_verdict_is_side_symmetric_and_the_cap_keeps_its_floor(
    price: Decimal, move: Decimal, spread: Decimal, size: Decimal
) -> None:
    assume(abs(move) < price)
    book = quote(str(price), str(price + spread), str(size), str(size))
    # A BUY that sees the price rise by `move` and the mirrored SELL that sees it fall by as much.
    up = slippage_verdict(price, price + move, book, POLICY)
    down = slippage_verdict(price, price - move, book, POLICY)
    assert up.allowed == down.allowed
    assert POLICY.max_slippage_pct / 10 <= up.cap_pct <= POLICY.max_slippage_pct


def test_the_liquidity_gate_fails_on_a_wide_spread_and_a_thin_top_of_book() -> None:
    assert liquidity_problems(None, POLICY) == ()
    assert liquidity_problems(quote("100", "100.01", "5", "5"), POLICY) == ()
    wide = liquidity_problems(quote("100", "110", "5", "5"), SizingPolicy(max_spread_pct=D(5)))
    assert len(wide) == 1
    assert wide[0].startswith("spread")
    thin = liquidity_problems(quote("100", "100.01", "0.5", "5"), POLICY)
    assert len(thin) == 1
    assert thin[0].startswith("top of book")


# --- stacking, maker preference, volatility -----------------------------------------------------------------------


def test_stacking_blocks_a_buy_with_a_position_and_pending_buys_or_plans_never_a_sell() -> None:
    assert stacking_blocked(Side.BUY, D(1), pending_buys=1, open_plans=0)
    assert stacking_blocked(Side.BUY, D(1), pending_buys=0, open_plans=1)
    assert not stacking_blocked(Side.BUY, D(1), pending_buys=0, open_plans=0)
    assert not stacking_blocked(Side.BUY, D(0), pending_buys=3, open_plans=3)
    assert not stacking_blocked(Side.SELL, D(1), pending_buys=3, open_plans=3)


def test_maker_overrides_take_the_yes_no_words_of_every_setting() -> None:
    # dry_run = "on" is true: an override written the same way must not be refused as a typo.
    assert parse_maker_overrides("BTC/USDT:on, ETH/USDT:Off") == {"BTC/USDT": True, "ETH/USDT": False}


def test_maker_overrides_are_case_insensitive() -> None:
    overrides = parse_maker_overrides("btc/usdt:no, Eth/Usdt:YES,")
    assert overrides == {"BTC/USDT": False, "ETH/USDT": True}
    preference = MakerPreference(default=True, overrides=overrides)
    assert preference.for_symbol(BTC_USDT) is False
    assert preference.for_symbol("eth/usdt") is True
    assert preference.for_symbol("SOL/USDT") is True
    assert MakerPreference(default=False).for_symbol(BTC_USDT) is False
    assert MakerPreference(overrides={"btc/usdt": True}, default=False).for_symbol("BTC/USDT") is True


@pytest.mark.parametrize("text", ["BTC/USDT:maybe", "bad", "BTC/USDT", ":yes", "BTCUSDT:no"])
def test_a_malformed_maker_override_is_refused_naming_it(text: str) -> None:
    with pytest.raises(InvalidValueError, match=f"entry '{text}'"):
        parse_maker_overrides(f"ETH/USDT:no,{text}")


@pytest.mark.parametrize(("volatility", "expected"), [
    ("high", D("0.6")), ("medium", D("0.8")), ("low", D(1)), (None, D(1)), ("HIGH", D("0.6")),
])
def test_volatility_sizing_reduces_high_and_medium_and_leaves_the_rest(
    volatility: str | None, expected: Decimal
) -> None:
    assert volatility_scaled(D(1), buy_signal(volatility), POLICY) == expected
    assert volatility_scaled(D(0), buy_signal(volatility), POLICY) == 0
