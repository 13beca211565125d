"""Settings: the only reader of the environment and config files.

Precedence: command-line flags > environment (``TRADER_`` prefix, ``__`` for nesting) > TOML file >
defaults. Validation lists every problem at once.
"""

from __future__ import annotations

from trader_app.settings.loading import config_file, load_settings
from trader_app.settings.values import DEFAULTS, Secret, Settings, redact_url

__all__ = ["DEFAULTS", "Secret", "Settings", "config_file", "load_settings", "redact_url"]
