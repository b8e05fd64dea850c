"""``chainrule hyperplane``: the seed's question 1, the hyperplane that bisects two points, worked.

Example::

    chainrule hyperplane --pos -5,1,3 --neg 2,2,-3

prints the steps (n = x₊ − x₋, the midpoint m, n·(x − m) = 0) and ``f(x) = [-7 -1 6]·x − 9``, then checks
exactly that ``f(x₊) > 0 > f(x₋)`` and ``f(m) = 0``. Exit codes: 0 ok, 1 the check failed, 2 bad input.
"""

from __future__ import annotations

import argparse
from fractions import Fraction

from chainrule.commands._linear_args import (
    accept_negative_vectors,
    parse_vector,
)
from chainrule.linear import bisector_hyperplane
from chainrule.linear._exact import format_number

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


def run(args: argparse.Namespace) -> int:
    x_pos = parse_vector(args.pos, "--pos")
    x_neg = parse_vector(args.neg, "--neg")
    h = bisector_hyperplane(x_pos, x_neg, exact=True)
    mid = [(p + q) / 2 for p, q in zip(x_pos, x_neg, strict=True)]
    f_pos, f_neg, f_mid = h(x_pos), h(x_neg), h(mid)
    print(h.worked)
    ok = f_pos > 0 > f_neg and f_mid == 0
    verdict = "ok" if ok else "FAILED"
    print(
        f"check (exact): f(x₊) = {format_number(f_pos)} > 0, f(x₋) = {format_number(f_neg)} < 0, "
        f"f(m) = {format_number(Fraction(f_mid))}: {verdict}"
    )
    if args.latex:
        print(h.to_latex())
    return 0 if ok else 1
