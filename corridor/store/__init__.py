"""The store: tables, migrations, sessions and the queries every layer uses."""

from corridor.store.db import Store

__all__ = ["Store"]
