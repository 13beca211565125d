"""Fault injection (scripted error answers, delays, apply-then-fail, dropped connections) and the request
weight limiter that produces real 429 and 418 answers."""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Fault", "Faults", "WeightLimiter"]


@dataclass
class Fault:
    """One scripted fault for requests matching ``method`` and ``path`` (``*`` matches all; a trailing ``*``
    matches a prefix). ``times`` is how many requests it hits (None: until cleared).

    What happens: sleep ``delay`` seconds; then, without ``apply``, answer ``status`` (with
    ``{"code", "msg"}`` when ``code`` is set, else ``body``) or, with ``drop``, close the connection
    unanswered; with ``apply``, run the request first and then fail the same way (``status`` defaults to
    503); with ``apply_after``, fail the same way at once and run the request that many seconds later (a
    request held in the venue's queue after the client had its answer; the usual checks, the signature's
    ``recvWindow`` among them, are made when it runs). A fault with only ``delay`` slows the request down and
    then answers normally."""

    id: int
    method: str = "*"
    path: str = "*"
    status: int | None = None
    code: int | None = None
    msg: str | None = None
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    apply: bool = False
    apply_after: float | None = None
    drop: bool = False
    times: int | None = 1
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to the request."""
        if self.method not in ("*", method.upper()):
            return False
        if self.path == "*":
            return True
        if self.path.endswith("*"):
            return path.startswith(self.path[:-1])
        return path == self.path

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly view."""
        return asdict(self)


class Faults:
    """The armed faults, first match wins; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._next = 0

    def add(self, **spec: Any) -> Fault:
        """Arm a fault (see :class:`Fault` for the fields)."""
        allowed = set(Fault.__dataclass_fields__) - {"id", "hits"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        if spec.get("method"):
            spec["method"] = str(spec["method"]).upper()
        with self._lock:
            self._next += 1
            fault = Fault(id=self._next, **spec)
            self._faults.append(fault)
            return fault

    def clear(self) -> None:
        """Disarm every fault."""
        with self._lock:
            self._faults.clear()

    def list(self) -> list[Fault]:
        """The faults still armed."""
        with self._lock:
            return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, counting the hit (exhausted faults are removed)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.hits += 1
                    if fault.times is not None and fault.hits >= fault.times:
                        self._faults.remove(fault)
                    return fault
        return None


class WeightLimiter:
    """Request weight per fixed window (Binance's ``X-MBX-USED-WEIGHT-1M``): past ``limit`` answers 429 with
    ``Retry-After``; ``ban_after`` 429s in one window (or :meth:`ban`) turn into 418 until the ban ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.window_s = 60.0
        self.ban_after: int | None = None
        self.ban_seconds = 120.0
        self.used = 0
        self.strikes = 0
        self.window_start = 0.0
        self.ban_until = 0.0

    def configure(self, limit: int | None, window_s: float = 60.0, ban_after: int | None = None,
                  ban_seconds: float = 120.0) -> None:
        """Set the budget (None: unlimited) and start a fresh window."""
        with self._lock:
            self.limit, self.window_s, self.ban_after, self.ban_seconds = limit, window_s, ban_after, ban_seconds
            self.used = self.strikes = 0
            self.window_start = 0.0
            self.ban_until = 0.0

    def ban(self, seconds: float, now: float) -> None:
        """Answer 418 to every request for ``seconds``."""
        with self._lock:
            self.ban_until = now + seconds

    def charge(self, weight: int, now: float) -> tuple[int, str | None, float]:
        """Count ``weight``; return (used weight, ``None``/``"429"``/``"418"``, Retry-After seconds)."""
        with self._lock:
            if now >= self.window_start + self.window_s:
                self.window_start = now - (now % self.window_s) if self.window_s >= 1 else now
                self.used = self.strikes = 0
            self.used += weight
            if now < self.ban_until:
                return self.used, "418", self.ban_until - now
            if self.limit is None or self.used <= self.limit:
                return self.used, None, 0.0
            self.strikes += 1
            if self.ban_after is not None and self.strikes > self.ban_after:
                self.ban_until = now + self.ban_seconds
                return self.used, "418", self.ban_seconds
            return self.used, "429", max(0.0, self.window_start + self.window_s - now)


class GroupRate:
    """One group of Gemini's entry points (public, or private), limited as Gemini documents it: ``per_minute``
    requests, a second's worth of them at once; past that five more are queued, each answered once the rate allows,
    and any other meets 429 until the rate falls back (a token bucket a second deep, allowed five requests into
    debt; a request in debt waits until its token has come)."""

    QUEUED = 5

    def __init__(self, per_minute: int) -> None:
        self._lock = threading.Lock()
        self.rate = per_minute / 60.0  # requests a second
        self.tokens = self.rate
        self.updated: float | None = None

    def charge(self, now: float) -> tuple[bool, float]:
        """Take one request at ``now``: (allowed, seconds to wait before answering it) or (False, Retry-After)."""
        with self._lock:
            if self.updated is not None:
                self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens - 1 < -self.QUEUED:
                return False, (1 - self.tokens) / self.rate
            self.tokens -= 1
            return True, max(0.0, -self.tokens / self.rate)
