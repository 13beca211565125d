"""Rows of runs, orders, fills and plans."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trader_adapters.sql.mapping.common import (
    LIQUIDITIES,
    ROLES,
    SIDES,
    cached,
    decimal_from,
    enum_reader,
    price_text,
    text_or_none,
    utc_from,
)
from trader_adapters.sql.models import FillRow, OrderRow, PlanRow, RunRow
from trader_core.model.ids import Asset, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, OrderRequest, OrderType, Side
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, IntentStatus, OrderRole, RunRecord, RunStatus, TrackedOrder

__all__ = [
    "FILL_READ_COLUMNS",
    "fill_columns",
    "fill_from_row",
    "fill_reader",
    "order_columns",
    "order_from_row",
    "plan_columns",
    "plan_from_row",
    "run_columns",
    "run_from_row",
]


def run_columns(run: RunRecord) -> dict[str, Any]:
    """Column values of ``run`` (without ``bot_id``)."""
    return {
        "run_id": run.run_id.value,
        "mode": run.mode,
        "started_at": run.started_at,
        "status": run.status.value,
        "finished_at": run.finished_at,
        "config_json": run.config_json,
        "summary_json": run.summary_json,
    }


def run_from_row(row: RunRow) -> RunRecord:
    """The record a runs row holds."""
    return RunRecord(
        run_id=RunId(row.run_id),
        mode=row.mode,
        started_at=row.started_at,
        status=RunStatus(row.status),
        finished_at=row.finished_at,
        config_json=row.config_json,
        summary_json=row.summary_json,
    )


def order_columns(order: TrackedOrder) -> dict[str, Any]:
    """Column values of ``order`` and its request (without ``bot_id``)."""
    request = order.request
    return {
        "run_id": order.run_id.value,
        "client_order_id": request.client_order_id.value,
        "symbol": str(request.symbol),
        "side": request.side.value,
        "order_type": request.order_type.value,
        "quantity": request.quantity.value,
        "price": price_text(request.price),
        "stop_price": price_text(request.stop_price),
        "post_only": request.post_only,
        "role": order.role.value,
        "status": order.status.value,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "plan_id": text_or_none(order.plan_id),
        "venue_order_id": text_or_none(order.venue_order_id),
        "filled_quantity": order.filled_quantity.value,
        "exit_reason": None if order.exit_reason is None else order.exit_reason.value,
        "reason": order.reason,
        "estimated_fee": order.estimated_fee,
    }


def order_from_row(row: OrderRow) -> TrackedOrder:
    """The tracked order an orders row holds."""
    request = OrderRequest(
        client_order_id=ClientOrderId(row.client_order_id),
        symbol=Symbol.parse(row.symbol),
        side=Side(row.side),
        order_type=OrderType(row.order_type),
        quantity=Quantity(row.quantity),
        price=None if row.price is None else Price(row.price),
        stop_price=None if row.stop_price is None else Price(row.stop_price),
        post_only=row.post_only,
    )
    return TrackedOrder(
        run_id=RunId(row.run_id),
        request=request,
        role=OrderRole(row.role),
        status=IntentStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        plan_id=None if row.plan_id is None else PlanId(row.plan_id),
        venue_order_id=None if row.venue_order_id is None else VenueOrderId(row.venue_order_id),
        filled_quantity=Quantity(row.filled_quantity),
        exit_reason=None if row.exit_reason is None else ExitReason(row.exit_reason),
        reason=row.reason,
        estimated_fee=row.estimated_fee,
    )


def fill_columns(record: FillRecord) -> dict[str, Any]:
    """Column values of ``record`` and its fill (without ``bot_id`` and the booking number)."""
    fill = record.fill
    return {
        "run_id": record.run_id.value,
        "venue": record.venue,
        "symbol": str(fill.symbol),
        "trade_id": fill.trade_id.value,
        "venue_order_id": fill.venue_order_id.value,
        "client_order_id": text_or_none(fill.client_order_id),
        "side": fill.side.value,
        "price": fill.price.value,
        "quantity": fill.quantity.value,
        "fee_amount": fill.fee.amount,
        "fee_asset": fill.fee.asset.code,
        "time": fill.time,
        "liquidity": fill.liquidity.value,
        "plan_id": text_or_none(record.plan_id),
        "role": record.role.value,
        "realized_pnl": record.realized_pnl,
        "fee_quote": record.fee_quote,
        "fee_rate": record.fee_rate,
        "fee_rate_source": record.fee_rate_source,
    }


def fill_from_row(row: FillRow) -> FillRecord:
    """The booked fill a fills row holds."""
    fill = Fill(
        trade_id=TradeId(row.trade_id),
        venue_order_id=VenueOrderId(row.venue_order_id),
        client_order_id=None if row.client_order_id is None else ClientOrderId(row.client_order_id),
        symbol=Symbol.parse(row.symbol),
        side=Side(row.side),
        price=Price(row.price),
        quantity=Quantity(row.quantity),
        fee=Money(row.fee_amount, Asset(row.fee_asset)),
        time=row.time,
        liquidity=Liquidity(row.liquidity),
    )
    return FillRecord(
        run_id=RunId(row.run_id),
        venue=row.venue,
        fill=fill,
        plan_id=None if row.plan_id is None else PlanId(row.plan_id),
        role=OrderRole(row.role),
        realized_pnl=row.realized_pnl,
        fee_quote=row.fee_quote,
        fee_rate=row.fee_rate,
        fee_rate_source=row.fee_rate_source,
    )


FILL_READ_COLUMNS = (
    "run_id", "venue", "symbol", "trade_id", "venue_order_id", "client_order_id", "side", "price", "quantity",
    "fee_amount", "fee_asset", "time", "liquidity", "plan_id", "role", "realized_pnl", "fee_quote", "fee_rate",
    "fee_rate_source",
)


def fill_reader() -> Callable[[Any], FillRecord]:
    """A ``fill_from_row`` for many rows selected as ``FILL_READ_COLUMNS`` without type processing
    (``fill_read_columns``): the same validated records, with repeated values (assets, symbols, runs,
    plans, order ids, enums) built once per read instead of once per row."""
    asset, run, plan = cached(Asset), cached(RunId), cached(PlanId)
    client, venue_order = cached(ClientOrderId), cached(VenueOrderId)
    side, liquidity = enum_reader(SIDES, "side"), enum_reader(LIQUIDITIES, "liquidity")
    role = enum_reader(ROLES, "role")
    symbol = Symbol.parse

    def read(row: Any) -> FillRecord:
        # Unpacked by position (FILL_READ_COLUMNS): attribute access by name costs more than the record.
        # Columns arrive as the database's text (no per-column type processing); each value is parsed
        # and validated here exactly as DecimalText and UtcDateTime would: a corrupt row still raises.
        (run_id, venue, symbol_text, trade_id, venue_order_id, client_order_id, side_text, price, quantity,
         fee_amount, fee_asset, time, liquidity_text, plan_id, role_text, realized_pnl, fee_quote, fee_rate,
         fee_rate_source) = row
        fill = Fill(
            trade_id=TradeId(trade_id),
            venue_order_id=venue_order(venue_order_id),
            client_order_id=None if client_order_id is None else client(client_order_id),
            symbol=symbol(symbol_text),
            side=side(side_text),
            price=Price(decimal_from(price)),
            quantity=Quantity(decimal_from(quantity)),
            fee=Money(decimal_from(fee_amount), asset(fee_asset)),
            time=utc_from(time),
            liquidity=liquidity(liquidity_text),
        )
        return FillRecord(
            run_id=run(run_id), venue=venue, fill=fill, plan_id=None if plan_id is None else plan(plan_id),
            role=role(role_text), realized_pnl=decimal_from(realized_pnl), fee_quote=decimal_from(fee_quote),
            fee_rate=None if fee_rate is None else decimal_from(fee_rate), fee_rate_source=fee_rate_source,
        )

    return read


def plan_columns(plan: Plan) -> dict[str, Any]:
    """Column values of ``plan`` (without ``bot_id``)."""
    return {
        "plan_id": plan.plan_id.value,
        "run_id": plan.run_id.value,
        "symbol": str(plan.symbol),
        "side": plan.side.value,
        "status": plan.status.value,
        "entry_client_order_id": plan.entry_client_order_id.value,
        "opened_at": plan.opened_at,
        "quantity": plan.quantity.value,
        "entry_price": price_text(plan.entry_price),
        "entry_filled": plan.entry_filled.value,
        "stop_price": price_text(plan.stop_price),
        "target_price": price_text(plan.target_price),
        "stop_pct": plan.stop_pct,
        "target_pct": plan.target_pct,
        "version": plan.version,
        "closed_at": plan.closed_at,
        "exit_reason": None if plan.exit_reason is None else plan.exit_reason.value,
        "reason": plan.reason,
    }


def plan_from_row(row: PlanRow) -> Plan:
    """The plan a plans row holds."""
    return Plan(
        plan_id=PlanId(row.plan_id),
        run_id=RunId(row.run_id),
        symbol=Symbol.parse(row.symbol),
        side=Side(row.side),
        status=PlanStatus(row.status),
        entry_client_order_id=ClientOrderId(row.entry_client_order_id),
        opened_at=row.opened_at,
        quantity=Quantity(row.quantity),
        entry_price=None if row.entry_price is None else Price(row.entry_price),
        entry_filled=Quantity.zero() if row.entry_filled is None else Quantity(row.entry_filled),
        stop_price=None if row.stop_price is None else Price(row.stop_price),
        target_price=None if row.target_price is None else Price(row.target_price),
        stop_pct=row.stop_pct,
        target_pct=row.target_pct,
        version=row.version,
        closed_at=row.closed_at,
        exit_reason=None if row.exit_reason is None else ExitReason(row.exit_reason),
        reason=row.reason,
    )
