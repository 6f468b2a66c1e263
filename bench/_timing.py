"""Timing helper shared by the benchmarks: median and spread of repeated runs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_ms(fn: Callable[[], object], repeats: int = 20, warmup: int = 2) -> dict[str, float]:
    """Run ``fn`` warmup + repeats times; milliseconds as median, min and max of the repeats."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e3)
    return {"median_ms": statistics.median(samples), "min_ms": min(samples), "max_ms": max(samples)}


def rerun_times_ms(
    page: str | None, slider_key: str, values: list[float], **query_params: str
) -> list[float]:
    """Milliseconds of each app rerun through AppTest after moving ``slider_key`` to each value
    (on ``page``, a file in app_pages/, or the home page, opened at ``query_params``), after two
    warm-up moves."""
    import logging
    import os
    import tempfile
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    os.environ.setdefault("FLOPWISE_DB", str(Path(tempfile.mkdtemp()) / "bench.duckdb"))
    logging.disable(logging.WARNING)
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(repo / "app.py"), default_timeout=120)
    for key, value in query_params.items():
        at.query_params[key] = value
    if page:
        at.switch_page(str(repo / "app_pages" / page))
    at.run()
    assert not at.exception, at.exception
    for value in (values[0] - 1.0, values[0] - 0.5):
        at.slider(key=slider_key).set_value(value).run()
    samples = []
    for value in values:
        slider = at.slider(key=slider_key).set_value(value)
        start = time.perf_counter()
        slider.run()
        samples.append((time.perf_counter() - start) * 1e3)
        assert not at.exception, at.exception
    return samples
