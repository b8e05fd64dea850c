"""``chainrule generate SET --seed N [--count K | --students roster.csv] [-o DIR]``: randomised variants.

Examples::

    chainrule generate hw2.toml --seed 7 --count 50 -o variants
    chainrule generate hw2.toml --seed 7 --students roster.csv -o variants

Each variant redraws the givens named in its problems' ``[problem.random]`` tables, is solved and
self-tested, and is written as DIR/<id>/set.toml (for the student), key.toml (the answer key, an answers
file) and solutions.html. A student's variant is a pure function of (the set, the student id, the seed).
The roster is a CSV whose first column (or its ``id`` column) holds the student ids.
Exit codes: 0 every variant written, 2 bad input or a variant that fails its self-test.
"""

from __future__ import annotations

import argparse
import csv
import re
from pathlib import Path

from chainrule.problems.errors import FormatError

NAME = "generate"
HELP = "write self-tested randomised variants of a problem set (--count K or --students roster.csv)"
MAX_VARIANTS = 10_000
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}\Z")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from chainrule.commands._options import MAX_SEED, add_force, add_quiet, int_type

    parser.add_argument(
        "set", metavar="SET", help="the problem-set file ('seed' for the embedded set)"
    )
    parser.add_argument(
        "--seed",
        type=int_type("--seed", 0, MAX_SEED),
        required=True,
        metavar="N",
        help="the seed every variant derives from (0 to 2^63-1)",
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument(
        "--count",
        type=int_type("--count", 1, MAX_VARIANTS),
        metavar="K",
        help="K variants: v001, ...",
    )
    who.add_argument("--students", metavar="ROSTER", help="a CSV of student ids: one variant each")
    parser.add_argument(
        "-o",
        "--out",
        metavar="DIR",
        default="variants",
        help="output directory (default: variants)",
    )
    add_force(parser)
    parser.add_argument("--no-reports", action="store_true", help="skip the HTML solutions")
    add_quiet(parser)


def _roster(path: str) -> list[str]:
    from chainrule.problems.schema import read_toml_text

    text = read_toml_text(path)
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if not rows:
        raise FormatError("the roster is empty", file=path)
    col = 0
    header = [c.strip().lower() for c in rows[0]]
    if "id" in header:
        col = header.index("id")
        rows = rows[1:]
    elif not _ID.match(rows[0][0].strip()):
        rows = rows[1:]
    ids = []
    for k, r in enumerate(rows):
        sid = r[col].strip() if col < len(r) else ""
        if not _ID.match(sid):
            raise FormatError(
                f"row {k + 1}: {sid!r} is not a usable student id (letters, digits, . _ -)",
                file=path,
            )
        ids.append(sid)
    if not ids:
        raise FormatError("the roster lists no students", file=path)
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise FormatError(f"student {dup!r} is listed twice", file=path)
    return ids


def run(args: argparse.Namespace) -> int:
    from chainrule._files import check_output, write_atomic
    from chainrule.problems.generate import make_variants
    from chainrule.problems.report import write_report
    from chainrule.problems.schema import read_toml_text
    from chainrule.problems.solve import is_seed, load, seed_text
    from chainrule.problems.tomlw import dumps

    ids = (
        _roster(args.students) if args.students else [f"v{k:03d}" for k in range(1, args.count + 1)]
    )
    if len(ids) > MAX_VARIANTS:
        raise ValueError(f"{len(ids)} students; the limit is {MAX_VARIANTS}")
    pset = load(args.set)
    text = seed_text() if is_seed(args.set) else read_toml_text(args.set)
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a directory")
    inputs = [] if is_seed(args.set) else [args.set]
    if args.students:
        inputs.append(args.students)
    names = ["set.toml", "key.toml", *([] if args.no_reports else ["solutions.html"])]
    # Every target is checked before anything is computed or written.
    for sid in ids:
        for name in names:
            check_output(out / sid / name, force=args.force, inputs=inputs)
    variants = make_variants(pset, ids, args.seed, text)
    for v in variants:
        folder = out / v.id
        write_atomic(folder / "set.toml", dumps(v.data), force=args.force, inputs=inputs)
        write_atomic(folder / "key.toml", dumps(v.key), force=args.force, inputs=inputs)
        if not args.no_reports:
            write_report(
                v.solution, str(folder / "solutions.html"), force=args.force, inputs=inputs
            )
    if not args.quiet:
        print(
            f"{len(variants)} variants of {pset.title!r} (seed {args.seed}), each self-tested, in {out}/"
        )
    return 0
