"""A Binance-spot-compatible exchange emulator for loopback tests (an independent program)."""
