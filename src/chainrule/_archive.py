"""The file format of every object chainrule saves: one ``.npz`` archive with JSON metadata, no pickle.

An archive, written by ``np.savez``, holds

- numeric or boolean arrays under names chosen by the writer, and
- ``__chainrule__``: UTF-8 JSON stored as a 1-D uint8 array, an object whose ``"format"`` says what the
  file holds (``"chainrule.nn"``, ``"chainrule.linear.LogisticRegression"``) and whose ``"format_version"``
  is an integer; the rest of the object belongs to the writer.

:func:`read_archive` opens a file with ``allow_pickle=False`` (an object array is refused, nothing is
unpickled, no code runs), and checks the metadata entry, the format marker, the version and every array's
dtype kind before anything else reads it. ``chainrule.nn.io`` and ``chainrule.linear.model_io`` both use it.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["ARRAY_KINDS", "META_ENTRY", "read_archive", "write_archive"]

#: The archive entry that holds the JSON metadata.
META_ENTRY = "__chainrule__"
#: dtype kinds an archive may hold: booleans, integers, floats, complex (never objects).
ARRAY_KINDS = "biufc"
_MAX_META_BYTES = 64 << 20


def write_archive(
    path: str | os.PathLike[str], meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> None:
    """Write ``arrays`` and the JSON of ``meta`` to the ``.npz`` file ``path`` (used as given).

    Args:
        meta: JSON-serializable, with ``"format"`` and ``"format_version"``; no NaN/inf floats.
        arrays: name → array of a kind in :data:`ARRAY_KINDS`; no name may be ``__chainrule__``.

    Raises:
        ValueError: an array of another kind, the reserved name, or ``meta`` that JSON cannot hold.
        OSError: the file cannot be written.
    """
    for key, arr in arrays.items():
        if key == META_ENTRY:
            raise ValueError(f"{META_ENTRY} is reserved for the metadata")
        if arr.dtype.kind not in ARRAY_KINDS:
            raise ValueError(f"cannot save array {key!r} of dtype {arr.dtype} (numbers only)")
    text = json.dumps(meta, allow_nan=False, ensure_ascii=False)
    payload = {META_ENTRY: np.frombuffer(text.encode("utf-8"), dtype=np.uint8), **arrays}
    with open(path, "wb") as handle:
        np.savez(handle, **payload)  # type: ignore[arg-type]


def _not_ours(name: str, fmt: str, why: str) -> ValueError:
    return ValueError(f"{name!r} is not a {fmt} file ({why})")


def read_archive(
    path: str | os.PathLike[str], fmt: str, version: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and the arrays of an archive written by :func:`write_archive` in format ``fmt``.

    Args:
        path: the ``.npz`` file.
        fmt: the required ``"format"`` marker; version: the one ``"format_version"`` this reader knows.

    Returns:
        ``(meta, arrays)``: the decoded JSON object, and name → array (the metadata entry removed).

    Raises:
        OSError: the file cannot be read (the message names it).
        ValueError: not an ``.npz`` archive, an object (pickled) array, no or malformed metadata, another
            format, or another version; each message names the file and says which.
    """
    name = os.fspath(path)
    try:
        archive = np.load(name, allow_pickle=False)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot read {name!r}: {exc.strerror}") from exc
    except (ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise _not_ours(name, fmt, f"not an .npz archive: {exc}") from exc
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise _not_ours(name, fmt, "a bare .npy array, not an .npz archive")
    with archive:
        if META_ENTRY not in archive.files:
            raise _not_ours(name, fmt, f"no {META_ENTRY} entry")
        try:
            arrays = {k: archive[k] for k in archive.files}
        except (ValueError, EOFError, zipfile.BadZipFile) as exc:  # object arrays are refused here
            raise _not_ours(name, fmt, str(exc)) from exc
    raw = arrays.pop(META_ENTRY)
    if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_META_BYTES:
        raise _not_ours(name, fmt, "malformed metadata")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _not_ours(name, fmt, f"metadata is not JSON: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise _not_ours(name, fmt, f'expected "format": "{fmt}"')
    if meta.get("format_version") != version:
        raise ValueError(
            f"{name!r}: format version {meta.get('format_version')!r} is not supported "
            f"(this chainrule reads version {version})"
        )
    for key, arr in arrays.items():
        if arr.dtype.kind not in ARRAY_KINDS:
            raise _not_ours(name, fmt, f"array {key} has dtype {arr.dtype}")
    return meta, arrays
