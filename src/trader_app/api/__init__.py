"""``trader-app serve``: a REST API and a web dashboard over the store the bots write (docs/api.md)."""

from trader_app.api.app import create_app
from trader_app.api.sources import LlmSource, ReportSource, UnavailableLlm, UnavailableReport

__all__ = ["LlmSource", "ReportSource", "UnavailableLlm", "UnavailableReport", "create_app"]
