"""Client order ids: unique per account (a random tag per bot and database), within every venue's alphabet and
length, parseable into intent and attempt; a legacy database keeps recognising its own orders."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.memory import InMemoryStore
from trader_app.bootstrap import client_order_prefix
from trader_core.execution import attempt_of, client_order_id, is_own, new_incarnation, next_attempt
from trader_core.model import BotId, ClientOrderId, RunId, RunRecord

# The strictest rule among the venues the project knows (OKX): 1-32 letters and digits.
STRICTEST = re.compile(r"^[A-Za-z0-9]{1,32}$")


@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=1, max_value=99))
def test_ids_fit_every_venue_and_parse_back(number: int, attempt: int) -> None:
    prefix = "tc" + new_incarnation()
    cid = client_order_id(prefix, number, attempt)
    assert STRICTEST.match(cid.value), cid
    assert attempt_of(cid) == (attempt_of(client_order_id(prefix, number))[0], attempt)
    assert attempt_of(next_attempt(cid)) == (attempt_of(cid)[0], attempt + 1)
    assert is_own(prefix, cid)
    assert not is_own("tc" + new_incarnation(), cid), "another incarnation's id is foreign"


def test_a_fresh_database_for_the_same_bot_never_reuses_an_earlier_databases_ids() -> None:
    bot = BotId("default")
    first, second = InMemoryStore(bot), InMemoryStore(bot)
    a, b = client_order_prefix(first), client_order_prefix(second)
    assert a != b
    assert client_order_id(a, 1) != client_order_id(b, 1), "tc-default-1-1 twice on one account was the defect"
    assert client_order_prefix(first) == a, "the tag is kept with the bot: a restart keeps its ids its own"


def test_a_database_where_the_bot_traded_before_tags_keeps_its_legacy_ids() -> None:
    store = InMemoryStore(BotId("old_bot"))
    with store.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=RunId("r0"), mode="live", started_at=datetime(2026, 1, 1, tzinfo=UTC)))
        uow.commit()
    prefix = client_order_prefix(store)
    assert prefix == "tc-old.bot"
    assert is_own(prefix, ClientOrderId("tc-old.bot-17-2"))
    assert attempt_of(ClientOrderId("tc-old.bot-17-2")) == ("tc-old.bot-17", 2)
    assert next_attempt(ClientOrderId("tc-old.bot-17-2")) == ClientOrderId("tc-old.bot-17-3")
    assert not is_own(prefix, ClientOrderId("tc-old.bot2-1-1"))
