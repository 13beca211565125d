"""Configuration errors on any venue are one line on stderr and exit 2, before any network I/O or database file:
a venue without lookup by client id refused live, a missing passphrase or key, a venue without a sandbox, an
unknown venue id, and (once the venue is reached, still before the database) a timeframe it does not offer or
keys it refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

APP = str(Path(sys.executable).parent / "trader-app")
KEYS = {"TRADER_EXCHANGE__API_KEY": "k" * 64, "TRADER_EXCHANGE__SECRET": "s" * 64}


def _the_one_line(result: subprocess.CompletedProcess[str], folder: Path) -> str:
    """The refusal: exit 2, one line on stderr (returned), no traceback, no database written."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert not (folder / "t.db").exists(), "nothing is written"
    return lines[0]


@pytest.mark.parametrize(("flags", "says"), [
    (["--exchange", "bybit", "--live"], "refusing to trade live on bybit"),
    (["--exchange", "coinbase", "--live"], "refusing to trade live on coinbase"),
    (["--exchange", "okx", "--live"], "TRADER_EXCHANGE__PASSWORD"),
    (["--exchange", "kraken", "--sandbox"], "kraken has no sandbox"),
    (["--exchange", "nosuchvenue", "--live"], "unknown venue 'nosuchvenue'"),
])
def test_a_venue_misconfiguration_is_one_line_and_exit_2(tmp_path: Path, flags: list[str], says: str) -> None:
    env = {**os.environ, **KEYS}
    env.pop("TRADER_EXCHANGE__PASSWORD", None)
    result = subprocess.run([APP, "run", *flags, "--symbol", "BTC/USDT", "--db", f"sqlite:///{tmp_path}/t.db"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.db").exists(), "nothing is written before the venue is checked"


# -- the same promise as a table over every venue of the capability table ------------------------------------

VENUE_IDS = ("binance", "gemini", "okx", "bybit", "kraken", "coinbase")
NO_SANDBOX = ("kraken", "coinbase")


def _case_table() -> list[Any]:
    cases: list[Any] = []
    for venue in VENUE_IDS:
        cases.append(pytest.param(venue, ["--live"], {}, "TRADER_EXCHANGE__API_KEY", id=f"{venue}-no-key"))
        if venue in NO_SANDBOX:
            cases.append(pytest.param(venue, ["--sandbox"], KEYS, f"{venue} has no sandbox", id=f"{venue}-sandbox"))
    for venue in ("bybit", "kraken", "coinbase"):
        cases.append(pytest.param(venue, ["--live"], KEYS, f"refusing to trade live on {venue}",
                                  id=f"{venue}-live-refused"))
    cases.append(pytest.param("nosuchvenue", ["--sandbox"], KEYS, "nosuchvenue", id="unknown-sandbox"))
    return cases


@pytest.mark.parametrize(("venue", "flags", "keys", "says"), _case_table())
def test_every_venue_misconfiguration_is_one_line_and_exit_2(tmp_path: Path, venue: str, flags: list[str],
                                                              keys: dict[str, str], says: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADER_EXCHANGE__")}
    env.update(keys)
    result = subprocess.run([APP, "run", "--exchange", venue, *flags, "--symbol", "BTC/USDT",
                             "--db", f"sqlite:///{tmp_path}/t.db"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert says in lines[0]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "t.db").exists(), "nothing is written before the venue is checked"


@pytest.mark.parametrize(("venue", "timeframe", "has"), [("gemini", "3m", "1m, 5m, 15m"), ("binance", "10m", "1s")])
def test_a_timeframe_the_venue_lacks_is_one_line_and_exit_2(tmp_path: Path, venue: str, timeframe: str,
                                                           has: str) -> None:
    from trader_sandbox.testing import running_sandbox

    with running_sandbox(venue=venue, history=5) as sandbox:
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        result = subprocess.run([APP, "run", "--exchange", venue, "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
                                 "--timeframe", timeframe, "--db", f"sqlite:///{tmp_path}/t.db"],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"has no {timeframe} candles" in lines[0]
    assert has in lines[0]
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize("venue", ["binance", "gemini"])
def test_keys_the_venue_refuses_at_start_up_are_one_line_and_exit_2(tmp_path: Path, venue: str) -> None:
    from trader_sandbox.testing import running_sandbox

    wrong = {"TRADER_EXCHANGE__API_KEY": "account-" + "k" * 24, "TRADER_EXCHANGE__SECRET": "s" * 40}
    with running_sandbox(venue=venue, history=5) as sandbox:
        result = subprocess.run([APP, "run", "--exchange", venue, "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
                                 "--timeframe", "1m", "--db", f"sqlite:///{tmp_path}/t.db"],
                                cwd=tmp_path, env={**os.environ, **wrong}, capture_output=True, text=True, timeout=60,
                                check=False)
    line = _the_one_line(result, tmp_path)
    assert line.startswith(f"trader-app: error: {venue}-emulator refused the API key at start-up")
    assert "TRADER_EXCHANGE__API_KEY" in line
    for secret in wrong.values():
        assert secret not in result.stderr + result.stdout


def _start_then_stop(command: list[str], env: dict[str, str], folder: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command`` until its run has started, then stop it with SIGTERM (as an operator would)."""
    bot = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        telemetry, deadline = folder / "logs" / "telemetry.jsonl", time.monotonic() + 60
        while not (telemetry.exists() and "RunStarted" in telemetry.read_text()):
            assert bot.poll() is None, bot.communicate()[1]
            assert time.monotonic() < deadline, "the run did not start within 60 s"
            time.sleep(0.2)
        bot.send_signal(signal.SIGTERM)
        stdout, stderr = bot.communicate(timeout=60)
    finally:
        if bot.poll() is None:
            bot.kill()
    return subprocess.CompletedProcess(command, bot.returncode, stdout, stderr)


@pytest.mark.parametrize("venue", ["binance", "gemini"])
def test_a_key_that_may_withdraw_is_refused_at_start_up_unless_allowed(tmp_path: Path, venue: str) -> None:
    """Binance's apiRestrictions says ``enableWithdrawals``, Gemini's roles the Fund Manager role: a trading bot
    needs neither, and a key copied off the machine could empty the account. Refused in one line before anything
    is written; run anyway, with a warning, when the operator allows it."""
    from trader_sandbox.testing import running_sandbox

    with running_sandbox(venue=venue, history=5, key_withdrawals=True) as sandbox:
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        command = [APP, "run", "--exchange", venue, "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
                   "--timeframe", "1m", "--interval", "0.5", "--db", f"sqlite:///{tmp_path}/t.db"]
        refused = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                                 check=False)
        line = _the_one_line(refused, tmp_path)
        assert line.startswith(f"trader-app: error: {venue}-emulator: the API key may withdraw funds")
        assert "allow_withdrawal_keys" in line
        allowed = _start_then_stop([*command, "--allow-withdrawal-keys"], env, tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert f"warning: the {venue}-emulator API key may withdraw funds" in allowed.stderr
    assert sandbox.api_key not in allowed.stderr


@pytest.mark.parametrize("venue", ["binance", "gemini"])
def test_a_trading_key_starts_without_a_word_about_withdrawals(tmp_path: Path, venue: str) -> None:
    from trader_sandbox.testing import running_sandbox

    with running_sandbox(venue=venue, history=5) as sandbox:
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        result = _start_then_stop([APP, "run", "--exchange", venue, "--sandbox-url", sandbox.url, "--symbol",
                                   "BTC/USDT", "--timeframe", "1m", "--interval", "0.5",
                                   "--db", f"sqlite:///{tmp_path}/t.db"], env, tmp_path)
        asked = [r for r in sandbox.requests() if r["path"] in ("/sapi/v1/account/apiRestrictions", "/v1/roles")]
    assert result.returncode == 0, result.stderr
    assert len(asked) == 1, "the key's permissions were read once, at start-up"
    assert "withdraw" not in result.stderr


@pytest.mark.parametrize("venue", ["binance", "gemini"])
def test_a_key_that_may_not_trade_is_refused_at_start_up(tmp_path: Path, venue: str) -> None:
    """A read-only key (Binance without spot trading, Gemini's Auditor role): every order would be refused, the
    protective ones included. It ran, and met the refusal at its first order."""
    from trader_sandbox.testing import running_sandbox

    with running_sandbox(venue=venue, history=5, key_trading=False) as sandbox:
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        result = subprocess.run([APP, "run", "--exchange", venue, "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
                                 "--timeframe", "1m", "--db", f"sqlite:///{tmp_path}/t.db"],
                                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)
    line = _the_one_line(result, tmp_path)
    assert line.startswith(f"trader-app: error: {venue}-emulator: the API key may not trade spot")
