"""VenueClock: the run's clock follows the venue's, its offset and its rate, and never goes backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.clock import VenueClock


class _Time:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _sample(clock: VenueClock, mono: _Time, venue_ms: int, rtt: float = 0.0) -> None:
    sent = clock.monotonic()
    mono.t += rtt
    clock.observe(venue_ms, sent, clock.monotonic())


def test_before_any_sample_it_is_the_wall_clock() -> None:
    clock = VenueClock(wall=_Time(1_700_000_000.5), mono=_Time(10.0))
    assert clock.now() == datetime.fromtimestamp(1_700_000_000.5, UTC)
    assert clock.time_difference_ms() == 0


def test_it_follows_an_offset_then_a_rate() -> None:
    wall, mono = _Time(1_000.0), _Time(50.0)
    clock = VenueClock(wall=wall, mono=mono)
    _sample(clock, mono, 5_000_000)  # the venue is far ahead
    mono.t += 0.5
    wall.t += 0.5
    assert clock.now_ms() == 5_000_500, "rate 1 until measured"
    _sample(clock, mono, 5_030_000)  # 30 s of venue time in 0.5 s: a 60x market clock
    assert clock.rate == 60
    mono.t += 1
    wall.t += 1
    assert clock.now_ms() == 5_090_000
    assert clock.time_difference_ms() == 1_001_500 - 5_090_000
    assert clock.monotonic() == timedelta(seconds=51.5), "durations stay in real seconds"


@given(samples=st.lists(st.tuples(st.floats(0.0, 2.0), st.integers(-5_000, 5_000)), min_size=1, max_size=20))
def test_now_never_goes_backwards(samples: list[tuple[float, int]]) -> None:
    mono = _Time(0.0)
    clock = VenueClock(wall=_Time(0.0), mono=mono)
    venue, seen = 10_000_000, 0
    for gap, jitter in samples:
        mono.t += gap
        venue += int(gap * 1000) + jitter
        _sample(clock, mono, venue, rtt=0.01)
        now = clock.now_ms()
        assert now >= seen
        seen = now


def test_a_one_off_sample_off_the_line_is_ignored_and_two_that_agree_move_the_clock() -> None:
    wall, mono = _Time(1_000.0), _Time(0.0)
    clock = VenueClock(wall=wall, mono=mono)
    for k in range(3):  # a venue at rate 1, 100 s ahead of the machine
        _sample(clock, mono, 1_100_000 + k * 1000)
        mono.t += 1
    _sample(clock, mono, 1_103_000 - 20_000)  # a glitch: 20 s back
    assert clock.now_ms() == 1_103_000, "ignored"
    mono.t += 1
    _sample(clock, mono, 1_104_000)
    assert clock.rate == 1
    mono.t += 1
    _sample(clock, mono, 1_105_000 + 30_000)  # the venue's clock moved 30 s ahead, and stays there
    assert clock.now_ms() == 1_105_000
    mono.t += 1
    _sample(clock, mono, 1_106_000 + 30_000)
    assert clock.now_ms() == 1_136_000, "two samples that agree: followed"
    assert clock.rate == 1
