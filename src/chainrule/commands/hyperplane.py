"""``chainrule hyperplane``: the seed's question 1, the hyperplane that bisects two points, worked.

Examples::

    chainrule hyperplane --pos -5,1,3 --neg 2,2,-3
    chainrule hyperplane --pos=-1/2,0.5 --neg 0,0 --latex
    chainrule hyperplane --pos 1e300,1 --neg 0,2 --json      # exact: 1e-400 and 1e400 are fine too

prints the steps (n = x₊ − x₋, the midpoint m, n·(x − m) = 0) and ``f(x) = [-7 -1 6]·x − 9``, then checks
exactly that ``f(x₊) > 0 > f(x₋)`` and ``f(m) = 0``. Coordinates are integers, decimals or ``p/q``, read
exactly: at most 100 characters and an exponent of ±400 each, 10,000 per point.
Exit codes: 0 ok, 1 the check failed, 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
from fractions import Fraction

from chainrule.commands._linear_args import accept_negative_vectors, parse_vector
from chainrule.commands._options import add_json, add_quiet, check_common, print_json, say

NAME = "hyperplane"
HELP = (
    "the hyperplane through the midpoint of two points, normal to their difference "
    "(worked, exact): --pos -5,1,3 --neg 2,2,-3"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    accept_negative_vectors(parser)
    parser.add_argument(
        "--pos",
        required=True,
        metavar="X1,X2,...",
        help="the point on the positive side, e.g. -5,1,3",
    )
    parser.add_argument(
        "--neg",
        required=True,
        metavar="X1,X2,...",
        help="the point on the negative side, e.g. 2,2,-3",
    )
    parser.add_argument("--latex", action="store_true", help="also print the hyperplane in LaTeX")
    add_json(parser)
    add_quiet(parser)


def _exact(v: object) -> str:
    """An exact value as JSON text: ``"-21/2"``, ``"9"``."""
    return str(v)


def run(args: argparse.Namespace) -> int:
    from chainrule.linear import bisector_hyperplane
    from chainrule.linear._exact import format_number

    check_common(args)
    if args.latex and (args.json or args.quiet):
        raise ValueError(
            f"--latex prints text; it contradicts --{'json' if args.json else 'quiet'}"
        )
    x_pos = parse_vector(args.pos, "--pos")
    x_neg = parse_vector(args.neg, "--neg")
    if len(x_pos) != len(x_neg):
        raise ValueError(f"--pos has {len(x_pos)} coordinates but --neg has {len(x_neg)}")
    h = bisector_hyperplane(x_pos, x_neg, exact=True)
    mid = [(p + q) / 2 for p, q in zip(x_pos, x_neg, strict=True)]
    f_pos, f_neg, f_mid = h(x_pos), h(x_neg), h(mid)
    ok = f_pos > 0 > f_neg and f_mid == 0
    verdict = "ok" if ok else "FAILED"
    say(
        args,
        h.worked,
        f"check (exact): f(x₊) = {format_number(f_pos)} > 0, f(x₋) = {format_number(f_neg)} < 0, "
        f"f(m) = {format_number(Fraction(f_mid))}: {verdict}",
    )
    if args.latex:
        say(args, h.to_latex())
    if args.json:
        print_json(
            {
                "normal": [_exact(v) for v in h.normal],
                "offset": _exact(h.offset),
                "midpoint": [_exact(v) for v in mid],
                "f_pos": _exact(f_pos),
                "f_neg": _exact(f_neg),
                "f_mid": _exact(f_mid),
                "text": str(h),
                "ok": bool(ok),
            }
        )
    return 0 if ok else 1
