"""CostTracker: exact Decimal sums, the budget overshoot bound, replayed costs not charged, budget status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from trader_core.costs import BudgetState, CostTracker, LlmRates, LlmSpend, LlmUsage, budget_status, call_cost, net_pnl

rates_st = st.builds(LlmRates, st.decimals(0, 100, places=4), st.decimals(0, 100, places=4))
usage_st = st.one_of(st.none(), st.builds(LlmUsage, st.integers(0, 200_000), st.integers(0, 50_000)))
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@given(rates_st, st.lists(usage_st, max_size=40))
def test_the_spend_is_the_exact_sum_of_each_calls_cost(rates: LlmRates, usages: list[LlmUsage | None]) -> None:
    tracker = CostTracker(rates, Decimal(1_000_000))
    costs = []
    for usage in usages:
        tracker, cost = tracker.record(usage)
        costs.append(cost)
    expected = sum((u.tokens_in * rates.input_per_mtok + u.tokens_out * rates.output_per_mtok
                    for u in usages if u is not None), Decimal(0)) / 1_000_000
    assert tracker.spend.cost == sum(costs, Decimal(0)) == expected
    assert tracker.spend.calls == len(usages)
    assert tracker.spend.usage_missing == sum(u is None for u in usages)


@given(rates_st, st.decimals(0, 5, places=3), st.lists(usage_st, max_size=60))
def test_the_budget_is_never_exceeded_by_more_than_one_calls_cost(
        rates: LlmRates, budget: Decimal, usages: list[LlmUsage | None]) -> None:
    tracker = CostTracker(rates, budget)
    largest = Decimal(0)
    for usage in usages:
        if not tracker.may_call():
            break
        tracker, cost = tracker.record(usage)
        largest = max(largest, cost)
    assert tracker.spend.cost <= budget + largest


@given(rates_st, st.lists(usage_st, max_size=20))
def test_replayed_calls_are_reported_but_never_charged(rates: LlmRates, usages: list[LlmUsage | None]) -> None:
    tracker = CostTracker(rates, Decimal(1))
    for usage in usages:
        tracker, _ = tracker.record(usage, replayed=True)
    assert tracker.spend.cost == 0
    assert tracker.spend.replayed_cost == sum((call_cost(u, rates) for u in usages), Decimal(0))
    assert tracker.may_call()


def test_no_usage_costs_nothing() -> None:
    assert call_cost(None, LlmRates(Decimal(3), Decimal(15))) == 0
    assert call_cost(LlmUsage(1_000_000, 1_000_000), LlmRates(Decimal(3), Decimal(15))) == 18


def test_budget_status_ok_near_cap_and_cap_hit_with_burn_rate() -> None:
    one_hour = T0 + timedelta(hours=1)
    ok = budget_status(LlmSpend(cost=Decimal(2)), Decimal(10), T0, one_hour)
    assert (ok.state, ok.burn_rate_per_hour, ok.hours_to_cap) == (BudgetState.OK, Decimal(2), Decimal(4))
    assert budget_status(LlmSpend(cost=Decimal(8)), Decimal(10), T0, one_hour).state is BudgetState.NEAR_CAP
    hit = budget_status(LlmSpend(cost=Decimal(10)), Decimal(10), T0, one_hour)
    assert (hit.state, hit.remaining, hit.hours_to_cap) == (BudgetState.CAP_HIT, Decimal(0), Decimal(0))
    idle = budget_status(LlmSpend(), Decimal(10), T0, T0)
    assert (idle.state, idle.hours_to_cap) == (BudgetState.OK, None)
    # A first call a second after start is spread over the 5-minute floor, not over one second.
    early = budget_status(LlmSpend(cost=Decimal(1)), Decimal(10), T0, T0 + timedelta(seconds=1))
    assert early.burn_rate_per_hour == 12


@given(st.decimals(-1000, 1000, places=8), st.decimals(0, 100, places=8), st.decimals(0, 100, places=8))
def test_net_pnl_is_gross_minus_fees_minus_llm_cost(gross: Decimal, fees: Decimal, llm: Decimal) -> None:
    assert net_pnl(gross, fees, llm) + fees + llm == gross


@given(rates_st, st.lists(st.tuples(usage_st, st.booleans()), max_size=20))
def test_totals_survive_a_restart(rates: LlmRates, calls: list[tuple[LlmUsage | None, bool]]) -> None:
    from trader_adapters.memory import InMemoryStore
    from trader_core.costs import spend_of
    from trader_core.model import BotId, RunId
    from trader_core.model.llm import LlmCallRecord

    store = InMemoryStore(BotId("b1"))
    tracker = CostTracker(rates, Decimal(10))
    for number, (usage, replayed) in enumerate(calls):
        tracker, cost = tracker.record(usage, replayed=replayed)
        with store.unit_of_work() as uow:
            uow.llm_calls.add(LlmCallRecord(
                trace_id=f"t{number}", run_id=RunId("r1"), at=T0, model="m", cost=cost, replayed=replayed,
                tokens_in=None if usage is None else usage.tokens_in,
                tokens_out=None if usage is None else usage.tokens_out))
            uow.commit()
    with store.unit_of_work() as uow:
        restored = spend_of(uow.llm_calls.list_calls())
    assert restored == tracker.spend


@given(rates_st, usage_st, st.integers(0, 10_000_000), st.integers(0, 1_000_000))
def test_a_call_without_reported_usage_is_charged_its_estimate_and_reported_usage_wins(
        rates: LlmRates, usage: LlmUsage | None, bytes_in: int, bytes_out: int) -> None:
    from trader_core.costs import estimated_usage

    estimate = estimated_usage(bytes_in, bytes_out)
    assert 3 * estimate.tokens_in >= bytes_in > 3 * (estimate.tokens_in - 1)
    assert 3 * estimate.tokens_out >= bytes_out > 3 * (estimate.tokens_out - 1)
    tracker, cost = CostTracker(rates, Decimal(1)).record(usage, estimate=estimate)
    assert cost == call_cost(usage if usage is not None else estimate, rates)
    assert tracker.spend.tokens_in == (0 if usage is None else usage.tokens_in), "token totals are reported ones"
    assert tracker.spend.usage_missing == (usage is None)
