"""Row-addressable text on disk, so that shards can be built without loading all text.

A `TextStore` is one string column written as two flat files, exactly the buffers of an
Arrow large_string array: `<name>.data` (the UTF-8 bytes, end to end) and
`<name>.offsets` (int64, n + 1 entries). `take(rows)` memory-maps both, lets Arrow's
C++ `take` copy the requested strings out, and unmaps again (`TAKE_ROWS` at a time), so
the process's own memory holds only the strings of one shard, whatever the input's size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from mixbatch.errors import MixbatchError

# Rows per mapping in `take`. Each random read maps the page-cache folio around it (up to
# 2 MiB on recent kernels), which counts in RSS although it is shared, clean and
# reclaimable, until unmapped. Smaller is lower RSS but slower (16k rows: 10 ms whole,
# 60 ms in 1k-row pieces, on a 1.5 GB store); this bounds the mapping per take.
TAKE_ROWS = 8192


class TextStore:
    """One string column on disk. Write with `append` then `close`; read with `take`."""

    def __init__(self, folder: str | Path, name: str):
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.data_path = folder / f"{name}.data"
        self.offsets_path = folder / f"{name}.offsets"
        self.name = name
        self.num_rows = 0
        self._data_bytes = 0
        self._data = open(self.data_path, "wb")
        self._offsets = open(self.offsets_path, "wb")
        self._offsets.write(np.zeros(1, dtype="<i8").tobytes())

    def append(self, strings: pa.Array, where: str) -> None:
        """Append a chunk of strings (no nulls; `where` names the input for errors)."""
        if strings.null_count:
            raise MixbatchError(f"{where}: column for {self.name!r} has {strings.null_count} empty (null) values")
        arr = strings.cast(pa.large_string())
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        n = len(arr)
        # A sliced array shares its parent's buffers: read only its own window.
        offsets = np.frombuffer(arr.buffers()[1], dtype="<i8", count=n + 1, offset=arr.offset * 8)
        start, end = int(offsets[0]), int(offsets[-1])
        self._data.write(memoryview(arr.buffers()[2])[start:end] if end > start else b"")
        self._offsets.write((offsets[1:] - start + self._data_bytes).astype("<i8").tobytes())
        self._data_bytes += end - start
        self.num_rows += n

    def close(self) -> None:
        self._data.close()
        self._offsets.close()

    def take(self, rows: np.ndarray) -> pa.Array:
        """The strings at `rows` (int positions), as a pa.string() array, in that order."""
        if self._data_bytes == 0:  # an empty data file cannot be memory-mapped
            return pa.array([""] * len(rows), type=pa.string())
        parts = [self._take_mapped(rows[i:i + TAKE_ROWS]) for i in range(0, len(rows), TAKE_ROWS)]
        return pa.concat_arrays(parts) if len(parts) != 1 else parts[0]

    def _take_mapped(self, rows: np.ndarray) -> pa.Array:
        # numpy maps lazily; pyarrow's memory_map asks the kernel to read the whole
        # file ahead (MADV_WILLNEED).
        offsets = np.memmap(self.offsets_path, dtype="<i8", mode="r")
        data = np.memmap(self.data_path, dtype=np.uint8, mode="r")
        column = pa.LargeStringArray.from_buffers(self.num_rows, pa.py_buffer(offsets), pa.py_buffer(data))
        out = column.take(pa.array(rows, type=pa.int64())).cast(pa.string())
        del column, offsets, data  # the last references: this unmaps
        return out
