"""The shared store on PostgreSQL against the DuckDB file (issue 15, "Measured, in bench/"): ingest of
1,000,000 rows, a Runs page rerun at 10^6 stored runs, and eight concurrent CLI writers' longest
wait, each on both backends; ratios PostgreSQL / DuckDB. One run of each (not a median of runs).

The PostgreSQL server is a throwaway cluster this script starts (tests/pg.py: Debian's binaries,
``initdb`` in a temporary folder, a free port of 127.0.0.1) with the server's defaults (fsync on),
stopped and removed at the end; the DuckDB files live in a temporary folder. The sweep files and the
measurements are bench_store's (issue 12), pointed at a ``postgresql://`` URL or a file:

- ingest: a --rows CSV (default 1,000,000); engine.data.ingest.read_upload then
  engine.data.store.store_upload into a fresh store without the published data, in this process:
  parse + validate and store seconds (the parse is the same for both; the store differs).
- runs: a store holding the published data and --runs-rows uploaded runs (default 1,000,000),
  served (``streamlit run app.py`` with FLOPWISE_DB at the file or the URL); /runs?sources=user in
  chromium, the low end of "Parameters N (log10 range)" stepped with ArrowRight (2 warm-ups, then
  --repeats measured, default 3), from the key press until idle; median (bench_store.runs_rerun).
- writers: (a) eight ``python -m engine ingest`` subprocesses started at once (a barrier) into one
  store holding the published data, each with its own 2,000-row file: rows stored against 16,000 and
  the wall times (on 2 cores mostly eight Pythons importing at once). (b) The wait itself: eight
  writer processes that have imported and parsed their file, released together, each timing
  open_store + store_upload (the store's part: its locks and its commit); one writer alone the same
  way first; the longest wait is the longest of the eight's store times less the one alone.

Run: .venv/bin/python bench/bench_team_store.py [--only ingest,runs,writers] [--rows N]
[--runs-rows N] [--repeats N] [--json]. Needs Debian's postgresql (``make postgresql``) and, for
runs, chromium (``make chromium``). Prints figures; not pass/fail; on a busy 2-core machine absolute
times swing by 2x, ratios less.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import bench_store as bs

from tests import pg as pgtest
from tests.browser import harness as h

PARTS = ("ingest", "runs", "writers")


def backends(cluster: pgtest.Cluster, tmp: Path) -> Callable[[str], dict[str, str]]:
    """name -> {"duckdb": a new file's path, "postgresql": a new database's URL}."""

    def fresh(name: str) -> dict[str, str]:
        return {"duckdb": str(tmp / f"{name}.duckdb"), "postgresql": cluster.create_database(f"b_{name}")}

    return fresh


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def bench_ingest(tmp: Path, fresh, rows: int) -> dict:
    csv = tmp / f"sweep-{rows}.csv"
    bs.write_sweep(csv, rows=rows, seed=1)
    where = fresh("ingest")
    out: dict = {"rows": rows, "file_mb": csv.stat().st_size / 1e6}
    for backend, location in where.items():
        out[backend] = bs.guarded(f"ingest on {backend}", bs.product_ingest_s, csv, location)
    duck, pg = out["duckdb"], out["postgresql"]
    out["store_ratio"] = ratio(pg.get("store_s"), duck.get("store_s"))
    out["total_ratio"] = ratio(pg.get("product_s"), duck.get("product_s"))
    for backend in ("duckdb", "postgresql"):
        r = out[backend]
        if "product_s" in r:
            print(
                f"Ingest of {rows:,} rows ({out['file_mb']:.0f} MB CSV) into {backend:>10}: "
                f"{r['product_s']:.2f} s (parse + validate {r['parse_validate_s']:.2f} s, "
                f"store {r['store_s']:.2f} s; {r['accepted']:,} rows)",
                flush=True,
            )
    print(
        f"Ingest PostgreSQL / DuckDB: store {fmt_ratio(out['store_ratio'])}, "
        f"whole ingest {fmt_ratio(out['total_ratio'])}",
        flush=True,
    )
    return out


def bench_runs(tmp: Path, fresh, rows: int, repeats: int) -> dict:
    from playwright.sync_api import sync_playwright

    where = fresh("runs")
    out: dict = {"stored_runs": rows}

    def one(backend: str, location: str) -> dict:
        build_s = bs.runs_store(location, rows, tmp)
        with (
            h.serve_app(location, log_path=tmp / f"runs-{backend}.log") as url,
            sync_playwright() as p,
        ):
            browser = h.launch_chromium(p)
            try:
                return {"store_build_s": build_s, **bs.runs_rerun(browser, url, rows, repeats)}
            finally:
                browser.close()

    for backend, location in where.items():
        r = out[backend] = bs.guarded(f"runs page on {backend}", one, backend, location)
        if "median_ms" in r:
            print(
                f"Runs page rerun, {rows:,} stored runs, {backend:>10}: median {r['median_ms']:,.0f} ms "
                f"(min {r['min_ms']:,.0f}, max {r['max_ms']:,.0f}, n {r['n']}); first visit "
                f"{r['first_visit_ms']:,.0f} ms; store built in {r['store_build_s']:.1f} s",
                flush=True,
            )
        elif "crashed" in r or "error" in r:
            print(f"Runs page on {backend}: {r.get('crashed') or r.get('error')}", flush=True)
    out["rerun_ratio"] = ratio(out["postgresql"].get("median_ms"), out["duckdb"].get("median_ms"))
    print(f"Runs page rerun PostgreSQL / DuckDB: {fmt_ratio(out['rerun_ratio'])}", flush=True)
    return out


# A writer for (b): imports and parses first, says "ready", waits for "go" on stdin, then times the
# store's part (open, store_upload, commit) and prints it.
WRITER_SCRIPT = """
import json, sys, time
from engine.data.ingest import read_upload
from engine.data.store import open_store, store_upload
data = open(sys.argv[2], 'rb').read()
report = read_upload(data, 'w.csv')
print('ready', flush=True)
sys.stdin.readline()
start = time.perf_counter()
with open_store(sys.argv[1]) as s:
    stored = store_upload(s.cursor(), report, data)
