"""Money types: ``Price``, ``Quantity`` and ``Money`` (an amount in an asset). All exact ``Decimal``."""

from __future__ import annotations

from decimal import Decimal

import attrs

from trader_core.model.errors import InvalidValueError
from trader_core.model.ids import Asset
from trader_core.model.numbers import ZERO, to_decimal

__all__ = ["Money", "Price", "Quantity"]


@attrs.frozen(order=True)
class Price:
    """A strictly positive price in the quote asset."""

    value: Decimal = attrs.field(converter=to_decimal)

    def __attrs_post_init__(self) -> None:
        if self.value <= ZERO:
            raise InvalidValueError(f"a price must be positive, got {self.value}")

    def __str__(self) -> str:
        return f"{self.value:f}"  # plain digits: a price on its tick is normalized (49000 would read 4.9E+4)


@attrs.frozen(order=True)
class Quantity:
    """A non-negative quantity of the base asset."""

    value: Decimal = attrs.field(converter=to_decimal)

    def __attrs_post_init__(self) -> None:
        if self.value < ZERO:
            raise InvalidValueError(f"a quantity cannot be negative, got {self.value}")

    @classmethod
    def zero(cls) -> Quantity:
        """The empty quantity."""
        return cls(ZERO)

    def __bool__(self) -> bool:
        return self.value != ZERO

    def __str__(self) -> str:
        return f"{self.value:f}"  # plain digits: a quantity on its step is normalized (1000 would read 1E+3)


@attrs.frozen(order=True)
class Money:
    """An amount (may be negative: a PnL) denominated in ``asset``."""

    amount: Decimal = attrs.field(converter=to_decimal)
    asset: Asset

    @classmethod
    def zero(cls, asset: Asset) -> Money:
        """Nothing, in ``asset``."""
        return cls(ZERO, asset)

    def __add__(self, other: Money) -> Money:
        if self.asset != other.asset:
            raise InvalidValueError(f"cannot add {other.asset} to {self.asset}")
        return Money(self.amount + other.amount, self.asset)

    def __str__(self) -> str:
        return f"{self.amount} {self.asset}"
