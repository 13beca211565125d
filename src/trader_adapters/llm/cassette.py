"""Cassettes: every exchange with the model recorded as JSON lines, keyed by a hash of model and request.

Modes: ``record`` calls the model and appends each exchange; ``replay`` answers from the cassette only (a miss
is ``CassetteMissError``: the run stops, exit 2, naming the market time); ``auto`` answers from the cassette and
calls the model (recording the exchange) on a miss. A replayed reply says so (``replayed``): its cost is
reported, never charged again. Each line: ``{"key": ..., "request": ..., "reply": ...}``, or ``"error"`` (the
reason) in place of ``reply`` for a call that failed: a replay fails it again, so the run takes the same path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from trader_adapters.llm.chat import ChatFailedError, ChatModel, ChatReply, ChatRequest
from trader_core.model import ConfigError

__all__ = ["MODES", "Cassette", "CassetteMissError"]

MODES = ("record", "replay", "auto")


class CassetteMissError(Exception):
    """Replay mode and no recorded exchange for this request."""


class Cassette:
    """A ``ChatModel`` in front of another (``model``; None in replay mode) that records and replays."""

    def __init__(self, path: Path, mode: str, model: ChatModel | None) -> None:
        if mode not in MODES:
            raise ConfigError(f"llm cassette mode {mode!r}: use one of {', '.join(MODES)}")
        self.path, self.mode, self._model = path, mode, model
        self._replies: dict[str, list[ChatReply | ChatFailedError]] = {}
        self._out: IO[str] | None = None
        self.replayed = 0
        self.recorded = 0
        if mode != "record":
            self._load()
        elif self.path.exists():
            self._refuse_other_file()

    def _refuse_other_file(self) -> None:
        """Record mode writes the cassette anew: an existing file is replaced only when it is a cassette (every
        line a recorded exchange), never a candle CSV, a database or any other file named by mistake."""
        try:
            self._load()
        except ConfigError as exc:
            raise ConfigError(f"{exc}; record mode would write over it: choose another file") from exc
        self._replies.clear()

    def _load(self) -> None:
        if not self.path.exists():
            if self.mode == "replay":
                raise ConfigError(f"llm cassette {self.path} not found (replay mode needs a recorded cassette)")
            return
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"llm cassette {self.path}: {exc}") from exc
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                answer = _failure(entry["error"]) if "error" in entry else ChatReply.from_json(entry["reply"])
                self._replies.setdefault(str(entry["key"]), []).append(answer)
            except (ValueError, KeyError, TypeError, IndexError) as exc:
                raise ConfigError(f"llm cassette {self.path}, line {number}: not a recorded exchange "
                                  f"({type(exc).__name__})") from exc

    def lookup(self, request: ChatRequest) -> ChatReply | ChatFailedError | None:
        """The recorded reply to ``request`` (the same request again: the next recorded one), or None."""
        recorded = self._replies.get(request.key())
        if not recorded:
            return None
        return recorded.pop(0) if len(recorded) > 1 else recorded[0]

    async def complete(self, request: ChatRequest) -> ChatReply:
        """The recorded reply (replay, auto), or the model's, recorded (record, auto)."""
        return (await self.exchange(request))[0]

    async def exchange(self, request: ChatRequest) -> tuple[ChatReply, bool]:
        """The reply and whether it was replayed from the cassette."""
        if self.mode != "record":
            recorded = self.lookup(request)
            if recorded is not None:
                self.replayed += 1
                if isinstance(recorded, ChatFailedError):
                    raise recorded
                return recorded, True
            if self.mode == "replay":
                raise CassetteMissError(f"no recorded exchange in {self.path}")
        assert self._model is not None
        try:
            reply = await self._model.complete(request)
        except ChatFailedError as exc:
            self._append(request, exc)
            raise
        self._append(request, reply)
        return reply, False

    def _append(self, request: ChatRequest, reply: ChatReply | ChatFailedError) -> None:
        if self._out is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._out = self.path.open("w" if self.mode == "record" else "a", encoding="utf-8")
        entry: dict[str, object] = {"key": request.key(), "request": request.as_json()}
        if isinstance(reply, ChatFailedError):
            error: dict[str, object] = {"reason": reply.reason, "kind": type(reply).__name__}
            if reply.retry_after_s is not None:  # it moved the next decision: a replay must move it too
                error["retry_after_s"] = reply.retry_after_s
            entry["error"] = error
        else:
            entry["reply"] = reply.as_json()
        self._out.write(json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n")
        self._out.flush()
        self.recorded += 1

    def close(self) -> None:
        """Close the file being written."""
        if self._out is not None:
            self._out.close()
            self._out = None


def _failure(error: dict[str, Any]) -> ChatFailedError:
    """A recorded failure, as the same kind of error (a refused response_format stays one) with the server's
    Retry-After when it sent one."""
    from trader_adapters.llm.openai_chat import FormatRefusedError

    kind = FormatRefusedError if error.get("kind") == "FormatRefusedError" else ChatFailedError
    wait = error.get("retry_after_s")
    return kind(str(error["reason"]), float(wait) if isinstance(wait, int | float) else None)
