"""A venue that fails a start-up request (a 429, a 5xx) is asked again, saying so, and the bot starts: whichever
start-up request met the failure, the symbol rules included (Gemini reads them one symbol at a time)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trader_sandbox.testing import running_sandbox

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


@pytest.mark.parametrize(("venue", "path"), [("binance", "/api/v3/exchangeInfo"),
                                             ("gemini", "/v1/symbols/details/btcusdt")])
def test_a_failed_start_up_request_is_asked_again_and_the_bot_starts(tmp_path: Path, venue: str, path: str) -> None:
    with running_sandbox(venue=venue, history=5) as sandbox:
        sandbox.inject(path=path, times=1, status=429, headers={"Retry-After": "1"},
                       body='{"result":"error","reason":"RateLimit","message":"Requests were made too frequently"}')
        env = {**os.environ, "TRADER_EXCHANGE__API_KEY": sandbox.api_key, "TRADER_EXCHANGE__SECRET": sandbox.secret}
        bot = subprocess.Popen([APP, "run", "--exchange", venue, "--sandbox-url", sandbox.url, "--symbol", "BTC/USDT",
                                "--timeframe", "1m", "--interval", "0.5", "--db", f"sqlite:///{tmp_path}/t.db"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        telemetry = tmp_path / "logs" / "telemetry.jsonl"
        deadline = time.monotonic() + 60
        while not (telemetry.exists() and '"event":"RunStarted"' in telemetry.read_text()):
            assert bot.poll() is None, bot.communicate()[1]
            assert time.monotonic() < deadline, "the bot did not start"
            time.sleep(0.2)
        bot.send_signal(signal.SIGTERM)
        _, stderr = bot.communicate(timeout=60)
        answered = [r["status"] for r in sandbox.requests() if r["path"] == path]
    assert bot.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert f"trader-app: {venue} does not answer at start-up" in stderr
    assert answered[:2] == [429, 200], "asked again after the refusal"
