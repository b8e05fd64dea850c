"""``chainrule backprop``: the seed's Q4 network, its chain-rule derivation and a numeric check.

Examples::

    chainrule backprop                         # x = 0.5, default weights, g = tanh
    chainrule backprop --x 1.2 --weights 7,x=0.3,5,7=-0.8 --activation sigmoid
    chainrule backprop --latex                 # the derivation as a LaTeX aligned block
    chainrule backprop --batch 1000 --seed 3   # x is a batch; gradients sum over it
    chainrule backprop --all --json            # every gradient, as JSON

The network is the seed's seven-node DAG (``x → n_7; n_7 → n_5, n_6; n_5, n_6 → n_4; n_4, n_6 → n_3;
n_4 → n_2``) with ``n_i = g(Σ_j w_{i,j} n_j)``, written with plain tensor operations and names, and the
loss ``L = ½ (n_2 − t_2)² + ½ (n_3 − t_3)²``. It prints the derivation of ``∂L/∂x`` (the seed's five
equations; ``--all`` adds the weights), then a table: each derived gradient evaluated from the printed
expressions, from ``backward()``, and by central differences. Numbers are finite and at most 1e300 in
magnitude; a loss that overflows float64 is reported as such. Exit codes: 0 the three agree, 1 they do
not, 2 bad input (one line on stderr), 130 interrupted.
"""

from __future__ import annotations

import argparse
import math
import re

from chainrule.commands._options import (
    add_json,
    add_quiet,
    add_seed,
    check_common,
    float_type,
    given,
    int_type,
    print_json,
    say,
)

NAME = "backprop"
HELP = (
    "the seed's Q4 DAG network: print the chain-rule derivation over its named nodes and check it "
    "against backward() and finite differences"
)

#: The activations (``chainrule.problems.seed.ACTIVATIONS``; here so that --help imports no engine).
ACTIVATION_NAMES = ("sigmoid", "sin", "softplus", "tanh")
#: Bounds: the largest batch, the longest --weights text, the longest --symbol.
MAX_BATCH = 1_000_000
MAX_WEIGHTS_CHARS = 10_000
MAX_SYMBOL_CHARS = 16

_WEIGHT_RE = re.compile(r"\s*([0-9a-z]+\s*,\s*[0-9a-z]+)\s*=\s*([^,=]+?)\s*(?:,|$)")


def _parse_weights(text: str | None) -> dict[str, float]:
    """``"7,x=0.3,5,7=-0.8"`` → the default weights with those two changed.

    Raises:
        ValueError: an unknown weight name, a value that is not a number, or unreadable text.
    """
    from chainrule.problems.seed import DEFAULT_WEIGHTS, WEIGHT_NAMES

    values = dict(zip(WEIGHT_NAMES, DEFAULT_WEIGHTS, strict=True))
    if not text:
        return values
    if len(text) > MAX_WEIGHTS_CHARS:
        raise ValueError(
            f"--weights has {len(text):,} characters; the limit is {MAX_WEIGHTS_CHARS:,}"
        )
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
            values[key] = _weight_value(m.group(2))
        except argparse.ArgumentTypeError as exc:
            raise ValueError(f"--weights: {key}: {exc}") from None
        pos = m.end()
    return values


_weight_value = float_type("a weight")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--x", type=float_type("--x"), default=0.5, metavar="X", help="the input x")
    parser.add_argument(
        "--batch",
        type=int_type("--batch", 1, MAX_BATCH),
        default=None,
        metavar="N",
        help=f"use a batch of N random inputs instead of --x (1 to {MAX_BATCH:,}); gradients sum "
        "over the batch (default: no batch, the single --x)",
    )
    add_seed(parser, "the --batch inputs")
    parser.add_argument(
        "--weights",
        default=None,
        metavar="7,x=0.3,5,7=-0.8,...",
        help="weights w_{i,j} to change from their defaults (default: the seed's weights)",
    )
    parser.add_argument(
        "--activation", choices=ACTIVATION_NAMES, default="tanh", help="the activation g"
    )
    parser.add_argument("--symbol", default="g", help="the symbol printed for the activation")
    parser.add_argument("--all", action="store_true", help="derive the weights' gradients too")
    parser.add_argument("--latex", action="store_true", help="print the derivation as LaTeX")
    parser.add_argument(
        "--rtol",
        type=float_type("--rtol", 0.0, 1.0),
        default=1e-6,
        help="relative tolerance of the check, 0 to 1",
    )
    add_json(parser)
    add_quiet(parser)


