"""A run's report from the store: its round trips, its fills and the prices it saw, handed to
``trader_core.analytics`` and rendered by ``trader_adapters.report``.

Prices over time (for equity marked to market and the price chart) come from the candle file when one is given
(``--candles``, or the run's own candles with ``run --report``); otherwise from the fills themselves, which every
run stores, live or replayed (docs/decisions.md, 2026-12-03)."""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from trader_adapters.report import PricePoint, TradeMark
from trader_app.summary import round_trips
from trader_core.analytics import (
    EquityPoint,
    OpenTrade,
    Report,
    RoundTrip,
    build_report,
    equity_curve,
    open_trade,
)
from trader_core.costs import spend_of
from trader_core.model import (
    Candle,
    ConfigError,
    FillRecord,
    Plan,
    PlanStatus,
    RunRecord,
    Symbol,
    Timeframe,
    TraderError,
    parse_time,
)
from trader_core.model.llm import LlmCallRecord

__all__ = ["FILL_PRICE_TOLERANCE", "ReportInputs", "check_candles", "gather", "replayed_candles"]

_DEFAULT_BALANCE = Decimal(10000)
# How far a fill's price may lie outside its candle's [low, high]: slippage, a live fill between two captures.
FILL_PRICE_TOLERANCE = Decimal("0.05")


@attrs.frozen(kw_only=True)
class ReportInputs:
    """Everything one report is computed and drawn from."""

    report: Report
    trades: tuple[RoundTrip, ...]
    equity: tuple[EquityPoint, ...]
    prices: tuple[PricePoint, ...]
    marks: tuple[TradeMark, ...]


def _trip(row: dict[str, str]) -> RoundTrip:
    return RoundTrip(symbol=row["symbol"], entry_time=datetime.fromisoformat(row["entry_time"]),
                     exit_time=datetime.fromisoformat(row["exit_time"]), entry_price=Decimal(row["entry_price"]),
                     exit_price=Decimal(row["exit_price"]), quantity=Decimal(row["quantity"]),
                     fees=Decimal(row["fees"]), net_pnl=Decimal(row["realized_pnl"]), exit_reason=row["exit_reason"])


def _open_at(plans: Sequence[Plan], fills: Sequence[FillRecord], rows: Sequence[dict[str, str]], end: datetime,
             last: Mapping[Symbol, Decimal]) -> list[OpenTrade]:
    """The round trips open at ``end``: entered by then, and still open or closed after it (a plan closed
    without an exit fill of this run is neither: nothing of its result is in the run's fills)."""
    active = {p.plan_id.value for p in plans if p.status is not PlanStatus.CLOSED}
    wanted = {row["plan_id"] for row in rows if (row["plan_id"] in active and not row["exit_time"])
              or (row["exit_time"] and datetime.fromisoformat(row["exit_time"]) > end)}
    own: dict[str, list[FillRecord]] = {}
    for record in fills:
        if record.plan_id is not None and record.plan_id.value in wanted:
            own.setdefault(record.plan_id.value, []).append(record)
    found = (open_trade(records, end, last) for records in own.values())
    return [trade for trade in found if trade is not None]


def _balance(run: RunRecord) -> Decimal:
    try:
        return Decimal(json.loads(run.config_json).get("balance") or _DEFAULT_BALANCE)
    except (ValueError, ArithmeticError, AttributeError):
        return _DEFAULT_BALANCE


def check_candles(name: str, candles: Sequence[Candle], fills: Sequence[FillRecord], *,
                  since: datetime | None = None, until: datetime | None = None) -> None:
    """Refuse (``ConfigError``) a candle file that is not the run's: every fill of the candles' symbol (in
    ``[since, until]``) must fall in a candle (``open_time <= time < close_time``) and its price within that
    candle's low and high, give or take ``FILL_PRICE_TOLERANCE``. ``candles`` ascend, one symbol."""
    if not candles:
        return
    symbol = candles[0].symbol
    opens = [c.open_time for c in candles]
    for record in fills:
        fill = record.fill
        if fill.symbol != symbol or (since is not None and fill.time < since) or (
                until is not None and fill.time > until):
            continue
        at = bisect_right(opens, fill.time) - 1
        candle = candles[at] if at >= 0 else None
        if candle is None or fill.time >= candle.close_time:
            raise ConfigError(f"{name}: no candle at the run's fill {fill.trade_id} ({fill.time.isoformat()}); "
                              f"the file covers {opens[0].isoformat()} to {candles[-1].close_time.isoformat()}: "
                              "is it the run's candle file?")
        price = fill.price.value
        if not candle.low * (1 - FILL_PRICE_TOLERANCE) <= price <= candle.high * (1 + FILL_PRICE_TOLERANCE):
            raise ConfigError(f"{name}: the run's fill {fill.trade_id} at {price} ({fill.time.isoformat()}) is "
                              f"outside its candle's low {candle.low} to high {candle.high}: is it the run's "
                              "candle file?")


