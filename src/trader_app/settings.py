"""Settings: the only reader of the environment and config files.

Precedence: command-line flags > environment (``TRADER_`` prefix, ``__`` for nesting) > TOML file >
defaults. Validation lists every problem at once.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from trader_core.model import BotId, ConfigError, InvalidValueError, Symbol, Timeframe

__all__ = ["DEFAULTS", "Secret", "Settings", "load_settings", "redact_url"]


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
    "maker_overrides": "",
    "maker_timeout_seconds": "60",
    "signals": None,
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
}

_HEALTH_INT_KEYS = ("exchange_error_threshold", "tool_error_threshold", "max_data_age_timeframes")
_RISK_INT_KEYS = ("max_positions", "max_pending_buys_per_symbol", "bucket_max_positions")
_INT_KEYS = ("days", "seed", "fast", "slow", "max_plans_per_symbol", *_HEALTH_INT_KEYS, *_RISK_INT_KEYS)
_DECIMAL_KEYS = ("stop_pct", "target_pct", "stake", "fee_pct", "slippage_pct", "balance", "interval",
                 "exchange_pause_seconds", "tool_pause_seconds", "reconnect_cooldown_seconds",
                 "data_age_offset_seconds", "max_latency_ms", "rate_limit_wait_seconds",
                 "max_order_value", "order_value_buffer", "min_trade_size", "max_total_exposure", "min_rr",
                 "max_slippage_pct", "max_spread_pct", "min_top_of_book_notional", "high_vol_size_factor",
                 "medium_vol_size_factor", "plan_max_age_minutes", "plan_trail_to_breakeven_pct",
                 "overnight_widen_pct", "overnight_widen_abs", "overnight_max_widen_pct", "maker_timeout_seconds")
# Limits that are off when empty.
_OPTIONAL_DECIMAL_KEYS = ("max_daily_loss", "max_daily_loss_pct", "max_drawdown_pct")
_FLAGS = ("verbose", "accept_reconciliation", "live", "sandbox", "paper", "dry_run",
          "overnight_widen", "replace_oldest_on_cap", "maker_preference")


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
    interval: Decimal = Decimal(10)
    day_timezone: str = "UTC"
    api_key: Secret | None = None
    secret: Secret | None = None
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
    maker_overrides: str = ""
    maker_timeout_seconds: Decimal = Decimal(60)
    signals: Path | None = None
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
        public = {f.name: _text(getattr(self, f.name)) for f in attrs.fields(Settings)
                  if f.name not in ("api_key", "secret")}
        public["db"] = redact_url(self.db)
        return public


_URL_PASSWORD = re.compile(r"(://[^:/@]*:)[^@]*@")
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***`` (user info or a ``password=`` query parameter)."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***@", url))


def _text(value: object) -> str:
    if isinstance(value, tuple):
        return ";".join(_text(v) for v in value) if value and isinstance(value[0], tuple) else ",".join(
            str(v) for v in value)
    return "" if value is None else str(value)


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge defaults, the TOML file (``flags['config']`` or ``TRADER_CONFIG``), the environment and
    ``flags`` (None means 'not given'); raise one ``ConfigError`` listing every problem."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = dict(DEFAULTS)
    problems: list[str] = []
    config_path = flags.get("config") or environ.get("TRADER_CONFIG")
    if config_path:
        raw.update(_read_toml(Path(config_path), problems))
    raw.update(_read_env(environ))
    raw.update({k: v for k, v in flags.items() if v is not None and k != "config"})
    raw.update(_read_credentials(config_path, environ, problems))
    settings = _validate(raw, problems)
    if problems or settings is None:
        raise ConfigError("invalid settings: " + "; ".join(problems))
    return settings


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        problems.append(f"config file {path} not found")
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"config file {path}: {exc}")
        return {}
    unknown = sorted(set(document) - set(DEFAULTS))
    problems.extend(f"config file {path}: unknown key {key!r}" for key in unknown)
    # [exchange] holds credentials (read by _read_credentials); `exchange = "binance"` names the venue.
    return {k: v for k, v in document.items() if k in DEFAULTS and not isinstance(v, dict)}


def _read_credentials(config_path: object, environ: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """API credentials: ``[exchange]`` in the TOML file, overridden by ``TRADER_EXCHANGE__API_KEY`` and
    ``TRADER_EXCHANGE__SECRET``. Never from flags: a command line is visible to every user of the machine."""
    section: dict[str, Any] = {}
    if config_path:
        try:
            with Path(str(config_path)).open("rb") as handle:
                section = dict(tomllib.load(handle).get("exchange", {}))
        except (OSError, tomllib.TOMLDecodeError):
            section = {}  # already reported by _read_toml
    unknown = sorted(set(section) - {"api_key", "secret"})
    problems.extend(f"config file {config_path}: unknown key 'exchange.{key}'" for key in unknown)
    key = environ.get("TRADER_EXCHANGE__API_KEY", section.get("api_key"))
    secret = environ.get("TRADER_EXCHANGE__SECRET", section.get("secret"))
    return {"api_key": Secret(str(key)) if key else None, "secret": Secret(str(secret)) if secret else None}


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("TRADER_") or name == "TRADER_CONFIG" or "__" in name[7:]:
            continue  # nested names (TRADER_EXCHANGE__API_KEY) belong to sections that read them
        key = name[7:].lower()
        if key in DEFAULTS:
            values[key] = value.split(",") if key == "symbols" else value
    return values


def _validate(raw: dict[str, Any], problems: list[str]) -> Settings | None:  # noqa: PLR0912, PLR0915 - one check per key
    values: dict[str, Any] = {}
    for key in _INT_KEYS:
        try:
            values[key] = int(raw[key])
        except (TypeError, ValueError):
            problems.append(f"{key} must be a whole number, got {raw[key]!r}")
    for key in _DECIMAL_KEYS:
        try:
            number = Decimal(str(raw[key]))
            if not number.is_finite() or number < 0:
                raise InvalidOperation
            values[key] = number
        except (InvalidOperation, ValueError):
            problems.append(f"{key} must be a non-negative number, got {raw[key]!r}")
    for key in ("stake", "balance"):
        if key in values and values[key] <= 0:
            problems.append(f"{key} must be positive, got {values[key]}")
    if "fast" in values and "slow" in values and not 0 < values["fast"] < values["slow"]:
        problems.append(f"need 0 < fast < slow, got fast={values['fast']} slow={values['slow']}")
    if values.get("days", 1) <= 0:
        problems.append("days must be at least 1")
    problems.extend(f"{key} must be at least 1, got {values[key]}" for key in _HEALTH_INT_KEYS
                    if key in values and values[key] < 1)
    symbols_raw = raw["symbols"] if isinstance(raw["symbols"], list | tuple) else str(raw["symbols"]).split(",")
    try:
        values["symbols"] = tuple(dict.fromkeys(Symbol.parse(str(s)) for s in symbols_raw))
        if len({s.quote for s in values["symbols"]}) > 1:
            problems.append("all symbols must share one quote asset (the balance's currency)")
        if not values["symbols"]:
            problems.append("at least one symbol is needed")
    except InvalidValueError as exc:
        problems.append(str(exc))
    try:
        values["timeframe"] = None if raw["timeframe"] in (None, "") else Timeframe(str(raw["timeframe"]))
    except ConfigError as exc:
        problems.append(str(exc))
    try:
        values["bot"] = BotId(str(raw["bot"]))
    except InvalidValueError as exc:
        problems.append(str(exc))
    try:
        start = datetime.fromisoformat(str(raw["start"]).replace("Z", "+00:00"))
        values["start"] = (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(UTC)
    except ValueError:
        problems.append(f"start must be an ISO-8601 time, got {raw['start']!r}")
    data = raw["data"]
    values["data"] = None if data in (None, "") else Path(str(data))
    if values["data"] is not None and not values["data"].is_file():
        problems.append(f"data file {values['data']} not found")
    summary = raw["summary_json"]
    values["summary_json"] = None if summary in (None, "") else Path(str(summary))
    values["log_dir"] = Path(str(raw["log_dir"]))
    values["db"] = str(raw["db"])
    values["strategy"] = str(raw["strategy"])
    for key in _FLAGS:
        values[key] = str(raw[key]).lower() in ("1", "true", "yes")
    values["day_timezone"] = str(raw["day_timezone"])
    try:
        zoneinfo.ZoneInfo(values["day_timezone"])
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        problems.append(f"day_timezone {values['day_timezone']!r} is not a known time zone (e.g. UTC, Europe/Zurich)")
    values["exchange"] = None if raw["exchange"] in (None, "") else str(raw["exchange"]).lower()
    values["sandbox_url"] = None if raw["sandbox_url"] in (None, "") else str(raw["sandbox_url"])
    if values["sandbox_url"] is not None and not values["paper"]:
        values["sandbox"] = True
    values["api_key"], values["secret"] = raw["api_key"], raw["secret"]
    _validate_trading(raw, values, problems)
    _validate_capture(raw, values, problems)
    _validate_operations(raw, values, problems)
    _check_venue(values, problems)
    if problems:
        return None
    return Settings(**values)


def _validate_trading(raw: dict[str, Any], values: dict[str, Any], problems: list[str]) -> None:
    """Sizing, risk and plan keys that are not plain numbers or flags."""
    for key in _OPTIONAL_DECIMAL_KEYS:
        text = "" if raw[key] is None else str(raw[key]).strip()
        try:
            number = None if text in ("", "off", "none") else Decimal(text)
            if number is not None and (not number.is_finite() or number < 0):
                raise InvalidOperation
            values[key] = number
        except (InvalidOperation, ValueError):
            problems.append(f"{key} must be a non-negative number or empty (off), got {raw[key]!r}")
    problems.extend(f"{key} must be at least 1, got {values[key]}" for key in _RISK_INT_KEYS
                    if key in values and values[key] < 1)
    policy = str(raw["loss_policy"]).strip().lower()
    if policy not in ("reduce", "flatten"):
        problems.append(f"loss_policy must be reduce or flatten, got {raw['loss_policy']!r}")
    values["loss_policy"] = policy
    exit_policy = str(raw["exit_policy"]).strip().lower()
    if exit_policy not in ("leave", "cancel", "flatten"):
        problems.append(f"exit_policy must be leave, cancel or flatten, got {raw['exit_policy']!r}")
    values["exit_policy"] = exit_policy
    buckets_raw = raw["correlation_buckets"]
    groups = buckets_raw if isinstance(buckets_raw, list | tuple) else [
        g.split(",") for g in str(buckets_raw or "").split(";")]
    try:
        values["correlation_buckets"] = tuple(
            tuple(Symbol.parse(str(m).strip()) for m in group if str(m).strip())
            for group in (g if isinstance(g, list | tuple) else str(g).split(",") for g in groups)
            if any(str(m).strip() for m in group))
    except InvalidValueError as exc:
        problems.append(f"correlation_buckets: {exc}")
    cutoff = "" if raw["day_end_cutoff"] is None else str(raw["day_end_cutoff"]).strip()
    try:
        values["day_end_cutoff"] = None if cutoff == "" else time.fromisoformat(cutoff)
    except ValueError:
        problems.append(f"day_end_cutoff must be a local time HH:MM, got {raw['day_end_cutoff']!r}")
    values["maker_overrides"] = str(raw["maker_overrides"] or "")
    signals = raw["signals"]
    values["signals"] = None if signals in (None, "") else Path(str(signals))
    if values["signals"] is not None and not values["signals"].is_file():
        problems.append(f"signals file {values['signals']} not found")
    for key in ("overnight_widen_pct", "overnight_max_widen_pct", "plan_trail_to_breakeven_pct"):
        if key in values and values[key] >= 1:
            problems.append(f"{key} is a fraction (0.01 = 1 %), got {values[key]}")


def _validate_capture(raw: dict[str, Any], values: dict[str, Any], problems: list[str]) -> None:
    """OHLCV capture keys: timeframes parse like ccxt's (an unknown one is an error now, not at capture)."""
    text = raw["ohlcv_timeframes"]
    items = text if isinstance(text, list | tuple) else [t.strip() for t in str(text or "").split(",")]
    items = [str(t).strip() for t in items if str(t).strip()]
    if [t.lower() for t in items] == ["off"]:
        values["ohlcv_timeframes"] = ()
    else:
        timeframes = []
        for item in items:
            try:
                timeframes.append(Timeframe(item))
            except ConfigError as exc:
                problems.append(f"ohlcv_timeframes: {exc}")
        values["ohlcv_timeframes"] = tuple(dict.fromkeys(timeframes)) or None
    try:
        spacing = Decimal(str(raw["ohlcv_min_spacing_seconds"]))
        if not spacing.is_finite() or spacing < 0:
            raise InvalidOperation
        values["ohlcv_min_spacing_seconds"] = spacing
    except (InvalidOperation, ValueError):
        problems.append(f"ohlcv_min_spacing_seconds must be a non-negative number, got "
                        f"{raw['ohlcv_min_spacing_seconds']!r}")
    try:
        values["ohlcv_max_rows"] = int(raw["ohlcv_max_rows"])
        if values["ohlcv_max_rows"] < 1:
            problems.append(f"ohlcv_max_rows must be at least 1, got {values['ohlcv_max_rows']}")
    except (TypeError, ValueError):
        problems.append(f"ohlcv_max_rows must be a whole number, got {raw['ohlcv_max_rows']!r}")
    age = "" if raw["ohlcv_max_age_days"] is None else str(raw["ohlcv_max_age_days"]).strip()
    try:
        days = None if age.lower() in ("", "off", "none") else Decimal(age)
        if days is not None and (not days.is_finite() or days <= 0):
            raise InvalidOperation
        values["ohlcv_max_age_days"] = days
    except (InvalidOperation, ValueError):
        problems.append(f"ohlcv_max_age_days must be a positive number or empty (off), got "
                        f"{raw['ohlcv_max_age_days']!r}")


