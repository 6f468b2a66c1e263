"""Reading a user's sweep file: parse, map columns, parse values, validate every row.

Pure pandas and pyarrow; storing the result is engine.data.store's job
(:func:`engine.data.store.store_upload`).

Files (:func:`read_table`)
* CSV given as bytes, or Parquet. CSV text may be UTF-8 (with or without a byte-order mark),
  UTF-16 or UTF-32 with a byte-order mark (what Excel's "Unicode text" writes; UTF-16 without a
  mark is recognised by its zero bytes), or Latin-1 when it is not valid UTF-8.
* The delimiter is one of ``, ; TAB |``: the one that splits the header into the most fields
  consistently over the first lines.
* Decimal commas (European Excel: ``1,5`` is 1.5, thousands maybe ``1.000.000``) are detected
  when the delimiter is not a comma and number-like cells use a comma and none a decimal point;
  ``decimal=`` states the mark instead.
* Ragged rows (more or fewer fields than the header) are not read: each becomes a
  :class:`RowError` ("row has 7 fields; the header has 5") and the good rows are kept with their
  true row numbers. The read-time errors travel on the frame (:func:`read_info`) to
  :func:`validate`, which adds them to the report.

Columns (:func:`guess_mapping`)
* Recognised by name in any case, spacing or punctuation (``Model Size``, ``n_params``,
  ``val-loss``); a mapping (canonical field -> the file's column) overrides the guess.
* Besides N, D, C and loss: unique tokens, precision, mixture-of-experts columns (active
  parameters, experts, top-k, granularity) and hyperparameters (learning rate, batch size,
  warm-up steps, schedule, smoothed loss).

Values and conventions (:func:`validate`)
* Units: N (and active parameters) in parameters, D and unique tokens in tokens, C in FLOPs,
  losses in nats per token, learning rate as the optimiser's peak value, warm-up in steps (or a
  fraction, as given), batch size in tokens or sequences (below). Out-of-range values
  (``PLAUSIBLE``) are rejected with the range named.
* Values may carry magnitude suffixes: ``70M``, ``1.3B``, ``1.4T``, ``2e9``, ``1,000,000``.
* Any two of parameters N, tokens D and compute C suffice: the third is derived with C = 6·N·D
  and the row's ``derived_field`` says which.
* The parameter convention of N (``total``, ``non_embedding`` or ``active``) and the batch-size
  unit (``tokens`` or ``sequences``) are per file: given by the caller, else detected from the
  header or a known format (Step Law, Li et al. 2025: N non-embedding, batch size in tokens),
  else a stated default; the report says which and why.
* Every row is accepted or rejected; each rejection names its row (1-based, counting data rows;
  the header is not a row), column and reason. A duplicate is a row whose whole configuration
  (sizes, loss, hyperparameters, MoE shape, precision, name) equals an earlier accepted row's.

Everything is vectorised (Arrow's multi-threaded CSV reader, numpy and Arrow compute); Python runs
per row only to word the reasons of rejected rows, and to re-read a file that has ragged rows.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from engine.conventions import FLOPS_PER_PARAM_TOKEN
from engine.data.packing import Packing
from engine.errors import FlopwiseError


class IngestError(FlopwiseError, ValueError):
    """The file as a whole cannot be used (unreadable, no usable columns, no usable rows)."""


# --- fields --------------------------------------------------------------------------------

# Canonical field -> names it is recognised by (compared after normalising: lower case,
# letters and digits only). Single letters are kept to the published N, D, C, U; no alias may
# name two fields (checked below).
ALIASES: dict[str, tuple[str, ...]] = {
    "n_params": (
        "n",
        "params",
        "n_params",
        "num_params",
        "model_size",
        "Model Size",
        "parameters",
        "n_parameters",
        "num_parameters",
        "param_count",
        "nparams",
        "total_params",
        "total_parameters",
        "n_total_params",
        "non_embedding_params",
        "nonembedding_params",
        "non_embedding_parameters",
        "n_nonembed",
        "n_non_embedding",
        "params_non_embedding",
        "n_params_non_embedding",
        "non_embed_params",
        "nonembed_params",
    ),
    "n_tokens": (
        "d",
        "tokens",
        "n_tokens",
        "train_tokens",
        "Training tokens",
        "num_tokens",
        "training_tokens",
        "data_tokens",
        "tokens_seen",
    ),
    "flops": (
        "c",
        "flops",
        "compute",
        "Training FLOP",
        "training_flops",
        "train_flops",
        "training_compute",
        "compute_flops",
        "Training compute (FLOP)",
    ),
    "loss": (
        "loss",
        "val_loss",
        "eval_loss",
        "final_loss",
        "validation loss",
        "valid_loss",
        "test_loss",
        "validation_loss",
    ),
    "unique_tokens": ("u", "unique_tokens", "unique tokens", "u_d", "n_unique_tokens", "unique_data"),
    "precision": ("precision", "dtype", "training_precision"),
    "n_experts": (
        "experts",
        "n_experts",
        "num_experts",
        "number_of_experts",
        "nume",
        "n_expert",
        "num_expert",
        "expert_count",
        "moe_num_experts",
    ),
    "top_k": ("top_k", "topk", "experts_per_token", "moe_top_k", "num_experts_per_tok", "router_top_k"),
    "granularity": ("granularity", "expert_granularity", "moe_granularity"),
    "n_params_active": (
        "na",
        "active_params",
        "n_active",
        "activated_params",
        "n_params_active",
        "active_parameters",
        "activated_parameters",
        "n_active_params",
        "num_active_params",
        "params_active",
    ),
    "learning_rate": (
        "lr",
        "learning_rate",
        "peak_lr",
        "max_lr",
        "lr_max",
        "lr_peak",
        "peak_learning_rate",
        "max_learning_rate",
        "base_lr",
    ),
    "batch_size": (
        "bs",
        "batch_size",
        "global_batch_size",
        "batch_tokens",
        "batch_size_tokens",
        "tokens_per_batch",
        "global_batch_size_tokens",
        "gbs",
        "batch_size_sequences",
        "batch_size_seqs",
        "global_batch_size_sequences",
        "sequences_per_batch",
    ),
    "warmup_steps": (
        "warmup",
        "warmup_steps",
        "warmup_iters",
        "warmup_iterations",
        "n_warmup",
        "num_warmup_steps",
        "lr_warmup_steps",
    ),
    "lr_schedule": (
        "schedule",
        "lr_schedule",
        "scheduler",
        "lr_scheduler",
        "lr_decay_style",
        "decay_schedule",
        "lr_decay",
    ),
    "loss_smoothed": (
        "smooth loss",
        "smoothed_loss",
        "loss_smooth",
        "smooth_loss",
        "loss_smoothed",
        "ema_loss",
        "loss_ema",
        "smoothed_train_loss",
    ),
    "model_name": (
        "model",
        "model_name",
        "name",
        "run",
        "run_name",
        "run_id",
        "exp_name",
        "experiment",
        "experiment_name",
    ),
    "loss_eval_set": ("eval_set", "loss_eval_set", "val_set", "validation_set", "eval_dataset"),
    "hardware": ("hardware", "gpu", "device", "accelerator"),
    "notes": ("notes", "comment", "comments"),
}
NUMERIC_FIELDS = (
    "n_params",
    "n_tokens",
    "flops",
    "loss",
    "unique_tokens",
    "n_experts",
    "top_k",
    "granularity",
    "learning_rate",
    "batch_size",
    "warmup_steps",
    "loss_smoothed",
    "n_params_active",
)
TEXT_FIELDS = ("precision", "model_name", "loss_eval_set", "hardware", "notes", "lr_schedule")
SIZE_FIELDS = ("n_params", "n_tokens", "flops")
LOSS_FIELDS = ("loss", "loss_smoothed")
WHOLE_FIELDS = ("n_experts", "top_k")
NON_NEGATIVE_FIELDS = ("warmup_steps",)  # zero allowed; every other number must be positive
# The columns of IngestReport.accepted, in order (engine.data.store keeps runs with the same names).
ACCEPTED_COLUMNS = (
    "row",
    *NUMERIC_FIELDS,
    *TEXT_FIELDS,
    "derived_field",
    "batch_size_unit",
    "n_params_convention",
)
# A duplicate repeats all of these (missing values equal each other).
DUPLICATE_KEY = (
    "n_params",
    "n_tokens",
    "flops",
    "loss",
    "unique_tokens",
    "model_name",
    "learning_rate",
    "batch_size",
    "warmup_steps",
    "lr_schedule",
    "loss_smoothed",
    "n_params_active",
    "n_experts",
    "top_k",
    "granularity",
    "precision",
    "loss_eval_set",
)

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
    "learning_rate": (1e-8, 10.0, ""),
    "batch_size": (1, 1e10, "sequences or tokens"),
    "warmup_steps": (0, 1e9, "steps"),
    "loss_smoothed": (1e-3, 20.0, "nats/token"),
    "n_params_active": (1e3, 1e14, "parameters"),
}
MAX_TEXT_LENGTH = 500

CONVENTIONS = ("total", "non_embedding", "active")  # what N counts
BATCH_SIZE_UNITS = ("tokens", "sequences")
SEQUENCES_BELOW = 1e5  # a batch-size column with no stated unit and all values below this: sequences

# Tokens per sequence of a known format's batch size, where the format fixes it (Step Law: their
# runs use seq_len 2048, a column of the MoE file and the fit_tool.py default).
FORMAT_SEQUENCE_LENGTH = {"step_law_dense": 2048, "step_law_moe": 2048}

# Known formats: id -> (description, normalised header names that identify it).
_STEP_LAW_CORE = frozenset({"ffnh", "numh", "numl", "lr", "bs", "loss", "smoothloss", "n", "d"})
FORMATS = {
    "step_law_moe": "Step Law (Li et al. 2025) mixture-of-experts sweep",
    "step_law_dense": "Step Law (Li et al. 2025) dense sweep",
}


def normalise_name(name: object) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _alias_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for field_name, names in ALIASES.items():
        for alias in names:
            other = index.setdefault(normalise_name(alias), field_name)
            if other != field_name:
                raise AssertionError(f"alias {alias!r} names both {other} and {field_name}")
    return index


_ALIAS_INDEX = _alias_index()


# --- results -------------------------------------------------------------------------------


class RowError(NamedTuple):
    """Why one row was rejected (a named tuple: a million of them are made in a second)."""

    row: int  # 1-based data row (the header is not counted)
    column: str  # the file's column name, or the canonical field when the column is absent
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class IngestReport:
    """What a file gave: the accepted rows in canonical columns, and a reason per rejection.

    ``n_rows`` counts every data row of the file, the ragged ones included; ``errors`` has one
    entry per rejected row, sorted by row (for a file checked a block at a time, the first
    ERRORS_KEPT of them; ``n_rejected`` counts all). ``convention`` is what the file's N counts
    (``CONVENTIONS``), ``batch_size_unit`` what its batch size counts (None without a batch-size
    column); each ``*_reason`` says in words why. ``detected_format`` is a key of ``FORMATS`` or
    None; ``dialect`` describes how the text was read (encoding, delimiter, decimal mark).
    """

    file_name: str
    sha256: str
    n_rows: int
    mapping: dict[str, str]  # canonical field -> the file's column
    accepted: pd.DataFrame  # ACCEPTED_COLUMNS; 'row' is the file's row number
    errors: list[RowError] = field(default_factory=list)
    unmapped_columns: list[str] = field(default_factory=list)
    convention: str = "total"
    convention_reason: str = ""
    batch_size_unit: str | None = None
    batch_size_unit_reason: str = ""
    detected_format: str | None = None
    dialect: str = ""
    packed: Packing | None = field(default=None, repr=False, compare=False)
    """The file's packing for the store, started by read_upload (None: the store packs it)."""
    counted: int | None = None
    """Accepted rows of a file checked a block at a time (engine.data.blocks), whose ``accepted``
    is empty and whose ``errors`` are the first ERRORS_KEPT; None: ``accepted`` has every one."""

    @property
    def n_accepted(self) -> int:
        return len(self.accepted) if self.counted is None else self.counted

    @property
    def n_rejected(self) -> int:
        return self.n_rows - self.n_accepted

    def errors_frame(self) -> pd.DataFrame:
        return pd.DataFrame([e.as_dict() for e in self.errors], columns=["row", "column", "reason"])


