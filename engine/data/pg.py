"""The run store on a PostgreSQL server (psycopg 3): what engine.data.store needs of a connection.

``FLOPWISE_DB=postgresql://user@host:port/database`` (or ``--db`` on the CLI) puts the store on a
server that several app servers and any number of CLI ingests share; the embedded DuckDB file stays
the default. The schema, its migrations and every query live in :mod:`engine.data.store` (and
:mod:`engine.data.scenarios`), written once with ``?`` parameters; this module holds what differs:

- :class:`PgConnection`, the part of DuckDB's connection API the store uses (``execute`` returning
  itself, ``fetchone``, ``fetchall``, ``df``, ``arrow``, ``cursor``, ``close``), on a psycopg
  connection in autocommit mode, so that the store's own ``BEGIN TRANSACTION`` / ``COMMIT`` /
  ``ROLLBACK`` delimit its transactions exactly as on DuckDB;
- :func:`ddl`, the schema's DuckDB types and checks in PostgreSQL's spelling (``DOUBLE`` is ``DOUBLE
  PRECISION``, ``BLOB`` is ``BYTEA``, ``isfinite(x)`` is ``x`` not ±Infinity and not NaN);
- :func:`copy_rows`, bulk inserts through ``COPY … FROM STDIN`` (CSV written by pyarrow, doubles in
  their shortest round-trip form), so a million-row upload is one stream, not a million statements;
- :class:`Backend`, a store's connections: a small pool for units of work, one connection per thread
  for :meth:`engine.data.store.Store.cursor`, a session-level advisory lock (``pg_advisory_lock``) under
  which the migrations and the published data run once per store, and the store's version stamp.

Analytics stay in DuckDB and numpy: query results come back as pandas (through Arrow and DuckDB, so
their dtypes are DuckDB's) and aggregates over a selection run in an in-memory DuckDB; both in
engine.data.store, the only module that imports duckdb.

psycopg is imported when a PostgreSQL store is first opened, never for a DuckDB file.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
import pyarrow as pa

from engine.errors import FlopwiseError

if TYPE_CHECKING:
    import psycopg

URL_SCHEMES = ("postgresql", "postgres")
LOCK_KEY = 0x464C4F5077697365  # 'FLOPwise' as a 64-bit integer: the store's advisory lock
POOL_SIZE = 8
"""Idle connections a store keeps for its units of work (more may be open at once; the rest close)."""
COPY_BATCH_ROWS = 100_000
INDEXES = "CREATE INDEX IF NOT EXISTS runs_sample ON runs (hashtext(run_id), run_id)"
"""PostgreSQL only: the order of engine.data.store.sample_runs (DuckDB orders by a hash of a row's
table and rowid, which PostgreSQL has not), so that a page's fixed sample of 10^6 runs reads 2,000
index entries instead of sorting every row (35 ms instead of 560 ms here; it adds about half to a
10^6-row COPY)."""
ANALYZE_ROWS = 10_000
"""An upload of at least this many rows refreshes the planner's statistics of ``runs`` at once
(ANALYZE, 0.2 s at 10^6 runs) rather than when autovacuum gets to it."""


ToFrame = Callable[[pa.Table], pd.DataFrame]
"""How a result's Arrow table becomes pandas (engine.data.store passes DuckDB's conversion)."""


class ConstraintError(FlopwiseError, RuntimeError):
    """A row the schema refuses (a check, a unique key): PostgreSQL's integrity errors, named as the
    store names DuckDB's ``ConstraintException``."""


class ConflictError(FlopwiseError, RuntimeError):
    """A transaction PostgreSQL aborted for another one (serialization failure, deadlock): retry it."""


class UnreachableError(FlopwiseError, RuntimeError):
    """The PostgreSQL server could not be reached or refused the connection; the message says which."""


def is_url(location: object) -> bool:
    """Whether ``location`` is a PostgreSQL URL (``postgresql://…`` or ``postgres://…``)."""
    return (
        isinstance(location, str) and location.split("://", 1)[0].lower() in URL_SCHEMES and "://" in location
    )


