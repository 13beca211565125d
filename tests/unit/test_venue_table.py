"""The venue capability table: the doc agrees with the code, client ids map onto each venue's rule,
and configurations a venue cannot run are one-line configuration errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from trader_adapters.ccxt.client import ClientSpec, build_client
from trader_adapters.ccxt.venues import (
    VENUES,
    IdForm,
    check_venue,
    from_venue_client_id,
    live_refusal,
    to_venue_client_id,
)
from trader_core.model.errors import ConfigError

DOC = Path(__file__).resolve().parents[2] / "docs" / "exchanges.md"
# Ids the bot forms today (Binance's rule) and after the incarnation tag (letters and digits, <= 32).
bot_ids = st.from_regex(r"[A-Za-z0-9._:/-]{1,36}", fullmatch=True)


def _doc_rows() -> dict[str, list[str]]:
    text = DOC.read_text()
    table = text.split("<!-- venue-table:start -->")[1].split("<!-- venue-table:end -->")[0]
    rows = [line.strip().strip("|").split("|") for line in table.strip().splitlines()[2:]]
    return {cells[0].strip(): [c.strip() for c in cells] for cells in rows}


def test_the_doc_table_lists_exactly_the_venues_in_the_code() -> None:
    assert set(_doc_rows()) == set(VENUES)


@pytest.mark.parametrize("exchange_id", sorted(VENUES))
def test_each_doc_row_agrees_with_the_code(exchange_id: str) -> None:
    v = VENUES[exchange_id]
    row = _doc_rows()[exchange_id]
    yes_no = {True: "yes", False: "no"}
    assert row[1:] == [
        f"`{v.id_alphabet}`", str(v.id_max_length), v.id_form.value, f"`{v.id_field}`",
        v.lookup or "none (refused live)", v.protection.value, yes_no[v.passphrase], yes_no[v.sandbox],
        v.fee_currency, v.placement_expiry or "none",
    ]


@pytest.mark.parametrize("exchange_id", sorted(VENUES))
def test_the_sandbox_column_matches_what_ccxt_knows(exchange_id: str) -> None:
    spec = ClientSpec(exchange_id, None, None, True, None)
    if VENUES[exchange_id].sandbox:
        build_client(spec)
    else:
        with pytest.raises(ConfigError, match="has no sandbox"):
            build_client(spec)


@pytest.mark.parametrize("exchange_id", sorted(VENUES))
@given(bot_id=bot_ids)
def test_venue_ids_follow_the_venue_rule_and_map_back(exchange_id: str, bot_id: str) -> None:
    venue_id = to_venue_client_id(exchange_id, bot_id)
    v = VENUES[exchange_id]
    assert v.accepts(venue_id)
    if v.id_form is IdForm.INTEGER:
        assert 0 < int(venue_id) < 2**31
    assert to_venue_client_id(exchange_id, bot_id) == venue_id  # the same after a restart
    assert from_venue_client_id(exchange_id, venue_id, {bot_id, "other-1"}) in {bot_id, "other-1"}


@given(a=bot_ids, b=bot_ids)
def test_distinct_bot_ids_stay_distinct_on_okx(a: str, b: str) -> None:
    if a != b:
        assert to_venue_client_id("okx", a) != to_venue_client_id("okx", b)


def test_an_id_okx_accepts_is_sent_unchanged_and_the_current_form_is_mapped() -> None:
    assert to_venue_client_id("okx", "tcA1b2C3d4x17") == "tcA1b2C3d4x17"
    mapped = to_venue_client_id("okx", "tc-bot.a-1-1")
    assert re.fullmatch(r"[A-Za-z0-9]{1,32}", mapped)
    assert from_venue_client_id("okx", mapped, {"tc-bot.a-1-1", "tc-bot.a-1-2"}) == "tc-bot.a-1-1"


@pytest.mark.parametrize("exchange_id", ["bybit", "kraken", "coinbase"])
def test_venues_without_lookup_by_client_id_are_refused_live_in_one_line(exchange_id: str) -> None:
    with pytest.raises(ConfigError) as raised:
        check_venue(exchange_id, sandbox=False, base_url=None, password=None, live=True)
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith(f"refusing to trade live on {exchange_id}")
    check_venue(exchange_id, sandbox=False, base_url="http://127.0.0.1:9", password=None, live=True)


def test_okx_needs_its_passphrase_and_unknown_venues_are_named() -> None:
    with pytest.raises(ConfigError, match="TRADER_EXCHANGE__PASSWORD"):
        check_venue("okx", sandbox=False, base_url=None, password=None, live=True)
    check_venue("okx", sandbox=False, base_url=None, password="p", live=True)
    with pytest.raises(ConfigError, match="unknown venue 'ftx'"):
        check_venue("ftx", sandbox=False, base_url=None, password=None, live=True)
    assert live_refusal("binance") is None
    assert live_refusal("gemini") is None


def test_the_passphrase_reaches_ccxt_and_not_the_repr() -> None:
    spec = ClientSpec("okx", "key", "secret", True, None, password="pass-phrase-9")
    assert build_client(spec).password == "pass-phrase-9"
    assert "pass-phrase-9" not in repr(spec)
    assert spec.redactor()("sent pass-phrase-9") != "sent pass-phrase-9"


def test_the_passphrase_is_read_from_the_environment_and_left_out_of_public_settings() -> None:
    from trader_app.settings import load_settings

    settings = load_settings({"exchange": "okx", "paper": True, "symbols": "BTC/USDT"},
                             {"TRADER_EXCHANGE__PASSWORD": "pass-phrase-9"})
    assert settings.password is not None
    assert settings.password.reveal() == "pass-phrase-9"
    assert "pass-phrase-9" not in repr(settings)
    assert "pass-phrase-9" not in str(settings.public())