print(json.dumps({'store_s': time.perf_counter() - start, 'added': stored.added}), flush=True)
"""


def store_waits(files: list[Path], location: str) -> list[float]:
    """Seconds each writer spent in the store (open_store + store_upload), all released at once."""
    import subprocess

    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, location, str(f)],
            cwd=REPO,
            env=bs.child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    times = []
    for p in procs:
        assert p.stdout is not None
        times.append(json.loads(p.stdout.readline())["store_s"])
        p.wait(timeout=600)
    return times


def bench_writers(tmp: Path, fresh) -> dict:
    files = []
    for i in range(bs.WRITERS):
        files.append(tmp / f"writer-{i}.csv")
        bs.write_sweep(files[-1], rows=bs.WRITER_ROWS, seed=100 + i, prefix=f"w{i}")
    solo_file = tmp / "writer-solo.csv"
    bs.write_sweep(solo_file, rows=bs.WRITER_ROWS, seed=99, prefix="solo")
    expected = bs.WRITERS * bs.WRITER_ROWS
    out: dict = {}
    for backend, location in fresh("writers").items():

        def run(location: str = location) -> dict:
            bs.prepared_store(location)
            solo = bs.cli_ingest(solo_file, location)
            results = bs.concurrent_ingests(files, location)
            stored = bs.count_user_runs(location) - bs.WRITER_ROWS  # less the solo writer's rows
            summary = bs.summarise_writers(results, stored, expected)
            summary["solo_s"] = solo["wall_s"]
            summary["walls_s"] = sorted(round(r["wall_s"], 2) for r in results)
            more = []
            for i in range(bs.WRITERS):
                more.append(tmp / f"store-writer-{i}.csv")
                bs.write_sweep(more[-1], rows=bs.WRITER_ROWS, seed=200 + i, prefix=f"s{i}")
            bs.write_sweep(tmp / "writer-solo-2.csv", rows=bs.WRITER_ROWS, seed=98, prefix="solo2")
            (alone,) = store_waits([tmp / "writer-solo-2.csv"], location)
            together = store_waits(more, location)
            summary["store_alone_s"] = alone
            summary["store_s"] = sorted(round(t, 3) for t in together)
            summary["longest_wait_s"] = max(together) - alone
            summary["all_rows_stored"] = bs.count_user_runs(location) == (2 + 2 * bs.WRITERS) * bs.WRITER_ROWS
            return summary

        r = out[backend] = bs.guarded(f"writers on {backend}", run)
        bs.print_writers(f"{bs.WRITERS} concurrent CLI writers x {bs.WRITER_ROWS:,} rows, {backend:>10}", r)
        if "longest_wait_s" in r:
            print(
                f"    CLI: one writer alone {r['solo_s']:.2f} s, the eight's wall times {r['walls_s']} s",
                flush=True,
            )
            print(
                f"    in the store (open + store_upload), imports and parsing done: one writer alone "
                f"{r['store_alone_s']:.3f} s, eight at once {r['store_s']} s; longest wait "
                f"{r['longest_wait_s']:.3f} s; every row stored: {r['all_rows_stored']}",
                flush=True,
            )
    out["longest_wait_ratio"] = ratio(
        out["postgresql"].get("longest_wait_s"), out["duckdb"].get("longest_wait_s")
    )
    return out


@contextlib.contextmanager
def server() -> Iterator[pgtest.Cluster]:
    if pgtest.pg_bin() is None:
        raise SystemExit("no PostgreSQL server binaries: run `make postgresql` first")
    with pgtest.cluster(durable=True) as cluster:
        yield cluster


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"parts to run (default {','.join(PARTS)})")
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the ingest file (default 1e6)")
    parser.add_argument("--runs-rows", type=int, default=1_000_000, help="stored runs for the Runs page")
    parser.add_argument("--repeats", type=int, default=3, help="measured Runs page reruns (default 3)")
    parser.add_argument("--json", action="store_true", help="also print one JSON object with every figure")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")
    import duckdb
    import psycopg

    report: dict = {"cores": os.cpu_count(), "duckdb": duckdb.__version__, "psycopg": psycopg.__version__}
    started = time.perf_counter()
    with server() as cluster, tempfile.TemporaryDirectory(prefix="flopwise-bench-team-") as tmp_name:
        tmp = Path(tmp_name)
        report["postgresql"] = cluster.psql("SHOW server_version").strip()
        print(
            f"bench_team_store: {os.cpu_count()} cores, DuckDB {duckdb.__version__}, PostgreSQL "
            f"{report['postgresql']} (throwaway cluster, fsync on), psycopg {psycopg.__version__}; "
            f"parts {', '.join(parts)}",
            flush=True,
        )
        fresh = backends(cluster, tmp)
        for part in parts:
            part_start = time.perf_counter()
            folder = tmp / part
            folder.mkdir()
            if part == "ingest":
                report["ingest"] = bs.guarded("ingest", bench_ingest, folder, fresh, args.rows)
            elif part == "runs":
                report["runs"] = bs.guarded("runs", bench_runs, folder, fresh, args.runs_rows, args.repeats)
            elif part == "writers":
                report["writers"] = bs.guarded("writers", bench_writers, folder, fresh)
            print(f"  ({part}: {time.perf_counter() - part_start:.0f} s)", flush=True)
    report["wall_s"] = time.perf_counter() - started
    print(f"({report['wall_s']:.0f} s in all)")
    if args.json:
        print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
