"""The file format of every object chainrule saves: one ``.npz`` archive with JSON metadata, no pickle.

An archive, written by ``np.savez``, holds

- numeric or boolean arrays under names chosen by the writer, and
- ``__chainrule__``: UTF-8 JSON stored as a 1-D uint8 array, an object whose ``"format"`` says what the
  file holds (``"chainrule.nn"``, ``"chainrule.linear.LogisticRegression"``) and whose ``"format_version"``
  is an integer; the rest of the object belongs to the writer.

Reading never trusts the file. :func:`open_archive` parses the zip and the ``.npy`` headers itself
(``zipfile`` and ``numpy.lib.format``; ``np.load`` is never called) and, in this order, before any array
data is decompressed or allocated:

1. the path: a directory or another non-regular file is refused;
2. the first bytes: a zip archive (not a bare ``.npy``, a pickle, text, an empty file);
3. the zip directory, from its end record: at most :attr:`Limits.members` members and a directory of
   bounded size, then every member: a plain ``NAME.npy`` name, not encrypted, stored or deflated; a stored
   member's sizes agree, and a deflated one expands at most :attr:`Limits.expansion` times (zip bombs
   declare gigabytes behind a few kilobytes); the members' data fits in the file once (no overlapping
   members); the declared sizes add up to at most :attr:`Limits.bytes`;
4. the metadata member: a uint8 vector of at most :attr:`Limits.meta_bytes`, then JSON within the limits on
   nesting depth, number length and string length (checked before and while parsing), then the format
   marker and the version;
5. every other member's ``.npy`` header (only the header is read): a numeric or boolean dtype (no object,
   structured, string or void dtype), a shape whose size in bytes equals the member's declared size.

The caller then checks the declared shapes and dtypes (:attr:`Archive.specs`) against the metadata, and
only then :meth:`Archive.read` reads the data, into arrays of exactly the checked sizes; the zip's CRC is
verified. Every refusal is a ``ValueError`` that names the file and says what is wrong; a file that cannot
be opened (missing, no permission) is an ``OSError`` naming it. Nothing is unpickled; no code in a file
runs. :func:`write_archive` refuses to write what :func:`open_archive` would refuse to read.

``chainrule.nn.io`` and ``chainrule.linear.model_io`` both use this module, and both find the file from a
path with :func:`load_path` (and name it with :func:`save_path`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import math
import os
import stat
import struct
import warnings
import zipfile
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any, NamedTuple

import numpy as np

__all__ = [
    "ARRAY_KINDS",
    "DEFAULT_LIMITS",
    "META_ENTRY",
    "Archive",
    "ArraySpec",
    "Limits",
    "load_path",
    "open_archive",
    "read_archive",
    "save_path",
    "write_archive",
]

#: The archive entry that holds the JSON metadata.
META_ENTRY = "__chainrule__"
#: dtype kinds an archive may hold: booleans, integers, floats, complex (never objects).
ARRAY_KINDS = "biufc"


@dataclasses.dataclass(frozen=True)
class Limits:
    """What an archive may hold; reading refuses (``ValueError``) and writing refuses anything beyond."""

    #: Members of the zip (arrays plus the metadata entry).
    members: int = 10_000
    #: Declared uncompressed bytes of all members together.
    bytes: int = 2 << 30
    #: How many times a deflated member may expand (members of up to 1 MiB are exempt).
    expansion: int = 100
    #: Bytes of the JSON metadata (parsed, it may take about 20 times as much: bulk numbers belong in
    #: arrays).
    meta_bytes: int = 4 << 20
    #: Nesting depth of the JSON metadata (the top-level object is depth 1).
    json_depth: int = 100
    #: Characters of one JSON number (an integer's digits, a float's text).
    number_chars: int = 100
    #: Characters of one JSON string (keys included).
    string_chars: int = 1 << 20


DEFAULT_LIMITS = Limits()

_NAME_CHARS = 255  # a member's name
_NPY_HEADER_BYTES = 10_000  # an .npy header (numpy's own limit for safe loading)
_EXPANSION_FREE = 1 << 20  # deflated members up to this size may expand any amount
_CHUNK = 1 << 18  # bytes read (or brackets scanned) at a time
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip's first member, or an empty zip's end record
_NPY_MAGIC = b"\x93NUMPY"
_DIRECTORY_ENTRY_BYTES = 46 + _NAME_CHARS + 64  # fixed part + name + zip64 extra field, generously


class ArraySpec(NamedTuple):
    """An array as its ``.npy`` header declares it (nothing read yet)."""

    shape: tuple[int, ...]
    dtype: np.dtype[Any]


# -- paths --------------------------------------------------------------------------------------------
def _fspath(path: str | os.PathLike[str]) -> str:
    name = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(name, str):
        raise TypeError(f"path must be a str or os.PathLike, not {type(path).__name__}")
    return name


def save_path(path: str | os.PathLike[str]) -> str:
    """The file to write for ``path``: ``PATH.npz`` for ``PATH``, ``PATH.npz`` or ``PATH.json``.

    Raises:
        TypeError: ``path`` is neither a str nor an ``os.PathLike`` of one.
    """
    name = _fspath(path)
    if name.endswith(".json"):
        name = name[: -len(".json")]
    return name if name.endswith(".npz") else name + ".npz"


def load_path(path: str | os.PathLike[str]) -> str:
    """The file to read for ``path`` (str or ``os.PathLike``), the same in every chainrule loader.

    ``PATH.npz`` is read as given. For ``PATH`` or ``PATH.json`` (the readable sidecar some writers put
    beside the archive) it is ``PATH.npz`` -- what :func:`save_path` writes -- when that exists, else the
    name as given when that exists (so a file of another name is read, and refused if not ours), else
    ``PATH.npz`` (which then is missing, and the error names it).

    Raises:
        TypeError: ``path`` is neither a str nor an ``os.PathLike`` of one.
    """
    name = _fspath(path)
    if name.endswith(".npz"):
        return name
    archive = save_path(name)
    if not os.path.lexists(archive) and os.path.lexists(name):
        return name
    return archive


# -- writing ------------------------------------------------------------------------------------------
def write_archive(
    path: str | os.PathLike[str],
    meta: Mapping[str, Any],
    arrays: Mapping[str, np.ndarray],
    *,
    limits: Limits | None = None,
) -> None:
    """Write ``arrays`` and the JSON of ``meta`` to the ``.npz`` file ``path`` (used as given).

    Args:
        meta: JSON-serializable, with ``"format"`` and ``"format_version"``; no NaN/inf floats.
        arrays: name → array of a kind in :data:`ARRAY_KINDS`; no name may be ``__chainrule__``.
        limits: what the archive may hold (:data:`DEFAULT_LIMITS`); a file beyond them would not load.

    Raises:
        ValueError: an array of another kind, a bad or reserved name, ``meta`` that JSON cannot hold, or
            an archive beyond ``limits`` (says which).
        OSError: the file cannot be written.
    """
    lim = limits or DEFAULT_LIMITS
    total = 0
    for key, arr in arrays.items():
        if key == META_ENTRY:
            raise ValueError(f"{META_ENTRY} is reserved for the metadata")
        if not _plain_key(key):
            raise ValueError(
                f"cannot save array {key!r}: not a plain name of 1-{_NAME_CHARS - 4} chars"
            )
        if arr.dtype.kind not in ARRAY_KINDS or arr.dtype.fields is not None:
            raise ValueError(f"cannot save array {key!r} of dtype {arr.dtype} (numbers only)")
        total += _npy_header_bytes(arr) + arr.nbytes
    if len(arrays) + 1 > lim.members:
        raise ValueError(
            f"cannot save {len(arrays)} arrays: an archive holds at most {lim.members - 1}"
        )
    text = json.dumps(meta, allow_nan=False, ensure_ascii=False).encode("utf-8")
    raw = np.frombuffer(text, dtype=np.uint8)
    total += _npy_header_bytes(raw) + raw.nbytes
    if total > lim.bytes:
        raise ValueError(f"cannot save {_size(total)}: an archive holds at most {_size(lim.bytes)}")
    try:
        if len(text) > lim.meta_bytes:
            raise ValueError(
                f"{_size(len(text))} of JSON; the limit is {_size(lim.meta_bytes)} (put bulk "
                "numbers in arrays)"
            )
        _parse_json(text, lim)
    except ValueError as exc:
        raise ValueError(f"cannot save the metadata: {exc}") from None
    payload = {META_ENTRY: raw, **arrays}
    with open(path, "wb") as handle:
        np.savez(handle, **payload)  # type: ignore[arg-type]


def _npy_header_bytes(arr: np.ndarray) -> int:
    """The length of the ``.npy`` header ``np.save`` writes for ``arr`` (what a reader counts)."""
    header = np.lib.format.header_data_from_array_1_0(arr)
    buffer = io.BytesIO()
    try:
        np.lib.format.write_array_header_1_0(buffer, header)
    except ValueError:  # over 64 KiB: numpy writes version 2.0
        np.lib.format.write_array_header_2_0(buffer, header)
    return len(buffer.getvalue())


# -- reading ------------------------------------------------------------------------------------------
class _Refused(ValueError):
    """A refusal whose message is complete (names the file)."""


def _size(n: int) -> str:
    for unit, scale in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


def _plain_key(key: str) -> bool:
    return 0 < len(key) <= _NAME_CHARS - 4 and not any(c in key for c in "/\\\0")


class Archive:
    """An opened archive whose zip directory, metadata and ``.npy`` headers have been checked.

    Attributes:
        name: the file, as given. meta: the decoded JSON object (format and version checked).
        specs: array name → :class:`ArraySpec`, as declared (the metadata entry not included).
    """

    def __init__(
        self,
        name: str,
        fmt: str,
        handle: IO[bytes],
        zf: zipfile.ZipFile,
        meta: dict[str, Any],
        members: dict[str, tuple[zipfile.ZipInfo, int, ArraySpec, bool]],
    ) -> None:
        self.name, self._fmt, self._handle, self._zf = name, fmt, handle, zf
        self.meta = meta
        self._members = members
        self.specs = {key: spec for key, (_, _, spec, _) in members.items()}

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._zf.close()
        self._handle.close()

    def read(self) -> dict[str, np.ndarray]:
        """Every array, read into arrays of the checked shapes and dtypes (the CRC is verified).

        Raises:
            ValueError: the data is truncated or corrupt (names the file and the member).
        """
        out = {}
        for key, (info, offset, spec, fortran) in self._members.items():
            with _malformed(self.name, self._fmt, f"member {info.filename}"):
                out[key] = _read_data(self._zf, info, offset, spec, fortran)
        return out


def _not_ours(name: str, fmt: str, why: str) -> _Refused:
    return _Refused(f"{name!r} is not a {fmt} file ({why})")


@contextlib.contextmanager
def _malformed(name: str, fmt: str, where: str) -> Iterator[None]:
    """Turn whatever zipfile, zlib or numpy raise on hostile bytes into one ``ValueError`` naming ``name``.

    Those libraries raise many types on malformed input (BadZipFile, EOFError, zlib.error, struct.error,
    OSError for a seek before the start, NotImplementedError, RuntimeError for encryption, SyntaxError,
    UnicodeDecodeError, ...); the contract here is one ``ValueError``. Only library calls on the file's
    bytes are wrapped, never the checks themselves.
    """
    try:
        yield
    except _Refused:
        raise
    except Exception as exc:
        lines = str(exc).splitlines()
        detail = lines[0] if lines else ""
        if not isinstance(exc, ValueError) or not detail:
            detail = f"{type(exc).__name__}: {detail}".rstrip(": ")
        raise _not_ours(name, fmt, f"{where}: {detail}"[:300]) from exc


def _read_exact(f: IO[bytes], n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise EOFError(f"truncated: {len(data)} of {n} bytes")
    return data


def _directory_size(handle: IO[bytes], size: int) -> tuple[int, int]:
    """``(members, directory bytes)`` from the zip's end record (zip64 when flagged), before parsing.

    Raises:
        ValueError: no end record (not a zip, or truncated).
    """
    tail_len = min(size, 22 + 0xFFFF)
    handle.seek(size - tail_len)
    tail = handle.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ValueError("no zip end record (truncated?)")
    _, _, _, _, count, cd_size, cd_offset, _ = struct.unpack("<4s4H2LH", tail[at : at + 22])
    if (count == 0xFFFF or cd_size == 0xFFFFFFFF or cd_offset == 0xFFFFFFFF) and at >= 20:
        sig, _, z64_offset, _ = struct.unpack("<4sLQL", tail[at - 20 : at])
        if sig == b"PK\x06\x07" and 0 <= z64_offset <= size - 56:
            handle.seek(z64_offset)
            record = handle.read(56)
            if record[:4] == b"PK\x06\x06":
                count, cd_size = struct.unpack("<QQ", record[32:48])
    return count, cd_size


def _read_header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[ArraySpec, bool, int]:
    """A member's ``.npy`` header only: ``(spec, fortran_order, offset of the data)``.

    The header's length is checked before the header is read (a member that declares a 4 GiB header
    costs nothing), and numpy parses it from memory; a warning (a Python 2 header) is a refusal.
    """
    with zf.open(info) as f:
        magic = _read_exact(f, len(_NPY_MAGIC) + 2)
        if magic[: len(_NPY_MAGIC)] != _NPY_MAGIC:
            raise ValueError("not an .npy array")
        version = (magic[-2], magic[-1])
        if version not in ((1, 0), (2, 0)):
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not supported")
        fmt = "<H" if version == (1, 0) else "<I"
        raw_len = _read_exact(f, struct.calcsize(fmt))
        (header_len,) = struct.unpack(fmt, raw_len)
        offset = len(magic) + len(raw_len) + header_len
        if header_len > _NPY_HEADER_BYTES or offset > info.file_size:
            raise ValueError(f"an .npy header of {header_len} bytes")
        buffer = io.BytesIO(raw_len + _read_exact(f, header_len))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        if version == (1, 0):
            header = np.lib.format.read_array_header_1_0(buffer, _NPY_HEADER_BYTES)
        else:
            header = np.lib.format.read_array_header_2_0(buffer, _NPY_HEADER_BYTES)
    shape, fortran, dtype = header
    return ArraySpec(tuple(shape), dtype), bool(fortran), offset


def _read_data(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, offset: int, spec: ArraySpec, fortran: bool
) -> np.ndarray:
    """The member's data, read in chunks into an array of exactly ``spec`` (checked before)."""
    count = math.prod(spec.shape)
    arr = np.empty(count, dtype=spec.dtype)
    raw = arr.view(np.uint8)
    with zf.open(info) as f:
        _read_exact(f, offset)  # the header, parsed before
        pos, end = 0, raw.size
        while pos < end:
            chunk = f.read(min(_CHUNK, end - pos))
            if not chunk:
                raise EOFError(f"truncated: {pos} of {end} data bytes")
            raw[pos : pos + len(chunk)] = np.frombuffer(chunk, dtype=np.uint8)
            pos += len(chunk)
        if f.read(1):  # also reaches the end of the member, where zipfile verifies the CRC
            raise ValueError("data after the array")
    return arr.reshape(spec.shape, order="F" if fortran else "C")


