"""``chainrule backprop``: the seed's Q4 network, its chain-rule derivation and a numeric check.

Examples::

    chainrule backprop                         # x = 0.5, default weights, g = tanh
    chainrule backprop --x 1.2 --weights 7,x=0.3,5,7=-0.8 --activation sigmoid
    chainrule backprop --latex                 # the derivation as a LaTeX aligned block
    chainrule backprop --batch 1000 --seed 3   # x is a batch; gradients sum over it

The network is the seed's seven-node DAG (``x → n_7; n_7 → n_5, n_6; n_5, n_6 → n_4; n_4, n_6 → n_3;
n_4 → n_2``) with ``n_i = g(Σ_j w_{i,j} n_j)``, written with plain tensor operations and names, and the
loss ``L = ½ (n_2 − t_2)² + ½ (n_3 − t_3)²``. It prints the derivation of ``∂L/∂x`` (the seed's five
equations; ``--all`` adds the weights), then a table: each derived gradient evaluated from the printed
expressions, from ``backward()``, and by central differences. Exit codes: 0 the three agree, 1 they do
not, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import argparse
import re

import numpy as np

from chainrule.problems.seed import (
    ACTIVATIONS,
    DEFAULT_WEIGHTS,
    WEIGHT_NAMES,
    check_network,
    loss_text,
)

NAME = "backprop"
HELP = (
    "the seed's Q4 DAG network: print the chain-rule derivation over its named nodes and check it "
    "against backward() and finite differences"
)

_WEIGHT_RE = re.compile(r"\s*([0-9a-z]+\s*,\s*[0-9a-z]+)\s*=\s*([^,=]+?)\s*(?:,|$)")


def _parse_weights(text: str | None) -> dict[str, float]:
    """``"7,x=0.3,5,7=-0.8"`` → the default weights with those two changed.

    Raises:
        ValueError: an unknown weight name, a value that is not a number, or unreadable text.
    """
    values = dict(zip(WEIGHT_NAMES, DEFAULT_WEIGHTS, strict=True))
    if not text:
        return values
    pos = 0
    while pos < len(text):
        m = _WEIGHT_RE.match(text, pos)
        if m is None:
            raise ValueError(
                f"--weights: cannot read {text[pos:]!r}; expected e.g. 7,x=0.3,5,7=-0.8"
            )
        key = m.group(1).replace(" ", "")
        if key not in values:
            raise ValueError(
                f"--weights: unknown weight {key!r}; weights are {' '.join(WEIGHT_NAMES)}"
            )
        try:
            values[key] = float(m.group(2))
        except ValueError:
            raise ValueError(f"--weights: {key}={m.group(2)!r} is not a number") from None
        pos = m.end()
    return values


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--x", type=float, default=0.5, help="the input x (default 0.5)")
    parser.add_argument(
        "--batch",
        type=int,
        default=0,
        help="use a batch of this many random inputs instead of --x (gradients sum over the batch)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed for --batch")
    parser.add_argument(
        "--weights",
        default=None,
        metavar="7,x=0.3,5,7=-0.8,...",
        help="weights w_{i,j} to change from their defaults",
    )
    parser.add_argument(
        "--activation", choices=sorted(ACTIVATIONS), default="tanh", help="the activation g"
    )
    parser.add_argument("--symbol", default="g", help="the symbol printed for the activation")
    parser.add_argument("--all", action="store_true", help="derive the weights' gradients too")
    parser.add_argument("--latex", action="store_true", help="print the derivation as LaTeX")
    parser.add_argument(
        "--rtol", type=float, default=1e-6, help="relative tolerance of the check (default 1e-6)"
    )


def run(args: argparse.Namespace) -> int:
    if args.batch < 0:
        raise ValueError(f"--batch must be positive, got {args.batch}")
    weights = _parse_weights(args.weights)
    if args.batch:
        xv = np.random.default_rng(args.seed).normal(size=args.batch)
    else:
        xv = np.asarray(args.x, dtype=float)
    check = check_network(
        xv, weights, args.activation, args.symbol, all_weights=args.all, rtol=args.rtol
    )
    print(
        f"Seed Q4: n_i = {args.symbol}(Σ_j w_{{i,j}} n_j) with {args.symbol} = {args.activation}; "
        f"L = {loss_text()} = {check.loss:.6g}"
    )
    ex = check.explanation
    print(ex.latex if args.latex else ex.text)
    # Check: the derivation's numbers against backward and central differences (leaves only).
    print()
    print(check.table(batch=bool(args.batch)))
    print(
        "check: "
        + ("the derivation, backward() and finite differences agree" if check.ok else "MISMATCH")
    )
    return 0 if check.ok else 1
