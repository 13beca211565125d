"""Ctrl-C on a replay stops it after the current candle with what it did until then (summary, outputs, one line,
exit 1); a second would end the process at once (130, not tested: it races the first stop). Before, a replay ran
on to the end of its data and then exited 0 with no summary and no outputs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

APP = str(Path(sys.executable).parent / "trader-app")


def _interrupted(tmp_path: Path, signals: int = 1) -> tuple[subprocess.CompletedProcess[str], Path]:
    summary = tmp_path / "summary.json"
    process = subprocess.Popen(
        [APP, "run", "--days", "60", "--db", f"sqlite:///{tmp_path / 'bot.db'}", "--summary-json", str(summary),
         "--log-dir", str(tmp_path / "logs")],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    sent = 0
    for line in process.stderr:
        seen.append(line)
        # Once the replay is under way (progress lines on a pipe), and again once it has said it is stopping.
        if ("10%" in line and not sent) or ("SIGINT received" in line and sent < signals):
            process.send_signal(signal.SIGINT)
            sent += 1
        if sent == signals:
            break
    out, err = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, out, "".join(seen) + err), summary


def test_one_ctrl_c_stops_a_replay_with_its_summary_and_outputs(tmp_path: Path) -> None:
    done, summary = _interrupted(tmp_path, 1)
    assert done.returncode == 1, done.stderr
    assert "SIGINT received, stopping the replay after this candle" in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(
        "trader-app: error: the replay was stopped by SIGINT before the end of its data")
    assert "Traceback" not in done.stderr
    figures = json.loads(summary.read_text())
    assert figures["stop_reason"] == "signal SIGINT"
    assert 0 < int(figures["candles"]) < 60 * 24 * 60, "stopped part of the way"
    assert "stop_reason" in done.stdout