_NUMBER_CHARS = np.zeros(256, dtype=bool)
_NUMBER_CHARS[list(b"0123456789+-.eE")] = True


def _json_scan(raw: bytes) -> tuple[int, int]:
    """``(depth, longest number)``: the deepest nesting of ``[``/``{`` and the longest run of number
    characters, both outside strings, without parsing (so any depth or length is cheap to measure).

    Escaped backslashes, then escaped quotes, are removed; the quotes left delimit the strings (exact for
    JSON; for text that is not JSON, never below what a parser meets before it fails, since a backslash
    outside a string stops the parser). Counted in chunks with numpy, in linear time.
    """
    text = np.frombuffer(raw.replace(b"\\\\", b"").replace(b'\\"', b""), dtype=np.uint8)
    deepest, depth, inside, longest, run = 0, 0, 0, 0, 0
    for start in range(0, text.size, _CHUNK):
        part = text[start : start + _CHUNK]
        quotes = np.cumsum(part == ord('"'), dtype=np.int64) + inside
        outside = (quotes & 1) == 0
        opens = ((part == ord("[")) | (part == ord("{"))) & outside
        closes = ((part == ord("]")) | (part == ord("}"))) & outside
        levels = depth + np.cumsum(opens.astype(np.int64) - closes)
        deepest = max(deepest, int(levels.max()))
        depth, inside = int(levels[-1]), int(quotes[-1])
        breaks = np.flatnonzero(~(_NUMBER_CHARS[part] & outside))
        if breaks.size:
            gaps = np.diff(breaks, prepend=-1 - run) - 1
            longest = max(longest, int(gaps.max()), part.size - 1 - int(breaks[-1]))
            run = part.size - 1 - int(breaks[-1])
        else:
            run += part.size
            longest = max(longest, run)
    return deepest, longest


