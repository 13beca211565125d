"""The ``[llm]`` settings of ``--strategy llm`` (docs/llm.md): TOML table ``[llm]``, environment
``TRADER_LLM__<KEY>``, flags ``--llm-base-url``, ``--llm-model``, ``--llm-cassette``, ``--llm-cassette-mode``
(flags > environment > file > defaults); ``base_url`` may be left out in cassette replay mode (no call is
made). The API key comes only from ``TRADER_LLM__API_KEY``: never a flag (visible to every user of the
machine), never the file, never logged or stored. Every problem is listed in one ``ConfigError`` (exit 2).
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs

from trader_app.settings.parsing import parse_count, parse_flag
from trader_app.settings.values import Secret
from trader_core.model import ConfigError, parse_number

__all__ = ["LLM_DEFAULTS", "LlmSettings", "load_llm_settings"]

LLM_DEFAULTS: dict[str, Any] = {
    "base_url": None,
    "model": None,
    # No default beyond this machine or a private network: a remote model's price is the user's to state (0 for a
    # free one), or the budget would count nothing.
    "input_cost_per_mtok": None,
    "output_cost_per_mtok": None,
    "budget": "10",
    "min_call_interval_s": "5",
    "max_consecutive_errors": 3,
    "error_cooldown_s": "900",
    "decision_interval": "5m",
    "timeout_s": "30",
    "decision_timeout_s": "60",
    "max_retries": 2,
    "prompt_byte_budget": 16000,
    "history": 60,
    "tools": False,
    "max_tool_rounds": 2,
    "structured_output": True,
    "trace_retention_days": "7",
    "cassette": None,
    "cassette_mode": "record",
    # The original's pre-call gates (docs/llm.md): its defaults.
    "fee_ratio_cooldown_pct": "50",
    "chop_filter": True,
    "min_trade_interval_s": "120",
    "priority_move_pct": "1.5",
    "break_glass_cooldown_s": "3600",
    "break_glass_size_factor": "0.6",
}
_FLAGS = {"llm_base_url": "base_url", "llm_model": "model", "llm_cassette": "cassette",
          "llm_cassette_mode": "cassette_mode"}
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_MOST_DAYS = 366  # the longest duration any llm setting takes
_MOST_TOOL_ROUNDS = 10


@attrs.frozen(kw_only=True)
class LlmSettings:
    """Validated ``[llm]`` settings."""

    base_url: str
    model: str
    api_key: Secret
    input_cost_per_mtok: Decimal
    output_cost_per_mtok: Decimal
    budget: Decimal
    min_call_interval: timedelta
    max_consecutive_errors: int
    error_cooldown: timedelta
    decision_interval: timedelta
    timeout_s: Decimal
    decision_timeout: timedelta
    max_retries: int
    prompt_byte_budget: int
    history: int
    tools: bool
    max_tool_rounds: int
    structured_output: bool
    trace_retention: timedelta
    cassette: Path | None
    cassette_mode: str
    fee_ratio_cooldown_pct: Decimal
    chop_filter: bool
    min_trade_interval: timedelta
    priority_move_pct: Decimal
    break_glass_cooldown: timedelta
    break_glass_size_factor: Decimal


def load_llm_settings(flags: Mapping[str, Any], environ: Mapping[str, str]) -> LlmSettings:
    """The ``[llm]`` settings; ``ConfigError`` listing every problem."""
    raw: dict[str, Any] = dict(LLM_DEFAULTS)
    problems: list[str] = []
    config_path = flags.get("config") or environ.get("TRADER_CONFIG")
    if config_path:
        raw.update(_table(Path(config_path), problems))
    for name, value in environ.items():
        if name.startswith("TRADER_LLM__") and name != "TRADER_LLM__API_KEY":
            key = name[len("TRADER_LLM__"):].lower()
            if key in LLM_DEFAULTS:
                raw[key] = value
            else:
                problems.append(f"unknown variable {name} (llm settings: {', '.join(LLM_DEFAULTS)})")
    raw.update({key: flags[flag] for flag, key in _FLAGS.items() if flags.get(flag) is not None})
    settings = _validate(raw, environ.get("TRADER_LLM__API_KEY", ""), problems)
    if problems or settings is None:
        raise ConfigError("invalid llm settings: " + "; ".join(problems))
    return settings


def _table(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            table = tomllib.load(handle).get("llm", {})
    except (OSError, ValueError):
        return {}  # the main settings loader reports an unreadable file
    if not isinstance(table, dict):
        problems.append(f"config file {path}: llm must be a table ([llm])")
        return {}
    # An api_key in the file is refused by the main settings (settings/loading.py), whatever the strategy.
    problems.extend(f"config file {path}: [llm] unknown key {k!r}" for k in sorted(set(table) - set(LLM_DEFAULTS))
                    if k != "api_key")
    return {k: v for k, v in table.items() if k in LLM_DEFAULTS}


def _validate(raw: dict[str, Any], api_key: str, problems: list[str]) -> LlmSettings | None:
    def check(name: str, convert: Callable[[Any], Any]) -> Any:
        try:
            return convert(raw[name])
        except (ValueError, TypeError, InvalidOperation) as exc:
            problems.append(f"llm {name} {raw[name]!r}: {exc}")
            return None

    offline = str(raw["cassette_mode"]) == "replay" and raw["cassette"] not in (None, "")
    base_url = "http://127.0.0.1:9/v1" if offline and raw["base_url"] is None else check("base_url", _url)
    model = check("model", _required)
    unpriced = [name for name in ("input_cost_per_mtok", "output_cost_per_mtok") if raw[name] in (None, "")]
    local = offline or (base_url is not None and _on_this_network(base_url))
    for name in unpriced:
        raw[name] = "0"  # a local model server, the emulator or a cassette replay: nothing to pay
    if unpriced and not local and base_url is not None:
        problems.append(f"llm {' and '.join(unpriced)}: required for a model beyond this machine or a private "
                        f"network ({base_url}), so the budget counts what is spent (0 for a free model)")
    values = {name: check(name, _money) for name in ("input_cost_per_mtok", "output_cost_per_mtok", "budget")}
    ints = {name: check(name, _count) for name in ("max_consecutive_errors", "max_retries", "prompt_byte_budget",
                                                   "history", "max_tool_rounds")}
    if ints["prompt_byte_budget"] is not None and ints["prompt_byte_budget"] < 1000:
        problems.append("llm prompt_byte_budget: at least 1000 bytes")
    if ints["max_consecutive_errors"] == 0:
        problems.append("llm max_consecutive_errors: at least 1 (0 would hold before any call)")
    if ints["max_tool_rounds"] is not None and ints["max_tool_rounds"] > _MOST_TOOL_ROUNDS:
        problems.append(f"llm max_tool_rounds: at most {_MOST_TOOL_ROUNDS} (each round is a paid call)")
    spans = {name: check(name, _span) for name in ("min_call_interval_s", "error_cooldown_s", "decision_interval",
                                                   "min_trade_interval_s", "break_glass_cooldown_s")}
    gates = {name: check(name, _money) for name in ("fee_ratio_cooldown_pct", "priority_move_pct")}
    factor = check("break_glass_size_factor", _positive)
    if factor is not None and factor > 1:
        problems.append("llm break_glass_size_factor: at most 1 (it scales entries down)")
    timeout = check("timeout_s", _positive)
    deadline = check("decision_timeout_s", _span)
    if deadline is not None and deadline <= timedelta(0):
        problems.append("llm decision_timeout_s: more than 0 is needed")
    retention = check("trace_retention_days", _positive)
    if retention is not None and retention > _MOST_DAYS:
        problems.append(f"llm trace_retention_days: at most {_MOST_DAYS}")
    flags = {name: check(name, parse_flag) for name in ("tools", "structured_output", "chop_filter")}
    mode = str(raw["cassette_mode"])
    if mode not in ("record", "replay", "auto"):
        problems.append(f"llm cassette_mode {mode!r}: use record, replay or auto")
    if base_url is not None and api_key and not _private_or_tls(base_url):
        problems.append(f"llm base_url {base_url}: plain http to a host that is not this machine or a private "
                        "network would send TRADER_LLM__API_KEY in clear; use https")
    if problems:
        return None
    return LlmSettings(
        base_url=base_url, model=model, api_key=Secret(api_key), **values,
        min_call_interval=spans["min_call_interval_s"], max_consecutive_errors=ints["max_consecutive_errors"],
        error_cooldown=spans["error_cooldown_s"], decision_interval=spans["decision_interval"], timeout_s=timeout,
        decision_timeout=deadline,
        max_retries=ints["max_retries"], prompt_byte_budget=ints["prompt_byte_budget"], history=ints["history"],
        tools=flags["tools"], max_tool_rounds=ints["max_tool_rounds"], structured_output=flags["structured_output"],
        trace_retention=timedelta(days=float(retention)), cassette=None if raw["cassette"] in (None, "") else Path(
            str(raw["cassette"])), cassette_mode=mode, chop_filter=flags["chop_filter"],
        min_trade_interval=spans["min_trade_interval_s"], break_glass_cooldown=spans["break_glass_cooldown_s"],
        break_glass_size_factor=factor, **gates)


def _required(value: Any) -> str:
    if value is None or not str(value).strip():
        raise ValueError("required (set it in [llm], TRADER_LLM__<KEY> or its flag)")
    return str(value).strip()


def _url(value: Any) -> str:
    text = _required(value)
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("an http(s) URL is needed, e.g. https://api.openai.com/v1")
    return text.rstrip("/")


def _money(value: Any) -> Decimal:
    number = parse_number(value, "the value")
    if number < 0:
        raise ValueError("a number >= 0 is needed")
    return number


def _positive(value: Any) -> Decimal:
    number = _money(value)
    if number <= 0:
        raise ValueError("a number > 0 is needed")
    return number


def _count(value: Any) -> int:
    number = parse_count(value)
    if number < 0:
        raise ValueError("a whole number >= 0 is needed")
    return number


def _span(value: Any) -> timedelta:
    """Seconds (``5``, ``2.5``) or a number with a unit (``30s``, ``5m``, ``1h``, ``1d``), at most a year."""
    text = str(value).strip()
    unit = _UNITS.get(text[-1:])
    number = parse_number(text[:-1] if unit else text, "the duration")
    if number < 0:
        raise ValueError("a duration >= 0 is needed, e.g. 30s, 5m, 1h")
    seconds = number * (unit or 1)
    if seconds > _MOST_DAYS * 86400:
        raise ValueError(f"at most {_MOST_DAYS} days")
    return timedelta(seconds=float(seconds))


def _private_or_tls(url: str) -> bool:
    """Whether a key sent to ``url`` stays off the open internet: https, or plain http to this machine or a
    private network (a local model server, the project's emulator)."""
    return urlsplit(url).scheme == "https" or _on_this_network(url)


def _on_this_network(url: str) -> bool:
    """Whether ``url``'s host is this machine or on a private network."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_private
