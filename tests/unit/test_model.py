"""Model values: construction enforces invariants; no float ever becomes money."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.strategies import BTC_USDT, decimals, instrument_rules
from trader_core.model import (
    Action,
    Candle,
    ClientOrderId,
    ConfigError,
    InvalidDataError,
    InvalidValueError,
    Money,
    PlanId,
    Price,
    Quantity,
    Quote,
    Signal,
    Symbol,
    Timeframe,
    to_decimal,
)

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_float_is_never_accepted_as_money(value: float) -> None:
    with pytest.raises(InvalidValueError):
        Price(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        Quantity(value)  # type: ignore[arg-type]
    with pytest.raises(InvalidValueError):
        Money(value, BTC_USDT.quote)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["NaN", "Infinity", "-Infinity", "abc", ""])
def test_non_finite_or_garbage_numbers_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError):
        to_decimal(text)


def test_prices_must_be_positive_and_quantities_non_negative() -> None:
    with pytest.raises(InvalidValueError):
        Price("0")
    with pytest.raises(InvalidValueError):
        Quantity("-0.1")
    assert Quantity("0") == Quantity.zero()


@given(instrument_rules(), decimals("0", "1000", 8))
def test_rounding_never_rounds_a_size_up(rules, wanted: Decimal) -> None:  # type: ignore[no-untyped-def]
    rounded = rules.round_quantity(wanted).value
    assert rounded <= wanted
    assert wanted - rounded < rules.step_size
    assert (rounded / rules.step_size) == (rounded / rules.step_size).to_integral_value()


@given(instrument_rules(), decimals("0", "1000", 8), decimals("0.01", "100000", 2))
def test_a_rounded_size_below_the_venue_minimum_is_reported(rules, wanted, price) -> None:  # type: ignore[no-untyped-def]
    quantity = rules.round_quantity(wanted)
    problems = rules.violations(quantity, Price(price))
    tradable = quantity.value >= rules.min_quantity and quantity.value > 0 and (
        quantity.value * price >= rules.min_notional)
    assert (problems == ()) == tradable


@pytest.mark.parametrize("text", ["BTC/USDT", "btc/usdt", " eth/btc "])
def test_symbols_parse_case_insensitively(text: str) -> None:
    assert str(Symbol.parse(text)) == text.strip().upper()


@pytest.mark.parametrize("text", ["BTCUSDT", "BTC/", "/USDT", "BTC/USD/T", "B C/USDT"])
def test_malformed_symbols_are_refused(text: str) -> None:
    with pytest.raises(InvalidValueError):
        Symbol.parse(text)


@pytest.mark.parametrize("value", ["x" * 37, "has space", "semi;colon", "hash#", ""])
def test_client_order_ids_follow_binance_rules(value: str) -> None:
    with pytest.raises(InvalidValueError):
        ClientOrderId(value)


@pytest.mark.parametrize(("text", "seconds"), [("1s", 1), ("1m", 60), ("2h", 7200), ("1d", 86400),
                                               ("1w", 604800), ("1M", 2592000)])
def test_timeframes_parse_like_ccxt(text: str, seconds: int) -> None:
    assert Timeframe(text).duration == timedelta(seconds=seconds)
    assert Timeframe.from_seconds(seconds) == Timeframe(text)


@pytest.mark.parametrize("text", ["bad", "1x", "0m", "m", "", "1.5h"])
def test_an_unknown_timeframe_is_a_configuration_error(text: str) -> None:
    with pytest.raises(ConfigError, match="unknown timeframe"):
        Timeframe(text)


def _candle(**overrides: object) -> Candle:
    fields: dict[str, object] = {"symbol": BTC_USDT, "timeframe": Timeframe("1m"), "open_time": T0,
                                     "open": Decimal(100), "high": Decimal(101), "low": Decimal(99),
                                     "close": Decimal(100), "volume": Decimal(1)}
    fields.update(overrides)
    return Candle(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("overrides", [
    {"high": Decimal("99.5")}, {"low": Decimal("100.5")}, {"open": Decimal(0)}, {"close": Decimal("NaN")},
    {"volume": Decimal(-1)}, {"open_time": datetime(2025, 1, 1)}, {"close": 100.0},
])
def test_bad_candles_are_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidDataError):
        _candle(**overrides)


def test_a_quote_with_bid_above_ask_is_refused() -> None:
    with pytest.raises(InvalidDataError):
        Quote(symbol=BTC_USDT, bid=Decimal(101), ask=Decimal(100), last=Decimal(100), bid_size=Decimal(1),
              ask_size=Decimal(1), observed_at=T0)


def test_a_quote_knows_its_spread_and_age() -> None:
    quote = Quote(symbol=BTC_USDT, bid=Decimal(99), ask=Decimal(101), last=Decimal(100), bid_size=Decimal(1),
                  ask_size=Decimal(1), observed_at=T0, venue_time=T0 - timedelta(seconds=2))
    assert quote.spread_pct == Decimal(2)
    assert quote.age == timedelta(seconds=2)


def test_signals_refuse_contradictory_fields() -> None:
    with pytest.raises(InvalidValueError):
        Signal(action=Action.BUY, symbol=BTC_USDT, quantity=Quantity("1"), notional=Decimal(10))
    with pytest.raises(InvalidValueError):
        Signal(action=Action.PARTIAL_CLOSE, symbol=BTC_USDT, close_fraction=Decimal("1.5"))
    with pytest.raises(InvalidValueError):
        Signal(action=Action.BUY, symbol=BTC_USDT, stop=Price("1"), stop_pct=Decimal(2))


@given(decimals("0.00000001", "10000000", 8))
def test_a_signal_built_from_plain_values_holds_the_types_they_stand_for(level: Decimal) -> None:
    """A user's strategy passes a Decimal stop (docs/strategies.md: "stop/target are absolute prices"): kept as it
    was, the handler crashed the run on ``stop.value`` (exit 1, a traceback)."""
    signal = Signal(action="BUY", symbol="btc/usdt", stop=level, target=str(level * 2), quantity=Decimal("0.5"),
                    plan_id="P7", client_order_id="my-id-1")
    assert signal == Signal(action=Action.BUY, symbol=BTC_USDT, stop=Price(level), target=Price(level * 2),
                            quantity=Quantity("0.5"), plan_id=PlanId("P7"), client_order_id=ClientOrderId("my-id-1"))


@pytest.mark.parametrize(("field", "value"), [
    ("stop", Decimal("NaN")), ("stop", 49000.5), ("stop", Decimal(-1)), ("target", "abc"), ("quantity", Decimal(-1)),
    ("symbol", 42), ("action", "buy now"), ("plan_id", 7), ("client_order_id", "has space"),
])
def test_a_signal_refuses_what_is_not_the_value_it_names(field: str, value: object) -> None:
    fields: dict[str, object] = {"action": Action.BUY, "symbol": BTC_USDT, field: value}
    with pytest.raises(InvalidValueError):
        Signal(**fields)  # type: ignore[arg-type]


def test_a_signals_pause_is_at_most_a_year_so_its_end_is_a_date() -> None:
    # A user's strategy builds its Signal itself: a pause of 10**9 minutes overflowed a date when it fired.
    assert Signal(action=Action.PAUSE_TRADING, symbol=BTC_USDT, pause=timedelta(days=365)).pause == timedelta(days=365)
    with pytest.raises(InvalidValueError, match="at most 525600 minutes"):
        Signal(action=Action.PAUSE_TRADING, symbol=BTC_USDT, pause=timedelta(days=366))
