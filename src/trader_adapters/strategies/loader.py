"""Loads a strategy by name (built-in) or as ``package.module:Class`` (any SignalSource)."""

from __future__ import annotations

import importlib
import inspect
from decimal import Decimal
from typing import Any

from trader_adapters.strategies.sma_cross import SmaCross
from trader_core.model import ConfigError
from trader_core.ports import SignalSource

__all__ = ["load_strategy"]


def load_strategy(spec: str, options: dict[str, Any]) -> SignalSource:
    """Build the strategy named ``spec``.

    ``sma`` (or ``sma_cross``) is built in. ``package.module:Class`` imports the class and calls it with
    the keyword options its constructor accepts (``fast``, ``slow``, ``stop_pct``, ``target_pct``, ...).
    """
    if spec in ("sma", "sma_cross"):
        return SmaCross(fast=int(options["fast"]), slow=int(options["slow"]),
                        stop_pct=_pct(options.get("stop_pct")), target_pct=_pct(options.get("target_pct")),
                        volatility_sizing=bool(options.get("volatility_sizing", False)))
    module_name, _, class_name = spec.partition(":")
    if not module_name or not class_name:
        raise ConfigError(f"strategy {spec!r}: use a built-in name (sma) or package.module:Class")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"strategy {spec!r} cannot be loaded: {exc}") from exc
    accepted = inspect.signature(cls).parameters
    kwargs = {k: v for k, v in options.items() if k in accepted}
    strategy = cls(**kwargs)
    if not callable(getattr(strategy, "decide", None)):
        raise ConfigError(f"strategy {spec!r} has no decide(context) method")
    return strategy  # type: ignore[no-any-return]


def _pct(value: object) -> Decimal | None:
    if value is None or Decimal(str(value)) == 0:
        return None
    return Decimal(str(value))
