"""Settings that could cost money or mislead, end to end through the CLI: every command reads the same database
and bot as ``run``; real money only with ``--live`` typed on the command line; impossible stops and unknown
timeframes refused at start; a misspelt variable named."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from trader_adapters.sql.store import SqlStore
from trader_core.model import BotId
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _app(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([APP, *args], cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
                          env={**os.environ, **env})


def _commands(url: str, bot: str) -> list[str]:
    store = SqlStore.open(url, BotId(bot))
    try:
        with store.unit_of_work() as uow:
            return [c.name.value for c in uow.commands.list_recent()]
    finally:
        store.close()


def test_status_trades_and_command_follow_trader_db_and_trader_bot_like_run(tmp_path: Path) -> None:
    assert _app(tmp_path, "run", "--days", "1").returncode == 0  # ./trader.db exists, as in the report
    other = f"sqlite:///{tmp_path / 'other.db'}"
    ran = _app(tmp_path, "run", "--days", "1", TRADER_DB=other, TRADER_BOT="alpha")
    assert ran.returncode == 0, ran.stderr
    queued = _app(tmp_path, "command", "halt", TRADER_DB=other, TRADER_BOT="alpha")
    assert queued.returncode == 0, queued.stderr
    assert _commands(other, "alpha") == ["halt"]
    assert _commands(f"sqlite:///{tmp_path / 'trader.db'}", "default") == [], "nothing queued for the wrong bot"
    status = _app(tmp_path, "status", "--json", TRADER_DB=other, TRADER_BOT="alpha")
    assert status.returncode == 0, status.stderr
    assert '"bot": "alpha"' in status.stdout
    trades = _app(tmp_path, "trades", TRADER_DB=other, TRADER_BOT="alpha")
    assert trades.returncode == 0, trades.stderr
    assert trades.stdout.strip(), "alpha's round trips, from alpha's database"


def test_status_and_command_refuse_a_bot_that_never_ran_like_trades(tmp_path: Path) -> None:
    assert _app(tmp_path, "run", "--days", "1").returncode == 0
    for command in (["status"], ["command", "pause"], ["trades"]):
        result = _app(tmp_path, *command, "--bot", "nobody")
        assert result.returncode == 2, result.stdout + result.stderr
        assert result.stderr == "trader-app: error: bot nobody has no runs in sqlite:///trader.db\n"
        assert result.stdout == ""
    assert _commands(f"sqlite:///{tmp_path / 'trader.db'}", "nobody") == [], "nothing queued"


def test_live_trading_is_never_turned_on_by_the_environment_or_the_config_file(tmp_path: Path) -> None:
    keys = {"TRADER_EXCHANGE__API_KEY": "k" * 64, "TRADER_EXCHANGE__SECRET": "s" * 64}
    by_env = _app(tmp_path, "run", "--exchange", "binance", TRADER_LIVE="true", **keys)
    (tmp_path / "live.toml").write_text('live = true\nexchange = "binance"\n')
    by_file = _app(tmp_path, "run", "--config", "live.toml", **keys)
    for result in (by_env, by_file):
        assert result.returncode == 2, result.stderr
        assert "only by --live on the command line" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "trader.db").exists(), "nothing written"


def test_a_stop_of_100_percent_or_more_is_a_configuration_error(tmp_path: Path) -> None:
    for value in ("100", "150"):
        result = _app(tmp_path, "run", "--stop-pct", value)
        assert result.returncode == 2, result.stderr
        assert "stop_pct must be above 0 and below 100" in result.stderr
    assert not (tmp_path / "trader.db").exists()


@pytest.mark.parametrize("flag", ["--fee-pct", "--slippage-pct"])
def test_a_fee_or_slippage_of_100_percent_is_a_configuration_error(tmp_path: Path, flag: str) -> None:
    result = _app(tmp_path, "run", "--days", "1", flag, "100")
    assert result.returncode == 2, result.stderr
    assert "must be below 100 (percent of each fill), got 100" in result.stderr
    assert not (tmp_path / "trader.db").exists()


def test_a_misspelt_variable_is_named_with_the_closest_known_one(tmp_path: Path) -> None:
    result = _app(tmp_path, "run", "--days", "1", TRADER_STKAE="50")
    assert result.returncode == 0, result.stderr
    assert "unknown environment variable TRADER_STKAE is ignored; did you mean TRADER_STAKE?" in result.stderr


@pytest.mark.parametrize(("variable", "message"), [
    ("TRADER_EXCHANGE__SECRETT", "unknown environment variable TRADER_EXCHANGE__SECRETT; did you mean "
                                 "TRADER_EXCHANGE__SECRET?"),
    ("TRADER_EXCHANGE__BOGUS", "unknown environment variable TRADER_EXCHANGE__BOGUS"),
    ("TRADER_LLM__MODLE", "unknown environment variable TRADER_LLM__MODLE; did you mean TRADER_LLM__MODEL?"),
    ("TRADER_LLM__BOGUS", "unknown environment variable TRADER_LLM__BOGUS"),
])
def test_a_misspelt_exchange_or_llm_variable_is_refused_whatever_the_strategy(
        tmp_path: Path, variable: str, message: str) -> None:
    result = _app(tmp_path, "run", "--days", "1", **{variable: "x"})
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("trader-app: error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "trader.db").exists(), "nothing written"


@pytest.mark.parametrize(("flags", "env"), [
    (["--timeframe", "7m"], {}),
    ([], {"TRADER_OHLCV_TIMEFRAMES": "1m,7m"}),
    (["--symbol", "DOGE/BTC"], {}),
])
def test_what_the_venue_cannot_serve_is_refused_at_start_before_the_database_is_touched(
        tmp_path: Path, moving_sandbox: Sandbox, flags: list[str], env: dict[str, str]) -> None:
    keys = {"TRADER_EXCHANGE__API_KEY": moving_sandbox.api_key, "TRADER_EXCHANGE__SECRET": moving_sandbox.secret}
    result = _app(tmp_path, "run", "--exchange", "binance", "--sandbox-url", moving_sandbox.url, *flags,
                  **keys, **env)
    assert result.returncode == 2, result.stderr
    assert ("DOGE/BTC" if "--symbol" in flags else "has no 7m candles") in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "trader.db").exists()


def test_a_venue_nobody_listens_on_is_retried_then_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"TRADER_EXCHANGE__API_KEY": "k" * 64, "TRADER_EXCHANGE__SECRET": "s" * 64}
    result = _app(tmp_path, "run", "--exchange", "binance", "--sandbox-url", f"http://127.0.0.1:{port}", **env)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert sum("trying again" in line for line in lines) == 3
    assert "cannot be reached at start-up" in lines[-1]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "trader.db").exists()


def test_files_that_are_not_utf8_and_a_venue_named_in_the_config_file_are_handled_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "latin1.toml").write_bytes('stake = 50 # "Ã©tÃ©"\n'.encode("utf-16"))
    latin1_line = b'{"at": "2025-01-01T00:05:00Z", "action": "HOLD", "reason": "\xe9t\xe9"}\n'
    (tmp_path / "signals.jsonl").write_bytes(latin1_line)
    (tmp_path / "venue.toml").write_text('exchange = "binance"\n')  # a venue but no mode: a usage error
    config = _app(tmp_path, "run", "--config", "latin1.toml")
    signals = _app(tmp_path, "run", "--signals", "signals.jsonl")
    venue = _app(tmp_path, "run", "--config", "venue.toml", "--days", "1")
    for result, text in ((config, "is not UTF-8"), (signals, "is not UTF-8"), (venue, "choose exactly one of --live")):
        assert result.returncode == 2, result.stderr
        assert text in result.stderr
        assert "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize(("overrides", "message"), [
    ("BTC/USDT:maybe", "maker_overrides: entry 'BTC/USDT:maybe' must be SYMBOL:true or SYMBOL:false"),
    ("ETH/USDT:no,BTCUSDT:yes", "maker_overrides: entry 'BTCUSDT:yes': invalid symbol 'BTCUSDT'"),
])
def test_a_malformed_maker_override_is_refused_naming_the_entry(tmp_path: Path, overrides: str,
                                                                 message: str) -> None:
    result = _app(tmp_path, "run", "--days", "1", TRADER_MAKER_PREFERENCE="true", TRADER_MAKER_OVERRIDES=overrides)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("trader-app: error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "trader.db").exists(), "nothing written"