ERRORS_KEPT = 10_000
"""A file checked a block at a time keeps the first this many rejected rows' reasons (and counts all)."""


def sha256_of(data: bytes | memoryview) -> str:
    return hashlib.sha256(data).hexdigest()


# --- reading -------------------------------------------------------------------------------

_READ_INFO = "engine.data.ingest.read_info"  # key in DataFrame.attrs


@dataclass(frozen=True)
class ReadInfo:
    """How a CSV file was read, and the rows that could not be (ragged rows).

    Carried on the frame's ``attrs`` from :func:`read_table` to :func:`validate`. Immutable, so
    pandas' copying of ``attrs`` to every derived frame and column shares it instead."""

    encoding: str
    delimiter: str
    decimal: str  # '.' or ','
    n_rows: int  # data rows in the file, the rejected ones included
    row_errors: tuple[RowError, ...] = ()

    def __deepcopy__(self, memo: dict) -> ReadInfo:
        return self

    def row_numbers(self) -> np.ndarray:
        """The file's row number of each row of the frame (the rows not in ``row_errors``)."""
        rows = np.arange(1, self.n_rows + 1)
        return np.delete(rows, [e.row - 1 for e in self.row_errors]) if self.row_errors else rows

    def describe(self) -> str:
        separator = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}[self.delimiter]
        mark = "decimal comma" if self.decimal == "," else "decimal point"
        return f"{_ENCODING_NAMES.get(self.encoding, self.encoding)}, {separator}-separated, {mark}"


