"""The strategy example in docs/strategies.md runs as written through ``--strategy module:Class``."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"


def test_the_documented_example_strategy_runs_and_trades(tmp_path: Path) -> None:
    code = re.search(r"```python\n# my_strategies/breakout.py\n(.*?)```", DOC.read_text(), re.S)
    assert code is not None, "docs/strategies.md lost its example"
    package = tmp_path / "my_strategies"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "breakout.py").write_text(code.group(1))
    result = subprocess.run(
        [str(Path(sys.executable).parent / "trader-app"), "run", "--days", "1",
         "--strategy", "my_strategies.breakout:Breakout"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))},
    )
    assert result.returncode == 0, result.stderr
    summary = dict(line.split(None, 1) for line in result.stdout.strip().splitlines())
    assert int(summary["fills"]) > 0


def _run_with(tmp_path: Path, source: str, spec: str, **env: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "user_strategy.py").write_text(source)
    return subprocess.run(
        [str(Path(sys.executable).parent / "trader-app"), "run", "--days", "1", "--strategy", spec],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, **env,
             "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))},
    )


@pytest.mark.parametrize("body", [
    'raise ValueError("my bug")', "return 5", 'return ("junk",)',
    # A hand-built signal with a NaN stop: it crashed the handler (exit 1, a traceback) when the signal was acted on.
    'from decimal import Decimal\n        from trader_core.model import Signal\n'
    '        return tuple(Signal(action="BUY", symbol=s, stop=Decimal("NaN")) for s, _ in context.candles)',
])
def test_a_strategy_whose_decide_fails_is_reported_and_the_run_carries_on(tmp_path: Path, body: str) -> None:
    # docs/strategies.md: "An exception raised by decide is reported and the loop carries on." A live bot must not
    # end on a bug in the user's own code.
    result = _run_with(tmp_path, f"class Broken:\n    async def decide(self, context):\n        {body}\n",
                       "user_strategy:Broken")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert "strategy user_strategy:Broken: decide" in (tmp_path / "logs" / "telemetry.jsonl").read_text()


def test_a_strategy_spec_that_names_something_other_than_a_class_is_bad_usage(tmp_path: Path) -> None:
    result = _run_with(tmp_path, "NOT_A_CLASS = 3\n", "user_strategy:NOT_A_CLASS")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "trader-app: error: strategy 'user_strategy:NOT_A_CLASS' is not a class"]


@pytest.mark.parametrize(("source", "message"), [
    ("class Broken:\n    def __init__(self):\n        raise RuntimeError('no config file')\n",
     "trader-app: error: strategy 'user_strategy:Broken' could not be built: RuntimeError: no config file ("),
    ("import nowhere_to_be_found_xyz\n",
     "trader-app: error: strategy 'user_strategy:Broken' cannot be loaded: No module named 'nowhere_to_be_found_xyz'"),
    ("x = 1 / 0\n",
     "trader-app: error: strategy 'user_strategy:Broken' cannot be loaded: ZeroDivisionError: division by zero ("),
    ("class Broken(:\n",
     "trader-app: error: strategy 'user_strategy:Broken' cannot be loaded: SyntaxError: "),
])
def test_a_strategy_that_fails_to_load_or_build_is_one_line_and_exit_2(tmp_path: Path, source: str,
                                                                       message: str) -> None:
    result = _run_with(tmp_path, source, "user_strategy:Broken")
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(message)
    assert "user_strategy.py" in line or "No module" in line, "says where the user's code failed"


def test_a_strategy_that_never_answers_is_cut_short_and_the_run_goes_on(tmp_path: Path) -> None:
    """A decide awaiting a server that never answers held the whole loop: no protection, no exit, no command."""
    source = ("import asyncio\n"
              "class Stuck:\n"
              "    calls = 0\n"
              "    async def decide(self, context):\n"
              "        self.calls += 1\n"
              "        if self.calls == 3:\n"
              "            await asyncio.sleep(3600)\n"
              "        return ()\n")
    result = _run_with(tmp_path, source, "user_strategy:Stuck", TRADER_STRATEGY_TIMEOUT_SECONDS="0.2")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = dict(line.split(None, 1) for line in result.stdout.strip().splitlines())
    assert (summary["candles"], summary["stop_reason"]) == ("2880", "end of data"), "a day of two symbols"
    telemetry = (tmp_path / "logs" / "telemetry.jsonl").read_text()
    assert "strategy user_strategy:Stuck: decide did not answer within 0.2 s (strategy_timeout_seconds)" in telemetry
