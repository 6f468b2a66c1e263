"""Uploads in the store: whole or nothing, recognised when repeated, deletable, concurrent,
and surviving a killed process; each test on a DuckDB file and on a real PostgreSQL server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import duckdb
import pytest

from engine.data import pg
from engine.data.ingest import IngestError, read_upload
from engine.data.store import (
    SCHEMA_VERSION,
    Store,
    delete_upload,
    list_uploads,
    migrate,
    open_store,
    query_runs,
    store_upload,
    upload_bytes,
)
from engine.paths import REPO_ROOT

SWEEP = b"params,tokens,loss\n70M,1.4B,3.5\n1.3B,26B,2.9\nbad,1,2\n"


@pytest.fixture
def store(any_store):
    """This module's stores: a DuckDB file, then a PostgreSQL database (conftest.store_url)."""
    return any_store


@pytest.fixture
def new_location(request, store_url, tmp_path):
    """A factory of fresh, empty store locations on this test's backend: another file, or another
    database on the session's PostgreSQL server."""
    if pg.is_url(store_url):
        cluster = request.getfixturevalue("pg_cluster")
        return lambda name: cluster.create_database()
    return lambda name: tmp_path / f"{name}.duckdb"


def raw_connect(location):
    """A plain connection to the location's database, without the store (to build an old schema)."""
    return pg.connect(location, wait_s=10) if pg.is_url(location) else duckdb.connect(str(location))


def test_accepted_rows_and_the_original_bytes_are_stored(store):
    con = store.cursor()
    stored = store_upload(con, read_upload(SWEEP, "s.csv"), SWEEP)
    assert stored.added and (stored.n_accepted, stored.n_rejected) == (2, 1)
    runs = query_runs(con, ["user"])
    assert len(runs) == 2 and set(runs["upload_id"]) == {stored.upload_id}
    assert upload_bytes(con, stored.upload_id) == SWEEP
    row = list_uploads(con).iloc[0]
    assert row["file_name"] == "s.csv" and row["n_rejected"] == 1 and "n_params" in row["column_mapping"]


def test_the_same_file_again_adds_nothing(store):
    con = store.cursor()
    first = store_upload(con, read_upload(SWEEP, "s.csv"), SWEEP)
    again = store_upload(con, read_upload(SWEEP, "renamed.csv"), SWEEP)
    assert not again.added and again.upload_id == first.upload_id
    assert len(query_runs(con, ["user"])) == 2


def test_an_upload_can_be_deleted_but_published_data_cannot(store):
    con = store.cursor()
    stored = store_upload(con, read_upload(SWEEP, "s.csv"), SWEEP)
    assert delete_upload(con, stored.upload_id) == 2
    assert query_runs(con, ["user"]).empty and list_uploads(con).empty
    with pytest.raises(ValueError, match="published"):
        delete_upload(con, "published:hoffmann2022")


def test_a_file_with_no_usable_rows_stores_nothing(store):
    data = b"params,tokens,loss\n-1,1e9,2\n"
    report = read_upload(data, "bad.csv")
    with pytest.raises(IngestError, match="no usable rows"):
        store_upload(store.cursor(), report, data)
    assert list_uploads(store.cursor()).empty


def sweep_file(thread: int, index: int) -> bytes:
    rows = "".join(
        f"{(thread * 100 + index + 1) * 1e6:.0f},{(r + 1) * 1e9:.0f},{2 + r / 10 + index / 1e4}\n"
        for r in range(5)
    )
    return ("params,tokens,loss\n" + rows).encode()


@pytest.mark.slow
def test_eight_threads_fifty_files_each_every_row_stored_once(store):
    errors = []

    def work(t: int) -> None:
        con = store.cursor()
        try:
            for i in range(50):
                data = sweep_file(t, i)
                store_upload(con, read_upload(data, f"t{t}-{i}.csv"), data)
                if i % 10 == 0:  # the same bytes again from this thread: recognised, nothing added
                    store_upload(con, read_upload(data, "again.csv"), data)
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    runs = query_runs(store.cursor(), ["user"])
    assert len(runs) == 8 * 50 * 5 and runs["run_id"].is_unique
    assert len(list_uploads(store.cursor())) == 400


N_BIG = 200_000  # rows: DuckDB takes about a second to insert them, so a kill can land inside
# The writer: opens the store, parses the file, says "writing" just before store_upload (the one
# transaction: the upload row, then the runs, then COMMIT) and "done" once it has returned.
INGEST_SCRIPT = """
import sys
from engine.data.ingest import read_upload
from engine.data.store import open_store, store_upload
data = open(sys.argv[2], 'rb').read()
with open_store(sys.argv[1], load_published_data=False) as s:
    con = s.cursor()
    report = read_upload(data, 'big.csv')
    print('writing', flush=True)
    store_upload(con, report, data)
    print('done', flush=True)
"""
# Kills at these fractions of the measured write time; the commit is the last ~20% of it, so the
# early ones land in the INSERT even if this run is several times faster than the measured one.
KILL_AT = (0.1, 0.4, 0.7)


