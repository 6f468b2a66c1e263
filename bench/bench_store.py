"""The run store under load (issue 12, "Measured, in bench/"): ingest of 1,000,000 rows against
DuckDB's own read_csv of the same file, peak memory of a 200 MB upload, the Runs page rerun at
10^4, 10^5 and 10^6 stored runs, and eight concurrent writers (issue aims: ingest within 2x
DuckDB, a 200 MB upload under 1 GB peak server memory, the Runs rerun under 300 ms at 10^6 runs,
every writer's rows stored).

Every file and database lives in a temporary folder (never data/flopwise.duckdb). The sweep files
are made here: model_name, params (log-uniform 1e7-1e11), tokens (1e9-1e12) and loss (Chinchilla's
law plus noise, clipped to 1.8-4.0), every row distinct.

- ingest: a --rows CSV (default 1,000,000). (a) DuckDB alone: CREATE TABLE t AS SELECT * FROM
  read_csv(FILE) into a fresh database file; (b) the product in this process:
  engine.data.ingest.read_upload then engine.data.store.store_upload into a fresh store (no published
  data); (a) and (b) taken in turn --ingest-repeats times (default 3), so that a busy machine slows
  both alike, and their medians compared (neither counts closing the file, where DuckDB may
  checkpoint); (c) the CLI, `python -m engine ingest FILE --db DB --json`, as a subprocess's wall
  time (its database already holds the published data, so their first load is not counted; the
  time includes Python's start and imports, given beside it). Ratios product/DuckDB.
- memory: a --memory-mb file (default 200 MB: at most 2e8 bytes, the page's limit; its uploader
  refuses 201.1 MB "File must be 200.0MB or smaller", counting 1 MB = 1e6 bytes).
  (a) A fresh subprocess reads the file, checks it and stores it as the Runs page does (a file the
  block-by-block path takes, engine.data.blocks: blocks.scan_upload for the report, then
  store.store_upload_blocks; any other: read_upload, store_upload), closes the store (DuckDB's
  checkpoint); its peak RSS (VmHWM in /proc: the process's own, not the parent's it was forked
  from, which ru_maxrss would report when larger) against its RSS after the imports and opening
  the store, and the peak by the end of read_upload and of store_upload. (b) Unless --no-page:
  the app served, the file given to the Runs page's uploader (Playwright set_input_files),
  "Store N rows" pressed; the server process's peak RSS (VmHWM in /proc) less its value after a
  first visit of /runs, and its peak when the button showed (the upload read and validated).
- runs: for each of --sizes (default 1e4,1e5,1e6) a store with that many uploaded runs (plus the
  published data), served; /runs?sources=user in chromium (the "Sources" multiselect is bound to
  the URL), then the lower end of "Parameters N (log10 range)" stepped with ArrowRight from 3.0
  (every run stays selected; each value is new, so no cache hit), 2 warm-ups and --repeats
  measured, from the key press until idle (tests/browser/harness.py time_action_info); median,
  where the time went, and the websocket bytes per rerun.
- runs_apptest: the same stores and steps through AppTest (streamlit.testing), in this process:
  the page's script time per rerun without the browser's share (median of --repeats after 2
  warm-ups).
- writers: eight `python -m engine ingest` subprocesses started at once into one database (which
  holds the published data), each with its own 2,000-row file: exit codes, rows stored (counted
  afterwards) against 16,000, the longest wall time, each distinct error's last line. With
  --writers-with-app, the same again while the app serves that database with one browser session
  on /runs (rows counted after the server stopped).

Run: .venv/bin/python bench/bench_store.py [--repo PATH] [--only ingest,memory,runs,runs_apptest,writers]
[--rows N] [--ingest-repeats N] [--memory-mb MB] [--no-page] [--sizes 1e4,1e5,1e6] [--repeats N]
[--writers-with-app]
[--json].
--repo measures another checkout, e.g. the last commit while the work tree is being edited:
`git archive HEAD | tar -x -C /tmp/before`, then --repo /tmp/before. On 2 cores, before issue 12's
store work: ingest about 30 s, writers 1 minute, memory 3 minutes, runs 12 minutes (the Runs page
at 10^6 runs took about 9 minutes to its first visit, then crashed). A part that fails is reported
as a figure ("error: ..." or "crashed: ..."), and the rest goes on. Prints figures; not pass/fail;
on a busy 2-core machine absolute times swing by 2x.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(BENCH))

import bench_browser as bb

from tests.browser import harness as h

# The checkout measured (--repo): its engine runs in this process and the subprocesses, its app.py is served.
TARGET = REPO

PARTS = ("ingest", "memory", "runs", "runs_apptest", "writers")
AIMS = {"ingest_ratio": 2.0, "memory_peak_mib": 1e9 / 2**20, "runs_rerun_ms": 300.0}  # 1 GB = 954 MiB
WRITERS = 8
WRITER_ROWS = 2_000
UPLOAD_LIMIT_MB = 200  # .streamlit/config.toml server.maxUploadSize; the uploader counts 1 MB = 1e6 bytes
PAGE_TIMEOUT_MS = 600_000  # a 10^6-run page or a 200 MB upload may take minutes on 2 cores


# --- sweep files ----------------------------------------------------------------------------


def sweep_frame(rows: int, *, seed: int = 0, start: int = 0, prefix: str = "run") -> pd.DataFrame:
    """A plausible L(N, D) sweep: ``rows`` distinct runs named PREFIX-<index from start>."""
    rng = np.random.default_rng(seed)
    n_params = np.round(10 ** rng.uniform(7, 11, rows)).astype(np.int64)
    n_tokens = np.round(10 ** rng.uniform(9, 12, rows)).astype(np.int64)
    loss = 1.69 + 406.4 / n_params**0.34 + 410.7 / n_tokens**0.28 + rng.normal(0, 0.01, rows)
    names = pd.Series(np.arange(start, start + rows)).astype(str).radd(prefix + "-")
    return pd.DataFrame(
        {"model_name": names, "params": n_params, "tokens": n_tokens, "loss": np.clip(loss, 1.8, 4.0)}
    )


def write_sweep(
    path: Path,
    *,
    rows: int | None = None,
    target_bytes: int | None = None,
    seed: int = 0,
    prefix: str = "run",
    chunk: int = 500_000,
) -> int:
    """Write a sweep CSV of ``rows`` rows, or of at most ``target_bytes`` bytes (cut at the last
    whole row), in chunks (so a 200 MB file never sits in memory as one frame); returns the
    number of rows."""
    written, per_row = 0, None
    with open(path, "w", newline="") as fh:
        while True:
            if rows is not None:
                todo = min(chunk, rows - written)
            else:
                left = target_bytes - fh.tell()
                todo = min(chunk, 10_000) if per_row is None else min(chunk, int(np.ceil(left / per_row)))
            if todo <= 0:
                break
            before = fh.tell()
            sweep_frame(todo, seed=seed + written, start=written, prefix=prefix).to_csv(
                fh, index=False, header=written == 0, float_format="%.4f"
            )
            per_row = per_row or (fh.tell() - before) / todo
            written += todo
    if target_bytes is not None and path.stat().st_size > target_bytes:
        with open(path, "r+b") as fh:
            fh.seek(target_bytes - 4096)
            tail = fh.read(4096)
            keep = target_bytes - 4096 + tail.rindex(b"\n") + 1
            fh.seek(keep)
            written -= fh.read().count(b"\n")
            fh.truncate(keep)
    return written


# --- small helpers --------------------------------------------------------------------------


def python_cmd(*args: str) -> list[str]:
    return [sys.executable, *args]


def child_env(db: Path | None = None) -> dict:
    """The environment of a subprocess: the measured checkout first on PYTHONPATH, FLOPWISE_DB
    at a temporary path."""
    path = os.pathsep.join(p for p in (str(TARGET), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    if db is not None:
        env["FLOPWISE_DB"] = str(db)
    return env


def last_line(text: str) -> str:
    """The last line of a subprocess's stderr (a traceback's exception), with temporary paths and
    pids replaced, so that the same failure in several processes reads the same."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    line = lines[-1] if lines else ""
    line = re.sub(r"/tmp/flopwise-bench-store-[^/\"' ]+/", "TMP/", line)
    line = re.sub(r"held in \S+ \(PID \d+\)", "held in another process", line)
    return re.sub(r"\s*See also https?://\S+", "", line)[:300]


