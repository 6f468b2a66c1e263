"""A store that never turns a writer away: processes take turns on one DuckDB file, a writer that
finds it locked waits (saying so on stderr), and one that waits too long exits 2 with a message,
never a traceback. Real processes on a real file, and the same on a real PostgreSQL server, where
eight writers write at once and what they wait for is the store's set-up lock (migrations and the
published data, engine.data.pg.Backend.exclusive) held by another process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from engine.data.store import open_store, run_counts
from engine.paths import REPO_ROOT

ROWS = 2000


def sweep(path, seed: int) -> None:
    """A 2,000-row sweep file; each seed gives different bytes (so a different upload)."""
    lines = ["params,tokens,loss"]
    for i in range(ROWS):
        n = 1e7 * (1 + (i * 7 + seed) % 997)
        lines.append(f"{n:.6g},{20 * n * (1 + seed / 100):.6g},{2.0 + (i % 101) / 100 + seed / 1000:.6g}")
    path.write_text("\n".join(lines) + "\n")


def cli(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def hold_lock(db, seconds: float | None = None) -> subprocess.Popen:
    """Another process that opens the store and keeps it (its write lock; on PostgreSQL its set-up
    lock) for ``seconds``, or, without, until a line arrives on its stdin (``release``); it prints
    'held' once it has it."""
    wait = f"time.sleep({seconds})" if seconds is not None else "sys.stdin.readline()"
    code = textwrap.dedent(f"""
        import sys, time
        from engine.data.store import open_store
        store = open_store({str(db)!r})
        if store.dialect == "postgresql":
            with store.exclusive():
                print("held", flush=True)
                {wait}
        else:
            store.cursor().execute("SELECT count(*) FROM runs").fetchone()
            print("held", flush=True)
            {wait}
        store.close()
    """)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def release(holder: subprocess.Popen) -> None:
    holder.stdin.write("go\n")
    holder.stdin.flush()


def user_runs(db) -> int:
    with open_store(db, load_published_data=False) as store:
        return run_counts(store.cursor()).get("user", 0)


@pytest.fixture
def db(store_url):
    """Each test's store: a DuckDB file, then a PostgreSQL database (conftest.store_url)."""
    return store_url


@pytest.mark.slow
def test_eight_processes_ingesting_at_once_store_every_row(tmp_path, db):
    open_store(db).close()  # the published data are loaded once, before the race
    files = []
    for seed in range(8):
        files.append(tmp_path / f"sweep{seed}.csv")
        sweep(files[-1], seed)
    procs = [cli("ingest", str(f), "--db", str(db), "--json") for f in files]
    outcomes = [(p.wait(timeout=240), p.stderr.read()) for p in procs]
    assert [code for code, _ in outcomes] == [0] * 8, [err[-400:] for _, err in outcomes]
    assert not any("Traceback" in err for _, err in outcomes)
    assert user_runs(db) == 8 * ROWS


@pytest.mark.slow
def test_a_writer_waits_for_another_process_and_says_so(tmp_path, db):
    file = tmp_path / "sweep.csv"
    sweep(file, 1)
    holder = hold_lock(db)  # until released: however long the CLI takes to start on a loaded machine
    said = []
    try:
        proc = cli("ingest", str(file), "--db", str(db))
        for line in proc.stderr:  # the CLI says it waits, while the holder still has the store
            said.append(line)
            if "Waiting for the run store" in line:
                break
    finally:
        release(holder)
        holder.wait(timeout=30)
    code, err = proc.wait(timeout=120), "".join(said) + proc.stderr.read()
    assert code == 0, err
    assert "Waiting for the run store" in err and "process" in err, err
    assert user_runs(db) == ROWS


def test_a_writer_that_waits_too_long_exits_2_with_a_message(tmp_path, db):
    file = tmp_path / "sweep.csv"
    sweep(file, 2)
    holder = hold_lock(db, 8.0)
    try:
        proc = cli("ingest", str(file), "--db", str(db), env={"FLOPWISE_DB_WAIT_S": "1"})
        code, err = proc.wait(timeout=60), proc.stderr.read()
    finally:
        holder.kill()
        holder.wait()
    assert code == 2
    assert "stayed locked for 1 s" in err and "nothing was read or written" in err
    assert "Traceback" not in err
    assert user_runs(db) == 0  # nothing partial