def read_info(frame: pd.DataFrame) -> ReadInfo | None:
    """How :func:`read_table` read ``frame`` (None for Parquet or a frame made elsewhere)."""
    info = frame.attrs.get(_READ_INFO)
    return info if isinstance(info, ReadInfo) else None


def read_table(data: bytes, file_name: str, *, decimal: str | None = None) -> pd.DataFrame:
    """The file's cells: numbers where a whole column is numeric, text otherwise; or
    IngestError saying why the file cannot be read.

    ``decimal`` is the CSV's decimal mark, '.' or ','; None detects it. Ragged rows are left out
    of the frame and named in ``read_info(frame).row_errors``."""
    if not data:
        raise IngestError(f"{file_name}: the file is empty")
    if data[:4] == b"PAR1" or file_name.lower().endswith(".parquet"):
        try:
            return pd.read_parquet(io.BytesIO(data))
        except Exception as exc:  # pyarrow raises many types for a bad file
            raise IngestError(f"{file_name}: cannot read as Parquet ({exc})") from None
    if decimal not in (None, ".", ","):
        raise IngestError(f"the decimal mark must be '.' or ',', not {decimal!r}")
    encoding, start = detect_encoding(data)
    if encoding in _BYTE_ENCODINGS and b"\x00" in data[start : start + 4096]:
        raise IngestError(f"{file_name}: this is not a text CSV file (it contains binary data)")
    sample = _text_sample(data, encoding, start)
    delimiter = sniff_delimiter(sample)
    if decimal is None:
        decimal = "," if delimiter != "," and uses_decimal_comma(sample, delimiter) else "."
    body = pa.py_buffer(data).slice(start)
    if data.find(b"\n", start) < 0 and data.find(b"\r", start) < 0:  # one line: Arrow needs its end
        body = pa.py_buffer(data[start:] + "\n".encode(encoding))
    try:
        table, n_ragged = _read_csv_arrow(body, encoding, delimiter, decimal)
        if n_ragged:  # Arrow cannot say where they were: read again, row by row
            table, n_rows, row_errors = _read_ragged(body, encoding, delimiter, decimal)
        else:
            n_rows, row_errors = table.num_rows, ()
    except (pa.ArrowException, csv.Error, UnicodeError) as exc:
        if "Empty CSV file" in str(exc):
            raise IngestError(f"{file_name}: no columns found") from None
        raise IngestError(f"{file_name}: cannot read as CSV ({exc})") from None
    if table.num_columns == 0:
        raise IngestError(f"{file_name}: no columns found")
    table = _pandas_ready(table)  # the only reference left, so converting can free Arrow's buffers
    frame = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    pa.default_memory_pool().release_unused()  # the reader's block buffers, back to the system
    frame.attrs[_READ_INFO] = ReadInfo(encoding, delimiter, decimal, n_rows, tuple(row_errors))
    return frame


_BOMS = (  # longest first: UTF-32-LE's mark starts with UTF-16-LE's
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)
_BYTE_ENCODINGS = ("utf-8", "latin-1")
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "latin-1": "Latin-1",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
}


def detect_encoding(data: bytes) -> tuple[str, int]:
    """(encoding, offset of the text after any byte-order mark). UTF-16 without a mark is
    recognised by ASCII text's zero bytes; text that is not valid UTF-8 is read as Latin-1."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return encoding, len(bom)
    head = data[:4096]
    if len(head) >= 4 and len(head) % 2 == 0:  # ASCII text in UTF-16: every other byte is zero
        even, odd = head[0::2], head[1::2]
        if not odd.strip(b"\x00") and 0 not in even:
            return "utf-16-le", 0
        if not even.strip(b"\x00") and 0 not in odd:
            return "utf-16-be", 0
    return ("utf-8" if _is_utf8(data) else "latin-1"), 0


def _is_utf8(data: bytes | memoryview) -> bool:
    """Arrow's SIMD validation over the bytes in place (no decoded copy)."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    try:
        pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)]).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _text_sample(data: bytes, encoding: str, start: int, size: int = 65536) -> str:
    """The first whole lines of the text (at most ``size`` bytes), decoded."""
    chunk = data[start : start + size]
    text = chunk.decode(encoding, errors="ignore")
    if start + size < len(data) and "\n" in text:
        text = text[: text.rindex("\n")]
    return text