def prepared_store(path: Path) -> Path:
    """A store with the published data loaded (what a user's database holds), closed again."""
    from engine.data.store import open_store

    open_store(path).close()
    return path


def count_user_runs(path: Path) -> int:
    from engine.data.store import open_store

    with open_store(path, load_published_data=False) as store:
        return store.cursor().execute("SELECT count(*) FROM runs WHERE source = 'user'").fetchone()[0]


def proc_status_kb(pid: int, field: str) -> int:
    """A kB figure (VmHWM: peak resident memory; VmRSS: now) from /proc/PID/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(f"{field} not in /proc/{pid}/status")


def server_pid(url: str) -> int:
    """The pid of the `streamlit run` child of this process that serves ``url``."""
    port = url.rsplit(":", 1)[1]
    me = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if ppid == me and b"streamlit" in b" ".join(cmdline) and port.encode() in cmdline:
                return int(entry.name)
    raise LookupError(f"no streamlit server child on port {port}")


def guarded(name: str, fn, *args, **kwargs) -> dict:
    """Run a part; any exception becomes the figure {"error": its first line}, printed as
    "NAME: error: ..." (a part prints its own figures)."""
    try:
        return fn(*args, **kwargs)
    except Exception as exc:
        msg = bb.first_line(f"{type(exc).__name__}: {exc}")
        print(f"{name}: error: {msg}", flush=True)
        return {"error": msg, "raised": True}


# --- 1. ingest against DuckDB's read_csv ----------------------------------------------------


def duckdb_read_csv_s(csv: Path, db: Path) -> float:
    """Seconds for DuckDB alone to materialise the CSV as a table in a fresh database file."""
    import duckdb

    con = duckdb.connect(str(db))
    try:
        start = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv}')")
        seconds = time.perf_counter() - start
        assert con.execute("SELECT count(*) FROM t").fetchone()[0] > 0
    finally:
        con.close()
    return seconds


def product_ingest_s(csv: Path, db: Path) -> dict:
    """Seconds of the product's ingest in this process: read_upload (parse + validate), then
    store_upload into a fresh store without the published data."""
    from engine.data.ingest import read_upload
    from engine.data.store import open_store, store_upload

    data = csv.read_bytes()
    with open_store(db, load_published_data=False) as store:
        start = time.perf_counter()
        report = read_upload(data, csv.name)
        parsed = time.perf_counter()
        stored = store_upload(store.cursor(), report, data)
        done = time.perf_counter()
    return {
        "product_s": done - start,
        "parse_validate_s": parsed - start,
        "store_s": done - parsed,
        "accepted": stored.n_accepted,
    }


def ingest_in_turn(csv: Path, folder: Path, repeats: int) -> dict:
    """DuckDB's read_csv and the product's ingest, one after the other ``repeats`` times (each
    into a new file, deleted after); the medians and every sample."""
    duck, product = [], []
    for i in range(repeats):
        for kind in ("duckdb", "product"):
            db = folder / f"{kind}-{i}.duckdb"
            if kind == "duckdb":
                duck.append(duckdb_read_csv_s(csv, db))
            else:
                product.append(product_ingest_s(csv, db))
            for path in (db, db.with_name(db.name + ".wal")):
                path.unlink(missing_ok=True)
    out = {
        key: statistics.median(p[key] for p in product)
        for key in ("product_s", "parse_validate_s", "store_s")
    }
    return {
        "duckdb_s": statistics.median(duck),
        **out,
        "accepted": product[-1]["accepted"],
        "duckdb_samples_s": duck,
        "product_samples_s": [p["product_s"] for p in product],
    }


def cli_ingest(csv: Path, db: Path, timeout_s: float = 600) -> dict:
    """Wall seconds and exit code of `python -m engine ingest CSV --db DB --json`."""
    start = time.perf_counter()
    proc = subprocess.run(
        python_cmd("-m", "engine", "ingest", str(csv), "--db", str(db), "--json"),
        check=False,
        cwd=TARGET,
        env=child_env(db),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    return {
        "wall_s": time.perf_counter() - start,
        "rc": proc.returncode,
        "error": last_line(proc.stderr) if proc.returncode else None,
    }


def python_start_s() -> float:
    """Wall seconds of a subprocess that only imports the CLI and the store (start-up cost)."""
    start = time.perf_counter()
    subprocess.run(
        python_cmd("-c", "import engine.cli, engine.data.store, engine.data.ingest"),
        check=True,
        cwd=TARGET,
        env=child_env(),
        capture_output=True,
    )
    return time.perf_counter() - start


def bench_ingest(tmp: Path, rows: int, repeats: int = 3) -> dict:
    """Ingest of ``rows`` rows: DuckDB's read_csv and the product in-process in turn (medians of
    ``repeats``), the CLI; ratios."""
    csv = tmp / f"sweep-{rows}.csv"
    write_sweep(csv, rows=rows)
    out = {"rows": rows, "file_mb": csv.stat().st_size / 1e6, "repeats": repeats}
    out.update(ingest_in_turn(csv, tmp, repeats))
    out["ratio"] = out["product_s"] / out["duckdb_s"]
    cli = cli_ingest(csv, prepared_store(tmp / "cli.duckdb"))
    out.update(
        cli_s=cli["wall_s"],
        cli_rc=cli["rc"],
        cli_error=cli["error"],
        cli_ratio=cli["wall_s"] / out["duckdb_s"],
        python_start_s=python_start_s(),
    )
    aim = AIMS["ingest_ratio"]
    print(
        f"ingest {rows:,} rows ({out['file_mb']:.0f} MB), medians of {repeats} in turn: DuckDB read_csv -> "
        f"table {out['duckdb_s']:.2f} s; product {out['product_s']:.2f} s (read_upload "
        f"{out['parse_validate_s']:.2f} s, store_upload {out['store_s']:.2f} s; "
        f"{out['accepted']:,} accepted); "
        f"ratio {out['ratio']:.2f}x (aim <= {aim:.0f}x: {'ok' if out['ratio'] <= aim else 'SLOW'}); samples "
        f"DuckDB {', '.join(f'{x:.2f}' for x in out['duckdb_samples_s'])}, product "
        f"{', '.join(f'{x:.2f}' for x in out['product_samples_s'])} s",
        flush=True,
    )
    error = f": {out['cli_error']}" if out["cli_error"] else ""
    print(
        f"ingest {rows:,} rows through the CLI: {out['cli_s']:.2f} s wall (exit {out['cli_rc']}{error}), "
        f"{out['cli_ratio']:.1f}x DuckDB; Python start + imports alone {out['python_start_s']:.2f} s",
        flush=True,
    )
    return out


# --- 2. peak memory of a large upload -------------------------------------------------------

MEMORY_CHILD = """
import gc, json, sys, time
from pathlib import Path
from engine.data.ingest import read_upload
from engine.data.store import open_store, store_upload
try:
    from engine.data import blocks
    from engine.data.store import store_upload_blocks
