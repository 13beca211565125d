"""The bot's lease (``trader_app.lease``): one process runs a bot; a stalled process learns it lost the bot before
its next tick can send anything, and a renewer that meets any failure keeps trying."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trader_adapters.clock import SimulatedClock
from trader_adapters.memory import InMemoryStore
from trader_app.lease import BotLease, BotTakenError
from trader_core.model import BotId

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def test_a_process_stalled_past_its_lease_learns_it_lost_the_bot_at_its_next_tick() -> None:
    store, clock = InMemoryStore(BotId("b")), SimulatedClock(T0)
    stalled = BotLease(store, clock, ttl=timedelta(seconds=30), host="vm", pid=1)
    stalled.acquire()
    try:
        assert stalled.guard() is None
        clock.advance(timedelta(seconds=45))  # a paused VM: the lease expired, the renewer has not run
        heir = BotLease(store, clock, ttl=timedelta(seconds=30), host="other", pid=2)
        heir.acquire()
        try:
            lost = stalled.guard()
            assert lost is not None
            assert lost.startswith("lease lost to host other, pid 2")
        finally:
            heir.release()
    finally:
        stalled.release()


def test_a_lease_renewed_in_time_is_not_looked_at_each_tick() -> None:
    store, clock = InMemoryStore(BotId("b")), SimulatedClock(T0)
    lease = BotLease(store, clock, ttl=timedelta(seconds=30), host="vm", pid=1)
    lease.acquire()
    try:
        clock.advance(timedelta(seconds=25))  # past two thirds: looked at, and still this process's
        assert lease.guard() is None
        with store.unit_of_work() as uow:
            held = uow.leases.find()
        assert held is not None
        assert held.token == lease.token
        assert held.expires_at == T0 + timedelta(seconds=55), "renewed by the guard's look"
    finally:
        lease.release()


def test_a_holder_in_another_pid_namespace_of_the_same_host_is_not_taken_for_dead() -> None:
    """Two containers with one host name: the holder's pid is not visible from the other namespace, which proves
    nothing; the lease is waited for, not taken over at once."""
    store, clock = InMemoryStore(BotId("b")), SimulatedClock(T0)
    holder = BotLease(store, clock, ttl=timedelta(seconds=30), host="box (pid:[1])", pid=2**22 + 7)  # no such pid
    holder.acquire()
    try:
        other = BotLease(store, clock, ttl=timedelta(seconds=30), host="box (pid:[2])", pid=3)
        with pytest.raises(BotTakenError):
            other.acquire()
        same = BotLease(store, clock, ttl=timedelta(seconds=30), host="box (pid:[1])", pid=4)
        same.acquire()  # its own namespace, the holder's pid absent: gone, taken over at once
        same.release()
    finally:
        holder.release()


def test_this_hosts_name_carries_its_pid_namespace() -> None:
    lease = BotLease(InMemoryStore(BotId("b")), SimulatedClock(T0))
    assert "pid:[" in lease.host
