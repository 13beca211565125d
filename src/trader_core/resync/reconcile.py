"""StartupReconciler: the gate between a restart and trading. The stored view against the venue's."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

import attrs

from trader_core.execution import is_own
from trader_core.health import ExchangeHealthManager
from trader_core.model import ZERO, Asset, ClientOrderId, ExchangeError, IntentStatus, Order, Symbol
from trader_core.model.events import ReconciliationReported
from trader_core.model.health import TradingState
from trader_core.portfolio import Holding
from trader_core.ports import Telemetry
from trader_core.resync.service import ResyncService

__all__ = ["ReconciliationReport", "StartupReconciler"]

GATE_SOURCE = "reconciliation"


@attrs.frozen(kw_only=True)
class ReconciliationReport:
    """What start-up reconciliation found (client order ids; see ``ReconciliationReported``)."""

    adopted: tuple[str, ...] = ()
    closed_while_away: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    unexpected: tuple[str, ...] = ()
    concluded_found_open: tuple[str, ...] = ()
    still_open: tuple[str, ...] = ()
    foreign: int = 0
    fills_booked: int = 0
    balance_issues: tuple[str, ...] = ()
    error: str | None = None

    @property
    def clean(self) -> bool:
        """True when nothing needs a person (every intent is resolved and the venue agrees) and no order the bot gave
        up is still open at the venue."""
        return not (self.missing or self.lost or self.unexpected or self.still_open or self.balance_issues
                    or self.error)

    def problems(self) -> str:
        """A one-line account of what is not clean."""
        parts = [f"{name}: {', '.join(ids)}" for name, ids in (
            ("unresolved", self.missing), ("lost", self.lost), ("unexpected", self.unexpected),
            ("given up yet open, cancel unanswered", self.still_open), ("balances", self.balance_issues),
        ) if ids]
        if self.error:
            parts.append(f"failed: {self.error}")
        return "; ".join(parts)[:400]


@attrs.define
class StartupReconciler:
    """Before the first tick of a live, sandbox or paper run (the book holds the bot's active orders and
    plans of every earlier run):

    1. the venue's open orders of each symbol: the bot's (by client-id prefix) are adopted; those it had
       concluded absent or lost (the venue placed them late) cancelled; those with no stored intent reported as
       unexpected; everyone else's counted as foreign and never touched;
    2. fills since the persisted cursor, paginated until exhausted, each booked once by trade id;
    3. every stored intent no longer open is looked up (up to ``rounds`` times: an intent never
       acknowledged and still not found is proven absent, FAILED; an acknowledged one becomes LOST);
    4. balances: the venue must hold at least what the bot's own fills say it holds.

    The report is emitted (``ReconciliationReported``). Unless it is clean or ``accept`` is given, trading
    is REDUCING (no new entries; exits and protection go on) until a later sync finds the view clean.
    """

    resync: ResyncService
    health: ExchangeHealthManager
    telemetry: Telemetry
    symbols: tuple[Symbol, ...]
    prefix: str
    rounds: int = 3
    pending: bool = attrs.field(default=False, init=False)
    report: ReconciliationReport | None = attrs.field(default=None, init=False)

    async def reconcile(self, *, accept: bool = False) -> ReconciliationReport:
        """Run the reconciliation, emit its report and set the gate."""
        try:
            report = await self._reconcile()
        except ExchangeError as exc:
            report = ReconciliationReport(error=f"{type(exc).__name__}: {exc}"[:300])
        self.report = report
        gate = "clean" if report.clean else "accepted" if accept else "reducing"
        if gate == "reducing":
            self.pending = True
            self.health.request_pause(None, f"reconciliation not clean: {report.problems()}", GATE_SOURCE)
        else:
            self._lift()
        now = self.resync.executor.clock.now()
        self.telemetry.emit(ReconciliationReported(
            at=now, adopted=report.adopted, closed_while_away=report.closed_while_away, absent=report.absent,
            missing=report.missing, lost=report.lost, unexpected=report.unexpected,
            concluded_found_open=report.concluded_found_open, foreign=report.foreign,
            fills_booked=report.fills_booked, balance_issues=report.balance_issues, gate=gate,
        ))
        return report

    async def review(self) -> None:
        """After a tick's sync: a reconciliation the venue could not answer is run again; otherwise the gate
        lifts once no intent of the bot is unresolved, no order it gave up is still open at the venue, and the
        venue holds what the bot's fills say (read again while a shortfall was reported: a fill booked since
        explains it). Lost and unexpected orders, and a shortfall that stays, need the operator."""
        if not self.pending or self.report is None:
            return
        if self.report.error is not None:
            await self.reconcile()
            return
        unresolved = [o for o in self.resync.book.orders()
                      if o.status in (IntentStatus.PENDING_SUBMIT, IntentStatus.UNKNOWN)]
        if unresolved or self.resync.concluded_still_open:
            return
        if self.report.lost or self.report.unexpected:
            return
        if self.report.balance_issues:
            try:
                if await self._balances():
                    return  # the venue still holds less than the bot's fills (a shortfall that is gone lifts the gate)
            except ExchangeError:
                return  # not answered: the gate holds, the next tick reads again
        self._lift()

    def accept(self) -> bool:
        """The operator accepts the report read so far (``trader-app command accept-reconciliation``): the gate
        lifts now. False when no gate was in force."""
        if not self.pending:
            return False
        self._lift()
        return True

    def _lift(self) -> None:
        self.pending = False
        status = self.health.status
        if status.state is TradingState.REDUCING and status.source == GATE_SOURCE:
            self.health.resume(GATE_SOURCE)

    async def _reconcile(self) -> ReconciliationReport:
        resync, book = self.resync, self.resync.book
        trading = resync.trading
        before = {o.client_order_id: o for o in book.orders()}
        symbols = sorted(set(self.symbols) | book.symbols_with_orders())
        adopted: list[str] = []
        unexpected: list[str] = []
        concluded: list[str] = []
        foreign = 0
        for symbol in symbols:
            unknown: dict[ClientOrderId, Order] = {}
            for order in await trading.fetch_open_orders(symbol):
                cid = order.client_order_id
                if not is_own(self.prefix, cid):
                    foreign += 1
                elif cid in before:
                    adopted.append(cid.value)
                else:
                    unknown[cid] = order
            given_up = await resync.cancel_concluded(symbol, unknown) if unknown else ()
            concluded.extend(cid.value for cid in given_up)
            unexpected.extend(cid.value for cid in unknown if cid not in given_up)
        booked = resync.booked
        for _ in range(max(1, self.rounds)):
            await resync.sync(symbols, max_lookups=len(before) + 1)
            if not any(o.status in (IntentStatus.PENDING_SUBMIT, IntentStatus.UNKNOWN) for o in book.orders()):
                break
        closed, absent, missing, lost = [], [], [], []
        with resync.executor.store.unit_of_work() as uow:
            now_stored = {cid: uow.orders.find(cid) for cid in before}
        for cid, stored in now_stored.items():
            status = None if stored is None else stored.status
            if status is IntentStatus.FAILED:
                absent.append(cid.value)
            elif status is IntentStatus.LOST:
                lost.append(cid.value)
            elif status in (IntentStatus.PENDING_SUBMIT, IntentStatus.UNKNOWN):
                missing.append(cid.value)
            elif status is not None and not status.is_active:
                closed.append(cid.value)
        shortfalls = await self._confirmed_shortfalls(symbols, len(before) + 1)
        return ReconciliationReport(
            adopted=tuple(adopted), closed_while_away=tuple(closed), absent=tuple(absent), missing=tuple(missing),
            lost=tuple(lost), unexpected=tuple(unexpected), concluded_found_open=tuple(concluded),
            still_open=tuple(sorted(cid.value for cid in resync.concluded_still_open)), foreign=foreign,
            fills_booked=resync.booked - booked, balance_issues=shortfalls,
        )

    async def _confirmed_shortfalls(self, symbols: list[Symbol], lookups: int) -> tuple[str, ...]:
        """The assets the venue holds less of than the bot's fills say, read twice: a sale the venue made while
        the balances were on their way (a stop, a target, a resting exit) shows in them but was not among the fills
        just read, so the fills are read once more before the balances again."""
        shortfalls = await self._balances()
        if shortfalls:
            await self.resync.sync(symbols, max_lookups=lookups)
            shortfalls = await self._balances()
        return shortfalls

    async def _balances(self) -> tuple[str, ...]:
        venue = {b.asset: b.total for b in await self.resync.trading.fetch_balances()}
        return tuple(_shortfalls(self.resync.tracker.holdings(), venue))


def _shortfalls(holdings: Iterable[Holding], venue: Mapping[Asset, Decimal]) -> Iterable[str]:
    for holding in holdings:
        asset, held = holding.symbol.base, holding.quantity
        have = venue.get(asset, ZERO)
        if held > ZERO and have < held:
            yield f"{asset}: the venue holds {have}, the bot's fills {held}"
