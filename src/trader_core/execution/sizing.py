"""Pure sizing and microstructure rules for an order: how big, and whether the book allows it now.

The original runner's helpers (catalog §4.3) with their exact formulas: the order-value buffer, the
reward/risk filter, the dynamic slippage cap, the liquidity gate, the stacking block, maker preference
and volatility sizing; plus the rounding of entries and exits to the venue's step, with a dust policy.
Every function is pure: Decimal in, values out, no clock, no I/O. Price rules are written once with
``Side.sign`` so a SELL is the mirror image of a BUY.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_DOWN, Context, Decimal

import attrs

from trader_core.model import (
    ONE,
    ZERO,
    InstrumentRules,
    InvalidValueError,
    Price,
    Quantity,
    Quote,
    Side,
    Signal,
    Symbol,
    parse_flag,
)

__all__ = [
    "REMAINDER_MARGIN",
    "MakerPreference",
    "SizedOrder",
    "SizingPolicy",
    "SlippageVerdict",
    "Trim",
    "buffer_order_value",
    "exit_quantity",
    "liquidity_problems",
    "maker_price",
    "parse_maker_overrides",
    "passes_reward_risk",
    "round_entry",
    "size_entry",
    "slippage_cap_pct",
    "slippage_verdict",
    "stacking_blocked",
    "top_of_book_notional",
    "volatility_factor",
    "volatility_scaled",
]

# cap / price is rounded toward zero, so a trimmed order can never be worth a hair more than the cap.
_DOWN = Context(prec=28, rounding=ROUND_DOWN)
_HUNDRED = Decimal(100)
# How far below the last price a partial close's remainder must still be sellable: more than a market sell's
# slippage on a liquid book, so the fill does not leave the plan holding dust.
REMAINDER_MARGIN = Decimal("0.05")


@attrs.frozen(kw_only=True)
class SizingPolicy:
    """Sizing knobs, with the original's defaults (catalog §1). Percentages are in percent."""

    max_order_value: Decimal = Decimal(5000)
    order_value_buffer: Decimal = Decimal(5)
    min_rr: Decimal = Decimal("1.2")
    max_slippage_pct: Decimal = Decimal("0.5")
    max_spread_pct: Decimal = Decimal("0.20")
    min_top_of_book_notional: Decimal = Decimal(100)
    high_vol_size_factor: Decimal = Decimal("0.6")
    medium_vol_size_factor: Decimal = Decimal("0.8")

    @property
    def order_value_cap(self) -> Decimal:
        """``max(0, max_order_value - order_value_buffer)``: what a trimmed order may be worth (4995)."""
        return max(ZERO, self.max_order_value - self.order_value_buffer)


@attrs.frozen
class Trim:
    """The result of the order-value buffer: the quantity to send, and whether it was cut."""

    quantity: Quantity
    trimmed: bool
    notional_before: Decimal
    notional_after: Decimal


def buffer_order_value(quantity: Decimal, price: Decimal, policy: SizingPolicy) -> Trim:
    """Trim ``quantity`` so that ``quantity x price <= cap`` (catalog §4.3, order value buffer).

    Never increases a size. An invalid input (NaN, infinity, a price or quantity <= 0) gives zero, as
    at the original's HEAD (5d3a5bf returned such inputs unchanged, letting them reach the venue).
    """
    if not (quantity.is_finite() and price.is_finite()) or quantity <= ZERO or price <= ZERO:
        return Trim(Quantity.zero(), trimmed=False, notional_before=ZERO, notional_after=ZERO)
    cap = policy.order_value_cap
    notional = quantity * price
    if notional <= cap:
        return Trim(Quantity(quantity), trimmed=False, notional_before=notional, notional_after=notional)
    # min() guards the pathological case where the division's rounding lands above the input.
    trimmed = min(quantity, _DOWN.divide(cap, price))
    return Trim(Quantity(trimmed), trimmed=True, notional_before=notional, notional_after=trimmed * price)


def _value(price: Price | Decimal | None) -> Decimal | None:
    return price.value if isinstance(price, Price) else price


def passes_reward_risk(
    side: Side, price: Price | Decimal | None, stop: Price | Decimal | None, target: Price | Decimal | None,
    min_rr: Decimal,
) -> bool:
    """The reward/risk filter (catalog §4.3), side-symmetric.

    Passes when the price, the stop or the target is missing (nothing to measure). For a BUY
    ``risk = price - stop`` and ``reward = target - price``; a SELL is mirrored. Fails when either is
    <= 0; otherwise passes when ``reward / risk >= min_rr``.
    """
    entry, stop_value, target_value = _value(price), _value(stop), _value(target)
    if entry is None or stop_value is None or target_value is None:
        return True
    risk = (entry - stop_value) * side.sign
    reward = (target_value - entry) * side.sign
    if risk <= ZERO or reward <= ZERO:
        return False
    return reward / risk >= min_rr


