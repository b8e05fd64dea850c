"""API edges of autodiff: check_grad at kinks and outside the domain, cotangent shapes of hvp/vjp,
LaTeX-safe names in explain().latex, and what cr.draw()'s repr says."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule.autodiff.check import GradCheckError, check_nodes
from chainrule.autodiff.symbolic import latex_name

F32 = np.float32

# --- check_grad at kinks -------------------------------------------------------------------------

KINKS = [
    ("relu", lambda x: cr.relu(x), np.array([0.0, 1.0])),
    ("relu", lambda x: cr.tanh(cr.relu(x - 1.0) * 2.0).sum(), np.array([1.0, 2.5])),
    ("relu", lambda x: cr.relu(x), np.array([0.001, -1.0], F32)),  # within eps = 1e-2 of the kink
    ("leaky_relu", lambda x: cr.leaky_relu(x) ** 2 + cr.leaky_relu(x), np.array([0.0, 0.7])),
    ("abs", lambda x: cr.abs(x), np.array([0.003, 1.0], F32)),
    ("max", lambda x: cr.max(x), np.array([3.0, 3.0, 3.0])),  # a three-way tie
    ("max", lambda x: cr.sin(cr.max(x, axis=0)), np.array([[2.0, 1.0], [2.0, 0.5], [2.0, 1.0]])),
    ("min", lambda x: cr.min(x) ** 2, np.array([1.0, 1.0, 1.0, 2.0])),
    ("clip", lambda x: cr.exp(cr.clip(x, -0.5, 0.0)), np.array([0.0, -0.2, -0.5])),
]


@pytest.mark.parametrize(("prim", "f", "x"), KINKS)
def test_kink_is_named_not_blamed(prim, f, x) -> None:
    with pytest.raises(GradCheckError) as err:
        cr.check_grad(f, x)
    msg = str(err.value)
    assert f"at a kink of {prim} (primitive {prim!r}" in msg
    assert "wrong VJP rule" not in msg and "(rule " not in msg
    rep = cr.check_grad(f, x, raise_on_failure=False)
    assert not rep.ok and rep.culprits == [] and rep.kinks and rep.inconclusive
    assert all(k.startswith("at a kink of") for k in rep.kinks)


def test_kinks_near_the_point_random_offsets_never_blame_the_rule() -> None:
    rng = np.random.default_rng(3)
    for dtype, eps in ((np.float64, 1e-6), (np.float32, 1e-2)):
        for trial in range(12):
            x = rng.standard_normal(6)
            x[trial % 6] = rng.choice([0.0, 0.2, 0.5, 0.8]) * eps * rng.choice([-1, 1])
            rep = cr.check_grad(
                lambda t: cr.tanh(cr.relu(t) + 0.1 * t),
                x.astype(dtype),
                raise_on_failure=False,
                seed=trial,
            )
            assert rep.ok or (rep.kinks and not rep.culprits), str(rep)


def test_kink_only_the_second_order_check_meets_is_named() -> None:
    # abs at 0 passes to first order (the symmetric difference matches sign(0) = 0); its gradient jumps.
    x = np.array([0.0, 1.0])
    assert cr.check_grad(lambda t: cr.abs(t), x).ok
    rep = cr.check_grad(lambda t: cr.abs(t), x, order=2, raise_on_failure=False)
    assert not rep.ok and rep.culprits == []
    assert any(k.startswith("at a kink of abs") for k in rep.kinks)


def test_kink_names_the_node_and_end_to_end_mode_says_so_too() -> None:
    def f(x):
        h = cr.relu(x)
        h.name = "hidden"
        return (h * 2.0).sum()

    with pytest.raises(
        GradCheckError, match=r"at a kink of relu \(primitive 'relu', node 'hidden'"
    ):
        cr.check_grad(f, np.array([0.0, 1.0]))
    rep = cr.check_grad(f, np.array([0.0, 1.0]), mode="end_to_end", raise_on_failure=False)
    assert rep.kinks and not rep.culprits
    assert not any(c.startswith("primitive") for c in rep.failures)  # end to end only


def test_ties_that_finite_differences_agree_with_pass() -> None:
    # Two-way ties share the gradient equally: exactly the symmetric difference. No failure at all.
    assert cr.check_grad(lambda x: cr.max(x), np.array([3.0, 1.0, 3.0])).ok
    a, b = np.array([2.0, 1.0]), np.array([2.0, 0.0])
    assert cr.check_grad(lambda a, b: cr.maximum(a, b) * a, a, b).ok


def test_per_node_check_at_a_kink() -> None:
    rep = check_nodes(lambda x: cr.relu(x), np.array([0.0, 2.0]))
    assert not rep.ok and rep.culprits == [] and rep.kinks
    assert any("at a kink" in f for f in rep.failures)


# --- check_grad outside the domain -----------------------------------------------------------------

DOMAIN = [
    ("log", lambda x: cr.log(x), np.array([-1.0, 1.0])),
    ("log", lambda x: cr.log(x), np.array([0.0, 1.0])),
    ("log", lambda x: cr.log(x - 1.0), np.array([0.5, 3.0])),
    ("log", lambda x: cr.log(x), np.array([0.005, 1.0], F32)),  # the probes x ± 1e-2 leave it
    ("sqrt", lambda x: cr.sin(cr.sqrt(x)).sum(), np.array([-2.0, 1.0])),
    ("sqrt", lambda x: cr.sqrt(x), np.array([0.0, 4.0])),
    ("log1p", lambda x: cr.log1p(x), np.array([-2.0, 1.0])),
    ("pow", lambda x: x**0.5, np.array([-2.0, 1.0])),
    ("div", lambda x: 1.0 / x, np.array([0.0, 1.0])),
]


@pytest.mark.parametrize(("prim", "f", "x"), DOMAIN)
def test_outside_the_domain_is_named_not_blamed(prim, f, x) -> None:
    with np.errstate(all="ignore"):
        with pytest.raises(GradCheckError) as err:
            cr.check_grad(f, x)
        rep = cr.check_grad(f, x, raise_on_failure=False)
    msg = str(err.value)
    assert f"outside the domain of {prim} (primitive {prim!r}" in msg
    assert "wrong VJP rule" not in msg
    assert rep.culprits == [] and rep.domain and rep.inconclusive


def test_nan_argument_and_upstream_nan_are_not_blamed() -> None:
    rep = cr.check_grad(lambda x: cr.sin(x), np.array([np.nan, 1.0]), raise_on_failure=False)
    assert not rep.ok and rep.culprits == [] and "argument 0 holds nan or inf" in rep.domain[0]
    with np.errstate(all="ignore"):
        rep = cr.check_grad(
            lambda x: cr.exp(cr.sin(cr.log(x))), np.array([-1.0, 2.0]), raise_on_failure=False
        )
    assert rep.culprits == [] and len(rep.domain) == 1 and "domain of log" in rep.domain[0]


# --- wrong rules are still named ---------------------------------------------------------------------


def _wrong(scale):
    return lambda g, ans, x: g * scale * np.cos(3 * x) * 3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_wrong_rules_of_curved_functions_are_still_named(dtype) -> None:
    rng = np.random.default_rng(0)
    bad = cr.register_primitive("edge_sin3_bad", lambda x: np.sin(3 * x), _wrong(0.9), replace=True)
    cube = cr.register_primitive(
        "edge_cube_bad", lambda x: x**3, lambda g, ans, x: g * 3 * x, replace=True
    )
    for p in (bad, cube):
        for trial in range(5):
            x = rng.uniform(0.3, 1.5, size=7).astype(dtype)
            rep = cr.check_grad(
                lambda t, p=p: cr.tanh(p(t)), x, argnums=0, raise_on_failure=False, seed=trial
            )
            assert not rep.ok and rep.culprits and not rep.kinks and not rep.domain
            assert not rep.inconclusive
            assert p.name in rep.culprits[0]


# --- hvp / vjp shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("v", [np.ones(3), np.ones((2, 1)), np.ones((1, 2)), 1.0, np.ones(1)])
def test_hvp_with_v_of_the_wrong_shape_raises_naming_both(v) -> None:
    f = lambda x: (x**3).sum()  # noqa: E731
    with pytest.raises(ValueError) as err:
        cr.hvp(f, np.array([1.0, 2.0]), v)
    msg = str(err.value)
    assert str(np.shape(v)) in msg and "(2,)" in msg and "hvp" in msg


def test_hvp_right_shapes_still_work() -> None:
    f = lambda x: (x**3).sum()  # noqa: E731
    np.testing.assert_allclose(cr.hvp(f, np.array([1.0, 2.0]), [1.0, 1.0]), [6.0, 12.0])
    np.testing.assert_allclose(cr.hvp(lambda x: x**3, 2.0, 1.0), 12.0)
    x = cr.tensor([1.0, 2.0])
    np.testing.assert_allclose(cr.hvp(f, x, cr.tensor([1.0, 0.0])).data, [6.0, 0.0])


@pytest.mark.parametrize("ct", [np.ones(3), np.ones((2, 1)), 1.0, np.ones((1, 2))])
def test_vjp_cotangent_of_the_wrong_shape_raises_naming_both(ct) -> None:
    _, back = cr.vjp(lambda x: x**3, np.array([1.0, 2.0]))
    with pytest.raises(ValueError) as err:
        back(ct)
    msg = str(err.value)
    assert "cotangent" in msg and str(np.shape(ct)) in msg and "(2,)" in msg


def test_vjp_scalar_output_and_jacobian_unchanged() -> None:
    _, back = cr.vjp(lambda x: (x**3).sum(), np.array([1.0, 2.0]))
    np.testing.assert_allclose(back(1.0)[0], [3.0, 12.0])
    with pytest.raises(ValueError, match=r"shape \(1,\).*shape \(\)"):
        back(np.ones(1))
    np.testing.assert_allclose(cr.jacobian(lambda x: x**2)(np.array([1.0, 2.0])), np.diag([2, 4]))


# --- explain().latex names -----------------------------------------------------------------------------

BAD_NAMES = [
    "x_1^2",
    "a&b",
    "50%",
    "#n",
    "\\weird",
    "{",
    "}",
    "$",
    "a b",
    "x~",
    "w_{1",
    "x^",
    "a_b_c",
]


def _compiles(latex: str) -> bool:
    """A structural LaTeX check: balanced groups, & only as the alignment ``&=``, no bare % # $ ~,
    no unknown command from a name, no double superscript."""
    body = re.sub(r"\\[{}&%#$_ ]", "", latex)  # escaped characters are fine
    depth = 0
    for c in body:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    if depth:
        return False
    if re.search(r"[%#$~]", body) or re.sub(r"&=", "", body).count("&"):
        return False
    if "\\weird" in latex:
        return False
    # x^a^b (double superscript) at the top level of a group: strip groups innermost first
    flat = body
    while re.search(r"\{[^{}]*\}", flat):
        flat = re.sub(r"\{[^{}]*\}", "G", flat)
    return not re.search(r"\^[^\s\\]?G?\^|\^G\^|\^\w\^", flat)


@pytest.mark.parametrize("name", BAD_NAMES)
def test_latex_escapes_special_characters_in_names(name) -> None:
    x = cr.tensor(np.array([1.0, 2.0]), requires_grad=True, name=name)
    h = cr.tanh(x)
    h.name = name + "'"
    L = (h * h * x**2).sum()
    L.name = name + "L"
    ex = cr.explain(L)
    assert _compiles(ex.latex), ex.latex
    assert name in ex.text  # .text keeps names as they are
    assert _compiles(cr.explain(L, wrt=[]).latex)


def test_latex_name_keeps_math_names_and_escapes_the_rest() -> None:
    for name in ["x", "n_4", "w_{3,4}", "\\theta_1", "\\hat{y}", "h(x)", "W1", "w_{i_j}"]:
        assert latex_name(name) == name
    assert latex_name("x_1^2") == "{x_1^2}"
    assert latex_name("x'") == "{x'}"
    assert latex_name("a&b") == "\\mathrm{a\\&b}"
    assert latex_name("50%") == "\\mathrm{50\\%}"
    assert latex_name("#n") == "\\mathrm{\\#n}"
    assert latex_name("\\weird") == "\\mathrm{\\backslash{}weird}"
    assert latex_name("{") == "\\mathrm{\\{}"
    assert latex_name("x#2") == "\\mathrm{x\\#2}"


def test_latex_of_power_of_a_superscripted_name_is_no_double_superscript() -> None:
    x = cr.tensor(3.0, requires_grad=True, name="x_1^2")
    a = cr.tensor(2.0, requires_grad=True, name="a&b")
    latex = cr.explain(a * x**2).latex
    assert "{x_1^2}^{2}" in latex and "\\mathrm{a\\&b}" in latex and _compiles(latex)


def test_user_symbols_are_made_safe_too() -> None:
    x = cr.tensor(0.3, requires_grad=True, name="x")
    h = cr.sigmoid(2.0 * x)
    h.name = "h"
    ex = cr.explain(cr.log(h), symbols={"sigmoid": "s&", "h": "h(x)", "x": "\\mathbf{x}"})
    assert "\\mathrm{s\\&}'" in ex.latex and "h(x)" in ex.latex and "\\mathbf{x}" in ex.latex
    assert _compiles(ex.latex)


# --- draw repr -----------------------------------------------------------------------------------


def test_draw_repr_says_how_to_save() -> None:
    x = cr.tensor(2.0, requires_grad=True, name="x")
    L = cr.tanh(x) * x
    text = repr(cr.draw(L))
    assert text.startswith("<GraphDrawing") and '.save("graph.svg")' in text
    assert ".svg" in text and "_repr_svg_" in text and "3 nodes" in text
    L.name = "L"
    assert "of 'L'" in repr(cr.draw(L, named_only=True))
