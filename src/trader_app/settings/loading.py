"""Reading the settings: flags > environment (``TRADER_`` prefix, ``__`` for nesting) > TOML file > defaults."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trader_app.settings.validation import validate
from trader_app.settings.values import DEFAULTS, Secret, Settings
from trader_core.model import ConfigError

__all__ = ["load_settings"]


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
    settings = validate(raw, problems)
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
    unknown = sorted(set(section) - {"api_key", "secret", "password"})
    problems.extend(f"config file {config_path}: unknown key 'exchange.{key}'" for key in unknown)
    key = environ.get("TRADER_EXCHANGE__API_KEY", section.get("api_key"))
    secret = environ.get("TRADER_EXCHANGE__SECRET", section.get("secret"))
    password = environ.get("TRADER_EXCHANGE__PASSWORD", section.get("password"))
    return {"api_key": Secret(str(key)) if key else None, "secret": Secret(str(secret)) if secret else None,
            "password": Secret(str(password)) if password else None}


def _read_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith("TRADER_") or name == "TRADER_CONFIG" or "__" in name[7:]:
            continue  # nested names (TRADER_EXCHANGE__API_KEY) belong to sections that read them
        key = name[7:].lower()
        if key in DEFAULTS:
            values[key] = value.split(",") if key == "symbols" else value
    return values
