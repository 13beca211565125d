"""``trader-app status``: what a bot is doing now, read from its database (never from the venue).

Trading state and reason (the ``trading_state`` repository); the last tick's time, duration and lag, the
circuits and the last prices (the ``status.loop`` value the loop stores); positions with unrealized PnL
at those prices (the cached ledger); open plans with their protective orders; open orders; today's and
total gross realized PnL, fees and net (the ledger's totals and day rows; "net", as every other
output's ``realized_pnl``, is after fees). A table for people, or ``--json``
(Decimals as strings, times ISO-8601).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from rich.table import Table

from trader_app.commands.target import add_target, target
from trader_app.llm_status import budget_json
from trader_app.loop_status import STATUS_KEY, LoopStatus
from trader_app.stored_runs import no_runs
from trader_app.summary import plain
from trader_app.terminal import key_value_table, rows_table, show
from trader_core.model import (
    ZERO,
    BotId,
    ConfigError,
    InvalidValueError,
    OrderRole,
    Plan,
    RunRecord,
    StoreError,
    TrackedOrder,
)
from trader_core.model.health import TradingStatus
from trader_core.model.stats import LedgerSnapshot, StatsScope
from trader_core.ports import Store, UnitOfWork

__all__ = ["collect_status", "register", "render_status", "status_command"]

_PROTECTIVE = (OrderRole.STOP, OrderRole.TARGET)


def register(sub: Any) -> None:
    """Add ``status``."""
    status = sub.add_parser("status", help="show a bot's state, positions, plans, orders and PnL")
    add_target(status)
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=lambda args: status_command(*target(args), args.json))


def status_command(db: str, bot: str, as_json: bool) -> int:
    """Print the status of ``bot`` in ``db``."""
    from trader_app.storage import open_store

    try:
        bot_id = BotId(bot)
    except InvalidValueError as exc:
        raise ConfigError(str(exc)) from exc
    store = open_store(db, bot_id, read_only=True)
    try:
        status = collect_status(store, datetime.now(UTC))
    finally:
        store.close()
    if status["run"] is None:
        raise no_runs(bot, db)
    if as_json:
        sys.stdout.write(json.dumps(status, indent=2) + "\n")
    else:
        show(status_tables(status), render_status(status))
    return 0


def collect_status(store: Store, now: datetime) -> dict[str, Any]:
    """The bot's status as JSON-ready values (Decimals as strings). Read in one unit of work."""
    with store.unit_of_work() as uow:
        latest = uow.runs.find_latest()
        # As the loop loads them: a replay or paper run's book and ledger are its own; otherwise bot-wide.
        own_run = latest is not None and latest.mode in ("replay", "paper")
        run_scope = latest.run_id if own_run and latest is not None else None
        scope = StatsScope(run_scope)
        trading = uow.trading_state.find()
        loop_text = uow.values.find(STATUS_KEY)
        ledger = _ledger(uow, scope, latest)
        plans = uow.plans.list_active(run_scope)
        orders = uow.orders.list_active(run_scope)
        llm_budget = budget_json(uow, now)
        lease = uow.leases.find()
    loop = _loop(loop_text)
    prices = {} if loop is None else dict(loop.prices)
    replay = _replay_summary(latest)
    day_now, ended = now, _replay_end(replay)
    if ended is not None:
        # A replay's book is its own and so are its prices: its positions are marked where it ended, and its
        # "today" is the simulated day it ended on (the wall clock's day holds none of its fills).
        day_now, prices = ended
    return {
        "bot": store.bot_id.value,
        "run": None if latest is None else {"run_id": latest.run_id.value, "mode": latest.mode,
                                            "status": latest.status.value,
                                            "started_at": latest.started_at.isoformat()},
        "process": None if lease is None else {
            "host": lease.host, "pid": lease.pid, "since": lease.since.isoformat(),
            "expires_at": lease.expires_at.isoformat(), "alive": lease.in_force(now),
        },
        "trading_state": _trading_json(trading, replay, latest),
        "loop": None if loop is None else {
            "at": loop.at.isoformat(), "age_s": str(_age(now, loop.at)), "ticks": loop.ticks,
            "duration_s": str(loop.duration_s), "lag_s": str(loop.lag_s), "interval_s": str(loop.interval_s),
            "data_age_s": {k: None if v is None else str(v) for k, v in loop.data_age_s.items()},
            "protection": loop.protection or None,
        },
        "circuits": {} if loop is None else {k: dict(v) for k, v in loop.circuits.items()},
        "positions": _positions(ledger, prices),
        "plans": [_plan(plan, orders) for plan in plans],
        "orders": [_order(order) for order in orders],
        "pnl": _pnl(ledger, day_now),
        "replay_end": None if ended is None else ended[0].isoformat(),  # the day and prices above are its
        "llm_budget": llm_budget,
    }


