"""The terminal: progress bars on a terminal and plain lines elsewhere; tables on a terminal, aligned text in pipes."""

from __future__ import annotations

import io

from trader_app.terminal import JobProgress, key_value_table, rows_table, show


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_one_plain_line_per_tenth_in_the_jobs_own_unit() -> None:
    out = io.StringIO()
    progress = JobProgress("replay", 8_640, "candles", stream=out)
    for done in range(0, 8_641, 2):
        progress(done)
    progress.close()
    lines = out.getvalue().splitlines()
    assert len(lines) == 10
    assert lines[-1] == "replay 100%  8,640/8,640 candles"
    assert all(line.endswith(" candles") for line in lines)


def test_a_terminal_gets_a_bar_with_the_count_and_the_rate() -> None:
    out = _Terminal()
    progress = JobProgress("download", 1_000, "candles", stream=out)
    for done in range(1_001):
        progress(done)
    progress.close(1_000)
    text = out.getvalue()
    assert "download" in text
    assert "1000/1000" in text
    assert "candles/s" in text


def test_tables_are_drawn_on_a_terminal_and_plain_text_goes_to_a_pipe() -> None:
    table = rows_table([{"symbol": "BTC/USDT", "quantity": "0.5"}], ("symbol", "quantity"), title="positions")
    terminal, pipe = _Terminal(), io.StringIO()
    show([key_value_table({"bot": "default"}), table], "plain text\n", terminal)
    show([table], "plain text\n", pipe)
    assert "BTC/USDT" in terminal.getvalue()
    assert "positions" in terminal.getvalue()
    assert "─" in terminal.getvalue() or "━" in terminal.getvalue(), "a drawn table"
    assert pipe.getvalue() == "plain text\n"
