"""How the store keeps an upload's file: a large one zstd-compressed, packed in a thread.

Pure pyarrow (no store, no DuckDB), so that :func:`engine.data.ingest.read_upload` can start the
packing while it checks the rows, on the core the checks leave free, and
:func:`engine.data.store.store_upload` finds it done (issue 12, point 7: 10^6 rows, 40 MB, 0.14 s of
zstd that otherwise ran beside DuckDB's insert on the same two cores).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa

PACK_ABOVE = 1 << 20
"""Bytes: an upload at least this large keeps its file zstd-compressed (level 1, pyarrow's codec).
DuckDB would compress a large BLOB with zstd itself when it checkpoints, at several times the cost:
for a 200 MB file 4.4 s and 985 MiB above the process's memory, against 1.4 s and 212 MiB. (Levels
2 and 3 were slower and, on a sweep CSV, larger: 81 and 88 MB against 78 MB for 200 MB.)"""


def pack_bytes(data: bytes | memoryview) -> tuple[bytes, str | None]:
    """(what uploads.original_bytes keeps, original_codec): a file of PACK_ABOVE bytes or more as a
    zstd frame, unless that is no smaller; else the bytes as they are (codec None)."""
    if len(data) < PACK_ABOVE:
        return bytes(data), None
    packed = pa.Codec("zstd", compression_level=1).compress(data, asbytes=True)
    return (packed, "zstd") if len(packed) < len(data) else (bytes(data), None)


def unpack_bytes(stored: bytes, codec: str | None, size: int | None) -> bytes:
    """The file as received, from what pack_bytes kept."""
    if codec is None:
        return bytes(stored)
    if codec != "zstd" or size is None:
        raise ValueError(f"cannot unpack an upload's bytes kept as {codec!r} (size {size})")
    return pa.Codec("zstd").decompress(stored, decompressed_size=size, asbytes=True)


class Packing:
    """pack_bytes(data), computed in a thread from when this is made (zstd lets go of the GIL) when
    there is something to compress; ``data`` is the object being packed, and calling the Packing
    waits for (bytes, codec)."""

    def __init__(self, data: bytes | memoryview) -> None:
        self.data = data
        if len(data) < PACK_ABOVE:
            result = pack_bytes(data)
            self._result = lambda: result
            return
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flopwise-pack")
        self._result = pool.submit(pack_bytes, data).result
        pool.shutdown(wait=False)

    def __call__(self) -> tuple[bytes, str | None]:
        return self._result()
