"""cr.explain: the chain-rule derivation over named tensors (the seed's Q4 and other graphs)."""

from __future__ import annotations

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.explain import Explanation, explain

WEIGHTS = ["7,x", "5,7", "6,7", "4,5", "4,6", "3,4", "3,6", "2,4"]


def seed_network(x_value, weights, loss="squares"):
    """The seed's seven-node network, written with plain tensor ops and names."""
    x = cr.tensor(x_value, requires_grad=True, name="x")
    w = {
        k: cr.tensor(v, requires_grad=True, name=f"w_{{{k}}}")
        for k, v in zip(WEIGHTS, weights, strict=False)
    }
    g = cr.tanh
    n7 = g(w["7,x"] * x)
    n7.name = "n_7"
    n5 = g(w["5,7"] * n7)
    n5.name = "n_5"
    n6 = g(w["6,7"] * n7)
    n6.name = "n_6"
    n4 = g(w["4,5"] * n5 + w["4,6"] * n6)
    n4.name = "n_4"
    n3 = g(w["3,4"] * n4 + w["3,6"] * n6)
    n3.name = "n_3"
    n2 = g(w["2,4"] * n4)
    n2.name = "n_2"
    L = ((n2 - 1.0) ** 2 + (n3 + 0.5) ** 2).sum() if loss == "squares" else (n2 * n3).sum()
    return x, w, L


SEED_EQUATIONS = {
    "n_4": [
        ("n_2", "g'(w_{2,4} n_4) w_{2,4}"),
        ("n_3", "g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,4}"),
    ],
    "n_5": [("n_4", "g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,5}")],
    "n_6": [
        ("n_4", "g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,6}"),
        ("n_3", "g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,6}"),
    ],
    "n_7": [("n_5", "g'(w_{5,7} n_7) w_{5,7}"), ("n_6", "g'(w_{6,7} n_7) w_{6,7}")],
    "x": [("n_7", "g'(w_{7,x} x) w_{7,x}")],
}

RNG_WEIGHTS = [0.3, -0.8, 0.5, 1.1, -0.4, 0.9, 0.2, -1.3]


def test_seed_q4_five_equations_term_for_term():
    x, _w, L = seed_network(0.7, RNG_WEIGHTS)
    ex = explain(L, wrt=[x], symbols={"tanh": "g"})
    assert [eq.node for eq in ex.equations] == ["n_2", "n_3", "n_4", "n_5", "n_6", "n_7", "x"]
    assert [eq.given for eq in ex.equations] == [True, True] + [False] * 5
    for node, expected in SEED_EQUATIONS.items():
        got = [(c, local.text(ex.symbols)) for c, local in ex.terms[node]]
        assert got == expected, node
        assert [(c, str(local)) for c, local in ex.terms[node]] == expected
        assert all(t.elementwise for t in ex.terms[node])


def test_seed_q4_text_lines():
    _x, _w, L = seed_network(0.7, RNG_WEIGHTS)
    text = explain(L, wrt=["x"], symbols={"tanh": "g"}).text
    lines = [ln.strip() for ln in text.splitlines()]
    assert "∂L/∂n_4 = ∂L/∂n_2 · ∂n_2/∂n_4 + ∂L/∂n_3 · ∂n_3/∂n_4" in lines
    assert (
        "= ∂L/∂n_2 · g'(w_{2,4} n_4) w_{2,4} + ∂L/∂n_3 · g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,4}"
        in lines
    )
    assert "= ∂L/∂n_4 · g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,5}" in lines
    assert (
        "= ∂L/∂n_4 · g'(w_{4,5} n_5 + w_{4,6} n_6) w_{4,6} + ∂L/∂n_3 · g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,6}"
        in lines
    )
    assert "= ∂L/∂n_5 · g'(w_{5,7} n_7) w_{5,7} + ∂L/∂n_6 · g'(w_{6,7} n_7) w_{6,7}" in lines
    assert "∂L/∂x = ∂L/∂n_7 · ∂n_7/∂x" in lines
    assert "= ∂L/∂n_7 · g'(w_{7,x} x) w_{7,x}" in lines
    assert lines[0] == "Given (computed directly from L): ∂L/∂n_2, ∂L/∂n_3"
    # Simplified: no unit factors, no zero terms.
    for bad in (r"(?<![\d.])1 ·", r"· 1(?![\d.])", r"\+ 0(?![\d.])", r"(?<![\d.])1 ∂"):
        assert re.search(bad, text) is None, bad


def test_seed_q4_latex():
    x, _w, L = seed_network(0.7, RNG_WEIGHTS)
    ex = explain(L, wrt=[x], symbols={"tanh": "g"})
    latex = ex.latex
    assert latex.startswith("\\begin{aligned}") and latex.endswith("\\end{aligned}")
    assert "\\frac{\\partial L}{\\partial n_4} &= " in latex
    assert "g'\\left(w_{3,4} n_4 + w_{3,6} n_6\\right) w_{3,4}" in latex
    assert ex._repr_latex_() == f"$${latex}$$"
    assert latex.count("\\left(") == latex.count("\\right)")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("batch", [None, 5])
