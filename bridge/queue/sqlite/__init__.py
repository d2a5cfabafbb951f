"""The embedded queue: SQLite in WAL mode, group commit, per-thread connections."""
