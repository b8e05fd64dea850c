r"""``chainrule einsum``: translate a statement to einsum, show the plan, and check the engine against loops.

Examples::

    chainrule einsum "C_{jk} = \sum_i A_{ijk} b_i" --shapes A=4x5x6,b=4
    chainrule einsum "C = A G^T B" --shapes A=3x4,G=5x4,B=5x2
    chainrule einsum "ijk,i->jk" --shapes A=4x5x6,B=4
    chainrule einsum "C = A B" --npy A=a.npy,B=b.npy --out c.npy
    chainrule einsum "C = AG^TB" --shapes A=3x4,G=5x4,B=5x2 --expect "de, fe, fl -> dl"

It prints the spec (subscripts, operands, output), the Σ form (LaTeX and plain text), the path report of
``chainrule.einsum.einsum_path``, and a check: the engine's result against the literal sum evaluated with
Python loops (random data unless ``--npy`` gives arrays). ``--expect`` grades the translation against given
subscripts, up to renaming letters. Exit codes: 0 ok, 1 a check failed, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chainrule.einsum import einsum, einsum_path
from chainrule.einsum.index_notation import (
    IndexSpec,
    loop_einsum,
    loop_iterations,
    spec_from_subscripts,
)
from chainrule.einsum.latex import parse_index_notation

NAME = "einsum"
HELP = (
    "index notation (C_{jk} = \\sum_i A_{ijk} b_i, C = A G^T B) or einsum subscripts: "
    "the spec, the contraction plan, and a check against loops"
)

#: Above this many loop iterations the loop check is skipped (a note says so); ``--max-loop`` changes it.
DEFAULT_MAX_LOOP = 2_000_000

#: The contraction orders ``--optimize`` accepts (``chainrule.einsum.einsum_path``'s names).
OPTIMIZERS = ("auto", "optimal", "greedy", "left")

_SUBSCRIPTS_RE = re.compile(r"[A-Za-z.,\s]*(->[A-Za-z.\s]*)?")
_SHAPE_SEP = re.compile(r"[x×X*]")


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
        help="evaluate the arrays in these .npy files (loaded without pickle)",
    )
    parser.add_argument("--out", metavar="FILE", help="save the result to this .npy file")
    parser.add_argument(
        "--names",
        metavar="A,B,...",
        help="operand names for raw subscripts (default A, B, C, ...)",
    )
    parser.add_argument(
        "--einstein",
        action="store_true",
        help="Einstein's convention: an index repeated on the right is summed without \\sum",
    )
    parser.add_argument(
        "--optimize",
        default="auto",
        help="contraction order: auto (default), optimal, greedy, left (left to right)",
    )
    parser.add_argument(
        "--expect",
        metavar="SUBSCRIPTS",
        help="check that the statement is this contraction, up to renaming letters (e.g. 'ijk, i -> jk')",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random data (default 0)")
    parser.add_argument(
        "--max-loop",
        type=int,
        default=DEFAULT_MAX_LOOP,
        metavar="N",
        help=f"skip the loop check above N iterations (default {DEFAULT_MAX_LOOP:,})",
    )


def read_spec(statement: str, names: str | None = None, *, einstein: bool = False) -> IndexSpec:
    """The spec of a statement, or of raw einsum subscripts (no '=' and only letters, ',', '.', '->')."""
    if "=" not in statement and _SUBSCRIPTS_RE.fullmatch(statement):
        operands = [n.strip() for n in names.split(",")] if names else None
        return spec_from_subscripts(statement, operands)
    if names:
        raise ValueError(
            "--names is only for raw einsum subscripts; a statement names its operands"
        )
    return parse_index_notation(statement, einstein=einstein)


def _pairs(
    values: Sequence[str], option: str, positional: Sequence[str] = ()
) -> list[tuple[str, str]]:
    """``NAME=VALUE`` items; when no item has a name, the values go to ``positional`` names in order."""
    items = [item for value in values for item in value.split(",") if item.strip()]
    if positional and items and not any("=" in item for item in items):
        if len(items) != len(positional):
            raise ValueError(
                f"{option} gives {len(items)} values without names but there are "
                f"{len(positional)} operands ({', '.join(positional)})"
            )
        return [(name, item.strip()) for name, item in zip(positional, items, strict=True)]
    pairs = []
    for item in items:
        name, eq, rest = item.partition("=")
        if not eq or not name.strip():
            raise ValueError(f"bad {option} item {item!r}: expected NAME=VALUE")
        pairs.append((name.strip(), rest.strip()))
    return pairs


def parse_shape(text: str, name: str) -> tuple[int, ...]:
    """``"4x5x6"`` → ``(4, 5, 6)``; ``""`` or ``"()"`` → ``()`` (a scalar).

    Raises:
        ValueError: anything but non-negative integers separated by ``x`` (the message names the operand).
    """
    text = text.strip()
    if text in {"", "()", "scalar"}:
        return ()
    parts = _SHAPE_SEP.split(text)
    if not all(p.strip().isdigit() for p in parts):
        raise ValueError(
            f"bad shape {text!r} for operand {name!r}: expected sizes separated by 'x', like 4x5x6"
        )
    return tuple(int(p) for p in parts)


def _check_known(name: str, spec: IndexSpec, option: str) -> None:
    if name not in spec.operands:
        known = ", ".join(dict.fromkeys(spec.operands))
        raise ValueError(f"unknown operand {name!r} in {option}; the operands are {known}")


def load_npy(path: str, name: str) -> np.ndarray:
    """The array in ``path`` (no pickle).

    Raises:
        OSError: the file cannot be read. ValueError: it is not a plain .npy array.
    """
    p = Path(path)
    if not p.is_file():
        raise OSError(f"operand {name!r}: no such file {path!r}")
    with p.open("rb") as fh:
        magic = fh.read(6)
    # np.load treats any other file as a pickle and would suggest allow_pickle=True, which we never pass.
    if magic != b"\x93NUMPY" and magic[:4] != b"PK\x03\x04":
        raise ValueError(f"operand {name!r}: {path!r} is not a .npy file")
    try:
        arr = np.load(p, allow_pickle=False)
    except ValueError as exc:
        raise ValueError(f"operand {name!r}: cannot load {path!r}: {exc}") from None
    if not isinstance(arr, np.ndarray):
        arr.close()  # an .npz archive keeps its file open
        raise ValueError(f"operand {name!r}: {path!r} holds an archive, not one array")
    return arr


def operand_arrays(
    spec: IndexSpec,
    shape_args: Sequence[str],
    npy_args: Sequence[str],
    seed: int,
) -> tuple[dict[str, Any], dict[str, str]]:
    """One array per distinct operand name, and where each came from ("random" or the file).

    Shapes come from ``--npy`` files, then ``--shapes``, then the statement's declarations
    (``A \\in \\mathbb{R}^{4 \\times 5}``); two sources that disagree are an error.

    Raises:
        ValueError: an unknown name, a malformed shape, a missing shape, or shapes that do not fit the
            subscripts (the message names the operand, and the index with both sizes).
        OSError: a missing .npy file.
    """
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
    arrays: dict[str, Any] = {}
    source: dict[str, str] = {}
    for name, path in _pairs(npy_args, "--npy"):
        _check_known(name, spec, "--npy")
        arr = load_npy(path, name)
        if name in shapes and tuple(arr.shape) != shapes[name]:
            raise ValueError(
                f"operand {name!r}: {path!r} has shape {arr.shape} but "
                f"{'the statement declares' if name in declared else '--shapes says'} {shapes[name]}"
            )
        arrays[name], source[name] = arr, path
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
    loop_iterations(
        spec.subscripts,
        [shapes[n] for n in spec.operands],
        [f"operand {n!r}" for n in spec.operands],
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
    if np.issubdtype(dtype, np.inexact):
        return float(1000 * np.finfo(dtype).eps)
    return 0.0


def check_against_loops(
    spec: IndexSpec, arrays: Mapping[str, Any], result: Any, max_loop: int
) -> tuple[bool | None, str]:
    """(ok, the line to print); ``ok`` is None when the loop evaluation was skipped for its size."""
    ordered = [arrays[n] for n in spec.operands]
    total = loop_iterations(spec.subscripts, [np.shape(a) for a in ordered])
    if total > max_loop:
        return None, (
            f"loop check: skipped, it needs {total:,} iterations (limit {max_loop:,}; "
            "use smaller shapes or --max-loop)"
        )
    expected, bound = loop_einsum(
        spec.subscripts, *ordered, names=[f"operand {n!r}" for n in spec.operands], with_bound=True
    )
    got = np.asarray(result)
    if got.shape != expected.shape:
        return False, f"loop check: FAILED, shape {got.shape} but the loops give {expected.shape}"
    diff = np.abs(got.astype(np.result_type(got, float)) - expected) if got.size else np.zeros(0)
    max_diff = float(diff.max()) if diff.size else 0.0
    # Rounding of any summation order stays below eps times the sum of |terms| (times a safety factor).
    tol = _tolerance(np.result_type(got))
    ok = bool(np.all(diff <= tol * bound + np.finfo(float).tiny)) if diff.size else True
    mark = "ok" if ok else "FAILED"
    return ok, (
        f"loop check: {total:,} iterations, max |engine − loops| = {max_diff:.3g} "
        f"(tolerance {tol:.1g} × Σ|terms|) {mark}"
    )


def run(args: argparse.Namespace) -> int:
    if args.optimize not in OPTIMIZERS:
        raise ValueError(f"unknown --optimize {args.optimize!r}: use {', '.join(OPTIMIZERS)}")
    spec = read_spec(args.statement, args.names, einstein=args.einstein)
    arrays, source = operand_arrays(spec, args.shapes, args.npy, args.seed)
    ordered = [arrays[n] for n in spec.operands]
    print(f"statement:  {args.statement}")
    print(f"subscripts: {spec.subscripts}")
    print(f"operands:   {', '.join(spec.operands)}")
    print(f"output:     {spec.output}")
    print(f"LaTeX:      {spec.to_latex()}")
    print(f"text:       {spec.to_text()}")
    expected_ok = True
    if args.expect is not None:
        expected_ok = spec.equivalent(args.expect)
        verdict = "equivalent ok" if expected_ok else "NOT equivalent FAILED"
        print(f"expected:   {args.expect} → {verdict}")
    print("arrays:")
    for name in dict.fromkeys(spec.operands):
        arr = arrays[name]
        print(f"  {name}: {_shape_text(arr.shape)} {arr.dtype} ({source[name]})")
    print()
    _, info = einsum_path(spec.subscripts, *ordered, optimize=args.optimize)
    print(str(info).rstrip("\n"))
    print()
    result = einsum(spec.subscripts, *ordered, optimize=args.optimize)
    res = np.asarray(result)
    print(f"result {spec.output}: {_shape_text(res.shape)} {res.dtype}")
    if res.size <= 24:
        print(np.array2string(res, precision=6, separator=", "))
    ok, line = check_against_loops(spec, arrays, result, args.max_loop)
    print(line)
    if args.out:
        path = args.out if str(args.out).endswith(".npy") else f"{args.out}.npy"
        try:
            np.save(path, res, allow_pickle=False)
        except OSError as exc:
            raise OSError(f"cannot write --out {path!r}: {exc.strerror or exc}") from None
        print(f"saved {spec.output} to {path}")
    return 1 if ok is False or not expected_ok else 0
