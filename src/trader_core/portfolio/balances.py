"""The balance sanity report: the bot's ledger against the venue's balances, asset by asset.

For each asset: what the bot holds by its own fills, what the venue shows, and the change since the
baseline explained as the bot's fills, its fees, known activity outside the bot, and a residue nothing
explains. Nothing in the account the bot did not buy is ever counted as the bot's: the bot's holding
comes from its fills alone; the rest of the balance is reported as ``others``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal

import attrs

from trader_core.model import ZERO, Asset, Balance
from trader_core.model.events import BalanceMismatchDetected, BalancesReconciled, CapitalAboveAccount
from trader_core.model.stats import Holding
from trader_core.portfolio.ledger_state import AssetFlow
from trader_core.ports import Clock, Telemetry, Trading

__all__ = ["CAPITAL_MARGIN", "VENUE_CLOCK_MARGIN", "BalanceCheck", "BalanceLine", "balance_lines"]

# How far a venue's fill time may lie from this host's clock: a fill stamped within it of the baseline's read may
# be in the baseline or not (a stop that fills while the balances are being read, at a restart).
VENUE_CLOCK_MARGIN = timedelta(seconds=2)

# How much more than the account holds the bot's capital may be before it is reported (fees paid in a third asset,
# rounding): 1 %.
CAPITAL_MARGIN = Decimal("0.01")


@attrs.frozen(kw_only=True)
class BalanceLine:
    """One asset of the report. ``residue`` is None without a baseline; ``shortfall`` > 0 means the venue
    holds less than the bot's own fills say it owns."""

    asset: Asset
    bot_holding: Decimal
    venue: Decimal
    start: Decimal | None
    bot_fills: Decimal
    fees: Decimal
    outside: Decimal
    residue: Decimal | None
    tolerance: Decimal

    @property
    def others(self) -> Decimal:
        """What the venue holds beyond the bot's holding: never the bot's."""
        return max(ZERO, self.venue - self.bot_holding)

    @property
    def shortfall(self) -> Decimal:
        """How much less the venue holds than the bot's holding."""
        return max(ZERO, self.bot_holding - self.venue)

    @property
    def flagged(self) -> bool:
        """True when the residue or the shortfall exceeds the tolerance."""
        return self.shortfall > self.tolerance or (self.residue is not None and abs(self.residue) > self.tolerance)


def balance_lines(
    *,
    holdings: Iterable[Holding],
    flows: Mapping[Asset, AssetFlow],
    start: Iterable[Balance] | None,
    now: Iterable[Balance],
    tolerance: Decimal,
    outside: Mapping[Asset, Decimal] | None = None,
) -> tuple[BalanceLine, ...]:
    """The report, sorted by asset. Pure. ``flows`` are what the bot's fills since ``start`` moved;
    ``outside`` is activity outside the bot the caller knows of (e.g. foreign fills, transfers)."""
    held: dict[Asset, Decimal] = {}
    for holding in holdings:
        held[holding.symbol.base] = held.get(holding.symbol.base, ZERO) + holding.quantity
    venue = {balance.asset: balance.total for balance in now}
    before = None if start is None else {balance.asset: balance.total for balance in start}
    known = outside or {}
    assets = set(held) | set(venue) | set(flows) | set(known) | set(before or ())
    lines = []
    for asset in sorted(assets):
        flow = flows.get(asset) or AssetFlow()
        extra = known.get(asset, ZERO)
        now_total = venue.get(asset, ZERO)
        first = None if before is None else before.get(asset, ZERO)
        residue = None if first is None else now_total - first - flow.fills - flow.fees - extra
        lines.append(BalanceLine(
            asset=asset, bot_holding=held.get(asset, ZERO), venue=now_total, start=first, bot_fills=flow.fills,
            fees=flow.fees, outside=extra, residue=residue, tolerance=tolerance,
        ))
    return tuple(lines)


