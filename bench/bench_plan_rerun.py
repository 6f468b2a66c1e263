"""The Plan page's rerun after a budget-slider change, through AppTest (issues 4 and 5; aim <= 200 ms).

Each sample moves the slider to a new budget, so the recommendation and the candidate set (1e6:
size × tokens × serving precision × experts) with its front are recomputed (no cache hit); once
with the loss-against-cost front and once with loss against serving memory."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import rerun_times_ms

AIM_MS = 200.0


def main() -> None:
    for front in ("cost", "memory"):
        samples = rerun_times_ms(None, "log10_flops", [21.0 + 0.15 * i for i in range(20)], plan_front=front)
        median = statistics.median(samples)
        print(
            f"Plan page rerun after a budget change, {front} front: median {median:.0f} ms over "
            f"{len(samples)} (min {min(samples):.0f}, max {max(samples):.0f}); aim <= {AIM_MS:.0f} ms: "
            f"{'ok' if median <= AIM_MS else 'SLOW'}"
        )


if __name__ == "__main__":
    main()
