"""Crafted files against the two loaders (``nn.load``, ``LogisticRegression.load``) and the archive layer.

Every file here is made by the test itself: zip bombs (a small member declaring or inflating to
gigabytes), ``.npy`` headers that lie about the shape or declare 10¹² elements, object, structured and
string dtypes, pickles, truncated and byte-flipped archives, deep or huge JSON metadata, archives of
thousands of members, non-zip files, a directory and an empty file. Each refusal is checked for its type
(``ValueError``), its message (names the file, says what is wrong) and that the file did not change.
Time and memory of refusing are measured in ``benchmarks/bench_files.py``, not asserted here; the bombs
would take gigabytes if anything decompressed them, so a regression shows as a MemoryError or a very slow
test.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pathlib
import pickle
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chainrule import _archive, nn
from chainrule._archive import DEFAULT_LIMITS, load_path, save_path
from chainrule.linear import LogisticRegression
from chainrule.linear.model_io import FORMAT as LINEAR_FORMAT

NN_FORMAT = "chainrule.nn"


# -- building crafted files ---------------------------------------------------------------------------
def npy_header(shape: tuple[int, ...], descr: Any = "<f8", fortran: bool = False) -> bytes:
    """An .npy 1.0 header (magic, length, dict) declaring ``shape`` and ``descr``, padded to 64 bytes."""
    text = f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    pad = -(10 + len(text) + 1) % 64
    body = (text + " " * pad + "\n").encode("latin1")
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(body)) + body


def npy(arr: np.ndarray, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def meta_npy(meta: Any) -> bytes:
    text = meta if isinstance(meta, (str, bytes)) else json.dumps(meta)
    raw = text.encode() if isinstance(text, str) else text
    return npy(np.frombuffer(raw, dtype=np.uint8))


def nn_meta(state: Any, **extra: Any) -> dict[str, Any]:
    return {"format": NN_FORMAT, "format_version": 1, "kind": "state", "class": "dict"} | {
        "state": state,
        **extra,
    }


def leaf(key: str, shape: tuple[int, ...], dtype: str = "<f8") -> dict[str, Any]:
    return {"__array__": key, "shape": list(shape), "dtype": dtype}


class Member:
    """One zip member as it lies in the file: ``data`` (stored or raw deflate) and what the zip declares."""

    def __init__(
        self,
        name: str,
        payload: bytes,
        *,
        deflate: bool = False,
        data: bytes | None = None,
        file_size: int | None = None,
        crc: int | None = None,
        flags: int = 0,
        method: int | None = None,
        alias: str | None = None,
    ) -> None:
        self.name = name.encode()
        self.alias = alias  # another member whose local header and data this entry points at
        if data is None:
            if deflate:
                c = zlib.compressobj(6, zlib.DEFLATED, -15)
                data = c.compress(payload) + c.flush()
            else:
                data = payload
        self.data = data
        self.method = method if method is not None else (8 if deflate else 0)
        self.file_size = len(payload) if file_size is None else file_size
        self.crc = zlib.crc32(payload) if crc is None else crc
        self.flags = flags


def raw_zip(members: list[Member]) -> bytes:
    """A zip written by hand, so that sizes, CRCs and flags can lie (zip64 fields when needed)."""
    out = bytearray()
    central = bytearray()
    offsets: dict[str, int] = {}
    for m in members:
        offset = offsets[m.alias] if m.alias else len(out)
        offsets[m.name.decode()] = offset
        big = m.file_size >= 0xFFFFFFFF or len(m.data) >= 0xFFFFFFFF
        extra = struct.pack("<HHQQ", 1, 16, m.file_size, len(m.data)) if big else b""
        usize = 0xFFFFFFFF if big else m.file_size
        csize = 0xFFFFFFFF if big else len(m.data)
        common = (20, m.flags, m.method, 0, 0x21, m.crc, csize, usize, len(m.name), len(extra))
        if not m.alias:
            out += struct.pack("<4s5H3L2H", b"PK\x03\x04", *common) + m.name + extra + m.data
        central += struct.pack("<4sH5H3L2H", b"PK\x01\x02", 45, *common)
        central += struct.pack("<3HLL", 0, 0, 0, 0, offset) + m.name + extra
    n = len(members)
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(central), len(out), 0)
    return bytes(out + central + eocd)


def bomb_member(name: str, header: bytes, zero_mib: int, **kw: Any) -> Member:
    """A deflated member: ``header`` then ``zero_mib`` MiB of zeros, in about 1 KiB per MiB."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(header) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(1 << 20)) + c.flush(zlib.Z_FULL_FLUSH)
    data = head + block * zero_mib + c.flush()
    crc = zlib.crc32(header)
    zeros = bytes(1 << 20)
    for _ in range(zero_mib):
        crc = zlib.crc32(zeros, crc)
    kw.setdefault("file_size", len(header) + (zero_mib << 20))
    kw.setdefault("crc", crc)
    return Member(name, b"", data=data, method=8, **kw)


