"""Chaos soak: ``trader-app run --exchange binance`` against the emulator, killed with SIGKILL at random moments
and restarted, while about a fifth of its requests meet a fault.

    python bench/chaos.py [--restarts 200] [--fault-rate 0.2] [--seed 1] [--venue binance|gemini] [--json] [--keep DIR]

The bot trades scripted signals every few seconds (``--signals``, caught up after a restart): a market BUY
with a stop and a target (an OCO bracket held by the venue), a SELL of half (a partial close: the bracket is
cancelled and placed again for the rest), then CLOSE_POSITION (cancel, sell the rest). Faults, armed one at a
time on the next request so that about ``--fault-rate`` of the requests meet one: 5xx, a delay longer than
ccxt's 10 s timeout, a dropped connection, apply-then-fail on order placement and cancellation (answered 503
or dropped after the venue acted), a placement answered 503 or dropped at once and carried out 0.5-8 s later
(within its recvWindow, as Binance's queue can), 429 with Retry-After, a 418 ban (2 s), and a clock skew
beyond recvWindow (1 s). After the last kill the faults stop and one clean run books what is left and is
stopped with SIGTERM.

``--venue gemini`` runs the same soak against the emulator's Gemini face (``--exchange gemini``, one-minute
candles): no OCO there (the stop rests at the venue as an ``exchange stop limit``, the target is the bot's), and the
fault mix is Gemini's: 5xx, timeouts, dropped connections, apply-then-fail on ``/v1/order/new`` and
``/v1/order/cancel``, a placement answered at once and run later (Gemini's nonce then refuses it once a later
request has been seen, as the venue would), 429 with Retry-After, and a clock skew beyond Gemini's 30 s nonce window.

Prints: restarts, orders sent, client ids sent twice (from the emulator's request log), the venue's fills of
the bot's orders vs the fills booked (missing, doubled), restarts that found a position without venue
protection and the longest time from the restarted bot's RunStarted to protection (and the longest
unprotected stretch of any cause), circuit trips and recoveries, crashes (exit code 1), and the ledger vs the
venue's balances at the end. Exit code 0 when the goals hold: no duplicate, no missing or doubled fill, no
crash, every plan protected within one tick of a restart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from trader_sandbox.faults import Fault
from trader_sandbox.sandbox import Sandbox
from trader_sandbox.testing import running_sandbox

APP = str(Path(sys.executable).parent / "trader-app")
INTERVAL = 0.5  # the bot's tick (s)
ONE_TICK = 1.0  # the protective step runs right after the tick's market data: allowed slack (s)
CYCLE = 6  # one BUY, partial SELL, CLOSE_POSITION every CYCLE seconds
LATE = (0.5, 8.0)  # a queued placement runs this many seconds after its answer (within the 10 s recvWindow)


@dataclass(frozen=True)
class Venue:
    """What the soak needs to know of a venue's face of the emulator: how the bot is started on it, which requests
    carry client order ids, and its fault mix (kind -> weight; the specs of the kinds bound to a request)."""

    name: str
    timeframe: str
    order_paths: dict[tuple[str, str], tuple[str, ...]]
    weights: dict[str, int]
    specs: dict[str, dict[str, Any]]
    late: tuple[str, ...]  # kinds whose request runs a moment after its answer
    rate_limited: dict[str, Any]
    skew_ms: int
    # A process that started is killed at a random moment this many seconds after its RunStarted: long enough for
    # a few ticks of trading (a tick on Gemini takes about 1.5 s: ccxt paces its public requests at 0.5 s).
    life: tuple[float, float] = (0.0, 5.0)


VENUES = {
    "binance": Venue(
        name="binance", timeframe="1s",
        order_paths={("POST", "/api/v3/order"): ("newClientOrderId",),
                     ("POST", "/api/v3/orderList/oco"): ("listClientOrderId", "aboveClientOrderId",
                                                         "belowClientOrderId")},
        weights={"5xx": 28, "timeout": 2, "drop": 14, "apply_place": 12, "apply_cancel": 11, "apply_oco": 7,
                 "late_place": 6, "late_oco": 4, "429": 10, "ban": 2, "skew": 4},
        specs={"apply_place": {"path": "/api/v3/order", "method": "POST", "apply": True},
               "apply_cancel": {"path": "/api/v3/order", "method": "DELETE", "apply": True},
               "apply_oco": {"path": "/api/v3/orderList/oco", "method": "POST", "apply": True},
               "late_place": {"path": "/api/v3/order", "method": "POST"},
               "late_oco": {"path": "/api/v3/orderList/oco", "method": "POST"}},
        late=("late_place", "late_oco"),
        rate_limited={"status": 429, "code": -1003, "msg": "Too much request weight used.",
                      "headers": {"Retry-After": "1"}},
        skew_ms=20_000,  # beyond the bot's 10 s recvWindow
    ),
    "gemini": Venue(
        name="gemini", timeframe="1m",
        order_paths={("POST", "/v1/order/new"): ("client_order_id",)},
        weights={"5xx": 30, "timeout": 2, "drop": 15, "apply_place": 13, "apply_cancel": 12, "late_place": 8,
                 "429": 12, "skew": 4},
        specs={"apply_place": {"path": "/v1/order/new", "method": "POST", "apply": True},
               "apply_cancel": {"path": "/v1/order/cancel", "method": "POST", "apply": True},
               "late_place": {"path": "/v1/order/new", "method": "POST"}},
        late=("late_place",),
        rate_limited={"status": 429, "headers": {"Retry-After": "1"},
                      "body": '{"result":"error","reason":"RateLimit","message":"Requests were made too frequently"}'},
        skew_ms=40_000,  # beyond Gemini's 30 s window for a time-based nonce
        life=(0.0, 15.0),
    ),
}
# How long a fault keeps the bot from the venue once it hit (s): a timeout until ccxt gives up, a 429 its
# Retry-After, a ban or a skew while it lasts, anything else about one request's round trip.
FAULT_EFFECT = {"timeout": 11.0, "429": 1.0, "ban": 2.0, "skew": 1.0}


def _signals(path: Path, start: datetime, seconds: float) -> None:
    lines = []
    for k in range(int(seconds // CYCLE) + 2):
        t = start + timedelta(seconds=k * CYCLE)
        lines += [
            {"at": t, "action": "BUY", "symbol": "BTC/USDT", "quantity": "0.004", "stop_pct": 0.3,
             "target_pct": 0.5, "reason": f"chaos {k}"},
            {"at": t + timedelta(seconds=2), "action": "SELL", "symbol": "BTC/USDT", "quantity": "0.002",
             "reason": f"chaos partial {k}"},
            {"at": t + timedelta(seconds=4), "action": "CLOSE_POSITION", "symbol": "BTC/USDT", "reason": f"chaos {k}"},
        ]
    path.write_text("".join(json.dumps({**s, "at": s["at"].isoformat()}) + "\n" for s in lines))


class Chaos:
    """Arms faults so that about ``rate`` of the requests meet one; counts what it did."""

    def __init__(self, sandbox: Sandbox, rate: float, rng: random.Random, venue: Venue = VENUES["binance"]) -> None:
        self.sandbox, self.rate, self.rng, self.venue = sandbox, rate, rng, venue
        self.injected: Counter[str] = Counter()  # ban and skew (each hits every request while it lasts)
        self.armed: list[tuple[str, Fault]] = []
        self.effects: list[tuple[float, float, str]] = []  # (from, to, kind): when each fault held the bot up
        self._timed: set[int] = set()
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="chaos", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def halt(self) -> None:
        self.stop.set()
        self._thread.join(timeout=15)
        self.sandbox.clear_faults()
        self.sandbox.set_clock_skew(0)

    def by_kind(self) -> Counter[str]:
        out = Counter(self.injected)
        for kind, fault in self.armed:
            if fault.hits:
                out[kind] += fault.hits
        return out

    def faulted(self) -> int:
        return sum(self.by_kind().values())

    def _run(self) -> None:
        while not self.stop.wait(0.02):
            for kind, fault in self.armed:
                if fault.hits and fault.id not in self._timed:
                    self._timed.add(fault.id)
                    self._effect(kind, fault.apply_after)
            waiting = [f for _, f in self.armed if not f.hits]
            if self.faulted() + len(waiting) >= self.rate * self.sandbox.request_count():
                continue
            kind = self.rng.choices(list(self.venue.weights), list(self.venue.weights.values()))[0]
            general = kind in ("5xx", "timeout", "drop", "429")
            if any(f.path == "*" for f in waiting) or (not general and len(waiting) > 1):
                continue
            self._arm(kind)

    def _effect(self, kind: str, seconds: float | None = None) -> None:
        """A queued placement holds the bot up until it runs; other kinds as ``FAULT_EFFECT`` says."""
        now = time.time()
        self.effects.append((now, now + (seconds or FAULT_EFFECT.get(kind, 0.5)), kind))

    def _arm(self, kind: str) -> None:
        sb = self.sandbox
        if kind == "ban":
            sb.ban(2.0)
            self._effect(kind)
            self.injected[kind] += 1
            self.stop.wait(2.0)
            return
        if kind == "skew":
            sb.set_clock_skew(self.rng.choice((-1, 1)) * self.venue.skew_ms)
            self._effect(kind)
            self.injected[kind] += 1
            self.stop.wait(1.0)
            sb.set_clock_skew(0)
            return
        spec: dict[str, Any]
        if kind == "5xx":
            spec = {"status": self.rng.choice((500, 502, 503, 504))}
        elif kind == "timeout":
            spec = {"delay": 11.0}
        elif kind == "drop":
            spec = {"drop": True}
        elif kind == "429":
            spec = dict(self.venue.rate_limited)
        else:  # bound to a placement or a cancel: answered 503 or dropped (half each)
            spec = dict(self.venue.specs[kind])
            if kind != "apply_oco":  # an OCO applied then failed is always answered 503
                spec["drop"] = self.rng.random() < 0.5
            if kind in self.venue.late:
                spec["apply_after"] = self.rng.uniform(*LATE)
        self.armed.append((kind, sb.inject(**spec)))


# The bot's positions here are 0.004 or 0.002 BTC. Each round trip leaves a residue outside any plan (the entry's
# BTC fee makes 0.003996, its bracket sells 0.00399 on the step), under 0.00001 BTC a time: over a long soak that
# residue can pass minNotional. Less than a quarter of the smallest position uncovered is that residue, not a plan.
RESIDUE = Decimal("0.0005")


class Protection:
    """Samples the venue every 10 ms: unprotected when the BTC held beyond what its open sell stops cover is
    worth at least minNotional (less is dust no order could sell) and is more than the round trips' residue
    (``RESIDUE``)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.samples: list[tuple[float, bool]] = []  # (wall time, unprotected)
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="protection", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def halt(self) -> None:
        self.stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        ex = self.sandbox.exchange
        while not self.stop.wait(0.01):
            with ex.lock:
                held = ex.accounts.free.get("BTC", Decimal(0)) + ex.accounts.locked.get("BTC", Decimal(0))
                covered = sum((o.orig_qty - o.executed_qty for o in ex.engine.open_orders("BTCUSDT")
                               if o.side == "SELL" and o.type.startswith("STOP_LOSS")), Decimal(0))
                price, rules = ex.markets["BTCUSDT"].last, ex.rules["BTCUSDT"]
            # What no order can sell (below minNotional: fee dust left by each round trip) needs no stop.
            uncovered = held - covered
            self.samples.append((time.time(), uncovered * price >= rules.min_notional and uncovered > RESIDUE))

    def stretches(self) -> list[tuple[float, float]]:
        """(start, end) of every unprotected stretch."""
        out: list[tuple[float, float]] = []
        start: float | None = None
        for t, bad in self.samples:
            if bad and start is None:
                start = t
            elif not bad and start is not None:
                out.append((start, t))
                start = None
        if start is not None:
            out.append((start, self.samples[-1][0]))
        return out


