"""Tool requests: rate-limited per tool, de-duplicated within the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from trader_adapters.llm.tools import ToolThrottle

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BOOK = ("order_book", '{"symbol": "BTC/USDT"}')


def test_a_repeated_request_is_answered_from_the_earlier_result_within_the_window() -> None:
    throttle = ToolThrottle(window=timedelta(seconds=60), max_per_window=3)
    assert throttle.admit([BOOK, BOOK], T0).run == (BOOK,)
    throttle.remember(BOOK, "bids...", T0)
    again = throttle.admit([BOOK], T0 + timedelta(seconds=30))
    assert (again.run, again.cached) == ((), ((BOOK, "bids..."),))
    assert throttle.admit([BOOK], T0 + timedelta(seconds=61)).run == (BOOK,)


def test_each_tool_runs_at_most_the_limit_per_window() -> None:
    throttle = ToolThrottle(window=timedelta(seconds=60), max_per_window=2)
    requests = [("candles", f'{{"timeframe": "{tf}"}}') for tf in ("5m", "15m", "1h")]
    first = throttle.admit(requests, T0)
    assert (len(first.run), first.rate_limited) == (2, (requests[2],))
    assert throttle.admit([requests[2]], T0 + timedelta(seconds=60)).run == (requests[2],)
