"""The run store: schema, loading the published data, and queries.

The only module that imports duckdb. Writes happen in one transaction each: an upload is
stored whole or not at all. Every query reads the runs from ``runs``: on PostgreSQL a table, on
DuckDB a view over two tables, so that a plain sweep of 10^6 runs costs a few columns per row to
store, not all 27 (RUNS_TABLES); a large upload keeps its original bytes compressed (PACK_ABOVE).

Database: ``$FLOPWISE_DB`` if set, else ``data/flopwise.duckdb`` in the repository. A
``postgresql://user@host:port/database`` URL there (or passed as the path) puts the store on a
PostgreSQL server instead, shared by several app servers and CLI ingests on several machines
(:mod:`engine.data.pg`): the same schema, migrations and queries (the few that differ branch on
``_is_pg``), analytics still in DuckDB.

Several processes share one file (the app, CLI ingests): DuckDB lets one process at a time hold
it open, so the app opens it per unit of work (:meth:`Store.connect`) and every open waits,
bounded, while another process holds it (:func:`connect`, :class:`StoreBusyError`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeGuard, cast
from urllib.parse import urlsplit

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from engine.cost.hardware import Device, HardwareError, device_from_row, load_catalog
from engine.data import blocks, busy, pg, published
from engine.data.ingest import IngestError, IngestReport, read_upload, sha256_of
from engine.data.packing import PACK_ABOVE as PACK_ABOVE  # re-exported: what the store packs
from engine.data.packing import Packing, pack_bytes, unpack_bytes
from engine.data.runs import NOT_GIVEN, USER_SOURCE, RunFilter
from engine.data.schema import RUN_COLUMNS
from engine.paths import DATASETS_DIR, REPO_ROOT

DEFAULT_DB_PATH = REPO_ROOT / "data" / "flopwise.duckdb"
DB_ENV_VAR = "FLOPWISE_DB"


Connection = duckdb.DuckDBPyConnection
"""What a unit of work on the store is handed (the UI names it without importing duckdb). On a
PostgreSQL store it is an engine.data.pg.PgConnection, which has the part of this API the store's
functions use (execute returning itself, fetchone, fetchall, df, cursor, close)."""

SCHEMA_VERSION = 5
SCENARIOS_TABLE = """
CREATE TABLE IF NOT EXISTS scenarios (
    scenario_id VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL UNIQUE,
    author      VARCHAR NOT NULL,
    note        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    record      VARCHAR NOT NULL  -- JSON: inputs, law, device, results (engine.analysis.scenarios)
);
"""
# The columns of a run after run_id, with their checks: PostgreSQL's runs table and DuckDB's runs_full.
RUN_COLUMNS_DDL = """
    upload_id           VARCHAR NOT NULL,
    source              VARCHAR NOT NULL,
    model_name          VARCHAR,
    n_params            DOUBLE CHECK (n_params > 0 AND isfinite(n_params)),
    n_params_convention VARCHAR CHECK (n_params_convention IN ('total', 'non_embedding', 'active')),
    n_tokens            DOUBLE CHECK (n_tokens > 0 AND isfinite(n_tokens)),
    unique_tokens       DOUBLE CHECK (unique_tokens > 0 AND isfinite(unique_tokens)),
    flops               DOUBLE CHECK (flops > 0 AND isfinite(flops)),
    derived_field       VARCHAR CHECK (derived_field IN ('n_params', 'n_tokens', 'flops')),
    loss                DOUBLE CHECK (loss > 0 AND isfinite(loss)),
    loss_eval_set       VARCHAR,
    precision           VARCHAR,
    n_experts           INTEGER CHECK (n_experts >= 1),
    top_k               INTEGER CHECK (top_k >= 1),
    granularity         DOUBLE CHECK (granularity > 0),
    hardware            VARCHAR,
    domain              VARCHAR,
    frontier            BOOLEAN,
    notes               VARCHAR,
    learning_rate       DOUBLE CHECK (learning_rate > 0 AND isfinite(learning_rate)),  -- peak
    batch_size          DOUBLE CHECK (batch_size > 0 AND isfinite(batch_size)),
    batch_size_unit     VARCHAR CHECK (batch_size_unit IN ('tokens', 'sequences')),
    warmup_steps        DOUBLE CHECK (warmup_steps >= 0),
    lr_schedule         VARCHAR,
    loss_smoothed       DOUBLE CHECK (loss_smoothed > 0 AND isfinite(loss_smoothed)),
    n_params_active     DOUBLE CHECK (n_params_active > 0 AND isfinite(n_params_active))
"""
_RUN_TYPES = {
    "run_id": "VARCHAR",
    **{line.split()[0]: line.split()[1].rstrip(",") for line in RUN_COLUMNS_DDL.strip().splitlines()},
}
assert tuple(_RUN_TYPES) == RUN_COLUMNS, "RUN_COLUMNS_DDL lists engine.data.schema.RUN_COLUMNS in order"

# DuckDB keeps runs in two tables behind one view (schema v5; PostgreSQL keeps one runs table):
# - runs_full has every run column: the published data, runs migrated from older versions, and the
#   uploads that fill any column beyond LEAN_COLUMNS (hyperparameters, MoE shape, notes, ...);
# - runs_lean has one row of LEAN_COLUMNS per run of every other upload: the plain L(N, D) sweeps,
#   however long. Its labels are one-byte codes and its run id is made from (upload_id, row), so a
#   row costs DuckDB 10 columns to write instead of 27: every column costs per row, NULL or not
#   (10^6 runs: 0.25 s against 1.5 s without the key, 2.6 s with it; issue 12 point 7). The view
#   reads the other 17 as NULL constants, for nothing.
# - runs (the view) is their union with the same 27 columns, types and values either way; every
#   query reads it. Neither table has a primary key: a run id is unique by construction, since
#   upload ids are (the uploads table's key, taken in the same transaction as the runs) and an
#   upload's row numbers are (checked by store_upload); the key's index was a third of the insert
#   and most of its memory. Both tables keep the checks (nothing out of range is stored either way).
LEAN_COLUMNS = (
    "model_name",
    "n_params",
    "n_params_convention",
    "n_tokens",
    "flops",
    "derived_field",
    "loss",
    "loss_eval_set",
)
"""The run columns a user upload may fill and still be kept in DuckDB's runs_lean."""
CONVENTION_CODES = ("total", "non_embedding", "active")  # runs_lean.convention indexes these
DERIVED_CODES = ("n_params", "n_tokens", "flops")  # runs_lean.derived indexes these
RUN_ID_DIGITS = 7  # an upload's run id: upload_id:row, the row zero-padded to 7 digits (more if it has more)


def _sql_list(words: Iterable[str]) -> str:
    return "[" + ", ".join(f"'{w}'" for w in words) + "]"


def _padded_row(column: str) -> str:
    """SQL of a row number zero-padded to RUN_ID_DIGITS (lpad alone would cut a longer one short)."""
    width = RUN_ID_DIGITS
    return (
        f"CASE WHEN {column} < {10**width} THEN lpad(CAST({column} AS VARCHAR), {width}, '0') "
        f"ELSE CAST({column} AS VARCHAR) END"
    )