except ImportError:  # a checkout from before the block-by-block path
    blocks = None
def mib(field):  # this process's own figure (after exec), unlike ru_maxrss
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'):
            return int(line.split()[1]) / 1024
path = Path(sys.argv[1])
store = open_store(sys.argv[2], load_published_data=False)
base = mib('VmRSS')
t0 = time.perf_counter()
data = path.read_bytes()
blockwise = blocks is not None and blocks.blockwise(data, path.name)
if blockwise:  # what the Runs page does: a scan for the report, then the store a block at a time
    report, types = blocks.scan_upload(data, path.name)
else:
    report = read_upload(data, path.name)
gc.collect()
parsed = mib('VmHWM')
t1 = time.perf_counter()
if blockwise:
    stored, _ = store_upload_blocks(store.cursor(), data, path.name, column_types=types)
else:
    stored = store_upload(store.cursor(), report, data)
t2 = time.perf_counter()
after_store = mib('VmHWM')
store.close()
t3 = time.perf_counter()
print(json.dumps({"baseline_mb": base, "peak_after_read_upload_mb": parsed,
                  "peak_after_store_upload_mb": after_store, "peak_mb": mib('VmHWM'),
                  "accepted": stored.n_accepted, "read_upload_s": t1 - t0, "store_upload_s": t2 - t1,
                  "close_s": t3 - t2, "blockwise": blockwise}))
