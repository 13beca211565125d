"""The dashboard in headless Chromium over a stored run longer than one page of trades: its recent trades are
the run's newest, and its LLM section shows the decisions an ``LlmSource`` answers (prompt summary, answer,
cost, outcome; a click opens the trace), an empty state when there are none, and a plain message when the
source fails. A model's answer is shown as text, never run as markup."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from tests.api.conftest import TOKEN, Server, store_unreadable_state
from tests.cdp import browser_page
from trader_adapters.sql.store import SqlStore
from trader_app.api import create_app
from trader_app.api.fleet import Fleet
from trader_app.api.sources import LlmSource
from trader_app.cli import main
from trader_app.storage import upgrade_database
from trader_core.model import StoreError
from trader_core.model.ids import Asset, BotId, ClientOrderId, PlanId, RunId, Symbol, TradeId, VenueOrderId
from trader_core.model.money import Money, Price, Quantity
from trader_core.model.orders import Fill, Liquidity, Side
from trader_core.model.plans import ExitReason, Plan, PlanStatus
from trader_core.model.records import FillRecord, OrderRole, RunRecord

pytestmark = pytest.mark.slow

T0 = datetime(2025, 1, 1, tzinfo=UTC)
BTC = Symbol.parse("BTC/USDT")
ROUND_TRIPS = 1_050  # more than the 1,000 rows the API pages at most
HOSTILE = '<img id="injected" src="x" onerror="document.title=\'owned\'">'
ROWS = "document.querySelectorAll('#llm tbody tr').length"
LLM_TEXT = "document.getElementById('llm').textContent"


def _fill(run: RunId, n: int, role: OrderRole, price: int, at: datetime) -> FillRecord:
    side = Side.BUY if role is OrderRole.ENTRY else Side.SELL
    fill = Fill(trade_id=TradeId(f"t{n}{role.value}"), venue_order_id=VenueOrderId(f"v{n}{role.value}"),
                client_order_id=ClientOrderId(f"c{n}{role.value}"), symbol=BTC, side=side, price=Price(Decimal(price)),
                quantity=Quantity("0.01"), fee=Money(Decimal("0.05"), Asset("USDT")), time=at,
                liquidity=Liquidity.TAKER)
    pnl = Decimal(0) if role is OrderRole.ENTRY else Decimal(n % 7 - 3) / 100
    return FillRecord(run_id=run, venue="paper", fill=fill, plan_id=PlanId(f"P{n}"), role=role, realized_pnl=pnl,
                      fee_quote=Decimal("0.05"))


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Bot ``alpha``: one paper run of ``ROUND_TRIPS`` closed round trips, ten minutes apart."""
    url = f"sqlite:///{tmp_path_factory.mktemp('views') / 'trader.db'}"
    upgrade_database(url)
    store = SqlStore.open(url, BotId("alpha"))
    run = RunId("run-1")
    with store.unit_of_work() as uow:
        uow.runs.add(RunRecord(run_id=run, mode="paper", started_at=T0))
        for n in range(ROUND_TRIPS):
            opened, closed = T0 + timedelta(minutes=10 * n), T0 + timedelta(minutes=10 * n + 5)
            uow.plans.add(Plan(plan_id=PlanId(f"P{n}"), run_id=run, symbol=BTC, side=Side.BUY,
                               status=PlanStatus.CLOSED, entry_client_order_id=ClientOrderId(f"c{n}entry"),
                               opened_at=opened, quantity=Quantity("0.01"), entry_filled=Quantity("0.01"),
                               entry_price=Price(Decimal(100 + n)), closed_at=closed, exit_reason=ExitReason.SIGNAL))
            uow.fills.add(_fill(run, n, OrderRole.ENTRY, 100 + n, opened))
            uow.fills.add(_fill(run, n, OrderRole.EXIT, 101 + n, closed))
        uow.commit()
    store.close()
    return url


CALLS = [
    {"call_id": "trace-2", "at": "2025-01-08T07:00:00+00:00", "model": "gpt-test",
     "prompt_summary": "812 bytes, 14 lines", "answer": HOSTILE, "signals": [],
     "reason": "the answer named no signal", "cost": "0.0021", "tokens_in": 300, "tokens_out": 20,
     "replayed": False, "outcome": ""},
    {"call_id": "trace-1", "at": "2025-01-08T06:59:00+00:00", "model": "gpt-test",
     "prompt_summary": "790 bytes, 14 lines", "answer": '{"action": "buy", "symbol": "BTC/USDT"}',
     "signals": [{"action": "buy", "symbol": "BTC/USDT"}], "reason": "", "cost": "0.0019", "tokens_in": 290,
     "tokens_out": 18, "replayed": True, "outcome": '{"entered": "P1049"}'},
]