def test_seed_derivation_numbers_match_backward(seed, batch):
    rng = np.random.default_rng(seed)
    xv = rng.normal() if batch is None else rng.normal(size=batch)
    x, w, L = seed_network(xv, rng.normal(size=8))
    ex = explain(L, symbols={"tanh": "g"})
    values = ex.evaluate()
    L.backward()
    np.testing.assert_allclose(values["x"], x.grad.data, rtol=1e-10, atol=1e-12)
    for t in w.values():
        np.testing.assert_allclose(values[t.name], t.grad.data, rtol=1e-10, atol=1e-12)


def test_batch_text_uses_hadamard_between_arrays():
    x, w, L = seed_network(np.linspace(-1, 1, 4), RNG_WEIGHTS)
    text = explain(L, wrt=[x], symbols={"tanh": "g"}).text
    assert "∂L/∂n_2 ⊙ g'(w_{2,4} n_4) w_{2,4}" in text
    # the weight gradient sums the per-sample terms back to the scalar weight
    text_w = explain(L, wrt=[w["7,x"]], symbols={"tanh": "g"}).text
    assert "= sum(∂L/∂n_7 ⊙ g'(w_{7,x} x) ⊙ x)" in text_w


def test_activation_names_and_expand():
    x, _w, L = seed_network(0.2, RNG_WEIGHTS)
    plain = explain(L, wrt=[x]).terms["x"][0].local.text()
    assert plain == "tanh'(w_{7,x} x) w_{7,x}"
    expanded = explain(L, wrt=[x], expand=True)
    local = expanded.terms["x"][0].local
    assert local.text() == "(1 − tanh(w_{7,x} x)^2) w_{7,x}"
    # the written-out form evaluates to the same numbers
    np.testing.assert_allclose(
        expanded.evaluate()["x"], explain(L, wrt=[x]).evaluate()["x"], rtol=1e-12
    )


def test_values_line_printed_for_scalars():
    x, _w, L = seed_network(0.7, RNG_WEIGHTS)
    ex = explain(L, wrt=[x])
    L.backward()
    last = ex.text.splitlines()[-1].strip()
    assert last.startswith("≈ ")
    assert float(last[2:]) == pytest.approx(float(x.grad.data), rel=1e-5)


def test_logistic_regression_gradient_is_x_transpose_residual():
    rng = np.random.default_rng(3)
    X = cr.tensor(rng.normal(size=(6, 3)), name="X")
    y = cr.tensor((rng.random(6) > 0.5).astype(float), name="y")
    w = cr.tensor(rng.normal(size=3), requires_grad=True, name="w")
    z = X @ w
    z.name = "z"
    L = -(y * cr.log_sigmoid(z) + (1.0 - y) * cr.log_sigmoid(-z)).sum()
    ex = explain(L, wrt=[w])
    assert [eq.node for eq in ex.equations] == ["z", "w"]
    (term,) = ex.terms["w"]
    assert term.consumer == "z" and not term.elementwise
    assert term.contribution.text() == 'einsum("i,ij->j", ∂L/∂z, X)'
    zt = ex.equation("z").expr.text()
    assert "1 − σ(z)" in zt and "y" in zt
    values = ex.evaluate()
    # the seed's Q3: ∇_w L = Σ x_i (σ(w·x_i) − y_i)
    s = 1 / (1 + np.exp(-(X.data @ w.data)))
    np.testing.assert_allclose(values["z"], s - y.data, rtol=1e-10)
    np.testing.assert_allclose(values["w"], X.data.T @ (s - y.data), rtol=1e-10)
    L.backward()
    np.testing.assert_allclose(values["w"], w.grad.data, rtol=1e-10)


def test_matmul_terms_are_transposed_products():
    rng = np.random.default_rng(4)
    A = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True, name="A")
    B = cr.tensor(rng.normal(size=(4, 2)), requires_grad=True, name="B")
    C = A @ B
    C.name = "C"
    L = (C * C).sum()
    ex = explain(L)
    assert ex.terms["A"][0].contribution.text() == "∂L/∂C · Bᵀ"
    assert ex.terms["B"][0].contribution.text() == "Aᵀ · ∂L/∂C"
    assert ex.terms["A"][0].contribution.latex() == "\\frac{\\partial L}{\\partial C} B^{\\top}"
    assert ex.equation("C").expr.text() == "2 C"
    values = ex.evaluate()
    L.backward()
    np.testing.assert_allclose(values["A"], A.grad.data, rtol=1e-12)
    np.testing.assert_allclose(values["B"], B.grad.data, rtol=1e-12)


