"""An LLM answer, whatever its bytes, becomes valid signals or one HOLD: never an exception."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.llm.answer import ParsedAnswer, parse_answer
from trader_core.model import Action, Signal, Symbol

BTC, ETH = Symbol.parse("BTC/USDT"), Symbol.parse("ETH/USDT")
SYMBOLS = frozenset({BTC, ETH})

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["action", "symbol", "quantity", "notional", "stop", "target", "plan_id", "fraction",
                         "minutes", "reason", "regime", "at", "x"]), inner, max_size=6),
    max_leaves=12,
)
signal_like = st.fixed_dictionaries(
    {"action": st.sampled_from([a.value for a in Action] + ["buy", "JUMP", 3]),
     "symbol": st.sampled_from(["BTC/USDT", "ETH/USDT", "DOGE/USDT", "bad", ""])},
    optional={"quantity": st.one_of(st.decimals(allow_nan=True).map(str), st.integers(-5, 5)),
              "notional": st.integers(-10, 5000), "stop_pct": st.integers(-2, 5), "plan_id": st.text(max_size=3),
              "fraction": st.floats(allow_nan=True), "minutes": st.floats(), "size_factor": st.integers(-1, 3)},
)


def _valid(parsed: ParsedAnswer) -> None:
    signals = parsed.signals
    assert signals
    assert all(isinstance(s, Signal) and s.symbol in SYMBOLS for s in signals)
    if parsed.failed:
        assert [s.action for s in signals] == [Action.HOLD]
        assert signals[0].reason


@given(st.binary(max_size=300))
def test_any_bytes_give_valid_signals_or_hold(raw: bytes) -> None:
    _valid(parse_answer(raw, SYMBOLS, BTC))


@given(json_values)
def test_any_json_gives_valid_signals_or_hold(value: object) -> None:
    _valid(parse_answer(json.dumps(value), SYMBOLS, BTC))


@given(st.one_of(signal_like, st.lists(signal_like, max_size=3)))
def test_signal_shaped_answers_give_valid_signals_or_hold(value: object) -> None:
    _valid(parse_answer(json.dumps(value).encode(), SYMBOLS, BTC))


def test_a_fenced_list_is_parsed_with_the_scripted_format() -> None:
    raw = ('```json\n[{"action": "BUY", "symbol": "ETH/USDT", "notional": "500", "stop_pct": 2, "reason": "up"},'
           ' {"action": "HOLD", "symbol": "BTC/USDT"}]\n```')
    parsed = parse_answer(raw, SYMBOLS, BTC)
    assert not parsed.failed
    assert [(s.action, s.symbol, s.notional) for s in parsed.signals] == [
        (Action.BUY, ETH, Decimal(500)), (Action.HOLD, BTC, None)]


def test_unknown_symbol_malformed_and_deep_nesting_hold_with_a_reason() -> None:
    assert parse_answer('{"action": "BUY", "symbol": "DOGE/USDT"}', SYMBOLS, BTC).reason == (
        "LLM answer: unknown symbol DOGE/USDT")
    assert parse_answer("I refuse.", SYMBOLS, BTC).failed
    assert parse_answer("[" * 100_000, SYMBOLS, BTC).failed
    assert parse_answer(b"\xff\xfe", SYMBOLS, BTC).reason == "LLM answer: not UTF-8"


def test_an_empty_list_is_nothing_to_do_bare_or_in_its_envelope() -> None:
    for raw in ("[]", '{"signals": []}', "```json\n[]\n```"):
        parsed = parse_answer(raw, SYMBOLS, BTC)
        assert (parsed.failed, parsed.reason) == (False, "LLM answer: no signal"), raw