# -- checking refusals --------------------------------------------------------------------------------
def digest(path: pathlib.Path) -> str:
    if path.is_dir():
        return "dir:" + ",".join(sorted(os.listdir(path)))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_nn(path: Any) -> Any:
    return nn.load(path)


def load_linear(path: Any) -> Any:
    return LogisticRegression.load(path)


LOADERS = {NN_FORMAT: load_nn, LINEAR_FORMAT: load_linear}


@pytest.fixture(params=sorted(LOADERS))
def fmt(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def refused(load: Callable[[Any], Any], path: pathlib.Path, match: str) -> str:
    """Load ``path``: a ValueError naming the file and matching ``match``; the file is unchanged."""
    before = digest(path)
    with pytest.raises(ValueError) as info:
        load(path)
    message = str(info.value)
    assert repr(str(path)) in message, message
    assert re.search(match, message), message
    assert "allow_pickle" not in message and "\n" not in message
    assert digest(path) == before
    return message


def write(tmp_path: pathlib.Path, name: str, data: bytes) -> pathlib.Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# -- not archives ---------------------------------------------------------------------------------------
class Boom:
    """Unpickling this would run code."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("pickle ran",))


NON_ARCHIVES = {
    "empty.npz": (b"", r"\(an empty file, not an \.npz archive\)"),
    "text.npz": (b"import os; os.system('echo hacked')\n", r"\(not an \.npz archive\)"),
    "pickle.npz": (pickle.dumps([Boom()]), r"\(not an \.npz archive\)"),
    "random.npz": (
        bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8)),
        "not an",
    ),
    "gzip.npz": (b"\x1f\x8b\x08\x00" + bytes(100), r"\(not an \.npz archive\)"),
    "bare.npz": (npy_header((10**12,)) + b"\0\0", r"\(a bare \.npy array, not an \.npz archive\)"),
    "zip-head-only.npz": (b"PK\x03\x04" + bytes(26), r"not an \.npz archive: no zip end record"),
}


@pytest.mark.parametrize("case", sorted(NON_ARCHIVES))
def test_non_archives_are_refused(
    fmt: str, case: str, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, match = NON_ARCHIVES[case]
    path = write(tmp_path, case, data)
    message = refused(LOADERS[fmt], path, match)
    assert message.startswith(f"{str(path)!r} is not a {fmt} file")
    assert "pickle ran" not in capsys.readouterr().out


def test_the_130_byte_header_of_10_to_12_elements(fmt: str, tmp_path: pathlib.Path) -> None:
    data = npy_header((10**12,)) + b"\0\0"
    assert len(data) == 130
    path = write(tmp_path, "huge.npy", data)  # as given: no PATH.npy.npz beside it
    refused(LOADERS[fmt], path, r"a bare \.npy array")


def test_a_directory_and_a_missing_file(fmt: str, tmp_path: pathlib.Path) -> None:
    folder = tmp_path / "model.npz"
    folder.mkdir()
    refused(LOADERS[fmt], folder, r"\(a directory, not an \.npz archive\)")
    with pytest.raises(FileNotFoundError, match=r"missing\.npz'"):
        LOADERS[fmt](tmp_path / "missing")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_is_refused_without_blocking(fmt: str, tmp_path: pathlib.Path) -> None:
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"pipe\.npz' .*not a regular file"):
        LOADERS[fmt](fifo)


# -- valid archives, and variations -------------------------------------------------------------------
@pytest.fixture(scope="module")
def linear_model() -> LogisticRegression:
    X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0]])
    return LogisticRegression().fit(X, [0, 1, 0, 1])


def valid_file(fmt: str, folder: pathlib.Path, model: LogisticRegression) -> pathlib.Path:
    if fmt == NN_FORMAT:
        return pathlib.Path(nn.save(nn.MLP([2, 3, 1], rng=0), folder / "good"))
    return pathlib.Path(model.save(folder / "good"))


def members_of(path: pathlib.Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def meta_of(members: dict[str, bytes]) -> dict[str, Any]:
    raw = np.load(io.BytesIO(members["__chainrule__.npy"]))
    return dict(json.loads(raw.tobytes()))


def first_array(fmt: str) -> str:
    return "a0" if fmt == NN_FORMAT else "coef"


def declare(meta: dict[str, Any], fmt: str, key: str, shape: tuple[int, ...], dtype: str) -> None:
    """Make the metadata agree with an array member of ``shape``/``dtype`` (nn only; linear has rules)."""
    if fmt == NN_FORMAT:
        meta["state"] = {"x": leaf(key, shape, dtype)}


def rebuilt(members: dict[str, bytes], **replace: bytes | Member) -> bytes:
    out = []
    for name, payload in {**members, **{f"{k}.npy": v for k, v in replace.items()}}.items():
        out.append(payload if isinstance(payload, Member) else Member(name, payload))
    return raw_zip(out)


def test_valid_files_load_through_the_hand_written_zip(
    fmt: str, tmp_path: pathlib.Path, linear_model: LogisticRegression
) -> None:
    members = members_of(valid_file(fmt, tmp_path, linear_model))
    path = write(tmp_path, "copy.npz", rebuilt(members))
    assert LOADERS[fmt](path) is not None
    deflated = raw_zip([Member(n, p, deflate=True) for n, p in members.items()])
    assert LOADERS[fmt](write(tmp_path, "deflated.npz", deflated)) is not None


# -- zip bombs and lying sizes ------------------------------------------------------------------------
def test_zip_bomb_of_1_5_gb_in_1_5_mb(
    fmt: str, tmp_path: pathlib.Path, linear_model: LogisticRegression
) -> None:
    """An honest bomb: header, zip sizes and (for nn) the metadata all say 1.5 GB; it expands 1000×."""
    members = members_of(valid_file(fmt, tmp_path, linear_model))
    key = first_array(fmt)
    n = (1500 << 20) // 8
    meta = meta_of(members)
    declare(meta, fmt, key, (n,), "<f8")
    if fmt == NN_FORMAT:
        members = {"__chainrule__.npy": members["__chainrule__.npy"]}
    members["__chainrule__.npy"] = meta_npy(meta)
    header = npy_header((n,))
    bomb = bomb_member(f"{key}.npy", header, 1500)
    path = write(tmp_path, "bomb.npz", rebuilt(members, **{key: bomb}))
    assert path.stat().st_size < 2 << 20
    refused(LOADERS[fmt], path, rf"member {key}\.npy would expand from .* to 1\.46 GiB.*zip bomb")


def test_zip_bomb_whose_sizes_say_16_bytes(
    fmt: str, tmp_path: pathlib.Path, linear_model: LogisticRegression
) -> None:
    """The zip declares a 16-byte array (as the header and metadata do); the stream inflates to 1 GB.

    zipfile stops at the declared size, and the CRC of what it read does not match: refused, cheaply.
    """
    members = members_of(valid_file(fmt, tmp_path, linear_model))
    key = first_array(fmt)
    meta = meta_of(members)
    declare(meta, fmt, key, (2,), "<f8")
    if fmt == NN_FORMAT:
        members = {"__chainrule__.npy": meta_npy(meta)}
    header = npy_header((2,) if fmt == NN_FORMAT else (1, 2))
    bomb = bomb_member(f"{key}.npy", header, 1024, file_size=len(header) + 16)
    path = write(tmp_path, "bomb16.npz", rebuilt(members, **{key: bomb}))
    refused(LOADERS[fmt], path, rf"member {key}\.npy: (BadZipFile: )?Bad CRC-32")


@pytest.mark.parametrize(
    ("declared", "stored", "match"),
    [
        ((2,), 1 << 20, r"declares shape \(2,\) of <f8 \(16 bytes\) in a member of 1 MiB"),
        (
            (10**6,),
            16,
            r"declares shape \(1000000,\) of <f8 \(7\.63 MiB\) in a member of 144 bytes",
        ),
        ((10**12,), 16, r"declares shape \(1000000000000,\) of <f8 \(7\.28 TiB\)"),
        ((-1, 4), 16, r"declares the shape \(-1, 4\)"),
    ],
)
def test_npy_headers_that_lie_about_the_shape(
    fmt: str, tmp_path: pathlib.Path, declared: tuple[int, ...], stored: int, match: str
) -> None:
    key = first_array(fmt)
    meta = nn_meta({"x": leaf(key, declared)})
    data = npy_header(declared) + bytes(stored)
    members = {"__chainrule__.npy": meta_npy(meta), f"{key}.npy": data}
    path = write(tmp_path, "liar.npz", rebuilt(members))
    refused(LOADERS[NN_FORMAT], path, rf"array {key} {match}")


@pytest.mark.parametrize(
    ("file_size", "deflate", "match"),
    [
        (8 * 10**12 + 128, True, r"would expand from .* to 7\.28 TiB"),
        (8 * 10**12 + 128, False, r"declares 8000000000128 bytes, stored in 144"),
        (3 << 30, False, r"declares 3221225472 bytes, stored in 144"),
    ],
)
def test_zip_sizes_that_lie(
    tmp_path: pathlib.Path, file_size: int, deflate: bool, match: str
) -> None:
    """The zip directory says terabytes; refused from the directory, before any header is read."""
    data = npy_header((10**12,)) + bytes(16)
    member = Member("a0.npy", data, deflate=deflate, file_size=file_size)
    if not deflate:
        member.data = data
    meta = meta_npy(nn_meta({"x": leaf("a0", (10**12,))}))
    path = write(tmp_path, "sizes.npz", raw_zip([Member("__chainrule__.npy", meta), member]))
    refused(load_nn, path, match)


def test_overlapping_members_are_refused(tmp_path: pathlib.Path) -> None:
    """Ten directory entries share one member's data: each passes on its own, together they do not."""
    meta = Member("__chainrule__.npy", meta_npy(nn_meta({})))
    noise = np.random.default_rng(0).integers(0, 256, 1 << 20, dtype=np.uint8).tobytes()
    a0 = Member("a0.npy", npy_header((1 << 17,)) + noise, deflate=True)
    aliases = [
        Member(
            f"a{i}.npy",
            b"",
            data=a0.data,
            method=8,
            alias="a0.npy",
            file_size=a0.file_size,
            crc=a0.crc,
        )
        for i in range(1, 10)
    ]
    path = write(tmp_path, "overlap.npz", raw_zip([meta, a0, *aliases]))
    refused(load_nn, path, r"the members' data adds up to \d+ bytes in a \d+-byte file")


def test_the_total_size_limit(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    state = {"w": np.zeros(1000), "v": np.zeros(1000)}
    path = pathlib.Path(nn.save(state, tmp_path / "two"))
    monkeypatch.setattr(_archive, "DEFAULT_LIMITS", _archive.Limits(bytes=12_000))
    refused(load_nn, path, r"the members declare 16\.\d KiB; an archive holds at most 11\.7 KiB")
    with pytest.raises(
        ValueError, match=r"cannot save 16\.\d KiB: an archive holds at most 11\.7 KiB"
    ):
        nn.save(state, tmp_path / "again")


# -- dtypes, pickles ------------------------------------------------------------------------------------
DTYPES = {
    "object": ("|O", r"dtype \|O"),
    "structured": ([("a", "<f8"), ("b", "<i4")], r"dtype \|V12"),
    "string": ("<U10", r"dtype <U10"),
    "bytes": ("|S8", r"dtype \|S8"),
    "void": ("|V8", r"dtype \|V8"),
    "datetime": ("<M8[s]", r"dtype <M8\[s\]"),
    "subarray": (("<f8", (1000, 1000)), r"dtype \|V8000000"),
}


@pytest.mark.parametrize("case", sorted(DTYPES))
def test_wrong_dtypes_are_refused_from_the_header(
    fmt: str, tmp_path: pathlib.Path, linear_model: LogisticRegression, case: str
) -> None:
    descr, match = DTYPES[case]
    members = members_of(valid_file(fmt, tmp_path, linear_model))
    key = first_array(fmt)
    members[f"{key}.npy"] = npy_header((2,), descr) + bytes(64)
    path = write(tmp_path, "dtype.npz", rebuilt(members))
    refused(LOADERS[fmt], path, rf"array {key} has {match}; only numbers and booleans")


def test_pickled_object_arrays_never_run(
    fmt: str,
    tmp_path: pathlib.Path,
    linear_model: LogisticRegression,
    capsys: pytest.CaptureFixture[str],
) -> None:
    members = members_of(valid_file(fmt, tmp_path, linear_model))
    key = first_array(fmt)
    members[f"{key}.npy"] = npy(np.array([Boom(), Boom()], dtype=object), allow_pickle=True)
    path = write(tmp_path, "evil.npz", rebuilt(members))
    refused(LOADERS[fmt], path, rf"array {key} has dtype \|O")
    members["__chainrule__.npy"] = npy(np.array([Boom()], dtype=object), allow_pickle=True)
    path = write(tmp_path, "evil-meta.npz", rebuilt(members))
    refused(LOADERS[fmt], path, r"malformed metadata \(object array")
    assert "pickle ran" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (
            npy(np.zeros((2, 2), dtype=np.uint8)),
            r"malformed metadata \(uint8 array of shape \(2, 2\)",
        ),
        (npy(np.zeros(4, dtype=np.int32)), r"malformed metadata \(int32"),
        (npy_header((10**12,), "|u1") + bytes(8), r"malformed metadata"),
        (b"\x93NUMPY\x03\x00" + bytes(60), r"\.npy format version 3\.0 is not supported"),
        (
            b"\x93NUMPY\x02\x00" + struct.pack("<I", 0xFFFFFFFF),
            r"an \.npy header of 4294967295 bytes",
        ),
        (b"\x93NUMPY\x01\x00\x40\x00" + b"{" * 63 + b"\n", r"__chainrule__\.npy: "),
        (b"not numpy at all", r"__chainrule__\.npy: not an \.npy array"),
        (npy(np.frombuffer(b"\xff\xfe{}", np.uint8)), r"metadata is not UTF-8"),
        (meta_npy('{"format": "chainrule.nn", "format_version": 1, "state": {}, "x": NaN}'), "NaN"),
        (meta_npy('{"format": '), r"metadata is not JSON"),
        (meta_npy([1, 2]), r'expected "format": "chainrule\.nn"'),
        (meta_npy(nn_meta({}, format_version=True)), r"format version True is not supported"),
        (meta_npy(nn_meta({}, format_version=1.0)), r"format version 1\.0 is not supported"),
    ],
)
def test_malformed_metadata(tmp_path: pathlib.Path, payload: bytes, match: str) -> None:
    path = write(tmp_path, "meta.npz", raw_zip([Member("__chainrule__.npy", payload)]))
    refused(load_nn, path, match)


