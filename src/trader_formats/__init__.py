"""File formats shared by the bot and the emulator, read and checked in one place (standard library only: the
emulator imports no other project package)."""