_DELIMITERS = (",", "\t", ";", "|")  # preferred first on a tie


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the header into two or more fields and the most of the first
    50 records into as many; ',' when none does."""
    best, best_score = ",", (0.0, 0)
    for delimiter in _DELIMITERS:
        try:
            records = [r for r, _ in zip(_records(sample, delimiter), range(50))]
        except csv.Error:
            continue
        if not records or len(records[0]) < 2:
            continue
        width = len(records[0])
        score = (sum(len(r) == width for r in records) / len(records), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _records(text: str, delimiter: str):
    """Non-blank CSV records of ``text``."""
    return _records_of(io.StringIO(text, newline=""), delimiter)


_COMMA_DECIMAL = re.compile(r"^[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+(?:e[+-]?\d+)?[kmbgtp]?$", re.IGNORECASE)
_POINT_DECIMAL = re.compile(r"^[+-]?\d*\.\d+(?:e[+-]?\d+)?[kmbgtp]?$", re.IGNORECASE)
_DOT_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:\.\d{3})+$")


def uses_decimal_comma(sample: str, delimiter: str) -> bool:
    """True when number-like data cells of the sample use a decimal comma (``1,5``,
    ``1.000,25``, ``2,5E+09``) and none a decimal point (``1.5``; ``1.000`` is read as a
    thousands group, so it does not count)."""
    commas = points = 0
    records = _records(sample, delimiter)
    next(records, None)  # the header
    for record in records:
        for cell in record:
            cell = cell.strip()
            if _COMMA_DECIMAL.match(cell):
                commas += 1
            elif _POINT_DECIMAL.match(cell) and not _DOT_THOUSANDS.match(cell):
                points += 1
    return commas > 0 and points == 0


def _arrow_options(delimiter: str, decimal: str, handler: Callable | None = None, column_types=None):
    """Arrow's parse and convert options: Excel's quoting, quoted line breaks, blank lines
    skipped, ``handler`` called for each ragged row."""
    parse = pa_csv.ParseOptions(
        delimiter=delimiter,
        quote_char='"',
        double_quote=True,
        escape_char=False,
        newlines_in_values=True,
        ignore_empty_lines=True,
        invalid_row_handler=handler,
    )
    # Only empty cells are missing ('nan' and 'NA' stay text, to be named); no booleans or dates
    # are guessed (columns of those are re-read as text by _read_csv_arrow).
    convert = pa_csv.ConvertOptions(
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        true_values=[],
        false_values=[],
        decimal_point=decimal,
        column_types=column_types or {},
    )
    return parse, convert


_STREAM_ABOVE = 128 * 2**20  # bytes; larger files are read one block at a time
_BLOCK_BYTES = 4 * 2**20  # Arrow's block (its default is 1 MiB): a 40 MB file parses in half the time


def _read_csv_arrow(body: pa.Buffer, encoding: str, delimiter: str, decimal: str) -> tuple[pa.Table, int]:
    """The file as an Arrow table of int64, float64 and string columns, and how many ragged
    rows were left out (lines of only spaces are blank lines, left out silently).

    Arrow's whole-file reader parses blocks on every core and types each column by all of it,
    but holds about twice the file meanwhile; above _STREAM_ABOVE its streaming reader holds
    one block at a time. That one types columns by the first block, so a column that turns out
    wider later (an integer column with a '1.5', a number column with a '70M') is read again
    as float64, then as text: both give the same table."""
    column_types: dict[str, pa.DataType] = {}
    names: list[str] = []
    stream = body.size > _STREAM_ABOVE
    for _ in range(64):
        try:
            table, n_ragged = _read_arrow(body, encoding, delimiter, decimal, column_types, names, stream)
        except pa.ArrowInvalid as exc:
            wider = _wider_type(exc, names, column_types) if stream else None
            if wider is None:
                raise
            column_types[wider[0]] = wider[1]
            continue
        as_text = [name for name in _columns_to_reread(table) if column_types.get(name) != pa.string()]
        if not as_text:
            return table, n_ragged
        column_types.update({name: pa.string() for name in as_text})
    raise pa.ArrowInvalid("the column types keep changing")


def _read_arrow(
    body: pa.Buffer,
    encoding: str,
    delimiter: str,
    decimal: str,
    column_types: dict[str, pa.DataType],
    names: list[str],
    stream: bool,
) -> tuple[pa.Table, int]:
    """One pass of Arrow's reader (streaming or whole-file): (table, number of ragged rows);
    ``names`` gets the header's names."""
    ragged: list[int] = []

    def handler(row) -> str:
        if not _is_blank(row.text):
            ragged.append(row.actual_columns)
        return "skip"

    parse, convert = _arrow_options(delimiter, decimal, handler, column_types)
    options = {
        "read_options": pa_csv.ReadOptions(encoding=encoding, block_size=_BLOCK_BYTES),
        "parse_options": parse,
        "convert_options": convert,
    }
    if not stream:
        table = pa_csv.read_csv(pa.BufferReader(body), **options)
        names[:] = table.column_names
        return table, len(ragged)
    reader = pa_csv.open_csv(pa.BufferReader(body), **options)
    names[:] = reader.schema.names
    return reader.read_all(), len(ragged)


_CONVERSION_ERROR = re.compile(r"In CSV column #(\d+): .*CSV conversion error to (\w+)")


def _wider_type(
    exc: Exception, names: list[str], column_types: dict[str, pa.DataType]
) -> tuple[str, pa.DataType] | None:
    """(column, next type to try) for a streaming conversion error, or None for another error."""
    match = _CONVERSION_ERROR.search(str(exc))
    if not match or int(match.group(1)) >= len(names):
        return None
    name = names[int(match.group(1))]
    current = column_types.get(name)
    if current == pa.string():
        return None
    to_text = current == pa.float64() or match.group(2) not in ("int64", "null")
    return name, pa.string() if to_text else pa.float64()


def _columns_to_reread(table: pa.Table) -> list[str]:
    """Columns Arrow typed as something other than int64, float64 or text (dates, times), and
    float columns holding a NaN read from a 'nan' cell: they are read again as text."""
    names = []
    for name, column in zip(table.column_names, table.columns):
        kind = column.type
        if pa.types.is_floating(kind):
            if pc.any(pc.is_nan(column)).as_py():
                names.append(name)
        elif not (
            pa.types.is_integer(kind)
            or pa.types.is_string(kind)
            or pa.types.is_large_string(kind)
            or pa.types.is_null(kind)
        ):
            names.append(name)
    return names


def _read_ragged(body: pa.Buffer, encoding: str, delimiter: str, decimal: str):
    """A file with ragged rows, read by Python's csv module: (table of the good rows, number of
    data rows, a RowError per ragged row). The good rows are written out again and read by
    Arrow, so their cells are typed exactly as in a clean file."""
    text = io.TextIOWrapper(io.BytesIO(body), encoding=encoding, newline="")
    records = _records_of(text, delimiter)
    header = next(records, None)
    if header is None:
        raise pa.ArrowInvalid("Empty CSV file")
    width, names = len(header), _column_names(header)
    good = io.BytesIO()
    out = io.TextIOWrapper(good, encoding="utf-8", newline="", write_through=True)
    # "\r\n" as the line end makes the writer quote a cell holding either character
    writer = csv.writer(out, delimiter=delimiter, quotechar='"', doublequote=True, lineterminator="\r\n")
    writer.writerow(header)
    errors: list[RowError] = []
    n_rows = 0
    for n_rows, record in enumerate(records, start=1):
        if len(record) == width:
            writer.writerow(record)
        else:
            errors.append(_ragged_error(n_rows, len(record), names))
    out.flush()
    table, n_ragged = _read_csv_arrow(pa.py_buffer(good.getbuffer()), "utf-8", delimiter, decimal)
    if n_ragged or table.num_rows != n_rows - len(errors):
        raise pa.ArrowInvalid("the rows cannot be told apart (unbalanced quotes?)")
    return table, n_rows, errors


def _records_of(stream, delimiter: str):
    """Non-blank CSV records of a text stream (quotes and doubled quotes as Excel writes them)."""
    reader = csv.reader(stream, delimiter=delimiter, quotechar='"', doublequote=True)
    return (r for r in reader if r and not (len(r) == 1 and _is_blank(r[0])))


def _is_blank(text: str) -> bool:
    """A line of nothing but spaces (and perhaps an empty quoted cell) is a blank line, not a row."""
    return not text.strip().strip('"').strip()


def _ragged_error(row: int, n_fields: int, names: list[str]) -> RowError:
    """A row with more or fewer fields than the header; its column is the first one it lacks,
    or '(whole row)' for a row that is too long."""
    fields = "field" if n_fields == 1 else "fields"
    column = names[n_fields] if n_fields < len(names) else "(whole row)"
    return RowError(row, column, f"row has {n_fields} {fields}; the header has {len(names)}")


def _column_names(names: list[str]) -> list[str]:
    """Header names as pandas gives them: trimmed, 'Unnamed: i' for an empty one, and a
    repeated name numbered ('loss', 'loss.1')."""
    out: list[str] = []
    seen: set[str] = set()
    for i, name in enumerate(names):
        name = name.strip() or f"Unnamed: {i}"
        candidate, k = name, 0
        while candidate in seen:
            k += 1
            candidate = f"{name}.{k}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _pandas_ready(table: pa.Table) -> pa.Table:
    """The table with pandas' column names, an all-empty column as float64 (NaN) and text as
    large_string (pandas' string dtype), so that to_pandas converts numbers and nothing else."""
    table = table.rename_columns(_column_names(table.column_names))
    for i, column in enumerate(table.columns):
        if pa.types.is_null(column.type):
            table = table.set_column(i, table.column_names[i], column.cast(pa.float64()))
        elif pa.types.is_string(column.type):
            table = table.set_column(i, table.column_names[i], column.cast(pa.large_string()))
    return table


