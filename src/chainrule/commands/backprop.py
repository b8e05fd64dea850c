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
from collections.abc import Callable
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.autodiff.explain import explain

NAME = "backprop"
HELP = (
    "the seed's Q4 DAG network: print the chain-rule derivation over its named nodes and check it "
    "against backward() and finite differences"
)

#: The eight weights of the seed network, in forward order, and their default values.
WEIGHT_NAMES = ("7,x", "5,7", "6,7", "4,5", "4,6", "3,4", "3,6", "2,4")
DEFAULT_WEIGHTS = (0.3, -0.8, 0.5, 1.1, -0.4, 0.9, 0.2, -1.3)
ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "tanh": cr.tanh,
    "sigmoid": cr.sigmoid,
    "softplus": cr.softplus,
    "sin": cr.sin,
}
#: Targets of the loss for n_2 and n_3.
TARGETS = (1.0, -0.5)


def seed_network(x: Any, weights: dict[str, Any], activation: str = "tanh") -> dict[str, Any]:
    """Build the seed's network on tensors; returns every named tensor and ``"L"``.

    ``weights`` maps ``"7,x"``... to Tensors (named ``w_{7,x}``...).
    """
    g = ACTIVATIONS[activation]
    w = weights
    n: dict[str, Any] = {"x": x}
    n["n_7"] = g(w["7,x"] * x)
    n["n_5"] = g(w["5,7"] * n["n_7"])
    n["n_6"] = g(w["6,7"] * n["n_7"])
    n["n_4"] = g(w["4,5"] * n["n_5"] + w["4,6"] * n["n_6"])
    n["n_3"] = g(w["3,4"] * n["n_4"] + w["3,6"] * n["n_6"])
    n["n_2"] = g(w["2,4"] * n["n_4"])
    for k, t in n.items():
        t.name = k
    t2, t3 = TARGETS
    n["L"] = (0.5 * (n["n_2"] - t2) ** 2 + 0.5 * (n["n_3"] - t3) ** 2).sum()
    return n


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


def _loss_text() -> str:
    parts = []
    for i, t in zip((2, 3), TARGETS, strict=True):
        parts.append(f"½(n_{i} {'−' if t >= 0 else '+'} {abs(t):g})²")
    return " + ".join(parts)


def _loss_at(x: np.ndarray, w: dict[str, float], activation: str) -> float:
    with cr.no_grad():
        ws = {k: cr.tensor(v) for k, v in w.items()}
        return float(seed_network(cr.tensor(x), ws, activation)["L"].item())


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
    x = cr.tensor(xv, requires_grad=True)
    ws = {k: cr.tensor(v, requires_grad=True, name=f"w_{{{k}}}") for k, v in weights.items()}
    net = seed_network(x, ws, args.activation)
    loss = net["L"]
    wrt = None if args.all else [x]
    ex = explain(loss, wrt=wrt, symbols={args.activation: args.symbol})
    derived = ex.evaluate()
    loss.backward()
    print(
        f"Seed Q4: n_i = {args.symbol}(Σ_j w_{{i,j}} n_j) with {args.symbol} = {args.activation}; "
        f"L = {_loss_text()} = {loss.item():.6g}"
    )
    print(ex.latex if args.latex else ex.text)
    # Check: the derivation's numbers against backward and central differences (leaves only).
    print()
    print(f"{'gradient':<16}{'derivation':>16}{'backward':>16}{'finite diff':>16}  ok")
    ok = True
    eps = 1e-6
    leaves: dict[str, Any] = {"x": x, **{f"w_{{{k}}}": t for k, t in ws.items()}}
    for name, t in leaves.items():
        if name not in derived:
            continue
        d = float(np.sum(derived[name]))
        b = float(np.sum(t.grad.data))
        if name == "x":
            fd = (
                _loss_at(xv + eps, weights, args.activation)
                - _loss_at(xv - eps, weights, args.activation)
            ) / (2 * eps)
        else:
            key = name[3:-1]
            hi = {**weights, key: weights[key] + eps}
            lo = {**weights, key: weights[key] - eps}
            fd = (_loss_at(xv, hi, args.activation) - _loss_at(xv, lo, args.activation)) / (2 * eps)
        scale = max(abs(b), 1e-8)
        good = abs(d - b) <= args.rtol * scale + 1e-12 and abs(fd - b) <= max(1e-5, 1e-4 * scale)
        ok &= good
        label = "∂L/∂x (summed)" if name == "x" and args.batch else f"∂L/∂{name}"
        print(f"{label:<16}{d:>16.8g}{b:>16.8g}{fd:>16.8g}  {'yes' if good else 'NO'}")
    print(
        "check: "
        + ("the derivation, backward() and finite differences agree" if ok else "MISMATCH")
    )
    return 0 if ok else 1
