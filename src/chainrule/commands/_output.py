"""Output files of the subcommands: checked before any work, written atomically, never over an input.

:func:`output_target` refuses an empty name, a directory, an input (resolved paths, symlinks included, and
the same file under another name: a hard link) and an existing file without ``--force``; it runs before the
command computes anything. :func:`write_output` writes bytes through :func:`chainrule._files.write_atomic` (a
temporary file in the same directory, then a rename), or to stdout for ``-``. :func:`write_group` does the
same for a result that is several files written by someone else's ``save`` (a model's ``.npz`` and
``.json``): it saves into a temporary directory beside the targets and renames each file into place, so an
interrupted or failed save leaves the old files whole.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence

from chainrule._files import check_output, write_atomic

__all__ = ["output_target", "write_group", "write_output"]

PathLike = str | os.PathLike[str]


def output_target(
    path: str, *, force: bool, inputs: Iterable[PathLike | None], option: str = "--out"
) -> str:
    """``path`` once it is known to be a writable output name (``-``, stdout, passes as is).

    Raises:
        ValueError: an empty name, a directory, an input (after resolving symlinks, or the same file by
            another name), or an existing file without ``force``; a missing parent folder. The message
            starts with ``option``.
    """
    if path == "-":
        return path
    real_inputs = [os.fspath(p) for p in inputs if p is not None and os.fspath(p) != "-"]
    try:
        p = check_output(path, force=force, inputs=real_inputs)
    except ValueError as exc:
        raise ValueError(f"{option}: {exc}") from None
    if os.path.exists(p):
        for i in real_inputs:
            try:
                same = os.path.samefile(p, i)
            except OSError:
                continue
            if same:
                raise ValueError(
                    f"{option}: {p} is an input (the same file as {i}); it is never written over"
                )
    folder = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(folder):
        raise ValueError(f"{option}: cannot write {p}: the folder {folder} does not exist")
    return p


def write_output(
    path: str, data: bytes, *, force: bool, inputs: Iterable[PathLike | None] = ()
) -> str:
    """Write ``data`` to ``path`` atomically (to stdout for ``-``); returns the path.

    Raises:
        ValueError: see :func:`output_target`. OSError: the folder cannot be written.
    """
    if path == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return path
    inputs = list(inputs)
    p = output_target(path, force=force, inputs=inputs)
    try:
        return write_atomic(
            p, data, force=force, inputs=[i for i in inputs if i is not None and i != "-"]
        )
    except OSError as exc:
        raise OSError(exc.errno, f"--out: cannot write {p}: {exc.strerror or exc}") from None


def write_group(
    stem: str,
    suffixes: Sequence[str],
    save: Callable[[str], object],
    *,
    force: bool,
    inputs: Iterable[PathLike | None] = (),
) -> list[str]:
    """The files ``stem + suffix`` that ``save(tmp_stem)`` writes as ``tmp_stem + suffix``, moved into place.

    ``save`` receives a stem in a temporary folder beside the targets. Each target is checked first
    (:func:`output_target`); after ``save`` returns, each file is renamed over its target (``os.replace``);
    on any failure (or Ctrl-C) the temporary folder is removed and the targets are untouched.

    Raises:
        ValueError: see :func:`output_target`. OSError: the folder cannot be written.
    """
    inputs = list(inputs)
    if not stem or not stem.strip():
        raise ValueError("the output name is empty")
    checked = [output_target(stem + s, force=force, inputs=inputs) for s in suffixes]
    folder = os.path.dirname(os.path.abspath(checked[0]))
    base = os.path.basename(stem)
    try:
        tmp = tempfile.mkdtemp(prefix=".chainrule-", dir=folder)
    except OSError as exc:
        raise OSError(exc.errno, f"cannot write in {folder}: {exc.strerror or exc}") from None
    try:
        save(os.path.join(tmp, base))
        if not force:
            for t in checked:
                if os.path.lexists(t):  # appeared while saving
                    raise ValueError(f"{t} exists; pass --force to replace it")
        for t, s in zip(checked, suffixes, strict=True):
            os.replace(os.path.join(tmp, base + s), t)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return checked
