"""The settings' values: the defaults, the kinds of each key, the validated ``Settings`` and the ``Secret`` type
whose repr never shows what it holds."""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs

from trader_core.model import BotId, Symbol, Timeframe

__all__ = ["DECIMAL_KEYS", "DEFAULTS", "FLAGS", "HEALTH_INT_KEYS", "INT_KEYS", "OPTIONAL_DECIMAL_KEYS", "RISK_INT_KEYS",
           "Secret", "Settings", "redact_url", "setting_text"]


@attrs.frozen(repr=False)
class Secret:
    """A credential. Its repr and str are redacted; ``reveal()`` hands it to the adapter that needs it."""

    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The secret itself. Call only where an adapter needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


DEFAULTS: dict[str, Any] = {
    "data": None,
    "symbols": ["BTC/USDT", "ETH/USDT"],
    "timeframe": None,
    "days": 3,
    "start": "2025-01-01T00:00:00+00:00",
    "db": "sqlite:///trader.db",
    "seed": 42,
    "strategy": "sma",
    "fast": 10,
    "slow": 30,
    "stop_pct": "2",
    "target_pct": "3",
    "stake": "1000",
    "fee_pct": "0.1",
    "slippage_pct": "0",
    "balance": "10000",
    "bot": "default",
    "summary_json": None,
    "log_dir": "logs",
    "max_plans_per_symbol": 1,
    "verbose": False,
    "accept_reconciliation": False,
    "allow_withdrawal_keys": False,
    "exchange": None,
    "live": False,
    "sandbox": False,
    "sandbox_url": None,
    "paper": False,
    "interval": "10",
    "day_timezone": "UTC",
    "exchange_error_threshold": 3,
    "exchange_pause_seconds": "60",
    "tool_error_threshold": 3,
    "tool_pause_seconds": "60",
    "reconnect_cooldown_seconds": "30",
    "max_data_age_timeframes": 2,
    "data_age_offset_seconds": "10",
    "max_latency_ms": "5000",
    "rate_limit_wait_seconds": "60",
    # TradeActionHandler, RiskManager, PlanMonitor (docs/configuration.md, "Sizing, risk and plans")
    "max_order_value": "5000",
    "order_value_buffer": "5",
    "min_trade_size": "10",
    "max_total_exposure": "10000",
    "max_trade_loss": "",
    "max_trade_loss_pct": "",
    "max_positions": 3,
    "max_pending_buys_per_symbol": 2,
    "correlation_buckets": "",
    "bucket_max_positions": 2,
    "min_rr": "1.2",
    "max_slippage_pct": "0.5",
    "max_spread_pct": "0.20",
    "min_top_of_book_notional": "100",
    "high_vol_size_factor": "0.6",
    "medium_vol_size_factor": "0.8",
    "max_daily_loss": "1000",
    "max_daily_loss_pct": "3",
    "max_drawdown_pct": "",
    "loss_policy": "reduce",
    "exit_policy": "cancel",  # on stop: leave | cancel | flatten (docs/operations.md)
    "dry_run": False,  # everything but order placement (docs/operations.md)
    "plan_max_age_minutes": "0",
    "plan_trail_to_breakeven_pct": "0.01",
    "day_end_cutoff": "",
    "overnight_widen": True,
    "overnight_widen_pct": "0.01",
    "overnight_widen_abs": "0",
    "overnight_max_widen_pct": "0.05",
    "replace_oldest_on_cap": False,
    "maker_preference": False,
    "volatility_sizing": False,
    "strategy_timeout_seconds": "30",  # a user's strategy (module:Class): its decide's deadline
    "maker_overrides": "",
    "maker_timeout_seconds": "60",
    "signals": None,
    "signals_catch_up": False,  # act on signals that fell due while the bot was not running (docs/signals.md)
    # MarketDataService: OHLCV capture (docs/market-data.md). Timeframes: empty = the run's timeframe,
    # "off" = none; a replay never captures.
    "ohlcv_timeframes": "",
    "ohlcv_min_spacing_seconds": "60",
    "ohlcv_max_rows": 1000,
    "ohlcv_max_age_days": "30",
    # Operations (docs/operations.md): telemetry file rotation/retention (empty: never), metrics endpoint (off)
    "log_rotation": "",
    "log_retention": "",
    "metrics_port": None,
    "metrics_host": "127.0.0.1",
    # One process per bot (docs/operations.md): the lease's time to live, renewed every third of it.
    "lease_seconds": "30",
}

