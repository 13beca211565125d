"""Candle feeds for replay: CSV files and a seeded synthetic generator."""

from trader_adapters.feeds.csv_feed import CSV_HEADER, load_candles_csv
from trader_adapters.feeds.synthetic import generate_candles

__all__ = ["CSV_HEADER", "generate_candles", "load_candles_csv"]
