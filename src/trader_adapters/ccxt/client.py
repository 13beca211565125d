"""Building the ccxt client: options per venue, sandbox mode, a base URL override and a log filter.

Kept apart from the adapter so that ``reconnect()`` can build an identical fresh client (a new
aiohttp session) from the same :class:`ClientSpec`, and so the recipe for pointing ccxt at a loopback
emulator lives in one place.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs
import ccxt.async_support as ccxt
from ccxt.async_support.base.throttler import Throttler

from trader_adapters.ccxt.errors import Redactor
from trader_core.model.errors import ConfigError

__all__ = ["CONFIG_KEYS", "DETAILS_ON_DEMAND", "WIRE_LOGGER", "ClientSpec", "build_client", "default_options"]

# Keys of ``options`` that are ccxt *constructor* settings rather than entries of ccxt's ``options``.
CONFIG_KEYS = frozenset({"enableRateLimit", "rateLimit", "timeout"})

# Binance spot: load only spot markets, skip the sapi calls that need keys outside the testnet, and let
# fetch_open_orders work without a symbol (reference §3).
_BINANCE_OPTIONS: dict[str, Any] = {
    "defaultType": "spot",
    "fetchMarkets": {"types": ["spot"]},
    "fetchCurrencies": False,
    "fetchMargins": False,
    "warnOnFetchOpenOrdersWithoutSymbol": False,
    "recvWindow": 10_000,  # ccxt's own default, pinned: how late a placement can be accepted rests on it
}


# Gemini: markets from /v1/symbols, never from the web pages ccxt scrapes by default (docs and exchange front
# page); the details (tick, step, minimum) of a symbol only when the bot uses it (``DETAILS_ON_DEMAND``): ccxt would
# otherwise read them for each of the 100-odd symbols Gemini lists, one request each, at every load.
_GEMINI_OPTIONS: dict[str, Any] = {
    "fetchMarketsMethod": "fetch_markets_from_api",
    "fetchMarketsFromAPI": {"fetchDetailsForAllSymbols": False},
    "fetchCurrencies": {"webApiEnable": False},
}
# OKX: spot instruments only (ccxt also reads futures, swaps and the options of two underlyings: four more requests
# at every load, each one able to fail the start-up, for markets the bot never trades).
_OKX_OPTIONS: dict[str, Any] = {"fetchMarkets": {"types": ["spot"]}}
_DEFAULTS = {"binance": _BINANCE_OPTIONS, "gemini": _GEMINI_OPTIONS, "okx": _OKX_OPTIONS}

# Venues whose loaded markets carry no trading rules: the session reads a symbol's details before it first uses
# it (the method of ccxt's implicit API for one symbol's details).
DETAILS_ON_DEMAND = {"gemini": "publicGetV1SymbolsDetailsSymbol"}
_ANY_404_IS_NOT_FOUND = frozenset({"gemini"})  # venues whose ccxt class reads a bare HTTP 404 as OrderNotFound
# Venues that limit their public and their private entry points as two groups, each with its own budget (Gemini:
# 120 public and 600 private requests a minute). ccxt paces every request through one bucket, so an order waited
# behind the market-data reads before it (half a second after each public read on Gemini); here each group has a
# bucket of its own at ccxt's rate, so each is held to its documented limit and neither waits for the other.
_GROUPS_APART = frozenset({"gemini"})


def default_options(exchange_id: str) -> dict[str, Any]:
    """The ccxt options this adapter sets for ``exchange_id`` before the caller's own."""
    return dict(_DEFAULTS.get(exchange_id, {}))


@attrs.frozen(repr=False)
class ClientSpec:
    """Everything needed to build (and rebuild) the ccxt client. Its repr never shows credentials."""

    exchange_id: str
    api_key: str | None
    secret: str | None
    sandbox: bool
    base_url: str | None
    options: dict[str, Any] = attrs.field(factory=dict)
    password: str | None = None  # the API passphrase some venues need (OKX); TRADER_EXCHANGE__PASSWORD
    # Replaces ccxt's HTTP ``fetch(url, method, headers, body)`` (a recording transport in tests); None: ccxt's.
    transport: Any = None

    @property
    def has_credentials(self) -> bool:
        """True when both a key and a secret were given."""
        return bool(self.api_key and self.secret)

    def ccxt_options(self) -> dict[str, Any]:
        """ccxt's ``options`` for this client: the adapter's defaults for the venue, then the caller's (less the
        constructor settings, ``CONFIG_KEYS``)."""
        own = {key: value for key, value in self.options.items() if key not in CONFIG_KEYS}
        return {**default_options(self.exchange_id), **own}

    def redactor(self) -> Redactor:
        """A redactor for this spec's credentials."""
        return Redactor([self.api_key or "", self.secret or "", self.password or ""])

    def __repr__(self) -> str:
        where = self.base_url or ("sandbox" if self.sandbox else "production")
        keys = "with credentials" if self.has_credentials else "public only"
        return f"ClientSpec({self.exchange_id}, {where}, {keys})"


