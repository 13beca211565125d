"""Rendering a report: a JSON document, one self-contained offline HTML file (inline SVG, no script, no network)
and ``rich`` tables for the terminal. The numbers come from ``trader_core.analytics``; these modules only format."""

from __future__ import annotations

from trader_adapters.report.document import report_document
from trader_adapters.report.html import PricePoint, TradeMark, render_html
from trader_adapters.report.terminal import print_report

__all__ = ["PricePoint", "TradeMark", "print_report", "render_html", "report_document"]