def _long_string(n: int, lim: Limits) -> str:
    return f"metadata holds a string of {n} characters; the limit is {lim.string_chars}"


def _parse_json(raw: bytes, lim: Limits) -> Any:
    """The JSON value in ``raw`` (UTF-8), within ``lim``; ``ValueError`` saying which limit otherwise."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"metadata is not UTF-8 ({exc.reason} at byte {exc.start})") from None
    depth, longest = _json_scan(raw)
    if depth > lim.json_depth:
        raise ValueError(f"metadata nests {depth} levels deep; the limit is {lim.json_depth}")
    if longest > lim.number_chars:
        raise ValueError(
            f"metadata holds a number of {longest} characters; the limit is {lim.number_chars}"
        )

    def constant(token: str) -> Any:
        raise ValueError(f"metadata holds {token}, which is not JSON")

    try:
        value = json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"metadata is not JSON: {exc}") from None
    stack = [value]
    while stack:  # every string (keys too) within the limit; iterative, the depth is bounded anyway
        node = stack.pop()
        values = node.values() if type(node) is dict else node
        if type(node) is dict:
            longest = max(map(len, node), default=0)
            if longest > lim.string_chars:
                raise ValueError(_long_string(longest, lim))
        for v in values:
            kind = type(v)
            if kind is str:
                if len(v) > lim.string_chars:
                    raise ValueError(_long_string(len(v), lim))
            elif kind is dict or kind is list:
                stack.append(v)
    return value


def open_archive(
    path: str | os.PathLike[str], fmt: str, version: int, *, limits: Limits | None = None
) -> Archive:
    """Open the archive ``path`` (used as given) of format ``fmt``, and check everything but the data.

    See the module's docstring for what is checked in which order. Use it as a context manager; check
    :attr:`Archive.specs` against :attr:`Archive.meta`, then :meth:`Archive.read` the arrays.

    Args:
        fmt: the required ``"format"`` marker; version: the one ``"format_version"`` this reader knows.
        limits: what the archive may hold (:data:`DEFAULT_LIMITS`).

    Raises:
        OSError: the file cannot be opened (the message names it).
        ValueError: anything else; the message names the file and says what is wrong.
    """
    lim = limits or DEFAULT_LIMITS
    name = _fspath(path)
    try:
        info = os.stat(name)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot read {name!r}: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise _not_ours(name, fmt, "a directory, not an .npz archive")
    if not stat.S_ISREG(info.st_mode):
        raise _not_ours(name, fmt, "not a regular file, not an .npz archive")
    try:
        handle = open(name, "rb")  # noqa: SIM115 - handed to the Archive, closed by it or below
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot read {name!r}: {exc.strerror}") from None
    try:
        return _check(name, fmt, version, lim, handle)
    except BaseException:
        handle.close()
        raise


def _check(name: str, fmt: str, version: int, lim: Limits, handle: IO[bytes]) -> Archive:
    def refuse(why: str) -> _Refused:
        return _not_ours(name, fmt, why)

    # 2. The first bytes.
    head = handle.read(8)
    if not head:
        raise refuse("an empty file, not an .npz archive")
    if head.startswith(_NPY_MAGIC):
        raise refuse("a bare .npy array, not an .npz archive")
    if not head.startswith(_ZIP_MAGIC):
        raise refuse("not an .npz archive")
    # 3. The zip directory: its size from the end record, then each member's entry.
    size = handle.seek(0, os.SEEK_END)
    with _malformed(name, fmt, "not an .npz archive"):
        count, cd_size = _directory_size(handle, size)
    if count > lim.members or cd_size > lim.members * _DIRECTORY_ENTRY_BYTES:
        raise refuse(
            f"{count} members in a {_size(cd_size)} directory; an archive holds at most "
            f"{lim.members}"
        )
    with _malformed(name, fmt, "not an .npz archive"):
        handle.seek(0)
        zf = zipfile.ZipFile(handle)
    try:
        return _check_members(name, fmt, version, lim, size, zf, handle, refuse)
    except BaseException:
        zf.close()
        raise


def _check_members(
    name: str,
    fmt: str,
    version: int,
    lim: Limits,
    size: int,
    zf: zipfile.ZipFile,
    handle: IO[bytes],
    refuse: Callable[[str], _Refused],
) -> Archive:
    infos = zf.infolist()
    if len(infos) > lim.members:
        raise refuse(f"{len(infos)} members; an archive holds at most {lim.members}")
    entries: dict[str, zipfile.ZipInfo] = {}
    total = packed = 0
    for info in infos:
        member = info.filename
        key = member[: -len(".npy")]
        if not member.endswith(".npy") or not _plain_key(key):
            raise refuse(f"member {member[:80]!r} is not a NAME.npy array")
        if key in entries:
            raise refuse(f"member {member!r} appears twice")
        if info.flag_bits & 0x1:
            raise refuse(f"member {member} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size or info.header_offset + info.file_size > size:
                raise refuse(
                    f"member {member} declares {info.file_size} bytes, stored in "
                    f"{info.compress_size} of a {size}-byte file"
                )
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > max(_EXPANSION_FREE, lim.expansion * info.compress_size):
                raise refuse(
                    f"member {member} would expand from {_size(info.compress_size)} to "
                    f"{_size(info.file_size)}; the limit is {lim.expansion} times (a zip bomb?)"
                )
        else:
            raise refuse(f"member {member} uses compression method {info.compress_type}")
        total += info.file_size
        packed += info.compress_size
        entries[key] = info
    if packed > size:  # members that share their data (a bomb of overlapping members)
        raise refuse(f"the members' data adds up to {packed} bytes in a {size}-byte file")
    if total > lim.bytes:
        raise refuse(
            f"the members declare {_size(total)}; an archive holds at most {_size(lim.bytes)}"
        )
    # 4. The metadata: its header, its JSON, the format marker and the version.
    if META_ENTRY not in entries:
        raise refuse(f"no {META_ENTRY} entry")
    meta_info = entries.pop(META_ENTRY)
    with _malformed(name, fmt, f"member {meta_info.filename}"):
        (shape, dtype), _, offset = _read_header(zf, meta_info)
    if dtype != np.uint8 or len(shape) != 1 or offset + shape[0] != meta_info.file_size:
        raise refuse(f"malformed metadata ({dtype} array of shape {str(shape)[:80]})")
    if shape[0] > lim.meta_bytes:
        raise refuse(f"{_size(shape[0])} of metadata; the limit is {_size(lim.meta_bytes)}")
    with _malformed(name, fmt, f"member {meta_info.filename}"):
        raw = _read_data(zf, meta_info, offset, ArraySpec(shape, dtype), False).tobytes()
    try:
        meta = _parse_json(raw, lim)
    except ValueError as exc:
        raise refuse(str(exc)) from None
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise refuse(f'expected "format": "{fmt}"')
    found = meta.get("format_version")
    if type(found) is not int or found != version:
        raise _Refused(
            f"{name!r}: format version {repr(found)[:40]} is not supported (this chainrule reads version "
            f"{version})"
        )
    # 5. Every array's .npy header: dtype, and a shape that fills exactly the declared size.
    members: dict[str, tuple[zipfile.ZipInfo, int, ArraySpec, bool]] = {}
    for key, info in entries.items():
        with _malformed(name, fmt, f"member {info.filename}"):
            (shape, dtype), fortran, offset = _read_header(zf, info)
        if dtype.kind not in ARRAY_KINDS or dtype.fields is not None or dtype.hasobject:
            raise refuse(f"array {key} has dtype {dtype.str}; only numbers and booleans are read")
        if len(shape) > 32 or any(n < 0 for n in shape):
            raise refuse(f"array {key} declares the shape {shape}")
        nbytes = math.prod(shape) * dtype.itemsize
        if offset + nbytes != info.file_size:
            raise refuse(
                f"array {key} declares shape {shape} of {dtype.str} ({_size(nbytes)}) in a member "
                f"of {_size(info.file_size)}"
            )
        members[key] = (info, offset, ArraySpec(shape, dtype), fortran)
    return Archive(name, fmt, handle, zf, meta, members)


def read_archive(
    path: str | os.PathLike[str], fmt: str, version: int, *, limits: Limits | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The metadata and the arrays of an archive in format ``fmt`` (:func:`open_archive`, then read).

    Prefer :func:`open_archive` where the metadata says which arrays to expect: it checks them before
    reading.

    Returns:
        ``(meta, arrays)``: the decoded JSON object, and name → array (the metadata entry removed).

    Raises:
        OSError: the file cannot be opened. ValueError: anything else (names the file).
    """
    with open_archive(path, fmt, version, limits=limits) as archive:
        return archive.meta, archive.read()
