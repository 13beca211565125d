"""The emulator's Gemini request rates (``GroupRate``), as Gemini documents them: a second's worth at once, five
more queued until the rate allows, any other refused until the rate falls back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trader_sandbox.faults import GroupRate


def test_a_burst_gets_a_seconds_worth_at_once_five_queued_and_the_rest_refused() -> None:
    private = GroupRate(600)  # 10 a second
    answers = [private.charge(100.0) for _ in range(20)]
    assert answers[:10] == [(True, 0.0)] * 10
    assert [ok for ok, _ in answers[10:15]] == [True] * 5
    assert [round(wait, 6) for _, wait in answers[10:15]] == [0.1, 0.2, 0.3, 0.4, 0.5], "each when its token comes"
    assert [ok for ok, _ in answers[15:]] == [False] * 5
    assert private.charge(100.05)[0] is False, "still refused while the queue is full"
    assert private.charge(101.0) == (True, 0.0), "a second later the rate allows it again"


@settings(max_examples=100)
@given(per_minute=st.sampled_from([120, 600]), gaps=st.lists(st.floats(0, 2), min_size=1, max_size=200))
def test_what_is_answered_never_runs_faster_than_the_rate_allows(per_minute: int, gaps: list[float]) -> None:
    """In any stretch of time, the requests answered within it are at most a second's worth plus the rate times its
    length (what Gemini processes), whatever the pattern of arrivals: an idle spell saves up no more than a
    second's worth."""
    group = GroupRate(per_minute)
    rate, now, answered_at = per_minute / 60, 0.0, []
    for gap in gaps:
        now += gap
        allowed, wait = group.charge(now)
        if allowed:
            answered_at.append(now + wait)
    answered_at.sort()
    for first, start in enumerate(answered_at):
        for last in range(first, len(answered_at)):
            assert last - first + 1 <= rate + rate * (answered_at[last] - start) + 1e-6


@pytest.mark.parametrize("per_minute", [120, 600])
def test_requests_at_the_rate_are_never_refused_nor_delayed(per_minute: int) -> None:
    group = GroupRate(per_minute)
    step = 60 / per_minute
    assert all(group.charge(n * step) == (True, 0.0) for n in range(500))