# -- JSON limits ------------------------------------------------------------------------------------------
def nn_file_with_meta(
    tmp_path: pathlib.Path, text: str | bytes, deflate: bool = False
) -> pathlib.Path:
    member = Member("__chainrule__.npy", meta_npy(text), deflate=deflate)
    return write(tmp_path, "json.npz", raw_zip([member]))


def test_json_nested_100_000_deep(tmp_path: pathlib.Path) -> None:
    deep = '{"format": "chainrule.nn", "format_version": 1, "state": {"x": ' + "[" * 100_000
    text = deep + "]" * 100_000 + "}}"
    path = nn_file_with_meta(tmp_path, text)
    refused(load_nn, path, r"metadata nests 100002 levels deep; the limit is 100")
    # Brackets inside strings do not count; unbalanced ones are not JSON.
    quoted = json.dumps(nn_meta({"x": "[" * 100_000}))
    assert nn.load(nn_file_with_meta(tmp_path, quoted)) == {"x": "[" * 100_000}


@given(depth=st.integers(1, 300))
@settings(max_examples=30, deadline=None)
def test_json_depth_limit_is_exact(depth: int) -> None:
    tree: Any = 0
    for _ in range(depth - 2):  # the top-level object and "state" are two levels
        tree = [tree]
    text = json.dumps(nn_meta({"x": tree}))
    with tempfile.TemporaryDirectory() as folder:
        path = nn_file_with_meta(pathlib.Path(folder), text)
        total = max(depth, 2)
        if total <= DEFAULT_LIMITS.json_depth:
            assert "x" in nn.load(path)
        else:
            refused(load_nn, path, rf"nests {total} levels deep")