_SIZE = r"\d+(\.\d+)?\s*(b|kb|mb|gb|kib|mib|gib)"
_DURATION = r"\d+(\.\d+)?\s*(seconds?|minutes?|hours?|days?|weeks?|months?|years?)"
_ROTATION = re.compile(rf"^({_SIZE}|{_DURATION})$", re.IGNORECASE)
_RETENTION = re.compile(rf"^(\d+|{_DURATION})$", re.IGNORECASE)


def _validate_operations(raw: dict[str, Any], values: dict[str, Any], problems: list[str]) -> None:
    """Log rotation and retention (as loguru reads them) and the metrics endpoint."""
    for key, pattern, example in (("log_rotation", _ROTATION, "100 MB or 1 day"),
                                  ("log_retention", _RETENTION, "14 days or 10 (files)")):
        text = "" if raw[key] is None else str(raw[key]).strip()
        values[key] = None if text.lower() in ("", "off", "none") else text
        if values[key] is not None and not pattern.match(text):
            problems.append(f"{key} must be like {example}, got {raw[key]!r}")
    port = "" if raw["metrics_port"] is None else str(raw["metrics_port"]).strip()
    try:
        values["metrics_port"] = None if port.lower() in ("", "off", "none") else int(port)
        if values["metrics_port"] is not None and not 0 <= values["metrics_port"] <= 65535:
            raise ValueError
    except ValueError:
        problems.append(f"metrics_port must be a port number (0-65535) or empty (off), got {raw['metrics_port']!r}")
    values["metrics_host"] = str(raw["metrics_host"] or "127.0.0.1")


def _check_venue(values: dict[str, Any], problems: list[str]) -> None:
    """One venue mode with --exchange; real money only with --live and keys."""
    modes = [name for name in ("live", "sandbox", "paper") if values[name]]
    if values["exchange"] is None:
        if modes:
            problems.append(f"--{modes[0]} needs --exchange (e.g. --exchange binance)")
        return
    if len(modes) != 1:
        problems.append("with --exchange, choose exactly one of --live (real money), --sandbox "
                        "(the venue's test network, or --sandbox-url URL) and --paper")
    if values.get("data") is not None:
        problems.append("--data replays a file; it cannot be combined with --exchange")
    if (values["live"] or values["sandbox"]) and not (values["api_key"] and values["secret"]):
        problems.append("--live and --sandbox need API keys: set TRADER_EXCHANGE__API_KEY and "
                        "TRADER_EXCHANGE__SECRET (or [exchange] api_key/secret in the config file)")
    if "interval" in values and values["interval"] <= 0:
        problems.append("interval must be positive")
