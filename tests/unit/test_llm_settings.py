"""The ``[llm]`` settings: file, environment and flags; the API key only from the environment; every problem listed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from trader_app.settings.llm import load_llm_settings
from trader_core.model import ConfigError

BASE = {"TRADER_LLM__BASE_URL": "http://127.0.0.1:8000/v1", "TRADER_LLM__MODEL": "m"}


def test_the_defaults_are_the_originals() -> None:
    llm = load_llm_settings({}, BASE)
    assert (llm.budget, llm.min_call_interval, llm.max_consecutive_errors) == (Decimal(10), timedelta(seconds=5), 3)
    assert (llm.decision_interval, llm.prompt_byte_budget, llm.trace_retention) == (
        timedelta(minutes=5), 16000, timedelta(days=7))
    assert llm.tools is False
    assert llm.cassette is None
    assert (llm.fee_ratio_cooldown_pct, llm.chop_filter, llm.min_trade_interval) == (Decimal(50), True,
                                                                                    timedelta(seconds=120))
    assert (llm.priority_move_pct, llm.break_glass_cooldown, llm.break_glass_size_factor) == (
        Decimal("1.5"), timedelta(hours=1), Decimal("0.6"))


def test_flags_beat_the_environment_which_beats_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[llm]\nmodel = "from-file"\nbudget = 3\ndecision_interval = "15m"\ntools = true\n'
                      'input_cost_per_mtok = 0.15\n')
    llm = load_llm_settings({"config": str(config), "llm_model": "from-flag"},
                            {**BASE, "TRADER_LLM__BUDGET": "4", "TRADER_LLM__API_KEY": "sk-1"})
    assert (llm.model, llm.budget, llm.decision_interval, llm.tools) == ("from-flag", Decimal(4),
                                                                         timedelta(minutes=15), True)
    assert llm.input_cost_per_mtok == Decimal("0.15")
    assert llm.api_key.reveal() == "sk-1"
    assert "sk-1" not in repr(llm)


def test_every_problem_is_listed_in_one_error(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[llm]\napi_key = "sk-in-file"\nbudjet = 3\n')
    with pytest.raises(ConfigError) as caught:
        load_llm_settings({"config": str(config)}, {"TRADER_LLM__BUDGET": "-1", "TRADER_LLM__TIMEOUT_S": "0",
                                                    "TRADER_LLM__DECISION_INTERVAL": "soon",
                                                    "TRADER_LLM__BREAK_GLASS_SIZE_FACTOR": "2"})
    message = str(caught.value)
    for expected in ("base_url", "model", "budget", "timeout_s", "decision_interval", "unknown key 'budjet'",
                     "break_glass_size_factor"):
        assert expected in message
    assert "sk-in-file" not in message
    assert "\n" not in message


def test_a_replay_from_a_cassette_needs_no_url() -> None:
    llm = load_llm_settings({"llm_cassette": "c.jsonl", "llm_cassette_mode": "replay", "llm_model": "m"}, {})
    assert llm.cassette == Path("c.jsonl")
    with pytest.raises(ConfigError, match="base_url"):
        load_llm_settings({"llm_cassette": "c.jsonl", "llm_cassette_mode": "auto", "llm_model": "m"}, {})


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("TRADER_LLM__DECISION_INTERVAL", "soon", "llm decision_interval 'soon': the duration 'soon' is not a number"),
    ("TRADER_LLM__BUDGET", "ten", "llm budget 'ten': the value 'ten' is not a number"),
])
def test_a_value_that_is_no_number_is_said_so_in_words(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_llm_settings({"llm_model": "m", "llm_base_url": "http://127.0.0.1:9/v1"}, {variable: value})


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://api.openai.com/v1", False), ("http://8.8.8.8:8000/v1", False),
    ("https://api.openai.com/v1", True), ("http://127.0.0.1:11434/v1", True), ("http://localhost:8000/v1", True),
    ("http://192.168.1.20:8000/v1", True), ("http://[::1]:8000/v1", True),
])
def test_an_api_key_never_travels_in_clear_beyond_this_machine_or_a_private_network(url: str, allowed: bool) -> None:
    environ = {**BASE, "TRADER_LLM__BASE_URL": url, "TRADER_LLM__API_KEY": "sk-secret-1",
               "TRADER_LLM__INPUT_COST_PER_MTOK": "2.5", "TRADER_LLM__OUTPUT_COST_PER_MTOK": "10"}
    if allowed:
        assert load_llm_settings({}, environ).base_url == url
        return
    with pytest.raises(ConfigError, match="in clear; use https") as caught:
        load_llm_settings({}, environ)
    assert "sk-secret-1" not in str(caught.value)
    assert load_llm_settings({}, {**environ, "TRADER_LLM__API_KEY": ""}).base_url == url  # no key: nothing to leak


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("TRADER_LLM__DECISION_INTERVAL", "1e20", "at most 366 days"),
    ("TRADER_LLM__ERROR_COOLDOWN_S", "1e300", "at most 366 days"),
    ("TRADER_LLM__TRACE_RETENTION_DAYS", "1e20", "trace_retention_days: at most 366"),
    ("TRADER_LLM__MAX_CONSECUTIVE_ERRORS", "0", "at least 1"),
    ("TRADER_LLM__MAX_TOOL_ROUNDS", "1000", "at most 10"),
    ("TRADER_LLM__DECISION_TIMEOUT_S", "0", "decision_timeout_s: more than 0"),
])
def test_values_past_any_use_are_one_line_errors(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_llm_settings({}, {**BASE, variable: value})


def test_the_decision_timeout_reads_a_duration() -> None:
    assert load_llm_settings({}, {**BASE, "TRADER_LLM__DECISION_TIMEOUT_S": "2m"}).decision_timeout == timedelta(
        minutes=2)


def test_a_remote_model_needs_its_prices_and_a_local_one_is_free_by_default() -> None:
    remote = {**BASE, "TRADER_LLM__BASE_URL": "https://api.openai.com/v1"}
    with pytest.raises(ConfigError, match="input_cost_per_mtok and output_cost_per_mtok: required"):
        load_llm_settings({}, remote)
    free = load_llm_settings({}, {**remote, "TRADER_LLM__INPUT_COST_PER_MTOK": "0",
                                  "TRADER_LLM__OUTPUT_COST_PER_MTOK": "0"})
    assert (free.input_cost_per_mtok, free.output_cost_per_mtok) == (0, 0)
    local = load_llm_settings({}, BASE)
    assert (local.input_cost_per_mtok, local.output_cost_per_mtok) == (0, 0)
