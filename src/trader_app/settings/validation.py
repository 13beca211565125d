"""Validating raw settings: every problem is listed at once, one line each."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from trader_app.settings.parsing import parse_count, parse_flag
from trader_app.settings.values import (
    DECIMAL_KEYS,
    DEFAULTS,
    FLAGS,
    HEALTH_INT_KEYS,
    INT_KEYS,
    OPTIONAL_DECIMAL_KEYS,
    RISK_INT_KEYS,
    Settings,
)
from trader_core.execution import parse_maker_overrides
from trader_core.model import BotId, ConfigError, InvalidValueError, Symbol, Timeframe, parse_time

__all__ = ["MAX_DAYS", "validate"]

# A synthetic replay of ten years of 1m candles is over five million per symbol; beyond it a typo (100000)
# fills the disk in seconds without a word.
MAX_DAYS = 3660


def validate(raw: dict[str, Any], problems: list[str]) -> Settings | None:  # noqa: PLR0912, PLR0915 - one check per key
    values: dict[str, Any] = {}
    for key in INT_KEYS:
        try:
            values[key] = parse_count(raw[key])
        except ValueError as exc:
            problems.append(f"{key} must be {exc}, got {raw[key]!r}")
    for key in DECIMAL_KEYS:
        try:
            number = Decimal(str(raw[key]))
            if not number.is_finite() or number < 0:
                raise InvalidOperation
            values[key] = number
        except (InvalidOperation, ValueError):
            problems.append(f"{key} must be a non-negative number, got {raw[key]!r}")
    # max_order_value or max_total_exposure 0: every entry is refused, the bot can never trade.
    for key in ("stake", "balance", "target_pct", "lease_seconds", "max_order_value", "max_total_exposure",
                "strategy_timeout_seconds"):
        if key in values and values[key] <= 0:
            problems.append(f"{key} must be positive, got {values[key]}")
    # A buffer at or above the cap trims every entry to nothing: the bot could never buy, and would not say why.
    if "order_value_buffer" in values and "max_order_value" in values \
            and values["order_value_buffer"] >= values["max_order_value"] > 0:
        problems.append(f"order_value_buffer must be below max_order_value (entries are trimmed to their "
                        f"difference), got {values['order_value_buffer']} and {values['max_order_value']}")
    # A stop at or beyond 100 % below the entry is no stop: every bracket would be refused, every entry unprotected.
    if "stop_pct" in values and not 0 < values["stop_pct"] < 100:
        problems.append(f"stop_pct must be above 0 and below 100 (percent below the entry), got {values['stop_pct']}")
    # A fee or slippage of 100 % or more takes the whole order: no venue charges that, it is a typo.
    problems.extend(f"{key} must be below 100 (percent of each fill), got {values[key]}"
                    for key in ("fee_pct", "slippage_pct") if key in values and values[key] >= 100)
    if "fast" in values and "slow" in values and not 0 < values["fast"] < values["slow"]:
        problems.append(f"need 0 < fast < slow, got fast={values['fast']} slow={values['slow']}")
    if not 1 <= values.get("days", 1) <= MAX_DAYS:
        problems.append(f"days must be 1 to {MAX_DAYS} (ten years of candles), got {values['days']}")
    # max_plans_per_symbol 0: no plan may open, the bot can never trade.
    problems.extend(f"{key} must be at least 1, got {values[key]}" for key in (*HEALTH_INT_KEYS, "max_plans_per_symbol")
                    if key in values and values[key] < 1)
    # A size factor scales entries down in volatile markets: above 1 it would enlarge them, at 0 skip them unsaid.
    problems.extend(f"{key} must be above 0 and at most 1 (it scales entries down), got {values[key]}"
                    for key in ("high_vol_size_factor", "medium_vol_size_factor")
                    if key in values and not 0 < values[key] <= 1)
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
        values["start"] = parse_time(raw["start"], "start")
    except InvalidValueError as exc:
        problems.append(str(exc))
    data = raw["data"]
    values["data"] = None if data in (None, "") else Path(str(data))
    if values["data"] is not None and (problem := _not_a_file(values["data"])):
        problems.append(f"data file {values['data']} {problem}")
    days = values.get("days")
    if (values["data"] is None and "start" in values and isinstance(days, int) and 1 <= days <= MAX_DAYS
            and datetime.max.replace(tzinfo=UTC) - values["start"] < timedelta(days=days + 1)):
        problems.append(f"start {values['start']:%Y-%m-%d} plus {days} days of synthetic candles runs beyond the "
                        f"calendar (it ends 9999-12-31 UTC): start earlier or ask for fewer days")
    if values["data"] is not None and "symbols" in values:
        # A CSV file holds one symbol; left unset, the default pair becomes BTC/USDT alone, as the run trades.
        if raw["symbols"] is DEFAULTS["symbols"]:
            values["symbols"] = (Symbol.parse("BTC/USDT"),)
        elif len(values["symbols"]) != 1:
            problems.append("a CSV file holds one symbol: give exactly one --symbol with --data")
    summary = raw["summary_json"]
    values["summary_json"] = None if summary in (None, "") else Path(str(summary))
    values["log_dir"] = Path(str(raw["log_dir"]))
    values["db"] = str(raw["db"])
    values["strategy"] = str(raw["strategy"])
    for key in FLAGS:
        try:
            values[key] = parse_flag(raw[key])
        except ValueError as exc:
            problems.append(f"{key} must be {exc}, got {raw[key]!r}")
            values[key] = False
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
    values["password"] = raw.get("password")
    _validate_trading(raw, values, problems)
    _validate_capture(raw, values, problems)
    _validate_operations(raw, values, problems)
    _check_venue(values, problems)
    if problems:
        return None
    return Settings(**values)


def _validate_trading(raw: dict[str, Any], values: dict[str, Any], problems: list[str]) -> None:
    """Sizing, risk and plan keys that are not plain numbers or flags."""
    for key in OPTIONAL_DECIMAL_KEYS:
        text = "" if raw[key] is None else str(raw[key]).strip()
        try:
            number = None if text in ("", "off", "none") else Decimal(text)
            if number is not None and (not number.is_finite() or number < 0):
                raise InvalidOperation
            values[key] = number
        except (InvalidOperation, ValueError):
            problems.append(f"{key} must be a non-negative number or empty (off), got {raw[key]!r}")
    # A loss of more than 100 % of the equity cannot happen (the limit would never fire); 0 halts at once.
    problems.extend(f"{key} must be above 0 and at most 100 (percent of the equity) or empty (off), got {values[key]}"
                    for key in ("max_daily_loss_pct", "max_drawdown_pct", "max_trade_loss_pct")
                    if values.get(key) is not None and not 0 < values[key] <= 100)
    # 0 would refuse every entry: the bot could never trade.
    problems.extend(f"{key} must be above 0 (quote) or empty (off), got {values[key]}"
                    for key in ("max_trade_loss",) if values.get(key) == 0)
    problems.extend(f"{key} must be at least 1, got {values[key]}" for key in RISK_INT_KEYS
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
    try:
        parse_maker_overrides(values["maker_overrides"])
    except InvalidValueError as exc:
        problems.append(f"maker_overrides: {exc}")
    signals = raw["signals"]
    values["signals"] = None if signals in (None, "") else Path(str(signals))
    if values["signals"] is not None and (problem := _not_a_file(values["signals"])):
        problems.append(f"signals file {values['signals']} {problem}")
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
        values["ohlcv_max_rows"] = parse_count(raw["ohlcv_max_rows"])
        if values["ohlcv_max_rows"] < 1:
            problems.append(f"ohlcv_max_rows must be at least 1, got {values['ohlcv_max_rows']}")
    except ValueError as exc:
        problems.append(f"ohlcv_max_rows must be {exc}, got {raw['ohlcv_max_rows']!r}")
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


def _not_a_file(path: Path) -> str:
    """What keeps ``path`` from being read as an input file ("" when nothing does)."""
    if path.is_file():
        return ""
    if path.is_dir():
        return "is a folder; give a file"
    if path.exists():
        return "is not a regular file (a device, pipe or socket); give a file"
    return "not found"
