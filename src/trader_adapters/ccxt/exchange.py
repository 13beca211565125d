"""``CcxtExchange``: the ``MarketData`` and ``Trading`` ports over any ccxt exchange (Binance spot is
the reference), through ``ccxt.async_support``.

* Every ccxt failure goes through the one table in ``errors.py``, by call kind (create, cancel, read);
  the client, markets and guarded calls live in ``session.py``.
* Orders are known by the bot's client order id, sent as ccxt's unified ``clientOrderId`` in the venue's
  form; what differs per venue in the request is shaped in ``shaping.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from trader_adapters.ccxt.client import ClientSpec, build_client
from trader_adapters.ccxt.clock_sync import SAMPLE_EVERY, sample_venue_clock
from trader_adapters.ccxt.errors import CallKind
from trader_adapters.ccxt.marketdata import parse_candles, parse_quote
from trader_adapters.ccxt.requests import create_args, describe, oco_request, stop_limit_price
from trader_adapters.ccxt.session import DEFAULT_STOP_LIMIT_OFFSET, CcxtSession
from trader_adapters.ccxt.shaping import (
    CANCEL_BY_VENUE_ID,
    LOOKUP_BY_ONE_ID,
    completed_ack,
    needs_book,
    refused_on_arrival,
    shape_create,
)
from trader_adapters.ccxt.translate import (
    answer_fills,
    carried_client_id,
    parse_balances,
    parse_fill,
    positive,
    to_millis,
)
from trader_adapters.ccxt.venues import VENUES, Protection
from trader_core.model.errors import (
    ConfigError,
    InvalidDataError,
    InvalidValueError,
    OrderRejectedError,
    OutcomeUnknownError,
)
from trader_core.model.ids import ClientOrderId, Symbol
from trader_core.model.instrument import InstrumentRules
from trader_core.model.market import Candle, Quote, Timeframe
from trader_core.model.orders import Balance, ExitBracket, Fill, Order, OrderRequest, OrderType, Side
from trader_core.model.records import TrackedOrder
from trader_core.ports.clock import Clock

if TYPE_CHECKING:
    from trader_adapters.clock import VenueClock

__all__ = ["CcxtExchange", "KeyPermissions"]

_LOG = logging.getLogger(__name__)
_OCO_VENUES = frozenset({"binance"})  # venues whose order lists (OCO) this adapter can place
_BOOK_DEPTH = 5
_MAX_CANDLES = 1000  # Binance's klines limit
_OKX_FILL_PAGE = 100  # OKX's fills-history page (its default and its most)
_OKX_FILL_PAGES = 100  # pages followed back from the newest before the sync gives up (10,000 fills)
# Beyond a venue's placement expiry, before a not-found answer proves a placement absent. Binance's expiry is
# checked just before a request is forwarded to its matching engine, and its API waits up to 10 s for the
# matching engine to answer (-1007 past that, "execution status unknown"): 10 s for a forwarded request to be
# executed, and 5 s for the lag before a lookup shows an order and for our clock's error against the venue's.
ACCEPTANCE_MARGIN = timedelta(seconds=15)
# How old a quote's best bid and ask may be to bound a market order on a limit-only venue (Gemini) instead of a
# ticker read of its own: the tick's quote, read moments before, rather than a public read that waits its turn
# behind the tick's market data (half a second after each on Gemini) while an exit has already withdrawn its stop.
TOUCH_REUSE = timedelta(seconds=3)


@attrs.frozen
class KeyPermissions:
    """What an API key may do at its venue: place and cancel spot orders (``trade``), withdraw funds."""

    trade: bool
    withdraw: bool


class CcxtExchange(CcxtSession):
    """A live (or sandbox, or emulated) venue through ccxt. Build it with :meth:`create`."""

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

    @property
    def holds_protective_stops(self) -> bool:
        """True where the venue table says the venue holds a stop (OCO or stop); ccxt ids outside the table:
        as they hold brackets."""
        entry = VENUES.get(self._spec.exchange_id)
        return self._holds_exits if entry is None else entry.protection is not Protection.NONE

    @property
    def holds_protective_exits(self) -> bool:
        """True for Binance (exit brackets are OCO order lists held by the venue); False otherwise."""
        return self._holds_exits

    @property
    def acceptance_window(self) -> timedelta | None:
        """Binance: the ``recvWindow`` every signed request carries (real milliseconds, an emulator's too: its
        check scales by its market clock's speed) plus ``ACCEPTANCE_MARGIN``. None for other venues."""
        entry = VENUES.get(self._spec.exchange_id)
        if entry is None or entry.placement_expiry is None:
            return None
        recv_window_ms = int(self._spec.ccxt_options().get("recvWindow", 10_000))
        return timedelta(milliseconds=recv_window_ms) + ACCEPTANCE_MARGIN


    # -- MarketData -------------------------------------------------------------------------------

    async def fetch_quote(self, symbol: Symbol) -> Quote:
        """Top of book (order book, depth 5) and last price (ticker), fetched together."""
        client = await self._ready_for(symbol)
        self._rules_for(symbol)
        started = self._clock.monotonic()

        async def both(c: Any) -> tuple[Any, Any]:
            return await asyncio.gather(c.fetch_order_book(str(symbol), _BOOK_DEPTH), c.fetch_ticker(str(symbol)))

        book, ticker = await self._guard(CallKind.READ, f"quote {symbol}", client, both)
        latency = self._clock.monotonic() - started
        quote = parse_quote(symbol, book, ticker, observed_at=self._clock.now(), latency=latency)
        self._touches[symbol] = (self._clock.monotonic(), quote.bid, quote.ask)
        return quote

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
        client = await self._ready_for(symbol)
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
        return parse_candles(rows, symbol, timeframe, now=self._venue_now(client), since=since, limit=limit)

    def _venue_now(self, client: Any) -> datetime:
        """The venue's time, by which a bar is still forming: the run's clock when it follows the venue's
        (``--sandbox-url``), else this host's less ccxt's measured ``timeDifference`` (how far the host runs ahead;
        measured after the answer, so it errs towards an earlier venue time: a bar is never taken as closed early).
        A host running two seconds fast took the bar closing in two seconds for a closed one."""
        now = self._clock.now()
        ahead = client.options.get("timeDifference") if self._venue_clock is None else None
        if isinstance(ahead, (int, float)) and not isinstance(ahead, bool) and ahead:
            now -= timedelta(milliseconds=ahead)
        return now

    async def fetch_instrument(self, symbol: Symbol) -> InstrumentRules:
        """The venue's rules for ``symbol`` from its loaded markets."""
        await self._ready_for(symbol)
        return self._rules_for(symbol)

    # -- Trading ----------------------------------------------------------------------------------

    async def place_order(self, request: OrderRequest) -> Order:
        """Send ``request`` with its client order id; see ``requests.create_args`` for the mapping. A stop on a
        venue the table says holds none is refused unsent (OKX: ccxt makes it an algo order, which OKX's order
        endpoints do not know by client id, so it could be neither found nor cancelled)."""
        entry = VENUES.get(self._spec.exchange_id)
        if request.order_type is OrderType.STOP_LOSS and entry is not None and entry.protection is Protection.NONE:
            raise OrderRejectedError(f"{describe(request)}: rejected: {self._venue} cannot hold a stop the bot could "
                                     "find and cancel by its client order id")
        client = await self._ready_for(request.symbol)
        rules = self._rules_for(request.symbol)
        stop_limit = None
        if request.order_type is OrderType.STOP_LOSS and request.stop_price is not None:
            stop_limit = self._stop_limit(client, request.symbol, request.side, request.stop_price.value, rules)
        exchange_id = self._spec.exchange_id
        touch = await self._touch(client, request.symbol) if needs_book(exchange_id, request) else None
        args = shape_create(exchange_id, request, create_args(request, rules, stop_limit), rules, touch=touch,
                            stop_limit_offset=self._stop_limit_offset)
        params = {key: value for key, value in args.params.items() if key != "clientOrderId"}
        params.update(self._by_client_id(request.client_order_id, lookup=False))
        self._ids.remember_type(request.client_order_id, request.order_type)
        funding = request.symbol.quote if request.side is Side.BUY else request.symbol.base
        raw = await self._guard(
            CallKind.CREATE, describe(request), client,
            lambda c: c.create_order(args.symbol, args.type, args.side, args.amount, args.price, params),
            funding=str(funding),
        )
        order = self._acknowledged(completed_ack(raw, request, args), request.client_order_id, describe(request))
        refusal = refused_on_arrival(exchange_id, raw)
        if refusal is not None:
            raise OrderRejectedError(f"{describe(request)}: rejected: {refusal}")
        return attrs.evolve(order, fills=answer_fills(raw, order))

    async def _touch(self, client: Any, symbol: Symbol) -> tuple[Decimal, Decimal]:
        """Best bid and ask (to price a market order on a venue that takes limits only): the last quote's when it
        is at most ``TOUCH_REUSE`` old, else the ticker's."""
        seen = self._touches.get(symbol)
        if seen is not None and self._clock.monotonic() - seen[0] <= TOUCH_REUSE:
            return seen[1], seen[2]
        ticker = await self._guard(CallKind.READ, f"ticker {symbol}", client, lambda c: c.fetch_ticker(str(symbol)))
        try:
            return positive(ticker.get("bid"), f"{symbol} bid"), positive(ticker.get("ask"), f"{symbol} ask")
        except (InvalidDataError, InvalidValueError, AttributeError) as exc:
            raise OrderRejectedError(f"place {symbol}: rejected: no price to bound a market order: {exc}") from exc

    async def place_exit_bracket(self, bracket: ExitBracket) -> tuple[Order, Order]:
        """Place the stop and the target as one Binance OCO order list (``orderList/oco``)."""
        what = f"place {bracket.symbol} exit bracket {bracket.stop_client_order_id}/{bracket.target_client_order_id}"
        if not self._holds_exits:
            raise OrderRejectedError(f"{what}: rejected: {self._venue} cannot hold protective exits")
        client = await self._ready_for(bracket.symbol)
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
        client = await self._ready_for(symbol)
        self._rules_for(symbol)
        what = f"cancel {symbol} {client_order_id}"
        venue_id = self._ids.venue_id(client_order_id)
        if venue_id is None and self._spec.exchange_id in CANCEL_BY_VENUE_ID:
            # Gemini cancels by its own order id only: find the order by client id first (after a restart).
            venue_id = (await self.fetch_order(symbol, client_order_id)).venue_order_id.value
        raw = await self._guard(
            CallKind.CANCEL, what, client,
            lambda c: c.cancel_order(venue_id, str(symbol), self._by_client_id(client_order_id)),
        )
        if isinstance(raw, dict) and raw.get("amount") is None and not (raw.get("info") or {}).get("orderReports"):
            # OKX and Bybit acknowledge a cancel with ids only, Kraken with a count: the final state is read back.
            return await self.fetch_order(symbol, client_order_id)
        info = raw.get("info") or {}
        # Cancelling a leg of an order list cancels the list; the answer then describes the list.
        for report in info.get("orderReports") or []:
            if str(report.get("clientOrderId")) == str(client_order_id):
                raw = client.parse_order(report, client.market(str(symbol)))
        return self._acknowledged(raw, client_order_id, what)

    async def fetch_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """The order's current state, by client order id."""
        client = await self._ready_for(symbol)
        self._rules_for(symbol)
        venue_id = self._ids.venue_id(client_order_id)
        if self._spec.exchange_id in LOOKUP_BY_ONE_ID:
            # Gemini takes its order id or the client id, never both ("order_id cannot be used in combination
            # with client_order_id"), and ccxt's fetch_order always sends order_id, null when unknown (after a
            # restart, or for a placement in doubt): the request is made here with exactly one of them.
            request = {"order_id": venue_id} if venue_id is not None else self._by_client_id(client_order_id)

            async def by_one_id(c: Any) -> Any:
                return c.parse_order(await c.privatePostV1OrderStatus(request))

            raw = await self._guard(CallKind.READ, f"fetch order {symbol} {client_order_id}", client, by_one_id)
            return self._order(raw, client_order_id)
        raw = await self._guard(
            CallKind.READ, f"fetch order {symbol} {client_order_id}", client,
            lambda c: c.fetch_order(venue_id, str(symbol), self._by_client_id(client_order_id)),
        )
        return self._order(raw, client_order_id)

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """Every open order in ``symbol`` (the bot's and others'), oldest first."""
        client = await self._ready_for(symbol)
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

    async def fetch_fills(
        self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500
    ) -> tuple[Fill, ...]:
        """The account's trades in ``symbol`` as fills, oldest first, each with the bot's client order id
        when the order is the bot's (resolved through the order-id map, fetching an unseen order once)."""
        client = await self._ready_for(symbol)
        self._rules_for(symbol)
        if limit <= 0:
            return ()
        since_ms = None if since is None else to_millis(since)
        trades = await self._guard(
            CallKind.READ, f"fills {symbol}", client, lambda c: self._my_trades(c, symbol, since_ms, limit)
        )
        for trade in trades:
            order_id = trade.get("order")
            carried = carried_client_id(trade)
            if order_id and not carried and not self._ids.knows(str(order_id)):
                await self._resolve_client_id(client, symbol, str(order_id))
        trades = [self._ids.ours_in(trade) for trade in trades]
        fills = sorted((parse_fill(t, self._ids.client_id) for t in trades), key=lambda f: (f.time, f.trade_id.value))
        if since is not None:
            fills = [fill for fill in fills if fill.time >= since]
        return tuple(fills[:limit] if since is not None else fills[-limit:])

    async def _my_trades(self, client: Any, symbol: Symbol, since_ms: int | None, limit: int) -> list[Any]:
        """ccxt's ``fetch_my_trades``. OKX answers a ``begin`` with the newest 100 fills after it, newest first (ccxt
        sends no limit with a ``since``): a full page is followed back by OKX's ``after`` (its ``billId`` cursor)
        until a page is short, so every fill since ``since_ms`` comes back, not only the newest 100."""
        if self._spec.exchange_id != "okx" or since_ms is None:
            return list(await client.fetch_my_trades(str(symbol), since_ms, limit))
        trades: list[Any] = []
        params: dict[str, Any] = {}
        for _ in range(_OKX_FILL_PAGES):
            page = list(await client.fetch_my_trades(str(symbol), since_ms, None, params))
            trades.extend(page)
            if len(page) < _OKX_FILL_PAGE:
                return trades
            try:
                oldest = min(int((trade.get("info") or {})["billId"]) for trade in page)
            except (KeyError, TypeError, ValueError) as exc:
                raise InvalidDataError(f"fills {symbol}: a full OKX page without a readable billId: {exc}") from exc
            params = {"after": str(oldest)}
        raise InvalidDataError(f"fills {symbol}: more than {_OKX_FILL_PAGES * _OKX_FILL_PAGE} OKX fills since "
                               f"{since_ms} ms; none is booked rather than only the newest")

    def remember_orders(self, orders: Iterable[TrackedOrder]) -> None:
        """``OrderIdMemory``: the bot's stored orders, noted as if this process had placed them (venue id, the
        type asked for, the client id in the venue's form), so their fills and orders need no lookup."""
        for order in orders:
            cid = order.client_order_id
            self._ids.remember_type(cid, order.request.order_type)
            self._ids.outgoing(self._spec.exchange_id, cid)
            if order.venue_order_id is not None:
                self._ids.note(order.venue_order_id.value, cid)

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """Every non-zero balance of the account."""
        client = await self._ready()
        raw = await self._guard(CallKind.READ, f"{self._venue} balances", client, lambda c: c.fetch_balance())
        return parse_balances(raw)

    async def key_permissions(self) -> KeyPermissions | None:
        """What the API key may do, as the venue says it (Binance: ``enableSpotAndMarginTrading`` and
        ``enableWithdrawals`` of ``GET /sapi/v1/account/apiRestrictions``; Gemini: the Trader and Fund Manager roles
        of ``POST /v1/roles``; OKX: ``trade`` and ``withdraw`` in ``perm`` of ``GET /api/v5/account/config``). None
        where the venue cannot be asked: another venue, or Binance's test network, which serves no ``/sapi``.
        Raises as any read does; an answer without the flags is ``InvalidDataError``."""
        client = await self._ready()
        exchange_id = self._spec.exchange_id
        trade: object
        withdraw: object
        if exchange_id == "binance" and "sapi" in (client.urls.get("api") or {}):
            raw = await self._guard(CallKind.READ, "binance key permissions", client,
                                    lambda c: c.sapi_get_account_apirestrictions())
            found = raw if isinstance(raw, dict) else {}
            trade, withdraw = found.get("enableSpotAndMarginTrading"), found.get("enableWithdrawals")
        elif exchange_id == "gemini":
            raw = await self._guard(CallKind.READ, "gemini key roles", client, lambda c: c.private_post_v1_roles())
            found = raw if isinstance(raw, dict) else {}
            trade, withdraw = found.get("isTrader"), found.get("isFundManager")
        elif exchange_id == "okx":
            raw = await self._guard(CallKind.READ, "okx key permissions", client,
                                    lambda c: c.private_get_account_config())
            rows = raw.get("data") if isinstance(raw, dict) else None
            perm = rows[0].get("perm") if isinstance(rows, list) and rows and isinstance(rows[0], dict) else None
            granted = perm.split(",") if isinstance(perm, str) else None
            trade, withdraw = (None, None) if granted is None else ("trade" in granted, "withdraw" in granted)
        else:
            return None
        if not (isinstance(trade, bool) and isinstance(withdraw, bool)):
            raise InvalidDataError(f"{self._venue} answered the key's permissions without its trade and withdrawal "
                                   "flags")
        return KeyPermissions(trade=trade, withdraw=withdraw)
