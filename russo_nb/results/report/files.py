"""Writing files whole or not at all, and reading them with one-line errors.

Every export is written to a temporary file beside its target and renamed into place
once complete, so a process killed half-way leaves either the old file or none — never a
shorter file that loads as a smaller batch.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from ...model.bounded_files import MAX_FILE_BYTES, check_regular, read_limited
from ...model.errors import InvalidArgumentError

__all__ = [
    "MAX_CLIP_BYTES",
    "MAX_FILE_BYTES",
    "MAX_INDEX_BYTES",
    "atomic_file",
    "check_regular",
    "check_report_path",
    "check_writable",
    "read_bytes",
    "read_limited",
    "unsafe_member",
]


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
    with atomic_path(target) as temp, open(temp, mode) as out:
        yield out
        out.flush()
        os.fsync(out.fileno())


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path beside ``target`` for writers that want a path (pandas, pyarrow); renamed on success."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise _unwritable(target, exc) from None
    os.close(handle)
    try:
        yield Path(temp)
        os.chmod(temp, _new_file_mode())
        try:
            os.replace(temp, target)
        except OSError as exc:  # a folder at the target: say so, not the temporary file's name
            raise _unwritable(target, exc) from None
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def check_writable(target: str | Path) -> None:
    """Refuse ``target`` now, before anything is computed or written, when no file could be written there.

    A folder at the path, a file where one of its folders should be, or a folder that takes no new
    file (permissions, a read-only file system) is one :class:`InvalidArgumentError` line saying which;
    folders that do not exist yet are fine (writing creates them). The check creates and removes one
    temporary file in the nearest folder that exists, the only test a read-only mount or root's
    ``access()`` cannot fool.
    """
    target = Path(target)
    if target.is_dir():
        raise _unwritable(target, IsADirectoryError())
    folder = _nearest_existing(target.parent)
    try:
        handle, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise _unwritable(target, exc) from None
    os.close(handle)
    with contextlib.suppress(OSError):
        os.unlink(probe)


REPORT_SUFFIXES = (".html", ".htm")
"""What a report's path may end in: a report is one HTML page, never a data file."""


def check_report_path(target: str | Path) -> None:
    """Refuse now a report path where no file could be written (:func:`check_writable`) or that does not end in
    .html (HTML written to ``out.csv`` is no CSV): one :class:`InvalidArgumentError` line, naming the way to a data
    file."""
    check_writable(target)
    if not str(target).lower().endswith(REPORT_SUFFIXES):
        raise InvalidArgumentError(
            f"a report is an HTML page: give a path ending in .html, got {str(target)!r} (for the runs as data "
            "use --json OUT.jsonl, or russo_nb.report.export(result, 'runs.csv'), which also writes .parquet / .jsonl)"
        )


def _nearest_existing(folder: Path) -> Path:
    """``folder`` or the closest of its parents that exists (as a file or a folder)."""
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    return folder


def _unwritable(target: Path, exc: OSError) -> InvalidArgumentError:
    """Why no file can be written at ``target``, in the user's terms (never a temporary file's name)."""
    if target.is_dir():
        reason = "it is a folder; give the path of a file (e.g. inside it)"
    else:
        folder = _nearest_existing(target.parent)
        if not folder.is_dir():
            reason = f"{str(folder)!r} is a file, not a folder"
        else:
            reason = f"cannot create a file in {str(folder)!r} ({exc.strerror or type(exc).__name__})"
    return InvalidArgumentError(f"cannot write {str(target)!r}: {reason}")


MAX_CLIP_BYTES = 64 << 20
"""Most bytes of one clip in an export's audio folder (over half an hour of 16 kHz speech)."""
MAX_INDEX_BYTES = 16 << 20
"""Most bytes of a small JSON index (an audio folder's, a sweep's)."""


def _gunzip(source: Path, raw: bytes, limit: int) -> bytes:
    """Every gzip member of ``raw``, streamed and refused once the output passes ``limit`` bytes."""
    out = bytearray()
    while raw:
        inflater = zlib.decompressobj(wbits=31)
        chunk = inflater.decompress(raw, limit + 1 - len(out))
        out += chunk
        while inflater.unconsumed_tail and len(out) <= limit:
            out += inflater.decompress(inflater.unconsumed_tail, limit + 1 - len(out))
        if len(out) > limit:
            raise InvalidArgumentError(
                f"{str(source)!r} expands past {limit:,} bytes; russo reads at most that much from a .gz export"
            )
        if not inflater.eof:
            raise EOFError("compressed file ended before the end-of-stream marker was reached")
        raw = inflater.unused_data.lstrip(b"\0")
    return bytes(out)


def read_bytes(source: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """The file's bytes, gunzipped for ``.gz``; a damaged or truncated gzip is a one-line error.

    Only a regular file of at most ``limit`` bytes is read, and a ``.gz`` is expanded as a stream up to
    ``limit`` bytes (an 8 MB file that expands to 8 GB is refused, not a ``MemoryError``).
    """
    raw = read_limited(source, limit)
    if source.name.lower().endswith(".gz"):
        try:
            return _gunzip(source, raw, limit)
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
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return "cannot be resolved (a link loop or a broken link)"
    if not inside:
        return "points outside the folder"
    return None
