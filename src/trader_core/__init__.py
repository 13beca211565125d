"""trader-core: the pure trading core (model, ports, domain services).

Depends on the standard library and attrs only; adapters live in ``trader_adapters``.
"""
