"""``trader-app llm-sandbox --script``: a bad script entry is refused when the script is loaded."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from trader_app.cli import main


@pytest.mark.parametrize(("entry", "message"), [
    ('{"status": "abc"}', "status must be an HTTP status 100 to 599, got 'abc'"),
    ('{"status": 42}', "status must be an HTTP status 100 to 599, got 42"),
    ('{"status": 600}', "status must be an HTTP status 100 to 599, got 600"),
    ('{"delay_s": -5}', "delay_s must be a number of seconds >= 0, got -5"),
    ('{"delay_s": NaN}', "delay_s must be a number of seconds >= 0, got nan"),
    ('{"delay_s": "3"}', "delay_s must be a number of seconds >= 0, got '3'"),
    ('{"status": 429, "retry_after": -1}', "retry_after must be a number of seconds >= 0, got -1"),
    ('{"stauts": 500}', "unknown key 'stauts'"),
    ('{"drop": "yes"}', "drop must be true or false, got 'yes'"),
    ('{"content": 5}', "content must be text, got 5"),
    ('{"usage": [1]}', "usage must be false or [prompt_tokens, completion_tokens], got [1]"),
    ('{"tool_calls": [{"arguments": {}}]}', "tool_calls must be a list of"),
])
def test_a_bad_script_entry_exits_2_with_one_line_naming_the_entry(
        tmp_path, capsys, entry: str, message: str) -> None:  # type: ignore[no-untyped-def]
    script = tmp_path / "answers.jsonl"
    script.write_text('# answers\n{"json": {"signals": []}}\n\n' + entry + "\n", encoding="utf-8")
    stop = threading.Timer(3, os.kill, (os.getpid(), signal.SIGTERM))  # ends a server that (wrongly) started
    stop.start()
    try:
        code = main(["llm-sandbox", "--script", str(script)])
    finally:
        stop.cancel()
    out, err = capsys.readouterr()
    assert code == 2
    assert err.startswith(f"trader-app: error: llm-sandbox: script {script}, line 4: ")
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "url=" not in out