RUNS_LEAN_TABLE = f"""
CREATE TABLE IF NOT EXISTS runs_lean (
    upload_id     VARCHAR NOT NULL,
    "row"         INTEGER NOT NULL CHECK ("row" >= 1),  -- the file's data row; run_id is upload_id:row
    model_name    VARCHAR,
    n_params      DOUBLE CHECK (n_params > 0 AND isfinite(n_params)),
    convention    UTINYINT NOT NULL CHECK (convention < {len(CONVENTION_CODES)}),  -- n_params_convention
    n_tokens      DOUBLE CHECK (n_tokens > 0 AND isfinite(n_tokens)),
    flops         DOUBLE CHECK (flops > 0 AND isfinite(flops)),
    derived       UTINYINT CHECK (derived < {len(DERIVED_CODES)}),  -- derived_field
    loss          DOUBLE CHECK (loss > 0 AND isfinite(loss)),
    loss_eval_set VARCHAR
);
"""
_LEAN_TABLE_COLUMNS = (
    "upload_id",
    "row",
    "model_name",
    "n_params",
    "convention",
    "n_tokens",
    "flops",
    "derived",
    "loss",
    "loss_eval_set",
)  # runs_lean's, in order
_LEAN_AS_RUN = {
    "run_id": "upload_id || ':' || " + _padded_row('"row"'),
    "source": f"'{USER_SOURCE}'",
    "n_params_convention": f"{_sql_list(CONVENTION_CODES)}[convention + 1]",
    "derived_field": f"{_sql_list(DERIVED_CODES)}[derived + 1]",
}


def _lean_column(column: str) -> str:
    """SQL of one run column read from runs_lean."""
    if column in _LEAN_AS_RUN:
        return f"{_LEAN_AS_RUN[column]} AS {column}"
    if column == "upload_id" or column in LEAN_COLUMNS:
        return column
    return f"CAST(NULL AS {_RUN_TYPES[column]}) AS {column}"


LEAN_SELECT = ", ".join(map(_lean_column, RUN_COLUMNS))
"""runs_lean's rows as run columns (the view's second half; sample_runs reads it too)."""
RUNS_VIEW = (
    f"CREATE VIEW IF NOT EXISTS runs AS SELECT {', '.join(RUN_COLUMNS)} FROM runs_full "
    f"UNION ALL SELECT {LEAN_SELECT} FROM runs_lean"
)
RUNS_TABLES = {
    "postgresql": f"CREATE TABLE IF NOT EXISTS runs (\n    run_id VARCHAR PRIMARY KEY,{RUN_COLUMNS_DDL});",
    "duckdb": (
        f"CREATE TABLE IF NOT EXISTS runs_full (\n    run_id VARCHAR NOT NULL,{RUN_COLUMNS_DDL});"
        f"{RUNS_LEAN_TABLE}{RUNS_VIEW};"
    ),
}
"""The runs as each backend keeps them (see above)."""
SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS meta (
    key   VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    source_id   VARCHAR PRIMARY KEY,
    title       VARCHAR NOT NULL,
    citation    VARCHAR NOT NULL,
    url         VARCHAR,
    licence     VARCHAR NOT NULL,
    upstream    VARCHAR
);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id      VARCHAR PRIMARY KEY,
    kind           VARCHAR NOT NULL CHECK (kind IN ('published', 'user')),
    source         VARCHAR NOT NULL,
    file_name      VARCHAR NOT NULL,
    sha256         VARCHAR NOT NULL,
    received_at    TIMESTAMP NOT NULL,
    n_accepted     INTEGER NOT NULL CHECK (n_accepted >= 0),
    n_rejected     INTEGER NOT NULL CHECK (n_rejected >= 0),
    column_mapping VARCHAR,
    original_bytes BLOB,     -- the file as received, or packed as original_codec says
    original_codec VARCHAR,  -- NULL: as received; 'zstd': a zstd frame of the file (PACK_ABOVE)
    original_size  BIGINT    -- the file's size in bytes (NULL for uploads stored before v5)
);
CREATE UNIQUE INDEX IF NOT EXISTS uploads_sha256 ON uploads (sha256);
CREATE TABLE IF NOT EXISTS hardware (
    hardware_id VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    record      VARCHAR NOT NULL  -- JSON: a catalog-shaped row (engine.cost.hardware.CATALOG_COLUMNS)
);
CREATE TABLE IF NOT EXISTS benchmarks (
    bench_id    VARCHAR PRIMARY KEY,
    created_at  TIMESTAMP NOT NULL,
    device      VARCHAR NOT NULL CHECK (device IN ('cpu', 'cuda')),
    mode        VARCHAR NOT NULL CHECK (mode IN ('quick', 'full')),
    machine     VARCHAR NOT NULL,  -- JSON: CPU model, cores, GPU name, driver, library versions
    result      VARCHAR NOT NULL   -- JSON: engine.cost.microbench.BenchResult.as_dict()
);
CREATE TABLE IF NOT EXISTS fits (
    fit_id      VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL UNIQUE,
    law_form    VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    n_points    INTEGER NOT NULL CHECK (n_points > 0),
    record      VARCHAR NOT NULL  -- JSON: constants, errors, intervals, bootstrap samples, selection
);
"""
    + SCENARIOS_TABLE
)
"""The tables both backends share (the runs are in RUNS_TABLES)."""


def _table_type(con: duckdb.DuckDBPyConnection, name: str) -> str | None:
    """'BASE TABLE', 'VIEW' or None (no such table)."""
    row = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_name = ?",
        [name],
    ).fetchone()
    return row[0] if row else None


def _pack_columns(con: duckdb.DuckDBPyConnection) -> None:
    """v4 -> v5: uploads say how their bytes are kept (original_codec, original_size); a store
    without an uploads table yet gets it whole from SCHEMA."""
    if _table_type(con, "uploads") is not None:
        con.execute("ALTER TABLE uploads ADD COLUMN IF NOT EXISTS original_codec VARCHAR")
        con.execute("ALTER TABLE uploads ADD COLUMN IF NOT EXISTS original_size BIGINT")


def _runs_to_two_tables(con: duckdb.DuckDBPyConnection) -> None:
    """v4 -> v5 on DuckDB: the runs table becomes runs_full (without the primary key), runs_lean is
    added and the view runs over both; nothing to do where runs is the view already."""
    if _table_type(con, "runs") != "BASE TABLE":
        return
    columns = ", ".join(RUN_COLUMNS)
    con.execute(f"CREATE TABLE runs_full (run_id VARCHAR NOT NULL,{RUN_COLUMNS_DDL})")
    con.execute(f"INSERT INTO runs_full ({columns}) SELECT {columns} FROM runs")
    con.execute("DROP TABLE runs")
    con.execute(RUNS_LEAN_TABLE)
    con.execute(RUNS_VIEW)


# Steps from each older schema version to the next; each runs in one transaction. The statements
# run on both backends (in the connection's DDL); a DuckDB step then runs on DuckDB only.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # v1 -> v2: 'flops_derived' (bool) becomes 'derived_field' (which of N, D, C was derived).
    1: (
        "ALTER TABLE runs ADD COLUMN derived_field VARCHAR",
        "UPDATE runs SET derived_field = CASE WHEN flops_derived THEN 'flops' END",
        "ALTER TABLE runs DROP COLUMN flops_derived",
    ),
    # v2 -> v3: runs keep their hyperparameters, both losses and active parameters (issue 12).
    2: tuple(
        f"ALTER TABLE runs ADD COLUMN {column}"
        for column in (
            "learning_rate DOUBLE",
            "batch_size DOUBLE",
            "batch_size_unit VARCHAR",
            "warmup_steps DOUBLE",
            "lr_schedule VARCHAR",
            "loss_smoothed DOUBLE",
            "n_params_active DOUBLE",
        )
    ),
    # v3 -> v4: saved Plan scenarios (issue 15; engine.data.scenarios).
    3: (SCENARIOS_TABLE,),
    # v4 -> v5: large uploads' bytes packed; DuckDB's runs in two tables behind a view (issue 12
    # point 7; DUCKDB_MIGRATIONS), PostgreSQL's runs unchanged.
    4: (),  # _pack_columns (both backends), then _runs_to_two_tables (DuckDB)
}
MIGRATION_STEPS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {4: _pack_columns}
"""Steps in code, after a version's statements, on both backends."""
DUCKDB_MIGRATIONS: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {4: _runs_to_two_tables}
"""Steps in code, after those, on DuckDB only."""


def _is_pg(con: object) -> TypeGuard[pg.PgConnection]:
    """Whether ``con`` is a connection to a PostgreSQL store (engine.data.pg) rather than DuckDB."""
    return isinstance(con, pg.PgConnection)