def top_of_book_notional(quote: Quote) -> Decimal | None:
    """``min(bid x bid_size, ask x ask_size)``; None when the venue reported no sizes.

    A size of zero counts as not reported, as in the original (its test was on truthiness): replay
    quotes carry the candle's volume as both sizes, and an empty candle must not read as an empty book.
    """
    if quote.bid_size <= ZERO or quote.ask_size <= ZERO:
        return None
    return min(quote.bid * quote.bid_size, quote.ask * quote.ask_size)


def slippage_cap_pct(quote: Quote | None, policy: SizingPolicy) -> Decimal:
    """The dynamic slippage cap in percent (catalog §4.3).

    Starts at ``max_slippage_pct``; a top of book below the notional floor scales it by 0.25, below
    twice the floor by 0.5; a positive spread scales it by ``clamp(max_spread / spread, 0.3, 1.0)``;
    it never goes below 10 % of the base cap.
    """
    base = policy.max_slippage_pct
    cap = base
    if quote is not None:
        top = top_of_book_notional(quote)
        if top is not None:
            if top < policy.min_top_of_book_notional:
                cap *= Decimal("0.25")
            elif top < 2 * policy.min_top_of_book_notional:
                cap *= Decimal("0.5")
        spread = quote.spread_pct
        if spread > ZERO:
            cap *= min(ONE, max(Decimal("0.3"), policy.max_spread_pct / spread))
    return max(cap, base / 10)


@attrs.frozen
class SlippageVerdict:
    """Whether the price moved too far between decision and order: the move and the cap, in percent."""

    allowed: bool
    move_pct: Decimal
    cap_pct: Decimal


def slippage_verdict(
    decision_price: Decimal | None, latest_price: Decimal | None, quote: Quote | None, policy: SizingPolicy,
) -> SlippageVerdict:
    """``|latest - decision| / decision x 100`` against the dynamic cap; allowed when ``move <= cap``.

    A missing (or non-positive) price is allowed with a move of 0, as in the original. The move is
    absolute, so a BUY and its mirrored SELL get the same verdict.
    """
    cap = slippage_cap_pct(quote, policy)
    if decision_price is None or latest_price is None or decision_price <= ZERO or latest_price <= ZERO:
        return SlippageVerdict(allowed=True, move_pct=ZERO, cap_pct=cap)
    move = abs(latest_price - decision_price) / decision_price * _HUNDRED
    return SlippageVerdict(allowed=move <= cap, move_pct=move, cap_pct=cap)


def liquidity_problems(quote: Quote | None, policy: SizingPolicy) -> tuple[str, ...]:
    """The liquidity gate (catalog §4.3): why the book is too thin or too wide to trade (empty: tradable).

    No quote passes (the original let an empty point through). The spread must not exceed
    ``max_spread_pct``; the top of book, when sizes are reported, must reach the notional floor.
    """
    if quote is None:
        return ()
    problems = []
    if quote.spread_pct > policy.max_spread_pct:
        problems.append(f"spread {quote.spread_pct:.4f}% above {policy.max_spread_pct}%")
    top = top_of_book_notional(quote)
    if top is not None and top < policy.min_top_of_book_notional:
        problems.append(f"top of book {top} below {policy.min_top_of_book_notional}")
    return tuple(problems)


def stacking_blocked(side: Side, position: Decimal, pending_buys: int, open_plans: int) -> bool:
    """A BUY is blocked when the bot already holds the symbol and a buy is pending or a plan is open.

    A SELL is never blocked: it reduces (catalog §4.3). ``position`` is the bot's own holding.
    """
    return side is Side.BUY and position > ZERO and (pending_buys > 0 or open_plans > 0)


def parse_maker_overrides(text: str) -> dict[str, bool]:
    """Parse ``"SYM:true,SYM2:no"`` (catalog §1): the yes/no words of every setting (``parse_flag``), any case.

    A malformed entry is an ``InvalidValueError`` naming it (the original skipped it: a typo went unnoticed);
    empty entries (a trailing comma) are ignored.
    """
    result: dict[str, bool] = {}
    for entry in text.split(","):
        if not entry.strip():
            continue
        name, sep, flag = entry.partition(":")
        try:
            if not sep:
                raise InvalidValueError("no ':'")
            value = parse_flag(flag)
        except InvalidValueError:
            raise InvalidValueError(f"entry {entry.strip()!r} must be SYMBOL:true or SYMBOL:false "
                                    "(true/1/yes/on, false/0/no/off)") from None
        try:
            symbol = Symbol.parse(name.strip())
        except InvalidValueError as exc:
            raise InvalidValueError(f"entry {entry.strip()!r}: {exc}") from None
        result[str(symbol)] = value
    return result