class ThinBook:
    """``--thin-book``: every few seconds the book is made thin (a taker order finds 0.001 to 0.003 BTC at the
    touch, so entries, exits and triggered stops fill in part and expire with the rest) or deep again."""

    def __init__(self, sandbox: Sandbox, rng: random.Random) -> None:
        self.sandbox, self.rng = sandbox, rng
        self.spells = 0
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="thin-book", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def halt(self) -> None:
        self.stop.set()
        self._thread.join(timeout=10)
        self.sandbox.configure(unlimited_depth=True)

    def figures(self) -> dict[str, int]:
        """How many thin spells there were and how many orders the venue ended after filling them in part."""
        with self.sandbox.exchange.lock:
            partial = sum(1 for o in self.sandbox.exchange.engine.orders.values()
                          if o.status in ("EXPIRED", "CANCELED") and 0 < o.executed_qty < o.orig_qty)
        return {"thin_book_spells": self.spells, "orders_filled_in_part_then_ended": partial}

    def _run(self) -> None:
        while not self.stop.wait(self.rng.uniform(2.0, 6.0)):
            if self.rng.random() < 0.5:
                self.sandbox.configure(taker_depth=self.rng.choice(("0.001", "0.0015", "0.003")))
                self.spells += 1
            else:
                self.sandbox.configure(unlimited_depth=True)


