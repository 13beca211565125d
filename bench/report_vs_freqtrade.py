"""Our report against freqtrade's backtest of the same rules, side by side.

    python bench/report_vs_freqtrade.py FREQTRADE_RESULT.json OUR_REPORT.json

FREQTRADE_RESULT.json: freqtrade's backtest result (``backtest-result-*.json``; its ``strategy`` section, first
strategy). OUR_REPORT.json: ``trader-app report --json``. Definition differences: docs/reports.md.
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any


def _freqtrade(path: Path) -> dict[str, Decimal]:
    data: dict[str, Any] = json.loads(path.read_text())
    strategy = next(iter(data["strategy"].values())) if "strategy" in data else data
    trades = strategy.get("trades", [])
    profits = [Decimal(str(t["profit_abs"])) for t in trades]
    won = sum((p for p in profits if p > 0), Decimal(0))
    lost = sum((p for p in profits if p < 0), Decimal(0))
    return {
        "trades": Decimal(strategy.get("total_trades", len(trades))),
        "wins": Decimal(strategy.get("wins", sum(1 for p in profits if p > 0))),
        "losses": Decimal(strategy.get("losses", sum(1 for p in profits if p < 0))),
        "draws": Decimal(strategy.get("draws", sum(1 for p in profits if p == 0))),
        "profit": Decimal(str(strategy.get("profit_total_abs", sum(profits, Decimal(0))))),
        "profit factor": won / -lost if lost else Decimal(0),
        "best trade": max(profits, default=Decimal(0)),
        "worst trade": min(profits, default=Decimal(0)),
        "max drawdown closed": Decimal(str(strategy.get("max_drawdown_abs", 0))),
    }


def _ours(path: Path) -> dict[str, Decimal]:
    data: dict[str, Any] = json.loads(path.read_text())
    stats = data["stats"]
    return {
        "trades": Decimal(stats["count"]), "wins": Decimal(stats["wins"]), "losses": Decimal(stats["losses"]),
        "draws": Decimal(0), "profit": Decimal(stats["net_profit"]),
        "profit factor": Decimal(stats["profit_factor"] or 0),  # null: no losing trade (freqtrade says 0)
        "best trade": Decimal(stats["best"] or 0),  # null: no trade (freqtrade says 0)
        "worst trade": Decimal(stats["worst"] or 0), "max drawdown closed": Decimal(data["closed_drawdown"]["amount"]),
    }


def main(argv: list[str]) -> int:
    """Print the figures of both files side by side."""
    if len(argv) != 2:
        print("usage: report_vs_freqtrade.py FREQTRADE_RESULT.json OUR_REPORT.json", file=sys.stderr)
        return 2
    try:
        theirs, ours = _freqtrade(Path(argv[0])), _ours(Path(argv[1]))
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        print(f"report_vs_freqtrade: cannot read the inputs: {exc}", file=sys.stderr)
        return 2
    print(f"{'figure':<22}{'freqtrade':>18}{'trader-core':>18}{'difference':>18}")
    for name, value in ours.items():
        other = theirs[name]
        print(f"{name:<22}{other:>18.4f}{value:>18.4f}{value - other:>18.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