def test_json_with_a_million_digit_integer(tmp_path: pathlib.Path) -> None:
    text = json.dumps(nn_meta({"x": 0})).replace('"x": 0', '"x": ' + "7" * 10**6)
    path = nn_file_with_meta(tmp_path, text)
    refused(load_nn, path, r"a number of 1000000 characters; the limit is 100")
    text = json.dumps(nn_meta({"x": 0})).replace('"x": 0', '"x": 0.' + "5" * 10**6)
    refused(load_nn, nn_file_with_meta(tmp_path, text), r"a number of 1000002 characters")
    assert nn.load(nn_file_with_meta(tmp_path, json.dumps(nn_meta({"x": 10**99})))) == {"x": 10**99}


def test_huge_strings_and_huge_metadata(tmp_path: pathlib.Path) -> None:
    long = "s" * (2 << 20)
    refused(load_nn, nn_file_with_meta(tmp_path, json.dumps(nn_meta({"x": long}))), "a string of")
    refused(load_nn, nn_file_with_meta(tmp_path, json.dumps(nn_meta({long: 1}))), "a string of")
    refused(load_nn, nn_file_with_meta(tmp_path, json.dumps(nn_meta([long]))), "a string of")
    big = json.dumps(nn_meta({"x": ["s" * 1000] * 5_000}))
    refused(load_nn, nn_file_with_meta(tmp_path, big), r"4\.79 MiB of metadata; the limit is 4 MiB")