_ENDED_IN = re.compile(r"(?P<state>\w+)(?: until (?P<until>\S+))? \((?P<reason>.*)\)", re.DOTALL)


def _replay_summary(latest: RunRecord | None) -> dict[str, Any] | None:
    """The stored summary of the latest run when it is a finished replay (which keeps its trading state and prices
    to itself, never in the bot's ``trading_state`` or loop status); None otherwise or when unreadable."""
    if latest is None or latest.mode != "replay" or not latest.summary_json:
        return None
    try:
        stored = json.loads(latest.summary_json)
    except ValueError:
        return None
    return stored if isinstance(stored, dict) else None


def _trading_json(trading: TradingStatus | None, replay: dict[str, Any] | None,
                  latest: RunRecord | None) -> dict[str, Any]:
    """The trading state in force; for a finished replay, the state it ended in, as its summary says it: a replay
    that ended paused read "active"."""
    if trading is None and replay is not None and latest is not None:
        found = _ENDED_IN.fullmatch(str(replay.get("trading_state") or "active"))
        if found is not None:
            return {"state": found["state"], "reason": found["reason"],
                    "source": f"end of replay run {latest.run_id.value}", "since": None, "until": found["until"]}
    return {
        "state": "active" if trading is None else trading.state.value,
        "reason": "" if trading is None else trading.reason,
        "source": "" if trading is None else trading.source,
        "since": None if trading is None else trading.since.isoformat(),
        "until": None if trading is None or trading.until is None else trading.until.isoformat(),
    }


def _replay_end(replay: dict[str, Any] | None) -> tuple[datetime, dict[str, Decimal]] | None:
    """For a finished replay: the time of its last prices (its simulated clock at its last tick) and the prices,
    as its record keeps them; None without them (a record written before they were kept)."""
    if replay is None:
        return None
    try:
        at = datetime.fromisoformat(replay["prices_at"])
        prices = {str(symbol): Decimal(str(price)) for symbol, price in replay["last_prices"].items()}
    except (ValueError, AttributeError, ArithmeticError, KeyError, TypeError):
        return None
    if at.tzinfo is None:
        return None
    # The prices are the closes of the candles that ended at that tick: the day they belong to is the one of the
    # instant before (a tick at midnight closes the day's last candle).
    return at - timedelta(microseconds=1), prices


def _ledger(uow: UnitOfWork, scope: StatsScope, latest: RunRecord | None) -> LedgerSnapshot | None:
    """The cached ledger of ``scope`` when it covers every stored fill, else one replayed from the fills, in
    memory (status writes nothing). A database upgraded from before the cache existed (revision 0001) holds
    fills and no cache: read as is, it showed no position, no fee and no PnL until the bot ran again."""
    from trader_core.portfolio import LedgerState, day_zone

    cached = uow.ledger.find(scope)
    stored = uow.fills.count(scope.run_id)
    if (cached is None and stored == 0) or (cached is not None and cached.totals.fills == stored):
        return cached
    zone_name = cached.day_timezone if cached is not None else _day_timezone(latest)
    state = LedgerState(zone=day_zone(zone_name))
    state.replay(uow.fills.iter_all(scope.run_id))
    return state.snapshot(scope, zone_name)


def _day_timezone(run: RunRecord | None) -> str:
    """The day time zone the run was started with (UTC when its stored settings do not say)."""
    try:
        return str(json.loads("{}" if run is None else run.config_json).get("day_timezone") or "UTC")
    except (ValueError, AttributeError):
        return "UTC"


