"""Hyperplane values and the seed's bisector (Q1)."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from chainrule.linear import Hyperplane, binary_labels, bisector_hyperplane


def test_seed_q1_bisector_is_exact() -> None:
    h = bisector_hyperplane([-5, 1, 3], [2, 2, -3])
    assert h.exact
    assert h.normal == (-7, -1, 6)
    assert h.offset == -9
    assert all(isinstance(v, Fraction) for v in (*h.normal, h.offset))
    assert str(h) == "f(x) = [-7 -1 6]·x − 9"


def test_seed_q1_worked_steps_follow_the_seed() -> None:
    h = bisector_hyperplane([-5, 1, 3], [2, 2, -3])
    text = h.worked
    assert "n = x₊ − x₋ = (-5, 1, 3) − (2, 2, -3) = (-7, -1, 6)" in text
    assert "(-3/2, 3/2, 0)" in text  # the midpoint
    assert "(-21/2 + 3/2 + 0)" in text  # −n·m term by term, as in the seed
    assert text.splitlines()[-1] == "f(x) = [-7 -1 6]·x − 9"


def test_latex_forms() -> None:
    h = bisector_hyperplane([-5, 1, 3], [2, 2, -3])
    assert h.to_latex() == r"f(x) = \begin{bmatrix} -7 & -1 & 6 \end{bmatrix} x - 9"
    assert h._repr_latex_() == f"${h.to_latex()}$"
    half = Hyperplane([Fraction(1, 2), -1], Fraction(-3, 4))
    assert str(half) == "f(x) = [1/2 -1]·x − 3/4"
    assert r"\frac{1}{2}" in half.to_latex() and r"- \frac{3}{4}" in half.to_latex()


def test_float_hyperplane_prints_integers_without_decimals() -> None:
    h = Hyperplane([2.0, -0.5], 3.0)
    assert not h.exact
    assert str(h) == "f(x) = [2 -0.5]·x + 3"
    assert str(Hyperplane([1, 2], 0)) == "f(x) = [1 2]·x"


def test_identical_points_raise() -> None:
    with pytest.raises(ValueError, match="same point"):
        bisector_hyperplane([1, 2], [1, 2])
    with pytest.raises(ValueError, match="coordinates"):
        bisector_hyperplane([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        bisector_hyperplane([1, float("nan")], [0, 0], exact=False)


def test_decimals_are_taken_as_written_when_exact() -> None:
    h = bisector_hyperplane([0.1, 0.2], [0.3, 0.5])
    assert h.normal == (Fraction(-1, 5), Fraction(-3, 10))
    assert h(["0.2", "0.35"]) == 0  # the midpoint, exactly


def test_equality_up_to_positive_scale() -> None:
    h = Hyperplane([1, -2], 3)
    assert h == h.scaled(Fraction(5, 3))
    assert h != h.scaled(-1)
    assert h == Hyperplane([0.5, -1.0], 1.5)
    assert h != Hyperplane([1, -2], 4)
    assert h.integer_form() == h and Hyperplane(
        [Fraction(1, 2), Fraction(-1, 3)], 1
    ).integer_form().normal == (
        3,
        -2,
    )


def test_decision_distance_margin_and_predict() -> None:
    h = Hyperplane([3, 4], -5)
    X = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.5]])
    np.testing.assert_allclose(h.decision(X), [-5.0, 20.0, 0.0])
    np.testing.assert_allclose(h.distance(X), [-1.0, 4.0, 0.0])
    np.testing.assert_array_equal(h.predict(X), [-1, 1, 0])
    assert h.margin(X[:2], [0, 1]) == pytest.approx(1.0)
    assert h.margin(X[:2], [1, 0]) == pytest.approx(-4.0)
    assert h.decision_exact(X) == [-5, 20, 0]


def test_binary_labels_positive_is_larger_and_errors() -> None:
    s, classes = binary_labels(["no", "yes", "no"])
    assert classes == ("no", "yes") and s.tolist() == [-1, 1, -1]
    s, classes = binary_labels([-1, 1, 1])
    assert classes == (-1, 1) and s.tolist() == [-1, 1, 1]
    with pytest.raises(ValueError, match="single class"):
        binary_labels([1, 1])
    with pytest.raises(ValueError, match="3 classes"):
        binary_labels([0, 1, 2])


small = st.integers(min_value=-20, max_value=20)


@given(st.lists(st.tuples(small, small), min_size=2, max_size=5).filter(lambda p: len(set(p)) > 1))
def test_bisector_is_equidistant_and_separates(pairs: list[tuple[int, int]]) -> None:
    p = [a for a, _ in pairs]
    q = [b for _, b in pairs]
    if p == q:
        return
    h = bisector_hyperplane(p, q)
    assert h(p) > 0 > h(q)
    assert h(p) == -h(q)  # the midpoint construction puts both at the same distance
    mid = [Fraction(a + b, 2) for a, b in zip(p, q, strict=True)]
    assert h(mid) == 0
    f = bisector_hyperplane(p, q, exact=False)
    assert not f.exact and f == h


def test_array_api_inputs_stay_in_their_namespace() -> None:
    xp = pytest.importorskip("array_api_strict")
    h = Hyperplane([3, 4], -5)
    X = xp.asarray([[0.0, 0.0], [3.0, 4.0]])
    f = h.decision(X)
    assert type(f) is type(X)
    np.testing.assert_allclose(np.asarray(f), [-5.0, 20.0])
    np.testing.assert_array_equal(np.asarray(h.predict(xp.asarray([[0, 0], [3, 4]]))), [-1, 1])
    assert h.margin(X, xp.asarray([0, 1])) == pytest.approx(1.0)


def test_bisector_worked_latex() -> None:
    h = bisector_hyperplane([-5, 1, 3], [2, 2, -3])
    tex = h.worked_latex
    assert tex.startswith(r"\begin{aligned}") and tex.endswith(r"\end{aligned}")
    assert r"\begin{bmatrix} -\frac{3}{2} \\ \frac{3}{2} \\ 0 \end{bmatrix}" in tex  # the midpoint
    assert r"\left(-\frac{21}{2} + \frac{3}{2} + 0\right)" in tex
    assert h.integer_form().worked_latex == tex  # copies keep the derivation


def test_bisector_of_numpy_float_arrays_takes_their_decimal_values() -> None:
    # NumPy scalars repr as "np.float64(0.1)"; the exact bisector must read the number, not the repr.
    h = bisector_hyperplane(np.array([0.1, 0.2]), np.array([0.3, 0.4]))
    assert h.exact
    assert h.normal == (Fraction(-1, 5), Fraction(-1, 5))
    assert h.offset == Fraction(1, 10)
    h32 = bisector_hyperplane(np.array([0.5, 1.0], np.float32), np.array([0.25, 0.0], np.float32))
    assert h32 == Hyperplane([Fraction(1, 4), 1], Fraction(-19, 32))


def test_exact_coefficients_beyond_float64_stay_exact() -> None:
    h = bisector_hyperplane([Fraction(10) ** 400, 1], [0, 2])
    assert h([0, 0]) == h.offset  # exact evaluation still works
    assert h([Fraction(10) ** 400, 1]) > 0 > h([0, 2])
    assert "e+" in str(h)
    with pytest.raises(ValueError, match="float64 range"):
        h.decision([[0.0, 0.0]])
    assert h != Hyperplane([1.0, 0.0], 0.0)
