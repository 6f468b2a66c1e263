"""The columns of a run, as every store backend and reader keeps them (``engine.data.store`` holds
the DDL, its CHECK constraints and the migrations; ``datasets/README.md`` the units)."""

from __future__ import annotations

RUN_COLUMNS = (
    "run_id",
    "upload_id",
    "source",
    "model_name",
    "n_params",
    "n_params_convention",
    "n_tokens",
    "unique_tokens",
    "flops",
    "derived_field",
    "loss",
    "loss_eval_set",
    "precision",
    "n_experts",
    "top_k",
    "granularity",
    "hardware",
    "domain",
    "frontier",
    "notes",
    "learning_rate",
    "batch_size",
    "batch_size_unit",
    "warmup_steps",
    "lr_schedule",
    "loss_smoothed",
    "n_params_active",
)