def _events(folder: Path) -> list[dict[str, Any]]:
    path = folder / "logs" / "telemetry.jsonl"
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a line cut by SIGKILL
    return out


def _start(folder: Path, sandbox: Sandbox, venue: Venue) -> subprocess.Popen[str]:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
    return subprocess.Popen(
        [APP, "run", "--exchange", venue.name, "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT", "--timeframe",
         venue.timeframe, "--interval", str(INTERVAL), "--signals", "signals.jsonl", "--signals-catch-up",
         "--accept-reconciliation"],
        cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def soak(folder: Path, restarts: int, fault_rate: float, seed: int, venue: Venue = VENUES["binance"], *,
         thin_book: bool = False, venue_rates: bool = False) -> dict[str, Any]:
    """Run the soak in ``folder``; return the figures. ``thin_book``: spells of a thin book (``ThinBook``).
    ``venue_rates``: the Gemini face holds Gemini's request rates (``Sandbox.gemini_rates``) besides the fault mix."""
    rng = random.Random(seed)
    with running_sandbox(venue=venue.name, candle_ms=1000, history=60 if venue.name == "binance" else 120,
                         balances={"USDT": Decimal(100_000), "BNB": Decimal(10)}) as sb:
        sb.start_timer(1.0)
        if venue_rates:
            sb.gemini_rates()
        _signals(folder / "signals.jsonl", datetime.now(UTC) + timedelta(seconds=3), restarts * 15 + 60)
        chaos, protection = Chaos(sb, fault_rate, rng, venue), Protection(sb)
        thin = ThinBook(sb, random.Random(seed + 1)) if thin_book else None
        chaos.start()
        protection.start()
        if thin is not None:
            thin.start()
        crashes: list[str] = []
        refused: list[str] = []  # exit 2: what the bot said
        began = time.monotonic()
        started: list[float] = []  # when each process was started (epoch seconds): the previous one is dead by then
        for _ in range(restarts):
            runs = _count(folder, "RunStarted")
            started.append(time.time())
            bot = _start(folder, sb, venue)
            if rng.random() < 0.15:  # now and then during start-up (reconciliation, first sync)
                _wait(bot, rng.uniform(0.2, 2.5))
            else:  # mostly while it trades: a random moment of its first few seconds
                deadline = time.monotonic() + 20
                while _count(folder, "RunStarted") == runs and bot.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                _wait(bot, rng.uniform(*venue.life))
            if bot.poll() is None:
                bot.send_signal(signal.SIGKILL)
                bot.wait(timeout=10)
            else:
                _, err = bot.communicate()
                if bot.returncode == 2:
                    refused.append(err.strip().splitlines()[-1] if err.strip() else "")
                else:
                    crashes.append(f"exit {bot.returncode}: {err.strip().splitlines()[-1:] if err else ''}")
        chaos.halt()
        if thin is not None:
            thin.halt()
        soak_seconds = time.monotonic() - began
        started.append(time.time())
        last = _start(folder, sb, venue)
        time.sleep(8)
        protection.halt()
        last.send_signal(signal.SIGTERM)
        out, err = last.communicate(timeout=60)
        if last.returncode not in (0,):
            crashes.append(f"final run exit {last.returncode}: {err.strip().splitlines()[-1:]}")
        summary = dict(line.split(None, 1) for line in out.strip().splitlines() if len(line.split(None, 1)) == 2)
        figures = _figures(folder, sb, chaos=chaos, protection=protection, crashes=crashes, refused=refused,
                           restarts=restarts, soak_seconds=soak_seconds, summary=summary, started=started, venue=venue)
        return figures if thin is None else {**figures, **thin.figures()}


def _count(folder: Path, event: str) -> int:
    path = folder / "logs" / "telemetry.jsonl"
    return path.read_text().count(f'"event":"{event}"') if path.exists() else 0


def _wait(bot: subprocess.Popen[str], seconds: float) -> bool:
    try:
        bot.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        return False
    return True


def _figures(folder: Path, sb: Sandbox, *, chaos: Chaos, protection: Protection, crashes: list[str],
             refused: list[str], restarts: int, soak_seconds: float, summary: dict[str, str],
             started: list[float], venue: Venue = VENUES["binance"]) -> dict[str, Any]:
    log = sb.requests()
    sent: list[str] = []
    for entry in log:  # an OCO's list id is its stop leg's id: each id once per request
        keys = venue.order_paths.get((entry["method"], entry["path"]), ())
        sent += sorted({str(entry["params"][key]) for key in keys if key in entry["params"]})
    twice = sorted(cid for cid, n in Counter(sent).items() if n > 1)
    ex = sb.exchange  # the venue's own books, whichever face it speaks
    with ex.lock:
        own = {o.order_id for o in ex.engine.orders.values() if o.client_id.startswith("tc")}
        venue_fills = {str(t.trade_id) for t in ex.engine.trades if t.order_id in own}
    booked = _booked(folder)
    events = _events(folder)
    # Kept beside the logs, so a soak run with --keep can be looked into again afterwards.
    (folder / "chaos.json").write_text(json.dumps({"effects": chaos.effects, "stretches": protection.stretches(),
                                                   "started": started}))
    after_restart, late_stretches = _after_restarts(events, protection.stretches(), started)
    late = [b - a for a, b in late_stretches]
    # Which faults held up each restart that protected late (its stretch after the first tick overlaps their
    # effect): a late restart with none is the bot's own doing.
    held_up = [(b - a, {kind for start, end, kind in chaos.effects if start < b and end > a})
               for a, b in late_stretches if b - a > ONE_TICK]
    unexplained = [seconds for seconds, kinds in held_up if not kinds]
    # The same stretches less the time faults held the bot up inside them: what was the bot's own doing.
    net = [(b - a) - _covered(a, b, [(start, end) for start, end, _ in chaos.effects]) for a, b in late_stretches]
    # Of the late stretches (net of faults), those while an order of the bot's was in doubt (its placement or its
    # cancel unanswered): the bot waiting for the venue's word before it acts on it (never two sells for one plan,
    # nor a new stop beside one that may still stand, nor a bracket for a position it does not know of yet).
    waiting = _orders_in_doubt(events)
    net_late = [(a, b, n) for (a, b), n in zip(late_stretches, net, strict=True) if n > ONE_TICK]
    net_other = [n for a, b, n in net_late if not any(u < b and r > a for u, r in waiting)]
    stretches = [b - a for a, b in protection.stretches()]
    final = [e for e in events if e.get("run_id") == summary.get("run_id")]
    mismatches = [f"{e['asset']} ledger {e['expected']} venue {e['venue']}" for e in final
                  if e["event"] == "BalanceMismatchDetected"]
    reconciled = any(e["event"] == "BalancesReconciled" for e in final)
    figures: dict[str, Any] = {
        "restarts": restarts, "soak_seconds": round(soak_seconds, 1), "requests": len(log),
        "faults_injected": chaos.faulted(), "fault_share": round(chaos.faulted() / max(1, len(log)), 3),
        "faults_by_kind": dict(chaos.by_kind()), "orders_sent": len(sent), "client_ids_sent_twice": len(twice),
        "twice": twice[:10], "unprotected_stretches": [(round(a, 1), round(b - a, 2)) for a, b in
                                                        protection.stretches() if b - a > 1.5][:20],
        "venue_fills": len(venue_fills), "booked_fills": len(booked),
        "missing_fills": len(venue_fills - set(booked)), "doubled_fills": len(booked) - len(set(booked)),
        "restarts_unprotected_at_start": len(after_restart),
        "longest_unprotected_after_restart_s": round(max(after_restart, default=0.0), 2),
        "protected_after_first_tick_s": round(max(late, default=0.0), 2),
        "late_restarts": len(held_up),
        "late_restarts_by_fault": dict(Counter(kind for _, kinds in held_up for kind in kinds)),
        "late_restarts_without_fault": len(unexplained),
        "late_without_fault_longest_s": round(max(unexplained, default=0.0), 2),
        "protected_after_first_tick_net_s": round(max(net, default=0.0), 2),
        "late_restarts_net": len(net_late),
        "late_restarts_net_not_awaiting_proof": len(net_other),
        "late_net_not_awaiting_proof_longest_s": round(max(net_other, default=0.0), 2),
        "longest_unprotected_any_s": round(max(stretches, default=0.0), 2),
        "answered_429_by_the_venue_rates": sum(1 for e in log if e["status"] == 429 and not e["note"]),
        "circuit_trips": sum(e["event"] == "CircuitTripped" for e in events),
        "circuit_recoveries": sum(e["event"] == "CircuitRecovered" for e in events),
        "crashes": len(crashes), "crash_lines": crashes[:5], "startup_refusals": len(refused),
        "startup_refusal_lines": sorted(set(refused))[:5],
        "balances": "reconciled" if reconciled and not mismatches else ("; ".join(mismatches) or "not checked"),
        "venue_balances": {a: str(f + lk) for a, (f, lk) in sb.balances().items() if a in ("BTC", "USDT", "BNB")},
        "final_run": {k: summary.get(k, "") for k in ("fills", "round_trips", "reconciliation", "stop_reason")},
    }
    figures["ok"] = (not twice and not figures["missing_fills"] and not figures["doubled_fills"] and not crashes
                     and figures["protected_after_first_tick_s"] <= ONE_TICK)
    return figures


def _covered(a: float, b: float, spans: list[tuple[float, float]]) -> float:
    """How much of [a, b] the union of ``spans`` covers (s)."""
    total, reach = 0.0, a
    for start, end in sorted((max(start, a), min(end, b)) for start, end in spans if start < b and end > a):
        if end > reach:
            total += end - max(start, reach)
            reach = end
    return total


def _after_restarts(events: list[dict[str, Any]], stretches: list[tuple[float, float]],
                    started: list[float] | None = None) -> tuple[list[float], list[tuple[float, float]]]:
    """For each run that started with the venue holding an unprotected position: the time from RunStarted to
    protection, and the stretch from its first tick's market data (first ``MarketDataFresh``) to protection (a
    run killed before that tick is not late; one killed after it unprotected is late until the kill, i.e. until the
    next process was started (``started``; without it, the next process's first event): the next process's
    start-up is its own, measured from its own first tick)."""
    by_run: dict[str, dict[str, float]] = {}
    first_seen: dict[str, float] = {}
    for e in events:
        if "run_id" not in e:
            continue
        at = datetime.fromisoformat(e["at"]).timestamp()
        first_seen[e["run_id"]] = min(at, first_seen.get(e["run_id"], at))
        if e["event"] in ("RunStarted", "MarketDataFresh"):
            by_run.setdefault(e["run_id"], {}).setdefault(e["event"], at)
    ends = sorted([*first_seen.values(), *(started or ())])
    to_protect: list[float] = []
    late: list[tuple[float, float]] = []
    for marks in by_run.values():
        start = marks.get("RunStarted")
        if start is None:
            continue
        for a, b in stretches:
            if a <= start < b:
                to_protect.append(b - start)
                first_tick = marks.get("MarketDataFresh")
                next_start = min((t for t in ends if t > start), default=b)
                if first_tick is not None and first_tick < min(b, next_start):
                    late.append((first_tick, min(b, next_start)))
    return to_protect, late


def _orders_in_doubt(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    """(in doubt, settled) per order of the bot's it was not sure of: its placement ended unknown, or the process
    was killed during it, or it was later proven absent (from its sending: an entry in doubt may have opened a
    position the bot does not know of yet); or its cancel's answer was lost (from then: the bot still counts a
    stop the venue may have cancelled). Settled: when the venue answered for it or it was proven absent (infinity
    when neither happened)."""
    sent: dict[str, float] = {}
    unsure: set[str] = set()
    settled: dict[str, float] = {}
    cancels: dict[str, float] = {}
    cancel_settled: dict[str, float] = {}
    for e in events:
        cid = str(e.get("client_order_id", ""))
        at = datetime.fromisoformat(e["at"]).timestamp()
        if e["event"] == "OrderSubmitted":
            sent.setdefault(cid, at)
        elif cid not in sent:
            continue
        elif e["event"] == "CancelOutcomeUnknown":
            cancels.setdefault(cid, at)
        elif e["event"] in ("OrderOutcomeUnknown", "OrderFailed", "OrderLost"):
            unsure.add(cid)
            if e["event"] != "OrderOutcomeUnknown":
                settled.setdefault(cid, at)
        elif e["event"] in ("OrderAcknowledged", "OrderClosed", "OrderRejected"):
            settled.setdefault(cid, at)
        if cid in cancels and e["event"] in ("OrderClosed", "OrderLost", "OrderFailed"):
            cancel_settled.setdefault(cid, at)
    placements = [(at, settled.get(cid, float("inf"))) for cid, at in sent.items()
                  if cid in unsure or cid not in settled]
    return placements + [(at, cancel_settled.get(cid, float("inf"))) for cid, at in cancels.items()]


def _booked(folder: Path) -> list[str]:
    from trader_app.storage import open_store
    from trader_core.model import BotId

    store = open_store(f"sqlite:///{folder / 'trader.db'}", BotId("default"))
    try:
        with store.unit_of_work() as uow:
            return [record.fill.trade_id.value for record in uow.fills.list_all()]
    finally:
        store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--restarts", type=int, default=200)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--venue", choices=sorted(VENUES), default="binance", help="the emulator's face to trade on")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    parser.add_argument("--keep", type=Path, help="run in this folder (kept) instead of a temporary one")
    parser.add_argument("--gemini-rates", action="store_true",
                        help="the Gemini face also holds Gemini's request rates (120 public, 600 private a minute)")
    parser.add_argument("--thin-book", action="store_true",
                        help="spells of a thin book: market orders and triggered stops fill in part and expire")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        figures = soak(args.keep, args.restarts, args.fault_rate, args.seed, VENUES[args.venue],
                       thin_book=args.thin_book, venue_rates=args.gemini_rates)
    else:
        with tempfile.TemporaryDirectory(prefix="chaos-") as folder:
            figures = soak(Path(folder), args.restarts, args.fault_rate, args.seed, VENUES[args.venue],
                           thin_book=args.thin_book, venue_rates=args.gemini_rates)
    if args.json:
        print(json.dumps(figures))
    else:
        for key, value in figures.items():
            print(f"{key:40} {value}")
    return 0 if figures["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