class _RedactingFilter(logging.Filter):
    """ccxt logs request headers (the API key among them) at DEBUG: scrub records before any handler.

    One filter on the shared wire logger; every client adds its credentials to it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._redactors: list[Redactor] = []

    def add(self, redact: Redactor) -> None:
        """Also scrub what ``redact`` scrubs."""
        self._redactors.append(redact)

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        for redact in self._redactors:
            text = redact(text)
        record.msg, record.args = text, ()
        return True


WIRE_LOGGER = logging.getLogger("trader_adapters.ccxt.wire")
_FILTER = _RedactingFilter()
WIRE_LOGGER.addFilter(_FILTER)


def _rebase(url: str, base_url: str) -> str:
    # Keep the path (/api/v3, /fapi/v1, ...) and swap scheme and host: "https://h/api/v3" -> base + "/api/v3".
    parts = url.split("/", 3)
    return base_url.rstrip("/") + ("/" + parts[3] if len(parts) > 3 else "")


def build_client(spec: ClientSpec) -> Any:
    """A ccxt async client for ``spec``: options pinned, sandbox mode set first, then the base URL
    override (the order matters: ``set_sandbox_mode`` discards earlier URL changes)."""
    exchange_class = getattr(ccxt, spec.exchange_id, None)
    if spec.exchange_id not in ccxt.exchanges or not isinstance(exchange_class, type):
        raise ConfigError(f"ccxt has no exchange {spec.exchange_id!r}")
    config: dict[str, Any] = {"enableRateLimit": True}
    config.update({key: value for key, value in spec.options.items() if key in CONFIG_KEYS})
    config["options"] = spec.ccxt_options()
    # ccxt logs through the shared wire logger, whose filter scrubs these credentials.
    _FILTER.add(spec.redactor())
    config["logger"] = WIRE_LOGGER
    credentials = {"apiKey": spec.api_key, "secret": spec.secret, "password": spec.password}
    config.update({key: value for key, value in credentials.items() if value})
    client = exchange_class(config)
    if spec.exchange_id in _ANY_404_IS_NOT_FOUND:
        # ccxt's gemini maps any HTTP 404 to OrderNotFound, an HTML page from a proxy or a gateway included; Gemini
        # itself says "no such order" in its JSON (reason OrderNotFound), which ccxt reads before the status code.
        # Three such pages in a row would prove a resting order absent: a bare 404 is the venue unreachable.
        client.httpExceptions = {**client.httpExceptions, "404": ccxt.ExchangeNotAvailable}
    if spec.exchange_id in _GROUPS_APART:
        _pace_groups_apart(client)
    if spec.transport is not None:
        # A transport with ``bind(client)`` gets the client, to run the venue's own error handling on its answers.
        bind = getattr(spec.transport, "bind", None)
        client.fetch = bind(client) if callable(bind) else spec.transport
    production = dict(client.urls["api"]) if isinstance(client.urls.get("api"), dict) else {}
    if (spec.sandbox or spec.base_url) and not client.urls.get("test"):
        # Kraken, Coinbase: ccxt lists no test URLs (set_sandbox_mode would end in a bare TypeError).
        if spec.base_url is None:
            raise ConfigError(f"{spec.exchange_id} has no sandbox in ccxt")
    elif spec.sandbox or spec.base_url:
        try:
            client.set_sandbox_mode(True)
        except ccxt.NotSupported as exc:
            if spec.base_url is None:
                raise ConfigError(f"{spec.exchange_id} has no sandbox in ccxt") from exc
    if spec.base_url:
        api = client.urls.get("api")
        if isinstance(api, dict):
            # The production endpoints a test network lacks (Binance's /sapi) go to the emulator too.
            api = {**{key: value for key, value in production.items() if key not in api}, **api}
            client.urls["api"] = {key: _rebase(value, spec.base_url) if isinstance(value, str) else value
                                  for key, value in api.items()}
        elif isinstance(api, str):
            client.urls["api"] = _rebase(api, spec.base_url)
    return client


class _Charge(float):
    """A request's rate-limit cost, tagged with the group of entry points it is charged to."""

    group: str


def _pace_groups_apart(client: Any) -> None:
    """Give ``client``'s private entry points a bucket of their own beside the public ones' (``_GROUPS_APART``).

    ccxt's ``fetch2`` asks ``calculate_rate_limiter_cost`` for a request's cost and then awaits ``throttle(cost)``:
    the first tags the cost with the request's group, the second waits on that group's bucket (both at the
    client's own rate and costs)."""
    buckets = {"public": client.throttler, "private": Throttler(dict(client.tokenBucket), client.asyncio_loop)}
    cost_of = client.calculate_rate_limiter_cost

    def tagged(api: Any, method: Any, path: Any, params: Any, config: Any = None) -> _Charge:
        charge = _Charge(cost_of(api, method, path, params, config or {}))
        names = [api] if isinstance(api, str) else list(api or ())
        charge.group = "private" if "private" in names else "public"
        return charge

    async def throttle(cost: Any = None) -> Any:
        bucket = buckets[cost.group] if isinstance(cost, _Charge) else buckets["public"]
        return await bucket(cost)

    client.calculate_rate_limiter_cost = tagged
    client.throttle = throttle
