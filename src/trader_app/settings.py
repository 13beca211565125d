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
from datetime import UTC, datetime
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
}

_HEALTH_INT_KEYS = ("exchange_error_threshold", "tool_error_threshold", "max_data_age_timeframes")
_INT_KEYS = ("days", "seed", "fast", "slow", "max_plans_per_symbol", *_HEALTH_INT_KEYS)
_DECIMAL_KEYS = ("stop_pct", "target_pct", "stake", "fee_pct", "slippage_pct", "balance", "interval",
                 "exchange_pause_seconds", "tool_pause_seconds", "reconnect_cooldown_seconds",
                 "data_age_offset_seconds", "max_latency_ms", "rate_limit_wait_seconds")
_FLAGS = ("verbose", "live", "sandbox", "paper")


@attrs.frozen(kw_only=True)
class Settings:
    """Validated settings for one command."""

    data: Path | None
    symbols: tuple[Symbol, ...]
    timeframe: Timeframe | None
    days: int
    start: datetime
    db: str
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
        return ",".join(str(v) for v in value)
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
    _check_venue(values, problems)
    if problems:
        return None
    return Settings(**values)


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
