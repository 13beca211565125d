"""The ccxt session under ``CcxtExchange``: one ccxt client per event loop, loaded markets and rules, the
one guarded place ccxt is called (every failure translated by the table in ``errors.py``), and the bookkeeping
that maps venue order ids and client ids in the venue's form back to the bot's.

* The ccxt client (and its aiohttp session) belongs to one event loop; a call from another loop, or
  ``reconnect()``, builds a fresh client that keeps the loaded markets and the clock offset.
* Binance's ``myTrades`` carries no client order id: the venue-order-id -> client-id map is filled by every
  order placed or read, and a fill of an order not seen yet is resolved by fetching that order once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import ccxt.async_support as ccxt

from trader_adapters.ccxt.client import DETAILS_ON_DEMAND, ClientSpec, build_client
from trader_adapters.ccxt.clock_sync import align_signing, sample_venue_clock
from trader_adapters.ccxt.errors import CallKind, retry_after_from_headers, translate_error
from trader_adapters.ccxt.ids import OrderIds
from trader_adapters.ccxt.marketdata import parse_instrument
from trader_adapters.ccxt.shaping import client_id_params
from trader_adapters.ccxt.translate import TICK_SIZE, parse_order
from trader_core.model.errors import (
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
from trader_core.model.orders import Order
from trader_core.ports.clock import Clock

if TYPE_CHECKING:
    from trader_adapters.clock import VenueClock

__all__ = ["DEFAULT_STOP_LIMIT_OFFSET", "CcxtSession"]

_T = TypeVar("_T")
DEFAULT_STOP_LIMIT_OFFSET = Decimal("0.005")  # a protective STOP_LOSS_LIMIT's limit, 0.5 % beyond its trigger
_MARKET_RELOAD_INTERVAL = timedelta(seconds=60)  # at most one rules reload per minute after rejections


class CcxtSession:
    """The client, markets, guarded calls and order-id bookkeeping shared by the adapter's port methods."""

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
        # The best bid and ask of each symbol's last quote, with the monotonic time it was read (``_touch``).
        self._touches: dict[Symbol, tuple[timedelta, Decimal, Decimal]] = {}


    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def venue(self) -> str:
        """The venue's name, part of every fill's identity."""
        return self._venue

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

    async def _ready_for(self, symbol: Symbol) -> Any:
        """``_ready``, and ``symbol``'s rules read first on a venue whose markets carry none (``DETAILS_ON_DEMAND``):
        once per symbol, and only for the symbols the bot uses."""
        client = await self._ready()
        if symbol not in self._rules and self._spec.exchange_id in DETAILS_ON_DEMAND:
            await self._read_details(client, symbol)
        return client

    async def _read_details(self, client: Any, symbol: Symbol) -> None:
        """Read ``symbol``'s details and put them in the client's markets (a symbol the venue does not list is left
        for ``_rules_for`` to refuse)."""
        market = client.markets.get(str(symbol))
        if market is None:
            return
        method = DETAILS_ON_DEMAND[self._spec.exchange_id]
        raw = await self._guard(CallKind.READ, f"{symbol} details", client,
                                lambda c: getattr(c, method)({"symbol": market["id"]}))
        if isinstance(raw, dict) and raw.get("product_type") == "spot":
            # Gemini documents contract fields on a spot symbol too (``contract_price_currency``); ccxt reads that
            # one as a settlement currency and makes the symbol a swap (BTC/USD:USD), which would stop start-up.
            raw = {key: value for key, value in raw.items() if not key.startswith("contract_")}
        detailed = client.parse_market(raw)
        if not detailed or detailed.get("symbol") != str(symbol):
            raise InvalidDataError(f"{self._venue} details of {symbol}: not the symbol asked for")
        client.set_markets([m for name, m in client.markets.items() if name != str(symbol)] + [detailed])
        self._remember(client)
        self._index_markets(client)

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
        if self._spec.exchange_id in DETAILS_ON_DEMAND:  # the rules of the symbols in use, read again
            for symbol in list(self._rules):
                try:
                    await self._read_details(client, symbol)
                except TraderError:
                    return  # the old rules stay
            return
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

    def _is_ours(self, raw: Any) -> bool:
        """Whether ``raw`` is an order this adapter placed (its client id is one we sent)."""
        info = (raw.get("info") or {}) if isinstance(raw, dict) else {}
        own = info.get("origClientOrderId") or (raw.get("clientOrderId") if isinstance(raw, dict) else None)
        return bool(own) and _valid_client_id(own) and self._ids.requested_type(ClientOrderId(str(own))) is not None


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

    def _by_client_id(self, client_order_id: ClientOrderId, *, lookup: bool = True) -> dict[str, Any]:
        """The parameters naming ``client_order_id`` in the venue's form (see ``OrderIds.outgoing``): ccxt's
        unified ``clientOrderId`` on most venues (``shaping.client_id_params``)."""
        form = self._ids.outgoing(self._spec.exchange_id, client_order_id)
        return client_id_params(self._spec.exchange_id, form, lookup=lookup)

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
