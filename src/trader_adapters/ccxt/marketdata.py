"""Pure translation of ccxt's market data into the core's values: markets into ``InstrumentRules``, order
book plus ticker into a ``Quote``, OHLCV rows into closed ``Candle``s. Malformed data raises
``InvalidDataError`` naming the symbol (and the bar's time)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from trader_adapters.ccxt.translate import (
    DECIMAL_PLACES,
    TICK_SIZE,
    CcxtDict,
    decimal_of,
    from_millis,
    non_negative,
    positive,
    symbol_of,
)
from trader_core.model.errors import InvalidDataError, InvalidValueError
from trader_core.model.ids import Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, MalformedCandlesError, Quote, Timeframe
from trader_core.model.numbers import ZERO

__all__ = ["parse_candles", "parse_instrument", "parse_quote"]


# -- markets --------------------------------------------------------------------------------------


def parse_instrument(market: CcxtDict, precision_mode: int) -> InstrumentRules:
    """A ccxt market as ``InstrumentRules``: tick from ``precision.price``, step from
    ``precision.amount`` (sizes under TICK_SIZE, decimal counts under DECIMAL_PLACES), minimum
    quantity from ``limits.amount.min`` and minimum notional from ``limits.cost.min``."""
    symbol = symbol_of(market.get("symbol"), "market")
    what = f"{symbol} market"
    precision = market.get("precision") or {}
    limits = market.get("limits") or {}
    if precision_mode == TICK_SIZE:
        tick = positive(precision.get("price"), f"{what} tick size")
        step = positive(precision.get("amount"), f"{what} step size")
    elif precision_mode == DECIMAL_PLACES:
        tick = Decimal(1).scaleb(-int(decimal_of(precision.get("price"), f"{what} price decimals")))
        step = Decimal(1).scaleb(-int(decimal_of(precision.get("amount"), f"{what} amount decimals")))
    else:
        raise InvalidDataError(f"{what}: precision mode {precision_mode} (significant digits) is not supported")
    min_quantity = (limits.get("amount") or {}).get("min")
    min_notional = (limits.get("cost") or {}).get("min")
    return InstrumentRules(
        symbol=symbol,
        tick_size=tick.normalize(),
        step_size=step.normalize(),
        min_quantity=ZERO if min_quantity is None else non_negative(min_quantity, f"{what} minimum quantity"),
        min_notional=ZERO if min_notional is None else non_negative(min_notional, f"{what} minimum notional"),
    )


# -- market data ----------------------------------------------------------------------------------


def _top(levels: object, side: str, symbol: Symbol) -> tuple[Decimal, Decimal]:
    if not isinstance(levels, (list, tuple)) or not levels:
        raise InvalidDataError(f"{symbol} order book: no {side}")
    level = levels[0]
    if not isinstance(level, (list, tuple)) or len(level) < 2:
        raise InvalidDataError(f"{symbol} order book: malformed {side} level {level!r}")
    return positive(level[0], f"{symbol} best {side}"), non_negative(level[1], f"{symbol} best {side} size")


def parse_quote(
    symbol: Symbol, book: CcxtDict, ticker: CcxtDict, *, observed_at: datetime, latency: timedelta
) -> Quote:
    """Top of book from ``fetch_order_book`` and the last price from ``fetch_ticker``. The venue's time
    is the book's timestamp, else the ticker's (Binance's depth has none), else None."""
    bid, bid_size = _top(book.get("bids"), "bid", symbol)
    ask, ask_size = _top(book.get("asks"), "ask", symbol)
    last_value = ticker.get("last") if ticker.get("last") is not None else ticker.get("close")
    last = positive(last_value, f"{symbol} last price")
    stamp = book.get("timestamp") or ticker.get("timestamp")
    try:
        return Quote(
            symbol=symbol, bid=bid, ask=ask, last=last, bid_size=bid_size, ask_size=ask_size,
            observed_at=observed_at, venue_time=None if stamp is None else from_millis(stamp, f"{symbol} quote"),
            latency=latency,
        )
    except InvalidValueError as exc:
        raise InvalidDataError(f"{symbol} quote: {exc}") from exc


def parse_candles(
    rows: Iterable[object],
    symbol: Symbol,
    timeframe: Timeframe,
    *,
    now: datetime,
    since: datetime | None = None,
    limit: int = 500,
) -> tuple[Candle, ...]:
    """ccxt OHLCV rows as closed candles, oldest first, ``open_time >= since``, at most ``limit`` (the
    first ones after ``since``, else the latest). The bar still forming at ``now`` is dropped. Malformed rows
    raise ``MalformedCandlesError`` naming them and carrying the well-formed candles, so that one bad bar does not
    stop the reader at it for good."""
    candles: dict[datetime, Candle] = {}
    problems: list[str] = []
    for row in rows:
        try:
            if not isinstance(row, (list, tuple)) or len(row) < 6:
                raise InvalidDataError(f"{symbol} {timeframe} candle: malformed row {row!r}")
            open_time = from_millis(row[0], f"{symbol} {timeframe} candle")
            where = f"{symbol} {timeframe} candle at {open_time.isoformat()}"
            if open_time + timeframe.duration > now or (since is not None and open_time < since):
                continue
            o, h, low, c = (decimal_of(value, f"{where} {name}") for value, name in zip(row[1:5], "ohlc", strict=True))
            volume = decimal_of(0 if row[5] is None else row[5], f"{where} volume")
            try:
                candles[open_time] = Candle(
                    symbol=symbol, timeframe=timeframe, open_time=open_time, open=o, high=h, low=low, close=c,
                    volume=volume,
                )
            except (InvalidDataError, InvalidValueError) as exc:
                raise InvalidDataError(f"{where}: {exc}") from exc
        except InvalidDataError as exc:
            problems.append(str(exc))
    ordered = [candles[key] for key in sorted(candles)]
    if limit <= 0:
        return ()
    usable = tuple(ordered[:limit] if since is not None else ordered[-limit:])
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise MalformedCandlesError("; ".join(problems[:3]) + more, usable)
    return usable
