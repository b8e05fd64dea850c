"""The seed's Q4 network on tensors, for ``chainrule backprop``: its derivation, checked three ways.

The seed problem set itself is the TOML file ``data/seed.toml`` (solved by :mod:`chainrule.problems.solve`);
this module keeps the network written with plain tensor operations and names, whose chain-rule derivation
(``chainrule.explain``) is checked against ``backward()`` and central differences.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import chainrule as cr

# -- the Q4 network ------------------------------------------------------------------------------------

#: The eight weights of the seed network, in forward order, and their default values.
WEIGHT_NAMES = ("7,x", "5,7", "6,7", "4,5", "4,6", "3,4", "3,6", "2,4")
DEFAULT_WEIGHTS = (0.3, -0.8, 0.5, 1.1, -0.4, 0.9, 0.2, -1.3)
#: Activations the network may use for g.
ACTIVATIONS: dict[str, Callable[[Any], Any]] = {
    "tanh": cr.tanh,
    "sigmoid": cr.sigmoid,
    "softplus": cr.softplus,
    "sin": cr.sin,
}
#: Targets of the loss for n_2 and n_3: L = ½(n_2 − t_2)² + ½(n_3 − t_3)².
TARGETS = (1.0, -0.5)


def seed_network(x: Any, weights: dict[str, Any], activation: str = "tanh") -> dict[str, Any]:
    """Build the seed's Q4 network on tensors; returns every named tensor and ``"L"``.

    ``x → n_7; n_7 → n_5, n_6; n_5, n_6 → n_4; n_4, n_6 → n_3; n_4 → n_2`` with
    ``n_i = g(Σ_j w_{i,j} n_j)``, written with plain tensor operations, and
    ``L = Σ ½(n_2 − t_2)² + ½(n_3 − t_3)²`` (summed over a batch of x).

    Args:
        x: a Tensor, scalar or a batch of shape ``(n,)``.
        weights: ``"7,x"``, ``"5,7"``, … (``WEIGHT_NAMES``) to Tensors.
        activation: a key of ``ACTIVATIONS``.

    Raises:
        KeyError: an unknown activation or a missing weight.
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


def loss_text(symbol: str = "n") -> str:
    """The loss as printed: ``½(n_2 − 1)² + ½(n_3 + 0.5)²``."""
    parts = []
    for i, t in zip((2, 3), TARGETS, strict=True):
        parts.append(f"½(n_{i} {'−' if t >= 0 else '+'} {abs(t):g})²")
    return " + ".join(parts)


@dataclass
class GradientRow:
    """One checked gradient of the Q4 network: from the derivation, ``backward()`` and differences."""

    name: str
    derivation: float
    backward: float
    finite_difference: float
    ok: bool


@dataclass
class NetworkCheck:
    """The Q4 network solved: its derivation, loss value and the checked gradients."""

    explanation: Any
    loss: float
    rows: list[GradientRow]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and all(r.ok for r in self.rows)

    def table(self, batch: bool = False) -> str:
        """The check as a text table, one row per gradient."""
        lines = [f"{'gradient':<16}{'derivation':>16}{'backward':>16}{'finite diff':>16}  ok"]
        for r in self.rows:
            label = "∂L/∂x (summed)" if r.name == "x" and batch else f"∂L/∂{r.name}"
            lines.append(
                f"{label:<16}{r.derivation:>16.8g}{r.backward:>16.8g}"
                f"{r.finite_difference:>16.8g}  {'yes' if r.ok else 'NO'}"
            )
        return "\n".join(lines)


def _network_loss(x: np.ndarray, weights: dict[str, float], activation: str) -> float:
    with cr.no_grad():
        ws = {k: cr.tensor(v) for k, v in weights.items()}
        return float(seed_network(cr.tensor(x), ws, activation)["L"].item())


def check_network(
    x: Any,
    weights: dict[str, float] | None = None,
    activation: str = "tanh",
    symbol: str = "g",
    *,
    all_weights: bool = False,
    rtol: float = 1e-6,
) -> NetworkCheck:
    """Derive ``∂L/∂x`` (and the weights' gradients with ``all_weights``) and check every number.

    The derivation's equations are evaluated with the recorded values and compared with ``backward()``
    (relative tolerance ``rtol``) and with central differences of step 1e-6 (tolerance 1e-4 relative).

    Args:
        x: a float or a 1-D batch.
        weights: ``WEIGHT_NAMES`` to floats; missing ones take ``DEFAULT_WEIGHTS``.

    Raises:
        KeyError: an unknown weight name or activation.
    """
    values = dict(zip(WEIGHT_NAMES, DEFAULT_WEIGHTS, strict=True))
    for key, v in (weights or {}).items():
        if key not in values:
            raise KeyError(f"unknown weight {key!r}; weights are {' '.join(WEIGHT_NAMES)}")
        values[key] = float(v)
    xv = np.asarray(x, dtype=float)
    xt = cr.tensor(xv, requires_grad=True)
    ws = {k: cr.tensor(v, requires_grad=True, name=f"w_{{{k}}}") for k, v in values.items()}
    loss = seed_network(xt, ws, activation)["L"]
    ex = cr.explain(loss, wrt=None if all_weights else [xt], symbols={activation: symbol})
    derived = ex.evaluate()
    loss.backward()
    eps = 1e-6
    rows = []
    leaves: dict[str, Any] = {"x": xt, **{f"w_{{{k}}}": t for k, t in ws.items()}}
    for name, t in leaves.items():
        if name not in derived:
            continue
        d = float(np.sum(derived[name]))
        b = float(np.sum(t.grad.data))
        if name == "x":
            hi_x, lo_x, hi_w, lo_w = xv + eps, xv - eps, values, values
        else:
            key = name[3:-1]
            hi_x = lo_x = xv
            hi_w = {**values, key: values[key] + eps}
            lo_w = {**values, key: values[key] - eps}
        fd = (_network_loss(hi_x, hi_w, activation) - _network_loss(lo_x, lo_w, activation)) / (
            2 * eps
        )
        scale = max(abs(b), 1e-8)
        ok = abs(d - b) <= rtol * scale + 1e-12 and abs(fd - b) <= max(1e-5, 1e-4 * scale)
        rows.append(GradientRow(name, d, b, fd, ok))
    return NetworkCheck(ex, float(loss.item()), rows)
