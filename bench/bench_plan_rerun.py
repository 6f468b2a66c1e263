"""The Plan page's rerun after a budget-slider change, through AppTest (issues 4 and 5; aim <= 200 ms).

Each sample moves the slider to a new budget, so the recommendation and the candidate set (1e6:
size × tokens × serving precision × experts) with its front are recomputed (no cache hit)."""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("FLOPWISE_DB", str(Path(tempfile.mkdtemp()) / "bench.duckdb"))
logging.disable(logging.WARNING)

from streamlit.testing.v1 import AppTest  # noqa: E402

AIM_MS = 200.0
SAMPLES = 20


def main() -> None:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120).run()
    assert not at.exception, at.exception
    at.slider(key="log10_flops").set_value(22.0).run()
    samples = []
    for i in range(SAMPLES):
        slider = at.slider(key="log10_flops").set_value(21.0 + 0.15 * i)
        start = time.perf_counter()
        slider.run()
        samples.append((time.perf_counter() - start) * 1e3)
        assert not at.exception, at.exception
    median = statistics.median(samples)
    print(f"Plan page rerun after a budget change: median {median:.0f} ms over {SAMPLES} "
          f"(min {min(samples):.0f}, max {max(samples):.0f}); aim <= {AIM_MS:.0f} ms: "
          f"{'ok' if median <= AIM_MS else 'SLOW'}")


if __name__ == "__main__":
    main()
