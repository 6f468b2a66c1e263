"""The run store: schema, loading the published data, and queries.

The only module that imports duckdb. Writes happen in one transaction each: an upload is
stored whole or not at all.

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
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeGuard, cast
from urllib.parse import urlsplit

import duckdb
import pandas as pd

from engine.data import busy, pg, published
from engine.data.schema import RUN_COLUMNS
from engine.cost.hardware import Device, HardwareError, device_from_row, load_catalog
from engine.data.ingest import IngestError, IngestReport
from engine.data.runs import NOT_GIVEN, USER_SOURCE, RunFilter
from engine.paths import DATASETS_DIR, REPO_ROOT

DEFAULT_DB_PATH = REPO_ROOT / "data" / "flopwise.duckdb"
DB_ENV_VAR = "FLOPWISE_DB"


Connection = duckdb.DuckDBPyConnection
"""What a unit of work on the store is handed (the UI names it without importing duckdb). On a
PostgreSQL store it is an engine.data.pg.PgConnection, which has the part of this API the store's
functions use (execute returning itself, fetchone, fetchall, df, cursor, close)."""

SCHEMA_VERSION = 4
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
SCHEMA = """
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
    original_bytes BLOB
);
CREATE UNIQUE INDEX IF NOT EXISTS uploads_sha256 ON uploads (sha256);
CREATE TABLE IF NOT EXISTS runs (
    run_id              VARCHAR PRIMARY KEY,
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
);
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
""" + SCENARIOS_TABLE


# Steps from each older schema version to the next; each runs in one transaction.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # v1 -> v2: 'flops_derived' (bool) becomes 'derived_field' (which of N, D, C was derived).
    1: (
        "ALTER TABLE runs ADD COLUMN derived_field VARCHAR",
        "UPDATE runs SET derived_field = CASE WHEN flops_derived THEN 'flops' END",
        "ALTER TABLE runs DROP COLUMN flops_derived",
    ),
    # v2 -> v3: runs keep their hyperparameters, both losses and active parameters (issue 12).
    2: tuple(f"ALTER TABLE runs ADD COLUMN {column}" for column in (
        "learning_rate DOUBLE", "batch_size DOUBLE", "batch_size_unit VARCHAR", "warmup_steps DOUBLE",
        "lr_schedule VARCHAR", "loss_smoothed DOUBLE", "n_params_active DOUBLE")),
    # v3 -> v4: saved Plan scenarios (issue 15; engine.data.scenarios).
    3: (SCENARIOS_TABLE,),
}


def _is_pg(con: object) -> TypeGuard[pg.PgConnection]:
    """Whether ``con`` is a connection to a PostgreSQL store (engine.data.pg) rather than DuckDB."""
    return isinstance(con, pg.PgConnection)


def _ddl(con: object, sql: str) -> str:
    """The schema's DDL as this connection's database spells it (engine.data.pg.ddl on PostgreSQL)."""
    return pg.ddl(sql) if _is_pg(con) else sql


_SET_VERSION = ("INSERT INTO meta VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value")


def _schema_version(con: duckdb.DuckDBPyConnection) -> int:
    tables = {t for (t,) in con.execute("SELECT table_name FROM information_schema.tables "
                                        "WHERE table_schema = current_schema()").fetchall()}
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
        raise RuntimeError(f"the database has schema version {found}, newer than this FLOPwise ({SCHEMA_VERSION})")
    for version in range(found, SCHEMA_VERSION):
        with transaction(con):
            for statement in MIGRATIONS[version]:
                con.execute(_ddl(con, statement))
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


def connect(path: Path, *, wait_s: float | None = None, on_wait: Waiting | None = None) -> duckdb.DuckDBPyConnection:
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
                    "nothing was read or written. Try again when it has finished.", holder
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

    def __init__(self, path: Path | str | None = None, *, wait_s: float | None = None,
                 on_wait: Waiting | None = None) -> None:
        location = path if path is not None else default_db_location()
        self.url: str | None = str(location) if pg.is_url(location) else None
        self.path: Path | None = None if self.url else Path(location)
        self.location = pg.redact(self.url) if self.url else str(self.path)
        """Where the store is: the file's path, or the URL without its password."""
        self.wait_s = wait_s
        self.on_wait = on_wait
        self._con: duckdb.DuckDBPyConnection | None = None
        self._pg = (pg.Backend(self.url, wait_s=_wait_s() if wait_s is None else wait_s, to_frame=_duckdb_frame)
                    if self.url else None)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.exclusive(), self.connect() as con:
            migrate(con)
            con.execute(_ddl(con, SCHEMA))
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
        return f"{parts.path.lstrip('/') or 'postgres'} on {parts.hostname or 'localhost'}:{parts.port or 5432}"

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
    def connect(self, *, wait_s: float | None = None, on_wait: Waiting | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one unit of work, closed (and the file lock released) afterwards."""
        if self._pg is not None:
            with self._pg.unit(wait_s) as pg_con:
                yield cast(duckdb.DuckDBPyConnection, pg_con)  # the API subset the store uses
            return
        assert self.path is not None
        con = connect(self.path, wait_s=self.wait_s if wait_s is None else wait_s, on_wait=on_wait or self.on_wait)
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

    def __enter__(self) -> "Store":
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


def open_store(path: Path | str | None = None, *, load_published_data: bool = True, wait_s: float | None = None,
               on_wait: Waiting | None = None) -> Store:
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


def load_published(
    con: duckdb.DuckDBPyConnection, datasets_dir: Path = DATASETS_DIR
) -> dict[str, int]:
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
        current = con.execute(
            "SELECT sha256 FROM uploads WHERE upload_id = ?", [upload_id]
        ).fetchone()
        if current and current[0] == digest:
            continue
        runs = (
            published.read_runs(source, datasets_dir)
            if source.source_id in published.READERS
            else None
        )
        with transaction(con):
            con.execute("DELETE FROM runs WHERE upload_id = ?", [upload_id])
            con.execute("DELETE FROM uploads WHERE upload_id = ?", [upload_id])
            con.execute(
                "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (source_id) DO UPDATE SET "
                "title = excluded.title, citation = excluded.citation, url = excluded.url, "
                "licence = excluded.licence, upstream = excluded.upstream",
                [source.source_id, source.title, source.citation, source.url, source.licence,
                 source.upstream],
            )
            n_rows = 0 if runs is None else len(runs)
            con.execute(
                "INSERT INTO uploads VALUES (?, 'published', ?, ?, ?, ?, ?, 0, NULL, ?)",
                [upload_id, source.source_id, source.file, digest,
                 datetime.now(timezone.utc).replace(tzinfo=None), n_rows, data],
            )
            if runs is not None:
                runs = runs.assign(upload_id=upload_id)
                _insert_frame(con, "runs", runs)
        added[source.source_id] = n_rows
    return added


def run_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Number of stored runs per source."""
    rows = con.execute("SELECT source, count(*) FROM runs GROUP BY source ORDER BY source").fetchall()
    return {source: n for source, n in rows}


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
    sources = [s for (s,) in con.execute(f"SELECT DISTINCT source FROM runs WHERE {_FIT_READY} ORDER BY 1").fetchall()]
    sets = [s for (s,) in con.execute(f"SELECT DISTINCT coalesce(loss_eval_set, ?) FROM runs WHERE {_FIT_READY} "
                                      "ORDER BY 1", [NOT_GIVEN]).fetchall()]
    uploads = dict(con.execute(
        f"SELECT upload_id, file_name FROM uploads WHERE kind = 'user' AND upload_id IN "
        f"(SELECT DISTINCT upload_id FROM runs WHERE {_FIT_READY}) ORDER BY received_at").fetchall())
    (n_ready,) = _one_row(con.execute(f"SELECT count(*) FROM runs WHERE {_FIT_READY}"))
    return {"sources": sources, "eval_sets": sets, "uploads": uploads, "n_fit_ready": n_ready}


def selection_count(con: duckdb.DuckDBPyConnection, selection: RunFilter) -> int:
    """How many runs the selection holds."""
    where, params = _selection_where(selection, _is_pg(con))
    return _one_row(con.execute(f"SELECT count(*) FROM runs WHERE {where}", params))[0]


_PROFILE_COLUMNS = ("upload_id", "source", "n_params", "n_tokens", "loss", "loss_eval_set", "n_params_convention",
                    "loss_smoothed", "learning_rate", "batch_size")
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

    n_runs, cells_several, smoothed, hyper = _one_row(query(
        "SELECT (SELECT count(*) FROM _selected), "
        "(SELECT count(*) FROM (SELECT 1 FROM _selected GROUP BY n_params, n_tokens HAVING count(*) > 1)), "
        "(SELECT count(loss_smoothed) > 0 FROM _selected), "
        "(SELECT count(learning_rate) + count(batch_size) > 0 FROM _selected)"))
    sets = dict(query(
        "SELECT coalesce(loss_eval_set, '(not stated) in ' || CASE WHEN source = ? THEN upload_id ELSE source END), "
        "count(*) FROM _selected GROUP BY 1 ORDER BY 2 DESC", [USER_SOURCE]).fetchall())
    conventions = dict(query("SELECT n_params_convention, count(*) FROM _selected "
                             "WHERE n_params_convention IS NOT NULL GROUP BY 1 ORDER BY 2 DESC").fetchall())
    dup_groups, dup_origins = _one_row(query(
        ", keyed AS (SELECT upload_id, "
        "round(n_params / pow(10, floor(log10(n_params)) - 2)) * pow(10, floor(log10(n_params)) - 2) AS n, "
        "round(n_tokens / pow(10, floor(log10(n_tokens)) - 2)) * pow(10, floor(log10(n_tokens)) - 2) AS d, "
        "round(loss, 3) AS l FROM _selected), "
        "shared AS (SELECT list(DISTINCT upload_id) AS origins FROM keyed GROUP BY n, d, l "
        "HAVING count(DISTINCT upload_id) > 1) "
        "SELECT count(*), list_sort(list_distinct(flatten(list(origins)))) FROM shared"))
    return {"n_runs": n_runs, "data_sets": sets, "conventions": conventions, "duplicate_groups": dup_groups,
            "duplicate_origins": dup_origins or [], "cells_with_several_runs": cells_several,
            "has_smoothed_loss": bool(smoothed), "has_hyperparameters": bool(hyper)}


def sample_runs(con: duckdb.DuckDBPyConnection, selection: RunFilter, limit: int) -> pd.DataFrame:
    """At most ``limit`` of the selected runs, all columns: a fixed pseudo-random sample (by a hash
    of the row's id), so a narrower filter keeps the runs it had. The rows are picked first and
    fetched after, so only the sample's columns are read (a third of the time at 10^6 runs). On
    PostgreSQL the hash is of the run id, read in order from an index (engine.data.pg.INDEXES)."""
    where, params = _selection_where(selection, _is_pg(con))
    columns = ", ".join(f'"{c}"' for c in RUN_COLUMNS)
    if _is_pg(con):  # no rowid there: the hash of the run id orders the sample
        return con.execute(f"SELECT {columns} FROM runs WHERE {where} ORDER BY hashtext(run_id), run_id LIMIT ?",
                           [*params, int(limit)]).df()
    return con.execute(f"SELECT {columns} FROM runs WHERE rowid IN (SELECT rowid FROM runs WHERE {where} "
                       "ORDER BY hash(rowid) LIMIT ?) ORDER BY hash(rowid)", [*params, int(limit)]).df()


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


def store_upload(con: duckdb.DuckDBPyConnection, report: IngestReport, data: bytes) -> StoredUpload:
    """Store an upload's accepted rows, the upload record and its original bytes, in one
    transaction. The same bytes again (same sha256) add nothing and return the earlier upload.
    Concurrent writers are retried on DuckDB's optimistic-concurrency conflicts (on PostgreSQL: on
    the same file's unique key, taken by a writer that committed first). On PostgreSQL the rows go
    in one COPY inside the transaction, so a writer killed mid-upload leaves nothing of it."""
    if report.n_accepted == 0:
        raise IngestError(f"{report.file_name}: no usable rows ({report.n_rejected} rejected); nothing stored")
    upload_id = f"u-{report.sha256[:16]}"
    accepted = report.accepted
    if "n_params_convention" not in accepted:
        accepted = accepted.assign(n_params_convention="total")
    # Only the columns the file filled travel (the rest stay NULL; DuckDB scans the frame in place),
    # with the run id built in SQL: a million-row upload's cost is then DuckDB's, not Python objects'.
    filled = [c for c in RUN_COLUMNS if c in accepted and accepted[c].notna().any()]
    incoming = accepted[["row", *filled]]
    columns = ", ".join(f'"{c}"' for c in filled)
    for attempt in range(_MAX_ATTEMPTS):
        existing = con.execute(
            "SELECT upload_id, n_accepted, n_rejected FROM uploads WHERE sha256 = ?", [report.sha256]
        ).fetchone()
        if existing:
            return StoredUpload(existing[0], False, existing[1], existing[2])
        try:
            with transaction(con):
                con.execute(
                    "INSERT INTO uploads VALUES (?, 'user', ?, ?, ?, ?, ?, ?, ?, ?)",
                    [upload_id, USER_SOURCE, report.file_name, report.sha256,
                     datetime.now(timezone.utc).replace(tzinfo=None), report.n_accepted,
                     report.n_rejected, json.dumps(report.mapping), data],
                )
                if _is_pg(con):  # one COPY stream, the run ids built the same way
                    run_ids = upload_id + ":" + incoming["row"].astype("int64").astype(str).str.zfill(7)
                    pg.copy_rows(con, "runs", incoming[filled].assign(
                        run_id=run_ids.to_numpy(), upload_id=upload_id, source=USER_SOURCE))
                else:
                    con.register("_incoming", incoming)
                    try:
                        con.execute(f"INSERT INTO runs (run_id, upload_id, source, {columns}) SELECT "
                                    "? || ':' || lpad(CAST(\"row\" AS VARCHAR), 7, '0'), ?, ?, "
                                    f"{columns} FROM _incoming", [upload_id, upload_id, USER_SOURCE])
                    finally:
                        with contextlib.suppress(duckdb.Error):
                            con.unregister("_incoming")
            if _is_pg(con) and report.n_accepted >= pg.ANALYZE_ROWS:
                con.execute("ANALYZE runs")  # fresh statistics, so the planner sees the new rows
            return StoredUpload(upload_id, True, report.n_accepted, report.n_rejected)
        except (duckdb.TransactionException, duckdb.ConstraintException, pg.ConstraintError, pg.ConflictError):
            time.sleep(0.01 * (attempt + 1))  # another writer won the race; look again
    raise RuntimeError(f"could not store {report.file_name} after {_MAX_ATTEMPTS} attempts (database busy)")


def delete_upload(con: duckdb.DuckDBPyConnection, upload_id: str) -> int:
    """Delete a user upload and its runs; returns the number of runs removed."""
    kind = con.execute("SELECT kind FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
    if kind is None:
        raise KeyError(f"no upload {upload_id!r}")
    if kind[0] != "user":
        raise ValueError(f"{upload_id} is published data and cannot be deleted")
    with transaction(con):
        n = _one_row(con.execute("SELECT count(*) FROM runs WHERE upload_id = ?", [upload_id]))[0]
        con.execute("DELETE FROM runs WHERE upload_id = ?", [upload_id])
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
    row = con.execute("SELECT original_bytes FROM uploads WHERE upload_id = ?", [upload_id]).fetchone()
    if row is None:
        raise KeyError(f"no upload {upload_id!r}")
    return bytes(row[0])


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
        [fit_id, name, law_form, datetime.now(timezone.utc).replace(tzinfo=None), n_points, json.dumps(record)],
    )
    return fit_id


def list_fits(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute("SELECT fit_id, name, law_form, created_at, n_points, record FROM fits ORDER BY created_at").fetchall()
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
    con.execute("INSERT INTO hardware VALUES (?, ?, ?, ?)",
                [device.hardware_id, device.name, datetime.now(timezone.utc).replace(tzinfo=None),
                 json.dumps(device.as_row())])
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
    con.execute("UPDATE hardware SET name = ?, record = ? WHERE hardware_id = ?",
                [device.name, json.dumps(device.as_row()), device.hardware_id])
    return device


# --- benchmarks --------------------------------------------------------------------------------


def save_benchmark(con: duckdb.DuckDBPyConnection, result: dict) -> str:
    """Store a microbenchmark result (engine.cost.microbench.BenchResult.as_dict()); returns its id."""
    created = datetime.now(timezone.utc).replace(tzinfo=None)
    bench_id = f"bench-{created:%Y%m%d-%H%M%S}-{hashlib.sha256(json.dumps(result, sort_keys=True).encode()).hexdigest()[:6]}"
    con.execute("INSERT INTO benchmarks VALUES (?, ?, ?, ?, ?, ?)",
                [bench_id, created, result["device"], result["mode"], json.dumps(result["machine"]), json.dumps(result)])
    return bench_id


def list_benchmarks(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Stored benchmarks, newest first: bench_id, created_at, device, mode, machine, result."""
    rows = con.execute("SELECT bench_id, created_at, device, mode, machine, result FROM benchmarks "
                       "ORDER BY created_at DESC").fetchall()
    return [{"bench_id": b, "created_at": t, "device": d, "mode": m, "machine": json.loads(mc), "result": json.loads(r)}
            for b, t, d, m, mc, r in rows]