"""


def memory_subprocess(csv: Path, db: Path) -> dict:
    """Peak RSS of a fresh process doing read_upload + store_upload of ``csv`` and closing the
    store, less its RSS after the imports and opening the store (MiB)."""
    proc = subprocess.run(
        python_cmd("-c", MEMORY_CHILD, str(csv), str(db)),
        check=False,
        cwd=TARGET,
        env=child_env(db),
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode:
        return {"error": f"exit {proc.returncode}: {last_line(proc.stderr)}"}
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["delta_mb"] = out["peak_mb"] - out["baseline_mb"]
    return out


def memory_page(csv: Path, tmp: Path) -> dict:
    """The server's peak RSS (VmHWM) while the Runs page takes ``csv`` through its uploader and
    stores it ("Store N rows"), less its VmHWM after a first visit of /runs (MiB); and how long
    the upload took until the button showed and the store until "Stored"."""
    if csv.stat().st_size > UPLOAD_LIMIT_MB * 1e6:
        return {"error": f"the file is over the page's {UPLOAD_LIMIT_MB} MB upload limit"}
    from playwright.sync_api import sync_playwright

    db = prepared_store(tmp / "page-memory.duckdb")
    log = tmp / "memory-streamlit.log"
    with h.serve_app(db, repo_root=TARGET, log_path=log) as url, sync_playwright() as p:
        pid = server_pid(url)
        browser = h.launch_chromium(p)
        try:
            page = browser.new_context(viewport=bb.VIEWPORT).new_page()
            page.goto(url + "/runs", timeout=PAGE_TIMEOUT_MS)
            h.wait_idle(page, require=bb.READY, timeout_ms=PAGE_TIMEOUT_MS)
            base = proc_status_kb(pid, "VmHWM") / 1024
            samples: list[tuple[float, float]] = []  # (seconds, VmRSS MiB) every 0.1 s
            sampling = threading.Event()
            start = time.perf_counter()

            def sample() -> None:
                while not sampling.is_set():
                    with contextlib.suppress(OSError, LookupError):
                        samples.append((time.perf_counter() - start, proc_status_kb(pid, "VmRSS") / 1024))
                    time.sleep(0.1)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
            button = page.get_by_role("button", name=re.compile(r"^Store [\d,]+ rows"))
            refused = page.locator('[data-testid="stFileUploader"]').get_by_text(re.compile(r"^Error:"))
            button.or_(page.locator('[data-testid="stException"]')).or_(refused).first.wait_for(
                timeout=PAGE_TIMEOUT_MS
            )
            if crash := h.exception_text(page) or (refused.count() and refused.first.inner_text()):
                return {
                    "error": f"after the upload: {bb.first_line(crash)}",
                    "baseline_mb": base,
                    "peak_mb": proc_status_kb(pid, "VmHWM") / 1024,
                }
            shown = time.perf_counter()
            at_button = proc_status_kb(pid, "VmHWM") / 1024
            rss_at_button = proc_status_kb(pid, "VmRSS") / 1024
            label = button.inner_text()
            button.click()
            done = page.get_by_text(re.compile(r"^Stored [\d,]+ runs|was stored before"))
            done.or_(page.locator('[data-testid="stException"]')).first.wait_for(timeout=PAGE_TIMEOUT_MS)
            stored = time.perf_counter()
            crash = h.exception_text(page)
            peak = proc_status_kb(pid, "VmHWM") / 1024
        finally:
            sampling.set()
            browser.close()
    out = {
        "baseline_mb": base,
        "peak_mb": peak,
        "delta_mb": peak - base,
        "peak_at_button_mb": at_button,
        "rss_at_button_mb": rss_at_button,  # resident when the button showed (the upload's peak passed)
        "rss_samples": [(round(t, 1), round(m)) for t, m in samples[::5]],
        "button": label,
        "upload_to_button_s": shown - start,
        "store_click_s": stored - shown,
    }
    if crash:
        out["error"] = f"after Store: {bb.first_line(crash)}"
    return out


def bench_memory(tmp: Path, megabytes: float, page: bool) -> dict:
    """Peak memory of a ``megabytes`` MB upload: in a fresh process, and through the page."""
    csv = tmp / "big.csv"
    rows = write_sweep(csv, target_bytes=int(megabytes * 1e6), seed=7, prefix="big")
    mb = csv.stat().st_size / 1e6
    out = {"file_mb": mb, "rows": rows}
    aim = AIMS["memory_peak_mib"]
    r = out["subprocess"] = guarded("memory (subprocess)", memory_subprocess, csv, tmp / "memory.duckdb")
    if "peak_mb" in r:
        parsed = r["peak_after_read_upload_mb"] - r["baseline_mb"]
        path = "scan_upload + store_upload_blocks" if r.get("blockwise") else "read_upload + store_upload"
        print(
            f"memory, {mb:.0f} MB upload ({rows:,} rows), {path} + close in a fresh process: peak "
            f"{r['peak_mb']:,.0f} MiB RSS, {r['delta_mb']:,.0f} MiB above its "
            f"{r['baseline_mb']:.0f} MiB after imports ({parsed:,.0f} MiB above by the end of read_upload, "
            f"{r['peak_after_store_upload_mb'] - r['baseline_mb']:,.0f} by the end of store_upload); "
            f"read_upload {r['read_upload_s']:.1f} s, store_upload {r['store_upload_s']:.1f} s, "
            f"close {r['close_s']:.1f} s",
            flush=True,
        )
    elif not r.get("raised"):
        print(f"memory (subprocess): error: {r['error']}", flush=True)
    if page:
        r = out["page"] = guarded("memory (page)", memory_page, csv, tmp)
        if "delta_mb" in r:
            error = f"; error: {r['error']}" if "error" in r else ""
            print(
                f"memory, {mb:.0f} MB upload through the Runs page: server peak {r['peak_mb']:,.0f} MiB "
                f"RSS, {r['delta_mb']:,.0f} MiB above its {r['baseline_mb']:.0f} MiB after a first visit "
                f"(aim < 1 GB = {aim:.0f} MiB: {'ok' if r['peak_mb'] < aim else 'OVER'}); "
                f"{r['peak_at_button_mb']:,.0f} MiB peak ({r['rss_at_button_mb']:,.0f} MiB resident) by the "
                f"time '{r['button']}' showed (upload read and "
                f"validated, {r['upload_to_button_s']:.1f} s), store {r['store_click_s']:.1f} s{error}",
                flush=True,
            )
        elif not r.get("raised"):
            print(f"memory (page): error: {r['error']}", flush=True)
    return out


# --- 3. the Runs page rerun against the store's size ---------------------------------------


def runs_store(path: Path, n: int, tmp: Path) -> float:
    """A store with the published data and ``n`` uploaded runs (one upload, through the ingest
    path); returns the seconds it took to build."""
    from engine.data.ingest import read_upload
    from engine.data.store import open_store, store_upload

    start = time.perf_counter()
    csv = tmp / f"runs-{n}.csv"
    write_sweep(csv, rows=n, seed=11, prefix=f"r{n}")
    data = csv.read_bytes()
    with open_store(path) as store:
        stored = store_upload(store.cursor(), read_upload(data, csv.name), data)
    assert stored.n_accepted == n, (stored.n_accepted, n)
    csv.unlink()
    return time.perf_counter() - start


def runs_rerun(browser, url: str, n: int, repeats: int) -> dict:
    """The Runs page with the user's ``n`` runs shown: first visit, then the low end of the
    parameter range stepped (2 warm-ups, ``repeats`` measured); medians and websocket bytes."""
    context = browser.new_context(viewport=bb.VIEWPORT)
    page = context.new_page()
    frames: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(len(data))))
    try:
        start = time.perf_counter()
        page.goto(url + "/runs?sources=user", timeout=PAGE_TIMEOUT_MS)
        idle_ms = h.wait_idle(page, require=bb.READY, timeout_ms=PAGE_TIMEOUT_MS)
        first = (time.perf_counter() - start) * 1e3 + idle_ms
        if crash := h.exception_text(page):
            return {"crashed": bb.first_line(crash), "first_visit_ms": first}
        caption = page.get_by_text(re.compile(r"runs selected of")).first.inner_text()
        shown = int(re.match(r"\s*([\d,]+) runs selected", caption).group(1).replace(",", ""))
        if shown < n:
            return {"error": f"only {shown:,} runs shown, not {n:,}: {caption}"}
        slider = h.slider_input(page, "Parameters N (log10")
        infos, sizes, unseen = [], [], 0
        for i in range(bb.WARMUP + repeats):
            frames.clear()
            info = h.time_action_info(
                page,
                lambda: h.press(slider, "ArrowRight"),
                start_timeout_ms=bb.START_TIMEOUT_MS,
                timeout_ms=PAGE_TIMEOUT_MS,
            )
            if crash := h.exception_text(page):
                return {"crashed": bb.first_line(crash)}
            if i >= bb.WARMUP:
                infos.append(info)
                sizes.append(sum(frames))
                unseen += not info["started"]
        return {
            **bb.stats([x["ms"] for x in infos]),
            **bb.timeline(infos),
            "first_visit_ms": first,
            "runs_shown": shown,
            "bytes_per_rerun": statistics.median(sizes),
            "reruns_unseen": unseen,
            "last_value": slider.input_value(),
        }
    finally:
        context.close()


def bench_runs(tmp: Path, sizes: list[int], repeats: int) -> dict:
    """The Runs page rerun at each store size, each in its own served app and store."""
    from playwright.sync_api import sync_playwright

    def one(n: int) -> dict:
        db = tmp / f"runs-{n}.duckdb"
        build_s = runs_store(db, n, tmp)
        with (
            h.serve_app(db, repo_root=TARGET, log_path=tmp / f"runs-{n}-streamlit.log") as url,
            sync_playwright() as p,
        ):
            browser = h.launch_chromium(p)
            try:
                return {"store_build_s": build_s, **runs_rerun(browser, url, n, repeats)}
            finally:
                browser.close()

    out, aim = {}, AIMS["runs_rerun_ms"]
    for n in sizes:
        r = out[str(n)] = guarded(f"runs rerun at {n:,}", one, n)
        label = f"Runs page rerun, {n:>9,} stored runs shown:"
        first = f"first visit (cold server) {r['first_visit_ms']:,.0f} ms" if "first_visit_ms" in r else ""
        if "median_ms" in r:
            unseen = f"; {r['reruns_unseen']} reruns not seen" if r["reruns_unseen"] else ""
            print(
                f"{label} median {r['median_ms']:,.0f} ms (min {r['min_ms']:,.0f}, max {r['max_ms']:,.0f}, "
                f"n {r['n']}{bb.split_text(r)}); {r['bytes_per_rerun'] / 1e6:,.1f} MB sent per rerun; "
                f"{first}{unseen}; aim <= {aim:.0f} ms: {'ok' if r['median_ms'] <= aim else 'SLOW'}",
                flush=True,
            )
        elif "crashed" in r:
            print(f"{label} crashed ({first}): {r['crashed']}", flush=True)
        elif not r.get("raised"):
            print(f"{label} error: {r['error']}", flush=True)
    return out


def apptest_rerun(db: Path, repeats: int) -> dict:
    """The Runs page in AppTest (the script alone, no browser) on the store ``db``: opened with the
    user's runs selected, then the low end of "Parameters N (log10 range)" moved 3.0 -> 3.1 -> ... (2
    warm-ups, ``repeats`` measured), each rerun's wall time."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui.navigation import PAGES

    os.environ["FLOPWISE_DB"] = str(db)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(TARGET / "app.py"), default_timeout=PAGE_TIMEOUT_MS / 1e3)
    at.query_params["sources"] = "user"
    at.switch_page(str(next(p for p in PAGES if p.file == "runs.py").path))
    start = time.perf_counter()
    at.run()
    first = (time.perf_counter() - start) * 1e3
    if at.exception:
        return {"crashed": bb.first_line(str(at.exception[0].value)), "first_visit_ms": first}
    times, low = [], 3.0
    for i in range(bb.WARMUP + repeats):
        low = round(low + 0.1, 1)
        at.slider(key="log10_n_range").set_value((low, 14.0))
        start = time.perf_counter()
        at.run()
        if i >= bb.WARMUP:
            times.append((time.perf_counter() - start) * 1e3)
    caption = next((c.value for c in at.caption if "runs selected of" in c.value), "")
    return {**bb.stats(times), "first_visit_ms": first, "caption": caption.split(";")[0]}


