"""Hostile command lines: hypothesis-generated numbers, CSV cells, statements, shapes and output paths.

Every case runs the command in-process and asserts the contract of docs/cli.md:

- the exit code (an oracle written from the documented bounds decides 2 or not, where it can);
- stderr: on exit 2 exactly one line ``chainrule CMD: error: ...``; otherwise only ``chainrule CMD: ...``
  notes; never a traceback, never an "internal error";
- that no input file changed (each is hashed before and after);
- that a refusal of a number past its bounds comes at once (well under a second).

Ctrl-C is sent to a real process (exit 130, "interrupted"); memory, recursion, warnings and internal errors
are raised from a stand-in ``run``.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import math
import os
import pathlib
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from chainrule.cli import main

HOSTILE = settings(
    deadline=None,
    max_examples=60,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# -- running a command --------------------------------------------------------------------------------
def invoke(argv: list[str], stdin: bytes = b"") -> tuple[int, bytes, str, float]:
    """(exit code, stdout bytes, stderr text, seconds) of ``chainrule ARGV`` run in-process."""
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    inp = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = inp, out, err
    start = time.perf_counter()
    try:
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse's usage errors exit themselves
            code = int(exc.code or 0)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    seconds = time.perf_counter() - start
    out.flush()
    err.flush()
    return code, out.buffer.getvalue(), err.buffer.getvalue().decode("utf-8"), seconds  # type: ignore[attr-defined]


def check_contract(command: str, code: int, err: str) -> str:
    """The stderr contract; returns the error line (or "")."""
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.splitlines()
    assert code in (0, 1, 2), (code, err)
    if code == 2:
        assert len(lines) == 1, err
        assert lines[0].startswith(f"chainrule {command}: error: "), err
        return lines[0]
    for line in lines:  # notes and warnings only, one line each, no source paths
        assert line.startswith(f"chainrule {command}: "), err
        assert ".py:" not in line, err
    return ""


def digest(folder: pathlib.Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


@contextlib.contextmanager
def unchanged(folder: pathlib.Path) -> Iterator[None]:
    before = digest(folder)
    yield
    after = digest(folder)
    assert {k: after.get(k) for k in before} == before, "an input file changed"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "points.csv").write_text("x1,x2,y\n0,0,1\n0,-1,1\n1,0,0\n1,-1,0\n")
    np.save(folder / "a.npy", np.arange(6.0).reshape(2, 3))
    np.save(folder / "b.npy", np.ones((3, 2)))
    return folder


# -- numbers ------------------------------------------------------------------------------------------
_DIGITS = st.text("0123456789", min_size=1, max_size=8)
HOSTILE_NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-1e-290, max_value=1e-290).map(repr),  # tiny and subnormal
    st.integers(-(10**30), 10**30).map(str),
    st.tuples(_DIGITS, st.integers(-(10**12), 10**12)).map(lambda t: f"{t[0]}e{t[1]}"),
    st.tuples(_DIGITS, st.integers(-450, 450)).map(lambda t: f"-{t[0]}e{t[1]}"),
    st.tuples(_DIGITS, _DIGITS).map(lambda t: f"{t[0]}/{t[1]}"),
    st.integers(90, 5000).map(lambda n: "1" * n),
    st.sampled_from(
        [
            "nan",
            "-inf",
            "inf",
            "Infinity",
            "1e",
            "e5",
            "",
            " ",
            "--1",
            "1/0",
            "0x10",
            "1e+",
            ".",
            "-.5",
        ]
    ),
    st.text(alphabet="0123456789.eE+-/ ", max_size=12),
)

_EXACT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?\d+/\d+")


def exact_value(text: str) -> Fraction | None:
    """The oracle for an exact coordinate: the value, or None when the documented bounds refuse it."""
    t = text.strip()
    if len(t) > 100 or not _EXACT.fullmatch(t):
        return None
    m = re.search(r"[eE]([+-]?\d+)", t)
    if m and abs(int(m.group(1))) > 400:
        return None
    if "/" in t and int(t.split("/")[1]) == 0:
        return None
    return Fraction(t)


def float_value(text: str, low: float = -1e300, high: float = 1e300) -> float | None:
    """The oracle for a float option: finite, within [low, high], at most 100 characters."""
    t = text.strip()
    if len(t) > 100:
        return None
    try:
        v = float(t)
    except ValueError:
        return None
    return v if math.isfinite(v) and low <= v <= high else None


@HOSTILE
@given(
    pos=st.lists(HOSTILE_NUMBERS, min_size=1, max_size=3),
    neg=st.lists(HOSTILE_NUMBERS, min_size=1, max_size=3),
)
def test_hyperplane_numbers(inputs: pathlib.Path, pos: list[str], neg: list[str]) -> None:
    assume(all(c and re.fullmatch(r"[^,\s]+", c) for c in pos + neg))
    with unchanged(inputs):
        code, _, err, seconds = invoke(
            ["hyperplane", "--pos=" + ",".join(pos), "--neg=" + ",".join(neg)]
        )
    line = check_contract("hyperplane", code, err)
    p = [exact_value(c) for c in pos]
    q = [exact_value(c) for c in neg]
    valid = None not in p and None not in q and len(p) == len(q) and p != q
    assert code == (0 if valid else 2), (pos, neg, err)
    if None in p or None in q:
        assert "--pos" in line or "--neg" in line
        assert seconds < 1.0, "a refused number must be refused at once"


@HOSTILE
@given(
    coords=st.lists(st.tuples(HOSTILE_NUMBERS, HOSTILE_NUMBERS), min_size=2, max_size=4),
    outputs=st.lists(st.sampled_from("01"), min_size=4, max_size=4),
)
def test_unit_points(
    inputs: pathlib.Path, coords: list[tuple[str, str]], outputs: list[str]
) -> None:
    assume(all(c and re.fullmatch(r"[^,;:\s]+", c) for pair in coords for c in pair))
    text = " ".join(f"{a},{b}:{o}" for (a, b), o in zip(coords, outputs, strict=False))
    with unchanged(inputs):
        code, _, err, seconds = invoke(["unit", "--points", text])
    line = check_contract("unit", code, err)
    values = [exact_value(c) for pair in coords for c in pair]
    in_range = all(v is not None and (v == 0 or 1e-300 <= abs(v) <= 1e300) for v in values)
    if not in_range:
        assert code == 2 and "--points point" in line
        assert seconds < 1.0
    else:
        assert code in (0, 2)
        if code == 2:  # one output only, or the solvers' own limit: never a parse complaint
            assert "both outputs" in line or "solvers" in line or "rescale" in line, line


@HOSTILE
@given(x=HOSTILE_NUMBERS, rtol=HOSTILE_NUMBERS, weight=HOSTILE_NUMBERS)
def test_backprop_numbers(inputs: pathlib.Path, x: str, rtol: str, weight: str) -> None:
    assume("," not in weight and "=" not in weight and x.strip() == x and x)
    assume(not re.search(r"\s", rtol) or not rtol.strip())
    with unchanged(inputs):
        code, _, err, seconds = invoke(
            ["backprop", f"--x={x}", f"--rtol={rtol}", "--weights", f"7,x={weight}"]
        )
    line = check_contract("backprop", code, err)
    ok = (
        float_value(x) is not None
        and float_value(rtol, 0.0, 1.0) is not None
        and float_value(weight) is not None
        and weight.strip() != ""
    )
    if not ok:
        assert code == 2 and ("--x" in line or "--rtol" in line or "--weights" in line), line
        assert seconds < 1.0
    elif code == 2:
        assert "float64 overflow" in line, line


@HOSTILE
@given(
    c=HOSTILE_NUMBERS,
    tol=HOSTILE_NUMBERS,
    test_size=HOSTILE_NUMBERS,
    max_iter=HOSTILE_NUMBERS,
    seed=HOSTILE_NUMBERS,
)
def test_logreg_options(
    inputs: pathlib.Path, c: str, tol: str, test_size: str, max_iter: str, seed: str
) -> None:
    csv_path = str(inputs / "points.csv")
    argv = ["logreg", csv_path, f"--C={c}", f"--tol={tol}", f"--test-size={test_size}"]
    argv += [f"--max-iter={max_iter}", f"--seed={seed}", "--quiet"]
    with unchanged(inputs):
        code, out, err, seconds = invoke(argv)
    line = check_contract("logreg", code, err)
    assert out == b""
    c_ok = (v := float_value(c, 0.0, 1e300)) is not None and v > 0
    tol_ok = float_value(tol, 0.0, 1.0) is not None
    size = float_value(test_size, 0.0, 1.0)
    size_ok = size is not None and size < 1
    iters = max_iter.strip().replace("_", "")
    iter_ok = bool(re.fullmatch(r"[+-]?\d{1,100}", iters)) and 1 <= int(iters) <= 10**4
    seed_text = seed.strip().replace("_", "")
    seed_ok = bool(re.fullmatch(r"[+-]?\d{1,100}", seed_text)) and 0 <= int(seed_text) < 2**63
    if not (c_ok and tol_ok and size_ok and iter_ok and seed_ok):
        assert code == 2, (argv, err)
        assert seconds < 1.0
    else:
        assert code in (0, 1, 2), line


@HOSTILE
@given(
    sizes=st.lists(
        st.one_of(
            st.integers(0, 10**12).map(str),
            st.sampled_from(["-1", "1e9", "٣", "", "x", "99999999999999999999", "4.5", " 3 "]),
        ),
        min_size=1,
        max_size=40,
    ),
    max_loop=HOSTILE_NUMBERS,
)
def test_einsum_shapes(inputs: pathlib.Path, sizes: list[str], max_loop: str) -> None:
    shape = "x".join(sizes)
    assume("," not in shape and "=" not in shape)
    loop = max_loop.strip().replace("_", "")
    valid_loop = bool(re.fullmatch(r"[+-]?\d{1,100}", loop)) and 0 <= int(loop) <= 10**7
    assume(not valid_loop or int(loop) <= 10**5)  # a loop check of 10^7 Python iterations is slow
    labels = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"[: len(sizes)]
    with unchanged(inputs):
        code, _, err, seconds = invoke(
            ["einsum", f"{labels}->", "--shapes", f"A={shape}", f"--max-loop={max_loop}"]
        )
    line = check_contract("einsum", code, err)
    if code == 2:
        assert seconds < 5.0, "a shape past the bounds is refused before any data is drawn"
    if not valid_loop:
        assert code == 2 and "--max-loop" in line, line
        return
    ints = [int(s) for s in sizes if s.isascii() and s.strip().isdigit()]
    if len(ints) == len(sizes) and math.prod(ints) > 50_000_000 and len(sizes) <= 32:
        assert code == 2 and "limit" in line, line


_STATEMENT = st.text(alphabet="ABCabij_{}^()[]=+-*,\\ sumT0123", max_size=60)


@HOSTILE
@given(
    statement=st.one_of(
        _STATEMENT,
        st.integers(0, 5000).map(lambda n: "C = " + "(" * n + "A B" + ")" * n),
        st.integers(0, 5000).map(lambda n: "C_{i} = " + "\\sum_i " * n + "A_{i}"),
        st.integers(0, 3000).map(lambda n: "C = " + "{" * n + "A"),
    )
)
def test_einsum_statements(inputs: pathlib.Path, statement: str) -> None:
    with unchanged(inputs):
        code, _, err, seconds = invoke(["einsum", statement, "--shapes", "A=2x2,B=2x2"])
    line = check_contract("einsum", code, err)
    depth = max((len(m) for m in re.findall(r"[({\[]+", statement)), default=0)
    if depth > 100:
        assert code == 2 and ("nested" in line or "limit" in line), line
    assert seconds < 5.0


# -- CSV cells ----------------------------------------------------------------------------------------
HOSTILE_CELLS = st.one_of(
    HOSTILE_NUMBERS,
    st.floats(min_value=-1e3, max_value=1e3).map(repr),
    st.sampled_from(["1e308", "-1e308", "1e-310", "5e-324", "1e300", "1e-300", "0", "-0.0", "NaN"]),
    st.text(alphabet="ab ,;\"\n\r\t|'é", max_size=6),
    st.integers(900, 1200).map(lambda n: "9" * n),
)


def cell_ok(cell: str) -> bool:
    """The oracle for a feature cell: a float of at most 1,000 characters, finite, 0 or in [1e-300, 1e300]."""
    if len(cell) > 1000:
        return False
    try:
        v = float(cell)
    except ValueError:
        return False
    return math.isfinite(v) and (v == 0 or 1e-300 <= abs(v) <= 1e300)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def write_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # quotes any cell holding \r or \n
    writer.writerow(["a", "b", "y"])
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


@HOSTILE
@given(
    rows=st.lists(
        st.tuples(
            HOSTILE_CELLS, HOSTILE_CELLS, st.sampled_from(["0", "1", "yes", "no", "nan", ""])
        ),
        min_size=1,
        max_size=6,
    ),
    command=st.sampled_from(["separate", "logreg"]),
    via_stdin=st.booleans(),
)
def test_csv_cells(
    inputs: pathlib.Path,
    tmp_path_factory: pytest.TempPathFactory,
    rows: list[tuple[str, str, str]],
    command: str,
    via_stdin: bool,
) -> None:
    data = write_csv([list(r) for r in rows])
    folder = tmp_path_factory.mktemp("csv")
    path = folder / "data.csv"
    path.write_bytes(data)
    argv = [command, "-" if via_stdin else str(path), "--delimiter", ","]
    if command == "logreg":
        argv += ["--test-size", "0", "--quiet"]
    with unchanged(folder), unchanged(inputs):
        code, _, err, _ = invoke(argv, stdin=data if via_stdin else b"")
    line = check_contract(command, code, err)
    sample_rows = [r for r in rows if not all(not c.strip() for c in r)]
    bad = [c for r in sample_rows for c in r[:2] if not cell_ok(c)]
    labels = [r[2].strip() for r in sample_rows]
    if all(_is_float(c) for c in labels) and not all(math.isfinite(float(c)) for c in labels):
        bad.append("label")  # numeric labels must be finite
    if bad:
        assert code == 2, (rows, err)
        assert re.search(r"(line|data row) \d+, column '[aby]'", line), line
    elif code == 2:  # the classes, or logreg's scale without --standardize: never a cell complaint
        assert not re.search(r"is not a number|not a finite|outside the", line), line


@HOSTILE
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    rows=st.lists(st.tuples(st.integers(-9, 9), st.integers(-9, 9)), min_size=4, max_size=8),
)
def test_detected_delimiters_are_said(
    tmp_path_factory: pytest.TempPathFactory, delimiter: str, rows: list[tuple[int, int]]
) -> None:
    lines = [delimiter.join(["a", "b", "y"])]
    lines += [delimiter.join([str(a), str(b), str(int(a > 0))]) for a, b in rows]
    assume(len({int(a > 0) for a, _ in rows}) == 2)
    folder = tmp_path_factory.mktemp("delim")
    path = folder / "d.csv"
    path.write_text("\n".join(lines) + "\n")
    code, out, err, _ = invoke(["separate", str(path)])
    check_contract("separate", code, err)
    assert code == 0, err
    first = out.decode().splitlines()[0]
    assert "(a, b); labels: y" in first
    if delimiter != ",":
        shown = "tab" if delimiter == "\t" else repr(delimiter)
        assert first.endswith(f"delimiter {shown} (detected)"), first


# -- output files -------------------------------------------------------------------------------------
def test_outputs_never_destroy_inputs(tmp_path: pathlib.Path) -> None:
    np.save(tmp_path / "a.npy", np.ones((2, 3)))
    np.save(tmp_path / "b.npy", np.ones((3, 2)))
    (tmp_path / "old.npy").write_bytes(b"keep me")
    os.symlink(tmp_path / "a.npy", tmp_path / "link.npy")
    os.link(tmp_path / "b.npy", tmp_path / "hard.npy")
    (tmp_path / "dir.npy").mkdir()
    base = ["einsum", "C = A B", "--npy", f"A={tmp_path / 'a.npy'},B={tmp_path / 'b.npy'}"]
    cases = {
        str(tmp_path / "a.npy"): "is an input",
        str(tmp_path / "a"): "is an input",  # .npy is added
        str(tmp_path / "." / "a.npy"): "is an input",
        str(tmp_path / "link.npy"): "is an input",  # a symlink to an input
        str(tmp_path / "hard.npy"): "is an input",  # the same file by another name
        str(tmp_path / "old.npy"): "exists; pass --force",
        str(tmp_path / "dir.npy"): "is a directory",
        "": "the output name is empty",
    }
    for target, message in cases.items():
        force = ["--force"] if message == "is an input" else []
        with unchanged(tmp_path):
            code, _, err, _ = invoke([*base, "-o", target, *force])
        line = check_contract("einsum", code, err)
        assert code == 2 and message in line, (target, err)
    code, _, err, _ = invoke([*base, "-o", str(tmp_path / "old.npy"), "--force", "--quiet"])
    assert code == 0, err
    np.testing.assert_array_equal(np.load(tmp_path / "old.npy"), np.full((2, 2), 3.0))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "c.npy").write_bytes(b"old")

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", broken)
    code, _, err, _ = invoke(
        ["einsum", "ij->", "--shapes", "A=2x2", "-o", str(tmp_path / "c.npy"), "--force"]
    )
    assert code == 130 and err.strip() == "chainrule einsum: interrupted"
    assert (tmp_path / "c.npy").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["c.npy"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: np.array([{"a": 1}], dtype=object), "holds object data"),
        (lambda: np.array(["ab", "cd"]), "holds <U2 data"),
        (lambda: np.zeros(2, dtype=[("x", "<f8")]), "data; einsum takes numbers"),
        (lambda: np.array(["2020-01-01"], dtype="datetime64[D]"), "holds datetime64[D] data"),
        (lambda: np.array([1.0, np.nan, 2.0]), "nan at index (1,)"),
        (lambda: np.array([1.0, np.inf]), "inf at index (1,)"),
    ],
)
def test_npy_that_is_not_finite_numbers(tmp_path: pathlib.Path, make: object, message: str) -> None:
    arr = make()  # type: ignore[operator]
    np.save(tmp_path / "x.npy", arr, allow_pickle=True)
    with unchanged(tmp_path):
        code, _, err, _ = invoke(["einsum", "i->", "--npy", f"A={tmp_path / 'x.npy'}"])
    line = check_contract("einsum", code, err)
    assert code == 2 and message in line, err


def test_npy_header_declaring_a_huge_array_is_refused_before_reading(
    tmp_path: pathlib.Path,
) -> None:
    text = "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000, 1000000), }"
    pad = -(10 + len(text) + 1) % 64
    header = b"\x93NUMPY\x01\x00" + (len(text) + pad + 1).to_bytes(2, "little")
    (tmp_path / "big.npy").write_bytes(header + (text + " " * pad + "\n").encode())
    code, _, err, seconds = invoke(["einsum", "ij->", "--npy", f"A={tmp_path / 'big.npy'}"])
    line = check_contract("einsum", code, err)
    assert code == 2 and "1,000,000,000,000 elements; the limit is 50,000,000" in line
    assert seconds < 1.0


def test_npy_from_stdin_and_out_to_stdout(tmp_path: pathlib.Path) -> None:
    buffer = io.BytesIO()
    np.save(buffer, np.arange(4.0))
    code, out, err, _ = invoke(
        ["einsum", "i->", "--npy", "A=-", "-o", "-"], stdin=buffer.getvalue()
    )
    assert code == 0 and "result" in err  # the text report moves to stderr
    assert float(np.load(io.BytesIO(out))) == 6.0


# -- the contract's other paths: memory, recursion, warnings, internal errors, Ctrl-C -----------------
@pytest.mark.parametrize(
    ("exc", "code", "text"),
    [
        (MemoryError(), 2, "chainrule hyperplane: error: out of memory"),
        (RecursionError("maximum recursion depth exceeded"), 2, "nested too deeply"),
        (KeyboardInterrupt(), 130, "chainrule hyperplane: interrupted"),
        (OverflowError("int too large to convert to float"), 2, "int too large"),
        (TypeError("unsupported operand"), 2, "internal error (TypeError"),
    ],
)
def test_exceptions_become_one_line(
    monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: int, text: str
) -> None:
    import chainrule.commands.hyperplane as command

    def boom(args: object) -> int:
        raise exc

    monkeypatch.setattr(command, "run", boom)
    got, _, err, _ = invoke(["hyperplane", "--pos", "1", "--neg", "2"])
    assert got == code
    assert len(err.splitlines()) == 1 and text in err and "Traceback" not in err


def test_runtime_warnings_are_one_note_without_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    import warnings

    import chainrule.commands.hyperplane as command

    def noisy(args: object) -> int:
        np.exp(np.array([1000.0, 2000.0]))
        np.log(np.array([-1.0]))
        warnings.warn("a user warning", UserWarning, stacklevel=1)
        return 0

    monkeypatch.setattr(command, "run", noisy)
    code, _, err, _ = invoke(["hyperplane", "--pos", "1", "--neg", "2"])
    assert code == 0
    assert err.splitlines() == [
        "chainrule hyperplane: warning: a user warning",
        "chainrule hyperplane: note: floating-point trouble during the computation "
        "(overflow encountered in exp; invalid value encountered in log)",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    "argv",
    [["einsum", "i->", "--npy", "A=-"], ["separate", "-"], ["logreg", "-", "--label", "y"]],
    ids=["einsum", "separate", "logreg"],
)
def test_ctrl_c_exits_130_with_one_line(argv: list[str]) -> None:
    # The process says "ready" once main() is about to run: from there on, Ctrl-C is main's to handle.
    script = (
        "import sys\nfrom chainrule.cli import main\n"
        "sys.stderr.write('ready\\n'); sys.stderr.flush()\n"
        f"sys.exit(main({argv!r}))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stderr is not None
    proc.stdin.write(b"a,y\n1,0\n")  # a long load: stdin stays open
    proc.stdin.flush()
    assert proc.stderr.readline() == b"ready\n"
    time.sleep(0.5)  # into the imports or the read; either way inside main
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert err.decode().strip() == f"chainrule {argv[0]}: interrupted"
