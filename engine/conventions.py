"""Counting conventions every layer shares: FLOPs per parameter and token."""

from __future__ import annotations

FLOPS_PER_PARAM_TOKEN = 6.0
"""Training FLOPs per parameter per token, C = 6·N·D (Kaplan et al. 2020 §2.1)."""

INFERENCE_FLOPS_PER_PARAM_TOKEN = 2.0
"""Forward-pass (inference) FLOPs per parameter per token, 2·N (Kaplan et al. 2020 §2.1; the
inference cost of Sardana et al. 2024 and Ludziejewski et al. 2025 App. A.2)."""
