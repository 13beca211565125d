"""Simulated trading: default instrument rules, a candle-replay market and a paper venue."""

from trader_adapters.paper.instruments import default_rules
from trader_adapters.paper.replay import ReplayMarket
from trader_adapters.paper.venue import PaperExchange

__all__ = ["PaperExchange", "ReplayMarket", "default_rules"]