@attrs.define
class BalanceCheck:
    """Takes the venue's balances as a baseline when a run starts, and reports against them when it ends
    (``StrategyOrchestrator``: ``baseline`` after start-up, ``report`` before the summary)."""

    trading: Trading
    telemetry: Telemetry
    clock: Clock
    tolerance: Decimal = Decimal("0.00000001")
    _start: tuple[Balance, ...] | None = attrs.field(default=None, init=False)
    since: datetime | None = attrs.field(default=None, init=False)  # when the baseline was asked for
    answered: datetime | None = attrs.field(default=None, init=False)  # when its answer came

    async def baseline(self) -> None:
        """Remember the venue's balances now, and when they were asked for and answered: a fill executed
        before the question is in them, one after the answer is not, one in between may be either."""
        since = self.clock.now()
        self._start = await self.trading.fetch_balances()
        self.since, self.answered = since, self.clock.now()

    def check_capital(self, capital: Decimal, quote: Asset, holdings: Iterable[Holding]) -> CapitalAboveAccount | None:
        """After the baseline: whether the account holds the bot's ``capital`` (its allocation plus its realized
        PnL net of fees), counting ``quote`` on the venue and the bot's own holdings at cost. When it holds less
        (by more than ``CAPITAL_MARGIN``), ``CapitalAboveAccount`` is emitted and returned: the loss limits in
        percent, counted from that capital, would let the bot lose more of the account than they say."""
        if self._start is None:
            return None
        on_venue = sum((b.total for b in self._start if b.asset == quote), ZERO)
        account = on_venue + sum((h.cost for h in holdings if h.symbol.quote == quote), ZERO)
        if capital <= account * (1 + CAPITAL_MARGIN):
            return None
        event = CapitalAboveAccount(at=self.clock.now(), asset=quote.code, capital=str(capital), account=str(account))
        self.telemetry.emit(event)
        return event

    async def report(
        self, holdings: Callable[[], Iterable[Holding]], flows: Callable[[datetime | None], Mapping[Asset, AssetFlow]],
        outside: Mapping[Asset, Decimal] | None = None, *, sync: Callable[[], Awaitable[None]] | None = None,
    ) -> tuple[BalanceLine, ...]:
        """Compare the venue's balances now with the bot's ledger; emit a health event per flagged asset.

        ``holdings()`` is what the bot holds by its fills, ``flows(since)`` what its fills executed at or after
        ``since`` moved (None: all of them). The fills executed since the baseline was asked for are counted;
        should that leave a residue, the fills stamped within ``VENUE_CLOCK_MARGIN`` of the baseline's read are taken
        as not in it, then as in it, and the reading that leaves the fewest assets unexplained is reported (clean
        when one explains them all). Should assets still be flagged and ``sync`` be given (the bot's fill sync), it
        runs and the venue is read again once: a fill the venue made while its balances were on their way shows
        in them before the ledger books it."""
        lines = await self._compare(holdings, flows, outside)
        if any(line.flagged for line in lines) and sync is not None:
            await sync()
            lines = await self._compare(holdings, flows, outside)
        at = self.clock.now()
        flagged = [line for line in lines if line.flagged]
        for line in flagged:
            self.telemetry.emit(BalanceMismatchDetected(
                at=at, asset=line.asset.code, expected=str(line.bot_holding), venue=str(line.venue),
                outside=str(line.outside), residue=str(line.residue if line.residue is not None else -line.shortfall),
                tolerance=str(line.tolerance),
            ))
        if not flagged:
            self.telemetry.emit(BalancesReconciled(at=at, assets=len(lines)))
        return lines

    async def _compare(
        self, holdings: Callable[[], Iterable[Holding]], flows: Callable[[datetime | None], Mapping[Asset, AssetFlow]],
        outside: Mapping[Asset, Decimal] | None,
    ) -> tuple[BalanceLine, ...]:
        now = await self.trading.fetch_balances()
        held = tuple(holdings())

        def lines_from(since: datetime | None) -> tuple[BalanceLine, ...]:
            return balance_lines(holdings=held, flows=flows(since), start=self._start, now=now,
                                 tolerance=self.tolerance, outside=outside)

        lines = lines_from(self.since)
        if any(line.flagged for line in lines) and self.since is not None and self.answered is not None:
            alternatives = (lines_from(self.since - VENUE_CLOCK_MARGIN), lines_from(self.answered + VENUE_CLOCK_MARGIN))
            lines = min((lines, *alternatives), key=lambda some: sum(line.flagged for line in some))
        return lines
