"""Table rows of the SQL store: plain columns (text ids, enum values, exact decimals, UTC times).

Rows are not domain values; ``mapping`` converts between the two. Every row carries ``bot_id``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from trader_adapters.sql.types import DecimalText, UtcDateTime

__all__ = [
    "Base",
    "CandleRow",
    "CommandRow",
    "FillRow",
    "LeaseRow",
    "LedgerDayRow",
    "LedgerFeeRow",
    "LedgerHoldingRow",
    "LedgerTotalsRow",
    "LlmCallRow",
    "OrderRow",
    "PlanRow",
    "RunRow",
    "SequenceRow",
    "TradingStateRow",
    "ValueRow",
    "metadata",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

# Lengths follow the domain's own limits where it has them (BotId, ClientOrderId, Asset); other ids
# are unbounded in the domain, so they are unbounded here too.
_BOT = 32
_CLIENT_ORDER_ID = 36
_SYMBOL = 41  # two 20-character asset codes and the slash
_ASSET = 20
_ENUM = 32
_SCOPE = 64  # "bot" or "run:<run id>"
_DAY = 10  # ISO date, YYYY-MM-DD: text order is date order


class Base(DeclarativeBase):
    """Declarative base bound to the store's metadata."""

    metadata = metadata


class RunRow(Base):
    """One run of a bot."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("bot_id", "run_id"),
        Index(None, "bot_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    run_id: Mapped[str] = mapped_column(String)
    mode: Mapped[str] = mapped_column(String)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(_ENUM))
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    config_json: Mapped[str] = mapped_column(Text)
    summary_json: Mapped[str | None] = mapped_column(Text)


class OrderRow(Base):
    """One tracked order intent: the request as sent and what the venue said about it."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("bot_id", "client_order_id"),
        Index(None, "bot_id", "run_id", "created_at"),
        Index(None, "bot_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    run_id: Mapped[str] = mapped_column(String)
    client_order_id: Mapped[str] = mapped_column(String(_CLIENT_ORDER_ID))
    symbol: Mapped[str] = mapped_column(String(_SYMBOL))
    side: Mapped[str] = mapped_column(String(_ENUM))
    order_type: Mapped[str] = mapped_column(String(_ENUM))
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    price: Mapped[Decimal | None] = mapped_column(DecimalText)
    stop_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    post_only: Mapped[bool]
    role: Mapped[str] = mapped_column(String(_ENUM))
    status: Mapped[str] = mapped_column(String(_ENUM))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    plan_id: Mapped[str | None] = mapped_column(String)
    venue_order_id: Mapped[str | None] = mapped_column(String)
    filled_quantity: Mapped[Decimal] = mapped_column(DecimalText)
    exit_reason: Mapped[str | None] = mapped_column(String(_ENUM))
    reason: Mapped[str] = mapped_column(Text)
    estimated_fee: Mapped[Decimal | None] = mapped_column(DecimalText)


class FillRow(Base):
    """One booked fill. ``booking_seq`` only grows, so ordering by it gives booking order."""

    __tablename__ = "fills"
    __table_args__ = (
        UniqueConstraint("bot_id", "venue", "symbol", "trade_id"),
        Index(None, "bot_id", "run_id"),
        # A plan's fills of a run, entries apart: the API's round-trip pages (revision 0011).
        Index(None, "bot_id", "run_id", "plan_id", "role"),
        # AUTOINCREMENT: SQLite must never reuse a booking number, even of a deleted last row.
        {"sqlite_autoincrement": True},
    )

    booking_seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    run_id: Mapped[str] = mapped_column(String)
    venue: Mapped[str] = mapped_column(String)
    symbol: Mapped[str] = mapped_column(String(_SYMBOL))
    trade_id: Mapped[str] = mapped_column(String)
    venue_order_id: Mapped[str] = mapped_column(String)
    client_order_id: Mapped[str | None] = mapped_column(String(_CLIENT_ORDER_ID))
    side: Mapped[str] = mapped_column(String(_ENUM))
    price: Mapped[Decimal] = mapped_column(DecimalText)
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    fee_amount: Mapped[Decimal] = mapped_column(DecimalText)
    fee_asset: Mapped[str] = mapped_column(String(_ASSET))
    time: Mapped[datetime] = mapped_column(UtcDateTime)
    liquidity: Mapped[str] = mapped_column(String(_ENUM))
    plan_id: Mapped[str | None] = mapped_column(String)
    role: Mapped[str] = mapped_column(String(_ENUM))
    realized_pnl: Mapped[Decimal] = mapped_column(DecimalText)
    fee_quote: Mapped[Decimal] = mapped_column(DecimalText)
    fee_rate: Mapped[Decimal | None] = mapped_column(DecimalText)
    fee_rate_source: Mapped[str | None] = mapped_column(String)


class PlanRow(Base):
    """One trade plan at its latest version."""

    __tablename__ = "plans"
    __table_args__ = (
        UniqueConstraint("bot_id", "plan_id"),
        CheckConstraint("version >= 1", name="version_positive"),
        Index(None, "bot_id", "run_id", "opened_at"),
        Index(None, "bot_id", "status", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    plan_id: Mapped[str] = mapped_column(String)
    run_id: Mapped[str] = mapped_column(String)
    symbol: Mapped[str] = mapped_column(String(_SYMBOL))
    side: Mapped[str] = mapped_column(String(_ENUM))
    status: Mapped[str] = mapped_column(String(_ENUM))
    entry_client_order_id: Mapped[str] = mapped_column(String(_CLIENT_ORDER_ID))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    entry_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    stop_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    target_price: Mapped[Decimal | None] = mapped_column(DecimalText)
    stop_pct: Mapped[Decimal | None] = mapped_column(DecimalText)
    target_pct: Mapped[Decimal | None] = mapped_column(DecimalText)
    # The gross quantity the entry bought (revision 0012): the weight of ``entry_price`` when a later entry fill
    # moves the average.
    entry_filled: Mapped[Decimal | None] = mapped_column(DecimalText)
    version: Mapped[int] = mapped_column(Integer)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    exit_reason: Mapped[str | None] = mapped_column(String(_ENUM))
    reason: Mapped[str] = mapped_column(Text)


class SequenceRow(Base):
    """A named counter of a bot; ``value`` is the last number handed out."""

    __tablename__ = "sequences"
    __table_args__ = (
        UniqueConstraint("bot_id", "name"),
        CheckConstraint("value >= 1", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    name: Mapped[str] = mapped_column(String)
    value: Mapped[int] = mapped_column(Integer)


# --- the cached ledger (0002): one set of rows per bot and scope ("bot", or "run:<id>" for a replay) ---


class LedgerTotalsRow(Base):
    """Running totals of one scope and the time zone its per-day rows are counted in."""

    __tablename__ = "ledger_totals"
    __table_args__ = (UniqueConstraint("bot_id", "scope"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    scope: Mapped[str] = mapped_column(String(_SCOPE))
    day_timezone: Mapped[str] = mapped_column(String)
    fills: Mapped[int] = mapped_column(Integer)
    realized_pnl: Mapped[Decimal] = mapped_column(DecimalText)
    fees: Mapped[Decimal] = mapped_column(DecimalText)
    cash: Mapped[Decimal] = mapped_column(DecimalText)


class LedgerHoldingRow(Base):
    """The holding of one symbol in one scope (quantity held and the quote paid for it)."""

    __tablename__ = "ledger_holdings"
    __table_args__ = (UniqueConstraint("bot_id", "scope", "symbol"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    scope: Mapped[str] = mapped_column(String(_SCOPE))
    symbol: Mapped[str] = mapped_column(String(_SYMBOL))
    quantity: Mapped[Decimal] = mapped_column(DecimalText)
    cost: Mapped[Decimal] = mapped_column(DecimalText)


class LedgerFeeRow(Base):
    """The total fee paid in one asset in one scope."""

    __tablename__ = "ledger_fees"
    __table_args__ = (UniqueConstraint("bot_id", "scope", "asset"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    scope: Mapped[str] = mapped_column(String(_SCOPE))
    asset: Mapped[str] = mapped_column(String(_ASSET))
    amount: Mapped[Decimal] = mapped_column(DecimalText)


class LedgerDayRow(Base):
    """Totals of one calendar day (in the scope's day time zone) in one scope."""

    __tablename__ = "ledger_days"
    __table_args__ = (UniqueConstraint("bot_id", "scope", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    scope: Mapped[str] = mapped_column(String(_SCOPE))
    day: Mapped[str] = mapped_column(String(_DAY))
    fills: Mapped[int] = mapped_column(Integer)
    realized_pnl: Mapped[Decimal] = mapped_column(DecimalText)
    fees: Mapped[Decimal] = mapped_column(DecimalText)
    cash: Mapped[Decimal] = mapped_column(DecimalText)


# --- the trading state (0003): one row per bot ------------------------------------------------------


class TradingStateRow(Base):
    """The bot's trading state (active, reducing, halted), why, who asked, since and until when."""

    __tablename__ = "trading_state"
    __table_args__ = (UniqueConstraint("bot_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    state: Mapped[str] = mapped_column(String(_ENUM))
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String)
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)


# --- small named values (0004): one row per bot and key -------------------------------------------


class ValueRow(Base):
    """A named value of the bot, as text its owner encodes."""

    __tablename__ = "bot_values"
    __table_args__ = (UniqueConstraint("bot_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)


# --- captured OHLCV candles (0005): one row per bot, symbol, timeframe and candle open time ---------------

_TIMEFRAME = 16


class CandleRow(Base):
    """A captured closed candle. The unique key makes a repeated capture an update, never a duplicate."""

    __tablename__ = "candles"
    __table_args__ = (UniqueConstraint("bot_id", "symbol", "timeframe", "open_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    symbol: Mapped[str] = mapped_column(String(_SYMBOL))
    timeframe: Mapped[str] = mapped_column(String(_TIMEFRAME))
    open_time: Mapped[datetime] = mapped_column(UtcDateTime)
    open: Mapped[Decimal] = mapped_column(DecimalText)
    high: Mapped[Decimal] = mapped_column(DecimalText)
    low: Mapped[Decimal] = mapped_column(DecimalText)
    close: Mapped[Decimal] = mapped_column(DecimalText)
    volume: Mapped[Decimal] = mapped_column(DecimalText)


# --- operator commands (0006): a queue and audit log per bot ------------------------------------------------


class CommandRow(Base):
    """An operator command to the bot, pending until the loop handles it; kept afterwards."""

    __tablename__ = "commands"
    __table_args__ = (UniqueConstraint("bot_id", "command_id"), Index(None, "bot_id", "status"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    command_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(_ENUM))
    minutes: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(_ENUM))
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


# --- the bot's lease (0007): one process at a time runs a bot -------------------------------------------------


class LeaseRow(Base):
    """Who runs the bot: the holder's token, host and pid, since when, and until when unless renewed."""

    __tablename__ = "bot_leases"

    bot_id: Mapped[str] = mapped_column(String(_BOT), primary_key=True)
    token: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
# --- LLM calls (0008): what each model call cost, per bot ------------------------------------------------------


class LlmCallRow(Base):
    """One model call of the bot (tokens None: no usage reported)."""

    __tablename__ = "llm_calls"
    __table_args__ = (Index(None, "bot_id", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    run_id: Mapped[str] = mapped_column(String)
    trace_id: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    model: Mapped[str] = mapped_column(String(128))
    tokens_in: Mapped[int | None] = mapped_column(Integer)
    tokens_out: Mapped[int | None] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(DecimalText)
    latency_ms: Mapped[int] = mapped_column(Integer)
    replayed: Mapped[bool] = mapped_column(Boolean)


# --- LLM decision traces (0009): prompt, answer, signals and outcome of each decision -------------------------


class LlmTraceRow(Base):
    """One decision of the LLM strategy (pruned by ``trace_retention_days``)."""

    __tablename__ = "llm_traces"
    __table_args__ = (Index(None, "bot_id", "at"), Index(None, "bot_id", "trace_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bot_id: Mapped[str] = mapped_column(String(_BOT))
    run_id: Mapped[str] = mapped_column(String)
    trace_id: Mapped[str] = mapped_column(String)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    model: Mapped[str] = mapped_column(String(128))
    prompt: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    signals: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    calls: Mapped[int] = mapped_column(Integer)
    tokens_in: Mapped[int] = mapped_column(Integer)
    tokens_out: Mapped[int] = mapped_column(Integer)
    cost: Mapped[Decimal] = mapped_column(DecimalText)
    latency_ms: Mapped[int] = mapped_column(Integer)
    replayed: Mapped[bool] = mapped_column(Boolean)
    outcome: Mapped[str] = mapped_column(Text)
