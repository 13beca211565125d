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


@pytest.mark.parametrize(("flag", "name", "problem"), [
    ("data", ".", "data file . is a folder; give a file"),
    ("signals", ".", "signals file . is a folder; give a file"),
    ("data", "/dev/null", "data file /dev/null is not a regular file (a device, pipe or socket)"),
    ("data", "missing.csv", "data file missing.csv not found"),
])
def test_an_input_file_that_is_not_a_file_is_said_to_be_what_it_is(flag: str, name: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({flag: name}, environ={})
    assert problem in str(caught.value)


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
                                 "postgresql://bot@db.local/trading?password=s3cret&sslmode=require",
                                 # the client key's passphrase, libpq's sslpassword
                                 "postgresql://bot@db.local/trading?sslmode=verify-full&sslpassword=s3cret",
                                 # a typo: '@' left unencoded in the password
                                 "postgresql://bot:Tr0ub4dor@s3cret@db.local/trading"])
def test_settings_stored_with_a_run_never_hold_the_database_password(url: str) -> None:
    public = load_settings({"db": url}, environ={}).public()
    assert "s3cret" not in str(public)
    assert "***" in public["db"]


def test_a_credential_too_short_to_be_real_is_refused_not_redacted_all_over_the_log() -> None:
    with pytest.raises(ConfigError, match="TRADER_EXCHANGE__SECRET is 1 characters long, too short"):
        load_settings({}, environ={"TRADER_EXCHANGE__API_KEY": "a" * 64, "TRADER_EXCHANGE__SECRET": "e"})


@pytest.mark.parametrize(("text", "expected"), [
    ("on", True), ("ON", True), ("yes", True), ("1", True), ("True", True),
    ("off", False), ("No", False), ("0", False), ("false", False),
])
def test_a_yes_no_setting_reads_every_usual_spelling(text: str, expected: bool) -> None:
    assert load_settings({}, environ={"TRADER_DRY_RUN": text}).dry_run is expected


@pytest.mark.parametrize(("line", "expected"), [("dry_run = true", True), ("dry_run = false", False),
                                                ('dry_run = "on"', True)])
def test_a_yes_no_setting_in_the_file_is_a_toml_boolean_or_a_usual_spelling(tmp_path: Path, line: str,
                                                                            expected: bool) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(line + "\n")
    assert load_settings({"config": str(config)}, environ={}).dry_run is expected


@pytest.mark.parametrize(("variable", "key", "value"), [
    ("TRADER_DRY_RUN", "dry_run", "maybe"),
    ("TRADER_VERBOSE", "verbose", "banana"),
    ("TRADER_OVERNIGHT_WIDEN", "overnight_widen", "perhaps"),
    ("TRADER_LIVE", "live", "banana"),
])
def test_a_yes_no_setting_with_any_other_value_is_refused_naming_the_key_and_value(variable: str, key: str,
                                                                                   value: str) -> None:
    with pytest.raises(ConfigError, match=f"{key} must be true or false .*got '{value}'"):
        load_settings({}, environ={variable: value})


def test_a_yes_no_setting_in_the_file_with_another_value_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('dry_run = "maybe"\n')
    with pytest.raises(ConfigError, match=r"dry_run must be true or false .*got 'maybe'"):
        load_settings({"config": str(config)}, environ={})


@pytest.mark.parametrize("line", ["fast = 5.5", "fast = 5.0", "fast = true", 'fast = "5.5"'])
def test_a_whole_number_setting_refuses_fractions_and_booleans(tmp_path: Path, line: str) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(line + "\n")
    with pytest.raises(ConfigError, match="fast must be a whole number"):
        load_settings({"config": str(config)}, environ={})