def redact(url: str) -> str:
    """The URL without its password, for messages and the CLI's output."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit(parts._replace(netloc=f"{user}@{netloc[-1]}"))


_DDL_RULES = (
    (re.compile(r"isfinite\((\w+)\)"), r"(\1 <> 'Infinity' AND \1 <> '-Infinity' AND \1 <> 'NaN')"),
    (re.compile(r"\bDOUBLE\b(?! PRECISION)"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
)


def ddl(sql: str) -> str:
    """DuckDB's DDL of the store in PostgreSQL's spelling: the same tables, columns and checks.
    (PostgreSQL sorts NaN above every number, so ``x > 0`` alone would let it in; the rewritten
    ``isfinite`` refuses it, as DuckDB's does.)"""
    for pattern, replacement in _DDL_RULES:
        sql = pattern.sub(replacement, sql)
    return sql


def _placeholders(sql: str) -> str:
    """``?`` parameters as psycopg's ``%s`` (a literal ``%`` doubled). The store's SQL holds no ``?``
    inside string literals; values always travel as parameters."""
    return sql.replace("%", "%%").replace("?", "%s")


# PostgreSQL type oids -> Arrow types, for results read back as Arrow (and then pandas through DuckDB).
_ARROW_TYPES = {
    16: pa.bool_(),
    17: pa.binary(),
    20: pa.int64(),
    21: pa.int16(),
    23: pa.int32(),
    25: pa.string(),
    700: pa.float32(),
    701: pa.float64(),
    1043: pa.string(),
    1114: pa.timestamp("us"),
    1700: pa.float64(),
    1009: pa.list_(pa.string()),
    1015: pa.list_(pa.string()),
}


def _translate_errors(exc: Exception) -> Exception:
    import psycopg

    if isinstance(exc, psycopg.errors.IntegrityError):
        return ConstraintError(str(exc).strip())
    if isinstance(exc, (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)):
        return ConflictError(str(exc).strip())
    if isinstance(exc, (psycopg.errors.LockNotAvailable, psycopg.errors.QueryCanceled)):
        from engine.data.busy import StoreBusyError

        return StoreBusyError(
            "The run store on PostgreSQL stayed locked by another writer for longer than the wait allowed; "
            f"nothing was written. Try again when it has finished. ({str(exc).strip()})",
            "another writer",
        )
    return exc


class PgConnection:
    """A psycopg connection with the part of DuckDB's connection API the store uses.

    ``execute(sql, params)`` takes the store's ``?`` parameters and returns the connection itself, whose
    ``fetchone`` / ``fetchall`` / ``df`` / ``arrow`` read that statement's result. Autocommit is on: a
    statement outside ``BEGIN TRANSACTION`` … ``COMMIT`` commits by itself, as on DuckDB. ``cursor()``
    is the connection itself (a psycopg cursor shares its connection's transaction); threads each get
    their own connection from :meth:`Backend.thread_connection`."""

    dialect = "postgresql"

    def __init__(self, raw: psycopg.Connection, to_frame: ToFrame | None = None) -> None:
        self.raw = raw
        self.to_frame = to_frame
        self._cursor: psycopg.Cursor | None = None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> PgConnection:
        cursor = self.raw.cursor()
        try:
            if params is None:
                cursor.execute(sql)  # no parameters: several statements may run at once (the schema)
            else:
                cursor.execute(_placeholders(sql), list(params))
        except Exception as exc:
            cursor.close()
            translated = _translate_errors(exc)
            if translated is exc:
                raise
            raise translated from exc
        if self._cursor is not None:
            self._cursor.close()
        self._cursor = cursor
        return self

    def _result(self) -> psycopg.Cursor:
        if self._cursor is None:
            raise RuntimeError("no statement has been executed on this connection")
        return self._cursor

    def fetchone(self) -> tuple | None:
        return self._result().fetchone()

    def fetchall(self) -> list[tuple]:
        return self._result().fetchall()

    def arrow(self) -> pa.Table:
        """The result as an Arrow table, each column typed from PostgreSQL's type."""
        cursor = self._result()
        description = cursor.description or []
        rows = cursor.fetchall()
        columns = list(zip(*rows)) if rows else [() for _ in description]
        arrays, names = [], []
        for column, values in zip(description, columns):
            kind = _ARROW_TYPES.get(column.type_code)
            arrays.append(pa.array(list(values), type=kind))
            names.append(column.name)
        return pa.Table.from_arrays(arrays, names=names)

    def df(self) -> pd.DataFrame:
        """The result as pandas: through ``to_frame`` (the store passes DuckDB's conversion, so the
        dtypes are those DuckDB's ``.df()`` gives the same columns), else pyarrow's."""
        table = self.arrow()
        return self.to_frame(table) if self.to_frame is not None else table.to_pandas()

    def cursor(self) -> PgConnection:
        return self

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()
            self._cursor = None
        self.raw.close()


def copy_rows(con: PgConnection, table: str, frame: pd.DataFrame | pa.Table) -> int:
    """Insert every row of ``frame`` into ``table`` (its columns by name) through one ``COPY … FROM
    STDIN`` in CSV; NULLs travel as empty fields, text always quoted (so an empty string stays one).
    Runs inside the caller's transaction, if any; returns the rows sent."""
    data = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    if data.num_rows == 0:
        return 0
    import pyarrow.csv as pacsv

    columns = ", ".join(f'"{c}"' for c in data.column_names)
    options = pacsv.WriteOptions(include_header=False)
    try:
        with (
            con.raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy,
        ):
            for start in range(0, data.num_rows, COPY_BATCH_ROWS):
                buffer = io.BytesIO()
                pacsv.write_csv(data.slice(start, COPY_BATCH_ROWS), buffer, options)
                copy.write(buffer.getvalue())
    except Exception as exc:
        translated = _translate_errors(exc)
        if translated is exc:
            raise
        raise translated from exc
    return data.num_rows


def connect(url: str, *, wait_s: float, to_frame: ToFrame | None = None) -> PgConnection:
    """A new autocommit connection; statements that wait for another writer's lock give up after
    ``wait_s`` seconds (``lock_timeout``), connecting after at most 10 s. UnreachableError names the
    server (its password left out) and PostgreSQL's reason."""
    import psycopg

    try:
        raw = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise UnreachableError(f"cannot open the run store at {redact(url)}: {str(exc).strip()}") from None
    lock_ms = max(int(wait_s * 1000), 1)  # 0 would mean "wait for ever"
    raw.execute(f"SET lock_timeout = {lock_ms}")
    raw.execute("SET TIME ZONE 'UTC'")
    return PgConnection(raw, to_frame)


class Backend:
    """One PostgreSQL store's connections: the pool, one per thread for ``Store.cursor()``, the
    advisory lock, the version stamp."""

    def __init__(self, url: str, *, wait_s: float, to_frame: ToFrame | None = None) -> None:
        self.url = url
        self.wait_s = wait_s
        self.to_frame = to_frame
        self._idle: list[PgConnection] = []
        self._lock = threading.Lock()
        self._threads = threading.local()
        self._opened: list[PgConnection] = []  # the per-thread ones, closed by close()
        self._stamp_con: PgConnection | None = None
        self._stamp_lock = threading.Lock()

    @contextlib.contextmanager
    def unit(self, wait_s: float | None = None) -> Iterator[PgConnection]:
        """A pooled connection for one unit of work; back to the pool after it (rolled back first if
        a transaction was left open; closed if broken)."""
        with self._lock:
            con = self._idle.pop() if self._idle else None
        if con is None or con.raw.closed:
            con = connect(self.url, wait_s=self.wait_s, to_frame=self.to_frame)
        if wait_s is not None and wait_s != self.wait_s:
            con.raw.execute(f"SET lock_timeout = {max(int(wait_s * 1000), 1)}")
        try:
            yield con
        finally:
            self._release(con, reset=wait_s is not None and wait_s != self.wait_s)

    def _release(self, con: PgConnection, *, reset: bool) -> None:
        import psycopg

        try:
            if con.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                con.raw.rollback()
            if reset:
                con.raw.execute(f"SET lock_timeout = {max(int(self.wait_s * 1000), 1)}")
        except psycopg.Error:
            con.close()
            return
        with self._lock:
            if len(self._idle) < POOL_SIZE and not con.raw.closed:
                self._idle.append(con)
                return
        con.close()

    def thread_connection(self) -> PgConnection:
        """This thread's connection, kept until :meth:`close` (``Store.cursor()``)."""
        con: PgConnection | None = getattr(self._threads, "con", None)
        if con is None or con.raw.closed:
            con = connect(self.url, wait_s=self.wait_s, to_frame=self.to_frame)
            self._threads.con = con
            with self._lock:
                self._opened.append(con)
        return con

    @contextlib.contextmanager
    def exclusive(self, on_wait: Callable[[float, str], None] | None = None) -> Iterator[None]:
        """Hold the store's advisory lock (one holder at a time across every process and machine that
        uses this database): the migrations and the published data's load run under it, once.
        While another process holds it this retries ``pg_try_advisory_lock`` with a growing pause,
        calling ``on_wait(seconds_waited, message)`` about every half second, and after ``wait_s``
        raises StoreBusyError, as a DuckDB file's lock does."""
        from engine.data.busy import StoreBusyError

        con = connect(self.url, wait_s=self.wait_s, to_frame=self.to_frame)
        try:
            start = time.monotonic()
            pause, last_note = 0.01, -1.0
            while not (con.execute("SELECT pg_try_advisory_lock(?)", [LOCK_KEY]).fetchone() or (False,))[0]:
                waited = time.monotonic() - start
                if waited >= self.wait_s:
                    raise StoreBusyError(
                        f"The run store {redact(self.url)} is being set up by another process (its "
                        f"migrations or published data) and stayed locked for {self.wait_s:g} s; nothing was "
                        "read or written. Try again when it has finished.",
                        "another process",
                    )
                if on_wait is not None and waited - last_note >= 0.5:
                    on_wait(waited, "Waiting for the run store: another process is setting it up")
                    last_note = waited
                time.sleep(min(pause, max(self.wait_s - waited, 0.0)))
                pause = min(pause * 1.5, 0.25)
            yield
            con.execute("SELECT pg_advisory_unlock(?)", [LOCK_KEY])
        finally:
            con.close()  # closing releases a session-level advisory lock in any case

    def stamp(self) -> tuple:
        """Changes whenever a transaction ends on the server (commits or rolls back): its current
        snapshot, ``pg_current_snapshot()`` (xmin, xmax, the transactions in progress below xmax).
        Equal snapshots see the same committed transactions, so an unchanged stamp means unchanged
        data; a write in progress does not move it (nothing new to see yet), a commit in another
        database of the server does (one needless re-read, never a stale one)."""
        with self._stamp_lock:
            for attempt in range(2):
                try:
                    if self._stamp_con is None or self._stamp_con.raw.closed:
                        self._stamp_con = connect(self.url, wait_s=self.wait_s, to_frame=self.to_frame)
                    row = self._stamp_con.execute("SELECT pg_current_snapshot()::text").fetchone()
                    return ("postgresql", row[0] if row else None)
                except Exception:
                    if self._stamp_con is not None:
                        with contextlib.suppress(Exception):
                            self._stamp_con.close()
                    self._stamp_con = None
                    if attempt:
                        raise
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        with self._lock:
            connections, self._idle, self._opened = [*self._idle, *self._opened], [], []
        if self._stamp_con is not None:
            connections.append(self._stamp_con)
            self._stamp_con = None
        self._threads = threading.local()
        for con in connections:
            with contextlib.suppress(Exception):
                con.close()
