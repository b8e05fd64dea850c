"""``chainrule separate``: a separating hyperplane for a labelled CSV file, or the certificate that none exists.

Examples::

    chainrule separate data.csv --label y
    chainrule separate data.csv --label y --margin any --no-verify
    cat data.tsv | chainrule separate - --delimiter tab --json

The CSV has a header row; ``--label`` names the label column (the last one when omitted), the other columns
are the coordinates; ``-`` reads it from stdin; the delimiter is detected unless ``--delimiter`` gives it.
Two label values are required; the larger one is the positive side. It prints the hyperplane (in canonical
form, min y_i f(x_i) = 1) with its margin and support vectors, or a Gordan certificate: a point in the
convex hulls of both classes. Every cell is finite and 0 or between 1e-300 and 1e300 in magnitude (the
range of the float64 solver); see docs/cli.md for the CSV bounds. Exit codes: 0 a hyperplane or a
certificate (both are answers), 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from chainrule.commands._linear_args import (
    certificate_json,
    check_matrix_range,
    delimiter_note,
    json_value,
    read_labelled_csv,
)
from chainrule.commands._options import (
    add_delimiter,
    add_json,
    add_label,
    add_quiet,
    check_common,
    print_json,
    say,
)

NAME = "separate"
HELP = (
    "find a (maximum-margin) separating hyperplane for a labelled CSV file, "
    "or a certificate that none exists"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "csv",
        metavar="CSV",
        help="a CSV file with a header row ('-' for stdin); one column holds the labels",
    )
    add_label(parser)
    add_delimiter(parser)
    parser.add_argument(
        "--margin",
        choices=("max", "any"),
        default="max",
        help="max: the maximum-margin hyperplane; any: any separating one (an LP)",
    )
    parser.add_argument(
        "--no-verify",
        action="store_true",
        help="skip the exact rational verification (it runs by default up to 5,000 points)",
    )
    add_json(parser)
    add_quiet(parser)


def _format(v: Any) -> str:
    from chainrule.linear._exact import format_number

    return format_number(v)


def _named(normal: Sequence[Fraction | float], offset: Fraction | float, names: list[str]) -> str:
    """``f`` written with the file's column names: ``-2·a + 1`` (zero terms left out)."""
    terms = []
    for c, name in zip(normal, names, strict=True):
        if c == 0:
            continue
        text = _format(abs(c))
        coef = "" if text == "1" else f"{text}·"
        terms.append(("−" if c < 0 else "+", f"{coef}{name}"))
    if offset != 0:
        terms.append(("−" if offset < 0 else "+", _format(abs(offset))))
    if not terms:
        return "0"
    first_sign, first = terms[0]
    out = ("-" if first_sign == "−" else "") + first
    for sign, t in terms[1:]:
        out += f" {sign} {t}"
    return out


def run(args: argparse.Namespace) -> int:
    from chainrule.linear import NotSeparable, separating_hyperplane

    check_common(args)
    data = read_labelled_csv(args.csv, args.label, args.delimiter)
    X, y, names, target = data.X, data.y, data.feature_names, data.target_name
    shown = "stdin" if args.csv == "-" else args.csv
    check_matrix_range(X, names, f"CSV file {shown!r}")
    verify = False if args.no_verify else None
    say(
        args,
        f"{shown}: {X.shape[0]} points, {X.shape[1]} coordinates ({', '.join(names)}); "
        f"labels: {target}{delimiter_note(data)}",
    )
    facts: dict[str, Any] = {
        "input": shown,
        "points": int(X.shape[0]),
        "columns": names,
        "label": target,
        "delimiter": data.delimiter,
    }
    try:
        h = separating_hyperplane(X, y, margin=args.margin, verify=verify)
    except NotSeparable as exc:
        say(args, exc.certificate.explain())
        if args.json:
            print_json(
                {**facts, "separable": False, "certificate": certificate_json(exc.certificate)}
            )
        return 0
    say(args, h.explain(), f"  in the file's columns: f = {_named(h.normal, h.offset, names)}")
    if args.json:
        print_json(
            {
                **facts,
                "separable": True,
                "margin_kind": args.margin,
                "normal": [json_value(v) for v in h.normal],
                "offset": json_value(h.offset),
                "geometric_margin": float(h.geometric_margin),
                "support": [int(i) for i in h.support],
                "classes": {
                    "negative": json_value(h.classes[0]),
                    "positive": json_value(h.classes[1]),
                },
                "verified_exactly": bool(h.verified),
                "text": f"f = {_named(h.normal, h.offset, names)}",
            }
        )
    return 0
