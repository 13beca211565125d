"""The JSON control API under ``/sandbox/``, for tests and tools in another process (loopback only, unsigned)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trader_sandbox.faults import GroupRate
from trader_sandbox.state import Exchange

__all__ = ["CONTROLS", "handle_control"]

Body = dict[str, Any]
Query = dict[str, str]
Control = Callable[[Exchange, Body, Query], Any]


def _price(ex: Exchange, body: Body, _q: Query) -> Any:
    prices = dict(body.get("prices") or {})
    if "symbol" in body:
        prices[body["symbol"]] = body["price"]
    for symbol, price in prices.items():
        ex.set_price(symbol, str(price), gap=bool(body.get("gap", False)))
    return {"prices": ex.prices()}


def _step(ex: Exchange, body: Body, _q: Query) -> Any:
    return {"prices": ex.step(int(body.get("n", 1)), body.get("symbol"), quiet=bool(body.get("quiet", False)))}


def _add_fault(ex: Exchange, body: Body, _q: Query) -> Any:
    return ex.faults.add(**body).to_dict()


def _clear_faults(ex: Exchange, _b: Body, _q: Query) -> Any:
    ex.faults.clear()
    return {"faults": []}


def _requests(ex: Exchange, _b: Body, q: Query) -> Any:
    return {"requests": ex.requests(int(q.get("since", "0")))}


def _clear_requests(ex: Exchange, _b: Body, _q: Query) -> Any:
    with ex.lock:
        ex.log.clear()
    return {"requests": []}


def _reset(ex: Exchange, _b: Body, _q: Query) -> Any:
    ex.reset()
    return ex.state()


def _balances(ex: Exchange, body: Body, _q: Query) -> Any:
    ex.set_balances(body.get("balances", {}), replace=bool(body.get("replace", False)))
    return {"balances": ex.accounts.snapshot()}


def _clock(ex: Exchange, body: Body, _q: Query) -> Any:
    ex.clock_skew_ms = int(body.get("skew_ms", 0))
    return {"clock_skew_ms": ex.clock_skew_ms, "server_time": ex.server_time()}


def _rate_limit(ex: Exchange, body: Body, _q: Query) -> Any:
    limit = body.get("limit")
    ex.limiter.configure(None if limit is None else int(limit), float(body.get("window_s", 60)),
                         body.get("ban_after"), float(body.get("ban_seconds", 120)))
    return {"limit": limit}


def _group_rates(ex: Exchange, body: Body, _q: Query) -> Any:
    rates = {name: body.get(f"{name}_per_minute") for name in ("public", "private")}
    ex.group_rates = {name: GroupRate(int(rate)) for name, rate in rates.items() if rate is not None}
    return rates


def _ban(ex: Exchange, body: Body, _q: Query) -> Any:
    import time

    ex.limiter.ban(float(body.get("seconds", 60)), time.time())
    return {"banned_s": body.get("seconds", 60)}


def _config(ex: Exchange, body: Body, _q: Query) -> Any:
    clear = "step_volume" in body and body["step_volume"] is None
    clear_depth = "taker_depth" in body and body["taker_depth"] is None
    ex.configure(body.get("commission_rate"), body.get("step_volume"), clear_step_volume=clear,
                 taker_depth=body.get("taker_depth"), clear_taker_depth=clear_depth)
    return {"commission_rate": str(ex.engine.commission_rate),
            "step_volume": None if ex.engine.step_volume is None else str(ex.engine.step_volume),
            "taker_depth": None if ex.engine.taker_depth is None else str(ex.engine.taker_depth)}


def _timer(ex: Exchange, body: Body, _q: Query) -> Any:
    interval = body.get("interval_s")
    if interval:
        ex.start_timer(float(interval))
    else:
        ex.stop_timer()
    return {"interval_s": interval}


CONTROLS: dict[tuple[str, str], Control] = {
    ("GET", "/sandbox/state"): lambda ex, _b, _q: ex.state(),
    ("POST", "/sandbox/price"): _price,
    ("POST", "/sandbox/step"): _step,
    ("GET", "/sandbox/faults"): lambda ex, _b, _q: {"faults": [f.to_dict() for f in ex.faults.list()]},
    ("POST", "/sandbox/faults"): _add_fault,
    ("DELETE", "/sandbox/faults"): _clear_faults,
    ("GET", "/sandbox/requests"): _requests,
    ("DELETE", "/sandbox/requests"): _clear_requests,
    ("POST", "/sandbox/reset"): _reset,
    ("POST", "/sandbox/balances"): _balances,
    ("POST", "/sandbox/clock"): _clock,
    ("POST", "/sandbox/rate_limit"): _rate_limit,
    ("POST", "/sandbox/group_rates"): _group_rates,
    ("POST", "/sandbox/ban"): _ban,
    ("POST", "/sandbox/config"): _config,
    ("POST", "/sandbox/timer"): _timer,
}


def handle_control(ex: Exchange, method: str, path: str, body: Body, query: Query) -> tuple[int, Any]:
    """Run one control; (status, JSON answer). Bad input answers 400 ``{"error": ...}``."""
    control = CONTROLS.get((method, path.rstrip("/")))
    if control is None:
        return 404, {"error": f"no control {method} {path}", "controls": sorted(f"{m} {p}" for m, p in CONTROLS)}
    try:
        return 200, control(ex, body, query)
    except (KeyError, ValueError, TypeError, ArithmeticError) as exc:
        return 400, {"error": f"{type(exc).__name__}: {exc}"}
