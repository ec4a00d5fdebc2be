"""`sort = true`: rows in time order within bounded memory (an external merge sort).

Rows are read in chunks of `sort_chunk_rows`; each chunk is sorted and, when the file has
more than one chunk, spilled to a temporary file; the chunks are then merged lazily. Memory
holds one chunk while reading and one row per chunk while merging.
"""

from __future__ import annotations

import heapq
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from typing import IO, Any

__all__ = ["Record", "sorted_records"]

#: A CSV record with the physical line it starts on.
Record = tuple[int, list[str]]


def sorted_records(records: Iterable[Record], key: Callable[[int, list[str]], Any],
                   chunk_rows: int) -> Iterator[Record]:
    """`records` ordered by `key(line, record)`; equal keys keep file order."""
    chunk: list[tuple[Any, int, list[str]]] = []
    spilled: list[IO[bytes]] = []
    try:
        for line, record in records:
            chunk.append((key(line, record), line, record))
            if len(chunk) >= chunk_rows:
                spilled.append(_spill(chunk))
                chunk = []
        chunk.sort(key=itemgetter(0, 1))
        if not spilled:
            yield from ((line, record) for _, line, record in chunk)
            return
        streams = [_read(file) for file in spilled]
        streams.append(iter(chunk))
        for _, line, record in heapq.merge(*streams, key=itemgetter(0, 1)):
            yield line, record
    finally:
        for file in spilled:
            file.close()


def _spill(chunk: list[tuple[Any, int, list[str]]]) -> IO[bytes]:
    chunk.sort(key=itemgetter(0, 1))
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by sorted_records
    for start in range(0, len(chunk), 1000):
        pickle.dump(chunk[start:start + 1000], file, protocol=pickle.HIGHEST_PROTOCOL)
    file.seek(0)
    return file


def _read(file: IO[bytes]) -> Iterator[tuple[Any, int, list[str]]]:
    while True:
        try:
            batch = pickle.load(file)
        except EOFError:
            return
        yield from batch
