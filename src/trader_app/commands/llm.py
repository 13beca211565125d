"""``trader-app llm traces``: the LLM strategy's recent decisions (prompt, answer, signals, cost, outcome)."""

from __future__ import annotations

import json
import sys
from typing import Any

from trader_app.commands.target import add_target, target
from trader_core.model import BotId, ConfigError, InvalidValueError
from trader_core.model.llm import LlmTraceRecord

__all__ = ["register", "trace_json", "traces_command"]

_MAX_LAST = 10_000  # more than a week of decisions at the default 5m interval; beyond, a typo (and an overflow)


def register(sub: Any) -> None:
    """Add ``llm traces``."""
    llm = sub.add_parser("llm", help="the LLM strategy's records (docs/llm.md)")
    actions = llm.add_subparsers(dest="llm_command", required=True, parser_class=type(llm))
    traces = actions.add_parser("traces", help="the latest decisions: prompt, raw answer, signals, tokens, cost")
    add_target(traces)
    traces.add_argument("--last", type=int, default=10, help="how many decisions (default 10, newest last)")
    traces.add_argument("--json", action="store_true", help="one JSON object per line, prompts in full")
    traces.set_defaults(handler=lambda args: traces_command(*target(args), args.last, args.json))


def trace_json(trace: LlmTraceRecord) -> dict[str, Any]:
    """One trace as JSON (money and times as text)."""
    return {"trace_id": trace.trace_id, "run_id": trace.run_id.value, "at": trace.at.isoformat(),
            "model": trace.model, "calls": trace.calls, "tokens_in": trace.tokens_in, "tokens_out": trace.tokens_out,
            "cost": str(trace.cost), "replayed": trace.replayed, "latency_ms": trace.latency_ms,
            "reason": trace.reason, "signals": json.loads(trace.signals or "[]"), "answer": trace.answer,
            "outcome": trace.outcome, "prompt": trace.prompt}


def traces_command(db: str, bot: str, last: int, as_json: bool) -> int:
    """Print the bot's latest ``last`` traces."""
    from trader_app.storage import open_store

    if not 1 <= last <= _MAX_LAST:
        raise ConfigError(f"--last must be 1 to {_MAX_LAST}, got {last}")
    try:
        bot_id = BotId(bot)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc
    store = open_store(db, bot_id, read_only=True)
    try:
        with store.unit_of_work() as uow:
            traces = uow.llm_traces.recent(last)
    finally:
        store.close()
    for trace in traces:
        if as_json:
            sys.stdout.write(json.dumps(trace_json(trace), sort_keys=True) + "\n")
            continue
        signals = ", ".join(f"{s.get('action')} {s.get('symbol')}" for s in json.loads(trace.signals or "[]"))
        head = (f"{trace.at.isoformat()}  {trace.trace_id}  {trace.model}  calls {trace.calls}  "
                f"tokens {trace.tokens_in}/{trace.tokens_out}  cost {trace.cost}"
                f"{' (replayed)' if trace.replayed else ''}  {trace.latency_ms} ms")
        reason = f"  reason: {trace.reason}" if trace.reason else ""
        outcome = f"  outcome: {trace.outcome}" if trace.outcome else ""
        sys.stdout.write(f"{head}\n  signals: {signals or '-'}{reason}\n"
                         f"  answer: {' '.join(trace.answer.split())[:200] or '-'}\n"
                         f"  prompt: {len(trace.prompt.encode())} bytes{outcome}\n")
    if not traces:
        sys.stdout.write(f"no LLM traces for bot {bot}\n")
    return 0
