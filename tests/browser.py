"""Headless Chromium for the browser tests: the page's DOM after its scripts ran, what it wrote to the console,
and a screenshot. The browser comes from `scripts/ensure-chromium` (TRADER_TEST_CHROMIUM, or on the PATH)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import attrs
import pytest

_CONSOLE = re.compile(r":CONSOLE(?::\d+)?\] (.*)$", re.MULTILINE)


def chromium() -> str:
    """The browser's path; the test is skipped, saying why, when there is none (CI never gets here without one:
    scripts/ensure-chromium fails the run first)."""
    path = os.environ.get("TRADER_TEST_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.skip("no headless Chromium: run scripts/ensure-chromium (scripts/check does)")
    return path


def _args(profile: str) -> list[str]:
    # The flags keep Chromium off the network (this machine has none) and out of first-run work.
    return [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", "--hide-scrollbars"]


@attrs.frozen
class Rendered:
    """A page after its scripts ran: the serialised DOM and every console message it wrote."""

    dom: str
    console: tuple[str, ...]


def render(url: str, *, budget_ms: int = 5000, timeout_s: float = 90) -> Rendered:
    """Load ``url`` (``file://`` or ``http://127.0.0.1...``), let its scripts run for ``budget_ms`` of virtual
    time, and return the DOM and the console."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([*_args(profile), f"--virtual-time-budget={budget_ms}", "--dump-dom", url],
                              capture_output=True, text=True, timeout=timeout_s, check=False)
    return Rendered(dom=done.stdout, console=tuple(_CONSOLE.findall(done.stderr)))


def screenshot(url: str, out: Path, *, width: int = 1400, height: int = 1000, budget_ms: int = 5000) -> Path:
    """A PNG of ``url`` as the browser drew it."""
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([*_args(profile), f"--virtual-time-budget={budget_ms}", f"--window-size={width},{height}",
                        f"--screenshot={out}", url], capture_output=True, text=True, timeout=90, check=False)
    return out
