"""``--strategy llm``: a ``SignalSource`` that asks a chat model for signals (issue 15).

One decision per ``decision_interval`` of market time (nothing in between). Before a call, in order: the
budget (spent >= budget: HOLD "LLM cost cap hit"), the call throttle (HOLD "LLM call throttled"), the error
streak (``max_consecutive_errors`` failures in a row: HOLD "LLM errors" for ``error_cooldown``, then one try),
the chop filter and the trade spacing with its break-glass move (no call, no signal). Then the prompt
(``build_prompt``), the call (tool rounds bounded by ``max_tool_rounds``), the answer parsed into signals or
one HOLD with the reason, stop and target clamped into the band around the price, and every call stored
(``llm_calls``) with its cost. A replay-mode cassette miss stops the run (``fatal``).
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs

from trader_adapters.llm.answer import ParsedAnswer, hold, parse_answer
from trader_adapters.llm.cassette import Cassette, CassetteMissError
from trader_adapters.llm.chat import ChatFailedError, ChatModel, ChatReply, ChatRequest
from trader_adapters.llm.clamps import clamp_levels, stop_at_or_above
from trader_adapters.llm.gates import GatePolicy, fee_ratio_blocks, is_chop, priority_move_pct, spacing
from trader_adapters.llm.market_tools import TOOL_DEFINITIONS, answer_tool_calls
from trader_adapters.llm.openai_chat import FormatRefusedError
from trader_adapters.llm.outcomes import Snapshot, outcomes, snapshot
from trader_adapters.llm.prompt import PromptInputs, build_prompt
from trader_adapters.llm.tools import ToolThrottle
from trader_adapters.llm.traces import DecisionTrace, TraceWriter
from trader_core.costs import CostTracker, LlmRates, LlmUsage, estimated_usage, spend_of
from trader_core.model import Action, Candle, InvalidDataError, RunId, Signal, Symbol
from trader_core.model.events import LlmCallCompleted, LlmDecisionFailed, LlmUsageMissing
from trader_core.model.llm import LlmCallRecord
from trader_core.model.stats import StatsScope
from trader_core.ports import DecisionContext, MarketData, Store, Telemetry

__all__ = ["LlmPolicy", "LlmStrategy"]

# The ``values`` key of a bot-wide strategy's pacing: its next decision, error streak and error cooldown (JSON).
_PACING_KEY = "llm.pacing"


def _aware(text: object) -> datetime | None:
    """An ISO time as stored by ``_keep_pacing``; None for None. Raises ``ValueError`` when it is not one."""
    if text is None:
        return None
    moment = datetime.fromisoformat(str(text))
    if moment.tzinfo is None:
        raise ValueError("a time without a zone")
    return moment.astimezone(UTC)

_LONGEST_PAUSE = timedelta(days=1)  # a model's PAUSE_TRADING lasts at most this


@attrs.frozen(kw_only=True)
class LlmPolicy:
    """What the strategy is built with (``[llm]`` settings, docs/llm.md)."""

    model: str
    rates: LlmRates
    budget: Decimal = Decimal(10)
    min_call_interval: timedelta = timedelta(seconds=5)
    max_consecutive_errors: int = 3
    error_cooldown: timedelta = timedelta(minutes=15)
    decision_interval: timedelta = timedelta(minutes=5)
    prompt_byte_budget: int = 16000
    history: int = 60  # closed candles per symbol kept for the prompt
    tools: bool = False
    max_tool_rounds: int = 2
    structured: bool = True
    level_band_pct: Decimal = Decimal(2)  # stop and target clamped into +-2 % of the price (the original's)
    plan_cap: int = 1
    gates: GatePolicy = GatePolicy()
    retention: timedelta = timedelta(days=7)  # traces older than this are pruned when the strategy is bound
    # The longest one decision may take, retries and tool rounds included: the tick (and the protection of the
    # next one) waits for it, so past it the decision is a failed HOLD and the tick goes on.
    decision_timeout: timedelta = timedelta(seconds=60)


@attrs.define
class _Bound:
    store: Store
    run_id: RunId
    telemetry: Telemetry | None
    market: MarketData | None
    stop: Callable[[str], None]
    scope: StatsScope
    report_failure: Callable[[str, BaseException], None] | None = None
    headroom: Callable[[Mapping[Symbol, Decimal]], Decimal] | None = None
    loss_cap: Callable[[Mapping[Symbol, Decimal]], Decimal | None] | None = None


class LlmStrategy:
    """The LLM signal source. :meth:`bind` gives it the bot's store and run before the first decision."""

    def __init__(self, policy: LlmPolicy, model: ChatModel, symbols: tuple[Symbol, ...],
                 cassette: Cassette | None = None) -> None:
        self.policy, self.symbols = policy, symbols
        self._model, self._cassette = model, cassette
        self.tracker = CostTracker(policy.rates, policy.budget)
        self._structured = policy.structured
        self._windows: dict[Symbol, deque[Candle]] = {s: deque(maxlen=policy.history) for s in symbols}
        self._next_decision: datetime | None = None
        self._last_call: datetime | None = None
        self._errors = 0
        self._errors_until: datetime | None = None
        self._pacing_kept: str | None = None
        self._positions: dict[Symbol, Decimal] = {}
        self._last_trade: datetime | None = None
        self._last_break_glass: datetime | None = None
        self._throttle = ToolThrottle()
        self._seq = 0
        self._trace_id = ""
        self._bound: _Bound | None = None
        self._traces: TraceWriter | None = None
        self.fatal: str | None = None  # why the run must stop (exit 2), e.g. a cassette miss in replay mode
        self._awaiting: tuple[str, tuple[Signal, ...], Snapshot] | None = None  # a trace whose outcome is next
        self._rejections: deque[str] = deque(maxlen=5)
        self._results: deque[str] = deque(maxlen=5)

    def bind(self, store: Store, run_id: RunId, *, stop: Callable[[str], None], telemetry: Telemetry | None = None,
             market: MarketData | None = None, now: datetime | None = None,
             scope: StatsScope | None = None,
             report_failure: Callable[[str, BaseException], None] | None = None,
             headroom: Callable[[Mapping[Symbol, Decimal]], Decimal] | None = None,
             loss_cap: Callable[[Mapping[Symbol, Decimal]], Decimal | None] | None = None) -> None:
        """Use ``store`` (the spend so far is read from it: the budget holds across restarts) for ``run_id``;
        ``scope`` is the ledger whose gross and fees the fee-ratio gate reads (default: the bot's);
        ``report_failure`` hears of every unusable answer (the health manager's tool circuit); ``headroom``
        tells what new entries may still add under the exposure cap at given prices (None: no cap); ``loss_cap``
        what one entry may lose at its stop (None: no per-trade cap)."""
        self._bound = _Bound(store, run_id, telemetry, market, stop, scope or StatsScope(), report_failure,
                             headroom, loss_cap)
        with store.unit_of_work() as uow:
            spent = spend_of(uow.llm_calls.list_calls())
        self.tracker = attrs.evolve(self.tracker, spend=attrs.evolve(spent, calls=0, tokens_in=0, tokens_out=0))
        if self._bound.scope.run_id is None:
            self._load_pacing(store)
        self._traces = TraceWriter(store)
        self._traces.keep_budget(self.policy.budget, self.policy.model)
        if now is not None:
            self._traces.prune(now - self.policy.retention)

    @property
    def cassette(self) -> Cassette | None:
        """The cassette the model's answers are recorded to or replayed from (None: none)."""
        return self._cassette

    async def close(self) -> None:
        """Close the cassette and the model's connections."""
        if self._cassette is not None:
            self._cassette.close()
        closer = getattr(self._model, "close", None)
        if closer is not None:
            await closer()

    async def decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        """Signals for this tick: nothing between decisions, HOLD with a reason when a gate or the answer says so."""
        try:
            return await self._decide(context)
        finally:
            self._keep_pacing()

    def _load_pacing(self, store: Store) -> None:
        """What an earlier process of this bot left of the strategy's pacing: when the next decision is due (the
        interval, or a server's Retry-After) and the error streak with its cooldown. A bot restarted in a loop (a
        supervisor after a crash, a deploy) asked the model at every start, whatever the interval or the
        server's Retry-After said."""
        with store.unit_of_work() as uow:
            raw = uow.values.find(_PACING_KEY)
        if not raw:
            return
        try:
            kept = json.loads(raw)
            self._next_decision = _aware(kept.get("next_decision"))
            self._errors = max(0, int(kept.get("errors", 0)))
            self._errors_until = _aware(kept.get("errors_until"))
        except (ValueError, TypeError, AttributeError):
            return  # unreadable: start afresh, as before this was kept

    def _keep_pacing(self) -> None:
        """Store the pacing when it changed (a bot-wide strategy only: a replay's or a paper run's is its own)."""
        bound = self._bound
        if bound is None or bound.scope.run_id is not None:
            return
        value = json.dumps({"next_decision": None if self._next_decision is None else self._next_decision.isoformat(),
                            "errors": self._errors,
                            "errors_until": None if self._errors_until is None else self._errors_until.isoformat()})
        if value == self._pacing_kept:
            return
        with bound.store.unit_of_work() as uow:
            uow.values.put(_PACING_KEY, value)
            uow.commit()
        self._pacing_kept = value

    async def _decide(self, context: DecisionContext) -> tuple[Signal, ...]:
        for symbol, candles in context.candles:
            self._windows.setdefault(symbol, deque(maxlen=self.policy.history)).extend(candles)
        self._observe_trades(context)
        self._record_outcome(context)
        if self.fatal is not None or (self._next_decision is not None and context.now < self._next_decision):
            return ()
        self._next_decision = context.now + self.policy.decision_interval
        default = self.symbols[0]
        blocked = self._blocked(context.now)
        if blocked is not None:
            return hold(default, blocked, failed=False).signals
        closes = [c.close for c in self._windows.get(default, ())]
        if is_chop(closes, self.policy.gates):
            return ()
        fees_block = self._fees_block(context.now)
        if fees_block is not None:  # said, once a decision: the model is not asked again until the day ends
            return hold(default, fees_block, failed=False).signals
        moves = [(c.close_time, c.close) for c in self._windows.get(default, ())]
        gate = spacing(context.now, self._last_trade, self._last_break_glass,
                       priority_move_pct(moves, context.now, self.policy.gates.priority_lookback), self.policy.gates)
        if not gate.allowed:
            return ()
        if gate.break_glass:
            self._last_break_glass = context.now
        parsed = await self._consult(context, default)
        shaped = self._shape(parsed, context, gate.size_factor)
        acted = tuple(s for s in shaped if s.action is not Action.HOLD)
        if acted:
            self._awaiting = (self._trace_id, acted, snapshot(context))
        return shaped

    def _record_outcome(self, context: DecisionContext) -> None:
        """The previous decision's signals were acted on in its tick: store what became of them."""
        if self._awaiting is None:
            return
        trace_id, signals, before = self._awaiting
        self._awaiting = None
        found = outcomes(signals, before, context)
        for outcome in found:  # shown to the model in the next prompts
            line = " ".join(f"{k}={v}" for k, v in sorted(outcome.items()))
            failed = outcome["status"] in ("not entered", "unchanged", "position unchanged")
            (self._rejections if failed else self._results).append(f"{context.now.isoformat()} {line}")
        if self._traces is not None:
            self._traces.set_outcome(trace_id, json.dumps(found, sort_keys=True))

    def _blocked(self, now: datetime) -> str | None:
        if not self.tracker.may_call():
            return "LLM cost cap hit"
        if self._last_call is not None and now - self._last_call < self.policy.min_call_interval:
            return "LLM call throttled"
        if self._errors >= self.policy.max_consecutive_errors:
            if self._errors_until is None:
                self._errors_until = now + self.policy.error_cooldown
            if now < self._errors_until:
                return "LLM errors"
            self._errors_until = None  # cooled down: one more try (a failure re-arms the cooldown)
        return None

    def _fees_block(self, now: datetime) -> str | None:
        """The fee-ratio cooldown, when fees have eaten the configured share of the gross realized PnL of the
        bot's fills today (the ledger's local day): why. Counted over the bot's lifetime, a first round trip that
        barely moved blocked every call for good (no call, no trade, the ratio never falls); over the day, the
        cooldown ends with it."""
        if self._bound is None:
            return None
        with self._bound.store.unit_of_work() as uow:
            ledger = uow.ledger.find(self._bound.scope)
        if ledger is None:
            return None
        day = ledger.day_at(now)
        if not fee_ratio_blocks(day.realized_pnl, day.fees, self.policy.gates):
            return None
        return (f"LLM fee-ratio cooldown until the day ends ({ledger.day_timezone}): fees {day.fees:.2f} today "
                f"against a gross realized PnL of {day.realized_pnl:.2f} (limit "
                f"{self.policy.gates.fee_ratio_cooldown_pct} %)")

    def _observe_trades(self, context: DecisionContext) -> None:
        """A change of the bot's position since the previous tick is an executed trade (trade spacing)."""
        now_held = dict(context.positions)
        if any(now_held.get(s, Decimal(0)) != self._positions.get(s, Decimal(0))
               for s in set(now_held) | set(self._positions)):
            self._last_trade = context.now
        self._positions = now_held

    def _prices(self, context: DecisionContext) -> dict[Symbol, Decimal]:
        """The last price of each symbol: the quote's, else the last candle's close."""
        prices = {q.symbol: q.last for q in context.quotes}
        for symbol, window in self._windows.items():
            if symbol not in prices and window:
                prices[symbol] = window[-1].close
        return prices

    async def _consult(self, context: DecisionContext, default: Symbol) -> ParsedAnswer:
        self._seq += 1
        run = "unbound" if self._bound is None else self._bound.run_id.value
        trace_id = self._trace_id = f"{run}-{self._seq:06d}"
        prices = self._prices(context)
        headroom = None if self._bound is None or self._bound.headroom is None else self._bound.headroom(prices)
        loss_cap = None if self._bound is None or self._bound.loss_cap is None else self._bound.loss_cap(prices)
        prompt = build_prompt(PromptInputs(
            now=context.now.isoformat(), candles={s: tuple(w) for s, w in self._windows.items()},
            quotes=context.quotes, positions=dict(context.positions), plans=context.plans,
            plan_cap=self.policy.plan_cap, exposure_headroom=headroom, max_trade_loss=loss_cap,
            trading_state="active" if context.may_enter else "entries_paused",
            rejections=tuple(self._rejections), results=tuple(self._results),
        ), self.policy.prompt_byte_budget)
        self._last_call = context.now
        trace = DecisionTrace(trace_id=trace_id, at=context.now, model=self.policy.model, prompt=prompt)
        limit = self.policy.decision_timeout.total_seconds()
        try:
            async with asyncio.timeout(limit):
                parsed = await self._rounds(prompt, context, default, trace)
        except TimeoutError:
            trace.error = f"LLM decision not done within {limit:g} s (decision_timeout_s)"
            parsed = hold(default, trace.error, failed=True)
        except Exception as exc:  # noqa: BLE001 - nothing the model or its server sends ends the run
            trace.error = self._masked(f"LLM call failed ({type(exc).__name__}: {exc})")
            parsed = hold(default, trace.error, failed=True)
        self._errors = self._errors + 1 if parsed.failed else 0
        if parsed.failed and self._bound is not None:
            if self._bound.telemetry is not None:
                self._bound.telemetry.emit(LlmDecisionFailed(at=context.now, model=self.policy.model,
                                                             trace_id=trace_id, reason=parsed.reason,
                                                             streak=self._errors))
            if self._bound.report_failure is not None:
                self._bound.report_failure("llm.answer", InvalidDataError(parsed.reason))
        trace.signals = json.dumps([_signal_json(s) for s in parsed.signals], sort_keys=True)
        trace.reason = parsed.reason
        if self._traces is not None and self._bound is not None:
            self._traces.add(self._bound.run_id, trace)
        return parsed

    def _masked(self, text: str) -> str:
        """``text`` with the model client's API key masked (when it has one to mask)."""
        mask = getattr(self._model, "mask", None)
        return " ".join((mask(text) if mask is not None else text).split())[:200]

    async def _rounds(self, prompt: str, context: DecisionContext, default: Symbol,
                      trace: DecisionTrace) -> ParsedAnswer:
        """The decision's calls: tool rounds (at most ``max_tool_rounds``), then the answer parsed."""
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        parsed: ParsedAnswer | None = None
        for round_number in range(self.policy.max_tool_rounds + 1):
            if round_number and not self.tracker.may_call():  # the budget holds between rounds too
                trace.error = "LLM cost cap hit"
                return hold(default, trace.error, failed=False)
            offer = TOOL_DEFINITIONS if self.policy.tools and round_number < self.policy.max_tool_rounds else ()
            reply = await self._call(ChatRequest(model=self.policy.model, messages=tuple(messages), tools=offer,
                                                 structured=self._structured), context.now, trace)
            if reply is None:
                parsed = hold(default, trace.error or "LLM call failed", failed=True)
                break
            if reply.tool_calls and offer:
                answers = await answer_tool_calls(
                    reply.tool_calls, self._windows.keys(), self._throttle, context.now,
                    market=None if self._bound is None else self._bound.market,
                    telemetry=None if self._bound is None else self._bound.telemetry)
                messages.append({"role": "assistant", "content": reply.content, "tool_calls": [
                    {"id": c.call_id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
                    for c in reply.tool_calls]})
                messages.extend({"role": "tool", "tool_call_id": c.call_id, "content": a}
                                for c, a in zip(reply.tool_calls, answers, strict=True))
                continue
            trace.answer = reply.content or ""
            if reply.refusal:
                parsed = hold(default, f"LLM refused: {reply.refusal}", failed=True)
            elif reply.content is None:
                parsed = hold(default, f"LLM answer: empty (finish {reply.finish_reason})", failed=True)
            else:
                parsed = parse_answer(reply.content, self._windows.keys(), default)
            break
        if parsed is None:
            parsed = hold(default, "LLM answer: still asking for tools after the last round", failed=True)
        return parsed

    async def _call(self, request: ChatRequest, now: datetime, trace: DecisionTrace) -> ChatReply | None:
        """One call, stored and charged; None when it failed (``trace.error`` says why)."""
        try:
            reply, replayed = await self._exchange(request)
        except asyncio.CancelledError:  # the decision's deadline, or the run ending, while the call was out
            self._charge_lost(request, now, trace)
            raise
        except FormatRefusedError:
            return await self._as_text(request, now, trace)
        except ChatFailedError as exc:
            trace.error = exc.reason
            if exc.billable:
                self._charge_lost(request, now, trace, attempts=int(exc.billable))
            wait = exc.retry_after_s
            if wait and math.isfinite(wait) and wait > 0 and self._next_decision is not None:
                # The server said when to come back; at most the error cooldown (a year's Retry-After would
                # silence the strategy for good).
                later = min(timedelta(seconds=min(wait, 1e9)), self.policy.error_cooldown)
                self._next_decision = max(self._next_decision, now + later)
            return None
        except CassetteMissError as exc:
            self.fatal = f"llm cassette: no recorded answer for the decision at {now.isoformat()} ({exc}; replay mode)"
            if self._bound is not None:
                self._bound.stop(self.fatal)
            trace.error = self.fatal
            return None
        if reply.lost_attempts:  # the SDK's retries before this answer: each may have been billed
            self._charge_lost(request, now, trace, attempts=reply.lost_attempts, answered=True)
        estimate = None if reply.usage is not None else estimated_usage(_request_bytes(request), _reply_bytes(reply))
        self.tracker, cost = self.tracker.record(reply.usage, replayed=replayed, estimate=estimate)
        trace.add_call(reply, cost, replayed)
        if self._bound is not None:
            if self._bound.telemetry is not None:
                self._bound.telemetry.emit(LlmCallCompleted(
                    at=now, model=request.model, trace_id=trace.trace_id,
                    tokens_in=None if reply.usage is None else reply.usage.tokens_in,
                    tokens_out=None if reply.usage is None else reply.usage.tokens_out,
                    cost=str(cost), latency_ms=reply.latency_ms, replayed=replayed))
            if reply.usage is None and self._bound.telemetry is not None:
                self._bound.telemetry.emit(LlmUsageMissing(at=now, model=request.model, trace_id=trace.trace_id))
            record = LlmCallRecord(
                trace_id=trace.trace_id, run_id=self._bound.run_id, at=now, model=request.model,
                tokens_in=None if reply.usage is None else reply.usage.tokens_in,
                tokens_out=None if reply.usage is None else reply.usage.tokens_out,
                cost=cost, latency_ms=reply.latency_ms, replayed=replayed)
            if self._traces is not None:
                self._traces.add_call(record)  # at once: paid for, whatever becomes of the decision
        return reply

    async def _as_text(self, request: ChatRequest, now: datetime, trace: DecisionTrace) -> ChatReply | None:
        """A 400 to a structured request: the server may have no structured output (JSON parsed from the text
        from now on), or the request was refused for something else (too long, a bad parameter). The same request
        as text tells them apart: refused again, the format was not the cause and stays on."""
        self._structured = False
        if not self.tracker.may_call():
            trace.error = "LLM cost cap hit"
            return None
        plain = await self._call(attrs.evolve(request, structured=False), now, trace)
        if plain is None:
            self._structured = self.policy.structured
        return plain

    def _charge_lost(self, request: ChatRequest, now: datetime, trace: DecisionTrace, *, attempts: int = 1,
                     answered: bool = False) -> None:
        """A call whose answer was lost after the request reached the server (a timeout, a dropped connection, an
        unreadable body, the decision's deadline), ``attempts`` times (the SDK retries some): the provider may have
        billed its input each time, so each is charged at the input estimated from the request, stored at once
        like an answered call, and said in the trace (unless a later attempt was ``answered``). A cassette's replay
        sends nothing, so it charges nothing."""
        if self._cassette is not None and self._cassette.mode == "replay":
            return
        one = estimated_usage(_request_bytes(request), 0)
        self.tracker, cost = self.tracker.record(None, estimate=LlmUsage(one.tokens_in * attempts, 0))
        if not answered:
            times = "" if attempts == 1 else f" ({attempts} attempts)"
            trace.error = f"{trace.error or 'LLM call cut short'}; charged {cost} USD for its input{times} (estimated)"
        if self._bound is not None and self._traces is not None:
            self._traces.add_call(LlmCallRecord(trace_id=trace.trace_id, run_id=self._bound.run_id, at=now,
                                                model=request.model, tokens_in=None, tokens_out=None, cost=cost))

    async def _exchange(self, request: ChatRequest) -> tuple[ChatReply, bool]:
        if self._cassette is not None:
            return await self._cassette.exchange(request)
        return await self._model.complete(request), False

    def _shape(self, parsed: ParsedAnswer, context: DecisionContext, size_factor: Decimal | None) -> tuple[Signal, ...]:
        """Stop and target into the band around the price; break-glass entries sized by ``size_factor``."""
        prices = self._prices(context)
        shaped = []
        for signal in parsed.signals:
            price = prices.get(signal.symbol)
            clamped = signal if price is None else clamp_levels(signal, price, self.policy.level_band_pct)
            if price is not None and stop_at_or_above(clamped, price):
                shaped.append(Signal(action=Action.HOLD, symbol=signal.symbol,
                                     reason=f"LLM BUY refused: its stop {signal.stop} is not below the price {price}"))
                continue
            if clamped.pause is not None and clamped.pause > _LONGEST_PAUSE:
                clamped = attrs.evolve(clamped, pause=_LONGEST_PAUSE)  # an operator resumes; a model's pause ends
            if size_factor is not None and clamped.action is Action.BUY:
                clamped = attrs.evolve(clamped, size_factor=min(clamped.size_factor or Decimal(1), size_factor))
            shaped.append(clamped)
        return tuple(shaped)


def _request_bytes(request: ChatRequest) -> int:
    """The size of what is sent: the messages and the tools offered, as JSON."""
    return len(json.dumps(request.as_json(), separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _reply_bytes(reply: ChatReply) -> int:
    """The size of what the model wrote: its text, refusal and tool calls."""
    written = (reply.content or "") + (reply.refusal or "") + "".join(c.name + c.arguments for c in reply.tool_calls)
    return len(written.encode("utf-8"))


def _signal_json(signal: Signal) -> dict[str, str]:
    fields = attrs.asdict(signal, recurse=False)
    return {k: str(getattr(v, "value", v)) for k, v in fields.items() if v not in (None, "", ())}
