"""``chainrule unit``: the seed's question 2, weights for a threshold unit from labelled points.

Examples::

    chainrule unit --points "0,0:1 0,-1:1 1,0:0 1,-1:0"
    chainrule unit --points "0,0:1 0,-1:1 1,0:0 1,-1:0" --weights w0=0,w1=-1,w2=0
    chainrule unit --points "0,0:0;0,1:1;1,0:1;1,1:0" --json     # XOR: the certificate, exit 0

Each point is ``coordinates:output`` (output 0 or 1), points separated by spaces or ';'. The unit computes
``z = w1·x1 + ... − w0`` and outputs 1 iff ``z ≥ 0`` (``--bias-sign +1`` makes it ``+ w0``; ``--strict``
makes it ``z > 0``). With ``--weights`` it checks them constraint by constraint; without, it writes the
constraints and solves them (maximum margin, small integers), or prints the certificate that no weights
exist (an answer, like ``separate``'s). Bounds: 1,000 points of 100 coordinates; each number at most 100
characters with an exponent of ±400; coordinates 0 or between 1e-300 and 1e300 in magnitude (they become
float64 for the solver). Exit codes: 0 ok (solved, or proved impossible), 1 the given weights fail a
constraint, 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import re
from fractions import Fraction
from typing import Any

from chainrule.commands._linear_args import (
    accept_negative_vectors,
    certificate_json,
    check_range,
    check_text,
    json_value,
    parse_vector,
)
from chainrule.commands._options import add_json, add_quiet, check_common, print_json, say

NAME = "unit"
HELP = (
    "weights for a threshold unit z = w·x − w0 (output 1 iff z ≥ 0) from labelled points: "
    'solve, or check --weights (--points "0,0:1 0,-1:1 1,0:0 1,-1:0")'
)

#: The most points, and coordinates per point.
MAX_POINTS = 1_000
MAX_DIM = 100


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
        help="weights to check (every w0..wd), e.g. w0=0,w1=-1,w2=0 (default: solve for them)",
    )
    parser.add_argument(
        "--bias-sign",
        type=int,
        choices=(-1, 1),
        default=-1,
        help="-1: z = w·x − w0 (the seed's); +1: z = w·x + w0",
    )
    parser.add_argument("--strict", action="store_true", help="output 1 iff z > 0 (default z ≥ 0)")
    add_json(parser)
    add_quiet(parser)


def parse_points(text: str) -> tuple[list[list[Fraction]], list[int]]:
    """``"0,0:1 0,-1:1"`` → points and outputs.

    Raises:
        ValueError: a point without ``:output``, an output other than 0/1, a bad coordinate, or points of
            different lengths (each message names the point).
    """
    check_text(text, "--points")
    items = [t for t in re.split(r"[;\s]+", text.strip()) if t]
    if not items:
        raise ValueError('--points is empty: give points such as "0,0:1 1,0:0"')
    if len(items) > MAX_POINTS:
        raise ValueError(f"--points has {len(items):,} points; the limit is {MAX_POINTS:,}")
    points, outputs = [], []
    for k, item in enumerate(items, start=1):
        coords, sep, label = item.rpartition(":")
        if not sep or not coords:
            raise ValueError(
                f"--points: point {k} {_short(item)} needs the form coordinates:output, e.g. 0,-1:1"
            )
        if label.strip() not in ("0", "1"):
            raise ValueError(
                f"--points: point {k} {_short(item)} has output {_short(label)}; outputs are 0 or 1"
            )
        point = parse_vector(coords, f"--points point {k}", MAX_DIM)
        check_range(point, f"--points point {k}")
        points.append(point)
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
    from chainrule.linear._exact import NumberLimitError, as_fraction

    check_text(text, "--weights")
    values: dict[int, Fraction] = {}
    for item in [t for t in re.split(r"[,\s]+", text.strip()) if t]:
        name, sep, value = item.partition("=")
        m = re.fullmatch(r"w(\d{1,6})", name.strip())
        if not sep or m is None:
            raise ValueError(f"--weights: {_short(item)} should look like w1=-1")
        j = int(m.group(1))
        if j > d:
            raise ValueError(
                f"--weights: {name} is not a weight of a unit with {d} inputs (w0..w{d})"
            )
        if j in values:
            raise ValueError(f"--weights: {name} is given twice")
        try:
            values[j] = as_fraction(value)
        except NumberLimitError as exc:
            raise ValueError(f"--weights: {name}: {exc}") from None
        except ValueError:
            raise ValueError(f"--weights: {name}={_short(value)} is not a number") from None
    missing = [f"w{j}" for j in range(d + 1) if j not in values]
    if missing:
        raise ValueError(
            f"--weights: missing {', '.join(missing)} (a unit with {d} inputs has w0..w{d})"
        )
    return [values[j] for j in range(1, d + 1)], values[0]


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _table_json(table: Any) -> list[dict[str, Any]]:
    return [
        {
            "point": [json_value(v) for v in c.point],
            "output": c.output,
            "constraint": c.simplified,
            "z": None if c.value is None else json_value(c.value),
            "holds": c.holds,
        }
        for c in table.constraints
    ]


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from chainrule.linear import NotSeparable, ThresholdUnit

    check_common(args)
    points, outputs = parse_points(args.points)
    d = len(points[0])
    # Coordinates become float64 (0.1 is its nearest double); the checks are exact on those values.
    X = np.array([[float(v) for v in p] for p in points])
    y = np.array(outputs)
    if args.weights is not None:
        w, w0 = parse_weights(args.weights, d)
        unit = ThresholdUnit(w, w0, bias_sign=args.bias_sign, strict=args.strict)
        table = unit.check(X, y)
        say(args, str(table))
        if args.json:
            print_json(
                {
                    "weights": _weights_json(unit),
                    "constraints": _table_json(table),
                    "ok": table.ok,
                }
            )
        return 0 if table.ok else 1
    if len(set(outputs)) < 2:
        raise ValueError(
            f"--points: every point requires output {outputs[0]}; solving needs points of both outputs "
            "(or give --weights to check)"
        )
    blank = ThresholdUnit([0] * d, 0, bias_sign=args.bias_sign, strict=args.strict)
    say(args, str(blank.constraints(X, y)))
    try:
        unit = ThresholdUnit.fit(X, y, bias_sign=args.bias_sign, strict=args.strict)
    except NotSeparable as exc:
        say(args, "no weights satisfy all the constraints:", exc.certificate.explain())
        if args.json:
            print_json(
                {"separable": False, "certificate": certificate_json(exc.certificate), "ok": True}
            )
        return 0
    table = unit.check(X, y)
    say(args, f"solved (the maximum-margin direction in small integers): {unit.weights_text()}")
    checked = str(table).split("\n")
    start = next(i for i, line in enumerate(checked) if line.startswith("with "))
    say(args, "\n".join(checked[start:]))
    if args.json:
        print_json(
            {
                "separable": True,
                "weights": _weights_json(unit),
                "constraints": _table_json(table),
                "ok": table.ok,
            }
        )
    return 0 if table.ok else 1


def _weights_json(unit: Any) -> dict[str, Any]:
    out = {"w0": json_value(unit.w0)}
    out.update({f"w{j + 1}": json_value(v) for j, v in enumerate(unit.weights)})
    return out
