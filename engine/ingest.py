"""Reading a user's sweep file: parse, map columns, parse values, validate every row.

Pure pandas; storing the result is engine.store's job (:func:`engine.store.store_upload`).

* Files: CSV (any delimiter pandas sniffs, UTF-8 or Latin-1) or Parquet, given as bytes.
* Columns are recognised by name in any case, spacing or punctuation (``Model Size``,
  ``n_params``, ``val-loss``); a mapping can be given to override the guess.
* Values may carry magnitude suffixes: ``70M``, ``1.3B``, ``1.4T``, ``2e9``, ``1,000,000``.
* Any two of parameters N, tokens D and compute C suffice: the third is derived with C = 6·N·D
  and the row's ``derived_field`` says which.
* Every row is accepted or rejected; each rejection names its row (1-based, counting data rows;
  the header is not a row), column and reason.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.laws.base import FLOPS_PER_PARAM_TOKEN


class IngestError(ValueError):
    """The file as a whole cannot be used (unreadable, no usable columns, no usable rows)."""


# Canonical field -> names it is recognised by (compared after normalising: lower case,
# letters and digits only).
ALIASES: dict[str, tuple[str, ...]] = {
    "n_params": ("n", "params", "n_params", "num_params", "model_size", "Model Size", "parameters",
                 "n_parameters", "num_parameters", "param_count", "nparams"),
    "n_tokens": ("d", "tokens", "n_tokens", "train_tokens", "Training tokens", "num_tokens",
                 "training_tokens", "data_tokens", "tokens_seen"),
    "flops": ("c", "flops", "compute", "Training FLOP", "training_flops", "train_flops",
              "training_compute", "compute_flops", "Training compute (FLOP)"),
    "loss": ("loss", "val_loss", "eval_loss", "final_loss", "validation loss", "valid_loss",
             "test_loss", "validation_loss"),
    "unique_tokens": ("u", "unique_tokens", "unique tokens", "u_d", "n_unique_tokens", "unique_data"),
    "precision": ("precision", "dtype", "training_precision"),
    "n_experts": ("experts", "n_experts", "num_experts", "number_of_experts"),
    "top_k": ("top_k", "topk", "experts_per_token"),
    "granularity": ("granularity",),
    "model_name": ("model", "model_name", "name", "run", "run_name", "run_id"),
    "loss_eval_set": ("eval_set", "loss_eval_set", "val_set", "validation_set", "eval_dataset"),
    "hardware": ("hardware", "gpu", "device", "accelerator"),
    "notes": ("notes", "comment", "comments"),
}
NUMERIC_FIELDS = ("n_params", "n_tokens", "flops", "loss", "unique_tokens", "n_experts", "top_k", "granularity")
TEXT_FIELDS = ("precision", "model_name", "loss_eval_set", "hardware", "notes")
SIZE_FIELDS = ("n_params", "n_tokens", "flops")

# What a plausible value looks like; outside these a row is rejected with the reason.
PLAUSIBLE = {
    "n_params": (1e3, 1e14, "parameters"),
    "n_tokens": (1e5, 1e17, "tokens"),
    "flops": (1e9, 1e31, "FLOPs"),
    "loss": (1e-3, 20.0, "nats/token"),
    "unique_tokens": (1e3, 1e17, "tokens"),
    "n_experts": (1, 1e5, "experts"),
    "top_k": (1, 1e4, "experts"),
    "granularity": (1e-3, 1e4, ""),
}
MAX_TEXT_LENGTH = 500

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_NUMBER = re.compile(
    r"^\s*(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:e[+-]?\d+)?|[+-]?\.\d+(?:e[+-]?\d+)?)"
    r"\s*(?P<suffix>[kmbgtp]?)\s*$",
    re.IGNORECASE,
)


def normalise_name(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


_ALIAS_INDEX = {normalise_name(alias): f for f, names in ALIASES.items() for alias in names}


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row (the header is not counted)
    column: str  # the file's column name, or the canonical field when the column is absent
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class IngestReport:
    """What a file gave: the accepted rows in canonical columns, and a reason per rejection."""

    file_name: str
    sha256: str
    n_rows: int
    mapping: dict[str, str]  # canonical field -> the file's column
    accepted: pd.DataFrame  # canonical columns + 'row' (the file's row number)
    errors: list[RowError] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)

    @property
    def n_accepted(self) -> int:
        return len(self.accepted)

    @property
    def n_rejected(self) -> int:
        return self.n_rows - self.n_accepted

    def errors_frame(self) -> pd.DataFrame:
        return pd.DataFrame([e.as_dict() for e in self.errors], columns=["row", "column", "reason"])


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_table(data: bytes, file_name: str) -> pd.DataFrame:
    """The file's cells: numbers where a whole column is numeric, text otherwise; or
    IngestError saying why the file cannot be read."""
    if not data:
        raise IngestError(f"{file_name}: the file is empty")
    if data[:4] == b"PAR1" or file_name.lower().endswith(".parquet"):
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise IngestError(f"{file_name}: cannot read as Parquet ({exc})") from None
    if b"\x00" in data[:4096]:
        raise IngestError(f"{file_name}: this is not a text CSV file (it contains binary data)")
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    try:
        # Numeric columns parse in C; a column with any text cell stays text and is parsed by
        # parse_quantities. Only empty cells are missing: 'nan' and 'NA' stay text, to be named.
        frame = pd.read_csv(
            io.StringIO(text), sep=_sniff_delimiter(text[:65536]), keep_default_na=False, na_values=[""],
            skipinitialspace=True, low_memory=False,
        )
    except Exception as exc:  # csv.Error, pandas ParserError, ...
        raise IngestError(f"{file_name}: cannot read as CSV ({exc})") from None
    if frame.shape[1] == 0:
        raise IngestError(f"{file_name}: no columns found")
    return frame


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """Canonical field -> the first column whose normalised name is one of its aliases."""
    mapping: dict[str, str] = {}
    for column in columns:
        field_name = _ALIAS_INDEX.get(normalise_name(column))
        if field_name and field_name not in mapping:
            mapping[field_name] = column
    return mapping


def parse_quantities(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Numbers from cells like '70M', '1.3B', '2e9', '1,000'. Returns (values, bad) where bad
    marks non-empty cells that are not numbers; empty cells are NaN and not bad."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float), pd.Series(False, index=values.index)
    text = values.astype("string").fillna("").str.strip()
    numbers = pd.to_numeric(text.where(text != ""), errors="coerce").astype(float)
    todo = numbers.isna() & (text != "")
    if todo.any():
        parts = text[todo].str.extract(_NUMBER)
        mantissa = pd.to_numeric(parts["num"].str.replace(",", "", regex=False), errors="coerce")
        scale = parts["suffix"].str.lower().map(_SUFFIX)
        numbers.loc[todo] = (mantissa * scale).astype(float)
    bad = numbers.isna() & (text != "")
    # 'nan', 'inf' parse as numbers: keep them so the validator names them "not finite".
    special = text.str.lower().isin(["nan", "inf", "-inf", "+inf", "infinity", "-infinity"])
    numbers = numbers.where(~special, pd.to_numeric(text.where(special), errors="coerce"))
    return numbers.astype(float), (bad & ~special).astype(bool)


def validate(
    frame: pd.DataFrame, file_name: str, data: bytes, mapping: Mapping[str, str] | None = None
) -> IngestReport:
    """Map, parse and check every row of ``frame``."""
    mapping = dict(guess_mapping(list(frame.columns)) if mapping is None else mapping)
    unknown = {f for f in mapping if f not in ALIASES}
    if unknown:
        raise IngestError(f"unknown field(s) in the column mapping: {sorted(unknown)}")
    missing_cols = [c for c in mapping.values() if c not in frame.columns]
    if missing_cols:
        raise IngestError(f"{file_name}: mapped column(s) not in the file: {missing_cols}")
    if "loss" not in mapping or sum(f in mapping for f in SIZE_FIELDS) < 2:
        found = ", ".join(f"{f} <- {c!r}" for f, c in mapping.items()) or "none"
        raise IngestError(
            f"{file_name}: needs a loss column and two of parameters, tokens and compute; "
            f"recognised: {found}. Rename the columns (e.g. params, tokens, flops, loss) or set the mapping."
        )

    n = len(frame)
    rows = np.arange(1, n + 1)
    reasons: dict[int, RowError] = {}  # first reason per row wins

    def reject(mask: object, column: str, reason: str | Callable[[int], str]) -> None:
        """Record ``reason`` for each row in ``mask`` that has none yet; a callable reason is
        called with the row's position, only for rejected rows."""
        idx = np.flatnonzero(pd.Series(mask).fillna(False).to_numpy(dtype=bool))
        for i in idx:
            if i not in reasons:
                reasons[i] = RowError(int(rows[i]), column, reason(i) if callable(reason) else reason)

    out = pd.DataFrame(index=frame.index)
    for f in NUMERIC_FIELDS:
        if f not in mapping:
            out[f] = np.nan
            continue
        column = mapping[f]
        values, bad = parse_quantities(frame[column])
        cells = frame[column]
        v = values.to_numpy()
        reject(bad, column, lambda i, cells=cells: f"not a number: '{str(cells.iloc[i]).strip()[:40]}'")
        nan_text = values.isna().to_numpy() & ~bad.to_numpy()
        if nan_text.any():
            nan_text &= cells.astype("string").str.strip().str.lower().eq("nan").fillna(False).to_numpy()
        reject(np.isinf(v) | nan_text, column, "not finite")
        reject(v <= 0, column, lambda i, v=v: f"not positive: {v[i]:g}")
        low, high, unit = PLAUSIBLE[f]
        if f == "loss":
            reject((v > 0) & ((v < low) | (v > high)), column,
                   lambda i, v=v: f"loss outside the plausible range {low:g}-{high:g} {unit}: {v[i]:g}")
        else:
            hint = " (in millions or billions? write 70M or 1.3B)" if f in SIZE_FIELDS else ""
            reject((v > 0) & (v < low), column,
                   lambda i, v=v, f=f, low=low, unit=unit, hint=hint: f"{f} below {low:g} {unit} is implausible{hint}: {v[i]:g}")
            reject(v > high, column,
                   lambda i, v=v, f=f, high=high, unit=unit: f"{f} above {high:g} {unit} is implausible: {v[i]:g}")
        out[f] = values
    for f in TEXT_FIELDS:
        if f in mapping:
            text = frame[mapping[f]].astype("string").fillna("").str.strip()
            reject(text.str.len() > MAX_TEXT_LENGTH, mapping[f], f"text longer than {MAX_TEXT_LENGTH} characters")
            out[f] = text.astype(object).where(text != "", None)
        else:
            out[f] = None

    loss_col = mapping["loss"]
    reject(out["loss"].isna(), loss_col, "missing loss")
    present = out[list(SIZE_FIELDS)].notna()
    size_cols = ", ".join(mapping.get(f, f) for f in SIZE_FIELDS)
    reject(present.sum(axis=1) < 2, mapping.get("n_params", "n_params"),
           f"needs two of parameters, tokens and compute ({size_cols}); this row has fewer")
    for f in ("n_experts", "top_k"):
        reject(out[f].notna() & (out[f] != np.round(out[f])), mapping.get(f, f), "not a whole number")

    derived = pd.Series(None, index=out.index, dtype=object)
    need_c = out["flops"].isna() & out["n_params"].notna() & out["n_tokens"].notna()
    out.loc[need_c, "flops"] = FLOPS_PER_PARAM_TOKEN * out.loc[need_c, "n_params"] * out.loc[need_c, "n_tokens"]
    derived[need_c] = "flops"
    need_n = out["n_params"].isna() & out["n_tokens"].notna() & out["flops"].notna()
    out.loc[need_n, "n_params"] = out.loc[need_n, "flops"] / (FLOPS_PER_PARAM_TOKEN * out.loc[need_n, "n_tokens"])
    derived[need_n] = "n_params"
    need_d = out["n_tokens"].isna() & out["n_params"].notna() & out["flops"].notna()
    out.loc[need_d, "n_tokens"] = out.loc[need_d, "flops"] / (FLOPS_PER_PARAM_TOKEN * out.loc[need_d, "n_params"])
    derived[need_d] = "n_tokens"
    out["derived_field"] = derived
    for f in SIZE_FIELDS:  # a derived value can still be implausible (e.g. D from a tiny C)
        low, high, unit = PLAUSIBLE[f]
        bad = (derived == f) & ((out[f] < low) | (out[f] > high))
        reject(bad, mapping.get(f, f), f"derived {f} = {unit} outside {low:g}-{high:g} (check units)")

    key = ["n_params", "n_tokens", "flops", "loss", "unique_tokens", "model_name"]
    valid = np.ones(n, dtype=bool)
    valid[list(reasons)] = False
    dup = out[key].duplicated(keep="first").to_numpy() & valid
    if dup.any():
        group = out[key].groupby(key, sort=False, dropna=False).ngroup().to_numpy()
        first_of_group = pd.Series(rows).groupby(group).transform("min")
        reject(dup, loss_col, lambda i: f"duplicate of row {first_of_group.iloc[i]}")

    ok = np.ones(n, dtype=bool)
    ok[list(reasons)] = False
    accepted = out[ok].copy()
    accepted.insert(0, "row", rows[ok])
    errors = sorted(reasons.values(), key=lambda e: e.row)
    unmapped = [str(c) for c in frame.columns if c not in set(mapping.values())]
    return IngestReport(file_name, sha256_of(data), n, mapping, accepted.reset_index(drop=True), errors, unmapped)


def read_upload(data: bytes, file_name: str, mapping: Mapping[str, str] | None = None) -> IngestReport:
    """Parse and validate one uploaded file; IngestError if the file as a whole is unusable."""
    frame = read_table(data, file_name)
    if len(frame) == 0:
        raise IngestError(f"{file_name}: the file has a header but no rows")
    return validate(frame, file_name, data, mapping)
