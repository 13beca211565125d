"""``DryRunTrading``: a ``Trading`` port that sends no order. ``trader-app run --dry-run``.

Every order the bot would place is recorded (``withheld``), reported as an ``OrderWithheld`` event and refused
with ``OrderRejectedError("dry run: ...")``: the executor stores the intent as REJECTED and its plan is
cancelled, exactly as for a venue refusal, so nothing is ever assumed filled. Everything else (fills, open
orders, balances, cancels) goes to the venue as usual: reads only, and cancels of orders the bot could never
have placed in this run.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from trader_core.model import Balance, ClientOrderId, ExitBracket, Fill, Order, OrderRejectedError, OrderRequest, Symbol
from trader_core.model.events import OrderWithheld
from trader_core.ports import Clock, Telemetry, Trading

__all__ = ["DRY_RUN_REASON", "DryRunTrading"]

DRY_RUN_REASON = "dry run: order recorded, not sent"


@attrs.define
class DryRunTrading:
    """Wraps a venue; records and refuses every new order."""

    inner: Trading
    telemetry: Telemetry
    clock: Clock
    withheld: list[OrderRequest] = attrs.Factory(list)

    @property
    def venue(self) -> str:
        """The inner venue's name (fills and orders keep their identity)."""
        return self.inner.venue

    @property
    def holds_protective_exits(self) -> bool:
        """As the inner venue."""
        return self.inner.holds_protective_exits

    @property
    def holds_protective_stops(self) -> bool:
        """As the inner venue."""
        return self.inner.holds_protective_stops

    @property
    def acceptance_window(self) -> timedelta | None:
        """As the inner venue."""
        return self.inner.acceptance_window

    def _withhold(self, request: OrderRequest) -> None:
        self.withheld.append(request)
        self.telemetry.emit(OrderWithheld(
            at=self.clock.now(), client_order_id=request.client_order_id.value, symbol=str(request.symbol),
            side=request.side.value, order_type=request.order_type.value, quantity=str(request.quantity.value),
        ))

    async def place_order(self, request: OrderRequest) -> Order:
        """Record the order and refuse it: nothing is sent."""
        self._withhold(request)
        raise OrderRejectedError(f"{DRY_RUN_REASON} ({request.client_order_id.value})")

    async def place_exit_bracket(self, bracket: ExitBracket) -> tuple[Order, Order]:
        """Record both legs and refuse them: nothing is sent."""
        for client_order_id, order_type, price in (
            (bracket.stop_client_order_id, "stop", bracket.stop_price),
            (bracket.target_client_order_id, "target", bracket.target_price),
        ):
            self.telemetry.emit(OrderWithheld(
                at=self.clock.now(), client_order_id=client_order_id.value, symbol=str(bracket.symbol),
                side=bracket.side.value, order_type=f"{order_type} {price.value}", quantity=str(bracket.quantity.value),
            ))
        raise OrderRejectedError(f"{DRY_RUN_REASON} (bracket {bracket.stop_client_order_id.value})")

    async def cancel_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """As the inner port."""
        return await self.inner.cancel_order(symbol, client_order_id)

    async def fetch_order(self, symbol: Symbol, client_order_id: ClientOrderId) -> Order:
        """As the inner port."""
        return await self.inner.fetch_order(symbol, client_order_id)

    async def fetch_open_orders(self, symbol: Symbol) -> tuple[Order, ...]:
        """As the inner port."""
        return await self.inner.fetch_open_orders(symbol)

    async def fetch_fills(self, symbol: Symbol, *, since: datetime | None = None, limit: int = 500) -> tuple[Fill, ...]:
        """As the inner port."""
        return await self.inner.fetch_fills(symbol, since=since, limit=limit)

    async def fetch_balances(self) -> tuple[Balance, ...]:
        """As the inner port."""
        return await self.inner.fetch_balances()

    async def close(self) -> None:
        """As the inner port."""
        await self.inner.close()