def test_saving_refuses_what_loading_would(tmp_path: pathlib.Path) -> None:
    deep: Any = 0
    for _ in range(150):
        deep = {"d": deep}
    for state, match in [
        ({"deep": deep}, r"metadata nests 15[0-9] levels deep; the limit is 100"),
        ({"big": 10**200}, r"metadata holds a number of 201 characters"),
        ({"s": "x" * (2 << 20)}, r"metadata holds a string of 2097152 characters"),
        ({"s": ["x" * 1000] * 5000}, r"4\.79 MiB of JSON; the limit is 4 MiB \(put bulk numbers"),
    ]:
        with pytest.raises(ValueError, match=f"cannot save the metadata: {match}"):
            nn.save(state, tmp_path / "s")
    assert not (tmp_path / "s.npz").exists()
    with pytest.raises(ValueError, match="not a plain name"):
        _archive.write_archive(tmp_path / "w.npz", {}, {"../x": np.zeros(1)})


# -- members -------------------------------------------------------------------------------------------
def test_a_zip_of_twelve_thousand_members(tmp_path: pathlib.Path) -> None:
    members = [Member(f"a{i}.npy", b"") for i in range(12_000)]
    path = write(tmp_path, "many.npz", raw_zip(members))
    refused(load_nn, path, r"12000 members in a \d+ KiB directory; an archive holds at most 10000")