def bench_runs_apptest(tmp: Path, sizes: list[int], repeats: int) -> dict:
    """The Runs page rerun in AppTest at each store size (the server's script time, no browser)."""
    out, aim = {}, AIMS["runs_rerun_ms"]
    for n in sizes:
        db = tmp / f"apptest-{n}.duckdb"

        def one(n: int = n, db: Path = db) -> dict:
            return {"store_build_s": runs_store(db, n, tmp), **apptest_rerun(db, repeats)}

        r = out[str(n)] = guarded(f"runs rerun (AppTest) at {n:,}", one)
        if "median_ms" in r:
            print(
                f"Runs page rerun in AppTest, {n:>9,} stored runs shown: median {r['median_ms']:,.0f} ms "
                f"(min {r['min_ms']:,.0f}, max {r['max_ms']:,.0f}, n {r['n']}); first run "
                f"{r['first_visit_ms']:,.0f} ms; {r['caption']}; aim <= {aim:.0f} ms: "
                f"{'ok' if r['median_ms'] <= aim else 'SLOW'}",
                flush=True,
            )
        elif "crashed" in r:
            print(f"Runs page rerun in AppTest at {n:,}: crashed: {r['crashed']}", flush=True)
    return out


# --- 4. eight concurrent writers ------------------------------------------------------------