def test_a_whole_number_setting_takes_an_integer_or_a_string_of_digits(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('fast = "7"\nslow = 40\n')
    assert (load_settings({"config": str(config)}, environ={}).fast, load_settings(
        {"config": str(config)}, environ={}).slow) == (7, 40)


@pytest.mark.parametrize(("flags", "message"), [
    ({"days": 100000}, "days must be 1 to 3660"),
    ({"days": 0}, "days must be 1 to 3660"),
    ({"max_plans_per_symbol": 0}, "max_plans_per_symbol must be at least 1"),
    ({"max_order_value": "0"}, "max_order_value must be positive"),
    ({"max_total_exposure": "0"}, "max_total_exposure must be positive"),
    ({"high_vol_size_factor": "50"}, "high_vol_size_factor must be above 0 and at most 1"),
    ({"medium_vol_size_factor": "0"}, "medium_vol_size_factor must be above 0 and at most 1"),
    ({"max_drawdown_pct": "150"}, "max_drawdown_pct must be above 0 and at most 100"),
    ({"max_daily_loss_pct": "0"}, "max_daily_loss_pct must be above 0 and at most 100"),
    ({"max_trade_loss": "0"}, "max_trade_loss must be above 0"),
    ({"max_trade_loss": "-5"}, "max_trade_loss must be a non-negative number or empty"),
    ({"max_trade_loss_pct": "101"}, "max_trade_loss_pct must be above 0 and at most 100"),
])
def test_a_value_that_makes_no_sense_is_refused(flags: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(flags, environ={})


def test_a_csv_file_takes_exactly_one_symbol_and_replays_btc_when_none_is_given(tmp_path: Path) -> None:
    data = tmp_path / "c.csv"
    data.write_text("timestamp_ms,open,high,low,close,volume\n")
    with pytest.raises(ConfigError, match="give exactly one --symbol with --data"):
        load_settings({"data": str(data), "symbols": ["BTC/USDT", "ETH/USDT"]}, environ={})
    assert load_settings({"data": str(data)}, environ={}).symbols == (Symbol.parse("BTC/USDT"),)


def test_an_llm_api_key_in_the_file_is_refused_whatever_the_strategy(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('strategy = "sma"\n[llm]\napi_key = "sk-in-the-file"\n')
    with pytest.raises(ConfigError, match="api_key is not read from a file") as caught:
        load_settings({"config": str(config)}, environ={})
    assert "sk-in-the-file" not in str(caught.value)


@pytest.mark.parametrize("text", ["stake = {amount = 5}\n", "[max_order_value]\nusdt = 100\n",
                                  "fast = 5\n[risk]\nx = 1\n[timeframe]\n"])
def test_a_table_where_a_value_belongs_is_an_error_naming_the_key(tmp_path: Path, text: str) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(text)
    key = next(name for name in ("stake", "max_order_value", "timeframe") if name in text)
    with pytest.raises(ConfigError, match=f"{key} must be a value, not a table") as caught:
        load_settings({"config": str(config)}, environ={})
    assert "\n" not in str(caught.value)


def test_the_exchange_table_still_holds_credentials(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(f'[exchange]\napi_key = "{"k" * 16}"\nsecret = "{"s" * 16}"\n')
    settings = load_settings({"config": str(config)}, environ={})
    assert settings.api_key == Secret("k" * 16)


@pytest.mark.parametrize(("buffer", "cap"), [("5000", "5000"), ("6000", "5000"), ("5", "5")])
def test_an_order_value_buffer_at_or_above_the_max_order_value_is_an_error(buffer: str, cap: str) -> None:
    with pytest.raises(ConfigError, match=f"order_value_buffer must be below max_order_value .*got {buffer} and {cap}"):
        load_settings({}, environ={"TRADER_ORDER_VALUE_BUFFER": buffer, "TRADER_MAX_ORDER_VALUE": cap})
    settings = load_settings({}, environ={"TRADER_ORDER_VALUE_BUFFER": "4999", "TRADER_MAX_ORDER_VALUE": "5000"})
    assert (settings.order_value_buffer, settings.max_order_value) == (Decimal(4999), Decimal(5000))


def test_the_per_trade_loss_cap_is_off_by_default_and_reaches_the_risk_policy(tmp_path: Path) -> None:
    from trader_app.bootstrap import risk_limits

    assert risk_limits(load_settings({}, environ={})).entries.trade_loss_cap(Decimal(10000)) is None
    config = tmp_path / "bot.toml"
    config.write_text('max_trade_loss = "25"\nmax_trade_loss_pct = "0.5"\n')
    policy = risk_limits(load_settings({"config": str(config)}, environ={})).entries
    assert (policy.max_trade_loss, policy.max_trade_loss_pct) == (Decimal(25), Decimal("0.5"))
    assert policy.trade_loss_cap(Decimal(10000)) == Decimal(25)
    assert policy.trade_loss_cap(Decimal(4000)) == Decimal(20)
    assert policy.trade_fee_rate == Decimal("0.001"), "the cap counts the fee_pct of each side (0.1 % by default)"
    config.write_text('max_trade_loss = "25"\nfee_pct = "0.075"\n')
    assert risk_limits(load_settings({"config": str(config)}, environ={})).entries.trade_fee_rate == Decimal("0.00075")