@attrs.frozen
class RecordedLlm:
    """An ``LlmSource`` answering the two decisions above and a budget."""

    def calls(self, bot: str, limit: int) -> list[dict[str, Any]]:
        """Both decisions, newest first."""
        return CALLS[:limit]

    def trace(self, bot: str, call_id: str) -> dict[str, Any] | None:
        """A trace with its prompt."""
        found = next((c for c in CALLS if c["call_id"] == call_id), None)
        return None if found is None else {**found, "prompt": f"PROMPT OF {call_id}\nlast close 50000"}

    def budget(self, bot: str) -> dict[str, Any] | None:
        """Spent 0.004 of 1."""
        return {"state": "ok", "budget": "1", "cost": "0.004", "remaining": "0.996", "pct_of_budget": "0.4",
                "calls": 2}


@attrs.frozen
class FailingLlm:
    """An ``LlmSource`` whose store fails."""

    def calls(self, bot: str, limit: int) -> list[dict[str, Any]]:
        """Fails."""
        raise StoreError(f"llm_traces of {bot} unreadable (limit {limit})")

    def trace(self, bot: str, call_id: str) -> dict[str, Any] | None:
        """Fails."""
        raise StoreError(f"llm_traces of {bot} unreadable ({call_id})")

    def budget(self, bot: str) -> dict[str, Any] | None:
        """No budget."""
        return None


@contextmanager
def _serve(database: str, llm: LlmSource | None) -> Iterator[Server]:
    server = Server(create_app(Fleet(database), TOKEN, llm=llm))
    try:
        yield server
    finally:
        server.stop()


def test_recent_trades_are_the_newest_of_a_run_longer_than_a_page_and_llm_decisions_show_as_text(
        database: str) -> None:
    with _serve(database, RecordedLlm()) as server, browser_page(server.url + "/?bot=alpha") as page:
        page.wait_for("document.querySelectorAll('#trades tbody tr').length === 20")
        first = page.evaluate("document.querySelector('#trades tbody tr td:nth-child(3)').textContent")
        newest = (T0 + timedelta(minutes=10 * (ROUND_TRIPS - 1))).isoformat()
        assert first == newest, "the newest round trip comes first"
        page.wait_for(f"{ROWS} === 2")
        text = page.evaluate(LLM_TEXT)
        for shown in ("812 bytes, 14 lines", "0.0021", "0.0019 (replayed)", "action: buy, symbol: BTC/USDT",
                      "entered: P1049", "hold: the answer named no signal", "gpt-test"):
            assert shown in text
        assert HOSTILE[:40] in text, "the answer is shown as text"
        assert page.evaluate("document.getElementById('injected') === null")
        assert page.evaluate("document.title") != "owned"
        budget = page.evaluate("document.getElementById('llm-budget').textContent")
        assert "spent 0.004 of 1" in budget
        page.evaluate("document.querySelectorAll('#llm tbody tr')[1].click(), true")
        page.wait_for("!document.getElementById('llm-trace').hidden")
        assert page.evaluate("document.getElementById('llm-prompt').textContent").startswith("PROMPT OF trace-1")
        assert page.evaluate("document.getElementById('llm-outcome').textContent") == "entered: P1049"


def test_without_llm_decisions_the_section_says_so_and_a_failing_source_does_not_blank_the_page(
        database: str) -> None:
    with _serve(database, None) as server, browser_page(server.url + "/?bot=alpha") as page:
        page.wait_for(f"{LLM_TEXT}.includes('no LLM decisions stored for this bot')")
        assert page.evaluate("document.getElementById('llm-budget').hidden")
    with _serve(database, FailingLlm()) as server, browser_page(server.url + "/?bot=alpha") as page:
        page.wait_for(f"{LLM_TEXT}.includes('LLM decisions unavailable')")
        assert "the store failed" in page.evaluate(LLM_TEXT)
        page.wait_for("document.querySelectorAll('#trades tbody tr').length === 20")
        assert page.evaluate("document.getElementById('state').textContent") == "active"
        # The fixture's run is marked running and no process holds the bot: what a kill -9 leaves.
        assert page.evaluate("document.getElementById('process').textContent") == \
            "process: down: no process holds the bot (killed or crashed)"


