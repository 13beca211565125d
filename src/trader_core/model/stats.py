"""What the ledger keeps per scope: holdings, running totals, fees per asset and per-day rows.

These are the values the store caches so a restart does not have to replay every fill. A scope is
one replay run (runs are independent) or the whole bot (a live or paper bot trades one account).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

from trader_core.model.errors import InvalidValueError
from trader_core.model.ids import RunId, Symbol
from trader_core.model.money import Money
from trader_core.model.numbers import ZERO, to_decimal

__all__ = ["DayStats", "Holding", "LedgerSnapshot", "LedgerTotals", "StatsScope"]

_BOT_KEY = "bot"
_RUN_PREFIX = "run:"


@attrs.frozen(order=True)
class StatsScope:
    """Which fills a ledger covers: those of one run (``run_id``), or every fill of the bot (None)."""

    run_id: RunId | None = None

    @classmethod
    def for_mode(cls, mode: str, run_id: RunId) -> StatsScope:
        """A replay or a paper run is its own scope (its venue lives one run: its balances start afresh); a
        sandbox or live bot keeps bot-wide stats across its runs."""
        return cls(run_id) if mode in ("replay", "paper") else cls(None)

    @classmethod
    def parse(cls, key: str) -> StatsScope:
        """The scope a stored key names (``bot`` or ``run:<id>``)."""
        if key == _BOT_KEY:
            return cls(None)
        if key.startswith(_RUN_PREFIX):
            return cls(RunId(key[len(_RUN_PREFIX):]))
        raise InvalidValueError(f"invalid ledger scope {key!r}: expected 'bot' or 'run:<id>'")

    @property
    def key(self) -> str:
        """The stored key: ``bot`` or ``run:<id>``."""
        return _BOT_KEY if self.run_id is None else _RUN_PREFIX + self.run_id.value

    def __str__(self) -> str:
        return self.key


@attrs.frozen
class Holding:
    """The bot's position in one symbol: ``quantity`` held and ``cost`` (quote paid for those units)."""

    symbol: Symbol
    quantity: Decimal = ZERO
    cost: Decimal = ZERO

    @property
    def average_cost(self) -> Decimal | None:
        """Cost per unit held; None when flat."""
        return None if self.quantity == ZERO else self.cost / self.quantity

    def market_value(self, price: Decimal) -> Decimal:
        """What the holding is worth at ``price``."""
        return self.quantity * price


@attrs.frozen(kw_only=True)
class LedgerTotals:
    """Running totals over the fills of a scope. ``fees`` are in quote; ``cash`` is the quote cash flow."""

    fills: int = 0
    realized_pnl: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    fees: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    cash: Decimal = attrs.field(default=ZERO, converter=to_decimal)

    @property
    def net(self) -> Decimal:
        """Realized PnL net of fees."""
        return self.realized_pnl - self.fees


@attrs.frozen(kw_only=True)
class DayStats:
    """Totals of the fills whose time falls on ``day`` in the ledger's day time zone."""

    day: date
    fills: int = 0
    realized_pnl: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    fees: Decimal = attrs.field(default=ZERO, converter=to_decimal)
    cash: Decimal = attrs.field(default=ZERO, converter=to_decimal)

    @property
    def net(self) -> Decimal:
        """Realized PnL net of fees."""
        return self.realized_pnl - self.fees


@attrs.frozen(kw_only=True)
class LedgerSnapshot:
    """Everything cached for one scope. Sequences are sorted (holdings by symbol, fees by asset, days)."""

    scope: StatsScope
    day_timezone: str
    totals: LedgerTotals
    holdings: tuple[Holding, ...] = ()
    fees_by_asset: tuple[Money, ...] = ()
    days: tuple[DayStats, ...] = ()

    def day_at(self, now: datetime) -> DayStats:
        """The row of the local day (``day_timezone``; UTC should the name be unknown) that ``now`` falls on; an
        empty one when no fill fell on it."""
        try:
            zone: tzinfo = ZoneInfo(self.day_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = UTC
        today = now.astimezone(zone).date()
        return next((d for d in self.days if d.day == today), None) or DayStats(day=today)