def test_a_zip_whose_end_record_undercounts(tmp_path: pathlib.Path) -> None:
    data = bytearray(raw_zip([Member(f"a{i}.npy", b"") for i in range(12_000)]))
    data[-14:-10] = struct.pack("<HH", 3, 3)  # the counts say 3; the directory holds 12,000
    path = write(tmp_path, "liar.npz", bytes(data))
    refused(load_nn, path, r"12000 members; an archive holds at most 10000")


def test_thousands_of_valid_but_unused_arrays(
    fmt: str, tmp_path: pathlib.Path, linear_model: LogisticRegression
) -> None:
    members = members_of(valid_file(fmt, tmp_path, linear_model))
    for i in range(5000):
        members[f"extra{i}.npy"] = npy(np.zeros(1))
    path = write(tmp_path, "extras.npz", rebuilt(members))
    match = "array extra0 is not in the state" if fmt == NN_FORMAT else "unexpected arrays: extra0"
    refused(LOADERS[fmt], path, match)


@pytest.mark.parametrize(
    ("member", "match"),
    [
        (Member("run.py", b"print(1)"), r"member 'run\.py' is not a NAME\.npy array"),
        (Member("../a0.npy", b""), r"member '\.\./a0\.npy' is not a NAME\.npy array"),
        (Member("dir/", b""), r"member 'dir/' is not a NAME\.npy array"),
        (Member("a0.npy", npy(np.zeros(2)), flags=1), r"member a0\.npy is encrypted"),
        (
            Member("a0.npy", npy(np.zeros(2)), method=12),
            r"member a0\.npy uses compression method 12",
        ),
        (Member("__chainrule__.npy", b""), r"member '__chainrule__\.npy' appears twice"),
    ],
)
def test_members_that_are_not_ours(tmp_path: pathlib.Path, member: Member, match: str) -> None:
    meta = Member("__chainrule__.npy", meta_npy(nn_meta({"x": leaf("a0", (2,))})))
    path = write(tmp_path, "members.npz", raw_zip([meta, member]))
    refused(load_nn, path, match)


