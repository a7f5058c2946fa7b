"""Writing files whole or not at all, and reading them with one-line errors.

Every export is written to a temporary file beside its target and renamed into place
once complete, so a process killed half-way leaves either the old file or none — never a
shorter file that loads as a smaller batch.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ..errors import InvalidArgumentError

__all__ = ["atomic_file", "read_bytes", "unsafe_member"]


def _new_file_mode() -> int:
    """The mode ``open()`` gives a new file: 0o666 less the umask (0644 usually; ``mkstemp`` alone gives 0600)."""
    try:  # read without changing it: setting the umask is process-wide, and other threads may create files
        with open("/proc/self/status", encoding="ascii") as status:
            mask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError):
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_file(target: Path, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file beside ``target``; on success it is flushed and renamed to ``target``.

    On any exception (or a kill) the target is untouched and the temporary file removed
    (a killed process may leave a ``.<name>.*.tmp`` file, never a partial ``target``).
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(handle, mode) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, _new_file_mode())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` for writers that want a path (pandas, pyarrow); renamed on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temp)
        os.chmod(temp, _new_file_mode())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def read_bytes(source: Path) -> bytes:
    """The file's bytes, gunzipped for ``.gz``; a damaged or truncated gzip is a one-line error."""
    try:
        raw = source.read_bytes()
    except OSError as exc:
        raise InvalidArgumentError(f"cannot read {str(source)!r}: {exc.strerror or exc}") from None
    if source.name.lower().endswith(".gz"):
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidArgumentError(
                f"{str(source)!r} is not a complete gzip file ({exc}); it was cut short or damaged, export it again"
            ) from None
    return raw


def unsafe_member(folder: Path, name: object) -> str | None:
    """Why ``name`` may not be read as a file inside ``folder`` (None when it is a plain file name inside it).

    A shared export must never make a reader open files outside it: absolute paths,
    ``..``, separators and links that resolve elsewhere are refused.
    """
    if not isinstance(name, str) or not name or name in (".", ".."):
        return "not a file name"
    if "/" in name or "\\" in name or "\x00" in name or name.startswith(".") or os.path.isabs(name):
        return "not a plain file name inside the folder"
    path = folder / name
    try:
        inside = path.resolve().parent == folder.resolve()
    except OSError:
        return "cannot be resolved"
    if not inside:
        return "points outside the folder"
    return None
