"""A worker process for the multi-bot tests: books fills the way the app does, racing another process.

    python -m tests.store.concurrent_writer URL BOT WORKER N

Opens the store, prints ``ready``, waits for a line on stdin (so both workers start together), then
books N fills. Each booking is one unit of work, like the app's: read the plan and the order, add the
fill, bump the shared sequence, update the order and move the plan to its next version, commit. A
version conflict (another process moved the plan first) rolls the whole unit back and it is retried
from fresh reads. Prints one JSON line: the sequence values and plan versions it committed, its retries.
"""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal

import attrs

from tests.store.records import ORDER_ID, PLAN_ID, T0, a_fill, run_of
from trader_adapters.sql.store import SqlStore
from trader_core.model.errors import StoreError
from trader_core.model.ids import BotId
from trader_core.model.money import Quantity

MAX_ATTEMPTS = 500
STEP = Decimal("0.001")


def book(store: SqlStore, bot: str, trade_id: str, number: int) -> tuple[int, int]:
    """One booking; returns the sequence value and the plan version it committed."""
    with store.unit_of_work() as uow:
        # Read first, write later: another process may commit in between, which is the race under test.
        plan = uow.plans.find(PLAN_ID)
        order = uow.orders.find(ORDER_ID)
        if plan is None or order is None:
            raise SystemExit(f"bot {bot}: the seeded plan or order is missing")
        if plan.run_id != run_of(bot) or order.run_id != run_of(bot):
            raise SystemExit(f"bot {bot} sees a row of another bot: {plan.run_id} / {order.run_id}")
        if not uow.fills.add(a_fill(bot, trade_id, number)):
            raise SystemExit(f"bot {bot}: fill {trade_id} was booked twice")
        value = uow.sequences.next("bookings")
        uow.orders.update(attrs.evolve(
            order, filled_quantity=Quantity(order.filled_quantity.value + STEP), updated_at=T0,
        ))
        version = plan.version + 1
        uow.plans.update(attrs.evolve(plan, version=version, reason=trade_id))
        uow.commit()
    return value, version


def main(argv: list[str]) -> int:
    """Run the worker; see the module docstring."""
    url, bot, worker, count = argv[0], argv[1], argv[2], int(argv[3])
    store = SqlStore.open(url, BotId(bot))
    values: list[int] = []
    versions: list[int] = []
    retries = 0
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.time()
    try:
        for number in range(count):
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    value, version = book(store, bot, f"{worker}-{number}", number)
                except StoreError:
                    if attempt == MAX_ATTEMPTS:
                        raise
                    retries += 1
                    continue
                values.append(value)
                versions.append(version)
                break
    finally:
        store.close()
    print(json.dumps({"worker": worker, "values": values, "versions": versions, "retries": retries,
                      "started": started, "finished": time.time()}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
