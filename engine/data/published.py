"""The published data sets shipped in ``datasets/``, read into the canonical run columns.

``datasets/sources.csv`` lists every shipped file with its source, licence, citation and row
count; each run file has a reader below that maps its columns to ``engine.data.schema.RUN_COLUMNS``.
Values are not changed, except that the compute of rows with N and D but no C is derived as
C = 6·N·D (``derived_field`` = 'flops'), and non-positive cells are stored as missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.cost.flops import flops_6nd
from engine.data.schema import RUN_COLUMNS
from engine.paths import DATASETS_DIR


@dataclass(frozen=True)
class PublishedSource:
    source_id: str
    file: str
    rows: int
    title: str
    citation: str
    url: str
    licence: str
    upstream: str


def read_sources(datasets_dir: Path = DATASETS_DIR) -> list[PublishedSource]:
    frame = pd.read_csv(datasets_dir / "sources.csv", dtype={"rows": int})
    return [PublishedSource(**row) for row in frame.to_dict("records")]


def _positive(series: pd.Series) -> pd.Series:
    values = pd.to_numeric(series, errors="coerce")
    return values.where(values > 0)


def _with_derived_flops(frame: pd.DataFrame) -> pd.DataFrame:
    missing = frame["flops"].isna() & frame["n_params"].notna() & frame["n_tokens"].notna()
    frame["derived_field"] = pd.Series(np.where(missing, "flops", ""), index=frame.index).replace("", None)
    frame.loc[missing, "flops"] = flops_6nd(frame.loc[missing, "n_params"], frame.loc[missing, "n_tokens"])
    return frame


def _chinchilla(raw: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model_name": [f"chinchilla-{n / 1e6:.0f}M-{d / 1e9:.1f}B" for n, d in zip(raw.N, raw.D)],
            "n_params": raw.N,
            "n_params_convention": "total",
            "n_tokens": raw.D,
            "flops": raw.C,
            "loss": raw.loss,
            "loss_eval_set": "MassiveText (Hoffmann et al. 2022, digitised from Fig. 4)",
            "notes": "C = 6ND as digitised",
        }
    )


def _muennighoff(raw: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "model_name": raw.run_key,
            "n_params": raw.params,
            "n_params_convention": "total",
            "n_tokens": raw.tokens,
            "unique_tokens": raw.unique_tokens,
            "flops": np.nan,
            "loss": raw.val_loss,
            "loss_eval_set": "C4 validation (GPT-2 BPE; Muennighoff et al. 2023)",
            "notes": [f"{e:g} epochs" for e in raw.epochs],
        }
    )
    return _with_derived_flops(frame)


def _gadre(raw: pd.DataFrame) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "model_name": raw.name,
            "n_params": raw.params,
            "n_params_convention": "total",
            "n_tokens": raw.tokens,
            "flops": np.nan,
            "loss": raw.loss__c4_val,
            "loss_eval_set": "C4 validation (open_lm, GPT-NeoX tokenizer; Gadre et al. 2024)",
            "notes": [
                f"trained on {d}; {m:g}x Chinchilla tokens; params without embeddings {p:.4g}"
                for d, m, p in zip(raw.dataset, raw.chinchilla_multiplier, raw.params_no_embed)
            ],
        }
    )
    return _with_derived_flops(frame)


def _epoch(raw: pd.DataFrame) -> pd.DataFrame:
    tokens = _positive(raw["Training dataset size (datapoints)"])
    notes = [
        "; ".join(str(x) for x in (org, date, domain) if isinstance(x, str))
        for org, date, domain in zip(raw["Organization"], raw["Publication date"], raw["Domain"])
    ]
    return pd.DataFrame(
        {
            "model_name": raw["Model"].str.strip(),
            "n_params": _positive(raw["Parameters"]),
            "n_params_convention": "total",
            # For language models Epoch's 'datapoints' are tokens; other domains count other units.
            "n_tokens": tokens.where(raw["Domain"].fillna("").str.contains("Language")),
            "flops": _positive(raw["Training compute (FLOP)"]),
            "loss": np.nan,
            "hardware": raw["Training hardware"],
            "notes": notes,
            "frontier": raw["Frontier model"].fillna(False).astype(bool),
            "domain": raw["Domain"],
        }
    )


READERS: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "hoffmann2022": _chinchilla,
    "muennighoff2023": _muennighoff,
    "gadre2024": _gadre,
    "epoch2025": _epoch,
}


def read_runs(source: PublishedSource, datasets_dir: Path = DATASETS_DIR) -> pd.DataFrame:
    """The source's rows in canonical run columns (missing columns are NULL)."""
    raw = pd.read_csv(datasets_dir / source.file)
    frame = READERS[source.source_id](raw).reset_index(drop=True)
    frame["source"] = source.source_id
    frame["run_id"] = [f"{source.source_id}:{i:05d}" for i in range(len(frame))]
    for column in RUN_COLUMNS:
        if column not in frame:
            frame[column] = None
    return frame[list(RUN_COLUMNS)]
