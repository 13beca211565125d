"""Gemini's REST API over the same emulated exchange: ``start_sandbox(venue="gemini")`` serves ``/v1/...`` as
Gemini does (payload-signed private POSTs, nonces, ``exchange limit`` and ``exchange stop limit`` orders with
``client_order_id`` and ``options``, commissions in the quote asset, ``{"result": "error", "reason": ...}``
errors) so that the real ``ccxt.gemini`` can drive it on loopback."""

from trader_sandbox.gemini.server import GeminiHandler

__all__ = ["GeminiHandler"]