def test_no_metadata_and_an_empty_zip(fmt: str, tmp_path: pathlib.Path) -> None:
    path = write(tmp_path, "plain.npz", raw_zip([Member("x.npy", npy(np.ones(2)))]))
    refused(LOADERS[fmt], path, r"\(no __chainrule__ entry\)")
    path = write(tmp_path, "empty-zip.npz", raw_zip([]))
    refused(LOADERS[fmt], path, r"\(no __chainrule__ entry\)")


# -- what the metadata says -----------------------------------------------------------------------------
N = 100_000  # an array big enough that reading its header does not reach its end (and its CRC)


@pytest.mark.parametrize(
    ("state", "match"),
    [
        (
            {"x": leaf("a0", (3,))},
            r"array a0 has shape \(100000,\) and dtype <f8, the metadata says \[3\]",
        ),
        ({"x": leaf("a0", (N,), "<f4")}, r"the metadata says \[100000\] and <f4"),
        ({"x": leaf("a9", (N,))}, r"missing array 'a9'"),
        ({"x": {"__array__": ["a0"]}}, r"missing array \['a0'\]"),
        ({"x": 1}, r"array a0 is not in the state \(1 unreferenced\)"),
        ({"x": {"__float__": "1e999"}}, r"'1e999' is not inf, -inf or nan"),
        ({"x": {"__float__": [1]}}, r"'\[1\]' is not inf, -inf or nan"),
        ([leaf("a0", (N,))], r"the state is not a mapping"),
    ],
)
def test_nn_metadata_is_checked_before_reading(
    tmp_path: pathlib.Path, state: Any, match: str
) -> None:
    # The array's CRC is wrong: reading the data would raise "Bad CRC"; these refuse before.
    a0 = Member("a0.npy", npy(np.zeros(N)), crc=0)
    path = write(
        tmp_path, "m.npz", raw_zip([Member("__chainrule__.npy", meta_npy(nn_meta(state))), a0])
    )
    refused(load_nn, path, match)


@pytest.mark.parametrize(
    ("where", "key", "value", "match"),
    [
        ("params", "fit_intercept", 1, r"fit_intercept = '1' is not a boolean"),
        ("params", "fit_intercept", "yes", r"fit_intercept = 'yes' is not a boolean"),
        ("params", "fit_intercept", None, r"fit_intercept = 'None' is not a boolean"),
        ("params", "verbose", "loud", r"verbose = 'loud' is not an integer"),
        ("params", "C", "big", r"C = 'big' is not a number"),
        ("params", "tol", [1], r"tol must be a non-negative number"),
        ("meta", "converged", "yes", r"converged = 'yes' is not a boolean"),
        ("meta", "converged", 0, r"converged = '0' is not a boolean"),
        ("meta", "objective", {"a": 1}, r"objective = .* is not a number"),
        ("meta", "solver_used", "os.system", r"solver_used = 'os\.system' is not one of"),
        ("meta", "n_features_in", True, r"n_features_in = 'True' is not a positive integer"),
        ("meta", "n_features_in", 3, r"inconsistent arrays"),
    ],
)
def test_linear_metadata_values(
    tmp_path: pathlib.Path,
    linear_model: LogisticRegression,
    where: str,
    key: str,
    value: Any,
    match: str,
) -> None:
    members = members_of(pathlib.Path(linear_model.save(tmp_path / "m")))
    meta = meta_of(members)
    (meta["params"] if where == "params" else meta)[key] = value
    members["__chainrule__.npy"] = meta_npy(meta)
    path = write(tmp_path, "p.npz", rebuilt(members))
    refused(load_linear, path, match)


def test_linear_n_iter_and_extra_arrays(
    tmp_path: pathlib.Path, linear_model: LogisticRegression
) -> None:
    members = members_of(pathlib.Path(linear_model.save(tmp_path / "m")))
    members["n_iter.npy"] = npy(np.zeros(3, dtype=np.int64))
    refused(load_linear, write(tmp_path, "n.npz", rebuilt(members)), r"n_iter is \(3,\) int64")
    members["n_iter.npy"] = npy(np.zeros(1, dtype=np.float64))
    refused(load_linear, write(tmp_path, "n.npz", rebuilt(members)), r"not one integer")


