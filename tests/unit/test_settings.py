"""Settings: flags > environment > TOML file > defaults, and every problem reported at once."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from trader_app.settings import Secret, load_settings
from trader_core.model import ConfigError, Symbol


def test_flags_beat_the_environment_which_beats_the_file_which_beats_the_defaults(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('fast = 5\nslow = 50\nstake = "250"\nsymbols = ["SOL/USDT"]\n')
    settings = load_settings({"config": str(config), "slow": 40}, environ={"TRADER_FAST": "7"})
    assert (settings.fast, settings.slow, settings.stake) == (7, 40, Decimal(250))
    assert settings.symbols == (Symbol.parse("SOL/USDT"),)
    assert settings.target_pct == Decimal(3)  # untouched default


def test_the_config_file_may_come_from_the_environment(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('bot = "alpha"\n')
    assert load_settings({}, environ={"TRADER_CONFIG": str(config)}).bot.value == "alpha"


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"fast": 50, "slow": 20, "stake": "-1", "timeframe": "3q", "symbols": ["NOPE"]}, environ={})
    message = str(caught.value)
    for fragment in ("fast < slow", "stake", "unknown timeframe", "invalid symbol"):
        assert fragment in message
    assert "\n" not in message


def test_unknown_keys_in_the_file_and_missing_files_are_errors(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text("fsat = 3\n")
    with pytest.raises(ConfigError, match="unknown key 'fsat'"):
        load_settings({"config": str(config)}, environ={})
    with pytest.raises(ConfigError, match="not found"):
        load_settings({"config": str(tmp_path / "missing.toml")}, environ={})


def test_symbols_must_share_one_quote_asset() -> None:
    with pytest.raises(ConfigError, match="quote asset"):
        load_settings({"symbols": ["BTC/USDT", "ETH/BTC"]}, environ={})


def test_a_secret_never_shows_its_value() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret)
    assert "hunter2" not in str(secret)
    assert "hunter2" not in f"{secret}"
    assert secret.reveal() == "hunter2"


@pytest.mark.parametrize("url", ["postgresql://bot:s3cret@db.local:5432/trading",
                                 "postgresql://bot@db.local/trading?password=s3cret&sslmode=require"])
def test_settings_stored_with_a_run_never_hold_the_database_password(url: str) -> None:
    public = load_settings({"db": url}, environ={}).public()
    assert "s3cret" not in str(public)
    assert "***" in public["db"]


def test_a_credential_too_short_to_be_real_is_refused_not_redacted_all_over_the_log() -> None:
    with pytest.raises(ConfigError, match="TRADER_EXCHANGE__SECRET is 1 characters long, too short"):
        load_settings({}, environ={"TRADER_EXCHANGE__API_KEY": "a" * 64, "TRADER_EXCHANGE__SECRET": "e"})
