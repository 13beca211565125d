"""The dashboard in headless Chromium beside a bot trading the emulator: it shows the bot's position, a pause
pressed on the page (confirmed in its dialog, with the token) reaches the bot and is audited, resume brings it
back; a screenshot is written for docs/ when TRADER_SCREENSHOT names a file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import TOKEN, Server
from tests.browser import screenshot
from tests.cdp import browser_page
from trader_app.api import create_app
from trader_app.api.fleet import Fleet
from trader_sandbox.sandbox import Sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")
STATE = "document.getElementById('state').textContent"
REASON = "document.getElementById('reason').textContent"


def _wait(check: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.3)


def test_the_dashboard_shows_a_trading_bot_and_its_pause_and_resume_buttons_reach_it(
        tmp_path: Path, moving_sandbox: Sandbox) -> None:
    env = {**os.environ, "TRADER_EXCHANGE__API_KEY": moving_sandbox.api_key,
           "TRADER_EXCHANGE__SECRET": moving_sandbox.secret}
    db = f"sqlite:///{tmp_path / 'trader.db'}"
    bot = subprocess.Popen(
        [APP, "run", "--exchange", "binance", "--sandbox-url", moving_sandbox.url, "--symbol", "BTC/USDT",
         "--timeframe", "1s", "--interval", "1", "--fast", "2", "--slow", "3", "--stake", "100", "--db", db],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    server = None
    try:
        _wait((tmp_path / "trader.db").exists, "the bot's database")
        server = Server(create_app(Fleet(db), TOKEN))
        api = httpx.Client(base_url=server.url, timeout=10)
        _wait(lambda: "default" in api.get("/api/v1/bots").json().get("bots", []), "the bot's run")
        _wait(lambda: api.get("/api/v1/bots/default/status").json()["positions"], "a position", 90)
        with browser_page(server.url + "/?bot=default") as page:
            page.wait_for("document.querySelector('#positions td') && "
                          "document.querySelector('#positions').textContent.includes('BTC/USDT')")
            assert page.evaluate(STATE) == "active"
            if os.environ.get("TRADER_SCREENSHOT"):
                screenshot(server.url + "/?bot=default", Path(os.environ["TRADER_SCREENSHOT"]))
            page.evaluate(f"(() => {{ const t = document.getElementById('token'); t.value = '{TOKEN}'; "
                          "t.dispatchEvent(new Event('change')); return true; })()")
            page.evaluate("document.getElementById('cmd-pause').click(), true")
            assert any("minutes" in d for d in page.dialogs)
            page.wait_for(f"{STATE} === 'reducing' && {REASON} === 'paused by an operator'")
            log = api.get("/api/v1/bots/default/commands").json()["commands"]
            assert (log[0]["name"], log[0]["status"]) == ("pause", "executed")
            page.evaluate("document.getElementById('cmd-resume').click(), true")
            assert any("resume" in d for d in page.dialogs)
            page.wait_for(f"{STATE} === 'active'")
            text = page.evaluate("document.getElementById('commands').textContent")
            assert "resume" in text
            assert "executed" in text
    finally:
        if server is not None:
            server.stop()
        bot.kill()
        bot.wait(30)
