"""The collector's durable log: append-only JSON Lines segments, fsynced before replying.

Accepted events are appended to the open segment and flushed to disk (`os.fsync`) before
the collector answers, so an acknowledged event survives a crash. A flush closes the
open segment and hands the closed ones to the warehouse load; they are deleted only
after the load committed, and a load repeated after a crash is idempotent (event ids).
A write that fails (a full disk) is cut back to the end of the block before it, so a
refused batch leaves nothing in the log and the next one starts on a line of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

_PREFIX = "events-"
_SUFFIX = ".jsonl"


class EventSpool:
    """Append-only segments of events in `folder`.

    >>> spool = EventSpool(Path("spool"))  # doctest: +SKIP
    >>> spool.append([{"event_id": "e1"}])  # doctest: +SKIP
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._write_lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._written = 0  # blocks handed to the OS
        self._synced = 0  # blocks known to be on disk
        self._segment_start = 1  # the first block of the open segment
        self._left_synced = 0  # blocks on disk in a segment left after a failed write
        for segment in self.segments():
            _drop_torn_tail(segment)
        self._sequence = max((_number(p) for p in self.segments()), default=0)
        self._file: IO[bytes] | None = None

    def append(self, records: Sequence[dict[str, Any]]) -> None:
        """Write records as one block; returns once they are on disk.

        Group commit: concurrent appends write their blocks one after the other, and one
        fsync covers every block written before it started, so many requests share a sync.
        """
        block = b"".join(
            json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            for r in records
        )
        with self._write_lock:
            stream = self._open()
            start = stream.tell()
            try:
                stream.write(block)
                stream.flush()
            except OSError:
                self._drop_partial_block(stream, start)
                raise
            self._written += 1
            ticket = self._written
        with self._sync_lock:
            if self._synced >= ticket:
                return
            with self._write_lock:
                if ticket <= self._left_synced:
                    return
                if self._file is None or ticket < self._segment_start:
                    # its segment was left after a failed write, and could not be synced
                    raise OSError("the event log could not be synced after a failed write")
                covered = self._written
                descriptor = self._file.fileno()
            os.fsync(descriptor)
            self._synced = covered

    def _drop_partial_block(self, stream: IO[bytes], start: int) -> None:
        """After a failed write (a full disk), cut the part of the block that reached the
        segment, so no later read meets half a line, and leave the segment: the next
        append opens a new one. Blocks written before stay."""
        self._file = None
        with contextlib.suppress(OSError):  # flushing what the buffer holds may fail again
            stream.close()
        os.truncate(stream.name, start)  # shrinking a file needs no free space
        descriptor = os.open(stream.name, os.O_RDONLY)
        try:
            os.fsync(descriptor)  # the blocks before this one, not synced yet
        finally:
            os.close(descriptor)
        self._left_synced = self._written

    def close_segment(self) -> list[Path]:
        """Close the open segment; every segment now on disk is ready to load."""
        with self._sync_lock, self._write_lock:
            if self._file is not None:
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None
                self._synced = self._written
            return self.segments()

    def segments(self) -> list[Path]:
        """Segment files in the order they were written."""
        return sorted(self.folder.glob(f"{_PREFIX}*{_SUFFIX}"), key=_number)

    def remove(self, segments: Sequence[Path]) -> None:
        """Delete loaded segments."""
        for segment in segments:
            segment.unlink(missing_ok=True)
        _fsync_folder(self.folder)

    def pending(self) -> int:
        """Events on disk that are not loaded yet."""
        return sum(1 for segment in self.segments() for _ in _lines(segment))

    def _open(self) -> IO[bytes]:
        if self._file is None:
            self._sequence += 1
            path = self.folder / f"{_PREFIX}{self._sequence:09d}{_SUFFIX}"
            self._file = path.open("ab")
            self._segment_start = self._written + 1
            _fsync_folder(self.folder)
        return self._file


def read_records(segments: Sequence[Path]) -> Iterator[dict[str, Any]]:
    """The records of closed segments, in order."""
    for segment in segments:
        for line in _lines(segment):
            yield json.loads(line)


def _lines(segment: Path) -> Iterator[bytes]:
    with segment.open("rb") as stream:
        for line in stream:
            if line.endswith(b"\n"):
                yield line


def _drop_torn_tail(segment: Path) -> None:
    """Cut a last line a crash left half-written (it was never acknowledged)."""
    data = segment.read_bytes()
    if data and not data.endswith(b"\n"):
        with segment.open("r+b") as stream:
            stream.truncate(data.rfind(b"\n") + 1)
            os.fsync(stream.fileno())


def _number(path: Path) -> int:
    return int(path.name.removeprefix(_PREFIX).removesuffix(_SUFFIX))


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
