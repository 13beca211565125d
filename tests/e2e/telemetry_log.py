"""Reading a bot's telemetry file in end-to-end tests."""

from __future__ import annotations

import json
from pathlib import Path


def events(folder: Path) -> list[dict[str, str]]:
    """Every event the bot running in ``folder`` has written so far (none before the file exists)."""
    path = folder / "logs" / "telemetry.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