def _loop(text: str | None) -> LoopStatus | None:
    if text is None:
        return None
    try:
        return LoopStatus.from_json(text)
    except InvalidValueError as exc:
        raise StoreError(str(exc)) from exc


def _age(now: datetime, at: datetime) -> Decimal:
    return Decimal(str(round((now - at).total_seconds(), 3)))


def _positions(ledger: LedgerSnapshot | None, prices: dict[str, Decimal]) -> list[dict[str, Any]]:
    rows = []
    for holding in () if ledger is None else ledger.holdings:
        if holding.quantity == ZERO:
            continue
        price = prices.get(str(holding.symbol))
        average = holding.average_cost
        rows.append({
            "symbol": str(holding.symbol), "quantity": str(holding.quantity), "cost": str(holding.cost),
            "average_cost": None if average is None else _fine(average),
            "last_price": None if price is None else str(price),
            "market_value": None if price is None else str(holding.market_value(price)),
            "unrealized_pnl": None if price is None else str(holding.market_value(price) - holding.cost),
        })
    return rows


def _fine(value: Decimal) -> str:
    """``value`` to 8 places, without trailing zeros, in plain notation (an average cost of 100 is 100, not 1E+2;
    a PnL of 19.8216 is not 19.821600000000000000)."""
    return plain(value.quantize(Decimal("0.00000001")))


def _plan(plan: Plan, orders: Sequence[TrackedOrder]) -> dict[str, Any]:
    protection = [_order(o) for o in orders if o.plan_id == plan.plan_id and o.role in _PROTECTIVE]
    return {
        "plan_id": plan.plan_id.value, "symbol": str(plan.symbol), "side": plan.side.value,
        "status": plan.status.value, "quantity": str(plan.quantity.value), "entry_filled": str(plan.entry_filled.value),
        "entry_price": _text(plan.entry_price), "stop_price": _text(plan.stop_price),
        "target_price": _text(plan.target_price), "opened_at": plan.opened_at.isoformat(),
        "protected": bool(protection), "protection": protection,
    }


def _order(order: TrackedOrder) -> dict[str, Any]:
    request = order.request
    return {
        "client_order_id": order.client_order_id.value, "symbol": str(request.symbol), "side": request.side.value,
        "type": request.order_type.value, "role": order.role.value, "status": order.status.value,
        "quantity": str(request.quantity.value), "filled": str(order.filled_quantity.value),
        "price": _text(request.price), "stop_price": _text(request.stop_price),
        "plan_id": None if order.plan_id is None else order.plan_id.value,
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value.value)


def _pnl(ledger: LedgerSnapshot | None, now: datetime) -> dict[str, Any]:
    if ledger is None:
        zero = {"fills": 0, "gross_pnl": "0", "fees": "0", "net": "0"}
        return {"day": now.date().isoformat(), "day_timezone": "UTC", "today": dict(zero), "total": zero}
    day = ledger.day_at(now)
    today = day.day
    totals = ledger.totals
    return {
        "day": today.isoformat(), "day_timezone": ledger.day_timezone,
        "today": {"fills": day.fills, "gross_pnl": _fine(day.realized_pnl), "fees": _fine(day.fees),
                  "net": _fine(day.net)},
        "total": {"fills": totals.fills, "gross_pnl": _fine(totals.realized_pnl), "fees": _fine(totals.fees),
                  "net": _fine(totals.net)},
    }


_POSITION_COLUMNS = ("symbol", "quantity", "average_cost", "last_price", "market_value", "unrealized_pnl")
_PLAN_COLUMNS = ("plan_id", "symbol", "status", "quantity", "entry_price", "stop_price", "target_price", "protection")
_ORDER_COLUMNS = ("client_order_id", "symbol", "side", "type", "role", "status", "quantity", "filled", "price",
                  "stop_price")


def status_tables(status: dict[str, Any]) -> list[Table | str]:
    """The status as rich tables, for a terminal: the same content as :func:`render_status`."""
    header = dict(_split(line) for line in _header_lines(status))
    return [
        key_value_table(header, title=None),
        rows_table(status["positions"], _POSITION_COLUMNS, title="positions"),
        rows_table(_plan_rows(status), _PLAN_COLUMNS, title="open plans"),
        rows_table(status["orders"], _ORDER_COLUMNS, title="open orders"),
    ]


