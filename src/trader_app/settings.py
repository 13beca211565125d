"""Settings: the only reader of the environment and config files.

Precedence: command-line flags > environment (``TRADER_`` prefix, ``__`` for nesting) > TOML file >
defaults. Validation lists every problem at once.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import attrs

from trader_core.model import BotId, ConfigError, InvalidValueError, Symbol, Timeframe

__all__ = ["DEFAULTS", "Secret", "Settings", "load_settings"]


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
}

_INT_KEYS = ("days", "seed", "fast", "slow", "max_plans_per_symbol")
_DECIMAL_KEYS = ("stop_pct", "target_pct", "stake", "fee_pct", "slippage_pct", "balance")


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

    @property
    def quote(self) -> str:
        """The quote asset every symbol shares (the balance's currency)."""
        return str(self.symbols[0].quote)

    def public(self) -> dict[str, str]:
        """The settings as strings, safe to store and log (no secrets live here)."""
        return {f.name: _text(getattr(self, f.name)) for f in attrs.fields(Settings)}


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
    unknown = sorted(set(document) - set(DEFAULTS) - {"exchange"})
    problems.extend(f"config file {path}: unknown key {key!r}" for key in unknown)
    return {k: v for k, v in document.items() if k in DEFAULTS}


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
    values["verbose"] = str(raw["verbose"]).lower() in ("1", "true", "yes")
    if problems:
        return None
    return Settings(**values)
