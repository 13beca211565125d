"""RiskManager: the pure risk rules (``risk.py``) applied to what the bot itself holds and has working.

The ``RiskBook`` is built from the bot's own holdings (``PortfolioTracker``, never the account balance)
and its own active orders (``TradingBook``): each working order counts once, for what is left of it.
Loss limits watch the bot's own equity, ``allocation + net PnL`` (realized net of fees, plus open
holdings marked at the last prices); their baselines are stored in the store's ``values`` repository
(key ``risk.loss_limits``, the JSON of ``LossLimitState.as_record()``) so a restart keeps them. A breach
moves trading to REDUCING through the health manager (an indefinite pause: only an operator's resume
ends it); entries are refused while it holds, exits never are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

import attrs

from trader_core.execution import TradingBook, exit_quantity
from trader_core.health import ExchangeHealthManager
from trader_core.model import ZERO, InstrumentRules, InvalidValueError, OrderRole, Price, Quantity, Symbol
from trader_core.model.health import TradingState, TradingStatus
from trader_core.model.stats import Holding
from trader_core.portfolio import PortfolioTracker
from trader_core.ports import Clock, Store
from trader_core.risk.rules import (
    LossBreach,
    LossLimitKind,
    LossLimitPolicy,
    LossLimitState,
    PendingOrder,
    Position,
    RiskBook,
    RiskPolicy,
    RiskVerdict,
    bot_equity,
    check_entry,
    check_exit,
    loss_at_stop,
    observe_equity,
    rearm,
)

__all__ = ["LOSS_LIMITS_KEY", "RiskManager"]

LOSS_LIMITS_KEY = "risk.loss_limits"

_RISK_ROLES = (OrderRole.ENTRY, OrderRole.EXIT)  # protective legs reduce a position the book already counts


@attrs.define
class RiskManager:
    """Entry and exit checks on the bot's own book, and loss limits with persisted baselines.

    ``durable`` False (a replay) keeps the baselines in memory only: replays are independent runs.
    ``loss_policy`` is ``reduce`` (REDUCING: no new entries) or ``flatten`` (REDUCING, and the caller
    exits every plan: see ``flatten_due``).
    """

    store: Store
    clock: Clock
    tracker: PortfolioTracker
    book: TradingBook
    health: ExchangeHealthManager
    policy: RiskPolicy = attrs.Factory(RiskPolicy)
    limits: LossLimitPolicy = attrs.Factory(LossLimitPolicy)
    allocation: Decimal | None = None
    loss_policy: str = "reduce"
    durable: bool = True
    # The venue's rules per symbol: a holding below them (dust a round trip left, e.g. after a fee paid in the base
    # asset) is no position: it can be neither sold nor protected, so it takes no place under ``max_positions``.
    rules: Mapping[Symbol, InstrumentRules] = attrs.Factory(dict)
    _state: LossLimitState | None = attrs.field(default=None, init=False)
    _breach: LossBreach | None = attrs.field(default=None, init=False)
    _flatten_pending: bool = attrs.field(default=False, init=False)

    @property
    def state(self) -> LossLimitState:
        """The loss-limit baselines (loaded from the store on first use)."""
        if self._state is None:
            self._state = self._load()
        return self._state

    @property
    def breach(self) -> LossBreach | None:
        """The loss limit breached at the last observation, if any."""
        return self._breach

    def _load(self) -> LossLimitState:
        if not self.durable:
            return LossLimitState(day_timezone=self.limits.day_timezone)
        with self.store.unit_of_work() as uow:
            text = uow.values.find(LOSS_LIMITS_KEY)
        if text is None:
            return LossLimitState(day_timezone=self.limits.day_timezone)
        try:
            record = json.loads(text)
        except ValueError as exc:
            raise InvalidValueError(f"corrupt {LOSS_LIMITS_KEY} value {text!r}: {exc}") from exc
        return LossLimitState.from_record(record)

    def risk_book(self, marks: Mapping[Symbol, Decimal]) -> RiskBook:
        """The bot's holdings (marked at ``marks``; at their average cost while a symbol has no price yet, so a
        holding never counts 0 toward the exposure cap) and working entries/exits, each counted once."""
        held = []
        for h in self.tracker.holdings():
            mark = Price(marks[h.symbol]) if marks.get(h.symbol) else _at_cost(h)
            if h.quantity > ZERO and not self._dust(h, mark):
                held.append(Position(h.symbol, Quantity(h.quantity), mark))
        positions = tuple(held)
        pending = []
        for order in self.book.orders():
            if order.role not in _RISK_ROLES:
                continue
            request = order.request
            left = request.quantity.value - order.filled_quantity.value
            price = request.price.value if request.price is not None else marks.get(request.symbol)
            if left > ZERO and price:
                pending.append(PendingOrder(request.symbol, request.side, left * price))
        return RiskBook(positions=positions, pending=tuple(pending))

    def _dust(self, holding: Holding, mark: Price | None) -> bool:
        """Whether ``holding`` is below what the venue lets the bot sell (known rules and a mark only)."""
        rules = self.rules.get(holding.symbol)
        if rules is None or mark is None:
            return False
        return not exit_quantity(holding.quantity, Quantity(holding.quantity), mark, rules).sendable

    def exposure_headroom(self, marks: Mapping[Symbol, Decimal]) -> Decimal:
        """What new entries may still add before the exposure cap (quote, never negative), marked at ``marks``."""
        return max(self.policy.max_total_exposure - self.risk_book(marks).exposure(marks), ZERO)

    def trade_loss_cap(self, marks: Mapping[Symbol, Decimal]) -> Decimal | None:
        """What one entry may lose at its stop now (``RiskPolicy.trade_loss_cap`` of the bot's equity at ``marks``);
        None without a cap."""
        policy = self.policy
        if policy.max_trade_loss is None and policy.max_trade_loss_pct is None:
            return None
        return policy.trade_loss_cap(self.equity(marks))

    def entry_room(self, price: Decimal, stop: Decimal | None,
                   marks: Mapping[Symbol, Decimal]) -> tuple[Decimal, str] | None:
        """The largest quantity an entry at ``price`` (its stop at ``stop``; ``marks`` include its symbol at
        ``price``) may buy under the size caps (the total exposure, the per-trade loss), and which cap it is; None at
        a price of 0."""
        if price <= ZERO:
            return None
        total = self.exposure_headroom(marks)
        rooms = [(total / price, f"the exposure headroom {total}")]
        cap = self.trade_loss_cap(marks)
        if cap is not None:
            per_unit = loss_at_stop(Decimal(1), price, stop, self.policy.trade_fee_rate)
            if per_unit > ZERO:
                rooms.append((cap / per_unit, f"the per-trade loss cap {cap}"))
        return min(rooms, key=lambda room: room[0])

    def check_entry(self, symbol: Symbol, quantity: Quantity, price: Price,
                    marks: Mapping[Symbol, Decimal], stop: Decimal | None = None) -> RiskVerdict:
        """May the bot buy ``quantity`` at ``price`` (its stop at ``stop``)? Every entry limit, and any loss-limit
        breach (not one an operator has resumed trading after: the next observation counts the limits from then)."""
        breach = self._breach
        if breach is not None and breach.kind is not LossLimitKind.EQUITY and _resumed_since(
                self.health.status, self.state.breached_at):
            breach = None
        return check_entry(self.risk_book(marks), symbol, quantity, price, self.policy, breach=breach, stop=stop,
                           loss_cap=self.trade_loss_cap(marks))

    def check_exit(self, symbol: Symbol, quantity: Quantity, marks: Mapping[Symbol, Decimal]) -> RiskVerdict:
        """May the bot sell ``quantity``? Yes whenever it reduces what it holds (no entry limit applies)."""
        return check_exit(self.risk_book(marks), symbol, quantity)

    def equity(self, marks: Mapping[Symbol, Decimal]) -> Decimal | None:
        """``allocation + net PnL``: realized net of fees plus open holdings at ``marks`` (at cost
        without a mark). None without an allocation (loss limits off)."""
        if self.allocation is None:
            return None
        unrealized = sum(
            ((h.quantity * marks[h.symbol] - h.cost) if marks.get(h.symbol) else ZERO
             for h in self.tracker.holdings()), ZERO)
        return bot_equity(self.allocation, self.tracker.net_realized + unrealized)

    def observe(self, marks: Mapping[Symbol, Decimal]) -> LossBreach | None:
        """Observe the bot's equity now: roll or keep the baselines (persisted when they change), and on
        a breach move trading to REDUCING (indefinitely) through the health manager."""
        limits = self.limits
        if limits.max_daily_loss is None and limits.max_daily_loss_pct is None and limits.max_drawdown_pct is None:
            return None  # no loss limit configured: nothing to watch (this runs every tick)
        equity = self.equity(marks)
        if equity is None:
            return None
        stored = self.state
        before = stored.recapitalized(self.allocation) if self.allocation is not None else stored
        now = self.clock.now()
        after, breach = observe_equity(before, equity, now, self.limits)
        after = attrs.evolve(after, allocation=before.allocation)
        status = self.health.status
        if breach is not None and _resumed_since(status, before.breached_at) and equity > ZERO:
            # An operator resumed trading after this breach: the loss is accepted and the limits count from here
            # (otherwise the next tick would pause again and "resume" could never end a loss-limit reduction).
            after, breach = rearm(after, equity), None
        else:
            after = attrs.evolve(after, breached_at=None if breach is None else before.breached_at or now)
        if after != stored:
            self._state = after
            self._save(after)
        self._breach = breach
        if breach is not None and (status.state is TradingState.ACTIVE or (
                status.state is TradingState.REDUCING and status.until is not None)):
            self.health.request_pause(None, f"loss limit: {breach.detail}"[:500], "risk")
            self._flatten_pending = self.loss_policy == "flatten"
        return breach

    def flatten_due(self) -> bool:
        """True once after a breach under ``loss_policy = flatten``: the caller exits every plan."""
        due, self._flatten_pending = self._flatten_pending, False
        return due

    def _save(self, state: LossLimitState) -> None:
        if not self.durable:
            return
        with self.store.unit_of_work() as uow:
            uow.values.put(LOSS_LIMITS_KEY, json.dumps(state.as_record(), sort_keys=True))
            uow.commit()


def _resumed_since(status: TradingStatus, breached_at: datetime | None) -> bool:
    """Whether an operator resumed trading (ACTIVE by an operator) after the breach seen at ``breached_at``."""
    return (breached_at is not None and status.state is TradingState.ACTIVE
            and status.source.startswith("operator") and status.since >= breached_at)


def _at_cost(holding: Holding) -> Price | None:
    """The holding's average cost as its mark (None when it cost nothing: a gift or a base-asset rebate)."""
    average = holding.average_cost
    return Price(average) if average is not None and average > ZERO else None
