"""A venue's trading rules for one symbol: tick, step, minimum quantity and notional."""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

import attrs

from trader_core.model.errors import InvalidValueError
from trader_core.model.ids import Symbol
from trader_core.model.money import Price, Quantity
from trader_core.model.numbers import ZERO, to_decimal

__all__ = ["InstrumentRules"]


def _positive(_instance: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if value <= ZERO:
        raise InvalidValueError(f"{attribute.name} must be positive, got {value}")


def _non_negative(_instance: object, attribute: attrs.Attribute[Decimal], value: Decimal) -> None:
    if value < ZERO:
        raise InvalidValueError(f"{attribute.name} cannot be negative, got {value}")


def _floor_to_step(value: Decimal, step: Decimal) -> Decimal:
    # Floor division, not quantize: quantize rounds to the step's exponent, not to a multiple of it.
    return ((value / step).to_integral_value(rounding=ROUND_DOWN) * step).normalize()


@attrs.frozen(kw_only=True)
class InstrumentRules:
    """Rules a venue enforces on orders in ``symbol``. Sizes are always rounded down."""

    symbol: Symbol
    tick_size: Decimal = attrs.field(converter=to_decimal, validator=_positive)
    step_size: Decimal = attrs.field(converter=to_decimal, validator=_positive)
    min_quantity: Decimal = attrs.field(converter=to_decimal, validator=_non_negative)
    min_notional: Decimal = attrs.field(converter=to_decimal, validator=_non_negative)

    def round_quantity(self, quantity: Decimal) -> Quantity:
        """Round ``quantity`` down to a multiple of the step; never up."""
        if quantity <= ZERO:
            return Quantity.zero()
        return Quantity(_floor_to_step(quantity, self.step_size))

    def round_price(self, price: Decimal) -> Price:
        """Round ``price`` to the nearest tick (half-even); a price below one tick becomes one tick."""
        ticks = (price / self.tick_size).to_integral_value(rounding=ROUND_HALF_EVEN)
        return Price((max(ticks, Decimal(1)) * self.tick_size).normalize())

    def violations(self, quantity: Quantity, price: Price) -> tuple[str, ...]:
        """Every rule ``quantity`` at ``price`` breaks, as readable reasons (empty when tradable)."""
        reasons: list[str] = []
        if quantity.value < self.min_quantity or quantity.value <= ZERO:
            reasons.append(f"quantity {quantity} below minimum {self.min_quantity}")
        if _floor_to_step(quantity.value, self.step_size) != quantity.value.normalize():
            reasons.append(f"quantity {quantity} not a multiple of step {self.step_size}")
        if quantity.value * price.value < self.min_notional:
            reasons.append(f"notional {quantity.value * price.value} below minimum {self.min_notional}")
        return tuple(reasons)