# --- mapping and conventions ----------------------------------------------------------------


def guess_mapping(columns: list[str]) -> dict[str, str]:
    """Canonical field -> the first column whose normalised name is one of its aliases."""
    mapping: dict[str, str] = {}
    for column in columns:
        field_name = _ALIAS_INDEX.get(normalise_name(column))
        if field_name and field_name not in mapping:
            mapping[field_name] = column
    return mapping


def detect_format(columns) -> str | None:
    """A key of FORMATS when the header is one we know, else None."""
    names = {normalise_name(c) for c in columns}
    if names >= _STEP_LAW_CORE:
        return "step_law_moe" if {"na", "nume"} & names else "step_law_dense"
    return None


_NON_EMBEDDING_WORDS = ("nonemb", "noemb", "exclemb", "woemb", "withoutemb", "nonembed")
_ACTIVE_ALIASES = frozenset(normalise_name(a) for a in ALIASES["n_params_active"])


def detect_convention(mapping: Mapping[str, str], detected_format: str | None) -> tuple[str, str]:
    """(what the file's N counts, why): from a known format, else the parameter column's name,
    else 'total'."""
    if detected_format in ("step_law_dense", "step_law_moe"):
        return "non_embedding", f"{FORMATS[detected_format]}: its N counts non-embedding parameters"
    column = mapping.get("n_params")
    if column is None:
        return "total", "no parameter column: total parameters assumed"
    name = normalise_name(column)
    if any(word in name for word in _NON_EMBEDDING_WORDS):
        return "non_embedding", f"the parameter column {str(column)!r} says non-embedding"
    if name in _ACTIVE_ALIASES or "active" in name:
        return "active", f"the parameter column {str(column)!r} says active parameters"
    if "total" in name:
        return "total", f"the parameter column {str(column)!r} says total"
    return "total", "nothing in the file says otherwise: total parameters (embeddings included) assumed"


def detect_batch_size_unit(
    column: str | None, values: np.ndarray, detected_format: str | None
) -> tuple[str | None, str]:
    """(what the batch size counts, why): the column's name if it says, else a known format,
    else 'sequences' when every value is below SEQUENCES_BELOW and 'tokens' otherwise."""
    if column is None:
        return None, "no batch-size column"
    name = normalise_name(column)
    if "token" in name:
        return "tokens", f"the batch-size column {str(column)!r} says tokens"
    if "seq" in name or "sample" in name:
        return "sequences", f"the batch-size column {str(column)!r} says sequences"
    if detected_format in FORMAT_SEQUENCE_LENGTH:
        return "sequences", (
            f"{FORMATS[detected_format]}: its bs counts sequences of "
            f"{FORMAT_SEQUENCE_LENGTH[detected_format]:,} tokens (the authors' code/fit_tool.py "
            "multiplies bs by seq_len; bs × ti × 2048 = D)"
        )
    finite = values[np.isfinite(values) & (values > 0)]
    if finite.size == 0:
        return "sequences", "no batch-size values; sequences assumed"
    largest = float(finite.max())
    if largest < SEQUENCES_BELOW:
        return "sequences", (
            f"every batch size is below {SEQUENCES_BELOW:,.0f} (largest {largest:,.0f}): read as sequences"
        )
    return "tokens", f"batch sizes reach {largest:,.0f} (at least {SEQUENCES_BELOW:,.0f}): read as tokens"


# --- values --------------------------------------------------------------------------------

_SUFFIX = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12, "p": 1e15}
_SUFFIXES = pa.array(list(_SUFFIX))
_SCALES = np.array(list(_SUFFIX.values()))
# A number with optional thousands separators and magnitude suffix (RE2 syntax, whole cell).
_NUMBER_POINT = (
    r"(?i)^(?P<num>[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:e[+-]?\d+)?|[+-]?\.\d+(?:e[+-]?\d+)?)"
    r"\s*(?P<suffix>[kmbgtp]?)$"
)
_NUMBER_COMMA = (
    r"(?i)^(?P<num>[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d*)?(?:e[+-]?\d+)?|[+-]?,\d+(?:e[+-]?\d+)?)"
    r"\s*(?P<suffix>[kmbgtp]?)$"
)
_SPECIAL = {
    "nan": np.nan,
    "inf": np.inf,
    "+inf": np.inf,
    "-inf": -np.inf,
    "infinity": np.inf,
    "+infinity": np.inf,
    "-infinity": -np.inf,
}  # in any case; 'nan' is named "not finite"
_SPECIAL_NAMES = pa.array(list(_SPECIAL))
_SPECIAL_VALUES = np.array(list(_SPECIAL.values()))


def parse_quantities(values: pd.Series, *, decimal_comma: bool = False) -> tuple[pd.Series, pd.Series]:
    """Numbers from cells like '70M', '1.3B', '2e9', '1,000' (with ``decimal_comma``:
    '1,5', '1.000.000', '2,5E+09'). Returns (values, bad) where bad marks non-empty cells that
    are not numbers; empty cells are NaN and not bad; 'nan' and 'inf' give NaN and ±inf."""
    numbers, bad, _ = _parse_numbers(values, decimal_comma)
    return pd.Series(numbers, index=values.index), pd.Series(bad, index=values.index)