def _split(line: str) -> tuple[str, str]:
    name, _, value = line.partition(" ")
    return name, value.strip()


def _plan_rows(status: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**p, "protection": ", ".join(f"{o['role']} {o['price'] or o['stop_price']} {o['status']}"
                                          for o in p["protection"]) or "none"} for p in status["plans"]]


def render_status(status: dict[str, Any]) -> str:
    """The status as aligned tables for people."""
    out = _header_lines(status)
    out += ["", "positions"]
    out += _table(status["positions"], _POSITION_COLUMNS)
    out += ["", "open plans"]
    out += _table(_plan_rows(status), _PLAN_COLUMNS)
    out += ["", "open orders"]
    out += _table(status["orders"], _ORDER_COLUMNS)
    return "\n".join(out) + "\n"


def _header_lines(status: dict[str, Any]) -> list[str]:
    out: list[str] = []
    state = status["trading_state"]
    run = status["run"]
    out.append(f"bot            {status['bot']}" + ("  (no runs)" if run is None else
                                                     f"  (run {run['run_id']}, {run['mode']}, {run['status']})"))
    if run is not None:
        out.append(f"process        {_process_line(run, status['process'])}")
    reason = f"  ({state['reason']})" if state["reason"] else ""
    until = f" until {state['until']}" if state["until"] else ""
    out.append(f"trading state  {state['state']}{until}{reason}")
    loop = status["loop"]
    if loop is None:
        marked = any(p["last_price"] is not None for p in status["positions"])
        out.append("last tick      none recorded (a replay stores none" +
                   ("; positions marked at its last prices)" if marked else ")"))
    else:
        out.append(f"last tick      {loop['at']} ({loop['age_s']} s ago), took {loop['duration_s']} s, "
                   f"lag {loop['lag_s']} s, interval {loop['interval_s']} s, ticks {loop['ticks']}")
        circuits = ", ".join(f"{name} {c.get('health')}" for name, c in status["circuits"].items())
        out.append(f"circuits       {circuits}")
        out.append(f"protection     {loop.get('protection') or 'not recorded'}")
    pnl = status["pnl"]
    label = "today         " if status.get("replay_end") is None else "replay's end  "
    out.append(f"{label} {pnl['day']} ({pnl['day_timezone']}): gross {pnl['today']['gross_pnl']}, "
               f"fees {pnl['today']['fees']}, net {pnl['today']['net']}, fills {pnl['today']['fills']}")
    out.append(f"total          gross {pnl['total']['gross_pnl']}, fees {pnl['total']['fees']}, "
               f"net {pnl['total']['net']}, fills {pnl['total']['fills']}")
    llm = status.get("llm_budget")
    if llm is not None:
        hours = "-" if llm["hours_to_cap"] is None else llm["hours_to_cap"]
        net = Decimal(pnl["total"]["net"]) - Decimal(llm["cost"])
        out.append(f"llm budget     {llm['state']}: {llm['cost']} of {llm['budget']} ({llm['pct_of_budget']} %), "
                   f"burn {llm['burn_rate_per_hour']}/h, {hours} h to the cap, {llm['calls']} calls; "
                   f"net after LLM {net}")
    return out


def _process_line(run: dict[str, Any], process: dict[str, Any] | None) -> str:
    """Whether a process runs the bot now (its lease in force): a run killed or crashed stays marked running in
    the store, and only the lease tells it apart from a live one."""
    if process is not None and process["alive"]:
        return f"running: host {process['host']}, pid {process['pid']}, since {process['since']}"
    if run["status"] != "running":
        return "none"
    gone = "" if process is None else f" since {process['expires_at']}"
    return (f"none{gone}: the run is marked running but no process holds the bot (killed or crashed); "
            "starting the bot again resumes it")


def _table(rows: list[dict[str, Any]], columns: Sequence[str]) -> list[str]:
    if not rows:
        return ["  (none)"]
    cells = [[("-" if row.get(c) is None else str(row.get(c))) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  " + "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return lines