HEALTH_INT_KEYS = ("exchange_error_threshold", "tool_error_threshold", "max_data_age_timeframes")
RISK_INT_KEYS = ("max_positions", "max_pending_buys_per_symbol", "bucket_max_positions")
INT_KEYS = ("days", "seed", "fast", "slow", "max_plans_per_symbol", *HEALTH_INT_KEYS, *RISK_INT_KEYS)
DECIMAL_KEYS = ("stop_pct", "target_pct", "stake", "fee_pct", "slippage_pct", "balance", "interval",
                 "exchange_pause_seconds", "tool_pause_seconds", "reconnect_cooldown_seconds",
                 "data_age_offset_seconds", "max_latency_ms", "rate_limit_wait_seconds",
                 "max_order_value", "order_value_buffer", "min_trade_size", "max_total_exposure", "min_rr",
                 "max_slippage_pct", "max_spread_pct", "min_top_of_book_notional", "high_vol_size_factor",
                 "medium_vol_size_factor", "plan_max_age_minutes", "plan_trail_to_breakeven_pct",
                 "overnight_widen_pct", "overnight_widen_abs", "overnight_max_widen_pct", "maker_timeout_seconds",
                 "lease_seconds", "strategy_timeout_seconds")
# Limits that are off when empty.
OPTIONAL_DECIMAL_KEYS = ("max_daily_loss", "max_daily_loss_pct", "max_drawdown_pct", "max_trade_loss",
                         "max_trade_loss_pct")
FLAGS = ("verbose", "accept_reconciliation", "allow_withdrawal_keys", "live", "sandbox", "paper", "dry_run",
         "signals_catch_up", "overnight_widen", "replace_oldest_on_cap", "maker_preference", "volatility_sizing")