def _parse_numbers(values: pd.Series, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(numbers, bad, nan_text): nan_text marks cells that say 'nan' (NaN, not missing)."""
    n = len(values)
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        # A float column comes as a read-only view of the frame's (shared, not copied); _derive_sizes
        # copies one of N, D, C before it fills it in.
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        return numbers, np.zeros(n, bool), np.zeros(n, bool)
    text = pc.utf8_trim_whitespace(_arrow_text(values))
    empty = _bool(pc.or_kleene(pc.is_null(text), pc.equal(text, "")))
    parts = pc.extract_regex(text, _NUMBER_COMMA if decimal_comma else _NUMBER_POINT)
    matched = pc.fill_null(pc.is_valid(parts), False)
    mantissa = pc.if_else(matched, pc.struct_field(parts, "num"), None)
    if decimal_comma:
        mantissa = pc.replace_substring(pc.replace_substring(mantissa, ".", ""), ",", ".")
    else:
        mantissa = pc.replace_substring(mantissa, ",", "")
    suffix = pc.index_in(
        pc.utf8_lower(pc.if_else(matched, pc.struct_field(parts, "suffix"), "")), value_set=_SUFFIXES
    )
    with np.errstate(over="ignore"):  # '1e308k' overflows to inf, which the checks name "not finite"
        numbers = _to_float(mantissa) * _SCALES[_ints(suffix)]
    which = pc.index_in(pc.utf8_lower(text), value_set=_SPECIAL_NAMES)
    special = _bool(pc.is_valid(which))
    if special.any():
        numbers[special] = _SPECIAL_VALUES[_ints(which)[special]]
    bad = ~empty & ~special & ~_bool(matched)
    nan_text = special & np.isnan(numbers)
    return numbers, bad, nan_text


def _arrow_text(values: pd.Series) -> pa.ChunkedArray | pa.Array:
    """The cells as an Arrow string array, without copying text that is already Arrow-backed."""
    if not isinstance(values.dtype, pd.StringDtype) or values.dtype.storage != "pyarrow":
        values = values.astype("str")
    return pa.array(values)


def _to_float(text) -> np.ndarray:
    """Arrow text that the number pattern matched (or null) as float64."""
    try:
        return _floats(pc.cast(text, pa.float64()))
    except pa.ArrowInvalid:  # a form the pattern admits but Arrow's parser does not: one by one
        return pd.to_numeric(pd.Series(text.to_pandas(), dtype=object), errors="coerce").to_numpy(dtype=float)


def _bool(array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _floats(array) -> np.ndarray:
    return np.array(pc.fill_null(array, np.nan).to_numpy(zero_copy_only=False), dtype=float)


def _ints(array) -> np.ndarray:
    return np.asarray(pc.fill_null(array, 0).to_numpy(zero_copy_only=False), dtype=np.int64)


def _text_values(values: pd.Series) -> pd.Series:
    """Cells as trimmed text (pandas' string dtype); empty cells are missing (NaN). Text that
    needs neither is kept as it is, not copied."""
    text = _arrow_text(values)
    if _may_need_trim(text):
        text = pc.utf8_trim_whitespace(text)
    if pc.any(pc.equal(text, "")).as_py():
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    return _str_series(text)


def _may_need_trim(text: pa.ChunkedArray | pa.Array) -> bool:
    """Whether a cell may start or end with white space: its first or last byte is a control
    character, a space or part of a non-ASCII character. Read from Arrow's buffers, a block at
    a time, so no copy of the text is made."""
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        chunk = chunk.cast(pa.large_string())
        _, offsets, data = chunk.buffers()
        if data is None or len(chunk) == 0:
            continue
        offsets = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = np.frombuffer(data, dtype=np.uint8)
        starts, ends = offsets[:-1], offsets[1:]
        filled = ends > starts
        edges = np.concatenate([data[starts[filled]], data[ends[filled] - 1]])
        if ((edges <= 0x20) | (edges >= 0x80)).any():
            return True
    return False


def _str_series(array) -> pd.Series:
    """An Arrow text array as a pandas string Series (the text stays in Arrow's buffers;
    pandas keeps text as large_string, so other text is cast once here)."""
    array = pa.chunked_array([array]) if isinstance(array, pa.Array) else array
    return array.cast(pa.large_string()).to_pandas()


# --- validation ----------------------------------------------------------------------------


class _Rejections:
    """The first reason for each rejected row, recorded vectorised; the reasons are worded
    only when the report is built, for the rejected rows only."""

    def __init__(self, n: int):
        self.check = np.full(n, -1, dtype=np.int32)  # index into self.reasons, -1: no reason yet
        self.reasons: list[tuple[str, str, tuple]] = []

    def add(self, mask: np.ndarray, column: str, reason: str, *values) -> None:
        """Reject each row in ``mask`` that has no reason yet. With ``values`` the reason is a
        str.format template filled per row from them: each is an array (indexed by the rows'
        positions) or a function of the positions' array giving a sequence."""
        mask = np.asarray(mask, dtype=bool) & (self.check < 0)
        if mask.any():
            self.check[mask] = len(self.reasons)
            self.reasons.append((str(column), reason, values))

    @property
    def ok(self) -> np.ndarray:
        return self.check < 0

    def errors(self, rows: np.ndarray) -> list[RowError]:
        errors: list[RowError] = []
        for k, (column, reason, values) in enumerate(self.reasons):
            where = np.flatnonzero(self.check == k)
            if values:
                filled = [list(v(where)) if callable(v) else v[where].tolist() for v in values]
                texts = [reason.format(*args) for args in zip(*filled)]
            else:
                texts = [reason] * len(where)
            errors.extend(map(RowError, rows[where].tolist(), [column] * len(where), texts))
        return errors


def validate(
    frame: pd.DataFrame,
    file_name: str,
    data: bytes,
    mapping: Mapping[str, str] | None = None,
    *,
    convention: str | None = None,
    batch_size_unit: str | None = None,
) -> IngestReport:
    """Map, parse and check every row of ``frame`` (from :func:`read_table`, whose ragged rows
    join the report's errors). ``convention`` (one of CONVENTIONS) and ``batch_size_unit`` (one
    of BATCH_SIZE_UNITS) override the detected ones."""
    if convention is not None and convention not in CONVENTIONS:
        raise IngestError(
            f"the parameter convention must be one of {', '.join(CONVENTIONS)}, not {convention!r}"
        )
    if batch_size_unit is not None and batch_size_unit not in BATCH_SIZE_UNITS:
        raise IngestError(
            f"the batch-size unit must be one of {', '.join(BATCH_SIZE_UNITS)}, not {batch_size_unit!r}"
        )
    mapping = _checked_mapping(frame, file_name, mapping)
    # The file's sha256 in a thread while the rows are checked (hashlib lets go of the GIL, and the
    # checks below run on one core): 20 ms of a 10^6-row file's validation.
    hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flopwise-sha256")
    digest = hashing.submit(sha256_of, data)
    hashing.shutdown(wait=False)
    info = read_info(frame)
    if info is not None and info.n_rows - len(info.row_errors) != len(frame):
        info = None  # the frame was changed after reading: its rows are numbered afresh
    n = len(frame)
    rows = info.row_numbers() if info is not None else np.arange(1, n + 1)
    decimal_comma = info is not None and info.decimal == ","
    detected_format = detect_format(frame.columns)

    rejections = _Rejections(n)
    numbers = {
        f: _check_number(frame[mapping[f]], f, mapping[f], decimal_comma, rejections)
        for f in NUMERIC_FIELDS
        if f in mapping
    }
    texts = {f: _check_text(frame[mapping[f]], mapping[f], rejections) for f in TEXT_FIELDS if f in mapping}
    _check_row(numbers, mapping, rejections)
    derived = _derive_sizes(numbers, n)
    for f in SIZE_FIELDS:  # a derived value can still be implausible (e.g. D from a tiny C)
        low, high, unit = PLAUSIBLE[f]
        out = (derived == SIZE_FIELDS.index(f)) & ((numbers[f] < low) | (numbers[f] > high))
        rejections.add(out, mapping.get(f, f), f"derived {f} = {unit} outside {low:g}-{high:g} (check units)")
    _check_duplicates(numbers, texts, rows, mapping["loss"], rejections)

    convention, convention_reason = (
        (convention, STATED) if convention is not None else detect_convention(mapping, detected_format)
    )
    if "batch_size" in mapping:
        batch_size_unit, unit_reason = _stated_or(
            batch_size_unit,
            lambda: detect_batch_size_unit(
                mapping["batch_size"], numbers["batch_size"][rejections.ok], detected_format
            ),
        )
    else:
        batch_size_unit, unit_reason = None, "no batch-size column"

    accepted = _accepted_frame(rows, rejections.ok, numbers, texts, derived, batch_size_unit, convention)
    errors = sorted([*(info.row_errors if info else ()), *rejections.errors(rows)])  # by row
    unmapped = [str(c) for c in frame.columns if c not in set(mapping.values())]
    return IngestReport(
        file_name,
        digest.result(),
        info.n_rows if info else n,
        mapping,
        accepted,
        errors,
        unmapped,
        convention=convention,
        convention_reason=convention_reason,
        batch_size_unit=batch_size_unit,
        batch_size_unit_reason=unit_reason,
        detected_format=detected_format,
        dialect=info.describe() if info else ("Parquet" if data[:4] == b"PAR1" else ""),
    )


STATED = "as stated for the upload"  # why a convention or unit is what it is, when the caller gave it


def _stated_or(stated: str | None, detect: Callable[[], tuple[str | None, str]]) -> tuple[str | None, str]:
    """(value, why): the caller's value if given, else the detected one."""
    return (stated, STATED) if stated is not None else detect()


def _checked_mapping(
    frame: pd.DataFrame, file_name: str, mapping: Mapping[str, str] | None
) -> dict[str, str]:
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
    return mapping


def _check_number(
    cells: pd.Series, f: str, column: str, decimal_comma: bool, rejections: _Rejections
) -> np.ndarray:
    """The column's numbers; rejects cells that are not numbers, not finite, not positive (not
    negative for NON_NEGATIVE_FIELDS) or outside PLAUSIBLE."""
    v, bad, nan_text = _parse_numbers(cells, decimal_comma)
    rejections.add(
        bad,
        column,
        "not a number: '{:.40}'",
        lambda where: cells.iloc[where].astype(str).str.strip().to_numpy(dtype=object),
    )
    rejections.add(np.isinf(v) | nan_text, column, "not finite")
    low, high, unit = PLAUSIBLE[f]
    with np.errstate(invalid="ignore"):
        if f in NON_NEGATIVE_FIELDS:
            rejections.add(v < 0, column, "negative: {:g}", v)
            rejections.add(v > high, column, f"{f} above {high:g} {unit} is implausible: {{:g}}", v)
            return v
        rejections.add(v <= 0, column, "not positive: {:g}", v)
        if f in LOSS_FIELDS:
            rejections.add(
                (v < low) | (v > high),
                column,
                f"loss outside the plausible range {low:g}-{high:g} {unit}: {{:g}}",
                v,
            )
        else:
            hint = " (in millions or billions? write 70M or 1.3B)" if f in SIZE_FIELDS else ""
            rejections.add(v < low, column, f"{f} below {low:g} {unit} is implausible{hint}: {{:g}}", v)
            rejections.add(v > high, column, f"{f} above {high:g} {unit} is implausible: {{:g}}", v)
    return v


def _check_text(cells: pd.Series, column: str, rejections: _Rejections) -> pd.Series:
    text = _text_values(cells)
    if _longest_bytes(pa.array(text)) > MAX_TEXT_LENGTH:  # else no cell has more characters than that
        too_long = text.str.len().to_numpy(dtype=float, na_value=0) > MAX_TEXT_LENGTH
        rejections.add(too_long, column, f"text longer than {MAX_TEXT_LENGTH} characters")
    return text


def _longest_bytes(text: pa.ChunkedArray | pa.Array) -> int:
    """The most UTF-8 bytes any cell has (at least its number of characters), from Arrow's
    offsets alone."""
    longest = 0
    for chunk in text.chunks if isinstance(text, pa.ChunkedArray) else [text]:
        if len(chunk) == 0:
            continue
        offsets = chunk.cast(pa.large_string()).buffers()[1]
        edges = np.frombuffer(offsets, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        longest = max(longest, int(np.diff(edges).max()))
    return longest


def _check_row(numbers: dict[str, np.ndarray], mapping: Mapping[str, str], rejections: _Rejections) -> None:
    """Checks across a row's columns: loss present, two of N, D, C, whole expert counts, top-k
    not above the number of experts."""
    rejections.add(np.isnan(numbers["loss"]), mapping["loss"], "missing loss")
    present = sum((~np.isnan(numbers[f])).astype(np.int8) for f in SIZE_FIELDS if f in numbers)
    size_cols = ", ".join(mapping.get(f, f) for f in SIZE_FIELDS)
    rejections.add(
        present < 2,
        mapping.get("n_params", "n_params"),
        f"needs two of parameters, tokens and compute ({size_cols}); this row has fewer",
    )
    for f in WHOLE_FIELDS:
        if f in numbers:
            v = numbers[f]
            rejections.add(~np.isnan(v) & (v != np.round(v)), mapping[f], "not a whole number")
    if "top_k" in numbers and "n_experts" in numbers:
        k, e = numbers["top_k"], numbers["n_experts"]
        rejections.add(k > e, mapping["top_k"], "top-k {:g} is more than the {:g} experts", k, e)


def _derive_sizes(numbers: dict[str, np.ndarray], n: int) -> np.ndarray:
    """Fill the missing one of N, D, C from the other two (C = 6·N·D), in place; returns per
    row the index in SIZE_FIELDS of the derived field, -1 where none was."""
    for f in SIZE_FIELDS:
        numbers.setdefault(f, np.full(n, np.nan))
    has = {f: ~np.isnan(numbers[f]) for f in SIZE_FIELDS}
    derived = np.full(n, -1, dtype=np.int8)
    with np.errstate(all="ignore"):  # rows already rejected may hold inf or huge values
        for target, (a, b) in (
            ("flops", ("n_params", "n_tokens")),
            ("n_params", ("flops", "n_tokens")),
            ("n_tokens", ("flops", "n_params")),
        ):
            need = ~has[target] & has[a] & has[b]
            if not need.any():
                continue
            if not numbers[target].flags.writeable:  # a view of the file's column: filled in a copy
                numbers[target] = numbers[target].copy()
            out, x, y = numbers[target], numbers[a], numbers[b]
            if need.all():  # every row: in place, no temporary arrays (C of a 10^7-row file is 80 MB),
                # the same operations in the same order as below, so the same bits
                if target == "flops":
                    np.multiply(FLOPS_PER_PARAM_TOKEN, x, out=out)
                    np.multiply(out, y, out=out)
                else:
                    np.multiply(FLOPS_PER_PARAM_TOKEN, y, out=out)
                    np.divide(x, out, out=out)
            elif target == "flops":
                out[need] = FLOPS_PER_PARAM_TOKEN * x[need] * y[need]
            else:
                out[need] = x[need] / (FLOPS_PER_PARAM_TOKEN * y[need])
            derived[need] = SIZE_FIELDS.index(target)
    return derived


def _check_duplicates(
    numbers: dict[str, np.ndarray],
    texts: dict[str, pd.Series],
    rows: np.ndarray,
    loss_col: str,
    rejections: _Rejections,
) -> None:
    """Reject each still-accepted row whose DUPLICATE_KEY equals an earlier accepted row's
    (missing values equal each other).

    Rows are first hashed on their numbers to 32 bits; only rows whose hash repeats are compared
    exactly, text columns included, so a file of distinct runs costs one hash per row and one sort
    of 4-byte keys (10^6 rows: about 40 ms, against 130 ms for 64-bit splitmix hashes sorted; a
    32-bit hash repeats by chance for about n^2 / 2^33 pairs, 116 at 10^6 rows, which the exact
    comparison then tells apart)."""
    ok = np.flatnonzero(rejections.ok)
    if ok.size < 2:
        return
    every = ok.size == len(rows)
    hashed = _row_hash([numbers[f] if every else numbers[f][ok] for f in DUPLICATE_KEY if f in numbers])
    ordered = np.sort(hashed)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if repeated.size == 0:
        return
    # the rows holding a repeated hash: a table of the hashes' top 20 bits first (one gather a row),
    # then the exact values among the few rows it lets through
    table = np.zeros(1 << 20, dtype=bool)
    table[repeated >> np.uint32(12)] = True
    maybe = np.flatnonzero(table[hashed >> np.uint32(12)])
    positions = ok[maybe[np.isin(hashed[maybe], repeated)]]
    key = pd.DataFrame({f: numbers[f][positions] for f in DUPLICATE_KEY if f in numbers})
    for f in DUPLICATE_KEY:
        if f in texts:
            key[f] = texts[f].take(positions).to_numpy(dtype=object, na_value=None)
    group = key.groupby(list(key.columns), sort=False, dropna=False).ngroup().to_numpy()
    first_row = pd.Series(rows[positions]).groupby(group).transform("min").to_numpy()
    dup = np.zeros(len(rows), dtype=bool)
    dup[positions] = pd.Series(group).duplicated(keep="first").to_numpy()
    first = np.zeros(len(rows), dtype=np.int64)
    first[positions] = first_row
    rejections.add(dup, loss_col, "duplicate of row {}", first)


_FOLD = np.uint64(0x9E3779B97F4A7C15)  # the golden ratio in 64 bits: each column's bits folded in by it


def _row_hash(columns: list[np.ndarray], *, bits: int = 32) -> np.ndarray:
    """A 32-bit hash per row of float64 columns, equal for equal rows (every NaN one value, -0.0
    equal to 0.0): each column's bits folded in (h = h * φ + bits), then the sum mixed once by
    splitmix64's finaliser and its high half kept (all 64 bits with ``bits=64``). A column with
    neither NaN nor zero is folded in as it is, without a canonical copy."""
    hashed = np.zeros(len(columns[0]), dtype=np.uint64)
    with np.errstate(over="ignore", invalid="ignore"):
        for column in columns:
            nan = np.isnan(column)
            if nan.any() or not (column != 0).all():
                column = column + 0.0  # -0.0 -> 0.0
                column[nan] = np.nan  # one NaN
            hashed *= _FOLD
            hashed += column.view(np.uint64)
        hashed ^= hashed >> np.uint64(30)
        hashed *= np.uint64(0xBF58476D1CE4E5B9)
        hashed ^= hashed >> np.uint64(27)
        hashed *= np.uint64(0x94D049BB133111EB)
        hashed ^= hashed >> np.uint64(31)
    return hashed if bits == 64 else (hashed >> np.uint64(32)).astype(np.uint32)


def _accepted_frame(
    rows: np.ndarray,
    ok: np.ndarray,
    numbers: dict[str, np.ndarray],
    texts: dict[str, pd.Series],
    derived: np.ndarray,
    batch_size_unit: str | None,
    convention: str,
) -> pd.DataFrame:
    """The accepted rows in ACCEPTED_COLUMNS: numbers float64 (NaN where missing), text pandas'
    string dtype, the label columns (derived_field, batch_size_unit, n_params_convention)
    categoricals. Columns the file lacks share one all-missing column (copy-on-write keeps them
    independent), so a narrow file stays small in memory."""
    keep = None if ok.all() else np.flatnonzero(ok)
    n = len(rows) if keep is None else len(keep)

    def take(a):
        return a if keep is None else a[keep]

    no_number = pd.Series(np.full(n, np.nan), copy=False)
    no_text = _str_series(pa.nulls(n, pa.large_string()))
    columns: dict[str, object] = {"row": pd.Series(take(rows), copy=False)}
    for f in NUMERIC_FIELDS:
        columns[f] = (
            pd.Series(take(numbers[f]), copy=False) if f in numbers else no_number
        )  # arrays made here
    for f in TEXT_FIELDS:
        if f not in texts:
            columns[f] = no_text
        else:
            columns[f] = texts[f] if keep is None else texts[f].take(keep).reset_index(drop=True)
    columns["derived_field"] = _labels(take(derived), SIZE_FIELDS)
    unit = [batch_size_unit] if batch_size_unit else []  # stated on the rows that have a batch size
    has_unit = ~np.isnan(np.asarray(columns["batch_size"], dtype=float)) & bool(unit)
    columns["batch_size_unit"] = _labels(np.where(has_unit, 0, -1), unit)
    columns["n_params_convention"] = _labels(np.zeros(n, dtype=np.int8), [convention])
    return pd.DataFrame(columns, copy=False)


def _labels(codes: np.ndarray, labels) -> pd.Series:
    """A label column (a few fixed words) as a pandas categorical: one byte a row. ``codes``
    index ``labels``; -1 is missing."""
    categories = pd.Index(list(labels), dtype="str")
    return pd.Series(pd.Categorical.from_codes(np.asarray(codes, dtype=np.int8), categories=categories))


def read_upload(
    data: bytes,
    file_name: str,
    mapping: Mapping[str, str] | None = None,
    *,
    convention: str | None = None,
    batch_size_unit: str | None = None,
    decimal: str | None = None,
) -> IngestReport:
    """Parse and validate one uploaded file; IngestError if the file as a whole is unusable.
    The keywords are those of :func:`validate` and :func:`read_table`."""
    frame = read_table(data, file_name, decimal=decimal)
    info = read_info(frame)
    if (info.n_rows if info else len(frame)) == 0:
        raise IngestError(f"{file_name}: the file has a header but no rows")
    packed = Packing(data)  # in a thread while the rows are checked on one core: the store's bytes
    report = validate(frame, file_name, data, mapping, convention=convention, batch_size_unit=batch_size_unit)
    report.packed = packed
    return report
