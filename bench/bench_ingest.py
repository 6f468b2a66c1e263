"""Ingest of a one-million-row CSV: parse, validate, store (issue 3; aim <= 10 s)."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.data.ingest import read_upload
from engine.data.store import open_store, store_upload

ROWS = 1_000_000


def main() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "model_size": rng.uniform(1e7, 1e10, ROWS),
            "train_tokens": rng.uniform(1e9, 1e12, ROWS),
            "val_loss": rng.uniform(2.0, 4.0, ROWS),
            "notes": "sweep",
        }
    )
    data = frame.to_csv(index=False).encode()
    with tempfile.TemporaryDirectory() as tmp:
        with open_store(Path(tmp) / "bench.duckdb", load_published_data=False) as store:
            start = time.perf_counter()
            report = read_upload(data, "million.csv")
            parsed = time.perf_counter()
            stored = store_upload(store.cursor(), report, data)
            done = time.perf_counter()
    print(
        f"ingest of a {ROWS:,}-row CSV ({len(data) / 1e6:.0f} MB): {done - start:.1f} s "
        f"(parse + validate {parsed - start:.1f} s, store {done - parsed:.1f} s); "
        f"{stored.n_accepted:,} accepted; aim <= 10 s: {'ok' if done - start <= 10 else 'SLOW'}"
    )


if __name__ == "__main__":
    main()