def _upper_keys(overrides: Mapping[str, bool] | tuple[tuple[str, bool], ...]) -> tuple[tuple[str, bool], ...]:
    pairs = overrides.items() if isinstance(overrides, Mapping) else overrides
    return tuple(sorted((name.strip().upper(), flag) for name, flag in pairs))


@attrs.frozen
class MakerPreference:
    """Whether to rest a post-only (maker) order: a per-symbol override, else the default (true)."""

    default: bool = True
    overrides: tuple[tuple[str, bool], ...] = attrs.field(default=(), converter=_upper_keys)

    def for_symbol(self, symbol: Symbol | str) -> bool:
        """The preference for ``symbol``; overrides match case-insensitively."""
        key = str(symbol).strip().upper()
        for name, flag in self.overrides:
            if name == key:
                return flag
        return self.default


MAKER_BUY_FACTOR = Decimal("0.9995")
MAKER_SELL_FACTOR = Decimal("1.0005")


def maker_price(side: Side, quote: Quote, rules: InstrumentRules) -> Price:
    """Where a post-only order rests (catalog §4.3): bid x 0.9995 for a buy, ask x 1.0005 for a sell,
    rounded to the venue's tick."""
    if side is Side.BUY:
        return rules.round_price(quote.bid * MAKER_BUY_FACTOR)
    return rules.round_price(quote.ask * MAKER_SELL_FACTOR)


def volatility_factor(volatility: str | None, policy: SizingPolicy) -> Decimal:
    """``high_vol_size_factor`` when the flag contains "high", ``medium_vol_size_factor`` for "medium",
    else 1 (catalog §4.3; matched case-insensitively as substrings, like the original)."""
    flag = (volatility or "").lower()
    if "high" in flag:
        return policy.high_vol_size_factor
    if "medium" in flag:
        return policy.medium_vol_size_factor
    return ONE


def volatility_scaled(quantity: Decimal, signal: Signal, policy: SizingPolicy) -> Decimal:
    """``quantity`` scaled by the signal's ``volatility`` regime flag; a quantity <= 0 is unchanged."""
    if quantity <= ZERO:
        return quantity
    return quantity * volatility_factor(signal.regime_flag("volatility"), policy)


@attrs.frozen
class SizedOrder:
    """A quantity on the venue's step, and every venue rule it breaks (empty: it may be sent)."""

    quantity: Quantity
    problems: tuple[str, ...] = ()

    @property
    def sendable(self) -> bool:
        """True when the quantity is positive and breaks no venue rule."""
        return bool(self.quantity) and not self.problems


def _checked(quantity: Quantity, price: Price, rules: InstrumentRules) -> SizedOrder:
    if not quantity:
        return SizedOrder(quantity, ("quantity rounds to 0",))
    return SizedOrder(quantity, rules.violations(quantity, price))


def round_entry(quantity: Decimal, price: Price, rules: InstrumentRules) -> SizedOrder:
    """Round an entry down to the step; a result below the venue's minimums says so in ``problems``."""
    return _checked(rules.round_quantity(quantity), price, rules)


def size_entry(wanted: Decimal, price: Price, signal: Signal, rules: InstrumentRules,
               policy: SizingPolicy) -> SizedOrder:
    """An entry's size, in the original's order: volatility sizing, the order-value buffer, then the
    venue's step. Each step only shrinks the size, so the result is never worth more than the cap."""
    trim = buffer_order_value(volatility_scaled(wanted, signal, policy), price.value, policy)
    return round_entry(trim.quantity.value, price, rules)


def exit_quantity(wanted: Decimal, held: Quantity, price: Price, rules: InstrumentRules) -> SizedOrder:
    """How much of ``held`` to sell when ``wanted`` is asked: never more than held, rounded down.

    Dust policy: when what would be left is unsellable dust (below a venue minimum, or below one step)
    and the whole holding (on the step) is sellable, the exit takes the whole instead, so a partial close
    never strands a remainder the bot can no longer sell. The remainder is judged ``REMAINDER_MARGIN`` below
    ``price``: the exit is sized at the last price but fills lower (a market sell takes the bid), and the plan
    closes on a fill that leaves dust at the fill's price, whatever is still held.
    """
    part = rules.round_quantity(min(max(wanted, ZERO), held.value))
    whole = rules.round_quantity(held.value)
    left = held.value - part.value
    cautious = Price(price.value * (ONE - REMAINDER_MARGIN))
    if part != whole and left > ZERO and _is_dust(left, cautious, rules) and not rules.violations(whole, price):
        return SizedOrder(whole)
    return _checked(part, price, rules)


def _is_dust(quantity: Decimal, price: Price, rules: InstrumentRules) -> bool:
    rounded = rules.round_quantity(quantity).value
    return rounded == ZERO or rounded < rules.min_quantity or rounded * price.value < rules.min_notional