def replayed_candles(run: RunRecord) -> tuple[Candle, ...]:
    """The candles a replay of the synthetic feed ran on, generated again from its stored settings (the feed is
    seeded: the same candles), so its report marks equity as ``run --report`` did; () for any other run, a CSV
    replay (its file is named with ``--candles``) or settings this cannot read."""
    from trader_adapters.feeds.synthetic import candles_per_days, generate_candles

    if run.mode != "replay":
        return ()
    try:
        config = json.loads(run.config_json)
        if config.get("data"):
            return ()
        timeframe = Timeframe(config.get("timeframe") or "1m")
        start = parse_time(str(config["start"]), "start")
        seed, days = int(config["seed"]), int(config["days"])
        symbols = [Symbol.parse(name) for name in str(config["symbols"]).split(",") if name]
    except (KeyError, TypeError, ValueError, TraderError):
        return ()
    count = candles_per_days(timeframe, days)
    candles = (c for symbol in symbols for c in generate_candles(symbol, timeframe, start, count, seed))
    return tuple(sorted(candles, key=lambda c: c.close_time))


def gather(run: RunRecord, plans: Sequence[Plan], fills: Sequence[FillRecord], candles: Sequence[Candle],
           *, since: datetime | None = None, until: datetime | None = None,
           llm_calls: Sequence[LlmCallRecord] = (), captured: Sequence[Candle] = ()) -> ReportInputs:
    """The report of ``run`` (trades exiting in ``[since, until]`` when given), net of the LLM calls' charged cost
    (calls answered from a cassette are not charged). Equity is marked at ``candles`` (a replay's own), else at the
    fills and the ``captured`` candles (a venue run's OHLCV capture). Raises ``ConfigError`` when there is nothing
    to report."""
    def within(at: datetime) -> bool:
        return (since is None or at >= since) and (until is None or at <= until)

    # Round trips and equity come from the whole run, then are cut to the range: a trade entered before ``since``
    # and closed inside it is the range's, whole, and the equity at ``since`` (what the run held then included)
    # is the range's starting balance, never a holding rebuilt from the range's fills alone.
    rows = round_trips(plans, fills, include_open=True)
    trades = [t for t in map(_trip, (row for row in rows if row["exit_time"])) if within(t.exit_time)]
    if candles:
        whole = [(c.close_time, c.symbol, c.close) for c in candles]
    else:
        whole = [(f.fill.time, f.fill.symbol, f.fill.price.value) for f in fills]
        whole += [(c.close_time, c.symbol, c.close) for c in captured]
        whole.sort(key=lambda point: point[0])
    series = [point for point in whole if within(point[0])]
    if not series:
        hint = "" if candles else "; for a replay of a CSV file, --candles FILE (that file) gives its prices"
        raise ConfigError(f"run {run.run_id.value} has nothing to report (no fills or prices in the range{hint})")
    curve = equity_curve(_balance(run), fills, [(at, {symbol: price}) for at, symbol, price in whole])
    before = [point for point in curve if since is not None and point.at < since]
    balance = before[-1].equity if before else _balance(run)
    equity = [point for point in curve if within(point.at)]
    shown = [f for f in fills if within(f.fill.time)]
    first: dict[Symbol, Decimal] = {}
    last: dict[Symbol, Decimal] = {}
    for _, symbol, price in series:
        first.setdefault(symbol, price)
        last[symbol] = price
    start = min(series[0][0], *(t.entry_time for t in trades)) if trades else series[0][0]
    end = max(series[-1][0], *(t.exit_time for t in trades)) if trades else series[-1][0]
    report = build_report(trades=trades, equity=equity, balance=balance, first_prices=first, last_prices=last,
                          start=start, end=end, llm_cost=spend_of(c for c in llm_calls if within(c.at)).cost,
                          open_trades=_open_at(plans, fills, rows, end, last))
    marks = [TradeMark(f.fill.time, f.fill.price.value, f.role.value == "entry", f"{f.role.value} {f.fill.side.value} "
                       f"{f.fill.quantity.value} @ {f.fill.price.value}") for f in shown]
    return ReportInputs(report=report, trades=tuple(trades), equity=tuple(equity),
                        prices=tuple(PricePoint(at, price) for at, _, price in series), marks=tuple(marks))
