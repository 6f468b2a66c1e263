"""The quick microbenchmark's own duration and its figures on this machine (issue 6)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.cost import microbench
from engine.cost.hardware import load_catalog


def main() -> None:
    device = "cuda" if "--cuda" in sys.argv else "cpu"
    result = microbench.run(device, quick="--full" not in sys.argv)
    print(
        f"{result.mode} {device} benchmark: {result.duration_s:.1f} s on "
        f"{result.machine.get('gpu_name') or result.machine['cpu_model']} ({result.machine['cpu_count']} "
        "cores)"
    )
    for row in result.gemm:
        print(
            f"  {row['dtype']:8} {row['m']}x{row['k']}x{row['n']:<6} {row['flops_per_s'] / 1e9:9.1f} GFLOP/s "
            f" {'correct' if row['correct'] else 'WRONG'}"
        )
    for row in result.bandwidth + result.transfer:
        print(f"  {row['kind']:15} {row['bytes'] / 2**20:6.0f} MiB {row['bytes_per_s'] / 1e9:7.1f} GB/s")
    match = microbench.catalog_match(result.machine)
    if match:
        for row in microbench.achieved_fractions(result.as_dict(), load_catalog()[match]):
            print("  " + row["words"])
    print(f"  power: {result.power or 'not available'}")


if __name__ == "__main__":
    main()
