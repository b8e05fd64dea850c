"""``chainrule separate``: a separating hyperplane for a labelled CSV file, or the certificate that none exists.

Example::

    chainrule separate data.csv --label y [--margin max|any] [--no-verify]

The CSV has a header row; ``--label`` names the label column (the last one when omitted), the other columns
are the coordinates. Two label values are required; the larger one is the positive side. It prints the
hyperplane (in canonical form, min y_i f(x_i) = 1) with its margin and support vectors, or a Gordan
certificate: a point in the convex hulls of both classes. Exit codes: 0 either way, 2 bad input.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from fractions import Fraction

from chainrule.linear import NotSeparable, separating_hyperplane
from chainrule.linear._exact import format_number
from chainrule.linear.datasets import load_csv

NAME = "separate"
HELP = (
    "find a (maximum-margin) separating hyperplane for a labelled CSV file, "
    "or a certificate that none exists"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("csv", help="a CSV file with a header row; one column holds the labels")
    parser.add_argument(
        "--label", default=None, help="the name of the label column (default: the last column)"
    )
    parser.add_argument(
        "--margin",
        choices=("max", "any"),
        default="max",
        help="max: the maximum-margin hyperplane (default); any: any separating one (an LP)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the exact rational verification (it runs by default up to 5,000 points)",
    )


def _named(normal: Sequence[Fraction | float], offset: Fraction | float, names: list[str]) -> str:
    """``f`` written with the file's column names: ``-2·a + 1`` (zero terms left out)."""
    terms = []
    for c, name in zip(normal, names, strict=True):
        if c == 0:
            continue
        text = format_number(abs(c))
        coef = "" if text == "1" else f"{text}·"
        terms.append(("−" if c < 0 else "+", f"{coef}{name}"))
    if offset != 0:
        terms.append(("−" if offset < 0 else "+", format_number(abs(offset))))
    if not terms:
        return "0"
    first_sign, first = terms[0]
    out = ("-" if first_sign == "−" else "") + first
    for sign, t in terms[1:]:
        out += f" {sign} {t}"
    return out


def run(args: argparse.Namespace) -> int:
    X, y, names, target = load_csv(args.csv, target=args.label)
    verify = False if args.no_verify else None
    print(
        f"{args.csv}: {X.shape[0]} points, {X.shape[1]} coordinates ({', '.join(names)}); labels: {target}"
    )
    try:
        h = separating_hyperplane(X, y, margin=args.margin, verify=verify)
    except NotSeparable as exc:
        print(exc.certificate.explain())
        return 0
    print(h.explain())
    print(f"  in the file's columns: f = {_named(h.normal, h.offset, names)}")
    return 0