def concurrent_ingests(files: list[Path], db: Path) -> list[dict]:
    """Start `python -m engine ingest FILE --db DB --json` for every file at once (released
    together by a barrier); each one's exit code, wall seconds and last stderr line."""
    barrier = threading.Barrier(len(files))
    results: list[dict] = [{} for _ in files]

    def run(i: int, path: Path) -> None:
        barrier.wait()
        start = time.perf_counter()
        try:
            proc = subprocess.run(
                python_cmd("-m", "engine", "ingest", str(path), "--db", str(db), "--json"),
                check=False,
                cwd=TARGET,
                env=child_env(db),
                capture_output=True,
                text=True,
                timeout=600,
            )
            rc, err = proc.returncode, last_line(proc.stderr) if proc.returncode else None
        except subprocess.TimeoutExpired:
            rc, err = None, "timed out after 600 s"
        results[i] = {"rc": rc, "wall_s": time.perf_counter() - start, "error": err}

    threads = [threading.Thread(target=run, args=(i, path)) for i, path in enumerate(files)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def summarise_writers(results: list[dict], stored: int, expected: int) -> dict:
    errors: dict[str, int] = {}
    for r in results:
        if r["error"]:
            errors[r["error"]] = errors.get(r["error"], 0) + 1
    return {
        "succeeded": sum(r["rc"] == 0 for r in results),
        "writers": len(results),
        "exit_codes": [r["rc"] for r in results],
        "rows_stored": stored,
        "rows_expected": expected,
        "longest_s": max(r["wall_s"] for r in results),
        "errors": errors,
    }


def print_writers(label: str, r: dict) -> None:
    if "succeeded" not in r:
        return
    lost = r["rows_expected"] - r["rows_stored"]
    print(
        f"{label}: {r['succeeded']} of {r['writers']} succeeded (exit codes {r['exit_codes']}); "
        "rows stored "
        f"{r['rows_stored']:,} of {r['rows_expected']:,}"
        + (f" ({lost:,} lost)" if lost else "")
        + f"; longest {r['longest_s']:.1f} s",
        flush=True,
    )
    for text, count in r["errors"].items():
        print(f"    {count} x {text}", flush=True)


def bench_writers(tmp: Path, with_app: bool) -> dict:
    """Eight CLI ingests at once into one database; optionally also while the app serves it."""
    files = []
    for i in range(WRITERS):
        files.append(tmp / f"writer-{i}.csv")
        write_sweep(files[-1], rows=WRITER_ROWS, seed=100 + i, prefix=f"w{i}")
    expected = WRITERS * WRITER_ROWS

    def plain() -> dict:
        db = prepared_store(tmp / "writers.duckdb")
        results = concurrent_ingests(files, db)
        return summarise_writers(results, count_user_runs(db), expected)

    out = {"plain": guarded("writers", plain)}
    print_writers(f"{WRITERS} concurrent CLI writers x {WRITER_ROWS:,} rows", out["plain"])
    if with_app:

        def serving() -> dict:
            from playwright.sync_api import sync_playwright

            db = prepared_store(tmp / "writers-app.duckdb")
            log = tmp / "writers-streamlit.log"
            with h.serve_app(db, repo_root=TARGET, log_path=log) as url, sync_playwright() as p:
                browser = h.launch_chromium(p)
                try:
                    page = browser.new_context(viewport=bb.VIEWPORT).new_page()
                    page.goto(url + "/runs", timeout=PAGE_TIMEOUT_MS)
                    h.wait_idle(page, require=bb.READY, timeout_ms=PAGE_TIMEOUT_MS)
                    results = concurrent_ingests(files, db)
                finally:
                    browser.close()
            return summarise_writers(results, count_user_runs(db), expected)  # the server has stopped

        out["with_app"] = guarded("writers with the app serving", serving)
        print_writers(f"{WRITERS} concurrent CLI writers while the app serves the database", out["with_app"])
    return out


# --- main -----------------------------------------------------------------------------------


def parse_sizes(text: str) -> list[int]:
    return [int(float(s)) for s in text.split(",") if s.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repo",
        type=Path,
        default=REPO,
        help="measure this checkout's engine and app.py (default: this repo), e.g. a "
        "commit's "
        "`git archive` unpacked in a temporary folder",
    )
    parser.add_argument(
        "--only", default=",".join(PARTS), help=f"parts to run, comma-separated (default {','.join(PARTS)})"
    )
    parser.add_argument(
        "--rows", type=int, default=1_000_000, help="rows of the ingest file (default 1,000,000)"
    )
    parser.add_argument(
        "--ingest-repeats",
        type=int,
        default=3,
        help="ingest: DuckDB and the product in turn this many times, medians compared (default 3)",
    )
    parser.add_argument(
        "--memory-mb",
        type=float,
        default=200.0,
        help="the memory part's upload in MB of 1e6 bytes (default 200, the page's limit)",
    )
    parser.add_argument(
        "--no-page", action="store_true", help="memory: skip the upload through the Runs page"
    )
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        default=[10_000, 100_000, 1_000_000],
        help="stored runs for the Runs page rerun (default 1e4,1e5,1e6)",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="measured Runs page reruns per size (default 5)"
    )
    parser.add_argument(
        "--writers-with-app",
        action="store_true",
        help="writers: also while the app serves the database with a session on /runs",
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON object with every figure")
    args = parser.parse_args()
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(unknown)}; known: {', '.join(PARTS)}")

    global TARGET
    TARGET = args.repo.resolve()
    sys.path.insert(0, str(TARGET))  # before any engine import: the measured checkout's engine
    import duckdb

    import engine

    if Path(engine.__file__).resolve().parent != TARGET / "engine":
        parser.error(f"engine was imported from {engine.__file__}, not {TARGET}")
    report: dict = {"repo": str(TARGET), "cores": os.cpu_count(), "duckdb": duckdb.__version__, "aims": AIMS}
    print(
        f"bench_store of {TARGET}: {os.cpu_count()} cores, DuckDB {duckdb.__version__}; "
        f"parts {', '.join(parts)}",
        flush=True,
    )
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="flopwise-bench-store-") as tmp_name:
        tmp = Path(tmp_name)
        for part in parts:
            part_start = time.perf_counter()
            folder = tmp / part
            folder.mkdir()
            if part == "ingest":
                report["ingest"] = guarded("ingest", bench_ingest, folder, args.rows, args.ingest_repeats)
            elif part == "memory":
                report["memory"] = guarded("memory", bench_memory, folder, args.memory_mb, not args.no_page)
            elif part == "runs":
                report["runs"] = guarded("runs", bench_runs, folder, args.sizes, args.repeats)
            elif part == "runs_apptest":
                report["runs_apptest"] = guarded(
                    "runs_apptest", bench_runs_apptest, folder, args.sizes, args.repeats
                )
            elif part == "writers":
                report["writers"] = guarded("writers", bench_writers, folder, args.writers_with_app)
            report.setdefault("part_s", {})[part] = time.perf_counter() - part_start
            print(f"  ({part}: {report['part_s'][part]:.0f} s)", flush=True)
    report["wall_s"] = time.perf_counter() - started
    print(f"({report['wall_s']:.0f} s in all)")
    if args.json:
        print(json.dumps(report, default=str))


if __name__ == "__main__":
    main()
