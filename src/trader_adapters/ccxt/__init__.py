"""The ccxt adapter: ``CcxtExchange`` implements ``MarketData`` and ``Trading`` over ``ccxt.async_support``.

``errors`` holds the one ccxt -> core error table, ``translate`` and ``marketdata`` the pure dict -> value
parsing, ``requests`` what is sent, ``ids`` the order-id bookkeeping, and ``client`` how the ccxt client
is built (options, sandbox, base URL, log redaction). ``docs/exchanges.md`` describes it all.
"""

from trader_adapters.ccxt.errors import ERROR_TABLE, CallKind
from trader_adapters.ccxt.exchange import CcxtExchange

__all__ = ["ERROR_TABLE", "CallKind", "CcxtExchange"]
