"""Reading a file a user names, bounded: only a regular file, at most so many bytes, never waited on.

A FIFO, a device or a socket would hang a reader; a sparse 8 GB file would be read whole. Exports
(:mod:`russo_nb.results.report.files`), suite files and intents files all read through here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import InvalidArgumentError

__all__ = ["MAX_FILE_BYTES", "check_regular", "read_limited"]


MAX_FILE_BYTES = 1 << 30
"""Most bytes russo reads from one export (a JSON-lines, CSV or Parquet file), and most a ``.gz`` expands to."""


def check_regular(source: Path, limit: int = MAX_FILE_BYTES) -> None:
    """Refuse ``source`` unless it is a regular file of at most ``limit`` bytes (for readers that open paths).

    A FIFO, a device or a socket would hang a reader; a sparse 8 GB file would be read whole.
    """
    try:
        info = os.stat(source)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
    _check_info(source, info, limit)


def _check_info(source: Path, info: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise InvalidArgumentError(
            f"{str(source)!r} is not a regular file (a folder, FIFO, device or socket); russo reads only regular files"
        )
    if info.st_size > limit:
        raise InvalidArgumentError(
            f"{str(source)!r} is {info.st_size:,} bytes; russo reads at most {limit:,} bytes from such a file"
        )


def read_limited(source: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``source``, a regular file of at most ``limit`` bytes (opened without blocking on a FIFO)."""
    try:
        handle = os.open(source, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
    try:
        _check_info(source, os.fstat(handle), limit)
        with os.fdopen(handle, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
    finally:
        os.close(handle)
    if len(data) > limit:
        raise InvalidArgumentError(f"{str(source)!r} grew past {limit:,} bytes while being read")
    return data
