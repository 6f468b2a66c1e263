"""A large CSV upload checked a block at a time: parse a block, validate it, hand it on, drop it.

What :func:`engine.data.ingest.read_upload` does for a whole file, in blocks of about
BLOCK_BYTES, so that a 200 MB upload never sits in memory as a table of every row (issue 12,
point 7: a 200 MB upload under 1 GB of server memory). The rows accepted and the reasons given are
those of the whole-file path (tests/unit/test_upload_blocks.py compares both on the same files):

* each block goes through :func:`engine.data.ingest.validate` (its rows numbered in the file);
* a duplicate of a row in an earlier block is found at the end: every accepted row's 64-bit hash is
  kept (8 bytes a row); rows whose hash repeats are read again and compared exactly (a second pass
  over the file, only when there are any), and the later ones rejected as "duplicate of row R";
* the report (:class:`engine.data.ingest.IngestReport`) counts every row and keeps the first
  ERRORS_KEPT reasons, sorted by row; its ``accepted`` frame is empty (``counted`` holds the number).

Only plain files take this path (:func:`blockwise`): CSV of BLOCKWISE_ABOVE bytes or more, UTF-8,
and no batch-size column unless its unit is stated (the unit is detected from every row's value).
Parquet, UTF-16, Latin-1 and smaller files keep the whole-file path. A file that turns out to have
ragged rows raises NotBlockwise (the whole-file path names them); a column whose type changes in a
later block (an integer column with a '1.5', a number column with a '70M', a 'nan') raises
TypesChanged with the wider types, and the scan starts again with them.

The Runs page runs :func:`scan_upload` for the report, then
:func:`engine.data.store.store_upload_blocks`, which reads the blocks again as DuckDB inserts them
(one INSERT over a stream of Arrow batches). Measured on a 200 MB sweep (4,845,952 rows, two cores):
the scan peaks about 100 MiB above the file's bytes, the store about 370 MiB above them, and the page
at 833 MiB of server memory, against 1,711 MiB for the whole-file path (bench/bench_store.py memory).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from engine.data import ingest
from engine.data.ingest import ERRORS_KEPT, IngestError, IngestReport, RowError
from engine.errors import FlopwiseError

BLOCKWISE_ABOVE = 64 * 2**20
"""Bytes: a CSV file at least this large is checked (and stored) a block at a time. Below it the
whole-file path is faster (Arrow types each column by all of it, and DuckDB inserts on every core)."""
BLOCK_BYTES = 4 * 2**20
"""Bytes of text per block: about 100,000 rows of a four-column sweep, 6 MB parsed (16 MiB blocks
made the 200 MB scan's peak 120 MiB higher and were no faster)."""


class NotBlockwise(FlopwiseError):
    """The file must be read whole (ragged rows); nothing was stored from it. (Caught inside the
    engine: the caller reads the file whole instead.)"""


class TypesChanged(FlopwiseError):
    """A later block needs a wider type for some columns: scan again with ``column_types``.
    (Caught inside the engine: the scan starts again.)"""

    def __init__(self, column_types: dict[str, pa.DataType]) -> None:
        super().__init__("column types changed")
        self.column_types = column_types


def blockwise(
    data: bytes | memoryview,
    file_name: str,
    mapping: Mapping[str, str] | None = None,
    batch_size_unit: str | None = None,
) -> bool:
    """Whether this upload takes the block-by-block path (see the module's docstring)."""
    if len(data) < BLOCKWISE_ABOVE or bytes(data[:4]) == b"PAR1" or file_name.lower().endswith(".parquet"):
        return False
    encoding, start = ingest.detect_encoding(bytes(data[: 1 << 16]))
    if encoding != "utf-8" or not ingest._is_utf8(data):
        return False
    if batch_size_unit is None:
        names = _header(data, start)
        fields = ingest.guess_mapping(names) if mapping is None else mapping
        if "batch_size" in fields:
            return False
    return True


def header_columns(data: bytes | memoryview) -> list[str]:
    """The file's column names (as pandas and the whole-file path name them), from its first lines."""
    return _header(data, ingest.detect_encoding(bytes(data[:4096]))[1])


def _header(data: bytes | memoryview, start: int) -> list[str]:
    sample = ingest._text_sample(bytes(data[: start + (1 << 16)]), "utf-8", start)
    delimiter = ingest.sniff_delimiter(sample)
    first: list[str] = next(ingest._records(sample, delimiter), [])
    return ingest._column_names(first)


@dataclass
class Scan:
    """One pass over a large upload's blocks (:meth:`blocks`), and what it found."""

    data: bytes | memoryview
    file_name: str
    mapping: Mapping[str, str] | None = None
    convention: str | None = None
    batch_size_unit: str | None = None
    decimal: str | None = None
    column_types: dict[str, pa.DataType] = field(default_factory=dict)
    report: IngestReport | None = None  # set when the blocks are exhausted
    duplicates: tuple[np.ndarray, np.ndarray] | None = None  # (rows, first rows) across blocks, at the end
    first: IngestReport | None = None  # the first block's report: its mapping, conventions, columns

    def _dialect(self) -> tuple[str, str, str, int]:
        encoding, start = ingest.detect_encoding(bytes(self.data[:4096]))
        sample = ingest._text_sample(bytes(self.data[: start + (1 << 16)]), encoding, start)
        delimiter = ingest.sniff_delimiter(sample)
        decimal = self.decimal
        if decimal is None:
            decimal = "," if delimiter != "," and ingest.uses_decimal_comma(sample, delimiter) else "."
        return encoding, delimiter, decimal, start

    def _tables(self) -> Iterator[pa.Table]:
        """The file's blocks as Arrow tables with pandas' column names; NotBlockwise on a ragged row,
        TypesChanged when a block needs wider types."""
        encoding, delimiter, decimal, start = self._dialect()
        self._encoding, self._delimiter, self._decimal = encoding, delimiter, decimal
        ragged: list[int] = []

        def handler(row) -> str:
            if not ingest._is_blank(row.text):
                ragged.append(row.actual_columns)
            return "skip"

        parse, convert = ingest._arrow_options(delimiter, decimal, handler, dict(self.column_types))
        options = pa_csv.ReadOptions(encoding=encoding, block_size=BLOCK_BYTES)
        body = pa.py_buffer(self.data).slice(start)
        reader = pa_csv.open_csv(
            pa.BufferReader(body), read_options=options, parse_options=parse, convert_options=convert
        )
        names = reader.schema.names
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as exc:
                wider = ingest._wider_type(exc, names, self.column_types)
                if wider is None:
                    raise
                raise TypesChanged({**self.column_types, wider[0]: wider[1]}) from None
            if ragged:
                raise NotBlockwise(f"{self.file_name}: ragged rows")
            table = pa.Table.from_batches([batch])
            reread = [n for n in ingest._columns_to_reread(table) if self.column_types.get(n) != pa.string()]
            if reread:
                raise TypesChanged({**self.column_types, **{n: pa.string() for n in reread}})
            yield ingest._pandas_ready(table)
        if ragged:
            raise NotBlockwise(f"{self.file_name}: ragged rows")

    def blocks(self) -> Iterator[pd.DataFrame]:
        """Each block's accepted rows (IngestReport.accepted's columns, 'row' the file's row),
        in the file's order. When they are exhausted ``report`` is set and ``duplicates`` names the
        accepted rows that repeat a row of an earlier block (they were yielded: the caller drops them)."""
        n_rows = n_accepted = 0
        errors: list[RowError] = []
        n_errors = 0
        hashes = _Hashes()
        first: IngestReport | None = None
        for table in self._tables():
            frame = table.to_pandas(split_blocks=True, self_destruct=True)
            del table
            n = len(frame)
            part = _validate_block(frame, self)
            del frame
            accepted = part.accepted
            if first is None:  # its mapping and conventions, without its rows
                first = self.first = dataclasses.replace(part, accepted=accepted.iloc[:0].copy(), errors=[])
                # room for every block's accepted rows at this one's rate (blocks hold BLOCK_BYTES each)
                blocks_in_file = len(self.data) / min(BLOCK_BYTES, len(self.data))
                hashes.reserve(int(len(accepted) * blocks_in_file * 1.05))
            accepted["row"] = accepted["row"].to_numpy() + n_rows
            hashes.add(ingest._row_hash(_key_numbers(accepted), bits=64))
            n_errors += len(part.errors)
            if len(errors) < ERRORS_KEPT:
                errors.extend(
                    RowError(e.row + n_rows, e.column, e.reason)
                    for e in part.errors[: ERRORS_KEPT - len(errors)]
                )
            n_rows += n
            n_accepted += len(accepted)
            del part
            yield accepted
            del accepted
            give_back_memory()
        if first is None:
            raise IngestError(f"{self.file_name}: the file has a header but no rows")
        dup_rows, dup_first = self._across_blocks(hashes.repeated())
        del hashes
        if dup_rows.size:
            dup_errors = [
                RowError(int(r), first.mapping["loss"], f"duplicate of row {int(f)}")
                for r, f in zip(dup_rows, dup_first)
            ]
            errors = sorted([*errors, *dup_errors])[:ERRORS_KEPT]
            n_accepted -= dup_rows.size
            n_errors += dup_rows.size
        self.duplicates = (dup_rows, dup_first)
        dialect = ingest.ReadInfo(self._encoding, self._delimiter, self._decimal, n_rows).describe()
        self.report = IngestReport(
            self.file_name,
            ingest.sha256_of(self.data),
            n_rows,
            first.mapping,
            first.accepted.iloc[:0],
            errors,
            first.unmapped_columns,
            convention=first.convention,
            convention_reason=first.convention_reason,
            batch_size_unit=first.batch_size_unit,
            batch_size_unit_reason=first.batch_size_unit_reason,
            detected_format=first.detected_format,
            dialect=dialect,
            counted=n_accepted,
        )
        assert n_rows - n_accepted == n_errors, (n_rows, n_accepted, n_errors)

    def _across_blocks(self, repeated: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, first rows) of accepted rows equal to an accepted row of an earlier block, given
        the 64-bit hashes that repeat: the rows holding them are read again and compared exactly."""
        empty = np.zeros(0, dtype=np.int64)
        if repeated.size == 0:
            return empty, empty
        keys = []
        again = Scan(
            self.data,
            self.file_name,
            self.mapping,
            self.convention,
            self.batch_size_unit,
            self.decimal,
            dict(self.column_types),
        )
        offset = 0
        for table in again._tables():
            frame = table.to_pandas(split_blocks=True, self_destruct=True)
            part = _validate_block(frame, again)
            accepted = part.accepted
            accepted["row"] = accepted["row"].to_numpy() + offset
            offset += len(frame)
            hashed = ingest._row_hash(_key_numbers(accepted), bits=64)
            keys.append(accepted[np.isin(hashed, repeated)])
        key = pd.concat(keys, ignore_index=True)
        columns = [c for c in ingest.DUPLICATE_KEY if c in key]
        exact = key[columns].astype(object).where(key[columns].notna(), None)
        group = exact.groupby(columns, sort=False, dropna=False).ngroup().to_numpy()
        first_row = key["row"].groupby(group).transform("min").to_numpy()
        later = key["row"].to_numpy() != first_row
        return key["row"].to_numpy()[later].astype(np.int64), first_row[later].astype(np.int64)


class _Hashes:
    """Every accepted row's 64-bit hash, in one array grown in place (8 bytes a row)."""

    def __init__(self) -> None:
        self.values = np.empty(0, dtype=np.uint64)
        self.n = 0

    def reserve(self, n: int) -> None:
        if n > self.values.size:
            grown = np.empty(n, dtype=np.uint64)
            grown[: self.n] = self.values[: self.n]
            self.values = grown

    def add(self, hashed: np.ndarray) -> None:
        if self.n + hashed.size > self.values.size:
            self.reserve(max(self.n + hashed.size, int(self.values.size * 1.25)))
        self.values[self.n : self.n + hashed.size] = hashed
        self.n += hashed.size

    def repeated(self) -> np.ndarray:
        """The hashes that more than one row has (sorted in place: the array is spent)."""
        values = self.values[: self.n]
        values.sort()
        return np.unique(values[1:][values[1:] == values[:-1]])


def give_back_memory() -> None:
    """Return the freed memory of a block to the system: Arrow's pool, and the C library's heap
    (glibc keeps freed blocks of a few MB for reuse once it has freed one, so a block at a time
    would otherwise grow the process by every block's temporaries; measured: 663 MiB above the
    file's bytes for a 200 MB scan without this)."""
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _libc():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not hasattr(libc, "malloc_trim"):  # glibc only
            return None
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()


def _key_numbers(accepted: pd.DataFrame) -> list[np.ndarray]:
    return [
        accepted[f].to_numpy(dtype=float, na_value=np.nan)
        for f in ingest.DUPLICATE_KEY
        if f in ingest.NUMERIC_FIELDS
    ]


def _validate_block(frame: pd.DataFrame, scan: Scan) -> IngestReport:
    """ingest.validate on one block (its rows numbered from 1), read in the file's dialect."""
    frame.attrs[ingest._READ_INFO] = ingest.ReadInfo(
        scan._encoding, scan._delimiter, scan._decimal, len(frame)
    )
    return ingest.validate(
        frame,
        scan.file_name,
        b"",
        scan.mapping,
        convention=scan.convention,
        batch_size_unit=scan.batch_size_unit,
    )


def scan_upload(
    data: bytes | memoryview,
    file_name: str,
    mapping: Mapping[str, str] | None = None,
    *,
    convention: str | None = None,
    batch_size_unit: str | None = None,
    decimal: str | None = None,
) -> tuple[IngestReport, dict[str, pa.DataType]]:
    """The report of a large upload checked a block at a time, without keeping its rows, and the
    column types its blocks were read with (give them to a later :class:`Scan` of the same file, so
    it needs no restart); NotBlockwise when the file must be read whole."""
    types: dict[str, pa.DataType] = {}
    for _ in range(64):
        scan = Scan(data, file_name, mapping, convention, batch_size_unit, decimal, types)
        try:
            for _block in scan.blocks():
                pass
        except TypesChanged as changed:
            types = changed.column_types
            continue
        assert scan.report is not None
        return scan.report, types
    raise IngestError(f"{file_name}: the column types keep changing")
