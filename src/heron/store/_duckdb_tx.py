"""Ending a failed DuckDB transaction without hiding why it failed.

After some errors (a failed COMMIT, ENOSPC) DuckDB has already ended the
transaction, and ``ROLLBACK`` raises "no transaction is active": raised from an
``except`` block, that error replaced the real one and escaped the handlers
that expected a :class:`StoreError`. After a fatal error DuckDB invalidates the
database and refuses every statement until it is reopened; so does a closed connection.
"""

from __future__ import annotations

import duckdb

from heron.errors import StoreError, StoreUnusableError


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the failed statement ended the transaction already


def store_error(what: str, exc: BaseException) -> StoreError:
    """The StoreError for ``exc``: StoreUnusableError when the database must be reopened."""
    if isinstance(exc, (duckdb.FatalException, duckdb.ConnectionException)) or "invalidated" in str(exc):
        return StoreUnusableError(f"{what}: {exc}")
    return StoreError(f"{what}: {exc}")
