"""``CcxtExchange``: the ``MarketData`` and ``Trading`` ports over any ccxt exchange (Binance spot is
the reference), through ``ccxt.async_support``.

* Every ccxt failure goes through the one table in ``errors.py``, by call kind (create, cancel, read).
* Orders are known by the bot's client order id, sent as ccxt's unified ``clientOrderId``.
* Binance's ``myTrades`` carries no client order id: the adapter keeps a venue-order-id -> client-id
  map filled by every order it places or reads, and resolves a fill of an order it has not seen by
  fetching that order once (so fills of the bot's orders are never mistaken for foreign ones).
* The ccxt client (and its aiohttp session) belongs to one event loop; a call from another loop, or
  ``reconnect()``, builds a fresh client that keeps the loaded markets and the clock offset.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import ccxt.async_support as ccxt

from trader_adapters.ccxt.client import ClientSpec, build_client
from trader_adapters.ccxt.clock_sync import SAMPLE_EVERY, align_signing, sample_venue_clock
from trader_adapters.ccxt.errors import CallKind, retry_after_from_headers, translate_error
from trader_adapters.ccxt.ids import OrderIds
from trader_adapters.ccxt.marketdata import parse_candles, parse_instrument, parse_quote
from trader_adapters.ccxt.requests import create_args, describe, oco_request, stop_limit_price
from trader_adapters.ccxt.translate import TICK_SIZE, parse_balances, parse_fill, parse_order, to_millis
from trader_core.model.errors import (
    ConfigError,
    InvalidDataError,
    InvalidValueError,
    OrderNotFoundError,
    OrderRejectedError,
    OutcomeUnknownError,
    TraderError,
    UnknownSymbolError,
)
from trader_core.model.ids import ClientOrderId, Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, Quote, Timeframe
from trader_core.model.orders import Balance, ExitBracket, Fill, Order, OrderRequest, OrderType, Side
from trader_core.ports.clock import Clock

if TYPE_CHECKING:
    from trader_adapters.clock import VenueClock

__all__ = ["CcxtExchange"]

_T = TypeVar("_T")
_LOG = logging.getLogger(__name__)
DEFAULT_STOP_LIMIT_OFFSET = Decimal("0.005")  # a protective STOP_LOSS_LIMIT's limit, 0.5 % beyond its trigger
_OCO_VENUES = frozenset({"binance"})  # venues whose order lists (OCO) this adapter can place
_MARKET_RELOAD_INTERVAL = timedelta(seconds=60)  # at most one rules reload per minute after rejections
_BOOK_DEPTH = 5
_MAX_CANDLES = 1000  # Binance's klines limit


class CcxtExchange:
    """A live (or sandbox, or emulated) venue through ccxt. Build it with :meth:`create`."""

    def __init__(self, spec: ClientSpec, *, clock: Clock, venue: str, holds_protective_exits: bool) -> None:
        """Prefer :meth:`create`. No network I/O happens until the first call."""
        self._spec, self._clock, self._venue = spec, clock, venue
        self._holds_exits = holds_protective_exits
        self._redact = spec.redactor()
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._markets_source: Any = None  # the client whose loaded markets the next client inherits
        self._time_difference: object = None
        self._rules: dict[Symbol, InstrumentRules] = {}
        self._last_reload: timedelta | None = None
        self._ids = OrderIds()
        self._stop_limit_offset = DEFAULT_STOP_LIMIT_OFFSET
        self._venue_clock: VenueClock | None = None  # set: the run's clock follows the venue's (emulator)

    @classmethod
    def create(
        cls,
        exchange_id: str,
        *,
        clock: Clock,
        api_key: str | None = None,
        secret: str | None = None,
        sandbox: bool = False,
        base_url: str | None = None,
        options: dict[str, Any] | None = None,
        venue: str | None = None,
        password: str | None = None,
        transport: Any = None,
        stop_limit_offset: Decimal = DEFAULT_STOP_LIMIT_OFFSET,
        venue_clock: VenueClock | None = None,
    ) -> CcxtExchange:
        """An adapter for ccxt's ``exchange_id``.

        ``sandbox`` selects the venue's test network; ``base_url`` (e.g. a loopback emulator) replaces
        the API host after sandbox mode is set. ``options`` are merged over this adapter's defaults for
        the venue (Binance: spot markets only, no sapi calls); its keys ``enableRateLimit``, ``rateLimit``
        and ``timeout`` are ccxt constructor settings (rate limiting is on unless turned off).
        ``venue`` names the venue in fills (default: the id, plus ``-testnet`` or ``-emulator``).
        ``stop_limit_offset`` is how far beyond its trigger a protective stop's limit sits (a fraction) on a
        symbol whose ``orderTypes`` offer STOP_LOSS_LIMIT but no STOP_LOSS.
        ``venue_clock`` (the run's clock): sampled from the venue's time at connect, on a stale-timestamp
        refusal and at least every second while candles are fetched; requests are signed on it.
        Credentials are used for signing only; they never appear in messages, reprs or logs.
        """
        spec = ClientSpec(exchange_id, api_key, secret, sandbox, base_url, dict(options or {}), password, transport)
        build_client(spec)  # fail fast on an unknown id or a venue without a sandbox (no I/O)
        suffix = "-emulator" if base_url else ("-testnet" if sandbox else "")
        exchange = cls(spec, clock=clock, venue=venue or f"{exchange_id}{suffix}",
                       holds_protective_exits=exchange_id in _OCO_VENUES)
        exchange._stop_limit_offset = stop_limit_offset
        exchange._venue_clock = venue_clock
        return exchange

    def __repr__(self) -> str:
        return f"CcxtExchange({self._venue}, {self._spec!r})"

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def venue(self) -> str:
        """The venue's name, part of every fill's identity."""
        return self._venue

    @property
    def holds_protective_exits(self) -> bool:
        """True for Binance (exit brackets are OCO order lists held by the venue); False otherwise."""
        return self._holds_exits

    async def connect(self) -> None:
        """Load markets and, with credentials, the venue's clock offset. Calls do this lazily anyway."""
        await self._ready()

    async def reconnect(self) -> None:
        """Close the ccxt client and build a new one (a new HTTP session), keeping markets and clock offset."""
        await self._drop_client()
        await self._ready()

    async def close(self) -> None:
        """Release the HTTP session. Idempotent; a later call opens a new one."""
        await self._drop_client()

    async def _drop_client(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        self._remember(client)
        if self._loop is asyncio.get_running_loop():
            await client.close()
        else:
            # Its loop is gone (asyncio.run per call in tests): nothing left to await, just let it go.
            client.session = client.tcp_connector = None

    def _remember(self, client: Any) -> None:
        if client.markets:
            self._markets_source = client
        self._time_difference = client.options.get("timeDifference", self._time_difference)

    async def _ready(self) -> Any:
        """The client for the running loop, with markets (and rules) loaded."""
        loop = asyncio.get_running_loop()
        if self._client is not None and self._loop is not loop:
            await self._drop_client()
        if self._client is None:
            client = build_client(self._spec)
            if self._markets_source is not None:
                client.set_markets_from_exchange(self._markets_source)
            if self._time_difference is not None:
                client.options["timeDifference"] = self._time_difference
            self._client, self._loop = client, loop
        client = self._client
        if not client.markets:
            await self._guard(CallKind.READ, f"load {self._venue} markets", client, lambda c: c.load_markets())
            self._index_markets(client)
            if self._venue_clock is not None:
                clock = self._venue_clock
                samples = 2 if clock.age() is None else 1
                await self._guard(CallKind.READ, f"follow {self._venue} clock", client,
                                  lambda c: sample_venue_clock(c, clock, samples))
            elif self._spec.has_credentials and client.has.get("fetchTime"):
                await self._guard(
                    CallKind.READ, f"sync {self._venue} clock", client, lambda c: c.load_time_difference()
                )
        return client

    def _index_markets(self, client: Any) -> None:
        rules: dict[Symbol, InstrumentRules] = {}
        for market in client.markets.values():
            if market.get("spot") is False:
                continue
            try:
                rule = parse_instrument(market, client.precisionMode or TICK_SIZE)
            except (InvalidDataError, InvalidValueError):
                continue  # a market the core cannot express (odd symbol, missing precision) is not listed
            rules[rule.symbol] = rule
        self._rules = rules

    async def _reload_markets_after_rejection(self, client: Any) -> None:
        """The venue refused an order on its rules: reload them (at most once a minute) so the next order
        is checked against fresh ones. A failure to reload only leaves the old rules in place."""
        now = self._clock.monotonic()
        if self._last_reload is not None and now - self._last_reload < _MARKET_RELOAD_INTERVAL:
            return
        self._last_reload = now
        try:
            await client.load_markets(True)
        except (ccxt.BaseError, OSError):
            return
        self._index_markets(client)

    def _rules_for(self, symbol: Symbol) -> InstrumentRules:
        rules = self._rules.get(symbol)
        if rules is None:
            raise UnknownSymbolError(f"{self._venue} does not list {symbol}")
        return rules

    # -- the one place ccxt is called ------------------------------------------------------------

    async def _guard(
        self, kind: CallKind, what: str, client: Any, call: Callable[[Any], Awaitable[_T]], funding: str | None = None
    ) -> _T:
        """Run ``call(client)`` and translate any failure by the table. On a stale-timestamp refusal the
        clock offset is re-synced; a read is then retried once, a write never is."""
        if self._venue_clock is not None:
            align_signing(client, self._venue_clock)
        try:
            return await call(client)
        except Exception as exc:  # noqa: BLE001 - the one broad handler: every failure is translated
            first: Exception = exc
        resynced = isinstance(first, ccxt.InvalidNonce) and await self._resync_clock(client)
        if resynced and kind is CallKind.READ:
            try:
                return await call(client)
            except Exception as again:  # noqa: BLE001 - translated below like the first
                first = again
        if isinstance(first, TraderError):
            raise first
        retry_after = retry_after_from_headers(getattr(client, "last_response_headers", None))
        error = translate_error(first, kind, what=what, redact=self._redact, retry_after=retry_after,
                                funding_asset=funding)
        if kind is CallKind.CREATE and isinstance(error, OrderRejectedError) and isinstance(
            first, (ccxt.InvalidOrder, ccxt.BadRequest)
        ) and not isinstance(first, ccxt.BadSymbol):
            await self._reload_markets_after_rejection(client)
        raise error from first

    async def _resync_clock(self, client: Any) -> bool:
        """Re-measure the venue's clock offset after a timestamp refusal; False when that fails too."""
        try:
            if self._venue_clock is not None:
                await sample_venue_clock(client, self._venue_clock)
            else:
                await client.load_time_difference()
        except (ccxt.BaseError, OSError):
            return False
        return True

    # -- MarketData -------------------------------------------------------------------------------

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """Top of book (order book, depth 5) and last price (ticker), fetched together."""
        client = await self._ready()
        self._rules_for(symbol)
        started = self._clock.monotonic()

        async def both(c: Any) -> tuple[Any, Any]:
            return await asyncio.gather(c.fetch_order_book(str(symbol), _BOOK_DEPTH), c.fetch_ticker(str(symbol)))

        book, ticker = await self._guard(CallKind.READ, f"quote {symbol}", client, both)
        latency = self._clock.monotonic() - started
        return parse_quote(symbol, book, ticker, observed_at=self._clock.now(), latency=latency)

    async def check_timeframe(self, timeframe: Timeframe) -> None:
        """Raise ``ConfigError`` when the venue has no ``timeframe`` candles: a bot is refused at start, not left
        failing every tick."""
        self._require_timeframe(await self._ready(), timeframe)

    def _require_timeframe(self, client: Any, timeframe: Timeframe) -> None:
        if client.timeframes and timeframe.text not in client.timeframes:
            raise ConfigError(f"{self._venue} has no {timeframe} candles; it has {', '.join(client.timeframes)}")

    async def fetch_candles(
        self, symbol: Symbol, timeframe: Timeframe, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Candle, ...]:
        """Closed candles from ``fetch_ohlcv``; the bar still forming by the clock is dropped."""
        client = await self._ready()
        self._rules_for(symbol)
        self._require_timeframe(client, timeframe)
        if limit <= 0:
            return ()
        since_ms = None if since is None else to_millis(since)
        clock = self._venue_clock
        if clock is not None and (clock.age() or SAMPLE_EVERY) >= SAMPLE_EVERY:
            await self._guard(CallKind.READ, f"follow {self._venue} clock", client,
                              lambda c: sample_venue_clock(c, clock))
        fetch_limit = min(limit + 1, _MAX_CANDLES)  # one more: the newest bar may be the forming one
        rows = await self._guard(
            CallKind.READ, f"candles {symbol} {timeframe}", client,
            lambda c: c.fetch_ohlcv(str(symbol), timeframe.text, since_ms, fetch_limit),
        )
        return parse_candles(rows, symbol, timeframe, now=self._clock.now(), since=since, limit=limit)

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """The venue's rules for ``symbol`` from its loaded markets."""
        await self._ready()
        return self._rules_for(symbol)

    # -- Trading ----------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> Order:
        """Send ``request`` with its client order id; see ``requests.create_args`` for the mapping."""
        client = await self._ready()
        rules = self._rules_for(request.symbol)
        stop_limit = None
        if request.order_type is OrderType.STOP_LOSS and request.stop_price is not None:
            stop_limit = self._stop_limit(client, request.symbol, request.side, request.stop_price.value, rules)
        args = create_args(request, rules, stop_limit)
        params = {**args.params, **self._by_client_id(request.client_order_id)}
        self._ids.remember_type(request.client_order_id, request.order_type)
        funding = request.symbol.quote if request.side is Side.BUY else request.symbol.base
        raw = await self._guard(
            CallKind.CREATE, describe(request), client,
            lambda c: c.create_order(args.symbol, args.type, args.side, args.amount, args.price, params),
            funding=str(funding),
        )
        return self._acknowledged(raw, request.client_order_id, describe(request))

    async def place_exit_bracket(self, bracket: ExitBracket) -> tuple[Order, Order]:
        """Place the stop and the target as one Binance OCO order list (``orderList/oco``)."""
        what = f"place {bracket.symbol} exit bracket {bracket.stop_client_order_id}/{bracket.target_client_order_id}"
        if not self._holds_exits:
            raise OrderRejectedError(f"{what}: rejected: {self._venue} cannot hold protective exits")
        client = await self._ready()
        rules = self._rules_for(bracket.symbol)
        market = client.market(str(bracket.symbol))
        stop_limit = self._stop_limit(client, bracket.symbol, bracket.side, bracket.stop_price.value, rules)
        body = oco_request(bracket, market["id"], rules, stop_limit)
        self._ids.remember_type(bracket.stop_client_order_id, OrderType.STOP_LOSS)
        self._ids.remember_type(bracket.target_client_order_id, OrderType.TAKE_PROFIT)
        funding = bracket.symbol.base if bracket.side is Side.SELL else bracket.symbol.quote
        raw = await self._guard(
            CallKind.CREATE, what, client, lambda c: c.private_post_orderlist_oco(dict(body)), funding=str(funding)
        )
        try:
            legs = {}
            for report in raw.get("orderReports") or []:
                order = self._order(client.parse_order(report, market), None)
                legs[order.client_order_id] = order
            return legs[bracket.stop_client_order_id], legs[bracket.target_client_order_id]
        except (InvalidDataError, InvalidValueError, KeyError, TypeError, AttributeError) as exc:
            raise OutcomeUnknownError(f"{what}: accepted, but the answer is unreadable: {exc}") from exc

    async def cancel_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """Cancel by client order id. ``OrderNotFoundError`` may follow a cancel that did happen."""
        client = await self._ready()
        self._rules_for(symbol)
        what = f"cancel {symbol} {client_order_id}"
        raw = await self._guard(
            CallKind.CANCEL, what, client,
            lambda c: c.cancel_order(self._ids.venue_id(client_order_id), str(symbol),
                                     self._by_client_id(client_order_id)),
        )
        info = raw.get("info") or {}
        # Cancelling a leg of an order list cancels the list; the answer then describes the list.
        for report in info.get("orderReports") or []:
            if str(report.get("clientOrderId")) == str(client_order_id):
                raw = client.parse_order(report, client.market(str(symbol)))
        return self._acknowledged(raw, client_order_id, what)

    async def fetch_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """The order's current state, by client order id."""
        client = await self._ready()
        self._rules_for(symbol)
        raw = await self._guard(
            CallKind.READ, f"fetch order {symbol} {client_order_id}", client,
            lambda c: c.fetch_order(self._ids.venue_id(client_order_id), str(symbol),
                                    self._by_client_id(client_order_id)),
        )
        return self._order(raw, client_order_id)

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """Every open order in ``symbol`` (the bot's and others'), oldest first."""
        client = await self._ready()
        self._rules_for(symbol)
        raws = await self._guard(
            CallKind.READ, f"open orders {symbol}", client, lambda c: c.fetch_open_orders(str(symbol))
        )
        orders = []
        for raw in raws:
            try:
                orders.append(self._order(raw, None))
            except (InvalidDataError, InvalidValueError, AttributeError, TypeError) as exc:
                if self._is_ours(raw):
                    raise
                # A foreign order the core cannot express (an OTO leg PENDING_NEW, a market TAKE_PROFIT)
                # must not hide the bot's own: it is skipped and reported.
                _LOG.warning("open orders %s: skipped a foreign order the bot cannot read: %s", symbol, exc)
        return tuple(sorted(orders, key=lambda o: (o.created_at, o.venue_order_id.value)))

    def _stop_limit(
        self, client: Any, symbol: Symbol, side: Side, stop: Decimal, rules: InstrumentRules
    ) -> Decimal | None:
        """A protective stop's limit price when the symbol's ``orderTypes`` lack STOP_LOSS (else None)."""
        info = (client.market(str(symbol)).get("info") or {})
        try:
            return stop_limit_price(info.get("orderTypes"), side, stop, self._stop_limit_offset, rules)
        except OrderRejectedError as exc:
            raise OrderRejectedError(f"place {symbol} stop: {exc}") from exc

    def _is_ours(self, raw: Any) -> bool:
        """Whether ``raw`` is an order this adapter placed (its client id is one we sent)."""
        info = (raw.get("info") or {}) if isinstance(raw, dict) else {}
        own = info.get("origClientOrderId") or (raw.get("clientOrderId") if isinstance(raw, dict) else None)
        return bool(own) and _valid_client_id(own) and self._ids.requested_type(ClientOrderId(str(own))) is not None

    async def fetch_fills(
        self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Fill, ...]:
        """The account's trades in ``symbol`` as fills, oldest first, each with the bot's client order id
        when the order is the bot's (resolved through the order-id map, fetching an unseen order once)."""
        client = await self._ready()
        self._rules_for(symbol)
        if limit <= 0:
            return ()
        since_ms = None if since is None else to_millis(since)
        trades = await self._guard(
            CallKind.READ, f"fills {symbol}", client, lambda c: c.fetch_my_trades(str(symbol), since_ms, limit)
        )
        for trade in trades:
            order_id = trade.get("order")
            carried = trade.get("clientOrderId") or (trade.get("info") or {}).get("clientOrderId")
            if order_id and not carried and not self._ids.knows(str(order_id)):
                await self._resolve_client_id(client, symbol, str(order_id))
        trades = [self._ids.ours_in(trade) for trade in trades]
        fills = sorted((parse_fill(t, self._ids.client_id) for t in trades), key=lambda f: (f.time, f.trade_id.value))
        if since is not None:
            fills = [fill for fill in fills if fill.time >= since]
        return tuple(fills[:limit] if since is not None else fills[-limit:])

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """Every non-zero balance of the account."""
        client = await self._ready()
        raw = await self._guard(CallKind.READ, f"{self._venue} balances", client, lambda c: c.fetch_balance())
        return parse_balances(raw)

    # -- client order id bookkeeping --------------------------------------------------------------

    async def _resolve_client_id(self, client: Any, symbol: Symbol, order_id: str) -> None:
        """Learn the client id of venue order ``order_id``. Only 'no such order' leaves it unknown (a fill
        then counts as foreign); any other failure raises, rather than mislabel the bot's own fill."""
        try:
            raw = await self._guard(
                CallKind.READ, f"fetch order {symbol} #{order_id}", client,
                lambda c: c.fetch_order(order_id, str(symbol)),
            )
        except OrderNotFoundError:
            self._ids.note(order_id, None)
            return
        self._order(raw, None)

    def _by_client_id(self, client_order_id: ClientOrderId) -> dict[str, str]:
        """ccxt's unified ``clientOrderId`` parameter, in the venue's form (see ``OrderIds.outgoing``)."""
        return {"clientOrderId": self._ids.outgoing(self._spec.exchange_id, client_order_id)}

    def _order(self, raw: Any, client_order_id: ClientOrderId | None) -> Order:
        """Parse a ccxt order, using the type we asked for when we placed it, and note its ids."""
        raw = self._ids.ours_in(raw)
        cid = raw.get("clientOrderId") if isinstance(raw, dict) else None
        info = (raw.get("info") or {}) if isinstance(raw, dict) else {}
        own = info.get("origClientOrderId") or cid
        requested = self._ids.requested_type(ClientOrderId(own)) if own and _valid_client_id(own) else None
        order = parse_order(raw, now=self._clock.now(), requested_type=requested, client_order_id=client_order_id)
        self._ids.note(order.venue_order_id.value, order.client_order_id)
        return order

    def _acknowledged(self, raw: Any, client_order_id: ClientOrderId, what: str) -> Order:
        """Parse a write's answer. The write was applied, so an unreadable answer is an unknown outcome."""
        try:
            return self._order(raw, client_order_id)
        except (InvalidDataError, InvalidValueError, AttributeError, TypeError) as exc:
            raise OutcomeUnknownError(f"{what}: applied, but the answer is unreadable: {exc}") from exc


def _valid_client_id(text: object) -> bool:
    try:
        ClientOrderId(str(text))
    except InvalidValueError:
        return False
    return True