def test_an_unreadable_bot_does_not_blank_the_others_and_a_pause_length_must_be_whole_minutes(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'two.db'}"
    for bot in ("good", "broken"):
        assert main(["run", "--days", "1", "--db", url, "--bot", bot]) == 0
    store_unreadable_state(url, "broken")
    server = Server(create_app(Fleet(url), TOKEN))
    try:
        with browser_page(server.url + "/?bot=good") as page:
            page.wait_for("document.getElementById('bot-name').textContent === 'good'")
            assert page.evaluate("document.getElementById('bot').hidden") is False
            assert page.evaluate("document.querySelectorAll('#bots-table tbody tr').length") == 2
            assert "unreadable" in page.evaluate("document.getElementById('bots-table').textContent")
            assert page.evaluate("document.querySelector('#bots-table tbody tr td.process').textContent") \
                == "finished", "a finished replay is not taken for a bot that is down"
            assert page.evaluate("!!document.getElementById('cmd-pause')")
            page.evaluate(f"(() => {{ const t = document.getElementById('token'); t.value = '{TOKEN}'; "
                          "t.dispatchEvent(new Event('change')); return true; })()")
            page.prompt_text = "30 min"
            page.evaluate("document.getElementById('cmd-pause').click(), true")
            page.wait_for("document.getElementById('command-result').textContent.startsWith('not sent')")
            page.prompt_text = "30"
            page.evaluate("document.getElementById('cmd-pause').click(), true")
            page.wait_for("document.getElementById('command-result').textContent.includes('pause for 30 min')")
            # Like every other button's confirmation, the pause prompt names the bot it pauses (of several).
            assert [d for d in page.dialogs if "minutes" in d] == \
                ["Pause bot good for how many minutes? (empty: until resumed)"] * 2
        with httpx.Client(base_url=server.url) as http:
            log = http.get("/api/v1/bots/good/commands").json()["commands"]
        assert [(c["name"], c["minutes"]) for c in log] == [("pause", 30)], "only the whole-minute pause was sent"
    finally:
        server.stop()


def test_a_command_button_says_so_when_the_server_does_not_answer(tmp_path: Path) -> None:
    """A server stopped under an open page: pressing a button must not leave the last answer standing (it read
    as if this command had been queued) nor say nothing."""
    url = f"sqlite:///{tmp_path / 'one.db'}"
    assert main(["run", "--days", "1", "--db", url, "--bot", "good"]) == 0
    server = Server(create_app(Fleet(url), TOKEN))
    stopped = False
    try:
        with browser_page(server.url + "/?bot=good") as page:
            page.wait_for("!!document.getElementById('cmd-halt')")
            page.evaluate(f"(() => {{ const t = document.getElementById('token'); t.value = '{TOKEN}'; "
                          "t.dispatchEvent(new Event('change')); return true; })()")
            page.evaluate("document.getElementById('cmd-halt').click(), true")
            page.wait_for("document.getElementById('command-result').textContent.startsWith('queued halt')")
            server.stop()
            stopped = True
            page.evaluate("document.getElementById('cmd-stop').click(), true")
            shown = page.wait_for("(t => t.startsWith('no answer') && t)"
                                  "(document.getElementById('command-result').textContent)")
            assert "stop may not have reached bot good; check its command log" in shown
    finally:
        if not stopped:
            server.stop()


def test_markup_that_slips_into_the_dashboard_cannot_run_script(database: str) -> None:
    """Defence in depth behind textContent: should a model's answer (or a bot's text) ever reach the page as
    markup, its inline handler does not run and it cannot post a form elsewhere; the dashboard itself still works."""
    with _serve(database, RecordedLlm()) as server, browser_page(server.url + "/?bot=alpha") as page:
        page.wait_for("document.querySelectorAll('#trades tbody tr').length === 20")
        hostile = '<img id="slipped" src="/nothing.png" onerror="document.body.dataset.owned = \'yes\'">'
        page.evaluate(f"document.body.insertAdjacentHTML('beforeend', {json.dumps(hostile)}), true")
        page.wait_for("document.getElementById('slipped').complete")  # its error event has been dispatched
        assert page.evaluate("document.body.dataset.owned === undefined"), "the inline handler ran"
        page.wait_for(f"{ROWS} === 2")
        assert page.evaluate("document.getElementById('chart').childElementCount") == 2, "the chart is drawn"