@attrs.frozen(kw_only=True)
class Settings:
    """Validated settings for one command."""

    data: Path | None
    symbols: tuple[Symbol, ...]
    timeframe: Timeframe | None
    days: int
    start: datetime
    db: str = attrs.field(repr=lambda url: redact_url(url))  # noqa: PLW0108 - defined below; no password in a repr
    seed: int
    strategy: str
    fast: int
    slow: int
    stop_pct: Decimal
    target_pct: Decimal
    stake: Decimal
    fee_pct: Decimal
    slippage_pct: Decimal
    balance: Decimal
    bot: BotId
    summary_json: Path | None
    log_dir: Path
    max_plans_per_symbol: int
    verbose: bool
    exchange: str | None = None
    live: bool = False
    sandbox: bool = False
    sandbox_url: str | None = None
    paper: bool = False
    accept_reconciliation: bool = False  # start trading even if start-up reconciliation is not clean
    allow_withdrawal_keys: bool = False  # run live with an API key that may withdraw (refused by default)
    interval: Decimal = Decimal(10)
    day_timezone: str = "UTC"
    api_key: Secret | None = None
    secret: Secret | None = None
    password: Secret | None = None  # the API passphrase of venues that need one (OKX)
    # ExchangeHealthManager (docs/health.md)
    exchange_error_threshold: int = 3
    exchange_pause_seconds: Decimal = Decimal(60)
    tool_error_threshold: int = 3
    tool_pause_seconds: Decimal = Decimal(60)
    reconnect_cooldown_seconds: Decimal = Decimal(30)
    max_data_age_timeframes: int = 2
    data_age_offset_seconds: Decimal = Decimal(10)
    max_latency_ms: Decimal = Decimal(5000)
    rate_limit_wait_seconds: Decimal = Decimal(60)
    # TradeActionHandler, RiskManager, PlanMonitor (docs/configuration.md)
    max_order_value: Decimal = Decimal(5000)
    order_value_buffer: Decimal = Decimal(5)
    min_trade_size: Decimal = Decimal(10)
    max_total_exposure: Decimal = Decimal(10000)
    max_positions: int = 3
    max_pending_buys_per_symbol: int = 2
    correlation_buckets: tuple[tuple[Symbol, ...], ...] = ()
    bucket_max_positions: int = 2
    min_rr: Decimal = Decimal("1.2")
    max_slippage_pct: Decimal = Decimal("0.5")
    max_spread_pct: Decimal = Decimal("0.20")
    min_top_of_book_notional: Decimal = Decimal(100)
    high_vol_size_factor: Decimal = Decimal("0.6")
    medium_vol_size_factor: Decimal = Decimal("0.8")
    max_daily_loss: Decimal | None = Decimal(1000)
    max_daily_loss_pct: Decimal | None = Decimal(3)
    max_drawdown_pct: Decimal | None = None
    max_trade_loss: Decimal | None = None  # quote: what one entry may lose at its stop (off when None)
    max_trade_loss_pct: Decimal | None = None  # percent of the bot's equity, as max_trade_loss
    loss_policy: str = "reduce"
    exit_policy: str = "cancel"  # on stop: leave | cancel | flatten
    dry_run: bool = False  # no order is sent: each is recorded and refused
    plan_max_age_minutes: Decimal = Decimal(0)
    plan_trail_to_breakeven_pct: Decimal = Decimal("0.01")
    day_end_cutoff: time | None = None
    overnight_widen: bool = True
    overnight_widen_pct: Decimal = Decimal("0.01")
    overnight_widen_abs: Decimal = Decimal(0)
    overnight_max_widen_pct: Decimal = Decimal("0.05")
    replace_oldest_on_cap: bool = False
    maker_preference: bool = False
    volatility_sizing: bool = False  # the SMA strategy tags entries with volatility flags (sizes 60-100 %)
    maker_overrides: str = ""
    maker_timeout_seconds: Decimal = Decimal(60)
    signals: Path | None = None
    signals_catch_up: bool = False
    # OHLCV capture (docs/market-data.md): None = the run's timeframe; () = off
    ohlcv_timeframes: tuple[Timeframe, ...] | None = None
    ohlcv_min_spacing_seconds: Decimal = Decimal(60)
    ohlcv_max_rows: int = 1000
    ohlcv_max_age_days: Decimal | None = Decimal(30)
    # Operations (docs/operations.md)
    log_rotation: str | None = None  # e.g. "100 MB", "1 day"; None: one file, never rotated
    log_retention: str | None = None  # e.g. "14 days", "10" (files); None: rotated files are kept
    metrics_port: int | None = None  # Prometheus endpoint; None: off
    metrics_host: str = "127.0.0.1"
    lease_seconds: Decimal = Decimal(30)  # one process per bot: the lease's time to live
    strategy_timeout_seconds: Decimal = Decimal(30)  # a user's strategy: how long one decide may take

    @property
    def mode(self) -> str:
        """``replay``, ``paper``, ``sandbox`` or ``live``."""
        if self.exchange is None:
            return "replay"
        return "live" if self.live else "sandbox" if self.sandbox else "paper"

    @property
    def quote(self) -> str:
        """The quote asset every symbol shares (the balance's currency)."""
        return str(self.symbols[0].quote)

    def public(self) -> dict[str, str]:
        """The settings as strings, safe to store and log: credentials are left out."""
        public = {f.name: setting_text(getattr(self, f.name)) for f in attrs.fields(Settings)
                  if f.name not in ("api_key", "secret", "password")}
        public["db"] = redact_url(self.db)
        return public


_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with any credential replaced by ``***``: the user info's password (all of it, an unencoded '@'
    included) and every query parameter the store treats as one (``password``, ``sslpassword``...)."""
    from trader_app.storage import redact

    return redact(_QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url)), url)


def setting_text(value: object) -> str:
    if isinstance(value, tuple):
        return ";".join(setting_text(v) for v in value) if value and isinstance(value[0], tuple) else ",".join(
            str(v) for v in value)
    return "" if value is None else str(value)
