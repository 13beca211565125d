"""Reading the settings: flags > environment (``TRADER_`` prefix, ``__`` for nesting) > TOML file > defaults."""

from __future__ import annotations

import difflib
import os
import sys
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trader_app.settings.llm import LLM_DEFAULTS
from trader_app.settings.parsing import parse_flag
from trader_app.settings.validation import validate
from trader_app.settings.values import DEFAULTS, Secret, Settings
from trader_core.model import ConfigError

__all__ = ["config_file", "load_settings"]


def load_settings(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Settings:
    """Merge defaults, the TOML file (``flags['config']`` or ``TRADER_CONFIG``), the environment and
    ``flags`` (None means 'not given'); raise one ``ConfigError`` listing every problem."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = dict(DEFAULTS)
    problems: list[str] = []
    config_path = config_file(flags, environ)
    if config_path:
        raw.update(_read_toml(Path(config_path), problems))
    raw.update(_read_env(environ))
    problems.extend(_unknown_section_variables(environ))
    if _is_true(raw.get("live")) and not _is_true(flags.get("live")):
        # Real money is a decision made on the command line, each time: never by a file or an inherited variable.
        problems.append("live trading is turned on only by --live on the command line, not by TRADER_LIVE or the "
                        "config file")
    raw.update({k: v for k, v in flags.items() if v is not None and k != "config"})
    raw.update(_read_credentials(config_path, environ, problems))
    settings = validate(raw, problems)
    if problems or settings is None:
        raise ConfigError("invalid settings: " + "; ".join(problems))
    return settings


def config_file(flags: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str | None:
    """The TOML file the settings are read from: ``flags['config']`` or ``TRADER_CONFIG`` (None: no file)."""
    environ = os.environ if environ is None else environ
    return flags.get("config") or environ.get("TRADER_CONFIG") or None


def _read_toml(path: Path, problems: list[str]) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except FileNotFoundError:
        problems.append(f"config file {path} not found")
        return {}
    except UnicodeDecodeError:
        problems.append(f"config file {path} is not UTF-8 text (TOML files are UTF-8)")
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        problems.append(f"config file {path}: {exc}")
        return {}
    unknown = sorted(set(document) - set(DEFAULTS) - {"llm"})  # [llm]: settings/llm.py
    if isinstance(document.get("llm"), dict) and "api_key" in document["llm"]:
        # Whatever the strategy: a key in a file is a secret left lying around (docs/llm.md).
        problems.append(f"config file {path}: [llm] api_key is not read from a file; set TRADER_LLM__API_KEY")
    problems.extend(f"config file {path}: unknown key {key!r}" for key in unknown)
    # A table where a value belongs (`stake = {amount = 5}`, `[stake]`) was dropped, and the default used unsaid.
    problems.extend(f"config file {path}: {key} must be a value, not a table"
                    for key, value in document.items()
                    if key in DEFAULTS and key != "exchange" and isinstance(value, dict))
    # [exchange] holds credentials (read by _read_credentials); `exchange = "binance"` names the venue.
    return {k: v for k, v in document.items() if k in DEFAULTS and not isinstance(v, dict)}


def _read_credentials(config_path: object, environ: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """API credentials: ``[exchange]`` in the TOML file, overridden by ``TRADER_EXCHANGE__API_KEY`` and
    ``TRADER_EXCHANGE__SECRET``. Never from flags: a command line is visible to every user of the machine."""
    section: dict[str, Any] = {}
    if config_path:
        try:
            with Path(str(config_path)).open("rb") as handle:
                table = tomllib.load(handle).get("exchange", {})
            # `exchange = "binance"` names the venue (read by _read_toml); only a table holds credentials.
            section = dict(table) if isinstance(table, dict) else {}
        except (OSError, ValueError):
            section = {}  # already reported by _read_toml (a TOMLDecodeError and a UnicodeDecodeError are ValueErrors)
    unknown = sorted(set(section) - {"api_key", "secret", "password"})
    problems.extend(f"config file {config_path}: unknown key 'exchange.{key}'" for key in unknown)
    key = environ.get("TRADER_EXCHANGE__API_KEY", section.get("api_key"))
    secret = environ.get("TRADER_EXCHANGE__SECRET", section.get("secret"))
    password = environ.get("TRADER_EXCHANGE__PASSWORD", section.get("password"))
    for name, value in (("TRADER_EXCHANGE__API_KEY", key), ("TRADER_EXCHANGE__SECRET", secret)):
        if value and len(str(value)) < _MIN_CREDENTIAL:
            # Never a real venue credential (Binance's are 64 characters); redacting it would mangle every log.
            problems.append(f"{name} is {len(str(value))} characters long, too short to be a real credential "
                            f"(at least {_MIN_CREDENTIAL})")
    return {"api_key": Secret(str(key)) if key else None, "secret": Secret(str(secret)) if secret else None,
            "password": Secret(str(password)) if password else None}


def _is_true(value: object) -> bool:
    """A valid true; anything else that is not false is reported by ``validate``."""
    try:
        return parse_flag(value)
    except ValueError:
        return False


# Variables of sections read elsewhere, and of the project's own test harness: not settings, not misspelt.
_OTHER_VARIABLES = ("TRADER_CONFIG", "TRADER_EXCHANGE__", "TRADER_LLM__", "TRADER_API__", "TRADER_TEST")


_MIN_CREDENTIAL = 8


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("TRADER_") or name.startswith(_OTHER_VARIABLES):
            continue
        key = name[7:].lower()
        if key in DEFAULTS:
            values[key] = value.split(",") if key == "symbols" else value
        else:
            _warn_unknown(name)
    return values


# The keys of the sections read from ``TRADER_<SECTION>__<KEY>`` (exchange credentials, [llm]).
_SECTION_KEYS = {"TRADER_EXCHANGE__": ("api_key", "secret", "password"), "TRADER_LLM__": ("api_key", *LLM_DEFAULTS)}


def _unknown_section_variables(environ: Mapping[str, str]) -> list[str]:
    """A misspelt TRADER_EXCHANGE__ or TRADER_LLM__ variable, whatever the strategy: refused, naming the closest."""
    problems = []
    for prefix, keys in _SECTION_KEYS.items():
        known = {prefix + key.upper() for key in keys}  # read by these exact names
        for name in sorted(n for n in environ if n.startswith(prefix) and n not in known):
            close = difflib.get_close_matches(name[len(prefix):].lower(), keys, n=1)
            hint = f"; did you mean {prefix}{close[0].upper()}?" if close else ""
            problems.append(f"unknown environment variable {name}{hint}")
    return problems


def _warn_unknown(name: str) -> None:
    """A misspelt variable (TRADER_STKAE) silently leaves its default in force: say so, naming the closest one."""
    known = [f"TRADER_{key.upper()}" for key in DEFAULTS]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    print(f"trader-app: warning: unknown environment variable {name} is ignored{hint}", file=sys.stderr)