def _einsum_primitive() -> cr.Primitive:
    """An unregistered ``einsum`` primitive (two operands), so the test does not touch the table; it
    explains with the built-in einsum's symbolic rule (found in that primitive's ``symbolic`` slot)."""

    def forward(a, b, subscripts=""):
        return np.einsum(subscripts, a, b)

    def vjp(k, g, ans, a, b, subscripts=""):
        ins, out = subscripts.split("->")
        sa, sb = ins.split(",")
        if k == 0:
            return np.einsum(f"{out},{sb}->{sa}", g, b)
        return np.einsum(f"{sa},{out}->{sb}", a, g)

    return cr.Primitive(
        "einsum", forward, variadic_vjp=vjp, symbolic=cr.PRIMITIVES["einsum"].symbolic
    )


def test_einsum_vjp_prints_the_derived_einsum():
    from chainrule.autodiff.tensor import apply

    rng = np.random.default_rng(5)
    A = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True, name="A")
    B = cr.tensor(rng.normal(size=(4, 2)), requires_grad=True, name="B")
    C = apply(_einsum_primitive(), (A, B), {"subscripts": "ij,jk->ik"})
    C.name = "C"
    L = cr.tanh(C).sum()
    ex = explain(L)
    assert ex.terms["A"][0].contribution.text() == 'einsum("ik,jk->ij", ∂L/∂C, B)'
    assert ex.terms["B"][0].contribution.text() == 'einsum("ik,ij->jk", ∂L/∂C, A)'
    assert "\\operatorname{einsum}\\left(\\mathtt{ik,jk\\to ij}" in ex.latex
    values = ex.evaluate()
    L.backward()
    np.testing.assert_allclose(values["A"], A.grad.data, rtol=1e-12)
    np.testing.assert_allclose(values["B"], B.grad.data, rtol=1e-12)


def test_einsum_vjp_handles_summed_out_and_diagonal_labels():
    from chainrule.autodiff.symbolic import Grad, Sym
    from chainrule.autodiff.symbolic_rules import _einsum_vjp_expr

    rng = np.random.default_rng(6)
    A = rng.normal(size=(3, 3, 2))
    b = rng.normal(size=3)
    g = rng.normal(size=(3,))
    # C_i = Σ_{k} A_{iik} b_i: label k is summed away, label i repeats in A.
    subs = "iik,i->i"
    e = _einsum_vjp_expr(subs, Grad("C", (3,)), (Sym("A", A), Sym("b", b)), (A.shape, b.shape), 0)
    got = e.evaluate({"C": g})
    want = np.zeros_like(A)
    for i in range(3):
        want[i, i, :] = g[i] * b[i]
    np.testing.assert_allclose(got, want)


def test_broadcast_sum_back_to_the_operand_shape():
    rng = np.random.default_rng(7)
    X = cr.tensor(rng.normal(size=(5, 3)), name="X")
    b = cr.tensor(rng.normal(size=3), requires_grad=True, name="b")
    s = cr.tensor(rng.normal(size=(5, 1)), requires_grad=True, name="s")
    z = X * s + b
    z.name = "z"
    L = (cr.sigmoid(z) ** 2).sum()
    ex = explain(L)
    assert ex.terms["b"][0].contribution.text() == "sum(∂L/∂z, axis=0)"
    assert ex.terms["s"][0].contribution.text() == "sum(∂L/∂z ⊙ X, axis=1, keepdims)"
    values = ex.evaluate()
    L.backward()
    np.testing.assert_allclose(values["b"], b.grad.data, rtol=1e-12)
    np.testing.assert_allclose(values["s"], s.grad.data, rtol=1e-12)


def test_reductions_of_a_scalar_loss_simplify():
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True, name="x")
    b = cr.tensor(np.ones(3), requires_grad=True, name="b")
    L = (x + b).sum()
    ex = explain(L)
    assert ex.equation("x").expr.text() == "1"
    assert ex.equation("b").expr.text() == "2"  # Σ over the 2 broadcast rows
    np.testing.assert_allclose(ex.evaluate()["b"], [2.0, 2.0, 2.0])


def test_simplification_of_linear_steps():
    a = cr.tensor(1.5, requires_grad=True, name="a")
    b = cr.tensor(-0.5, requires_grad=True, name="b")
    y = a - b
    y.name = "y"
    q = a * a
    q.name = "q"
    L = cr.exp(y) + q * 3.0
    ex = explain(L)
    assert ex.terms["b"][0].contribution.text() == "−∂L/∂y"
    assert [(c, loc.text()) for c, loc in ex.terms["a"]] == [("y", "1"), ("q", "2 a")]
    assert ex.equation("a").expr.text() == "∂L/∂y + 2 ∂L/∂q · a"
    assert ex.equation("q").expr.text() == "3"
    assert ex.equation("y").expr.text() == "exp(y)"


