"""Operations settings: log rotation and retention (passed to loguru), the metrics endpoint (off by default,
loopback unless configured), and a database password kept out of the settings' repr."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trader_adapters.telemetry import LoguruTelemetry
from trader_app.settings import load_settings
from trader_core.model import ConfigError
from trader_core.model.events import TickFailed


def test_defaults_keep_one_log_file_and_no_metrics_endpoint() -> None:
    settings = load_settings({}, {})
    assert settings.log_rotation is None
    assert settings.log_retention is None
    assert settings.metrics_port is None
    assert settings.metrics_host == "127.0.0.1"


def test_rotation_retention_and_metrics_are_read_from_the_environment() -> None:
    settings = load_settings({"metrics_port": 9108}, {"TRADER_LOG_ROTATION": "100 MB",
                                                      "TRADER_LOG_RETENTION": "14 days",
                                                      "TRADER_METRICS_HOST": "0.0.0.0"})
    assert (settings.log_rotation, settings.log_retention) == ("100 MB", "14 days")
    assert (settings.metrics_host, settings.metrics_port) == ("0.0.0.0", 9108)


@pytest.mark.parametrize(("key", "value"), [("log_rotation", "big"), ("log_retention", "forever"),
                                            ("metrics_port", "70000"), ("metrics_port", "http")])
def test_bad_operations_settings_are_config_errors(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        load_settings({key: value}, {})


def test_a_database_password_never_reaches_the_settings_repr() -> None:
    settings = load_settings({"db": "postgresql+psycopg://trader:hunter2secret@db:5432/trader"}, {})
    assert "hunter2secret" not in repr(settings)
    assert "hunter2secret" not in json.dumps(settings.public())
    assert settings.db.endswith("@db:5432/trader"), "the adapter still gets the real URL"


def test_the_telemetry_file_rotates_by_size_and_is_appended_to(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "telemetry.jsonl"
    path.parent.mkdir()
    path.write_text('{"event":"Earlier"}\n')
    sink = LoguruTelemetry(path, "b1", "r1", rotation="1 KB", retention="3")
    try:
        for n in range(40):
            sink.emit(TickFailed(at=datetime(2025, 1, 1, tzinfo=UTC), error=f"failure {n} " + "x" * 40))
    finally:
        sink.close()
    files = sorted(path.parent.iterdir())
    assert len(files) >= 2, "the file rotated"
    assert len(files) <= 4, "retention keeps at most 3 rotated files"
    lines = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    assert all(line["bot_id"] == "b1" and line["run_id"] == "r1" for line in lines if line["event"] != "Earlier")
