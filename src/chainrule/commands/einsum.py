r"""``chainrule einsum``: translate a statement to einsum, show the plan, and check the engine against loops.

Examples::

    chainrule einsum "C_{jk} = \sum_i A_{ijk} b_i" --shapes A=4x5x6,b=4
    chainrule einsum "C = A G^T B" --shapes A=3x4,G=5x4,B=5x2
    chainrule einsum "ijk,i->jk" --shapes A=4x5x6,B=4
    chainrule einsum "C = A B" --npy A=a.npy,B=b.npy -o c.npy
    chainrule einsum "C = A B" --npy A=-,B=b.npy -o - > c.npy    # A from stdin, C to stdout
    chainrule einsum "C = AG^TB" --shapes A=3x4,G=5x4,B=5x2 --expect "de, fe, fl -> dl" --json

It prints the spec (subscripts, operands, output), the Σ form (LaTeX and plain text), the path report of
``chainrule.einsum.einsum_path``, and a check: the engine's result against the literal sum evaluated with
Python loops (random data of ``--seed`` unless ``--npy`` gives arrays). ``--expect`` grades the translation
against given subscripts, up to renaming letters. Bounds: a statement of 10,000 characters nested 100
deep; 32 dimensions of at most 10^9 each; 50,000,000 elements in any array, the result and the largest
intermediate; 10^11 FLOPs; ``--max-loop`` up to 10^7. Arrays hold numbers (bool, int, float, complex), all
finite. Exit codes: 0 ok, 1 a check failed, 2 bad input or a limit (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from chainrule.commands._options import (
    add_force,
    add_json,
    add_output,
    add_quiet,
    add_seed,
    check_common,
    given,
    int_type,
    print_json,
    say,
)

if TYPE_CHECKING:
    import numpy as np

    from chainrule.einsum.index_notation import IndexSpec

NAME = "einsum"
HELP = (
    "index notation (C_{jk} = \\sum_i A_{ijk} b_i, C = A G^T B) or einsum subscripts: "
    "the spec, the contraction plan, and a check against loops"
)

#: Above this many loop iterations the loop check is skipped (a note says so); ``--max-loop`` changes it.
DEFAULT_MAX_LOOP = 2_000_000
#: The largest ``--max-loop``.
MAX_LOOP = 10**7
#: The contraction orders ``--optimize`` accepts (``chainrule.einsum.einsum_path``'s own names; a copy,
#: so that building the parser imports no NumPy: tests/commands/test_einsum_command.py ties it to
#: ``chainrule.einsum.paths``).
OPTIMIZERS = ("auto", "optimal", "greedy", "branch-1", "branch-2", "branch-all", "left")

#: Bounds on the input: a statement's length and nesting, an option's text, dimensions and sizes.
MAX_STATEMENT_CHARS = 10_000
MAX_NESTING = 100
MAX_OPTION_CHARS = 100_000
MAX_DIMS = 32
MAX_DIM_SIZE = 10**9
MAX_ELEMENTS = 50_000_000
MAX_FLOPS = 10**11

_SUBSCRIPTS_RE = re.compile(r"[A-Za-z.,\s]*(->[A-Za-z.\s]*)?")
_SHAPE_SEP = re.compile(r"[x×X*]")
_OPEN, _CLOSE = "({[", ")}]"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "statement",
        help=r"index notation such as 'C_{jk} = \sum_i A_{ijk} b_i' or einsum subscripts such as 'ijk,i->jk'",
    )
    parser.add_argument(
        "--shapes",
        action="append",
        default=[],
        metavar="NAME=AxBxC,...",
        help=(
            "the shape of each operand (e.g. A=4x5x6,b=4, or 4x5x6,4 in operand order; "
            "'alpha=' for a scalar); random data is drawn"
        ),
    )
    parser.add_argument(
        "--npy",
        action="append",
        default=[],
        metavar="NAME=FILE,...",
        help="evaluate the arrays in these .npy files (loaded without pickle; FILE '-' is stdin)",
    )
    add_output(parser, "save the result to this .npy file ('.npy' is added when missing)")
    add_force(parser)
    parser.add_argument(
        "--names",
        metavar="A,B,...",
        help="operand names for raw subscripts (default A, B, C, ...)",
    )
    parser.add_argument(
        "--einstein",
        action="store_true",
        help="Einstein's convention (statements only): an index repeated on the right is summed "
        "without \\sum",
    )
    parser.add_argument(
        "--optimize",
        default="auto",
        choices=OPTIMIZERS,
        help="contraction order: auto, optimal, greedy, left (left to right)",
    )
    parser.add_argument(
        "--expect",
        metavar="SUBSCRIPTS",
        help="check that the statement is this contraction, up to renaming letters (e.g. 'ijk, i -> jk')",
    )
    add_seed(parser, "the random data (only when some operand is random)")
    parser.add_argument(
        "--max-loop",
        type=int_type("--max-loop", 0, MAX_LOOP),
        default=DEFAULT_MAX_LOOP,
        metavar="N",
        help=f"skip the loop check above N iterations (0 to {MAX_LOOP:,}; default {DEFAULT_MAX_LOOP:,})",
    )
    add_json(parser)
    add_quiet(parser)


def _check_text(text: str, option: str, limit: int = MAX_OPTION_CHARS) -> None:
    if len(text) > limit:
        raise ValueError(f"{option} has {len(text):,} characters; the limit is {limit:,}")


def _check_nesting(statement: str) -> None:
    """Refuse a statement nested deeper than :data:`MAX_NESTING` brackets, before the parser recurses."""
    depth = top = 0
    for ch in statement:
        if ch in _OPEN:
            depth += 1
            top = max(top, depth)
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
    if top > MAX_NESTING:
        raise ValueError(f"the statement is nested {top} brackets deep; the limit is {MAX_NESTING}")


def read_spec(statement: str, names: str | None = None, *, einstein: bool = False) -> IndexSpec:
    """The spec of a statement, or of raw einsum subscripts (no '=' and only letters, ',', '.', '->').

    Raises:
        ValueError: a statement past :data:`MAX_STATEMENT_CHARS` or :data:`MAX_NESTING`, ``--names`` with a
            statement, ``--einstein`` with raw subscripts, or anything the parsers refuse.
    """
    from chainrule.einsum.index_notation import spec_from_subscripts
    from chainrule.einsum.latex import parse_index_notation

    _check_text(statement, "the statement", MAX_STATEMENT_CHARS)
    if "=" not in statement and _SUBSCRIPTS_RE.fullmatch(statement):
        if einstein:
            raise ValueError(
                "--einstein is for index notation; raw subscripts already say what is summed"
            )
        operands = [n.strip() for n in names.split(",")] if names else None
        return spec_from_subscripts(statement, operands)
    if names:
        raise ValueError(
            "--names is only for raw einsum subscripts; a statement names its operands"
        )
    _check_nesting(statement)
    return parse_index_notation(statement, einstein=einstein)


def _pairs(
    values: Sequence[str], option: str, positional: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """``NAME=VALUE`` items; when no item has a name, the values go to ``positional`` names in order."""
    for value in values:
        _check_text(value, option)
    items = [item for value in values for item in value.split(",") if item.strip()]
    if positional and items and not any("=" in item for item in items):
        if len(items) != len(positional):
            raise ValueError(
                f"{option} gives {len(items)} values without names but there are "
                f"{len(positional)} operands ({', '.join(positional)})"
            )
        return [(name, item.strip()) for name, item in zip(positional, items, strict=True)]
    pairs = []
    seen: set[str] = set()
    for item in items:
        name, eq, rest = item.partition("=")
        if not eq or not name.strip():
            raise ValueError(f"bad {option} item {item!r}: expected NAME=VALUE")
        if name.strip() in seen:
            raise ValueError(f"{option} gives operand {name.strip()!r} twice")
        seen.add(name.strip())
        pairs.append((name.strip(), rest.strip()))
    return pairs


def parse_shape(text: str, name: str) -> tuple[int, ...]:
    """``"4x5x6"`` → ``(4, 5, 6)``; ``""`` or ``"()"`` → ``()`` (a scalar).

    Raises:
        ValueError: anything but non-negative integers separated by ``x`` (the message names the operand);
            more than :data:`MAX_DIMS` dimensions, a size above :data:`MAX_DIM_SIZE`, or more than
            :data:`MAX_ELEMENTS` elements.
    """
    text = text.strip()
    if text in {"", "()", "scalar"}:
        return ()
    parts = [p.strip() for p in _SHAPE_SEP.split(text)]
    if not all(p.isascii() and p.isdigit() for p in parts):
        raise ValueError(
            f"bad shape {text[:40]!r} for operand {name!r}: expected sizes separated by 'x', like 4x5x6"
        )
    if len(parts) > MAX_DIMS:
        raise ValueError(f"operand {name!r}: {len(parts)} dimensions; the limit is {MAX_DIMS}")
    for p in parts:
        if len(p) > 10 or int(p) > MAX_DIM_SIZE:
            raise ValueError(
                f"operand {name!r}: a dimension of size {p[:20]}; the limit is {MAX_DIM_SIZE:,}"
            )
    shape = tuple(int(p) for p in parts)
    _check_size(shape, f"operand {name!r}")
    return shape


def _check_size(shape: Sequence[int], what: str) -> None:
    size = 1
    for n in shape:
        size *= n
    if size > MAX_ELEMENTS:
        raise ValueError(f"{what} has {size:,} elements; the limit is {MAX_ELEMENTS:,} per array")


def _check_known(name: str, spec: IndexSpec, option: str) -> None:
    if name not in spec.operands:
        known = ", ".join(dict.fromkeys(spec.operands))
        raise ValueError(f"unknown operand {name!r} in {option}; the operands are {known}")


def _read_stdin(limit: int) -> bytes:
    import sys

    data = sys.stdin.buffer.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"stdin holds more than {limit:,} bytes (the limit of one array)")
    return data


def load_npy(path: str, name: str, stdin: bytes | None = None) -> np.ndarray:
    """The array in ``path`` (``-``: ``stdin``, the bytes read from it), without pickle, within bounds.

    The header is read first: a dtype that is not a number (strings, objects, records, dates) or more than
    :data:`MAX_ELEMENTS` elements is refused before any data is read; NaN and infinities after.

    Raises:
        OSError: the file cannot be read. ValueError: it is not a plain .npy array of finite numbers within
            the bounds.
    """
    import io
    from pathlib import Path

    import numpy as np

    where = "stdin" if path == "-" else repr(path)
    if path == "-":
        fh: Any = io.BytesIO(stdin or b"")
    else:
        p = Path(path)
        if p.is_dir():
            raise ValueError(f"operand {name!r}: {path!r} is a directory, not a .npy file")
        if not p.is_file():
            raise OSError(f"operand {name!r}: no such file {path!r}")
        fh = p.open("rb")
    with fh:
        magic = fh.read(6)
        if magic[:4] == b"PK\x03\x04":
            raise ValueError(f"operand {name!r}: {where} holds an archive, not one array")
        # np.load treats any other file as a pickle and would suggest allow_pickle=True, which we never pass.
        if magic != b"\x93NUMPY":
            raise ValueError(f"operand {name!r}: {where} is not a .npy file")
        fh.seek(0)
        try:
            version = np.lib.format.read_magic(fh)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(fh, max_header_size=10_000)
        except (ValueError, SyntaxError, TypeError) as exc:
            raise ValueError(
                f"operand {name!r}: cannot read the header of {where}: {exc}"
            ) from None
        if dtype.hasobject or dtype.fields is not None or dtype.kind not in "biufc":
            raise ValueError(
                f"operand {name!r}: {where} holds {dtype} data; einsum takes numbers "
                "(bool, int, float, complex)"
            )
        if len(shape) > MAX_DIMS:
            raise ValueError(
                f"operand {name!r}: {where} has {len(shape)} dimensions; the limit is {MAX_DIMS}"
            )
        _check_size(shape, f"operand {name!r} ({where})")
        fh.seek(0)
        try:
            arr = np.load(fh, allow_pickle=False)
        except (ValueError, EOFError) as exc:
            raise ValueError(f"operand {name!r}: cannot load {where}: {exc}") from None
    if arr.dtype.kind in "fc" and arr.size and not np.all(np.isfinite(arr)):
        index = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(
            f"operand {name!r}: {where} holds {arr[index]} at index {index}; "
            "the values must be finite (NaN and infinities are refused)"
        )
    return arr


def operand_arrays(
    spec: IndexSpec,
    shape_args: Sequence[str],
    npy_args: Sequence[str],
    seed: int,
    *,
    optimize: str = "auto",
) -> tuple[dict[str, Any], dict[str, str]]:
    """One array per distinct operand name, and where each came from ("random" or the file).

    Shapes come from ``--npy`` files, then ``--shapes``, then the statement's declarations
    (``A \\in \\mathbb{R}^{4 \\times 5}``); two sources that disagree are an error. The plan's cost and its
    largest intermediate are checked against :data:`MAX_FLOPS` and :data:`MAX_ELEMENTS` before any random
    data is drawn.

    Raises:
        ValueError: an unknown name, a malformed shape, a missing shape, shapes that do not fit the
            subscripts (the message names the operand, and the index with both sizes), or a bound exceeded.
        OSError: a missing .npy file.
    """
    import numpy as np

    from chainrule.einsum import einsum_path
    from chainrule.einsum.index_notation import loop_iterations

    declared = dict(spec.shapes)
    shapes: dict[str, tuple[int, ...]] = {}
    distinct = list(dict.fromkeys(spec.operands))
    for name, text in _pairs(shape_args, "--shapes", distinct):
        _check_known(name, spec, "--shapes")
        shapes[name] = parse_shape(text, name)
        if name in declared and declared[name] != shapes[name]:
            raise ValueError(
                f"operand {name!r}: --shapes gives {shapes[name]} but the statement declares "
                f"{declared[name]}"
            )
    for name, shape in declared.items():
        shapes.setdefault(name, shape)
        _check_size(shape, f"operand {name!r}")
    arrays: dict[str, Any] = {}
    source: dict[str, str] = {}
    npy = _pairs(npy_args, "--npy")
    if sum(path == "-" for _, path in npy) > 1:
        raise ValueError("--npy reads at most one operand from stdin ('-')")
    for name, path in npy:
        _check_known(name, spec, "--npy")
        stdin = _read_stdin(MAX_ELEMENTS * 16 + 10_000) if path == "-" else None
        arr = load_npy(path, name, stdin)
        if name in shapes and tuple(arr.shape) != shapes[name]:
            raise ValueError(
                f"operand {name!r}: {'stdin' if path == '-' else repr(path)} has shape {arr.shape} but "
                f"{'the statement declares' if name in declared else '--shapes says'} {shapes[name]}"
            )
        arrays[name], source[name] = arr, ("stdin" if path == "-" else path)
        shapes[name] = tuple(arr.shape)
    for name, term in zip(spec.operands, spec.inputs, strict=True):
        if not term:  # a scalar needs no --shapes
            shapes.setdefault(name, ())
    for name in dict.fromkeys(spec.operands):
        if name not in shapes:
            raise ValueError(
                f"no shape for operand {name!r}: give --shapes {name}=... or --npy {name}=FILE"
            )
    # Every occurrence must fit its term, and every index must have one size (size 1 broadcasts).
    ordered_shapes = [shapes[n] for n in spec.operands]
    loop_iterations(spec.subscripts, ordered_shapes, [f"operand {n!r}" for n in spec.operands])
    _, info = einsum_path(spec.subscripts, *ordered_shapes, optimize=optimize)
    if info.largest_intermediate > MAX_ELEMENTS:
        raise ValueError(
            f"the contraction makes an array of {info.largest_intermediate:,} elements; the limit is "
            f"{MAX_ELEMENTS:,}"
        )
    if info.opt_cost > MAX_FLOPS:
        raise ValueError(
            f"the contraction costs {info.opt_cost:.3g} FLOPs; the limit is {MAX_FLOPS:.0e}"
        )
    rng = np.random.default_rng(seed)
    for name in dict.fromkeys(spec.operands):
        if name not in arrays:
            arrays[name] = rng.standard_normal(shapes[name])
            source[name] = "random"
    return arrays, source


def _shape_text(shape: Sequence[int]) -> str:
    return "×".join(str(n) for n in shape) if len(shape) else "scalar"


def _tolerance(dtype: np.dtype) -> float:
    import numpy as np

    if np.issubdtype(dtype, np.inexact):
        return float(1000 * np.finfo(dtype).eps)
    return 0.0


def check_against_loops(
    spec: IndexSpec, arrays: Mapping[str, Any], result: Any, max_loop: int
) -> tuple[bool | None, str, dict[str, Any]]:
    """(ok, the line to print, the facts for --json); ``ok`` is None when the loop evaluation was skipped."""
    import numpy as np

    from chainrule.einsum.index_notation import loop_einsum, loop_iterations

    ordered = [arrays[n] for n in spec.operands]
    total = loop_iterations(spec.subscripts, [np.shape(a) for a in ordered])
    if total > max_loop:
        return (
            None,
            (
                f"loop check: skipped, it needs {total:,} iterations (limit {max_loop:,}; "
                "use smaller shapes or --max-loop)"
            ),
            {"ok": None, "iterations": total, "skipped": True, "max_loop": max_loop},
        )
    expected, bound = loop_einsum(
        spec.subscripts, *ordered, names=[f"operand {n!r}" for n in spec.operands], with_bound=True
    )
    got = np.asarray(result)
    if got.shape != expected.shape:
        line = f"loop check: FAILED, shape {got.shape} but the loops give {expected.shape}"
        return False, line, {"ok": False, "iterations": total, "skipped": False}
    with np.errstate(all="ignore"):
        diff = (
            np.abs(got.astype(np.result_type(got, float)) - expected) if got.size else np.zeros(0)
        )
        max_diff = float(diff.max()) if diff.size else 0.0
        # Rounding of any summation order stays below eps times the sum of |terms| (times a safety factor).
        tol = _tolerance(np.result_type(got))
        ok = bool(np.all(diff <= tol * bound + np.finfo(float).tiny)) if diff.size else True
    mark = "ok" if ok else "FAILED"
    line = (
        f"loop check: {total:,} iterations, max |engine − loops| = {max_diff:.3g} "
        f"(tolerance {tol:.1g} × Σ|terms|) {mark}"
    )
    facts = {
        "ok": ok,
        "iterations": total,
        "skipped": False,
        "max_difference": max_diff,
        "tolerance": tol,
    }
    return ok, line, facts


def _out_path(out: str | None) -> str | None:
    """The --out file: ``.npy`` appended when missing; an empty name or a directory refused first."""
    import os

    if out is None or out == "-":
        return out
    if not out.strip():
        raise ValueError("--out: the output name is empty")
    if out.endswith(("/", os.sep)) or os.path.isdir(out):
        raise ValueError(f"--out: {out} is a directory; give a file name")
    return out if out.endswith(".npy") else f"{out}.npy"


def _check_arguments(args: argparse.Namespace) -> None:
    check_common(args)
    for option, value in (("--names", args.names), ("--expect", args.expect)):
        if value is not None:
            _check_text(value, option)


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from chainrule.einsum import einsum, einsum_path

    _check_arguments(args)
    spec = read_spec(args.statement, args.names, einstein=args.einstein)
    npy_inputs = [path for _, path in _pairs(args.npy, "--npy")]
    out_path = _out_path(args.out)
    if out_path is not None:
        from chainrule.commands._output import output_target

        output_target(out_path, force=args.force, inputs=npy_inputs)  # before any work
    arrays, source = operand_arrays(spec, args.shapes, args.npy, args.seed, optimize=args.optimize)
    if given(args, "seed") and "random" not in source.values():
        raise ValueError("--seed has no effect: every operand comes from --npy")
    ordered = [arrays[n] for n in spec.operands]
    facts: dict[str, Any] = {
        "statement": args.statement,
        "subscripts": spec.subscripts,
        "operands": list(spec.operands),
        "output": spec.output,
        "latex": spec.to_latex(),
        "text": spec.to_text(),
    }
    say(
        args,
        f"statement:  {args.statement}",
        f"subscripts: {spec.subscripts}",
        f"operands:   {', '.join(spec.operands)}",
        f"output:     {spec.output}",
        f"LaTeX:      {spec.to_latex()}",
        f"text:       {spec.to_text()}",
    )
    expected_ok = True
    if args.expect is not None:
        expected_ok = spec.equivalent(args.expect)
        verdict = "equivalent ok" if expected_ok else "NOT equivalent FAILED"
        say(args, f"expected:   {args.expect} → {verdict}")
        facts["expected"] = {"subscripts": args.expect, "equivalent": expected_ok}
    say(args, "arrays:")
    facts["arrays"] = {}
    for name in dict.fromkeys(spec.operands):
        arr = arrays[name]
        say(args, f"  {name}: {_shape_text(arr.shape)} {arr.dtype} ({source[name]})")
        facts["arrays"][name] = {
            "shape": list(arr.shape),
            "dtype": str(arr.dtype),
            "source": source[name],
        }
    _, info = einsum_path(spec.subscripts, *ordered, optimize=args.optimize)
    say(args, "", str(info).rstrip("\n"), "")
    facts["path"] = {
        "path": [list(step) for step in info.path],
        "naive_flops": info.naive_cost,
        "optimized_flops": info.opt_cost,
        "largest_intermediate": info.largest_intermediate,
    }
    result = einsum(spec.subscripts, *ordered, optimize=args.optimize)
    res = np.asarray(result)
    say(args, f"result {spec.output}: {_shape_text(res.shape)} {res.dtype}")
    facts["result"] = {"shape": list(res.shape), "dtype": str(res.dtype)}
    if res.size <= 24:
        say(args, np.array2string(res, precision=6, separator=", "))
        if res.dtype.kind in "biuf":
            facts["result"]["values"] = res.tolist()
    ok, line, loop_facts = check_against_loops(spec, arrays, result, args.max_loop)
    say(args, line)
    facts["loop_check"] = loop_facts
    if out_path is not None:
        import io

        from chainrule.commands._output import write_output

        buffer = io.BytesIO()
        np.save(buffer, res, allow_pickle=False)
        written = write_output(out_path, buffer.getvalue(), force=args.force, inputs=npy_inputs)
        if written != "-":
            say(args, f"saved {spec.output} to {written}")
        facts["out"] = written
    code = 1 if ok is False or not expected_ok else 0
    facts["ok"] = code == 0
    if args.json:
        print_json(facts)
    return code
