"""Pure risk rules: may this order go, given what the bot holds and has pending, and its loss limits.

The original ``RiskManager`` (catalog §8) with its defects corrected:

* pending BUY orders count once toward exposure (the handler's guard added them a second time, §4.2
  step 9);
* the per-symbol pending-BUY cap is its own setting (the original reused ``MAX_POSITIONS``, §8.4);
* a risk-reducing order is never blocked by an entry limit (the original blocked small closes by
  ``MIN_TRADE_SIZE`` and reducing sells over the exposure cap, §4.2, §8.4);
* loss limits watch the bot's own equity, with baselines the caller persists, so a restart keeps
  them, and the day rolls at local midnight (the original reset the baseline on every restart and
  never rolled it, §8.5).

Everything here is a value or a pure function; the caller passes the time in.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

from trader_core.model import ONE, ZERO, InvalidValueError, Price, Quantity, Side, Symbol, require_utc
from trader_core.portfolio import day_zone

__all__ = [
    "Allowed",
    "Denied",
    "LossBreach",
    "LossLimitKind",
    "LossLimitPolicy",
    "LossLimitState",
    "PendingOrder",
    "Position",
    "RiskBook",
    "RiskPolicy",
    "RiskVerdict",
    "bot_equity",
    "check_entry",
    "check_exit",
    "loss_at_stop",
    "observe_equity",
    "rearm",
]

_HUNDRED = Decimal(100)


def _buckets(groups: Iterable[Iterable[Symbol]]) -> tuple[frozenset[Symbol], ...]:
    return tuple(frozenset(group) for group in groups if group)


@attrs.frozen(kw_only=True)
class RiskPolicy:
    """Entry limits, with the original's defaults (catalog §1).

    ``max_pending_buys_per_symbol`` replaces the original's reuse of ``MAX_POSITIONS`` for this cap;
    its default is the original's open-BUY-order cap (``PLAN_MAX_PER_SYMBOL`` = 2). The original's
    buckets (``BTC/USD,ETH/USD;SOL/USD,ADA/USD``) name USD markets, so none is configured by default.
    """

    max_order_value: Decimal = Decimal(5000)
    min_trade_size: Decimal = Decimal(500)
    max_total_exposure: Decimal = Decimal(10000)
    max_positions: int = 3
    max_pending_buys_per_symbol: int = 2
    correlation_buckets: tuple[frozenset[Symbol], ...] = attrs.field(default=(), converter=_buckets)
    bucket_max_positions: int = 2
    # A limit the original lacked (catalog §14.5), off (None) by default: what one entry may lose at its stop (an
    # absolute amount, and a percent of the bot's equity; the smaller binds).
    max_trade_loss: Decimal | None = None
    max_trade_loss_pct: Decimal | None = None
    # The fee expected per side (a share of the notional): an entry and its exit at the stop each pay it, so the cap
    # counts both (``loss_at_stop``).
    trade_fee_rate: Decimal = ZERO

    def trade_loss_cap(self, equity: Decimal | None) -> Decimal | None:
        """What one entry may lose at its stop, in quote: the smaller of ``max_trade_loss`` and
        ``max_trade_loss_pct`` of ``equity`` (the percent is not applied without an equity); None when neither
        is set."""
        caps = [self.max_trade_loss] if self.max_trade_loss is not None else []
        if self.max_trade_loss_pct is not None and equity is not None:
            caps.append(max(equity, ZERO) * self.max_trade_loss_pct / _HUNDRED)
        return min(caps) if caps else None


def loss_at_stop(quantity: Decimal, price: Decimal, stop: Decimal | None, fee_rate: Decimal = ZERO) -> Decimal:
    """What a long entry of ``quantity`` at ``price`` loses should it be sold at ``stop``: the price distance plus the
    fee (``fee_rate`` of the notional) of the buy and of the sell at the stop; without a stop, what it paid (its whole
    value and the buy's fee: a spot long can lose no more)."""
    if stop is None:
        return quantity * price * (ONE + fee_rate)
    sold = min(stop, price)  # a stop at or above the price sells at once, at the price
    return quantity * (price - sold + fee_rate * (price + sold))


@attrs.frozen
class Position:
    """What the bot itself holds in a symbol (never the account's balance), and its mark price."""

    symbol: Symbol
    quantity: Quantity
    mark: Price | None = None


@attrs.frozen
class PendingOrder:
    """One of the bot's working orders: its side and remaining notional in quote."""

    symbol: Symbol
    side: Side
    notional: Decimal


@attrs.frozen(kw_only=True)
class RiskBook:
    """The bot's positions (marked) and its pending orders, as the risk rules see them."""

    positions: tuple[Position, ...] = ()
    pending: tuple[PendingOrder, ...] = ()

    def held(self, symbol: Symbol) -> Decimal:
        """The bot's quantity in ``symbol``."""
        return sum((p.quantity.value for p in self.positions if p.symbol == symbol), ZERO)

    def active_symbols(self) -> frozenset[Symbol]:
        """Symbols the bot holds a non-zero quantity of."""
        return frozenset(p.symbol for p in self.positions if p.quantity)

    def pending_symbols(self, side: Side | None = None) -> frozenset[Symbol]:
        """Symbols with a pending order (of ``side``, when given)."""
        return frozenset(o.symbol for o in self.pending if side is None or o.side is side)

    def pending_buys(self, symbol: Symbol) -> int:
        """How many BUY orders are pending in ``symbol``."""
        return sum(1 for o in self.pending if o.symbol == symbol and o.side is Side.BUY)

    def exposure(self, marks: Mapping[Symbol, Decimal] | None = None) -> Decimal:
        """Total exposure in quote (catalog §8.3), with pending BUYs counted once.

        Each position counts ``quantity x mark`` (a ``marks`` entry overrides the position's mark; no
        mark counts 0). Pending BUYs add their notional. A symbol's pending SELLs offset its long, and
        what they sell beyond it counts as short exposure. Never negative.
        """
        overrides = marks or {}
        longs: dict[Symbol, Decimal] = {}
        for position in self.positions:
            mark = overrides.get(position.symbol) or (position.mark.value if position.mark else ZERO)
            longs[position.symbol] = longs.get(position.symbol, ZERO) + position.quantity.value * mark
        sells: dict[Symbol, Decimal] = {}
        total = sum(longs.values(), ZERO)
        for order in self.pending:
            if order.side is Side.BUY:
                total += order.notional
            else:
                sells[order.symbol] = sells.get(order.symbol, ZERO) + order.notional
        for symbol, sold in sells.items():
            offset = min(longs.get(symbol, ZERO), sold)
            total += sold - 2 * offset  # the offset leaves the long; the rest is short exposure
        return max(ZERO, total)


@attrs.frozen
class Allowed:
    """The order may go. ``warnings`` name limits it comes close to (exposure above 90 % of the cap)."""

    warnings: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """Always True."""
        return True


@attrs.frozen
class Denied:
    """The order may not go, and every limit it breaks."""

    reasons: tuple[str, ...]

    @property
    def allowed(self) -> bool:
        """Always False."""
        return False


RiskVerdict = Allowed | Denied


def check_entry(
    book: RiskBook, symbol: Symbol, quantity: Quantity, price: Price, policy: RiskPolicy,
    *, breach: LossBreach | None = None, stop: Decimal | None = None, loss_cap: Decimal | None = None,
) -> RiskVerdict:
    """May the bot BUY ``quantity`` of ``symbol`` at ``price`` (an entry: spot, long-only)?

    Checks (catalog §8.4), every failing one reported: order value above ``max_order_value``; below
    ``min_trade_size``; projected exposure (``book.exposure`` marked at ``price`` plus the order) above
    ``max_total_exposure``; a new symbol (neither held nor pending) when held and pending symbols reach
    ``max_positions``; pending BUYs in the symbol at ``max_pending_buys_per_symbol``; a symbol not held
    whose correlation bucket already holds or is buying ``bucket_max_positions`` symbols; a loss at ``stop``
    (``loss_at_stop``) above ``loss_cap`` (``RiskPolicy.trade_loss_cap``); and a loss-limit ``breach`` in force
    (no new risk until it is cleared).
    """
    if not quantity:
        return Denied(("invalid quantity: 0",))
    value = quantity.value * price.value
    reasons: list[str] = []
    warnings: list[str] = []
    if value > policy.max_order_value:
        reasons.append(f"order value {value} exceeds limit {policy.max_order_value}")
    if value < policy.min_trade_size:
        reasons.append(f"order value {value} below minimum {policy.min_trade_size}")
    projected = book.exposure({symbol: price.value}) + value
    if projected > policy.max_total_exposure:
        reasons.append(f"exposure {projected} would exceed cap {policy.max_total_exposure}")
    elif projected > policy.max_total_exposure * Decimal("0.9"):
        warnings.append(f"exposure {projected} above 90% of cap {policy.max_total_exposure}")
    active = book.active_symbols()
    engaged = active | book.pending_symbols()
    if symbol not in engaged and len(engaged) >= policy.max_positions:
        reasons.append(f"max positions reached ({len(engaged)}/{policy.max_positions})")
    pending_buys = book.pending_buys(symbol)
    if pending_buys >= policy.max_pending_buys_per_symbol:
        reasons.append(f"open order cap reached for {symbol} ({pending_buys}/{policy.max_pending_buys_per_symbol})")
    bucket = next((b for b in policy.correlation_buckets if symbol in b), None)
    if bucket is not None and symbol not in active:
        taken = bucket & (active | book.pending_symbols(Side.BUY))
        if len(taken) >= policy.bucket_max_positions:
            names = ", ".join(sorted(str(s) for s in taken))
            reasons.append(f"correlation bucket full ({names}: {len(taken)}/{policy.bucket_max_positions})")
    if loss_cap is not None and (loss := loss_at_stop(quantity.value, price.value, stop,
                                                      policy.trade_fee_rate)) > loss_cap:
        at = "at its stop" if stop is not None else "without a stop (its whole value)"
        reasons.append(f"loss {loss} {at} would exceed the per-trade cap {loss_cap}")
    if breach is not None:
        reasons.append(f"loss limit: {breach.detail}")
    return Denied(tuple(reasons)) if reasons else Allowed(tuple(warnings))


def check_exit(book: RiskBook, symbol: Symbol, quantity: Quantity) -> RiskVerdict:
    """May the bot SELL ``quantity`` of ``symbol``? Yes whenever it reduces what the bot holds.

    No entry limit applies to a risk-reducing order: not the minimum trade size, the exposure cap,
    the position counts or a loss limit (the original blocked small closes and reducing sells; catalog
    §4.2 PARTIAL_CLOSE, §8.4 step 5). Only selling nothing, or more than the bot holds, is refused.
    """
    held = book.held(symbol)
    if not quantity:
        return Denied(("invalid quantity: 0",))
    if quantity.value > held:
        return Denied((f"sells {quantity} but the bot holds {held} {symbol.base}",))
    return Allowed()


def bot_equity(allocation: Decimal, net_pnl: Decimal) -> Decimal:
    """The bot's own equity: the capital allocated to it plus its PnL (never the account's value)."""
    return allocation + net_pnl


@attrs.frozen(kw_only=True)
class LossLimitPolicy:
    """Loss limits on the bot's equity. A limit of None is off.

    Daily limits (absolute, and percent of the day's opening equity; original defaults 1000 and 3 %)
    count per calendar day in ``day_timezone`` (IANA name); the drawdown limit is percent from the
    highest equity ever observed (new: the original had none).
    """

    max_daily_loss: Decimal | None = Decimal(1000)
    max_daily_loss_pct: Decimal | None = Decimal(3)
    max_drawdown_pct: Decimal | None = None
    day_timezone: str = "UTC"


class LossLimitKind(enum.Enum):
    """Which loss limit was breached."""

    EQUITY = "equity"
    DAILY_PERCENT = "daily_percent"
    DAILY_ABSOLUTE = "daily_absolute"
    DRAWDOWN = "drawdown"


@attrs.frozen
class LossBreach:
    """A loss limit breached: which, the loss, the limit and a readable detail."""

    kind: LossLimitKind
    loss: Decimal
    limit: Decimal
    detail: str


@attrs.frozen(kw_only=True)
class LossLimitState:
    """Baselines the caller persists: the local day, that day's opening equity, and the equity peak.

    ``as_record``/``from_record`` give it a plain-text form for any store; a process restarted with the
    restored state keeps the day's baseline and the peak.
    """

    day_timezone: str = "UTC"
    day: date | None = None
    day_start_equity: Decimal | None = None
    peak_equity: Decimal | None = None
    # When the breach in force was first seen (None: no breach): an operator's resume after it acknowledges it.
    breached_at: datetime | None = None
    # The capital the baselines were counted with (None: not recorded): a new capital moves them, see ``recapitalized``.
    allocation: Decimal | None = None

    def as_record(self) -> dict[str, str]:
        """The state as strings (absent values omitted)."""
        record = {"day_timezone": self.day_timezone}
        if self.day is not None:
            record["day"] = self.day.isoformat()
        if self.day_start_equity is not None:
            record["day_start_equity"] = str(self.day_start_equity)
        if self.peak_equity is not None:
            record["peak_equity"] = str(self.peak_equity)
        if self.breached_at is not None:
            record["breached_at"] = self.breached_at.isoformat()
        if self.allocation is not None:
            record["allocation"] = str(self.allocation)
        return record

    def recapitalized(self, allocation: Decimal) -> LossLimitState:
        """The state for a bot whose capital is now ``allocation``: a change of capital (the ``balance`` setting)
        is not profit or loss, so the day's baseline and the peak move by it (a baseline it takes to zero or below
        is dropped: the next positive equity sets it again)."""
        if self.allocation is None or self.allocation == allocation:
            return attrs.evolve(self, allocation=allocation)
        shift = allocation - self.allocation

        def moved(level: Decimal | None) -> Decimal | None:
            return None if level is None or level + shift <= ZERO else level + shift

        start = moved(self.day_start_equity)
        return attrs.evolve(self, allocation=allocation, day_start_equity=start, peak_equity=moved(self.peak_equity),
                            day=self.day if start is not None else None)

    @classmethod
    def from_record(cls, record: Mapping[str, str]) -> LossLimitState:
        """The state :meth:`as_record` wrote."""
        try:
            return cls(
                day_timezone=record.get("day_timezone", "UTC"),
                day=date.fromisoformat(record["day"]) if "day" in record else None,
                day_start_equity=Decimal(record["day_start_equity"]) if "day_start_equity" in record else None,
                peak_equity=Decimal(record["peak_equity"]) if "peak_equity" in record else None,
                breached_at=require_utc(datetime.fromisoformat(record["breached_at"]), "breached_at")
                if "breached_at" in record else None,
                allocation=Decimal(record["allocation"]) if "allocation" in record else None,
            )
        except (ArithmeticError, ValueError) as exc:
            raise InvalidValueError(f"corrupt loss-limit state {dict(record)!r}: {exc}") from exc


def observe_equity(
    state: LossLimitState, equity: Decimal, now: datetime, policy: LossLimitPolicy,
) -> tuple[LossLimitState, LossBreach | None]:
    """The state after observing the bot's ``equity`` at ``now`` (aware UTC), and any limit breached.

    The day's baseline is the first equity observed on each local calendar day (it rolls at local
    midnight in ``policy.day_timezone``; a state counted in another zone starts a new day). Baselines
    are only taken from a positive equity, so an unknown or zero equity can never disable the limits
    (the original's 0.0 at start-up did). A non-positive equity is itself a breach. The breach is
    reported on every observation while it holds; latching it is the caller's decision.
    """
    require_utc(now, "now")
    if not equity.is_finite():
        raise InvalidValueError(f"equity must be finite, got {equity}")
    today = now.astimezone(day_zone(policy.day_timezone)).date()
    same_day = state.day == today and state.day_timezone == policy.day_timezone
    start = state.day_start_equity if same_day else None
    peak = state.peak_equity
    if equity > ZERO:
        start = start if start is not None else equity
        peak = equity if peak is None else max(peak, equity)
    new = LossLimitState(day_timezone=policy.day_timezone, day=today if start is not None else None,
                         day_start_equity=start, peak_equity=peak)
    if equity <= ZERO:
        return new, LossBreach(LossLimitKind.EQUITY, -equity, ZERO, f"bot equity {equity} is not positive")
    return new, _breach(equity, start, peak, policy)


def rearm(state: LossLimitState, equity: Decimal) -> LossLimitState:
    """The limits counted again from ``equity``: an operator resumed trading after a breach and so accepted the
    loss. The day's baseline and the peak become ``equity`` (the same day: a further loss of the limit breaches
    again). A non-positive equity is never re-armed: it stays a breach whatever an operator says."""
    if equity <= ZERO:
        return state
    return attrs.evolve(state, day_start_equity=equity, peak_equity=equity, breached_at=None)


def _breach(equity: Decimal, start: Decimal | None, peak: Decimal | None, policy: LossLimitPolicy) -> LossBreach | None:
    if start is not None and start > ZERO:
        loss = max(ZERO, start - equity)
        pct = loss / start * _HUNDRED
        if policy.max_daily_loss_pct is not None and pct > policy.max_daily_loss_pct:
            return LossBreach(LossLimitKind.DAILY_PERCENT, pct, policy.max_daily_loss_pct,
                              f"daily loss {pct:.2f}% > {policy.max_daily_loss_pct}%")
        if policy.max_daily_loss is not None and loss > policy.max_daily_loss:
            return LossBreach(LossLimitKind.DAILY_ABSOLUTE, loss, policy.max_daily_loss,
                              f"daily loss {loss} > {policy.max_daily_loss}")
    if peak is not None and peak > ZERO and policy.max_drawdown_pct is not None:
        drawdown = (peak - equity) / peak * _HUNDRED
        if drawdown > policy.max_drawdown_pct:
            return LossBreach(LossLimitKind.DRAWDOWN, drawdown, policy.max_drawdown_pct,
                              f"drawdown {drawdown:.2f}% from peak {peak} > {policy.max_drawdown_pct}%")
    return None
