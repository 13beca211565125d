"""Building ``--strategy llm`` from the settings, binding it to the run, and closing it (docs/llm.md)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trader_app.settings.llm import LlmSettings, load_llm_settings
from trader_core.costs import LlmRates
from trader_core.model import ConfigError, Symbol
from trader_core.model.stats import StatsScope
from trader_core.ports import SignalSource, Store

if TYPE_CHECKING:
    from trader_adapters.llm.strategy import LlmStrategy
    from trader_app.orchestrator import StrategyOrchestrator

__all__ = ["bind_llm", "build_llm_strategy", "cassette_file", "check_llm", "close_llm", "records_spend"]


def build_llm_strategy(flags: Mapping[str, Any], symbols: tuple[Symbol, ...], plan_cap: int) -> LlmStrategy:
    """The strategy over the ``openai`` SDK (behind a cassette when one is named). Bad settings: ``ConfigError``."""
    from trader_adapters.llm.cassette import Cassette
    from trader_adapters.llm.gates import GatePolicy
    from trader_adapters.llm.openai_chat import OpenAiChat
    from trader_adapters.llm.strategy import LlmPolicy, LlmStrategy

    llm = load_llm_settings(flags, os.environ)
    model = OpenAiChat(base_url=llm.base_url, api_key=llm.api_key.reveal(), timeout_s=float(llm.timeout_s),
                       max_retries=llm.max_retries)
    cassette = None if llm.cassette is None else Cassette(llm.cassette, llm.cassette_mode, model)
    gates = GatePolicy(fee_ratio_cooldown_pct=llm.fee_ratio_cooldown_pct, min_trade_interval=llm.min_trade_interval,
                       priority_move_pct=llm.priority_move_pct, break_glass_cooldown=llm.break_glass_cooldown,
                       break_glass_size_factor=llm.break_glass_size_factor,
                       chop_filter=llm.chop_filter)
    return LlmStrategy(_policy(llm, plan_cap, LlmPolicy, gates), model, symbols, cassette=cassette)


def _policy(llm: LlmSettings, plan_cap: int, policy: Any, gates: Any) -> Any:
    return policy(
        model=llm.model, rates=LlmRates(llm.input_cost_per_mtok, llm.output_cost_per_mtok), budget=llm.budget,
        min_call_interval=llm.min_call_interval, max_consecutive_errors=llm.max_consecutive_errors,
        error_cooldown=llm.error_cooldown, decision_interval=llm.decision_interval,
        prompt_byte_budget=llm.prompt_byte_budget, history=llm.history, tools=llm.tools,
        max_tool_rounds=llm.max_tool_rounds, structured=llm.structured_output, plan_cap=plan_cap, gates=gates,
        retention=llm.trace_retention, decision_timeout=llm.decision_timeout)


def _as_llm(strategy: SignalSource) -> LlmStrategy | None:
    """``strategy`` when it is the LLM strategy. An LLM strategy is built by :func:`build_llm_strategy`, which
    imports its module: while that module is not loaded, no strategy is one, and nothing imports the ``openai``
    SDK (about half a second of every other run's start-up) just to find that out."""
    module = sys.modules.get("trader_adapters.llm.strategy")
    return strategy if module is not None and isinstance(strategy, module.LlmStrategy) else None


def bind_llm(strategy: SignalSource, store: Store, orchestrator: StrategyOrchestrator) -> None:
    """Give an LLM strategy the run's store, run id, telemetry, market port and stop (others: nothing)."""
    if (llm := _as_llm(strategy)) is not None:
        run = orchestrator.run
        llm.bind(store, run.run_id, stop=orchestrator.request_stop, telemetry=orchestrator.telemetry,
                 market=orchestrator.services.market.market, now=orchestrator.clock.now(),
                 scope=StatsScope.for_mode(run.mode, run.run_id),
                 report_failure=orchestrator.services.health.report_tool_failure,
                 headroom=None if (risk := orchestrator.services.risk) is None else risk.exposure_headroom,
                 loss_cap=None if risk is None else risk.trade_loss_cap)


def cassette_file(strategy: SignalSource) -> tuple[Path, bool] | None:
    """An LLM strategy's cassette and whether the run writes to it (record and auto modes); None without one."""
    if (llm := _as_llm(strategy)) is None or llm.cassette is None:
        return None
    return llm.cassette.path, llm.cassette.mode != "replay"


async def close_llm(strategy: SignalSource) -> None:
    """Close the strategy's connections and cassette (in the event loop that used them)."""
    if (llm := _as_llm(strategy)) is not None:
        await llm.close()


def check_llm(strategy: SignalSource) -> None:
    """A replay-mode cassette miss stopped the run: ``ConfigError`` (exit 2) naming the market time."""
    if (llm := _as_llm(strategy)) is not None and llm.fatal is not None:
        raise ConfigError(llm.fatal)


def records_spend(strategy: SignalSource) -> bool:
    """Whether the strategy stores what it spends as it decides (an LLM's calls): such a run is never batched,
    so a crash cannot lose the record of calls that were paid for (the budget is rebuilt from them)."""
    return _as_llm(strategy) is not None