def _ddl(con: object, sql: str) -> str:
    """The schema's DDL as this connection's database spells it (engine.data.pg.ddl on PostgreSQL)."""
    return pg.ddl(sql) if _is_pg(con) else sql


_SET_VERSION = (
    "INSERT INTO meta VALUES ('schema_version', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
)


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    tables = {
        t
        for (t,) in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        ).fetchall()
    }
    if "meta" in tables:
        row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row:
            return int(row[0])
    if "runs" not in tables:
        return SCHEMA_VERSION  # a new database
    return 1  # the first release had no meta table


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Bring an older database to SCHEMA_VERSION; returns the version it had."""
    found = _schema_version(con)
    if found > SCHEMA_VERSION:
        raise RuntimeError(
            f"the database has schema version {found}, newer than this FLOPwise ({SCHEMA_VERSION})"
        )
    for version in range(found, SCHEMA_VERSION):
        with transaction(con):
            for statement in MIGRATIONS[version]:
                con.execute(_ddl(con, statement))
            if version in MIGRATION_STEPS:
                MIGRATION_STEPS[version](con)
            if not _is_pg(con) and version in DUCKDB_MIGRATIONS:
                DUCKDB_MIGRATIONS[version](con)
            con.execute("CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)")
            con.execute(_SET_VERSION, [str(version + 1)])
    return found


def default_db_path() -> Path:
    """``$FLOPWISE_DB`` when set, else the repository's ``data/flopwise.duckdb``."""
    override = os.environ.get(DB_ENV_VAR)
    return Path(override).expanduser() if override else DEFAULT_DB_PATH


def default_db_location() -> Path | str:
    """``$FLOPWISE_DB`` as given when it is a PostgreSQL URL, else :func:`default_db_path`."""
    override = os.environ.get(DB_ENV_VAR)
    return override if override and pg.is_url(override) else default_db_path()


DEFAULT_WAIT_S = 30.0
"""How long an open waits for another process's write lock before giving up (``$FLOPWISE_DB_WAIT_S``)."""
WAIT_ENV_VAR = "FLOPWISE_DB_WAIT_S"
Waiting = Callable[[float, str], None]  # (seconds waited so far, what is being waited for)


StoreBusyError = busy.StoreBusyError
"""The store stayed locked by another process for longer than the wait allowed (engine.data.busy)."""


def _lock_holder(exc: Exception) -> str:
    """'process 1234' from DuckDB's lock message ('... is held in /usr/bin/python (PID 1234)')."""
    match = re.search(r"PID (\d+)", str(exc))
    return f"process {match.group(1)}" if match else "another process"


def _is_lock_error(exc: Exception) -> bool:
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def _wait_s() -> float:
    text = os.environ.get(WAIT_ENV_VAR)
    try:
        return DEFAULT_WAIT_S if text is None else max(float(text), 0.0)
    except ValueError:
        return DEFAULT_WAIT_S


