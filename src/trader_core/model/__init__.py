"""Values and vocabulary of the core: ids, money, market data, orders, signals, plans, events, errors."""

from trader_core.model.errors import (
    AuthenticationError,
    ConfigError,
    ExchangeError,
    ExchangeUnavailableError,
    InvalidDataError,
    InvalidValueError,
    InvariantViolationError,
    OrderNotFoundError,
    OrderRejectedError,
    OutcomeUnknownError,
    RateLimitedError,
    StoreError,
    TraderError,
    UnknownSymbolError,
)
from trader_core.model.events import Event
from trader_core.model.ids import Asset, BotId, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.instrument import InstrumentRules
from trader_core.model.lease import Lease
from trader_core.model.market import Candle, Quote, Timeframe, require_utc
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.numbers import ONE, ZERO, to_decimal, to_decimal_or_none
from trader_core.model.orders import (
    Balance,
    ExitBracket,
    Fill,
    Liquidity,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Side,
)
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, IntentStatus, OrderRole, RunRecord, RunStatus, TrackedOrder
from trader_core.model.signals import Action, Signal

__all__ = [
    "ONE",
    "ZERO",
    "Action",
    "Asset",
    "AuthenticationError",
    "Balance",
    "BotId",
    "Candle",
    "ClientOrderId",
    "ConfigError",
    "Event",
    "ExchangeError",
    "ExchangeUnavailableError",
    "ExitBracket",
    "ExitReason",
    "Fill",
    "FillRecord",
    "InstrumentRules",
    "IntentStatus",
    "InvalidDataError",
    "InvalidValueError",
    "InvariantViolationError",
    "Lease",
    "Liquidity",
    "Money",
    "Order",
    "OrderNotFoundError",
    "OrderRejectedError",
    "OrderRequest",
    "OrderRole",
    "OrderStatus",
    "OrderType",
    "OutcomeUnknownError",
    "Plan",
    "PlanId",
    "PlanStatus",
    "Price",
    "Quantity",
    "Quote",
    "RateLimitedError",
    "RunId",
    "RunRecord",
    "RunStatus",
    "Side",
    "Signal",
    "StoreError",
    "Symbol",
    "Timeframe",
    "TrackedOrder",
    "TradeId",
    "TraderError",
    "UnknownSymbolError",
    "VenueOrderId",
    "require_utc",
    "to_decimal",
    "to_decimal_or_none",
]
