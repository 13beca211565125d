"""Conversion between table rows and the core's records; the only place that knows both shapes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from trader_adapters.sql.models import FillRow, OrderRow, PlanRow, RunRow
from trader_core.model.commands import CommandName, CommandStatus, OperatorCommand
from trader_core.model.errors import InvalidValueError
from trader_core.model.health import TradingState, TradingStatus
from trader_core.model.ids import Asset, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.market import Candle, Timeframe
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, OrderRequest, OrderType, Side
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, IntentStatus, OrderRole, RunRecord, RunStatus, TrackedOrder
from trader_core.model.stats import DayStats, Holding, LedgerSnapshot, LedgerTotals, StatsScope

__all__ = [
    "FILL_READ_COLUMNS",
    "candle_columns",
    "candle_reader",
    "command_columns",
    "command_from_row",
    "day_columns",
    "fee_columns",
    "fill_columns",
    "fill_from_row",
    "fill_reader",
    "holding_columns",
    "ledger_from_rows",
    "order_columns",
    "order_from_row",
    "plan_columns",
    "plan_from_row",
    "run_columns",
    "run_from_row",
    "totals_columns",
    "trading_state_columns",
    "trading_state_from_row",
]

_K = TypeVar("_K")
_V = TypeVar("_V")


def _text(value: object | None) -> str | None:
    return None if value is None else str(value)


def _price(value: Price | None) -> Any:
    return None if value is None else value.value


# --- runs -------------------------------------------------------------------------------------------


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


# --- orders -----------------------------------------------------------------------------------------


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
        "price": _price(request.price),
        "stop_price": _price(request.stop_price),
        "post_only": request.post_only,
        "role": order.role.value,
        "status": order.status.value,
        "created_at": order.created_at,
        "updated_at": order.updated_at,
        "plan_id": _text(order.plan_id),
        "venue_order_id": _text(order.venue_order_id),
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


# --- fills ------------------------------------------------------------------------------------------


def fill_columns(record: FillRecord) -> dict[str, Any]:
    """Column values of ``record`` and its fill (without ``bot_id`` and the booking number)."""
    fill = record.fill
    return {
        "run_id": record.run_id.value,
        "venue": record.venue,
        "symbol": str(fill.symbol),
        "trade_id": fill.trade_id.value,
        "venue_order_id": fill.venue_order_id.value,
        "client_order_id": _text(fill.client_order_id),
        "side": fill.side.value,
        "price": fill.price.value,
        "quantity": fill.quantity.value,
        "fee_amount": fill.fee.amount,
        "fee_asset": fill.fee.asset.code,
        "time": fill.time,
        "liquidity": fill.liquidity.value,
        "plan_id": _text(record.plan_id),
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


_SIDES = {side.value: side for side in Side}
_LIQUIDITIES = {liquidity.value: liquidity for liquidity in Liquidity}
_ROLES = {role.value: role for role in OrderRole}
_CACHE_LIMIT = 4096


def _cached(make: Callable[[_K], _V]) -> Callable[[_K], _V]:
    """``make`` memoised over a bounded dict: ids and assets repeat across the rows of one read."""
    memo: dict[_K, _V] = {}

    def get(key: _K) -> _V:
        value = memo.get(key)
        if value is None:
            if len(memo) >= _CACHE_LIMIT:
                memo.clear()
            value = memo[key] = make(key)
        return value

    return get


def _enum(values: dict[str, _V], kind: str) -> Callable[[str], _V]:
    def get(text: str) -> _V:
        try:
            return values[text]
        except KeyError:
            raise InvalidValueError(f"stored {kind} {text!r} is not one of {sorted(values)}") from None

    return get


FILL_READ_COLUMNS = (
    "run_id", "venue", "symbol", "trade_id", "venue_order_id", "client_order_id", "side", "price", "quantity",
    "fee_amount", "fee_asset", "time", "liquidity", "plan_id", "role", "realized_pnl", "fee_quote", "fee_rate",
    "fee_rate_source",
)


def _decimal(text: Any) -> Decimal:
    """A stored decimal's text as the exact ``Decimal`` (what ``DecimalText`` reads)."""
    if type(text) is not str:
        raise InvalidValueError(f"stored value {text!r} is not decimal text")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise InvalidValueError(f"stored value {text!r} is not a decimal number") from None


