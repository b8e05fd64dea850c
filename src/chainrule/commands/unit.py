"""``chainrule unit``: the seed's question 2, weights for a threshold unit from labelled points.

Examples::

    chainrule unit --points "0,0:1 0,-1:1 1,0:0 1,-1:0"
    chainrule unit --points "0,0:1 0,-1:1 1,0:0 1,-1:0" --weights w0=0,w1=-1,w2=0

Each point is ``coordinates:output`` (output 0 or 1), points separated by spaces or ';'. The unit computes
``z = w1·x1 + ... − w0`` and outputs 1 iff ``z ≥ 0`` (``--bias-sign +1`` makes it ``+ w0``; ``--strict``
makes it ``z > 0``). With ``--weights`` it checks them constraint by constraint; without, it writes the
constraints and solves them (maximum margin, small integers), or prints the certificate that no weights
exist. Exit codes: 0 ok, 1 the weights fail a constraint or no weights exist, 2 bad input.
"""

from __future__ import annotations

import argparse
import re
from fractions import Fraction

import numpy as np

from chainrule.commands._linear_args import (
    accept_negative_vectors,
    parse_vector,
)
from chainrule.linear import NotSeparable, ThresholdUnit
from chainrule.linear._exact import as_fraction

NAME = "unit"
HELP = (
    "weights for a threshold unit z = w·x − w0 (output 1 iff z ≥ 0) from labelled points: "
    'solve, or check --weights (--points "0,0:1 0,-1:1 1,0:0 1,-1:0")'
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    accept_negative_vectors(parser)
    parser.add_argument(
        "--points",
        required=True,
        metavar='"X1,X2:OUT ..."',
        help="labelled points: coordinates, a colon, the required output 0 or 1; separated by spaces or ';'",
    )
    parser.add_argument(
        "--weights",
        default=None,
        metavar="w0=..,w1=..,...",
        help="weights to check (every w0..wd), e.g. w0=0,w1=-1,w2=0",
    )
    parser.add_argument(
        "--bias-sign",
        type=int,
        choices=(-1, 1),
        default=-1,
        help="-1: z = w·x − w0 (default, the seed's); +1: z = w·x + w0",
    )
    parser.add_argument("--strict", action="store_true", help="output 1 iff z > 0 (default z ≥ 0)")


def parse_points(text: str) -> tuple[list[list[Fraction]], list[int]]:
    """``"0,0:1 0,-1:1"`` → points and outputs.

    Raises:
        ValueError: a point without ``:output``, an output other than 0/1, a bad coordinate, or points of
            different lengths (each message names the point).
    """
    items = [t for t in re.split(r"[;\s]+", text.strip()) if t]
    if not items:
        raise ValueError('--points is empty: give points such as "0,0:1 1,0:0"')
    points, outputs = [], []
    for k, item in enumerate(items, start=1):
        coords, sep, label = item.rpartition(":")
        if not sep or not coords:
            raise ValueError(
                f"--points: point {k} {item!r} needs the form coordinates:output, e.g. 0,-1:1"
            )
        if label.strip() not in ("0", "1"):
            raise ValueError(
                f"--points: point {k} {item!r} has output {label!r}; outputs are 0 or 1"
            )
        points.append(parse_vector(coords, f"--points point {k}"))
        outputs.append(int(label))
    dims = {len(p) for p in points}
    if len(dims) > 1:
        lengths = ", ".join(f"point {k}: {len(p)}" for k, p in enumerate(points, start=1))
        raise ValueError(f"--points: the points have different numbers of coordinates ({lengths})")
    return points, outputs


def parse_weights(text: str, d: int) -> tuple[list[Fraction], Fraction]:
    """``"w0=0,w1=-1,w2=0"`` → ``([w1, ..., wd], w0)``.

    Raises:
        ValueError: a malformed entry, an unknown or repeated name, a missing weight, or a bad number.
    """
    values: dict[int, Fraction] = {}
    for item in [t for t in re.split(r"[,\s]+", text.strip()) if t]:
        name, sep, value = item.partition("=")
        m = re.fullmatch(r"w(\d+)", name.strip())
        if not sep or m is None:
            raise ValueError(f"--weights: {item!r} should look like w1=-1")
        j = int(m.group(1))
        if j > d:
            raise ValueError(
                f"--weights: {name} is not a weight of a unit with {d} inputs (w0..w{d})"
            )
        if j in values:
            raise ValueError(f"--weights: {name} is given twice")
        try:
            values[j] = as_fraction(value)
        except ValueError:
            raise ValueError(f"--weights: {name}={value!r} is not a number") from None
    missing = [f"w{j}" for j in range(d + 1) if j not in values]
    if missing:
        raise ValueError(
            f"--weights: missing {', '.join(missing)} (a unit with {d} inputs has w0..w{d})"
        )
    return [values[j] for j in range(1, d + 1)], values[0]


def run(args: argparse.Namespace) -> int:
    points, outputs = parse_points(args.points)
    d = len(points[0])
    # Coordinates become float64 (0.1 is its nearest double); the checks are exact on those values.
    X = np.array([[float(v) for v in p] for p in points])
    y = np.array(outputs)
    if args.weights is not None:
        w, w0 = parse_weights(args.weights, d)
        unit = ThresholdUnit(w, w0, bias_sign=args.bias_sign, strict=args.strict)
        table = unit.check(X, y)
        print(table)
        return 0 if table.ok else 1
    blank = ThresholdUnit([0] * d, 0, bias_sign=args.bias_sign, strict=args.strict)
    print(blank.constraints(X, y))
    try:
        unit = ThresholdUnit.fit(X, y, bias_sign=args.bias_sign, strict=args.strict)
    except NotSeparable as exc:
        print("no weights satisfy all the constraints:")
        print(exc.certificate.explain())
        return 1
    table = unit.check(X, y)
    print(f"solved (the maximum-margin direction in small integers): {unit.weights_text()}")
    checked = str(table).split("\n")
    start = next(i for i, line in enumerate(checked) if line.startswith("with "))
    print("\n".join(checked[start:]))
    return 0 if table.ok else 1
