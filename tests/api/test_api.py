"""The REST API over real SQLite and PostgreSQL databases written by real replay runs, through HTTP."""

from __future__ import annotations

import json
import socket
import threading
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
import sqlalchemy

from tests.api.conftest import TOKEN, Server, store_unreadable_state, tmp_sqlite
from trader_app.api import create_app
from trader_app.api.app import CSP
from trader_app.api.fleet import Fleet
from trader_app.api.openapi import openapi_schema
from trader_app.cli import main
from trader_app.commands.serve import check_bind
from trader_core.model import ConfigError

AUTH = {"X-Trader-Token": TOKEN}


def test_bots_and_status_as_trader_app_status_shows_them(client: httpx.Client) -> None:
    assert client.get("/api/v1/bots").json() == {"bots": ["alpha", "beta"]}
    status = client.get("/api/v1/bots/alpha/status").json()
    assert status["bot"] == "alpha"
    assert status["run"]["mode"] == "replay"
    assert status["trading_state"]["state"] == "active"
    assert status["llm_budget"] is None
    assert client.get("/api/v1/bots/alpha/positions").json()["positions"] == status["positions"]
    assert client.get("/api/v1/bots/alpha/plans").json()["plans"] == status["plans"]
    assert client.get("/api/v1/bots/alpha/orders").json()["orders"] == status["orders"]


def test_trades_are_paged_and_filtered_and_the_equity_curve_adds_them_up(client: httpx.Client) -> None:
    everything = client.get("/api/v1/bots/alpha/trades", params={"limit": 1000}).json()
    assert everything["total"] > 2, "the replay should have traded"
    rows = everything["trades"]
    page = client.get("/api/v1/bots/alpha/trades", params={"offset": 1, "limit": 2}).json()
    assert page["trades"] == rows[1:3]
    eth = client.get("/api/v1/bots/alpha/trades", params={"symbol": "ETH/USDT", "limit": 1000}).json()["trades"]
    assert eth == [r for r in rows if r["symbol"] == "ETH/USDT"]
    lower = client.get("/api/v1/bots/alpha/trades", params={"symbol": "eth/usdt", "limit": 1000}).json()["trades"]
    assert lower == eth, "a symbol in any case, as Symbol.parse takes it everywhere"
    assert client.get("/api/v1/bots/alpha/trades", params={"symbol": "XRP/USDT"}).json()["total"] == 0
    cut = rows[2]["exit_time"]
    later = client.get("/api/v1/bots/alpha/trades", params={"start": cut, "limit": 1000}).json()
    assert later["trades"] == [r for r in rows if r["exit_time"] >= cut or not r["exit_time"]]
    points = client.get("/api/v1/bots/alpha/equity").json()["points"]
    closed = [r for r in rows if r["exit_time"]]
    assert len(points) == len(closed)
    assert Decimal(points[-1]["realized_pnl"]) == sum(Decimal(r["realized_pnl"]) for r in closed)
    assert all(Decimal(p["drawdown"]) <= 0 for p in points)


