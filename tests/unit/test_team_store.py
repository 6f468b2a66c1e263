"""What only the PostgreSQL store has (engine.data.pg), on a real server (tests/pg.py): the schema in
PostgreSQL's spelling, set-up run once when many processes open a new store together, the version
stamp that moves with another connection's commit (not before), a bounded wait for another writer's lock, and
clear messages (no password) for a server that cannot be reached."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from engine.data import pg
from engine.data.ingest import read_upload
from engine.data.runs import RunFilter
from engine.data.store import (
    SCHEMA_VERSION,
    StoreBusyError,
    open_store,
    query_runs,
    run_counts,
    sample_runs,
    selected_runs,
    selection_choices,
    selection_count,
    selection_profile,
    store_upload,
)
from engine.paths import REPO_ROOT
from tests.unit.test_store import EXPECTED

SWEEP = b"params,tokens,loss\n70M,1.4B,3.5\n1.3B,26B,2.9\n"


def test_the_ddl_is_rewritten_to_postgresqls_types_and_finite_checks():
    assert pg.ddl("loss DOUBLE CHECK (loss > 0 AND isfinite(loss))") == (
        "loss DOUBLE PRECISION CHECK (loss > 0 AND "
        "(loss <> 'Infinity' AND loss <> '-Infinity' AND loss <> 'NaN'))"
    )
    assert pg.ddl("original_bytes BLOB") == "original_bytes BYTEA"
    assert pg.ddl("x DOUBLE PRECISION") == "x DOUBLE PRECISION"  # not twice


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://postgres@127.0.0.1:5432/flopwise", True),
        ("postgres://u:p@db/x", True),
        ("data/flopwise.duckdb", False),
        ("/tmp/postgresql/flopwise.duckdb", False),
        ("mysql://u@h/db", False),
    ],
)
def test_which_locations_are_postgresql_urls(url, expected):
    assert pg.is_url(url) is expected


def test_many_processes_opening_a_new_store_at_once_set_it_up_once(pg_url):
    code = f"from engine.data.store import open_store; open_store({pg_url!r}).close(); print('ok')"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outcomes = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert all(code == 0 and out.strip() == "ok" for code, out, _ in outcomes), [
        e[-500:] for *_, e in outcomes
    ]
    with open_store(pg_url, load_published_data=False) as s:
        con = s.cursor()
        assert run_counts(con) == EXPECTED  # the published data once, not six times
        assert con.execute("SELECT count(*) FROM uploads").fetchone() == (5,)
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )


def test_the_stamp_moves_with_another_connections_commit_and_only_then(pg_url):
    with (
        open_store(pg_url, load_published_data=False) as reader,
        open_store(pg_url, load_published_data=False) as writer,
    ):
        first = reader.stamp()
        run_counts(reader.cursor())  # reads do not move it
        assert reader.stamp() == first
        con = writer.cursor()
        con.execute("BEGIN TRANSACTION")
        con.execute("INSERT INTO meta VALUES ('k', 'v')")
        assert reader.stamp() == first  # a write not yet committed: nothing new to see
        con.execute("COMMIT")
        after = reader.stamp()  # its commit moves it
        assert after != first
        assert reader.stamp() == after


def test_a_writer_blocked_by_another_transaction_gives_up_after_the_wait(pg_url):
    report = read_upload(SWEEP, "s.csv")
    with open_store(pg_url, load_published_data=False, wait_s=1.0) as s:
        holder = pg.connect(pg_url, wait_s=30)
        holder.execute("BEGIN TRANSACTION")  # the same upload, not committed: its key is locked
        holder.execute(
            "INSERT INTO uploads VALUES (?, 'user', 'user', 'x.csv', ?, now()::timestamp, 2, 0, NULL, NULL)",
            ["u-held", report.sha256],
        )
        started = time.monotonic()
        with pytest.raises(StoreBusyError, match="stayed locked by another writer"):
            store_upload(s.cursor(), report, SWEEP)
        assert 0.9 <= time.monotonic() - started < 20
        holder.execute("ROLLBACK")
        holder.close()
        stored = store_upload(s.cursor(), report, SWEEP)  # the lock gone, it goes through
        assert stored.added and run_counts(s.cursor()) == {"user": 2}


def test_threads_sharing_one_store_each_get_their_own_transaction(pg_url):
    errors: list[Exception] = []
    with open_store(pg_url, load_published_data=False) as s:

        def work(i: int) -> None:
            try:
                data = SWEEP.replace(b"3.5", f"3.{i + 10}".encode())
                store_upload(s.cursor(), read_upload(data, f"{i}.csv"), data)
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors and run_counts(s.cursor()) == {"user": 12}


def test_an_unreachable_server_is_named_without_its_password():
    from tests.pg import free_port

    url = f"postgresql://ana:secret@127.0.0.1:{free_port()}/flopwise"
    with pytest.raises(
        pg.UnreachableError, match=r"cannot open the run store at postgresql://ana:\*\*\*@127"
    ) as err:
        open_store(url)
    assert "secret" not in str(err.value)
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "db", "--db", url],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        proc.returncode == 2 and "cannot open the run store" in proc.stderr and "Traceback" not in proc.stderr
    )
    assert "secret" not in proc.stderr


def upload(con, name: str, text: str):
    data = text.encode()
    return store_upload(con, read_upload(data, name), data)


def test_a_selections_count_profile_sample_and_runs_on_both_backends(store_url):
    """The Runs page's queries (engine.data.store's selection functions) on each backend: counts from
    the shipped files (234 Hoffmann runs), a planted copy of three of them found as duplicates."""
    with open_store(store_url) as store:
        con = store.cursor()
        shipped = query_runs(con, ["hoffmann2022"]).head(3)
        rows = "".join(
            f"{n * 1.0001:.6g},{d:.6g},{loss:.6g}\n"
            for n, d, loss in shipped[["n_params", "n_tokens", "loss"]].itertuples(index=False)
        )
        copy = upload(con, "copy.csv", "params,tokens,loss\n" + rows)
        both = RunFilter(sources=("hoffmann2022", "user"))
        assert selection_count(con, both) == 234 + 3
        profile = selection_profile(con, both)
        assert profile["n_runs"] == 237 and profile["duplicate_groups"] == 3
        assert profile["duplicate_origins"] == sorted([copy.upload_id, "published:hoffmann2022"])
        assert profile["data_sets"][f"(not stated) in {copy.upload_id}"] == 3
        only_copy = RunFilter(sources=("hoffmann2022", "user"), user_uploads=("u-none",))
        assert selection_count(con, only_copy) == 234  # the user's runs of other uploads only
        choices = selection_choices(con)
        assert choices["uploads"] == {copy.upload_id: "copy.csv"} and "hoffmann2022" in choices["sources"]
        sample = sample_runs(con, both, 50)
        narrower = sample_runs(con, RunFilter(sources=("hoffmann2022",)), 50)
        assert len(sample) == 50 and sample["run_id"].is_unique
        # a fixed sample: the same again, and a narrower filter keeps the runs it had of it
        assert sample_runs(con, both, 50)["run_id"].tolist() == sample["run_id"].tolist()
        kept = set(sample[sample.source == "hoffmann2022"].run_id)
        assert kept and kept <= set(narrower.run_id) and len(narrower) == 50
        everything = selected_runs(con, both)
        assert len(everything) == 237 and everything["run_id"].is_monotonic_increasing
