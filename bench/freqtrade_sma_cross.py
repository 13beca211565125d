"""freqtrade's view of the rules ``trader-app run`` replays with its SMA strategy (used by bench/peer_freqtrade.py).

Copied into a freqtrade user folder and loaded by freqtrade only (never imported by the project). Long when the
fast SMA of closes crosses above the slow one, exit when it crosses below; stop 2 % and target 3 % from the
entry price (both price levels, as ours are). The SMA lengths, stop and target come from the config keys
``bench_fast``, ``bench_slow``, ``bench_stop`` and ``bench_target`` that the bench writes (fractions, e.g. 0.02).
"""

from __future__ import annotations

from typing import Any, ClassVar

from freqtrade.strategy import IStrategy  # type: ignore[import-not-found]
from pandas import DataFrame  # type: ignore[import-untyped]


class BenchSmaCross(IStrategy):  # type: ignore[misc]
    """SMA cross, one position, decisions on closed candles, fills at the next candle's open."""

    INTERFACE_VERSION = 3
    timeframe = "1m"
    minimal_roi: ClassVar[dict[str, float]] = {"0": 0.03}
    stoploss = -0.02
    startup_candle_count = 30
    process_only_new_candles = True

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.fast = int(config.get("bench_fast", 10))
        self.slow = int(config.get("bench_slow", 30))
        self.startup_candle_count = self.slow
        self.stoploss = -float(config.get("bench_stop", 0.02))
        # Our target is a price level (entry + 3 %); freqtrade's ROI is a return net of both fees. The ROI that
        # puts freqtrade's exit at that same price level:
        fee = float(config.get("fee", 0.001))
        self.minimal_roi = {"0": (1 + float(config.get("bench_target", 0.03))) * (1 - fee) / (1 + fee) - 1}

    def populate_indicators(self, frame: DataFrame, metadata: dict[str, Any]) -> DataFrame:  # noqa: ARG002
        """The two averages and their difference."""
        frame["spread"] = frame["close"].rolling(self.fast).mean() - frame["close"].rolling(self.slow).mean()
        return frame

    def populate_entry_trend(self, frame: DataFrame, metadata: dict[str, Any]) -> DataFrame:  # noqa: ARG002
        """Enter on the candle where the spread turns positive."""
        frame.loc[(frame["spread"].shift(1) <= 0) & (frame["spread"] > 0), "enter_long"] = 1
        return frame

    def populate_exit_trend(self, frame: DataFrame, metadata: dict[str, Any]) -> DataFrame:  # noqa: ARG002
        """Exit on the candle where the spread turns negative."""
        frame.loc[(frame["spread"].shift(1) >= 0) & (frame["spread"] < 0), "exit_long"] = 1
        return frame
