"""One process at a time runs a bot: the lease in the store is taken at start, renewed while the bot runs, and
released at exit. A second process exits 2 naming the holder. A lease left by a process that died without
releasing it (kill -9, a power cut) is taken over once it expires, or at once when its holder ran on this host, in
this pid namespace, and is gone (the pid file's rule)."""

from __future__ import annotations

import os
import secrets
import socket
import threading
from datetime import timedelta

import attrs

from trader_core.model import ConfigError, Lease, StoreError
from trader_core.ports import Clock, Store

__all__ = ["BotLease", "BotTakenError", "DatabaseLockedError", "holder_message"]


class DatabaseLockedError(ConfigError):
    """Another process kept the database locked for writing past the store's wait."""


class BotTakenError(ConfigError):
    """Another live process runs this bot."""


def _this_host() -> str:
    """This machine's name, and the pid namespace when the system names it: two containers with one host name
    (``--network host``, a shared ``hostname:``) see each other's pids as absent, so a holder's pid counts as gone
    only to a process that can see the pids of its namespace."""
    name = socket.gethostname()[:200]
    try:
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return name
    return f"{name} ({namespace})"


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


@attrs.define
class BotLease:
    """The lease of ``store``'s bot for this process. ``clock`` is the wall clock whatever the run's clock is:
    other processes compare against it."""

    store: Store
    clock: Clock
    ttl: timedelta = timedelta(seconds=30)
    host: str = attrs.field(factory=_this_host)
    pid: int = attrs.field(factory=os.getpid)
    token: str = attrs.field(factory=lambda: secrets.token_hex(16))
    lost: str | None = attrs.field(default=None, init=False)
    _renewed: timedelta = attrs.field(default=timedelta(0), init=False)  # clock.monotonic() at the last renewal
    _stop: threading.Event = attrs.field(factory=threading.Event, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)

    def acquire(self) -> None:
        """Hold the bot, or raise ``BotTakenError`` naming the process that does (``DatabaseLockedError`` when
        another process keeps the database locked for writing)."""
        from sqlalchemy.exc import OperationalError

        try:
            held = self._take()
        except (StoreError, OperationalError) as exc:
            if "database is locked" not in str(exc):
                raise
            raise DatabaseLockedError("the database is locked for writing by another process (a replay commits "
                                      "in batches of 1000 candles); try again when it has finished, or give this "
                                      "bot its own database") from None
        if held.token != self.token and held.host == self.host and _process_gone(held.pid):
            held = self._take(replacing=held.token)
        if held.token != self.token:
            raise BotTakenError(holder_message(self.store.bot_id.value, held))
        self._thread = threading.Thread(target=self._renew, name="bot-lease", daemon=True)
        self._thread.start()

    def guard(self) -> str | None:
        """Why the bot must stop (its lease was lost), or None. When the last renewal this process saw is older
        than two thirds of the time to live (the process was stalled: a paused VM, swapping, a stopped process),
        the lease is looked at now, before the tick can send anything, rather than when the renewer wakes."""
        if self.lost is None and self.clock.monotonic() - self._renewed > self.ttl * 2 / 3:
            self._check()
        return self.lost

    def release(self) -> None:
        """Stop renewing and give the lease up."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            with self.store.unit_of_work() as uow:
                uow.leases.release(self.token)
                uow.commit()
        except StoreError:
            return  # the lease expires by itself

    def _take(self, replacing: str | None = None) -> Lease:
        now = self.clock.now()
        mine = Lease(token=self.token, host=self.host, pid=self.pid, since=now, expires_at=now + self.ttl)
        with self.store.unit_of_work() as uow:
            held = uow.leases.take(mine, now, replacing=replacing)
            uow.commit()
        if held.token == self.token:
            self._renewed = self.clock.monotonic()
        return held

    def _check(self) -> bool:
        """Renew the lease now; True while it is this process's (a store failure: unknown, so True: nobody else
        can take it without the store either)."""
        try:
            held = self._take()
        except Exception:  # noqa: BLE001 - the database away, or anything else: asked again next period
            return True
        if held.token != self.token:
            self.lost = f"lease lost to {held.describe()}"
            return False
        return True

    def _renew(self) -> None:
        """Renew every third of the time to live; a failed renewal is retried (whatever failed: a renewer that
        died would let the lease expire under a live bot), a lease taken by another process (this one was
        stalled past its expiry) stops the bot."""
        period = self.ttl.total_seconds() / 3
        while not self._stop.wait(period):
            if not self._check():
                return


def holder_message(bot: str, held: Lease) -> str:
    """What a second process is told about the one holding ``bot``."""
    return (f"bot {bot!r} is already running ({held.describe()}); a bot runs in one process at a time (its lease "
            f"expires {held.expires_at.isoformat()})")
