"""The cost tracker (original §10.1, with its defect fixed: the cost accumulates and the cap holds).

A call's cost is the provider-reported input and output tokens times the rates (USD per million tokens).
No usage reported: the tokens are estimated from the bytes sent and received (``estimated_usage``) and charged,
so a budget holds against a server or proxy that leaves usage out (the caller emits ``LlmUsageMissing``); the
same estimate charges a call whose answer was lost (the provider may have billed it). A call answered from a cassette is
counted as replayed: its cost is reported apart and never charged against the budget again.
Everything is exact ``Decimal``; nothing here reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from trader_core.model.llm import LlmCallRecord
from trader_core.model.numbers import ZERO

__all__ = [
    "BudgetState",
    "CostTracker",
    "LlmBudget",
    "LlmRates",
    "LlmSpend",
    "LlmUsage",
    "budget_status",
    "call_cost",
    "estimated_usage",
    "net_pnl",
    "spend_of",
]

_MILLION = Decimal(1_000_000)
_MIN_WINDOW = timedelta(minutes=5)  # the burn rate is never taken over less (the original's floor)
NEAR_CAP = Decimal("0.8")


def _non_negative(_instance: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < ZERO:
        raise ValueError(f"{attribute.name} must be a finite Decimal >= 0, got {value!r}")


@attrs.frozen
class LlmRates:
    """USD per million input tokens and per million output tokens."""

    input_per_mtok: Decimal = attrs.field(validator=_non_negative)
    output_per_mtok: Decimal = attrs.field(validator=_non_negative)


@attrs.frozen
class LlmUsage:
    """Tokens the provider reported for one call."""

    tokens_in: int = attrs.field(validator=attrs.validators.ge(0))
    tokens_out: int = attrs.field(validator=attrs.validators.ge(0))


# Bytes per token when the provider reports no count: JSON, figures and symbols run shorter than English prose's
# four, and an estimate that leans high keeps a budget a budget.
BYTES_PER_TOKEN = 3


def estimated_usage(bytes_in: int, bytes_out: int) -> LlmUsage:
    """Token counts estimated from the bytes of a request and of its answer (``bytes_out`` 0: the answer was
    lost), rounded up."""
    return LlmUsage(-(-max(bytes_in, 0) // BYTES_PER_TOKEN), -(-max(bytes_out, 0) // BYTES_PER_TOKEN))


def call_cost(usage: LlmUsage | None, rates: LlmRates) -> Decimal:
    """The cost of one call in USD: zero when the provider reported no usage."""
    if usage is None:
        return ZERO
    cost = (usage.tokens_in * rates.input_per_mtok + usage.tokens_out * rates.output_per_mtok) / _MILLION
    return cost if cost else ZERO  # free (zero rates or no tokens): 0, not 0E-8


@attrs.frozen
class LlmSpend:
    """What the model calls of a scope cost so far. ``cost`` is charged; ``replayed_cost`` is what calls
    answered from a cassette cost when they were recorded (reported, not charged)."""

    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost: Decimal = ZERO
    replayed_calls: int = 0
    replayed_cost: Decimal = ZERO
    usage_missing: int = 0


class BudgetState(enum.Enum):
    """The ``llm_budget`` status (original §10.2)."""

    OK = "ok"
    NEAR_CAP = "near_cap"
    CAP_HIT = "cap_hit"


@attrs.frozen(kw_only=True)
class LlmBudget:
    """The budget's status with its burn figures; ``hours_to_cap`` is None while nothing is spent."""

    state: BudgetState
    budget: Decimal
    cost: Decimal
    remaining: Decimal
    pct_of_budget: Decimal
    burn_rate_per_hour: Decimal
    hours_to_cap: Decimal | None


def budget_status(spend: LlmSpend, budget: Decimal, started: datetime, now: datetime) -> LlmBudget:
    """Status and burn of ``spend`` against ``budget`` since ``started`` (aware times; the window is at
    least 5 minutes so a first call does not read as a huge rate)."""
    elapsed = max(now - started, _MIN_WINDOW)
    hours = Decimal(int(elapsed.total_seconds() * 1000)) / Decimal(3_600_000)
    rate = spend.cost / hours
    remaining = max(budget - spend.cost, ZERO)
    pct = spend.cost / budget if budget > ZERO else ZERO
    if remaining <= ZERO:
        state = BudgetState.CAP_HIT
    elif pct >= NEAR_CAP:
        state = BudgetState.NEAR_CAP
    else:
        state = BudgetState.OK
    return LlmBudget(state=state, budget=budget, cost=spend.cost, remaining=remaining, pct_of_budget=pct,
                     burn_rate_per_hour=rate, hours_to_cap=remaining / rate if rate > ZERO else None)


def spend_of(calls: Iterable[LlmCallRecord]) -> LlmSpend:
    """The spend of stored calls (a restart resumes from it): charged and replayed costs apart."""
    spend = LlmSpend()
    for c in calls:
        spend = attrs.evolve(
            spend, calls=spend.calls + 1, tokens_in=spend.tokens_in + (c.tokens_in or 0),
            tokens_out=spend.tokens_out + (c.tokens_out or 0), cost=spend.cost + (ZERO if c.replayed else c.cost),
            replayed_calls=spend.replayed_calls + c.replayed,
            replayed_cost=spend.replayed_cost + (c.cost if c.replayed else ZERO),
            usage_missing=spend.usage_missing + (c.tokens_in is None))
    return spend


def net_pnl(gross: Decimal, fees: Decimal, llm_cost: Decimal) -> Decimal:
    """Net PnL everywhere: gross - fees - LLM cost."""
    return gross - fees - llm_cost


@attrs.frozen
class CostTracker:
    """The running spend of one scope against its budget. Immutable: each call returns a new tracker.

    ``may_call`` is asked before every model call, so the budget is exceeded by at most the cost of the
    one call that crossed it (a call's cost is known only after it answers).
    """

    rates: LlmRates
    budget: Decimal = attrs.field(validator=_non_negative)
    spend: LlmSpend = LlmSpend()

    def may_call(self) -> bool:
        """True while the charged cost is below the budget."""
        return self.spend.cost < self.budget

    def record(self, usage: LlmUsage | None, *, replayed: bool = False,
               estimate: LlmUsage | None = None) -> tuple[CostTracker, Decimal]:
        """The tracker after one call, and that call's cost (charged unless ``replayed``): from ``usage``, or when
        the provider reported none, from ``estimate`` (token totals count reported usage only)."""
        cost = call_cost(usage if usage is not None else estimate, self.rates)
        s = self.spend
        tokens_in = s.tokens_in + (usage.tokens_in if usage else 0)
        tokens_out = s.tokens_out + (usage.tokens_out if usage else 0)
        missing = s.usage_missing + (usage is None)
        if replayed:
            spend = attrs.evolve(s, calls=s.calls + 1, tokens_in=tokens_in, tokens_out=tokens_out,
                                 replayed_calls=s.replayed_calls + 1, replayed_cost=s.replayed_cost + cost,
                                 usage_missing=missing)
        else:
            spend = attrs.evolve(s, calls=s.calls + 1, tokens_in=tokens_in, tokens_out=tokens_out,
                                 cost=s.cost + cost, usage_missing=missing)
        return attrs.evolve(self, spend=spend), cost