def _check_arguments(args: argparse.Namespace) -> None:
    check_common(args)
    if args.batch is not None and given(args, "x"):
        raise ValueError("--x and --batch contradict each other: a batch draws its own inputs")
    if args.batch is None and given(args, "seed"):
        raise ValueError("--seed has no effect without --batch (only the batch is random)")
    if args.latex and (args.json or args.quiet):
        raise ValueError(
            f"--latex prints text; it contradicts --{'json' if args.json else 'quiet'}"
        )
    if given(args, "symbol") and (args.json or args.quiet):
        raise ValueError(
            f"--symbol changes the printed text; it has no effect with --{'json' if args.json else 'quiet'}"
        )
    symbol = args.symbol
    if not symbol or len(symbol) > MAX_SYMBOL_CHARS or not symbol.isprintable() or " " in symbol:
        raise ValueError(
            f"--symbol must be 1 to {MAX_SYMBOL_CHARS} printable characters without spaces, "
            f"got {symbol[:20]!r}"
        )


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from chainrule.problems.seed import check_network, loss_text

    _check_arguments(args)
    weights = _parse_weights(args.weights)
    if args.batch is not None:
        xv = np.random.default_rng(args.seed).normal(size=args.batch)
    else:
        xv = np.asarray(args.x, dtype=float)
    with np.errstate(all="ignore"):
        check = check_network(
            xv, weights, args.activation, args.symbol, all_weights=args.all, rtol=args.rtol
        )
    numbers = [check.loss] + [
        v for r in check.rows for v in (r.derivation, r.backward, r.finite_difference)
    ]
    if not all(math.isfinite(v) for v in numbers):
        raise ValueError(
            f"float64 overflow: with these inputs and weights the loss is {check.loss:g} "
            "(|x| and the weights must keep every n_i and L within float64, about 1e154 for L)"
        )
    say(
        args,
        f"Seed Q4: n_i = {args.symbol}(Σ_j w_{{i,j}} n_j) with {args.symbol} = {args.activation}; "
        f"L = {loss_text()} = {check.loss:.6g}",
    )
    ex = check.explanation
    say(args, ex.latex if args.latex else ex.text)
    # Check: the derivation's numbers against backward and central differences (leaves only).
    say(
        args,
        "",
        check.table(batch=args.batch is not None),
        "check: "
        + ("the derivation, backward() and finite differences agree" if check.ok else "MISMATCH"),
    )
    autodiff_agrees = all(
        abs(r.derivation - r.backward) <= args.rtol * max(abs(r.backward), 1e-8) + 1e-12
        for r in check.rows
    )
    if not check.ok and autodiff_agrees:
        say(
            args,
            "  (the derivation and backward() agree; central differences of step 1e-6 cannot resolve "
            "this loss at these magnitudes: float64 rounding of L exceeds the step's change)",
        )
    if args.json:
        print_json(
            {
                "activation": args.activation,
                "x": None if args.batch is not None else float(args.x),
                "batch": args.batch,
                "weights": weights,
                "loss": check.loss,
                "gradients": [
                    {
                        "name": f"∂L/∂{r.name}",
                        "derivation": r.derivation,
                        "backward": r.backward,
                        "finite_difference": r.finite_difference,
                        "ok": r.ok,
                    }
                    for r in check.rows
                ],
                "derivation_matches_backward": autodiff_agrees,
                "ok": check.ok,
            }
        )
    return 0 if check.ok else 1
