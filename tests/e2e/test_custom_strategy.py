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