def _write(db, big, stderr, kill_after: float | None) -> tuple[str, float, int, int]:
    """Run the writer; kill it kill_after seconds after it says "writing" (None: let it finish).
    Returns (phase, seconds from "writing" to the kill or to "done", uploads, runs) where phase is
    "mid-write" (killed after "writing", before "done"), "after" (killed after "done") or "finished"."""
    proc = subprocess.Popen(
        [sys.executable, "-c", INGEST_SCRIPT, str(db), str(big)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "writing", f"the writer failed before writing: {stderr.name}"
        start = time.monotonic()
        if kill_after is None:
            assert proc.stdout.readline().strip() == "done"
            elapsed = time.monotonic() - start
            assert proc.wait(timeout=60) == 0
            phase = "finished"
        else:
            time.sleep(kill_after)
            os.kill(proc.pid, signal.SIGKILL)
            elapsed = time.monotonic() - start
            rest = proc.stdout.read()
            code = proc.wait(timeout=60)
            if code == 0 and "done" in rest:  # this run wrote faster than the measured one: no kill
                phase = "finished"
            else:  # killed by the signal, not crashed (a crash would also leave no "done")
                assert code == -signal.SIGKILL, f"the writer exited on its own ({code}): {stderr.name}"
                phase = "after" if "done" in rest else "mid-write"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    with Store(db) as s:  # opens, replays the log
        con = s.cursor()
        n_uploads = con.execute("SELECT count(*) FROM uploads WHERE kind = 'user'").fetchone()[0]
        n_runs = con.execute("SELECT count(*) FROM runs WHERE source = 'user'").fetchone()[0]
    return phase, elapsed, n_uploads, n_runs


@pytest.mark.slow
def test_a_writer_killed_mid_upload_leaves_the_upload_whole_or_absent(tmp_path, new_location):
    big = tmp_path / "big.csv"
    with big.open("w") as f:
        f.write("params,tokens,loss\n")
        for i in range(N_BIG):
            f.write(f"{1e6 + i},{2e9 + i},{3 + i * 1e-7}\n")
    with (tmp_path / "stderr-full.txt").open("w") as err:
        _phase, write_s, *counts = _write(new_location("full"), big, err, None)
    assert tuple(counts) == (1, N_BIG)  # uninterrupted: the whole file, counted by the queries below
    outcomes = []
    for fraction in KILL_AT:
        with (tmp_path / f"stderr-{fraction}.txt").open("w") as err:
            outcomes.append(_write(new_location(f"kill-{fraction}"), big, err, fraction * write_s))
    said = f"write {write_s:.2f} s; kills (phase, s after 'writing', uploads, runs): {outcomes}"
    for _, _, n_uploads, n_runs in outcomes:
        assert (n_uploads, n_runs) in {(0, 0), (1, N_BIG)}, said  # whole or absent, never part of it
    mid = [o for o in outcomes if o[0] == "mid-write"]
    assert mid, f"no kill landed between 'writing' and 'done': {said}"
    # and at least one of them before the commit: the transaction it was in was discarded
    assert any(o[2:] == (0, 0) for o in mid), f"no kill landed before the commit: {said}"


# The runs table as the first release created it (flops_derived instead of derived_field).
V1_DDL = """
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY, upload_id VARCHAR NOT NULL, source VARCHAR NOT NULL, model_name VARCHAR,
    n_params DOUBLE CHECK (n_params > 0 AND isfinite(n_params)),
    n_params_convention VARCHAR CHECK (n_params_convention IN ('total', 'non_embedding', 'active')),
    n_tokens DOUBLE CHECK (n_tokens > 0 AND isfinite(n_tokens)),
    unique_tokens DOUBLE CHECK (unique_tokens > 0 AND isfinite(unique_tokens)),
    flops DOUBLE CHECK (flops > 0 AND isfinite(flops)), flops_derived BOOLEAN NOT NULL DEFAULT FALSE,
    loss DOUBLE CHECK (loss > 0 AND isfinite(loss)), loss_eval_set VARCHAR, precision VARCHAR,
    n_experts INTEGER CHECK (n_experts >= 1), top_k INTEGER CHECK (top_k >= 1),
    granularity DOUBLE CHECK (granularity > 0), hardware VARCHAR, domain VARCHAR, frontier BOOLEAN,
    notes VARCHAR);
INSERT INTO runs (run_id, upload_id, source, flops, flops_derived) VALUES
    ('a', 'u', 's', 1e20, TRUE), ('b', 'u', 's', 2e20, FALSE);
"""


def test_a_first_release_database_is_migrated(new_location):
    path = new_location("v1")
    con = raw_connect(path)
    con.execute(pg.ddl(V1_DDL) if pg.is_url(path) else V1_DDL)
    con.close()
    con = raw_connect(path)
    assert migrate(con) == 1
    rows = dict(con.execute("SELECT run_id, derived_field FROM runs").fetchall())
    assert rows == {"a": "flops", "b": None}
    assert migrate(con) == SCHEMA_VERSION  # recorded: a second open does not migrate again
    assert SCHEMA_VERSION == 5  # v4 added scenarios, v5 DuckDB's two run tables (RUNS_TABLES)
    assert con.execute("SELECT count(*) FROM scenarios").fetchone() == (0,)  # v3 -> v4 created it
    con.close()
    with open_store(path) as s:
        runs = query_runs(s.cursor(), ["s"])
        assert runs["derived_field"].iloc[0] == "flops" and runs["derived_field"].isna().iloc[1]
        assert runs["learning_rate"].isna().all() and runs["loss_smoothed"].isna().all()  # v3: new, empty


def test_runs_of_some_uploads_only(store):
    from engine.data.runs import RunFilter
    from engine.data.store import selected_runs

    con = store.cursor()
    first = store_upload(con, read_upload(SWEEP, "a.csv"), SWEEP)
    other = SWEEP.replace(b"3.5", b"3.6")
    store_upload(con, read_upload(other, "b.csv"), other)
    kept = selected_runs(con, RunFilter(sources=("user", "hoffmann2022"), user_uploads=(first.upload_id,)))
    assert set(kept[kept.source == "user"].upload_id) == {first.upload_id}
    assert (kept.source == "hoffmann2022").sum() == 234
