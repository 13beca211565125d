"""ResyncService: fills and order states from the venue; start-up reconciliation as a gate."""

from __future__ import annotations

from trader_core.resync.reconcile import (
    ReconciliationReport,
    StartupReconciler,
)
from trader_core.resync.service import (
    ResyncService,
    SyncPolicy,
)

__all__ = [
    "ReconciliationReport",
    "ResyncService",
    "StartupReconciler",
    "SyncPolicy",
]
