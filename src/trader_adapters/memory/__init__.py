"""In-memory adapters: the verified fakes the unit tests run the core against."""

from trader_adapters.memory.store import InMemoryDatabase, InMemoryStore

__all__ = ["InMemoryDatabase", "InMemoryStore"]