def connect(
    path: Path, *, wait_s: float | None = None, on_wait: Waiting | None = None
) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the database file, waiting while another process holds it.

    DuckDB lets one process at a time open a file for writing (an OS file lock); connections in
    one process share it. While the lock is held elsewhere this retries with a growing pause,
    calls ``on_wait(seconds_waited, message)`` about every half second, and after ``wait_s``
    seconds (default ``$FLOPWISE_DB_WAIT_S`` or 30) raises StoreBusyError saying who holds it."""
    limit = _wait_s() if wait_s is None else wait_s
    start = time.monotonic()
    pause, last_note = 0.01, -1.0
    while True:
        try:
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            waited = time.monotonic() - start
            holder = _lock_holder(exc)
            if waited >= limit:
                raise StoreBusyError(
                    f"The run store {path.name} is in use by {holder} and stayed locked for {limit:g} s; "
                    "nothing was read or written. Try again when it has finished.",
                    holder,
                ) from None
            if on_wait is not None and waited - last_note >= 0.5:
                on_wait(waited, f"Waiting for the run store: {holder} is writing to {path.name}")
                last_note = waited
            time.sleep(min(pause, max(limit - waited, 0.0)))
            pause = min(pause * 1.5, 0.25)


class Store:
    """One store with the FLOPwise schema: a DuckDB database file, or a database on a PostgreSQL
    server when given a ``postgresql://`` URL (engine.data.pg); the same methods either way.

    Two ways to use it. ``with store.connect() as con:`` opens the file for one unit of work and
    closes it after, so other processes can write in between: what the app does, per rerun at
    most (on PostgreSQL: a pooled connection). ``store.cursor()`` keeps one connection open until
    ``close()``: for a short-lived process (the CLI, a test) that owns the file for its whole run
    (on PostgreSQL: one connection per thread).

    The schema and its migrations are brought up to date when the store is opened: on a DuckDB file
    under its write lock, on PostgreSQL under the store's advisory lock, so they run once however
    many processes open it at the same time."""

    def __init__(
        self, path: Path | str | None = None, *, wait_s: float | None = None, on_wait: Waiting | None = None
    ) -> None:
        location = path if path is not None else default_db_location()
        self.url: str | None = str(location) if pg.is_url(location) else None
        self.path: Path | None = None if self.url else Path(location)
        self.location = pg.redact(self.url) if self.url else str(self.path)
        """Where the store is: the file's path, or the URL without its password."""
        self.wait_s = wait_s
        self.on_wait = on_wait
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pg = (
            pg.Backend(self.url, wait_s=_wait_s() if wait_s is None else wait_s, to_frame=_duckdb_frame)
            if self.url
            else None
        )
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.exclusive(), self.connect() as con:
            migrate(con)
            con.execute(_ddl(con, SCHEMA))
            con.execute(_ddl(con, RUNS_TABLES["postgresql" if _is_pg(con) else "duckdb"]))
            if _is_pg(con):
                con.execute(pg.INDEXES)
            con.execute(_SET_VERSION, [str(SCHEMA_VERSION)])

    @property
    def name(self) -> str:
        """What the app's sidebar names the store by: the file's name, or ``database on host:port``
        (no user, no password)."""
        if self.path is not None:
            return self.path.name
        parts = urlsplit(self.url or "")
        return (
            f"{parts.path.lstrip('/') or 'postgres'} on {parts.hostname or 'localhost'}:{parts.port or 5432}"
        )

    @property
    def dialect(self) -> str:
        """'duckdb' or 'postgresql'."""
        return "postgresql" if self._pg is not None else "duckdb"

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """One process at a time, across machines: on PostgreSQL the store's advisory lock; on a
        DuckDB file nothing more is needed (its write lock already admits one process)."""
        if self._pg is None:
            yield
        else:
            with self._pg.exclusive(self.on_wait):
                yield

    @contextlib.contextmanager
    def connect(
        self, *, wait_s: float | None = None, on_wait: Waiting | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one unit of work, closed (and the file lock released) afterwards."""
        if self._pg is not None:
            with self._pg.unit(wait_s) as pg_con:
                yield cast(duckdb.DuckDBPyConnection, pg_con)  # the API subset the store uses
            return
        assert self.path is not None
        con = connect(
            self.path, wait_s=self.wait_s if wait_s is None else wait_s, on_wait=on_wait or self.on_wait
        )
        try:
            yield con
        finally:
            con.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor on the connection this Store keeps open until close() (opened on first use)."""
        if self._pg is not None:
            return cast(duckdb.DuckDBPyConnection, self._pg.thread_connection())
        if self._con is None:
            assert self.path is not None
            self._con = connect(self.path, wait_s=self.wait_s, on_wait=self.on_wait)
        return self._con.cursor()

    def stamp(self) -> tuple:
        """Changes whenever the database file or its write-ahead log changes (every commit does):
        a cache key that costs two stat calls instead of opening the file. On PostgreSQL: the
        server's snapshot, one small query (engine.data.pg.Backend.stamp)."""
        if self._pg is not None:
            return self._pg.stamp()
        assert self.path is not None
        return tuple(_file_stamp(p) for p in (self.path, self.path.with_name(self.path.name + ".wal")))

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _duckdb_frame(table: Any) -> pd.DataFrame:
    """An Arrow table (a PostgreSQL result) as pandas with DuckDB's dtypes, as ``.df()`` gives them."""
    local = duckdb.connect()
    try:
        return local.from_arrow(table).df()
    finally:
        local.close()


def _file_stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return st.st_mtime_ns, st.st_size


def open_store(
    path: Path | str | None = None,
    *,
    load_published_data: bool = True,
    wait_s: float | None = None,
    on_wait: Waiting | None = None,
) -> Store:
    """Open (creating if needed) the store and load the shipped published data once."""
    store = Store(path, wait_s=wait_s, on_wait=on_wait)
    if load_published_data:
        with store.exclusive(), store.connect() as con:
            load_published(con)
    return store


class transaction:
    """``with transaction(con):`` commits on success and rolls back on any exception."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.con.execute("BEGIN TRANSACTION")
        return self.con

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")


def _insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    if _is_pg(con):
        pg.copy_rows(con, table, frame)
        return
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    con.register("_incoming", frame)
    try:
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming")
    finally:
        with contextlib.suppress(duckdb.Error):  # keep the insert's own error, if any
            con.unregister("_incoming")


def _run_tables(con: duckdb.DuckDBPyConnection) -> tuple[str, ...]:
    """The tables that hold the runs on this connection's backend (the runs view is their union)."""
    return ("runs",) if _is_pg(con) else ("runs_full", "runs_lean")


def _delete_runs(con: duckdb.DuckDBPyConnection, upload_id: str) -> None:
    for table in _run_tables(con):
        con.execute(f"DELETE FROM {table} WHERE upload_id = ?", [upload_id])


def load_published(con: duckdb.DuckDBPyConnection, datasets_dir: Path = DATASETS_DIR) -> dict[str, int]:
    """Load every shipped source whose current file is not in the store yet.

    Idempotent: a file already loaded (same sha256) adds nothing. A shipped file that changed
    replaces its previous version's rows. Each source loads in its own transaction.
    Returns rows added per source.
    """
    added: dict[str, int] = {}
    for source in published.read_sources(datasets_dir):
        data = (datasets_dir / source.file).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        upload_id = f"published:{source.source_id}"
        current = con.execute("SELECT sha256 FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
        if current and current[0] == digest:
            continue
        runs = published.read_runs(source, datasets_dir) if source.source_id in published.READERS else None
        with transaction(con):
            _delete_runs(con, upload_id)
            con.execute("DELETE FROM uploads WHERE upload_id = ?", [upload_id])
            con.execute(
                "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
                "title = excluded.title, citation = excluded.citation, url = excluded.url, "
                "licence = excluded.licence, upstream = excluded.upstream",
                [
                    source.source_id,
                    source.title,
                    source.citation,
                    source.url,
                    source.licence,
                    source.upstream,
                ],
            )
            n_rows = 0 if runs is None else len(runs)
            con.execute(
                "INSERT INTO uploads VALUES (?, 'published', ?, ?, ?, ?, ?, 0, NULL, ?, NULL, ?)",
                [
                    upload_id,
                    source.source_id,
                    source.file,
                    digest,
                    datetime.now(UTC).replace(tzinfo=None),
                    n_rows,
                    data,
                    len(data),
                ],
            )
            if runs is not None:
                runs = runs.assign(upload_id=upload_id)
                _insert_frame(con, "runs" if _is_pg(con) else "runs_full", runs)
        added[source.source_id] = n_rows
    return added


def run_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Number of stored runs per source."""
    rows = con.execute("SELECT source, count(*) FROM runs GROUP BY source ORDER BY source").fetchall()
    return dict(rows)


def query_runs(
    con: duckdb.DuckDBPyConnection,
    sources: Iterable[str] | None = None,
    *,
    require: Iterable[str] = (),
) -> pd.DataFrame:
    """Runs, optionally of some sources only, with the named columns required non-NULL."""
    clauses, params = [], []
    if sources is not None:
        sources = list(sources)
        if not sources:
            return pd.DataFrame(columns=list(RUN_COLUMNS))
        clauses.append(f"source IN ({', '.join('?' * len(sources))})")
        params.extend(sources)
    for column in require:
        if column not in RUN_COLUMNS:
            raise ValueError(f"unknown run column {column!r}")
        clauses.append(f'"{column}" IS NOT NULL')
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    columns = ", ".join(f'"{c}"' for c in RUN_COLUMNS)
    return con.execute(f"SELECT {columns} FROM runs {where} ORDER BY run_id", params).df()


# --- selections of runs, for pages that must not load a million rows per rerun ---------------

_FIT_READY = "n_params IS NOT NULL AND n_tokens IS NOT NULL AND loss IS NOT NULL"


def _selection_where(selection: RunFilter, postgres: bool = False) -> tuple[str, list]:
    clauses: list[str] = [_FIT_READY]
    params: list[Any] = []
    # "one of a list parameter": PostgreSQL plans = ANY(array) as a filter, the unnest as a join
    one_of = "= ANY(?::VARCHAR[])" if postgres else "IN (SELECT unnest(?::VARCHAR[]))"
    if selection.sources is not None:
        clauses.append(f"source {one_of}")
        params.append(list(selection.sources))
    if selection.user_uploads is not None:
        clauses.append(f"(source <> '{USER_SOURCE}' OR upload_id {one_of})")
        params.append(list(selection.user_uploads))
    if selection.eval_sets is not None:
        clauses.append(f"coalesce(loss_eval_set, ?) {one_of}")
        params.extend([NOT_GIVEN, list(selection.eval_sets)])
    if selection.n_params_range is not None:
        clauses.append("n_params BETWEEN ? AND ?")
        params.extend([float(v) for v in selection.n_params_range])
    return " AND ".join(clauses), params


def _one_row(cursor: duckdb.DuckDBPyConnection) -> tuple:
    """The one row an aggregate query (count(*), a single SELECT of aggregates) returns."""
    row = cursor.fetchone()
    assert row is not None, "an aggregate query returns one row"
    return row


def selection_choices(con: duckdb.DuckDBPyConnection) -> dict:
    """What the run filters can offer: sources, loss data sets and user uploads (id -> file name)
    among the runs with parameters, tokens and loss, and how many such runs there are."""
    sources = [
        s
        for (s,) in con.execute(f"SELECT DISTINCT source FROM runs WHERE {_FIT_READY} ORDER BY 1").fetchall()
    ]
    sets = [
        s
        for (s,) in con.execute(
            f"SELECT DISTINCT coalesce(loss_eval_set, ?) FROM runs WHERE {_FIT_READY} ORDER BY 1", [NOT_GIVEN]
        ).fetchall()
    ]
    uploads = dict(
        con.execute(
            f"SELECT upload_id, file_name FROM uploads WHERE kind = 'user' AND upload_id IN "
            f"(SELECT DISTINCT upload_id FROM runs WHERE {_FIT_READY}) ORDER BY received_at"
        ).fetchall()
    )
    (n_ready,) = _one_row(con.execute(f"SELECT count(*) FROM runs WHERE {_FIT_READY}"))
    return {"sources": sources, "eval_sets": sets, "uploads": uploads, "n_fit_ready": n_ready}


def selection_count(con: duckdb.DuckDBPyConnection, selection: RunFilter) -> int:
    """How many runs the selection holds."""
    where, params = _selection_where(selection, _is_pg(con))
    return _one_row(con.execute(f"SELECT count(*) FROM runs WHERE {where}", params))[0]


_PROFILE_COLUMNS = (
    "upload_id",
    "source",
    "n_params",
    "n_tokens",
    "loss",
    "loss_eval_set",
    "n_params_convention",
    "loss_smoothed",
    "learning_rate",
    "batch_size",
)
"""The run columns selection_profile reads."""


def selection_profile(con: duckdb.DuckDBPyConnection, selection: RunFilter) -> dict:
    """Aggregates of the selected runs, computed in DuckDB (independent of how many there are):
    n_runs; loss data sets and parameter conventions with their run counts (a run without a stated
    data set counts as its upload's); near-duplicate configurations (N, D to 3 significant figures
    and loss to 3 decimals shared by two uploads or sources) and their uploads; (N, D) cells with
    several runs; whether any run has a smoothed loss, a learning rate or a batch size.
    On PostgreSQL the selected runs' columns that these need are read (as Arrow) into an in-memory
    DuckDB, where the same aggregates run: the analytics stay DuckDB's."""
    where, params = _selection_where(selection, _is_pg(con))
    if _is_pg(con):
        table = con.execute(f"SELECT {', '.join(_PROFILE_COLUMNS)} FROM runs WHERE {where}", params).arrow()
        local = duckdb.connect()
        try:
            local.register("runs", table)
            return selection_profile(local, RunFilter())
        finally:
            local.close()
    selected = f"WITH _selected AS (SELECT * FROM runs WHERE {where}) "

    def query(sql: str, extra: list | None = None) -> duckdb.DuckDBPyConnection:
        return con.execute(selected + sql, [*params, *(extra or [])])

    n_runs, cells_several, smoothed, hyper = _one_row(
        query(
            "SELECT (SELECT count(*) FROM _selected), "
            "(SELECT count(*) FROM (SELECT 1 FROM _selected GROUP BY n_params, n_tokens "
            "HAVING count(*) > 1)), "
            "(SELECT count(loss_smoothed) > 0 FROM _selected), "
            "(SELECT count(learning_rate) + count(batch_size) > 0 FROM _selected)"
        )
    )
    sets = dict(
        query(
            "SELECT coalesce(loss_eval_set, '(not stated) in ' || "
            "CASE WHEN source = ? THEN upload_id ELSE source END), "
            "count(*) FROM _selected GROUP BY 1 ORDER BY 2 DESC",
            [USER_SOURCE],
        ).fetchall()
    )
    conventions = dict(
        query(
            "SELECT n_params_convention, count(*) FROM _selected "
            "WHERE n_params_convention IS NOT NULL GROUP BY 1 ORDER BY 2 DESC"
        ).fetchall()
    )
    dup_groups, dup_origins = _one_row(
        query(
            ", keyed AS (SELECT upload_id, "
            "round(n_params / pow(10, floor(log10(n_params)) - 2)) "
            "* pow(10, floor(log10(n_params)) - 2) AS n, "
            "round(n_tokens / pow(10, floor(log10(n_tokens)) - 2)) "
            "* pow(10, floor(log10(n_tokens)) - 2) AS d, "
            "round(loss, 3) AS l FROM _selected), "
            "shared AS (SELECT list(DISTINCT upload_id) AS origins FROM keyed GROUP BY n, d, l "
            "HAVING count(DISTINCT upload_id) > 1) "
            "SELECT count(*), list_sort(list_distinct(flatten(list(origins)))) FROM shared"
        )
    )
    return {
        "n_runs": n_runs,
        "data_sets": sets,
        "conventions": conventions,
        "duplicate_groups": dup_groups,
        "duplicate_origins": dup_origins or [],
        "cells_with_several_runs": cells_several,
        "has_smoothed_loss": bool(smoothed),
        "has_hyperparameters": bool(hyper),
    }


def sample_runs(con: duckdb.DuckDBPyConnection, selection: RunFilter, limit: int) -> pd.DataFrame:
    """At most ``limit`` of the selected runs, all columns: a fixed pseudo-random sample (by a hash
    of where the row is stored: its table and rowid), so a narrower filter keeps the runs it had.
    The rows are picked first and fetched after, from each table by rowid, so only the sample's
    columns are read (a third of the time at 10^6 runs), in one statement (one snapshot). On
    PostgreSQL the hash is of the run id, read in order from an index (engine.data.pg.INDEXES)."""
    where, params = _selection_where(selection, _is_pg(con))
    columns = ", ".join(f'"{c}"' for c in RUN_COLUMNS)
    if _is_pg(con):  # no rowid there: the hash of the run id orders the sample
        return con.execute(
            f"SELECT {columns} FROM runs WHERE {where} ORDER BY hashtext(run_id), run_id LIMIT ?",
            [*params, int(limit)],
        ).df()
    return con.execute(
        "WITH picked AS MATERIALIZED (SELECT part, rid, hash(part, rid) AS h FROM ("
        f"SELECT 0 AS part, rowid AS rid FROM runs_full WHERE {where} UNION ALL "
        f"SELECT 1, rid FROM (SELECT rowid AS rid, {LEAN_SELECT} FROM runs_lean) WHERE {where}"
        ") ORDER BY h LIMIT ?) "
        f"SELECT {columns} FROM ("
        f"SELECT {columns}, hash(0, rowid) AS h FROM runs_full "
        "WHERE rowid IN (SELECT rid FROM picked WHERE part = 0) "
        f"UNION ALL SELECT {LEAN_SELECT}, hash(1, rowid) FROM runs_lean "
        "WHERE rowid IN (SELECT rid FROM picked WHERE part = 1)) ORDER BY h",
        [*params, *params, int(limit)],
    ).df()


def selected_runs(con: duckdb.DuckDBPyConnection, selection: RunFilter) -> pd.DataFrame:
    """Every selected run, all columns, by run id."""
    where, params = _selection_where(selection, _is_pg(con))
    columns = ", ".join(f'"{c}"' for c in RUN_COLUMNS)
    return con.execute(f"SELECT {columns} FROM runs WHERE {where} ORDER BY run_id", params).df()


# --- user uploads -------------------------------------------------------------------------

_MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class StoredUpload:
    upload_id: str
    added: bool  # False when the same bytes were stored before
    n_accepted: int
    n_rejected: int


def store_upload(
    con: duckdb.DuckDBPyConnection, report: IngestReport, data: bytes | memoryview
) -> StoredUpload:
    """Store an upload's accepted rows, the upload record and its original bytes, in one
    transaction. The same bytes again (same sha256) add nothing and return the earlier upload.
    Concurrent writers are retried on DuckDB's optimistic-concurrency conflicts (on PostgreSQL: on
    the same file's unique key, taken by a writer that committed first). On PostgreSQL the rows go
    in one COPY inside the transaction, so a writer killed mid-upload leaves nothing of it.

    A run's id is ``upload_id:row`` (the file's row, 7 digits or more): unique because the upload
    id is the uploads table's key and the report's rows are strictly increasing (checked here; a
    report that breaks it is refused, as is a row the store's checks refuse: IngestError, nothing
    stored). On DuckDB an upload that fills only LEAN_COLUMNS goes to runs_lean, any other to
    runs_full (see RUNS_TABLES)."""
    if report.n_accepted == 0:
        raise IngestError(
            f"{report.file_name}: no usable rows ({report.n_rejected} rejected); nothing stored"
        )
    upload_id = f"u-{report.sha256[:16]}"
    accepted = report.accepted
    if "n_params_convention" not in accepted:
        accepted = accepted.assign(n_params_convention="total")
    rows = accepted["row"].to_numpy()
    if rows.dtype.kind not in "iu" or rows[0] < 1 or (rows.size > 1 and not (np.diff(rows) > 0).all()):
        raise IngestError(
            f"{report.file_name}: the report's row numbers are not 1, 2, ... in order "
            "(each run's id is its row); nothing stored"
        )
    # Only the columns the file filled travel (the rest stay NULL; DuckDB scans the frame in place),
    # with the run id built in SQL: a million-row upload's cost is then DuckDB's, not Python objects'.
    filled = [c for c in RUN_COLUMNS if c in accepted and accepted[c].notna().any()]
    lean = not _is_pg(con) and set(filled) <= set(LEAN_COLUMNS)
    incoming = _lean_frame(report.file_name, accepted, filled) if lean else accepted[["row", *filled]]
    constants = _constant_codes(incoming) if lean else {}
    if constants:  # a label the same on every row goes in as a constant, not a column scanned per row
        incoming = incoming.drop(columns=list(constants))
    if stored_before := _stored_before(con, report.sha256):
        return stored_before
    # the file's zstd packing: started by read_upload while it checked the rows, else now, in a thread
    # beside DuckDB's insert
    packed = report.packed if report.packed is not None and report.packed.data is data else Packing(data)
    for attempt in range(_MAX_ATTEMPTS):
        if attempt and (stored_before := _stored_before(con, report.sha256)):
            return stored_before
        try:
            with transaction(con):
                record = [
                    upload_id,
                    USER_SOURCE,
                    report.file_name,
                    report.sha256,
                    datetime.now(UTC).replace(tzinfo=None),
                    report.n_accepted,
                    report.n_rejected,
                    json.dumps(report.mapping),
                ]
                insert_upload = "INSERT INTO uploads VALUES (?, 'user', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                if _is_pg(con):
                    # the upload's key first (a writer of the same file waits on it), then one COPY
                    con.execute(insert_upload, [*record, *packed(), len(data)])
                    run_ids = (
                        upload_id + ":" + incoming["row"].astype("int64").astype(str).str.zfill(RUN_ID_DIGITS)
                    )
                    pg.copy_rows(
                        con,
                        "runs",
                        incoming[filled].assign(
                            run_id=run_ids.to_numpy(), upload_id=upload_id, source=USER_SOURCE
                        ),
                    )
                else:
                    # the runs first, while the bytes are packed; a writer of the same file conflicts
                    # on the upload's key at its insert or at the commit
                    _insert_runs(con, upload_id, incoming, filled, lean, constants)
                    kept, codec = packed()
                    # the bytes scanned in place (a parameter would be copied twice first)
                    con.register("_original", _blob_table(kept))
                    try:
                        con.execute(
                            "INSERT INTO uploads SELECT ?, 'user', ?, ?, ?, ?, ?, ?, ?, b, ?, ? "
                            "FROM _original",
                            [*record, codec, len(data)],
                        )
                    finally:
                        with contextlib.suppress(duckdb.Error):
                            con.unregister("_original")
            if _is_pg(con) and report.n_accepted >= pg.ANALYZE_ROWS:
                con.execute("ANALYZE runs")  # fresh statistics, so the planner sees the new rows
            return StoredUpload(upload_id, True, report.n_accepted, report.n_rejected)
        except (
            duckdb.TransactionException,
            duckdb.ConstraintException,
            pg.ConstraintError,
            pg.ConflictError,
        ) as exc:
            if _refused_row(exc):
                raise IngestError(
                    f"{report.file_name}: the store refused a row "
                    f"({str(exc).strip().splitlines()[0]}); nothing stored"
                ) from None
            time.sleep(0.01 * (attempt + 1))  # another writer won the race; look again
    raise RuntimeError(f"could not store {report.file_name} after {_MAX_ATTEMPTS} attempts (database busy)")


def upload_fields(mapping: Mapping[str, str]) -> list[str]:
    """The run columns an upload with this column mapping fills (N, D and C always: the missing
    one is derived), in RUN_COLUMNS' order."""
    fields = {*mapping, "n_params", "n_tokens", "flops", "derived_field", "n_params_convention"}
    if "batch_size" in mapping:
        fields.add("batch_size_unit")
    return [c for c in RUN_COLUMNS if c in fields]


BLOCKWISE_MEMORY_BASE = 64 * 2**20
BLOCKWISE_MEMORY_PER_BYTE = 1.5
"""DuckDB's memory limit while a large upload is stored a block at a time: BASE plus PER_BYTE times
its packed file's size (the record's BLOB is copied twice in the transaction). Without it DuckDB keeps
the row groups it has written, and the commit's, in memory: a 200 MB upload peaked at 779 MiB above
the process's start, 538 MiB with the limit (176 MiB for its 75 MiB packed file), and stored in the
same time. A store that runs out under the limit is rolled back and stored again without it. The
limit is DuckDB's for the whole process, so the app's other reads share it for those seconds."""


@contextlib.contextmanager
def _memory_limit(con: duckdb.DuckDBPyConnection, limit: int | None) -> Iterator[None]:
    """DuckDB's memory_limit set to ``limit`` bytes for the block (None: left as it is), then back."""
    if limit is None:
        yield
        return
    (before,) = _one_row(con.execute("SELECT current_setting('memory_limit')"))
    con.execute(f"SET memory_limit = '{int(limit)}B'")
    try:
        yield
    finally:
        con.execute("RESET memory_limit")
        if _one_row(con.execute("SELECT current_setting('memory_limit')"))[0] != before:
            con.execute(f"SET memory_limit = '{before}'")


def store_upload_blocks(
    con: duckdb.DuckDBPyConnection,
    data: bytes | memoryview,
    file_name: str,
    mapping: Mapping[str, str] | None = None,
    *,
    convention: str | None = None,
    batch_size_unit: str | None = None,
    decimal: str | None = None,
    column_types: dict | None = None,
) -> tuple[StoredUpload, IngestReport | None]:
    """Check and store a large upload a block at a time (engine.data.blocks): parse a block,
    validate it, insert its accepted rows, drop it; then drop the rows that repeat a row of an earlier
    block and add the upload record, all in one transaction (a refused upload leaves nothing). The
    same rows are stored as by read_upload + store_upload (the test compares both), without a table
    of every row in memory. ``column_types`` are those a scan of the same file found
    (engine.data.blocks.scan_upload), so that no block has to be read twice.

    Returns the stored upload and the report (None when the same bytes were stored before).
    IngestError when no row is usable or the store refuses a row. A file found to have ragged rows
    is rolled back and stored by the whole-file path (which names them); on PostgreSQL: read_upload
    + store_upload."""
    options = {"convention": convention, "batch_size_unit": batch_size_unit, "decimal": decimal}

    def whole_file() -> tuple[StoredUpload, IngestReport]:
        report = read_upload(bytes(data), file_name, mapping, **options)
        return store_upload(con, report, data), report

    if _is_pg(con):
        return whole_file()
    sha256 = sha256_of(data)
    if stored_before := _stored_before(con, sha256):
        return stored_before, None
    upload_id = f"u-{sha256[:16]}"
    # packed before the rows, not beside them: the blocks are read in Python while DuckDB inserts,
    # and a zstd thread beside them made the whole 200 MB upload 2-4 s slower on two cores
    packed = [pack_bytes(data)]  # dropped once DuckDB has the bytes, packed again for a retry
    cap: int | None = BLOCKWISE_MEMORY_BASE + int(BLOCKWISE_MEMORY_PER_BYTE * len(packed[0][0]))
    types = dict(column_types or {})
    for attempt in range(_MAX_ATTEMPTS):
        if attempt and (stored_before := _stored_before(con, sha256)):
            return stored_before, None
        scan = blocks.Scan(data, file_name, mapping, convention, batch_size_unit, decimal, types)
        try:
            with _memory_limit(con, cap), transaction(con):
                # the upload's record first, with its bytes (a writer of the same file conflicts here),
                # its counts once the blocks are read
                record = [
                    upload_id,
                    USER_SOURCE,
                    file_name,
                    sha256,
                    datetime.now(UTC).replace(tzinfo=None),
                    0,
                    0,
                    None,
                ]
                kept, codec = packed.pop() if packed else pack_bytes(data)
                con.register("_original", _blob_table(kept))
                try:
                    con.execute(
                        "INSERT INTO uploads SELECT ?, 'user', ?, ?, ?, ?, ?, ?, ?, b, ?, ? FROM _original",
                        [*record, codec, len(data)],
                    )
                finally:
                    with contextlib.suppress(duckdb.Error):
                        con.unregister("_original")
                del kept
                frames = scan.blocks()
                first = next(frames)  # the first block: its mapping says which table the runs go to
                assert scan.first is not None
                filled = upload_fields(scan.first.mapping)
                lean = set(filled) <= set(LEAN_COLUMNS)

                def incoming(accepted: pd.DataFrame) -> pd.DataFrame:
                    if "n_params_convention" not in accepted:
                        accepted = accepted.assign(n_params_convention="total")
                    return _lean_frame(file_name, accepted, filled) if lean else accepted[["row", *filled]]

                # one INSERT reading every block as it is made: DuckDB writes the row groups out as they
                # fill, where an INSERT per block kept them all in the transaction (200 MB upload:
                # 200 MiB more at the peak)
                failure: list[BaseException] = []
                stream = _block_stream(itertools.chain([first], frames), incoming, failure)
                del first
                try:
                    _insert_runs(con, upload_id, stream, filled, lean)
                except duckdb.Error:
                    if failure:  # a block's own error (IngestError, TypesChanged), not DuckDB's
                        raise failure[0] from None
                    raise
                del stream
                done = scan.report
                assert done is not None and scan.duplicates is not None
                if done.n_accepted == 0:
                    raise IngestError(
                        f"{file_name}: no usable rows ({done.n_rejected} rejected); nothing stored"
                    )
                dup_rows = scan.duplicates[0]
                if dup_rows.size:
                    if lean:
                        con.execute(
                            'DELETE FROM runs_lean WHERE upload_id = ? AND "row" IN '
                            "(SELECT unnest(?::BIGINT[]))",
                            [upload_id, dup_rows.tolist()],
                        )
                    else:
                        ids = [f"{upload_id}:{int(r):0{RUN_ID_DIGITS}d}" for r in dup_rows]
                        con.execute(
                            "DELETE FROM runs_full WHERE upload_id = ? AND run_id IN "
                            "(SELECT unnest(?::VARCHAR[]))",
                            [upload_id, ids],
                        )
                con.execute(
                    "UPDATE uploads SET n_accepted = ?, n_rejected = ?, column_mapping = ? "
                    "WHERE upload_id = ?",
                    [done.n_accepted, done.n_rejected, json.dumps(done.mapping), upload_id],
                )
            return StoredUpload(upload_id, True, done.n_accepted, done.n_rejected), done
        except blocks.TypesChanged as changed:  # rolled back: again with the wider types
            types = changed.column_types
        except blocks.NotBlockwise:  # rolled back (ragged rows): the whole-file path names them
            del packed
            return whole_file()
        except duckdb.OutOfMemoryException:
            if cap is None:
                raise
            cap = None  # rolled back: again with DuckDB's own limit
        except (duckdb.TransactionException, duckdb.ConstraintException) as exc:
            if _refused_row(exc):
                raise IngestError(
                    f"{file_name}: the store refused a row "
                    f"({str(exc).strip().splitlines()[0]}); nothing stored"
                ) from None
            time.sleep(0.01 * (attempt + 1))
    raise RuntimeError(f"could not store {file_name} after {_MAX_ATTEMPTS} attempts (database busy)")


def _stored_before(con: duckdb.DuckDBPyConnection, sha256: str) -> StoredUpload | None:
    """The upload of the same bytes, if the store has it."""
    row = con.execute(
        "SELECT upload_id, n_accepted, n_rejected FROM uploads WHERE sha256 = ?", [sha256]
    ).fetchone()
    return StoredUpload(row[0], False, row[1], row[2]) if row else None


def _blob_table(data: bytes) -> pa.Table:
    """One row, one large_binary column 'b' holding ``data`` without a copy."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    return pa.table({"b": pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])})


def _refused_row(exc: Exception) -> bool:
    """Whether a constraint error is a row the schema refuses (a check, a NOT NULL), not a race for
    the upload's key that another writer won."""
    text = str(exc)
    return any(
        words in text
        for words in (
            "CHECK constraint",
            "NOT NULL constraint",
            "violates check constraint",
            "violates not-null constraint",
        )
    )


def _label_codes(file_name: str, labels: pd.Series, words: tuple[str, ...], column: str) -> np.ndarray:
    """A label column as int8 indexes into ``words`` (-1 where missing); IngestError for a label
    that is not one of them (runs_lean keeps codes, so its checks could not see the word)."""
    index = pd.Index(list(words))
    if isinstance(labels.dtype, pd.CategoricalDtype):  # what ingest gives: look up its few categories
        lookup = np.append(index.get_indexer(labels.cat.categories), -1)  # code -1 (missing) stays -1
        codes = lookup[labels.cat.codes.to_numpy()].astype(np.int8)
    else:
        codes = index.get_indexer(labels).astype(np.int8)
    unknown = (codes < 0) & labels.notna().to_numpy()
    if unknown.any():
        first = labels.iloc[np.flatnonzero(unknown)[0]]
        raise IngestError(f"{file_name}: {column} {first!r} is not one of {', '.join(words)}; nothing stored")
    return codes


def _lean_frame(file_name: str, accepted: pd.DataFrame, filled: list[str]) -> pd.DataFrame:
    """The columns of runs_lean an upload fills, as DuckDB scans them in place: numbers and text
    as they are, the two labels as int8 codes (-1: none)."""
    frame = {"row": accepted["row"]}
    frame.update((c, accepted[c]) for c in filled if c not in ("n_params_convention", "derived_field"))
    frame["convention"] = _label_codes(
        file_name, accepted["n_params_convention"], CONVENTION_CODES, "n_params_convention"
    )
    if (frame["convention"] < 0).any():
        raise IngestError(f"{file_name}: a run without a parameter convention; nothing stored")
    if "derived_field" in filled:
        frame["derived"] = _label_codes(file_name, accepted["derived_field"], DERIVED_CODES, "derived_field")
    return pd.DataFrame(frame, copy=False)


def _constant_codes(frame: pd.DataFrame) -> dict[str, int]:
    """runs_lean's label codes (convention, derived) that are the same on every row of ``frame``."""
    constants = {}
    for column in ("convention", "derived"):
        if column in frame and len(frame):
            codes = frame[column].to_numpy()
            if codes.min() == codes.max():
                constants[column] = int(codes[0])
    return constants


def _block_stream(
    frames: Iterator[pd.DataFrame], make: Callable[[pd.DataFrame], pd.DataFrame], failure: list
) -> pa.RecordBatchReader:
    """The frames, each made by ``make`` from one block's accepted rows, as one Arrow stream for
    DuckDB to scan as they are read (labels as text, every block cast to the first one's schema).
    An exception raised while a block is read is kept in ``failure`` (DuckDB passes on only its text)."""

    def arrow(frame: pd.DataFrame) -> pa.Table:
        table = pa.Table.from_pandas(make(frame), preserve_index=False)
        for i, column in enumerate(table.columns):
            if pa.types.is_dictionary(column.type):
                table = table.set_column(i, table.field(i).name, column.cast(pa.large_string()))
        return table

    head = [arrow(next(frames))]
    schema = head[0].schema

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from head.pop().to_batches()
            for frame in frames:
                yield from arrow(frame).cast(schema).to_batches()
        except BaseException as exc:
            failure.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(schema, batches())


def _insert_runs(
    con: duckdb.DuckDBPyConnection,
    upload_id: str,
    incoming: pd.DataFrame | pa.RecordBatchReader,
    filled: list[str],
    lean: bool,
    constants: dict[str, int] | None = None,
) -> None:
    """INSERT one upload's runs into runs_lean or runs_full (DuckDB), the frame (or the stream of
    blocks) scanned in place; ``constants`` are runs_lean label codes the same on every row (-1:
    none), given instead of their columns."""
    if lean:  # runs_lean's columns in order, NULL for those the upload leaves empty
        given = set(incoming.schema.names if isinstance(incoming, pa.RecordBatchReader) else incoming.columns)
        values = {
            "upload_id": "?",
            "row": '"row"',
            "convention": "CAST(convention AS UTINYINT)",
            "derived": "CAST(NULLIF(derived, -1) AS UTINYINT)" if "derived" in given else "NULL",
        }
        for column, code in (constants or {}).items():
            values[column] = "NULL" if code < 0 else f"CAST({int(code)} AS UTINYINT)"
        select = ", ".join(values.get(c, f'"{c}"' if c in given else "NULL") for c in _LEAN_TABLE_COLUMNS)
        names = ", ".join(f'"{c}"' for c in _LEAN_TABLE_COLUMNS)
        sql, params = f"INSERT INTO runs_lean ({names}) SELECT {select} FROM _incoming", [upload_id]
    else:
        columns = ", ".join(f'"{c}"' for c in filled)
        run_id = "? || ':' || " + _padded_row('"row"')
        sql = (
            f"INSERT INTO runs_full (run_id, upload_id, source, {columns}) "
            f"SELECT {run_id}, ?, ?, {columns} FROM _incoming"
        )
        params = [upload_id, upload_id, USER_SOURCE]
    # The rows' order on disk need not be theirs in the file (the run id holds that): DuckDB then
    # writes the row groups on every core at once, about twice as fast. And it writes each row group
    # out as soon as it is full rather than five at a time: 150 MiB less at 5 * 10^6 rows.
    settings = {"preserve_insertion_order": "false", "write_buffer_row_group_count": "1"}
    for name, value in settings.items():
        con.execute(f"SET SESSION {name} = {value}")
    con.register("_incoming", incoming)
    try:
        con.execute(sql, params)
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister("_incoming")
        for name in settings:
            with contextlib.suppress(duckdb.Error):
                con.execute(f"RESET SESSION {name}")


def delete_upload(con: duckdb.DuckDBPyConnection, upload_id: str) -> int:
    """Delete a user upload and its runs; returns the number of runs removed."""
    kind = con.execute("SELECT kind FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
    if kind is None:
        raise KeyError(f"no upload {upload_id!r}")
    if kind[0] != "user":
        raise ValueError(f"{upload_id} is published data and cannot be deleted")
    with transaction(con):
        n = _one_row(con.execute("SELECT count(*) FROM runs WHERE upload_id = ?", [upload_id]))[0]
        _delete_runs(con, upload_id)
        con.execute("DELETE FROM uploads WHERE upload_id = ?", [upload_id])
    return n


def list_uploads(con: duckdb.DuckDBPyConnection, kind: str | None = "user") -> pd.DataFrame:
    """Uploads (without their bytes), newest first."""
    where = "WHERE kind = ?" if kind else ""
    return con.execute(
        "SELECT upload_id, kind, source, file_name, sha256, received_at, n_accepted, n_rejected, "
        f"column_mapping FROM uploads {where} ORDER BY received_at DESC",
        [kind] if kind else [],
    ).df()


def upload_bytes(con: duckdb.DuckDBPyConnection, upload_id: str) -> bytes:
    """The upload's file, exactly as received."""
    row = con.execute(
        "SELECT original_bytes, original_codec, original_size FROM uploads WHERE upload_id = ?", [upload_id]
    ).fetchone()
    if row is None:
        raise KeyError(f"no upload {upload_id!r}")
    return unpack_bytes(*row)


# --- saved fits ----------------------------------------------------------------------------


def save_fit(con: duckdb.DuckDBPyConnection, name: str, law_form: str, n_points: int, record: dict) -> str:
    """Save a fitted law under a unique, non-empty name; returns its id."""
    name = name.strip()
    if not name or len(name) > 80:
        raise ValueError("a fit needs a name of 1 to 80 characters")
    if con.execute("SELECT 1 FROM fits WHERE name = ?", [name]).fetchone():
        raise ValueError(f"a fit named {name!r} exists already")
    fit_id = f"fit-{hashlib.sha256((name + json.dumps(record, sort_keys=True)).encode()).hexdigest()[:12]}"
    con.execute(
        "INSERT INTO fits VALUES (?, ?, ?, ?, ?, ?)",
        [
            fit_id,
            name,
            law_form,
            datetime.now(UTC).replace(tzinfo=None),
            n_points,
            json.dumps(record),
        ],
    )
    return fit_id


def list_fits(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute(
        "SELECT fit_id, name, law_form, created_at, n_points, record FROM fits ORDER BY created_at"
    ).fetchall()
    return [
        {"fit_id": f, "name": n, "law_form": form, "created_at": t, "n_points": k, "record": json.loads(r)}
        for f, n, form, t, k, r in rows
    ]


# --- user hardware -----------------------------------------------------------------------


def add_device(con: duckdb.DuckDBPyConnection, row: dict) -> Device:
    """Validate and store a user's device (a catalog-shaped row); ids must be new."""
    device = device_from_row(row, user_defined=True)
    if device.hardware_id in load_catalog():
        raise HardwareError(f"{device.hardware_id} is a catalog device; choose another id")
    if con.execute("SELECT 1 FROM hardware WHERE hardware_id = ?", [device.hardware_id]).fetchone():
        raise HardwareError(f"a device {device.hardware_id!r} exists already")
    con.execute(
        "INSERT INTO hardware VALUES (?, ?, ?, ?)",
        [
            device.hardware_id,
            device.name,
            datetime.now(UTC).replace(tzinfo=None),
            json.dumps(device.as_row()),
        ],
    )
    return device


def delete_device(con: duckdb.DuckDBPyConnection, hardware_id: str) -> None:
    con.execute("DELETE FROM hardware WHERE hardware_id = ?", [hardware_id])


def all_devices(con: duckdb.DuckDBPyConnection) -> dict[str, Device]:
    """The shipped catalog followed by the users' own devices."""
    devices = load_catalog()
    for (record,) in con.execute("SELECT record FROM hardware ORDER BY created_at").fetchall():
        device = device_from_row(json.loads(record), user_defined=True)
        devices[device.hardware_id] = device
    return devices


def update_device(con: duckdb.DuckDBPyConnection, row: dict) -> Device:
    """Replace a user's device entry (validated like a new one)."""
    device = device_from_row(row, user_defined=True)
    if not con.execute("SELECT 1 FROM hardware WHERE hardware_id = ?", [device.hardware_id]).fetchone():
        raise HardwareError(f"no device {device.hardware_id!r} of yours to edit")
    con.execute(
        "UPDATE hardware SET name = ?, record = ? WHERE hardware_id = ?",
        [device.name, json.dumps(device.as_row()), device.hardware_id],
    )
    return device


# --- benchmarks --------------------------------------------------------------------------------


def save_benchmark(con: duckdb.DuckDBPyConnection, result: dict) -> str:
    """Store a microbenchmark result (engine.cost.microbench.BenchResult.as_dict()); returns its id."""
    created = datetime.now(UTC).replace(tzinfo=None)
    digest = hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()
    bench_id = f"bench-{created:%Y%m%d-%H%M%S}-{digest[:6]}"
    con.execute(
        "INSERT INTO benchmarks VALUES (?, ?, ?, ?, ?, ?)",
        [
            bench_id,
            created,
            result["device"],
            result["mode"],
            json.dumps(result["machine"]),
            json.dumps(result),
        ],
    )
    return bench_id


def list_benchmarks(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Stored benchmarks, newest first: bench_id, created_at, device, mode, machine, result."""
    rows = con.execute(
        "SELECT bench_id, created_at, device, mode, machine, result FROM benchmarks ORDER BY created_at DESC"
    ).fetchall()
    return [
        {
            "bench_id": b,
            "created_at": t,
            "device": d,
            "mode": m,
            "machine": json.loads(mc),
            "result": json.loads(r),
        }
        for b, t, d, m, mc, r in rows
    ]
