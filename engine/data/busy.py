"""The error a store raises when another process keeps it locked past the wait allowed (both
backends: a DuckDB file's write lock, a PostgreSQL store's locks); engine.data.store re-exports it."""

from __future__ import annotations

from engine.errors import FlopwiseError


class StoreBusyError(FlopwiseError, RuntimeError):
    """The store stayed locked by another process for longer than the wait allowed."""

    def __init__(self, message: str, holder: str = "another process") -> None:
        super().__init__(message)
        self.holder = holder
