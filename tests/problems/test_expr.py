"""The answer language: parsing (carets, limits, notations), binding and evaluation through autodiff."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.problems.errors import FormatError
from chainrule.problems.expr.evaluate import MpBackend, evaluate
from chainrule.problems.expr.parser import parse_expr
from chainrule.problems.expr.render import to_latex, to_text
from chainrule.problems.expr.scope import Scope, parse_type


def scope() -> Scope:
    return Scope.from_tables(
        {
            "a": "real",
            "w": "vector[d]",
            "x": "matrix[n,d]",
            "y": "vector[n] in {0, 1}",
            "i": "index[n]",
        },
        {"h": "u -> sigma(dot(w, u))"},
    )


def values(batch: int = 3, n: int = 5, d: int = 3) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    rng = np.random.default_rng(1)
    return (
        {
            "a": rng.normal(size=batch),
            "w": rng.normal(size=(batch, d)),
            "x": rng.normal(size=(batch, n, d)),
            "y": rng.integers(0, 2, size=(batch, n)).astype(float),
            "i": rng.integers(0, n, size=batch),
        },
        {"n": n, "d": d},
    )


def _numbers(v: object) -> np.ndarray:
    return np.asarray(getattr(v, "data", v), dtype=float)


def run(text: str, sc: Scope | None = None) -> np.ndarray:
    sc = sc or scope()
    vals, dims = values()
    return np.asarray(evaluate(sc.parse(text), sc, vals, dims, batch=3).data)


def test_the_seed_notation_parses_like_ascii() -> None:
    sc = Scope()
    for key, spellings in (("n_4", ("n4",)), ("n_2", ("n2",)), ("w_{2,4}", ())):
        sc.declare_scalar(key, *spellings)
    sc.declare_scalar("∂L/∂n_2", "∂L/∂n2")
    sc.define_function("g", "t -> tanh(t)")
    seed = sc.bind(parse_expr("∂L/∂n_2(x) g′(w_{2,4} n_4(x)) w_{2,4}", ["g"], ["x"]), "")
    ascii_form = sc.parse("dL/dn2 * g'(w[2,4]*n4) * w[2,4]")
    assert seed == ascii_form


def test_errors_point_at_the_token() -> None:
    with pytest.raises(FormatError) as exc:
        scope().parse("sum(x[i]*(h(x[i]) - q[i]), i)")
    assert "unknown name 'q'" in exc.value.message
    caret_line = exc.value.detail.splitlines()[1]
    assert caret_line.index("^") - 2 == "sum(x[i]*(h(x[i]) - q[i]), i)".index("q")
    with pytest.raises(FormatError, match="expected"):
        scope().parse("exp(a")
    with pytest.raises(FormatError, match="unknown name 'foo'"):
        scope().parse("foo(a)")
    with pytest.raises(FormatError, match="beyond the float range"):
        parse_expr("1e999999999")
    with pytest.raises(FormatError, match="nested"):
        parse_expr("(" * 500 + "a" + ")" * 500)
    with pytest.raises(FormatError, match="takes 2 argument"):
        scope().parse("dot(w)")


def test_types_parse_and_refuse() -> None:
    assert parse_type("vector[n] in {0, 1}").values == (0.0, 1.0)
    assert parse_type("real in [-2, 5]").interval == (-2.0, 5.0)
    for bad in ("vector", "matrix[n]", "real in [3, 1]", "complex", "index[n,d]"):
        with pytest.raises(FormatError):
            parse_type(bad)


def test_gradient_by_autodiff_equals_the_closed_form() -> None:
    loss = "-sum(y[i]*log(h(x[i])) + (1 - y[i])*log(1 - h(x[i])), i)"
    auto = run(f"grad({loss}, w)")
    closed = run("sum(x[i]*(h(x[i]) - y[i]), i)")
    assert auto.shape == (3, 3)
    np.testing.assert_allclose(auto, closed, rtol=1e-12, atol=1e-14)


def test_matrix_products_transposes_and_indexing() -> None:
    sc = Scope.from_tables({"A": "matrix[d,e]", "G": "matrix[f,e]", "B": "matrix[f,l]"})
    rng = np.random.default_rng(0)
    vals = {
        "A": rng.normal(size=(2, 2, 3)),
        "G": rng.normal(size=(2, 5, 3)),
        "B": rng.normal(size=(2, 5, 4)),
    }
    out = evaluate(sc.parse("A @ G.T @ B"), sc, vals, {"d": 2, "e": 3, "f": 5, "l": 4}, batch=2)
    want = np.einsum("bde,bfe,bfl->bdl", vals["A"], vals["G"], vals["B"])
    np.testing.assert_allclose(out.data, want, rtol=1e-12)
    first = evaluate(sc.parse("A[1, 2]"), sc, vals, {"d": 2, "e": 3, "f": 5, "l": 4}, batch=2)
    np.testing.assert_array_equal(first.data, vals["A"][:, 0, 1])


def test_stable_forms_keep_the_reference_finite_at_800() -> None:
    sc = Scope.from_tables({"a": "real"})
    vals = {"a": np.array([-800.0, 0.0, 800.0])}
    with np.errstate(all="ignore"):
        d = evaluate(sc.parse("diff(log(sigma(a)), a)"), sc, vals, {}, batch=3)
        d2 = evaluate(sc.parse("diff(log(1 - sigma(a)), a)"), sc, vals, {}, batch=3)
    np.testing.assert_allclose(d.data, [1.0, 0.5, 0.0])
    np.testing.assert_allclose(d2.data, [-0.0, -0.5, -1.0])


def test_fifty_digits_evaluate_what_float64_overflows() -> None:
    sc = Scope.from_tables({"a": "real"})
    e = sc.parse("exp(-a)/(1 + exp(-a))")
    vals = {"a": np.array([-800.0])}
    with np.errstate(all="ignore"):
        assert np.isnan(np.asarray(evaluate(e, sc, vals, {}, batch=1).data)).all()
    mp = MpBackend()
    assert mp.to_numpy(evaluate(e, sc, vals, {}, backend=mp, batch=1))[0] == pytest.approx(1.0)


def test_derivative_of_a_user_function_is_autodiff() -> None:
    sc = Scope.from_tables({"a": "real"}, {"g": "t -> tanh(t)"})
    got = run("g'(a)", sc)
    a = values()[0]["a"]
    np.testing.assert_allclose(got, 1 - np.tanh(a) ** 2, rtol=1e-12)
    got2 = run("g''(a)", sc)
    np.testing.assert_allclose(got2, -2 * np.tanh(a) * (1 - np.tanh(a) ** 2), rtol=1e-10)


@settings(max_examples=60, deadline=None)
@given(
    st.recursive(
        st.sampled_from(["a", "2", "0.5", "sigma(a)", "exp(a)"]),
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda t: f"tanh({t})"),
            inner.map(lambda t: f"-{t}"),
        ),
        max_leaves=8,
    )
)
def test_printed_text_reparses_to_the_same_value(text: str) -> None:
    sc = Scope.from_tables({"a": "real"})
    e = sc.parse(text)
    again = sc.parse(to_text(e))
    vals = {"a": np.array([0.3, -1.2])}
    with np.errstate(all="ignore"):
        x, y = (_numbers(evaluate(t, sc, vals, {}, batch=2)) for t in (e, again))
    np.testing.assert_allclose(x, y, rtol=1e-12, equal_nan=True)
    assert to_latex(e)


@pytest.mark.parametrize(
    ("latex", "ascii_form"),
    [
        (r"\sum_{i=1}^{n} x_i \left(h(x_i) - y_i\right)", "sum(x[i]*(h(x[i]) - y[i]), i)"),
        (r"\frac{e^{-a}}{1 + e^{-a}}", "exp(-a)/(1 + exp(-a))"),
        (r"\sigma(a)(1 - \sigma(a))", "sigma(a)*(1 - sigma(a))"),
        (r"\log \sigma(a) \cdot 2", "log(sigma(a))*2"),
        (r"\sum_i x_i y_i + w", "sum(x[i]*y[i], i) + w"),
        (r"-x_i \sum_i (y_i - h(x_i))", "-x[i]*sum(y[i] - h(x[i]), i)"),
        (r"\sqrt{a^2 + 1}", "sqrt(a^2 + 1)"),
    ],
)
def test_latex_reads_as_the_ascii_form(latex: str, ascii_form: str) -> None:
    np.testing.assert_allclose(run(latex), run(ascii_form), rtol=1e-13)


def test_latex_gradients_of_the_loss_and_unknown_commands() -> None:
    sc = Scope()
    sc.declare_scalar("∂L/∂n_4", "∂L/∂n4")
    assert sc.parse(r"\frac{\partial L}{\partial n_4}") == sc.parse("dL/dn4")
    with pytest.raises(FormatError, match=r"\\foo is not part"):
        scope().parse(r"\foo(a)")
    with pytest.raises(FormatError, match="needs its index"):
        scope().parse(r"\sum x")