# -- properties: byte flips and truncations -------------------------------------------------------------
@pytest.fixture(scope="module")
def valid_bytes(linear_model: LogisticRegression) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        return {
            fmt: valid_file(fmt, pathlib.Path(folder), linear_model).read_bytes() for fmt in LOADERS
        }


def _loads_or_refuses(fmt: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "flipped.npz"
        path.write_bytes(data)
        before = digest(path)
        try:
            out = LOADERS[fmt](path)
        except ValueError as exc:
            assert repr(str(path)) in str(exc), str(exc)
        else:
            assert out is not None
        assert digest(path) == before


@given(data=st.data(), fmt=st.sampled_from(sorted(LOADERS)))
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_byte_flips_load_or_give_value_error(
    valid_bytes: dict[str, bytes], data: st.DataObject, fmt: str
) -> None:
    good = bytearray(valid_bytes[fmt])
    flips = data.draw(
        st.lists(
            st.tuples(st.integers(0, len(good) - 1), st.integers(0, 255)), min_size=1, max_size=8
        )
    )
    for at, value in flips:
        good[at] = value
    _loads_or_refuses(fmt, bytes(good))


@given(data=st.data(), fmt=st.sampled_from(sorted(LOADERS)))
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_truncated_archives_are_refused(
    valid_bytes: dict[str, bytes], data: st.DataObject, fmt: str
) -> None:
    whole = valid_bytes[fmt]
    cut = data.draw(st.integers(0, len(whole) - 1))
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "cut.npz"
        path.write_bytes(whole[:cut])
        refused(LOADERS[fmt], path, "not an|no zip end record|empty file")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(["__array__", "__float__", "shape", "dtype", "x"]), inner)
    ),
    max_leaves=20,
)


@given(state=JSON)
@settings(max_examples=150, deadline=None)
def test_arbitrary_state_trees_load_or_give_value_error(state: Any) -> None:
    try:
        text = json.dumps(nn_meta({"s": state}), allow_nan=True)
    except ValueError:  # pragma: no cover - json.dumps does not refuse these
        return
    a0 = Member("a0.npy", npy(np.zeros(2)))
    payload = raw_zip([Member("__chainrule__.npy", meta_npy(text)), a0])
    _loads_or_refuses(NN_FORMAT, payload)


# -- paths: one rule for both loaders --------------------------------------------------------------------
class Custom(os.PathLike[str]):
    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path


FORMS: dict[str, Callable[[pathlib.Path], Any]] = {
    "str PATH": lambda p: str(p),
    "str PATH.npz": lambda p: str(p) + ".npz",
    "Path PATH": lambda p: p,
    "Path PATH.npz": lambda p: p.with_name(p.name + ".npz"),
    "PathLike PATH": lambda p: Custom(str(p)),
    "PathLike PATH.npz": lambda p: Custom(str(p) + ".npz"),
    "PATH.json": lambda p: str(p) + ".json",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_both_loaders_take_the_same_path_forms(
    fmt: str, form: str, tmp_path: pathlib.Path, linear_model: LogisticRegression
) -> None:
    written = valid_file(fmt, tmp_path, linear_model)
    assert written == tmp_path / "good.npz"
    given_path = FORMS[form](tmp_path / "good")
    assert load_path(given_path) == str(written)
    assert LOADERS[fmt](given_path) is not None


def test_path_rules(tmp_path: pathlib.Path) -> None:
    assert save_path("m") == save_path("m.npz") == save_path("m.json") == "m.npz"
    assert load_path(tmp_path / "none") == str(tmp_path / "none.npz")  # missing: what save writes
    (tmp_path / "notes.txt").write_text("x")
    assert load_path(tmp_path / "notes.txt") == str(tmp_path / "notes.txt")  # exists as given
    (tmp_path / "notes.txt.npz").write_bytes(b"")
    assert load_path(tmp_path / "notes.txt") == str(tmp_path / "notes.txt.npz")  # save's name first
    for load in LOADERS.values():
        for bad in (b"model.npz", 3, None):
            with pytest.raises(TypeError, match=r"path must be a str or os\.PathLike"):
                load(bad)


def test_nn_save_names_like_linear(tmp_path: pathlib.Path) -> None:
    assert nn.save({"w": np.ones(2)}, tmp_path / "run.json") == str(tmp_path / "run.npz")