def test_trades_are_exactly_what_trader_app_trades_lists(client: httpx.Client, database: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["trades", "--db", database, "--bot", "alpha", "--include-open"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    served = client.get("/api/v1/bots/alpha/trades", params={"limit": 1000}).json()
    assert (served["total"], served["trades"]) == (len(printed), printed)
    pages = [client.get("/api/v1/bots/alpha/trades", params={"offset": o, "limit": 3}).json()["trades"]
             for o in range(0, len(printed), 3)]
    assert [row for page in pages for row in page] == printed
    beyond = client.get("/api/v1/bots/alpha/trades", params={"offset": len(printed)}).json()
    assert (beyond["total"], beyond["trades"]) == (len(printed), [])


def test_a_command_needs_the_token_and_lands_in_the_queue_as_trader_app_command_puts_it(
        client: httpx.Client) -> None:
    refused = client.post("/api/v1/bots/beta/commands/pause")
    assert refused.status_code == 401
    assert "X-Trader-Token" in refused.json()["error"]
    wrong = client.post("/api/v1/bots/beta/commands/pause", headers={"X-Trader-Token": TOKEN[:-1] + "y"})
    assert wrong.status_code == 401
    queued = client.post("/api/v1/bots/beta/commands/pause", headers=AUTH, json={"minutes": 5}).json()
    assert (queued["name"], queued["status"], queued["minutes"]) == ("pause", "pending", 5)
    log = client.get("/api/v1/bots/beta/commands").json()["commands"]
    assert log[0]["command_id"] == queued["command_id"]
    one = client.get(f"/api/v1/bots/beta/commands/{queued['command_id']}").json()
    assert one == log[0]
    assert client.get("/api/v1/bots/alpha/commands").json()["commands"] == []
    waited = client.post("/api/v1/bots/beta/commands/halt", headers=AUTH, params={"wait": 1}).json()
    assert waited["status"] == "pending", "no bot is running, so nothing handles it"
    # Beta's process is gone: a command it would drop as stale at its next start is refused, not "queued".
    stopped = client.post("/api/v1/bots/beta/commands/close-all", headers=AUTH)
    assert stopped.status_code == 409
    assert stopped.json()["error"].startswith("the bot is not running (no process holds it): close-all is carried "
                                              "out by a running bot only")
    assert [c["name"] for c in client.get("/api/v1/bots/beta/commands").json()["commands"]] == ["halt", "pause"]


@pytest.mark.parametrize(("case"), [
    ("GET", "/api/v1/bots/nobody/status", None, 404, "no bot 'nobody'"),
    ("GET", "/api/v1/bots/alpha/trades?limit=0", None, 400, "outside 1..1000"),
    ("GET", "/api/v1/bots/alpha/trades?limit=x", None, 400, "not an integer"),
    ("GET", "/api/v1/bots/alpha/trades?limit=%EF%BC%95", None, 400, "not an integer: '\uff15'"),  # a fullwidth 5
    ("GET", "/api/v1/bots/alpha/trades?offset=1_0", None, 400, "not an integer: '1_0'"),
    # A huge number is said in one short line, not echoed back whole (5,000 digits).
    ("GET", "/api/v1/bots/alpha/trades?limit=" + "9" * 5000, None, 400, "99999999999999999999... is outside 1..1000"),
    ("GET", "/api/v1/bots/alpha/trades?limit=" + "x" * 4000, None, 400, "not an integer: 'xxxxxxxxxxxxxxxxxxxx...'"),
    ("GET", "/api/v1/bots/alpha/trades?start=yesterday", None, 400, "ISO-8601"),
    ("GET", "/api/v1/bots/alpha/trades?start=2025-01-01T00:00:00", None, 400, "without a timezone"),
    ("GET", "/api/v1/bots/alpha/trades?start=2025-01-01T00:00:00%2B99:00", None, 400,
     "UTC offset +99:00 is out of range; an offset runs from -23:59 to +23:59"),
    ("GET", "/api/v1/bots/alpha/trades?end=10000-01-01T00:00:00Z", None, 400,
     "year 10000 is beyond the calendar; years run from 1 to 9999"),
    # Swapped dates match nothing: said, not an empty page (or "not available") a script takes for no trades.
    ("GET", "/api/v1/bots/alpha/trades?start=2025-01-02T00:00:00Z&end=2025-01-01T00:00:00Z", None, 400,
     "start 2025-01-02T00:00:00Z is after end 2025-01-01T00:00:00Z"),
    ("GET", "/api/v1/bots/alpha/metrics?start=2025-01-01T02:00:00%2B01:00&end=2025-01-01T00:00:00Z", None, 400,
     "start 2025-01-01T02:00:00+01:00 is after end 2025-01-01T00:00:00Z"),
    # A symbol the run cannot hold is said, not answered with no trades.
    ("GET", "/api/v1/bots/alpha/trades?symbol=BTCUSDT", None, 400,
     "invalid symbol 'BTCUSDT': expected BASE/QUOTE, e.g. BTC/USDT"),
    ("GET", "/api/v1/bots/alpha/trades?symbol=", None, 400, "invalid symbol ''"),
    ("GET", "/api/v1/bots/alpha/trades?run=nope", None, 404, "no run 'nope'"),
    ("GET", "/api/v1/bots/alpha/metrics?run=nope", None, 404, "not available"),
    ("GET", "/api/v1/bots/alpha/llm/calls/c1", None, 404, "no such LLM trace"),
    ("GET", "/api/v1/bots/alpha/commands/cmd-none", None, 404, "no command"),
    ("POST", "/api/v1/bots/alpha/commands/explode", {}, 404, "one of pause"),
    ("POST", "/api/v1/bots/alpha/commands/pause", {"minutes": -1}, 400, "positive integer"),
    ("POST", "/api/v1/bots/alpha/commands/pause", {"minutes": 10**23}, 400, "minutes must be 1 to 525600"),
    ("POST", "/api/v1/bots/alpha/commands/halt", {"minutes": 3}, 400, "with pause only"),
    # What a browser sends for a length it could not read ("30 min"): not a pause until resumed.
    ("POST", "/api/v1/bots/alpha/commands/pause", {"minutes": None}, 400, "positive integer"),
    ("POST", "/api/v1/bots/alpha/commands/pause", [1], 400, "JSON object"),
    ("POST", "/api/v1/bots/alpha/commands/pause", "{not json", 400, "the body is not JSON ("),
    # What curl -d minutes=5 sends: said in words, not only as a JSON parser's column number.
    ("POST", "/api/v1/bots/alpha/commands/pause", "minutes=5", 400,
     'send a JSON object such as {"minutes": 30}, or no body'),
    ("GET", "/api/v1/nothing", None, 404, "not found"),
    ("DELETE", "/api/v1/bots", None, 405, "not allowed"),
])
def test_bad_input_is_a_4xx_with_a_json_error(client: httpx.Client, case: tuple[str, str, object, int, str]) -> None:
    method, path, body, code, text = case
    content = body if isinstance(body, str) else None if body is None else json.dumps(body)
    answer = client.request(method, path, headers=AUTH, content=content)
    assert answer.status_code == code
    assert text in answer.json()["error"]
    assert "Traceback" not in answer.text
    assert len(answer.json()["error"]) < 300


def test_metrics_are_the_report_trader_app_report_writes(client: httpx.Client, database: str,
                                                         tmp_path: Path) -> None:
    served = client.get("/api/v1/bots/alpha/metrics").json()
    out = tmp_path / "report.json"
    assert main(["report", "--db", database, "--bot", "alpha", "--json", str(out)]) == 0
    assert served == json.loads(out.read_text())
    assert Decimal(served["final_equity"]) != Decimal(served["balance"]), "the replay should have traded"
    late = client.get("/api/v1/bots/alpha/metrics", params={"start": "2100-01-01T00:00:00+00:00"})
    assert late.status_code == 404, "no trade in the range: nothing to report"


def test_llm_calls_are_empty_until_the_llm_source_is_wired(client: httpx.Client) -> None:
    assert client.get("/api/v1/bots/alpha/llm/calls").json() == {"calls": []}


def test_the_dashboard_and_its_assets_are_served_without_any_outside_link(client: httpx.Client) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "trader-core" in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        text = client.get(asset).text
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
    assert "https://" not in page.text
    assert "http://" not in page.text


def test_the_checked_in_openapi_schema_is_current(client: httpx.Client) -> None:
    served = client.get("/openapi.json").json()
    assert served == openapi_schema()
    checked_in = Path(__file__).parents[2] / "docs" / "openapi.json"
    assert json.loads(checked_in.read_text()) == served, "regenerate docs/openapi.json (docs/api.md)"


def test_beyond_loopback_every_request_needs_the_token_and_no_secret_is_served(tmp_path: Path) -> None:
    url = tmp_sqlite(tmp_path)
    assert main(["run", "--days", "1", "--db", url, "--bot", "gamma"]) == 0
    server = Server(create_app(Fleet(url), TOKEN, require_token_for_reads=True))
    try:
        with httpx.Client(base_url=server.url) as http:
            assert http.get("/api/v1/bots").status_code == 401
            answer = http.get("/api/v1/bots/gamma/status", headers=AUTH)
            assert answer.status_code == 200
            assert TOKEN not in answer.text
    finally:
        server.stop()


def test_serve_refuses_beyond_loopback_without_a_token_and_a_short_token() -> None:
    assert check_bind("127.0.0.1", 8080, None) is False
    assert check_bind("::1", 8080, None) is False
    assert check_bind("0.0.0.0", 8080, TOKEN) is True
    with pytest.raises(ConfigError, match="beyond loopback"):
        check_bind("0.0.0.0", 8080, None)
    with pytest.raises(ConfigError, match="too short"):
        check_bind("127.0.0.1", 8080, "short")
    with pytest.raises(ConfigError, match="--port"):
        check_bind("127.0.0.1", 0, None)


@pytest.mark.parametrize("token", [TOKEN + " ", " " + TOKEN, TOKEN + "\n", TOKEN[:-1] + "é",
                                   TOKEN[:8] + " " + TOKEN[8:]])
def test_serve_refuses_a_token_no_client_could_send(token: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """HTTP strips a header's surrounding spaces and a browser sends ISO-8859-1 only: with such a token every
    command would be refused as "wrong token", however exactly the operator pasted it."""
    monkeypatch.setenv("TRADER_API__TOKEN", token)
    url = tmp_sqlite(tmp_path)
    capsys.readouterr()
    with socket.socket() as taken:  # should it be accepted, the server fails to bind instead of serving on
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert main(["serve", "--db", url, "--port", str(taken.getsockname()[1])]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith("trader-app: error: TRADER_API__TOKEN must be ASCII letters, digits and punctuation")
    assert TOKEN[:8] not in err[0], "the token itself is never printed"


def test_trader_app_serve_beyond_loopback_without_a_token_exits_2_with_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TRADER_API__TOKEN", raising=False)
    url = tmp_sqlite(tmp_path)
    capsys.readouterr()
    assert main(["serve", "--db", url, "--host", "0.0.0.0"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == ["trader-app: error: refusing to bind 0.0.0.0 beyond loopback without "
                                        "TRADER_API__TOKEN"]
    assert main(["serve", "--db", f"sqlite:///{tmp_path / 'missing.db'}"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8080", "127.0.0.1.nip.io", "10.0.0.5",
                                  "127.0.0.1.", "[::ffff:10.0.0.5]", ""])
def test_a_page_that_rebinds_its_name_to_loopback_reads_nothing(client: httpx.Client, host: str) -> None:
    """DNS rebinding: a web page whose name now resolves to 127.0.0.1 sends its own name as Host. Reads need no
    token on loopback, so the Host is what tells the page from the user's browser on this machine."""
    answer = client.get("/api/v1/bots/alpha/status", headers={"Host": host})
    assert answer.status_code == 421
    assert "alpha" not in answer.text
    for name in ("127.0.0.1", "localhost", "[::1]", "127.0.0.2", "[0:0:0:0:0:0:0:1]"):
        assert client.get("/api/v1/bots", headers={"Host": f"{name}:8080"}).status_code == 200


def test_every_answer_forbids_framing_and_sniffing(client: httpx.Client) -> None:
    for path in ("/", "/api/v1/bots", "/api/v1/nothing"):
        headers = client.get(path).headers
        assert headers["x-frame-options"] == "DENY"
        assert headers["content-security-policy"] == CSP
        assert "frame-ancestors 'none'" in CSP
        assert headers["x-content-type-options"] == "nosniff"


def test_the_dashboard_is_asked_again_after_an_upgrade_and_the_data_is_never_cached(client: httpx.Client) -> None:
    """Without Cache-Control a browser keeps a file with a Last-Modified for a tenth of its age on its own: after
    an upgrade, hours of the old script against the new API. The bots' data stays out of the disk cache."""
    for path in ("/", "/static/app.js", "/static/style.css"):
        answer = client.get(path)
        assert answer.headers["cache-control"] == "no-cache"
        if path.startswith("/static/"):  # asking again costs a 304 while the file has not changed
            assert client.get(path, headers={"If-None-Match": answer.headers["etag"]}).status_code == 304
    for path in ("/api/v1/bots", "/api/v1/bots/alpha/status", "/api/v1/bots/alpha/trades", "/api/v1/nothing"):
        assert client.get(path).headers["cache-control"] == "no-store"


def test_a_store_failure_does_not_name_the_database(tmp_path: Path) -> None:
    url = tmp_sqlite(tmp_path)
    assert main(["run", "--days", "1", "--db", url, "--bot", "gamma"]) == 0
    store_unreadable_state(url, "gamma")
    server = Server(create_app(Fleet(url), TOKEN))
    try:
        with httpx.Client(base_url=server.url) as http:
            answer = http.get("/api/v1/bots/gamma/status")
    finally:
        server.stop()
    assert answer.status_code == 503
    assert "the store failed" in answer.json()["error"]
    assert str(tmp_path) not in answer.text
    assert "sqlite" not in answer.text


@pytest.mark.parametrize("wait", ["abc", "0", "61"])
def test_a_command_refused_for_its_wait_is_not_queued(client: httpx.Client, wait: str) -> None:
    """A 400 means "not sent": a script that retries on it must not get the command twice."""
    before = client.get("/api/v1/bots/alpha/commands").json()["commands"]
    answer = client.post("/api/v1/bots/alpha/commands/halt", headers=AUTH, params={"wait": wait})
    assert answer.status_code == 400
    assert answer.json()["error"] in {"not an integer: 'abc'", f"{wait} is outside 1..60"}
    assert client.get("/api/v1/bots/alpha/commands").json()["commands"] == before


def test_a_queued_command_is_answered_as_queued_when_the_store_fails_during_its_wait(tmp_path: Path) -> None:
    """Once the command is in the queue, a store that fails while the server waits for the bot's result must not
    turn the answer into an error: the caller would take it for "not sent" and send it again."""
    url = tmp_sqlite(tmp_path)
    assert main(["run", "--days", "1", "--db", url, "--bot", "gamma"]) == 0
    server = Server(create_app(Fleet(url), TOKEN))
    answers: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=server.url, timeout=70) as http:
            sender = threading.Thread(target=lambda: answers.append(http.post(
                "/api/v1/bots/gamma/commands/halt", headers=AUTH, params={"wait": 60})))
            sender.start()
            engine = sqlalchemy.create_engine(url)
            while sender.is_alive():  # once the halt is queued, its table goes away under the waiting server
                with engine.begin() as connection:
                    if connection.execute(sqlalchemy.text("select count(*) from commands")).scalar():
                        connection.execute(sqlalchemy.text("alter table commands rename to commands_away"))
                        break
            sender.join(70)
            engine.dispose()
    finally:
        server.stop()
    assert [a.status_code for a in answers] == [200], [a.text for a in answers]
    assert (answers[0].json()["name"], answers[0].json()["status"]) == ("halt", "pending")
