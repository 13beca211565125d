"""The OpenAPI 3.1 schema of the API, written out by hand (served at ``/openapi.json``; a copy is checked in
as ``docs/openapi.json`` and a test keeps it current)."""

from __future__ import annotations

from typing import Any

__all__ = ["openapi_schema"]

_BOT = {"name": "bot", "in": "path", "required": True, "schema": {"type": "string"}}
_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _query(name: str, kind: str, text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": {"type": kind}, "description": text}


def _get(summary: str, *params: dict[str, Any]) -> dict[str, Any]:
    return {"get": {"summary": summary, "parameters": [_BOT, *params],
                    "responses": {"200": {"description": "JSON"}, "404": _ERROR, "400": _ERROR}}}


def openapi_schema() -> dict[str, Any]:
    """The schema as a JSON-ready dict."""
    b = "/api/v1/bots/{bot}"
    limit = _query("limit", "integer", "page size")
    run = _query("run", "string", "run id (default: the latest run)")
    start = _query("start", "string", "ISO-8601 time with a timezone, inclusive")
    end = _query("end", "string", "ISO-8601 time with a timezone, exclusive")
    return {
        "openapi": "3.1.0",
        "info": {"title": "trader-core API", "version": "1"},
        "components": {
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}},
                                  "required": ["error"]}},
            "securitySchemes": {"token": {"type": "apiKey", "in": "header", "name": "X-Trader-Token"}},
        },
        "paths": {
            "/api/v1/bots": {"get": {"summary": "bot ids in the database",
                                     "responses": {"200": {"description": "JSON"}}}},
            b + "/status": _get("trading state, loop, circuits, positions, plans, orders, PnL, llm_budget"),
            b + "/positions": _get("positions with unrealized PnL at the last prices"),
            b + "/plans": _get("open plans with their protective orders"),
            b + "/orders": _get("open orders"),
            b + "/trades": _get("round trips, paged and filtered", run, start, end,
                                _query("symbol", "string", "e.g. BTC/USDT"),
                                _query("offset", "integer", "rows to skip"), limit),
            b + "/equity": _get("cumulative realized PnL and drawdown after each round trip", run),
            b + "/metrics": _get("the report's metrics (404 while not available)", run, start, end),
            b + "/llm/calls": _get("LLM calls: prompt summary, answer, cost, outcome", limit),
            b + "/llm/calls/{call_id}": _get("one LLM call's trace",
                                             {"name": "call_id", "in": "path", "required": True,
                                              "schema": {"type": "string"}}),
            b + "/commands": _get("the command queue and its audit log, newest first", limit),
            b + "/commands/{command_id}": _get("one command with its status and result",
                                               {"name": "command_id", "in": "path", "required": True,
                                                "schema": {"type": "string"}}),
            b + "/commands/{name}": {"post": {
                "summary": "queue pause, resume, halt, stop, close-all, cancel-all or accept-reconciliation",
                "security": [{"token": []}],
                "parameters": [_BOT, {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                               _query("wait", "integer", "seconds (1-60) to wait for the bot's result")],
                "requestBody": {"required": False, "content": {"application/json": {"schema": {
                    "type": "object",
                    "properties": {"minutes": {"type": "integer", "minimum": 1, "maximum": 525600}}}}}},
                "responses": {"200": {"description": "the queued command"}, "400": _ERROR, "401": _ERROR,
                              "404": _ERROR, "409": _ERROR}}},
        },
    }
