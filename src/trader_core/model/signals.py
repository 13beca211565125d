"""Signals: what a strategy asks for. The handler decides what, if anything, is sent."""

from __future__ import annotations

import enum
from datetime import timedelta
from decimal import Decimal

import attrs

from trader_core.model.commands import MAX_PAUSE_MINUTES
from trader_core.model.errors import InvalidValueError
from trader_core.model.ids import ClientOrderId, PlanId, Symbol
from trader_core.model.money import Price, Quantity
from trader_core.model.numbers import ONE, ZERO, to_decimal_or_none

__all__ = ["Action", "Signal"]


class Action(enum.Enum):
    """Every action a signal may carry (the original's decision schema)."""

    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"
    CANCEL = "CANCEL"
    UPDATE_PLAN = "UPDATE_PLAN"
    PARTIAL_CLOSE = "PARTIAL_CLOSE"
    CLOSE_POSITION = "CLOSE_POSITION"
    PAUSE_TRADING = "PAUSE_TRADING"


def _pct(value: object) -> Decimal | None:
    result = to_decimal_or_none(value)
    if result is not None and result <= ZERO:
        raise InvalidValueError(f"a percentage distance must be positive, got {result}")
    return result


# A user's strategy builds signals by hand: plain values (a Decimal stop, a "BTC/USDT" symbol, a str plan id) are
# taken as the types they stand for, and anything else is refused when the signal is made, inside the strategy's
# decide (reported, the loop carries on), never later in the handler as a crash.
def _action(value: object) -> Action:
    if isinstance(value, Action):
        return value
    try:
        return Action(value)
    except ValueError:
        raise InvalidValueError(f"a signal's action must be one of {', '.join(a.value for a in Action)}, "
                                f"got {value!r}") from None


def _symbol(value: object) -> Symbol:
    if isinstance(value, Symbol):
        return value
    if isinstance(value, str):
        return Symbol.parse(value)
    raise InvalidValueError(f"a signal's symbol must be a Symbol or 'BASE/QUOTE' text, got {value!r}")


def _price(value: object) -> Price | None:
    return value if value is None or isinstance(value, Price) else Price(value)


def _quantity(value: object) -> Quantity | None:
    return value if value is None or isinstance(value, Quantity) else Quantity(value)


def _plan_id(value: object) -> PlanId | None:
    if value is None or isinstance(value, PlanId):
        return value
    if isinstance(value, str):
        return PlanId(value)
    raise InvalidValueError(f"a signal's plan_id must be a PlanId or text, got {value!r}")


def _client_order_id(value: object) -> ClientOrderId | None:
    if value is None or isinstance(value, ClientOrderId):
        return value
    return ClientOrderId(value)  # type: ignore[arg-type]  # refuses what is not a valid id text


@attrs.frozen(kw_only=True)
class Signal:
    """One request from the strategy.

    BUY takes ``quantity`` (base) or ``notional`` (quote), and optionally a stop and a target, either
    as prices (``stop``/``target``) or as percent distances from the entry fill price
    (``stop_pct``/``target_pct``). SELL takes ``quantity`` or reduces the whole position.
    ``regime`` carries flags such as ``("volatility", "high")``.
    """

    action: Action = attrs.field(converter=_action)
    symbol: Symbol = attrs.field(converter=_symbol)
    quantity: Quantity | None = attrs.field(default=None, converter=_quantity)
    notional: Decimal | None = attrs.field(default=None, converter=to_decimal_or_none)
    stop: Price | None = attrs.field(default=None, converter=_price)
    target: Price | None = attrs.field(default=None, converter=_price)
    stop_pct: Decimal | None = attrs.field(default=None, converter=_pct)
    target_pct: Decimal | None = attrs.field(default=None, converter=_pct)
    plan_id: PlanId | None = attrs.field(default=None, converter=_plan_id)
    client_order_id: ClientOrderId | None = attrs.field(default=None, converter=_client_order_id)
    size_factor: Decimal | None = attrs.field(default=None, converter=to_decimal_or_none)
    close_fraction: Decimal | None = attrs.field(default=None, converter=to_decimal_or_none)
    pause: timedelta | None = None
    reason: str = ""
    regime: tuple[tuple[str, str], ...] = ()

    def __attrs_post_init__(self) -> None:
        if self.quantity is not None and self.notional is not None:
            raise InvalidValueError("give quantity or notional, not both")
        if self.notional is not None and self.notional <= ZERO:
            raise InvalidValueError(f"notional must be positive, got {self.notional}")
        if self.stop_pct is not None and self.stop_pct >= 100:
            # As the settings' stop_pct: a stop 100 % or more below the entry is no stop.
            raise InvalidValueError(f"stop_pct must be below 100 (percent below the entry), got {self.stop_pct}")
        if self.stop is not None and self.stop_pct is not None:
            raise InvalidValueError("give stop or stop_pct, not both")
        if self.target is not None and self.target_pct is not None:
            raise InvalidValueError("give target or target_pct, not both")
        if self.close_fraction is not None and not ZERO < self.close_fraction <= ONE:
            raise InvalidValueError(f"close_fraction must be in (0, 1], got {self.close_fraction}")
        if self.size_factor is not None and self.size_factor <= ZERO:
            raise InvalidValueError(f"size_factor must be positive, got {self.size_factor}")
        if self.pause is not None and self.pause < timedelta(0):
            raise InvalidValueError("a pause cannot be negative")
        if self.pause is not None and self.pause > timedelta(minutes=MAX_PAUSE_MINUTES):
            # As an operator's pause command: longer is a typo, and the end of the pause would overflow a date.
            raise InvalidValueError(f"a pause must be at most {MAX_PAUSE_MINUTES} minutes (a year), got {self.pause}")

    def regime_flag(self, name: str) -> str | None:
        """The value of regime flag ``name``, if the signal carries it."""
        for key, value in self.regime:
            if key == name:
                return value
        return None

    @property
    def has_protection(self) -> bool:
        """True when the entry asks for a stop or a target (and so makes a plan)."""
        return any(x is not None for x in (self.stop, self.target, self.stop_pct, self.target_pct))
