"""The seed problem set (``shared/seeds/000_b0c38493fd779bb9.txt``): solve each question and check it.

Each question is answered by the library's own engines and checked independently:

- Q1 the bisector hyperplane, in exact rational arithmetic (both points on their side, the midpoint on
  the plane);
- Q2 the threshold unit: the seed's weights checked constraint by constraint, and weights solved for;
- Q3 the log-sigmoid identities by autodiff at many points (±800 included) and the logistic-regression
  gradient ``Σ x_i (h(x_i) − y_i)`` against autodiff;
- Q4 the seven-node DAG network: the chain-rule derivation over its named nodes, checked against
  ``backward()`` and central differences;
- Q5 the five index-notation statements: their einsum specs against the seed's answers, and the engine
  against the literal loop sum.

``seed_network`` builds the Q4 network on tensors; ``chainrule backprop`` uses it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

import chainrule as cr
from chainrule.einsum.index_notation import loop_einsum
from chainrule.linear import ThresholdUnit, bisector_hyperplane

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


# -- the report ----------------------------------------------------------------------------------------


@dataclass
class Answer:
    """One solved question: its title, the worked text, and whether its check passed."""

    question: str
    text: str
    ok: bool


@dataclass
class SeedReport:
    """The answers to the seed set, in order; ``text`` is the printable report."""

    answers: list[Answer] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(a.ok for a in self.answers)

    @property
    def text(self) -> str:
        parts = []
        for a in self.answers:
            mark = "ok" if a.ok else "FAILED"
            parts.append(f"== {a.question} [check: {mark}]\n{a.text}")
        verdict = "all checks passed" if self.ok else "SOME CHECKS FAILED"
        return "\n\n".join(parts) + f"\n\n{len(self.answers)} questions, {verdict}."


def _q1() -> Answer:
    x_pos, x_neg = (-5, 1, 3), (2, 2, -3)
    h = bisector_hyperplane(x_pos, x_neg)
    midpoint = [Fraction(a + b, 2) for a, b in zip(x_pos, x_neg, strict=True)]
    f_pos, f_neg, f_mid = h.decision_exact([x_pos, x_neg, midpoint])
    ok = f_pos > 0 > f_neg and f_mid == 0 and f_pos == -f_neg
    text = f"{h.worked}\ncheck (exact): f(x₊) = {f_pos} > 0, f(x₋) = {f_neg} < 0, f(m) = {f_mid}"
    return Answer("Q1 a hyperplane that separates x₊ = (−5, 1, 3) from x₋ = (2, 2, −3)", text, ok)


def _q2() -> Answer:
    X = [[0, 0], [0, -1], [1, 0], [1, -1]]
    y = [1, 1, 0, 0]
    given = ThresholdUnit([-1, 0], 0)
    table = given.check(X, y)
    solved = ThresholdUnit.fit(X, y)
    solved_table = solved.check(X, y)
    text = f"the seed's weights:\n{table}\n\nweights solved for:\n{solved_table}"
    return Answer("Q2 weights for a threshold unit", text, table.ok and solved_table.ok)


def _q3() -> Answer:
    a = np.concatenate([np.linspace(-800.0, 800.0, 81), [-30.0, -1e-3, 0.0, 1e-3, 30.0]])
    at = cr.tensor(a, requires_grad=True)
    d_log_s = cr.grad(lambda t: cr.log_sigmoid(t).sum())(at).data
    d_log_1ms = cr.grad(lambda t: cr.log_sigmoid(-t).sum())(at).data
    s = cr.sigmoid(cr.tensor(a)).data
    err1 = float(np.max(np.abs(d_log_s - (1 - s))))
    err2 = float(np.max(np.abs(d_log_1ms - (-s))))
    finite = bool(np.all(np.isfinite(d_log_s)) and np.all(np.isfinite(d_log_1ms)))

    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 4))
    y = (rng.random(50) < 0.5).astype(float)
    w0 = rng.normal(size=4)

    def nll(w: Any) -> Any:
        z = cr.tensor(X) @ w
        return -(cr.tensor(y) * cr.log_sigmoid(z) + (1 - cr.tensor(y)) * cr.log_sigmoid(-z)).sum()

    auto = cr.grad(nll)(cr.tensor(w0)).data
    h = 1 / (1 + np.exp(-(X @ w0)))
    analytic = X.T @ (h - y)
    err3 = float(np.max(np.abs(auto - analytic)))
    ok = finite and err1 < 1e-12 and err2 < 1e-12 and err3 < 1e-10
    text = (
        "d log s(a)/da = 1 − s(a) and d log(1 − s(a))/da = −s(a):\n"
        f"  autodiff at {a.size} points in [−800, 800]: max |error| {err1:.1e} and {err2:.1e}, "
        f"all finite: {finite}\n"
        "∇_w L = Σ_i x_i (h(x_i) − y_i) with L = −Σ_i [y_i log h(x_i) + (1 − y_i) log(1 − h(x_i))]:\n"
        f"  against autodiff on 50 random points in 4 dimensions: max |error| {err3:.1e}"
    )
    return Answer("Q3 logistic regression: the log-sigmoid identities and the gradient", text, ok)


def _q4() -> Answer:
    check = check_network(0.5)
    text = (
        f"n_i = g(Σ_j w_{{i,j}} n_j), L = {loss_text()}, x = 0.5, g = tanh\n"
        f"{check.explanation.text}\n\n{check.table()}"
    )
    return Answer("Q4 back-propagation through the seven-node DAG network", text, check.ok)


#: The seed's five index-notation statements and the einsum answers it gives for them.
SEED_EINSUM = (
    (r"C_{jk} = \sum_i A_{ijk} b_i", "ijk, i -> jk", ("A", "b")),
    (r"A_{ik} = \sum_{j,l} A_{ijkl}", "ijkl -> ik", ("A",)),
    (r"A_{ki} = \sum_{j,l} A_{ijkl}", "ijkl -> ki", ("A",)),
    (r"C_i = \sum_{j,k} A_{ijk} A_{ijk}", "ijk, ijk -> i", ("A", "A")),
    (r"C = A G^T B", "de, fe, fl -> dl", ("A", "G", "B")),
)


def _q5() -> Answer:
    rng = np.random.default_rng(5)
    lines = []
    ok = True
    for statement, answer, names in SEED_EINSUM:
        spec = cr.parse_index_notation(statement)
        terms = spec.subscripts.split("->")[0].split(",")
        # One size per index letter, so every operand (and a repeated one) gets consistent shapes.
        letters = sorted(set("".join(terms)))
        size = {c: 2 + k % 4 for k, c in enumerate(letters)}
        arrays = {
            name: rng.normal(size=tuple(size[c] for c in term))
            for name, term in zip(spec.operands, terms, strict=True)
        }
        same = spec.equivalent(answer) and spec.operands == names
        ops = [arrays[n] for n in spec.operands]
        fast = cr.einsum(spec.subscripts, *ops)
        slow = loop_einsum(spec.subscripts, *ops)
        err = float(np.max(np.abs(np.asarray(fast) - slow)))
        good = same and err < 1e-12
        ok &= good
        lines.append(
            f"{statement}\n  einsum: {spec.subscripts!r} on [{', '.join(spec.operands)}]"
            f" (seed: {answer!r}, equivalent: {same}); engine vs loops: max |error| {err:.1e}"
        )
    return Answer("Q5 index notation as einsum", "\n".join(lines), ok)


def seed_report() -> SeedReport:
    """Solve and check every seed question."""
    return SeedReport([_q1(), _q2(), _q3(), _q4(), _q5()])
