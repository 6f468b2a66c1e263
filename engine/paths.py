"""Where the engine finds the data it ships with."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The checkout (or install) the engine runs from: ``datasets/`` and the default ``data/`` are here."""

DATASETS_DIR = REPO_ROOT / "datasets"
"""Published data with provenance (``datasets/README.md``): runs, hardware, grid intensities."""
