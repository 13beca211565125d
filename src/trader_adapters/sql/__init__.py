"""SQL persistence (SQLite or PostgreSQL through SQLAlchemy 2): the ``Store`` port and its migrations.

Import from the submodules: ``store.SqlStore`` and ``migrate.upgrade_to_head`` and friends.
"""
