"""Test-wide settings: hypothesis profiles and the Decimal float trap the app also enables."""

from __future__ import annotations

import decimal
import os

from hypothesis import HealthCheck, settings

# CI: bounded, derandomized, no deadline (shared machines have noisy timing).
settings.register_profile(
    "ci", max_examples=60, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

decimal.getcontext().traps[decimal.FloatOperation] = True
