"""The LLM strategy's decision flow, with a scripted chat model (a fake ChatModel) and the in-memory store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trader_adapters.llm.cassette import Cassette
from trader_adapters.llm.chat import ChatFailedError, ChatReply, ChatRequest, ToolCall
from trader_adapters.llm.openai_chat import FormatRefusedError
from trader_adapters.llm.strategy import LlmPolicy, LlmStrategy
from trader_adapters.memory.store import InMemoryStore
from trader_core.costs import LlmRates, LlmUsage
from trader_core.model import Action, BotId, Candle, Price, Quote, RunId, Signal, Symbol, Timeframe
from trader_core.ports import DecisionContext

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC = Symbol.parse("BTC/USDT")
RATES = LlmRates(Decimal(2), Decimal(8))  # USD per million tokens


class ScriptedChat:
    """Answers from a list: a reply, or an exception to raise."""

    def __init__(self, answers: Sequence[ChatReply | Exception]) -> None:
        self.answers = list(answers)
        self.requests: list[ChatRequest] = []

    async def complete(self, request: ChatRequest) -> ChatReply:
        self.requests.append(request)
        answer = self.answers.pop(0) if self.answers else ChatReply(content='{"signals": []}',
                                                                    usage=LlmUsage(1000, 10))
        if isinstance(answer, Exception):
            raise answer
        return answer


def _candle(minute: int) -> Candle:
    price = Decimal(100 + minute)  # a steady rise: never chop
    return Candle(symbol=BTC, timeframe=Timeframe("1m"), open_time=T0 + timedelta(minutes=minute), open=price,
                  high=price + 1, low=price - 1, close=price, volume=Decimal(1))


def _context(minute: int) -> DecisionContext:
    return DecisionContext(now=T0 + timedelta(minutes=minute + 1), candles=((BTC, (_candle(minute),)),),
                           quotes=(Quote(symbol=BTC, bid=Decimal(100 + minute), ask=Decimal(100 + minute),
                                         last=Decimal(100 + minute), bid_size=Decimal(1), ask_size=Decimal(1),
                                         observed_at=T0 + timedelta(minutes=minute + 1)),),
                           may_enter=frozenset({BTC}))


def _strategy(chat: ScriptedChat, store: InMemoryStore | None = None, cassette: Cassette | None = None,
              **policy: object) -> LlmStrategy:
    options: dict[str, object] = {"model": "emu", "rates": RATES, "decision_interval": timedelta(minutes=1),
                                  "min_call_interval": timedelta(0), **policy}
    strategy = LlmStrategy(LlmPolicy(**options), chat, (BTC,), cassette=cassette)  # type: ignore[arg-type]
    strategy.bind(store or InMemoryStore(BotId("b")), RunId("r1"), stop=lambda _reason: None, now=T0)
    return strategy


def _decide(strategy: LlmStrategy, minutes: range) -> list[tuple[Signal, ...]]:
    async def go() -> list[tuple[Signal, ...]]:
        return [await strategy.decide(_context(m)) for m in minutes]
    return asyncio.run(go())


def _reply(signals: object, tokens: tuple[int, int] | None = (1000, 100)) -> ChatReply:
    return ChatReply(content=json.dumps(signals), usage=None if tokens is None else LlmUsage(*tokens))


def test_a_buy_answer_becomes_a_buy_with_its_levels_clamped_into_the_band() -> None:
    chat = ScriptedChat([_reply({"signals": [{"action": "BUY", "symbol": "BTC/USDT", "stop": 50, "target": 500}]})])
    (signals,) = _decide(_strategy(chat), range(1))
    assert [s.action for s in signals] == [Action.BUY]
    assert signals[0].stop is not None
    assert signals[0].stop.value == Decimal("98")  # 100 - 2 %
    assert signals[0].target is not None
    assert signals[0].target.value == Decimal("102")


def test_every_call_is_stored_with_its_cost_and_the_spend_survives_a_restart() -> None:
    store = InMemoryStore(BotId("b"))
    _decide(_strategy(ScriptedChat([]), store), range(3))
    with store.unit_of_work() as uow:
        calls = uow.llm_calls.list_calls()
        traces = uow.llm_traces.recent(10)
    assert [c.cost for c in calls] == [Decimal("0.00208")] * 3  # 1000 x 2 / 1e6 + 10 x 8 / 1e6
    assert [t.trace_id for t in traces] == [c.trace_id for c in calls]
    again = _strategy(ScriptedChat([]), store)
    assert again.tracker.spend.cost == Decimal("0.00624")


def test_the_budget_cap_stops_calls_and_holds_with_the_reason() -> None:
    chat = ScriptedChat([])
    # Each call costs 0.00208: the third crosses a 0.005 budget and no fourth call is made.
    decisions = _decide(_strategy(chat, budget=Decimal("0.005")), range(6))
    assert len(chat.requests) == 3
    assert [s.reason for s in decisions[4]] == ["LLM cost cap hit"]
    assert decisions[5][0].action is Action.HOLD


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50_000), st.integers(0, 5_000)), min_size=1, max_size=12),
       st.decimals(Decimal("0.001"), Decimal("0.5"), places=4))
def test_the_budget_is_never_passed_by_more_than_one_call(tokens: list[tuple[int, int]], budget: Decimal) -> None:
    chat = ScriptedChat([_reply({"signals": []}, t) for t in tokens])
    strategy = _strategy(chat, budget=budget)
    _decide(strategy, range(len(tokens)))
    largest = max((a * RATES.input_per_mtok + b * RATES.output_per_mtok) / 1_000_000 for a, b in tokens)
    spent = strategy.tracker.spend.cost
    assert spent <= budget or spent < budget + largest
    assert spent == sum(((a * RATES.input_per_mtok + b * RATES.output_per_mtok) / 1_000_000
                         for a, b in tokens[:len(chat.requests)]), Decimal(0))


def test_between_decisions_nothing_is_asked_and_nothing_is_signalled() -> None:
    chat = ScriptedChat([])
    decisions = _decide(_strategy(chat, decision_interval=timedelta(minutes=5)), range(10))
    assert len(chat.requests) == 2
    assert [i for i, d in enumerate(decisions) if d] == [0, 5]  # a HOLD "no signal" at each decision only


@pytest.mark.parametrize(("answer", "reason"), [
    (ChatReply(content="I think you should buy"), "not JSON"),
    (ChatReply(content='{"action": "BUY", "symbol": "DOGE/USDT"}'), "unknown symbol"),
    (ChatReply(content=None, refusal="no trading advice"), "LLM refused"),
    (ChatFailedError("LLM call timed out after 30 s"), "timed out"),
])
def test_anything_unusable_is_a_hold_with_its_reason(answer: ChatReply | Exception, reason: str) -> None:
    (signals,) = _decide(_strategy(ScriptedChat([answer])), range(1))
    assert [s.action for s in signals] == [Action.HOLD]
    assert reason in signals[0].reason


def test_every_unusable_answer_counts_on_the_tool_circuit_and_a_good_one_does_not() -> None:
    reported: list[tuple[str, str]] = []
    answers: list[ChatReply | Exception] = [
        ChatReply(content="I think you should buy"), ChatFailedError("HTTP 500"),
        _reply({"signals": [{"action": "HOLD", "symbol": "BTC/USDT"}]})]
    strategy = _strategy(ScriptedChat(answers), max_consecutive_errors=10)
    store = InMemoryStore(BotId("b"))
    strategy.bind(store, RunId("r1"), stop=lambda _reason: None, now=T0,
                  report_failure=lambda site, error: reported.append((site, str(error))))
    _decide(strategy, range(3))
    assert [site for site, _ in reported] == ["llm.answer", "llm.answer"]
    assert "not JSON" in reported[0][1]
    assert "HTTP 500" in reported[1][1]


def test_an_error_streak_holds_for_the_cooldown_then_tries_again() -> None:
    failures: list[ChatReply | Exception] = [ChatFailedError("HTTP 500")] * 3
    chat = ScriptedChat(failures)
    decisions = _decide(_strategy(chat, max_consecutive_errors=3, error_cooldown=timedelta(minutes=5)), range(9))
    assert [d[0].reason for d in decisions[3:8]] == ["LLM errors"] * 5
    assert len(chat.requests) == 4  # three failures, then one try after the cooldown


def test_the_call_throttle_holds_with_its_reason() -> None:
    chat = ScriptedChat([])
    decisions = _decide(_strategy(chat, min_call_interval=timedelta(minutes=2)), range(3))
    assert decisions[1][0].reason == "LLM call throttled"
    assert len(chat.requests) == 2


def test_a_server_without_structured_output_is_asked_for_text_from_then_on() -> None:
    chat = ScriptedChat([FormatRefusedError("HTTP 400"), _reply({"action": "HOLD", "symbol": "BTC/USDT"})])
    strategy = _strategy(chat)
    _decide(strategy, range(2))
    assert [r.structured for r in chat.requests] == [True, False, False]


def test_the_model_is_told_the_exposure_headroom_the_risk_manager_leaves_at_the_decisions_prices() -> None:
    """The prompt said "exposure_headroom unlimited" whatever the cap: the model proposed entries the risk
    manager then refused, each a paid call for nothing."""
    asked: list[dict[Symbol, Decimal]] = []

    def headroom(prices: Any) -> Decimal:
        asked.append(dict(prices))
        return Decimal("250.5")

    chat = ScriptedChat([])
    strategy = LlmStrategy(LlmPolicy(model="emu", rates=RATES, decision_interval=timedelta(minutes=1)), chat, (BTC,))
    strategy.bind(InMemoryStore(BotId("b")), RunId("r1"), stop=lambda _r: None, now=T0, headroom=headroom)
    _decide(strategy, range(1))
    assert asked == [{BTC: Decimal(100)}]
    assert "\nexposure_headroom 250.5\n" in chat.requests[0].messages[0]["content"]
    unbound = ScriptedChat([])
    _decide(_strategy(unbound), range(1))
    assert "\nexposure_headroom unlimited\n" in unbound.requests[0].messages[0]["content"], "no cap configured"


def test_the_model_is_told_the_per_trade_loss_cap_when_there_is_one() -> None:
    """An entry the model sizes beyond the cap is cut by the action handler; told the cap, the model can size by it."""
    capped = ScriptedChat([])
    strategy = LlmStrategy(LlmPolicy(model="emu", rates=RATES, decision_interval=timedelta(minutes=1)), capped, (BTC,))
    strategy.bind(InMemoryStore(BotId("b")), RunId("r1"), stop=lambda _r: None, now=T0,
                  loss_cap=lambda _prices: Decimal("12.5"))
    _decide(strategy, range(1))
    assert ("\nmax_trade_loss 12.5 (an entry is cut to quantity x (price - stop) plus the fees of its buy and its "
            "sell at the stop <= this;") in (
        capped.requests[0].messages[0]["content"])
    uncapped = ScriptedChat([])
    _decide(_strategy(uncapped), range(1))
    assert "max_trade_loss" not in uncapped.requests[0].messages[0]["content"], "no line, no cap: prompts unchanged"


def test_a_400_that_is_not_about_the_format_does_not_turn_structured_output_off() -> None:
    """A prompt the server found too long was answered 400 with or without the schema: the run lost structured
    output for good although the server had it."""
    too_long = ChatFailedError("LLM refused the request (HTTP 400): maximum context length exceeded")
    chat = ScriptedChat([FormatRefusedError("LLM refused the request (HTTP 400): maximum context length exceeded"),
                         too_long, _reply({"signals": []})])
    _decide(_strategy(chat), range(2))
    assert [r.structured for r in chat.requests] == [True, False, True]


def test_tool_rounds_are_bounded_and_answered() -> None:
    ask = ChatReply(content=None, tool_calls=(ToolCall("c1", "get_quote", '{"symbol": "BTC/USDT"}'),),
                    usage=LlmUsage(10, 1))
    chat = ScriptedChat([ask, ask, ask])
    (signals,) = _decide(_strategy(chat, tools=True, max_tool_rounds=2), range(1))
    assert len(chat.requests) == 3
    assert chat.requests[-1].tools == ()  # the last round offers no tool
    tool_answers = [m for m in chat.requests[1].messages if m["role"] == "tool"]
    assert "no market data" in tool_answers[0]["content"]  # unbound market: an error the model can read
    assert signals[0].action is Action.HOLD


def test_a_cassette_replays_without_calling_and_charges_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    recorder = Cassette(path, "record", ScriptedChat([]))
    _decide(_strategy(ScriptedChat([]), cassette=recorder), range(3))
    recorder.close()
    chat = ScriptedChat([])
    store = InMemoryStore(BotId("b"))
    strategy = _strategy(chat, store, cassette=Cassette(path, "replay", None))
    _decide(strategy, range(3))
    assert chat.requests == []
    assert strategy.tracker.spend.cost == 0
    assert strategy.tracker.spend.replayed_cost == Decimal("0.00624")
    with store.unit_of_work() as uow:
        assert all(c.replayed for c in uow.llm_calls.list_calls())


def test_a_recorded_rate_limit_moves_the_replay_as_it_moved_the_recording(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    limited = ChatFailedError("LLM rate limited (HTTP 429)", retry_after_s=180)
    recorder = Cassette(path, "record", ScriptedChat([limited]))
    recorded = _decide(_strategy(ScriptedChat([]), cassette=recorder), range(8))
    recorder.close()
    stops: list[str] = []
    strategy = _strategy(ScriptedChat([]), cassette=Cassette(path, "replay", None))
    strategy.bind(InMemoryStore(BotId("b")), RunId("r1"), stop=stops.append, now=T0)
    replayed = _decide(strategy, range(8))
    assert stops == [], "the replay asked only what the recording asked"
    assert [[s.reason for s in d] for d in replayed] == [[s.reason for s in d] for d in recorded]


def test_a_replay_miss_stops_the_run_naming_the_market_time(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text("")
    stops: list[str] = []
    strategy = LlmStrategy(LlmPolicy(model="emu", rates=RATES, decision_interval=timedelta(minutes=1)),
                           ScriptedChat([]), (BTC,), cassette=Cassette(path, "replay", None))
    strategy.bind(InMemoryStore(BotId("b")), RunId("r1"), stop=stops.append, now=T0)
    _decide(strategy, range(2))
    assert strategy.fatal is not None
    assert "2025-01-01T00:01:00+00:00" in strategy.fatal
    assert stops == [strategy.fatal]


def test_an_entry_that_opened_no_plan_is_traced_as_not_entered() -> None:
    store = InMemoryStore(BotId("b"))
    chat = ScriptedChat([_reply({"signals": [{"action": "BUY", "symbol": "BTC/USDT", "notional": 100}]})])
    _decide(_strategy(chat, store), range(2))
    with store.unit_of_work() as uow:
        first = uow.llm_traces.recent(10)[0]
    assert json.loads(first.outcome) == [{"action": "BUY", "symbol": "BTC/USDT", "status": "not entered"}]
    # ... and the model is told in its next prompt.
    assert "rejected 2025-01-01T00:02:00+00:00 action=BUY status=not entered symbol=BTC/USDT" in \
        chat.requests[1].messages[0]["content"]


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.none(), st.text(max_size=300), st.binary(max_size=100).map(lambda b: b.decode("latin-1"))),
       st.sampled_from([None, "I cannot help with that"]))
def test_whatever_the_model_answers_the_strategy_returns_signals_or_hold(content: str | None,
                                                                         refusal: str | None) -> None:
    chat = ScriptedChat([ChatReply(content=content, refusal=refusal)])
    (signals,) = _decide(_strategy(chat), range(1))
    assert signals
    assert all(s.symbol == BTC for s in signals)


def test_fees_eating_half_the_gross_stop_the_calls_until_the_day_ends() -> None:
    from trader_core.model.stats import DayStats, LedgerTotals, StatsScope

    store = InMemoryStore(BotId("b"))
    with store.unit_of_work() as uow:
        uow.ledger.save_totals(StatsScope(), "UTC", LedgerTotals(fills=4, realized_pnl=Decimal(-10), fees=Decimal(5)))
        uow.ledger.save_day(StatsScope(), DayStats(day=T0.date(), fills=4, realized_pnl=Decimal(-10), fees=Decimal(5)))
        uow.commit()
    chat = ScriptedChat([])
    decisions = _decide(_strategy(chat, store), range(3))
    assert chat.requests == []
    assert [[(s.action, s.reason) for s in d] for d in decisions] == [[(
        Action.HOLD, "LLM fee-ratio cooldown until the day ends (UTC): fees 5.00 today against a gross realized PnL "
                     "of -10.00 (limit 50 %)")]] * 3
    # The next day the model is asked again: no call, no trade, so a ratio counted over the bot's life never fell
    # and a first round trip that barely moved silenced the strategy for good.
    chat = ScriptedChat([_reply({"signals": []})])
    _decide(_strategy(chat, store), range(24 * 60, 24 * 60 + 1))
    assert len(chat.requests) == 1
    store = InMemoryStore(BotId("b"))
    with store.unit_of_work() as uow:
        uow.ledger.save_day(StatsScope(), DayStats(day=T0.date(), fills=4, realized_pnl=Decimal(20), fees=Decimal(5)))
        uow.commit()
    _decide(_strategy(chat := ScriptedChat([_reply({"signals": []})]), store), range(1))
    assert len(chat.requests) == 1, "and the same day once the gross outgrows the fees"


def test_a_restarted_bot_keeps_the_decision_interval_and_the_error_cooldown() -> None:
    # A bot restarted in a loop (a supervisor after a crash) asked the model at every start: a call every few
    # seconds instead of one per interval, and a failing server asked again at once, whatever its cooldown.
    store = InMemoryStore(BotId("b"))
    chat = ScriptedChat([_reply({"signals": []})])
    _decide(_strategy(chat, store, decision_interval=timedelta(minutes=5)), range(1))
    assert len(chat.requests) == 1
    again = ScriptedChat([_reply({"signals": []})] * 2)
    _decide(_strategy(again, store, decision_interval=timedelta(minutes=5)), range(2, 3))
    assert again.requests == [], "restarted 2 minutes later: the next decision is due at minute 5"
    _decide(_strategy(again, store, decision_interval=timedelta(minutes=5)), range(5, 6))
    assert len(again.requests) == 1
    failing = ScriptedChat([ChatFailedError("LLM call failed (HTTP 500): boom")] * 3)
    _decide(_strategy(failing, store, max_consecutive_errors=3), range(10, 13))
    assert len(failing.requests) == 3
    after = ScriptedChat([_reply({"signals": []})])
    (held,) = _decide(_strategy(after, store, max_consecutive_errors=3), range(14, 15))
    assert after.requests == [], "the error cooldown holds across the restart"
    assert [s.reason for s in held] == ["LLM errors"]


def test_a_replay_keeps_no_pacing_of_its_own_nor_takes_the_live_bots() -> None:
    from trader_core.model.stats import StatsScope

    store = InMemoryStore(BotId("b"))
    _decide(_strategy(ScriptedChat([_reply({"signals": []})]), store, decision_interval=timedelta(minutes=5)),
            range(1))
    replay = LlmStrategy(LlmPolicy(model="emu", rates=RATES, decision_interval=timedelta(minutes=5),
                                   min_call_interval=timedelta(0)), chat := ScriptedChat([_reply({"signals": []})]),
                         (BTC,))
    replay.bind(store, RunId("replay"), stop=lambda _reason: None, now=T0, scope=StatsScope(RunId("replay")))
    _decide(replay, range(1))
    assert len(chat.requests) == 1, "a replay decides on its own schedule"


def test_a_rate_limit_with_retry_after_defers_the_next_decision() -> None:
    chat = ScriptedChat([ChatFailedError("LLM rate limited (HTTP 429)", retry_after_s=180)])
    decisions = _decide(_strategy(chat), range(5))
    assert "429" in decisions[0][0].reason
    assert decisions[1:3] == [(), ()]  # 3 minutes: nothing asked
    assert len(chat.requests) == 3  # minutes 0, 3 and 4


class Events:
    """A telemetry sink that keeps the events."""

    def __init__(self) -> None:
        self.events: list[object] = []

    def emit(self, event: object) -> None:
        self.events.append(event)


def test_usage_not_reported_is_charged_an_estimate_and_is_an_event() -> None:
    from trader_core.model.events import LlmCallCompleted, LlmUsageMissing

    events = Events()
    chat = ScriptedChat([_reply({"signals": []}, None)])
    strategy = LlmStrategy(LlmPolicy(model="emu", rates=RATES, decision_interval=timedelta(minutes=1)), chat, (BTC,))
    strategy.bind(InMemoryStore(BotId("b")), RunId("r1"), stop=lambda _r: None, telemetry=events, now=T0)
    _decide(strategy, range(1))
    sent = len(json.dumps(chat.requests[0].as_json(), separators=(",", ":")).encode())
    expected = (-(-sent // 3) * RATES.input_per_mtok + -(-len('{"signals": []}') // 3) * RATES.output_per_mtok) \
        / 1_000_000
    assert strategy.tracker.spend.cost == expected > 0
    assert [type(e) for e in events.events] == [LlmCallCompleted, LlmUsageMissing]
    completed = events.events[0]
    assert isinstance(completed, LlmCallCompleted)
    assert (completed.tokens_in, completed.cost, completed.replayed) == (None, str(expected), False)


def test_a_priced_server_that_never_reports_usage_still_meets_the_budget_cap() -> None:
    """A proxy that strips usage made every call free: the budget never held and the bot paid for ever."""
    chat = ScriptedChat([_reply({"signals": []}, None) for _ in range(200)])
    decisions = _decide(_strategy(chat, budget=Decimal("0.01")), range(200))
    assert len(chat.requests) < 200
    assert [s.reason for s in decisions[-1]] == ["LLM cost cap hit"]


@pytest.mark.parametrize(("failure", "charged"), [
    (ChatFailedError("LLM call timed out after 30 s", billable=True), True),
    (ChatFailedError("LLM connection failed (refused or dropped)", billable=True), True),
    (ChatFailedError("LLM call failed (HTTP 500): boom"), False),
    (ChatFailedError("LLM rate limited (HTTP 429)", 5.0), False),
])
def test_a_call_whose_answer_was_lost_is_charged_its_input(failure: ChatFailedError, charged: bool) -> None:
    """A timed-out call had reached the provider, which bills the prompt it read: charged nothing, a server
    that always timed out spent past any budget unseen."""
    store = InMemoryStore(BotId("b"))
    chat = ScriptedChat([failure])
    strategy = _strategy(chat, store)
    (signals,) = _decide(strategy, range(1))
    assert signals[0].action is Action.HOLD
    with store.unit_of_work() as uow:
        calls = uow.llm_calls.list_calls()
    sent = len(json.dumps(chat.requests[0].as_json(), separators=(",", ":")).encode())
    cost = -(-sent // 3) * RATES.input_per_mtok / 1_000_000
    if charged:
        assert [(c.tokens_in, c.cost) for c in calls] == [(None, cost)]
        assert strategy.tracker.spend.cost == cost
        assert f"charged {cost} USD for its input (estimated)" in (signals[0].reason or "")
        assert _strategy(ScriptedChat([]), store).tracker.spend.cost == cost, "kept across a restart"
    else:
        assert calls == ()
        assert strategy.tracker.spend.cost == 0


def test_each_attempt_the_sdk_lost_is_charged_its_input_beside_the_answer_and_on_failure() -> None:
    """The SDK retries a timed-out call by itself; the provider may bill every attempt. One charge per call let a
    provider timing out under load spend three times what the budget counted."""
    answered = attrs.evolve(_reply({"signals": []}, (1000, 10)), lost_attempts=2)
    chat = ScriptedChat([answered, ChatFailedError("LLM call timed out after 30 s", billable=3)])
    store = InMemoryStore(BotId("b"))
    strategy = _strategy(chat, store)
    first, second = _decide(strategy, range(2))
    input_cost = [-(-len(json.dumps(r.as_json(), separators=(",", ":")).encode()) // 3) * RATES.input_per_mtok
                  / 1_000_000 for r in chat.requests]
    answer_cost = (1000 * RATES.input_per_mtok + 10 * RATES.output_per_mtok) / 1_000_000
    with store.unit_of_work() as uow:
        calls = sorted(c.cost for c in uow.llm_calls.list_calls())
    assert calls == sorted([2 * input_cost[0], answer_cost, 3 * input_cost[1]])
    assert strategy.tracker.spend.cost == 2 * input_cost[0] + answer_cost + 3 * input_cost[1]
    assert "charged" not in (first[0].reason or ""), "an answered decision is not reported as cut short"
    assert f"charged {3 * input_cost[1]} USD for its input (3 attempts) (estimated)" in (second[0].reason or "")


def test_a_repeated_tool_request_is_answered_from_the_window_and_reported() -> None:
    from trader_core.model.events import ToolCallsThrottled

    ask = ChatReply(content=None, tool_calls=(ToolCall("c1", "get_quote", '{"symbol": "BTC/USDT"}'),
                                              ToolCall("c2", "get_quote", '{"symbol":"BTC/USDT"}')))
    events = Events()
    strategy = LlmStrategy(LlmPolicy(model="emu", rates=RATES, decision_interval=timedelta(minutes=1), tools=True),
                           ScriptedChat([ask, ask]), (BTC,))
    strategy.bind(InMemoryStore(BotId("b")), RunId("r1"), stop=lambda _r: None, telemetry=events, now=T0)
    _decide(strategy, range(1))
    throttled = [e for e in events.events if isinstance(e, ToolCallsThrottled)]
    assert len(throttled) == 1
    assert throttled[0].deduplicated == ('get_quote:{"symbol":"BTC/USDT"}',) * 2


def test_the_spend_survives_a_restart_in_sqlite(tmp_path: Path) -> None:
    from trader_app.storage import open_store

    url = f"sqlite:///{tmp_path / 't.db'}"
    store = open_store(url, BotId("b"))
    try:
        _decide(_strategy(ScriptedChat([]), store), range(2))  # type: ignore[arg-type]
    finally:
        store.close()
    again = open_store(url, BotId("b"))
    try:
        assert _strategy(ScriptedChat([]), again).tracker.spend.cost == Decimal("0.00416")  # type: ignore[arg-type]
    finally:
        again.close()


def test_traces_older_than_the_retention_are_pruned_when_bound() -> None:
    from trader_core.model.llm import LlmTraceRecord

    store = InMemoryStore(BotId("b"))
    with store.unit_of_work() as uow:
        for days in (9, 6):
            uow.llm_traces.add(LlmTraceRecord(trace_id=f"old-{days}", run_id=RunId("r0"), at=T0 - timedelta(days=days),
                                              model="emu", prompt="p"))
        uow.commit()
    _strategy(ScriptedChat([]), store, retention=timedelta(days=7))
    with store.unit_of_work() as uow:
        assert [t.trace_id for t in uow.llm_traces.recent(10)] == ["old-6"]


# --- what a hostile model or server cannot do (a review's findings) -------------------------------


class SlowChat(ScriptedChat):
    """A server that trickles its answer for ever: each call waits far past any deadline."""

    async def complete(self, request: ChatRequest) -> ChatReply:
        self.requests.append(request)
        await asyncio.sleep(3600)
        raise AssertionError("never answered")


def test_a_decision_that_outlasts_its_deadline_is_a_failed_hold_and_the_tick_goes_on() -> None:
    store = InMemoryStore(BotId("b"))
    strategy = _strategy(SlowChat([]), store, decision_timeout=timedelta(milliseconds=50))
    (signals,) = _decide(strategy, range(1))
    assert [s.action for s in signals] == [Action.HOLD]
    assert "not done within 0.05 s" in (signals[0].reason or "")
    with store.unit_of_work() as uow:
        (trace,) = uow.llm_traces.recent(5)
    assert "decision_timeout_s" in trace.reason
    with store.unit_of_work() as uow:
        (call,) = uow.llm_calls.list_calls()
    assert call.cost > 0, "the call cut short by the deadline had been sent: its input is charged"


@pytest.mark.parametrize("error", [OverflowError("int too large to convert"), ValueError("cannot convert NaN"),
                                   RuntimeError("anything else")])
def test_no_error_from_the_model_side_ends_the_run(error: Exception) -> None:
    (signals,) = _decide(_strategy(ScriptedChat([error])), range(1))
    assert signals[0].action is Action.HOLD
    assert type(error).__name__ in (signals[0].reason or "")


def test_a_retry_after_of_a_year_waits_at_most_the_error_cooldown() -> None:
    chat = ScriptedChat([ChatFailedError("LLM rate limited (HTTP 429)", 365 * 86400.0),
                         ChatFailedError("LLM rate limited (HTTP 429)", 1e20)])
    strategy = _strategy(chat, error_cooldown=timedelta(minutes=15))
    _decide(strategy, range(30))  # asked at minute 1, then at 16 (the cooldown, not a year), then at 31
    assert len(chat.requests) == 2
    _decide(strategy, range(30, 31))
    assert len(chat.requests) == 3


def test_the_budget_holds_between_tool_rounds() -> None:
    ask = ChatReply(content=None, tool_calls=(ToolCall("c1", "get_quote", '{"symbol": "BTC/USDT"}'),),
                    usage=LlmUsage(100_000, 1000))  # 0.208 a call
    chat = ScriptedChat([ask] * 6)
    strategy = _strategy(chat, tools=True, max_tool_rounds=5, budget=Decimal("0.1"))
    (signals,) = _decide(strategy, range(1))
    assert len(chat.requests) == 1, "the call that crossed the budget is the last one"
    assert signals[0].reason == "LLM cost cap hit"


def test_a_buy_without_a_stop_gets_one_at_the_band_and_a_stop_above_the_price_is_refused() -> None:
    chat = ScriptedChat([_reply({"signals": [{"action": "BUY", "symbol": "BTC/USDT", "notional": 50}]}),
                         _reply({"signals": [{"action": "BUY", "symbol": "BTC/USDT", "stop": 150}]})])
    first, second = _decide(_strategy(chat), range(2))
    assert (first[0].action, first[0].stop, first[0].stop_pct) == (Action.BUY, None, Decimal(2))
    assert second[0].action is Action.HOLD
    assert "stop" in (second[0].reason or "")


def test_an_update_plan_cannot_move_the_levels_out_of_the_band() -> None:
    answer = {"signals": [{"action": "UPDATE_PLAN", "symbol": "BTC/USDT", "plan_id": "P1", "stop": 1,
                           "target": 1_000_000_000}]}
    (signals,) = _decide(_strategy(ScriptedChat([_reply(answer)])), range(1))
    assert signals[0].action is Action.UPDATE_PLAN
    assert (signals[0].stop, signals[0].target) == (Price(98), Price(102))  # price 100, band 2 %


def test_a_model_pauses_entries_for_a_day_at_most() -> None:
    answer = {"signals": [{"action": "PAUSE_TRADING", "symbol": "BTC/USDT", "minutes": 100_000}]}  # 69 days
    (signals,) = _decide(_strategy(ScriptedChat([_reply(answer)])), range(1))
    assert (signals[0].action, signals[0].pause) == (Action.PAUSE_TRADING, timedelta(days=1))


def test_each_failed_decision_is_an_event_with_its_streak() -> None:
    from trader_core.model.events import LlmDecisionFailed

    events = Events()
    down = ChatFailedError("LLM call failed (HTTP 503): down")
    strategy = LlmStrategy(LlmPolicy(model="emu", rates=RATES, decision_interval=timedelta(minutes=1),
                                     min_call_interval=timedelta(0)),
                           ScriptedChat([down, down, _reply({"signals": []})]), (BTC,))
    strategy.bind(InMemoryStore(BotId("b")), RunId("r1"), stop=lambda _r: None, telemetry=events, now=T0)
    _decide(strategy, range(3))
    failed = [e for e in events.events if isinstance(e, LlmDecisionFailed)]
    assert [(e.streak, e.reason) for e in failed] == [(1, "LLM call failed (HTTP 503): down"),
                                                      (2, "LLM call failed (HTTP 503): down")]


def test_a_call_is_stored_as_soon_as_it_is_answered_not_when_its_decision_ends() -> None:
    """A process killed between two tool rounds has paid for the first: the budget, rebuilt from the stored calls
    after a restart, must know of it."""
    store = InMemoryStore(BotId("b"))
    stored_when_asked_again: list[int] = []

    class Watching(ScriptedChat):
        async def complete(self, request: ChatRequest) -> ChatReply:
            with store.unit_of_work() as uow:
                stored_when_asked_again.append(len(uow.llm_calls.list_calls()))
            return await super().complete(request)

    ask = ChatReply(content=None, tool_calls=(ToolCall("c1", "get_quote", '{"symbol": "BTC/USDT"}'),),
                    usage=LlmUsage(10, 1))
    _decide(_strategy(Watching([ask]), store, tools=True, max_tool_rounds=2), range(1))
    assert stored_when_asked_again == [0, 1], "the first call was in the store while the second was asked"
