"""Gemini's error payload: an HTTP status and ``{"result": "error", "reason": ..., "message": ...}``."""

from __future__ import annotations

from typing import Any

__all__ = ["GeminiError", "insufficient_funds", "invalid_symbol", "order_not_found"]


class GeminiError(Exception):
    """One refusal, as Gemini words it (the reasons are those of its published error table)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.status, self.reason, self.message = status, reason, message

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        return {"result": "error", "reason": self.reason, "message": self.message}


def invalid_symbol(symbol: object) -> GeminiError:
    """An unknown or missing symbol."""
    return GeminiError(400, "InvalidSymbol", f"Supplied value '{symbol}' is not a valid symbol")


def order_not_found(what: object) -> GeminiError:
    """No (open) order by that id."""
    return GeminiError(404, "OrderNotFound", f"Order {what} not found")


def insufficient_funds(asset: str) -> GeminiError:
    """The account cannot pay for the order."""
    return GeminiError(406, "InsufficientFunds", f"Failed to place order: insufficient {asset} funds")
