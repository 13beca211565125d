"""Configuration errors on any venue are one line on stderr and exit 2, before any network I/O or database file:
a venue without lookup by client id refused live, a missing passphrase, a venue without a sandbox,
an unknown venue id."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

APP = str(Path(sys.executable).parent / "trader-app")
KEYS = {"TRADER_EXCHANGE__API_KEY": "k" * 64, "TRADER_EXCHANGE__SECRET": "s" * 64}


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
