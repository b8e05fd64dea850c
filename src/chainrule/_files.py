"""Writing output files safely: never over an input, never over an existing file without ``force``, and
atomically (a temporary file in the same directory, then a rename), so an interrupted or failed write
leaves any old file whole. Every command and report writer goes through :func:`write_atomic`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

__all__ = ["check_output", "write_atomic"]

PathLike = str | os.PathLike[str]


def check_output(path: PathLike, *, force: bool = False, inputs: Iterable[PathLike] = ()) -> str:
    """``path`` as a string, once it is known to be a writable output name.

    Raises:
        ValueError: an empty name, a directory, one of ``inputs`` (compared after resolving symlinks),
            or an existing file without ``force`` ("exists; pass --force to replace it").
    """
    p = os.fspath(path)
    if not p or not p.strip():
        raise ValueError("the output name is empty")
    if p.endswith((os.sep, "/")) or os.path.isdir(p):
        raise ValueError(f"{p} is a directory; give a file name")
    target = Path(p).resolve()
    for i in inputs:
        if target == Path(os.fspath(i)).resolve():
            raise ValueError(f"{p} is an input; it is never written over")
    if os.path.lexists(p) and not force:
        raise ValueError(f"{p} exists; pass --force to replace it")
    return p


def write_atomic(
    path: PathLike, data: str | bytes, *, force: bool = False, inputs: Iterable[PathLike] = ()
) -> str:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; returns the path.

    The parent directory is created when missing. Without ``force`` a file that appears while writing is
    not replaced either (the temporary file is hard-linked into place where the file system allows).

    Raises:
        ValueError: see :func:`check_output`.
        OSError: the directory cannot be written.
    """
    p = check_output(path, force=force, inputs=inputs)
    directory = os.path.dirname(os.path.abspath(p))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(p)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        if force:
            os.replace(tmp, p)
        else:
            _move_no_clobber(tmp, p)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return p


def _move_no_clobber(tmp: str, path: str) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` exists (atomically where hard links work).

    Raises:
        ValueError: ``path`` exists.
    """
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise ValueError(f"{path} exists; pass --force to replace it") from None
    except OSError:
        # No hard links here (some network and FAT file systems): check, then replace.
        if os.path.lexists(path):
            raise ValueError(f"{path} exists; pass --force to replace it") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)