def _utc(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (what ``UtcDateTime`` reads): ISO text, or a native value."""
    if type(value) is str:
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidValueError(f"stored time {value!r} is not an aware datetime")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def fill_reader() -> Callable[[Any], FillRecord]:
    """A ``fill_from_row`` for many rows selected as ``FILL_READ_COLUMNS`` without type processing
    (``fill_read_columns``): the same validated records, with repeated values (assets, symbols, runs,
    plans, order ids, enums) built once per read instead of once per row."""
    asset, run, plan = _cached(Asset), _cached(RunId), _cached(PlanId)
    client, venue_order = _cached(ClientOrderId), _cached(VenueOrderId)
    side, liquidity, role = _enum(_SIDES, "side"), _enum(_LIQUIDITIES, "liquidity"), _enum(_ROLES, "role")
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
            price=Price(_decimal(price)),
            quantity=Quantity(_decimal(quantity)),
            fee=Money(_decimal(fee_amount), asset(fee_asset)),
            time=_utc(time),
            liquidity=liquidity(liquidity_text),
        )
        return FillRecord(
            run_id=run(run_id), venue=venue, fill=fill, plan_id=None if plan_id is None else plan(plan_id),
            role=role(role_text), realized_pnl=_decimal(realized_pnl), fee_quote=_decimal(fee_quote),
            fee_rate=None if fee_rate is None else _decimal(fee_rate), fee_rate_source=fee_rate_source,
        )

    return read


# --- the cached ledger ------------------------------------------------------------------------------


def totals_columns(day_timezone: str, totals: LedgerTotals) -> dict[str, Any]:
    """Column values of a scope's totals (without ``bot_id`` and ``scope``)."""
    return {"day_timezone": day_timezone, "fills": totals.fills, "realized_pnl": totals.realized_pnl,
            "fees": totals.fees, "cash": totals.cash}


def holding_columns(holding: Holding) -> dict[str, Any]:
    """Column values of one cached holding (without ``bot_id`` and ``scope``)."""
    return {"symbol": str(holding.symbol), "quantity": holding.quantity, "cost": holding.cost}


def fee_columns(total: Money) -> dict[str, Any]:
    """Column values of one asset's fee total (without ``bot_id`` and ``scope``)."""
    return {"asset": total.asset.code, "amount": total.amount}


def day_columns(day: DayStats) -> dict[str, Any]:
    """Column values of one day row (without ``bot_id`` and ``scope``); the day as ISO text."""
    return {"day": day.day.isoformat(), "fills": day.fills, "realized_pnl": day.realized_pnl, "fees": day.fees,
            "cash": day.cash}


def ledger_from_rows(
    scope: StatsScope, totals: Any, holdings: list[Any], fees: list[Any], days: list[Any]
) -> LedgerSnapshot:
    """The cached ledger the rows of one scope hold."""
    return LedgerSnapshot(
        scope=scope,
        day_timezone=totals.day_timezone,
        totals=LedgerTotals(fills=totals.fills, realized_pnl=totals.realized_pnl, fees=totals.fees, cash=totals.cash),
        holdings=tuple(Holding(Symbol.parse(r.symbol), r.quantity, r.cost) for r in holdings),
        fees_by_asset=tuple(Money(r.amount, Asset(r.asset)) for r in fees),
        days=tuple(
            DayStats(day=date.fromisoformat(r.day), fills=r.fills, realized_pnl=r.realized_pnl, fees=r.fees,
                     cash=r.cash)
            for r in days
        ),
    )


# --- plans ------------------------------------------------------------------------------------------


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
        "entry_price": _price(plan.entry_price),
        "stop_price": _price(plan.stop_price),
        "target_price": _price(plan.target_price),
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
        stop_price=None if row.stop_price is None else Price(row.stop_price),
        target_price=None if row.target_price is None else Price(row.target_price),
        stop_pct=row.stop_pct,
        target_pct=row.target_pct,
        version=row.version,
        closed_at=row.closed_at,
        exit_reason=None if row.exit_reason is None else ExitReason(row.exit_reason),
        reason=row.reason,
    )


# --- the trading state ------------------------------------------------------------------------------


_TRADING_STATES = {state.value: state for state in TradingState}


def trading_state_columns(status: TradingStatus) -> dict[str, Any]:
    """Column values of the bot's trading state (without ``bot_id``)."""
    return {"state": status.state.value, "reason": status.reason, "source": status.source, "since": status.since,
            "until": status.until}


def trading_state_from_row(row: Any) -> TradingStatus:
    """The trading state a row holds."""
    state = _TRADING_STATES.get(row.state)
    if state is None:
        raise InvalidValueError(f"stored trading state {row.state!r} is not one of {sorted(_TRADING_STATES)}")
    return TradingStatus(state=state, reason=row.reason, source=row.source, since=row.since,
                         until=row.until)


# --- captured candles ----------------------------------------------------------------------------------


def candle_columns(candle: Candle) -> dict[str, Any]:
    """Column values of a captured candle (without ``bot_id``)."""
    return {"symbol": str(candle.symbol), "timeframe": candle.timeframe.text, "open_time": candle.open_time,
            "open": candle.open, "high": candle.high, "low": candle.low, "close": candle.close,
            "volume": candle.volume}


def candle_reader(symbol: Symbol, timeframe: Timeframe) -> Callable[[Any], Candle]:
    """Rows of one (symbol, timeframe), selected as (open_time, open, high, low, close, volume), as candles
    (validated again: a stored row that is not a valid candle raises)."""

    def read(row: Any) -> Candle:
        return Candle(symbol=symbol, timeframe=timeframe, open_time=row.open_time, open=row.open, high=row.high,
                      low=row.low, close=row.close, volume=row.volume)

    return read


def command_columns(command: OperatorCommand) -> dict[str, Any]:
    """Column values of ``command`` (without ``bot_id``)."""
    return {
        "command_id": command.command_id, "name": command.name.value, "minutes": command.minutes,
        "status": command.status.value, "result": command.result, "created_at": command.created_at,
        "handled_at": command.handled_at,
    }


def command_from_row(row: Any) -> OperatorCommand:
    """The command a commands row holds."""
    return OperatorCommand(
        command_id=row.command_id, name=CommandName(row.name), minutes=row.minutes,
        status=CommandStatus(row.status), result=row.result, created_at=row.created_at,
        handled_at=row.handled_at,
    )