def test_terms_iterate_as_pairs_and_order_follows_forward_evaluation():
    _x, _w, L = seed_network(0.1, RNG_WEIGHTS, loss="product")
    ex = explain(L, wrt=["n_6"], symbols={"tanh": "g"})
    assert [eq.node for eq in ex.equations] == ["n_2", "n_3", "n_4", "n_6"]
    consumers = [c for c, _ in ex.terms["n_6"]]
    assert consumers == ["n_4", "n_3"]
    assert ex.terms["n_2"][0].local.text() == "n_3"
    assert isinstance(ex, Explanation) and "n_6" in repr(ex)


def test_user_symbols_for_tensors_and_functions():
    x = cr.tensor(0.3, requires_grad=True, name="x")
    h = cr.sigmoid(2.0 * x)
    h.name = "h"
    L = cr.log(h)
    ex = explain(L, symbols={"sigmoid": "s", "h": "h(x)"})
    assert ex.equation("x").expr.text(ex.symbols) == "2 ∂L/∂h(x) · s'(2 x)"
    assert "∂L/∂h(x)" in ex.text


def test_custom_primitive_with_and_without_symbolic_form():
    from chainrule.autodiff.symbolic_rules import elementwise_function

    def swish(x):
        return x / (1 + np.exp(-x))

    def dswish(x):
        s = 1 / (1 + np.exp(-x))
        return s + x * s * (1 - s)

    def swish_vjp(g, ans, x):
        return g * dswish(x)

    sw = cr.register_primitive(
        "test_explain_swish",
        swish,
        swish_vjp,
        symbolic=elementwise_function("swish", swish, dswish),
        replace=True,
    )
    cube = cr.register_primitive(
        "test_explain_cube", lambda x: x**3, lambda g, ans, x: g * 3 * x**2, replace=True
    )
    x = cr.tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True, name="x")
    L = (sw(x) + cube(x)).sum()
    ex = explain(L)
    text = ex.equation("x").expr.text()
    assert "swish'(x)" in text
    assert "vjp_test_explain_cube[0](" in text
    value = ex.evaluate()["x"]
    L.backward()
    np.testing.assert_allclose(value, x.grad.data, rtol=1e-12)


def test_unknown_or_unnamed_wrt_raise():
    x, _w, L = seed_network(0.7, RNG_WEIGHTS)
    with pytest.raises(ValueError, match="no tensor named 'n_9'"):
        explain(L, wrt=["n_9"])
    with pytest.raises(ValueError, match="must be named"):
        unnamed = next(t for t in cr.topological_order(L) if t.op is not None and not t.name)
        explain(L, wrt=[unnamed])
    with pytest.raises(ValueError, match="not in the graph"):
        explain(L, wrt=[cr.tanh(x)])
    with pytest.raises(TypeError, match="needs a Tensor"):
        explain(np.ones(3))


def test_duplicate_names_are_disambiguated():
    x = cr.tensor(1.0, requires_grad=True, name="v")
    y = x * 2.0
    y.name = "v"
    L = y * y
    ex = explain(L)
    assert [eq.node for eq in ex.equations] == ["v#2", "v"]


def test_long_named_chain_and_too_many_unnamed_ops():
    x = cr.tensor(0.5, requires_grad=True, name="x")
    y = x
    for i in range(300):
        y = y * 1.001
        y.name = f"y_{i}"
    ex = explain(y, wrt=[x])
    assert len(ex.equations) == 300
    assert ex.equation("x").expr.text() == "1.001 ∂L/∂y_0"
    np.testing.assert_allclose(ex.evaluate()["x"], 1.001**300, rtol=1e-9)
    z = x
    for _ in range(250):
        z = z * 1.001
    with pytest.raises(ValueError, match="name some intermediate tensors"):
        explain(z)


def test_explain_after_backward_still_prints():
    rng = np.random.default_rng(8)
    w = cr.tensor(rng.normal(size=3), requires_grad=True, name="w")
    L = (w * rng.normal(size=3)).sum()  # a constant array operand, released by backward
    L.backward()
    ex = explain(L)
    assert "∂L/∂w = const" in ex.text
    with pytest.raises(KeyError, match="retain_graph"):
        ex.evaluate()


def test_public_export():
    assert cr.explain is explain


def test_array_values_stay_aligned_under_their_equation() -> None:
    A = cr.tensor(np.ones((2, 2)), requires_grad=True, name="A")
    C = A @ A
    C.name = "C"
    lines = cr.explain(C.sum(), wrt=["A"]).text.splitlines()
    k = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("≈ [["))
    column = lines[k].index("[[")
    assert (
        lines[k + 1].index("[") == column + 1
    )  # the second row sits under the first row's entries
