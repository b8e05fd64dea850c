"""Separating hyperplanes and Gordan certificates, checked exactly and against scikit-learn."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from chainrule.linear import NotSeparable, separating_hyperplane
from chainrule.linear.separate import gordan_certificate

XOR_X = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_Y = [0, 1, 1, 0]
Q2_X = [[0, 0], [0, -1], [1, 0], [1, -1]]
Q2_Y = [1, 1, 0, 0]


def _exact_margins(X: np.ndarray, s: np.ndarray, h: object) -> list[Fraction]:
    """y_i f(x_i) computed here from scratch with Fractions (independent of the library's integer path)."""
    out = []
    for row, si in zip(X, s, strict=True):
        f = sum(
            (Fraction(n) * Fraction(float(v)) for n, v in zip(h.normal, row, strict=True)),
            Fraction(h.offset),
        )  # type: ignore[attr-defined]
        out.append(int(si) * f)
    return out


def _check_certificate(X: np.ndarray, s: np.ndarray, cert: object) -> None:
    """λ ≥ 0, Σλ = 1, and the two weighted hull points coincide, all in exact arithmetic."""
    lam = [Fraction(w) for w in cert.weights]  # type: ignore[attr-defined]
    assert all(v > 0 for v in lam) and sum(lam) == 1
    d = X.shape[1]
    pos = [Fraction(0)] * d
    neg = [Fraction(0)] * d
    w_pos = w_neg = Fraction(0)
    for w, i in zip(lam, cert.indices, strict=True):  # type: ignore[attr-defined]
        coords = [Fraction(float(v)) for v in X[i]]
        if s[i] > 0:
            w_pos += w
            pos = [a + w * c for a, c in zip(pos, coords, strict=True)]
        else:
            w_neg += w
            neg = [a + w * c for a, c in zip(neg, coords, strict=True)]
    assert w_pos == w_neg == Fraction(1, 2)
    assert pos == neg


def test_xor_certificate_text_and_exactness() -> None:
    with pytest.raises(NotSeparable) as info:
        separating_hyperplane(XOR_X, XOR_Y)
    cert = info.value.certificate
    assert cert.exact
    assert str(cert) == "½·(0,1) + ½·(1,0) = ½·(0,0) + ½·(1,1)"
    assert cert.common_point == (Fraction(1, 2), Fraction(1, 2))
    assert cert.to_latex().startswith(r"\tfrac{1}{2}\begin{pmatrix} 0 \\ 1 \end{pmatrix} + ")
    assert cert.verify(XOR_X, XOR_Y)
    assert "½·(0,1) + ½·(1,0) = ½·(0,0) + ½·(1,1)" in str(info.value)
    _check_certificate(np.array(XOR_X, float), np.array([-1, 1, 1, -1]), cert)
    with pytest.raises(NotSeparable):
        separating_hyperplane(XOR_X, XOR_Y, margin="any")


def test_certificate_uses_thirds_and_other_fractions() -> None:
    # (1,1) is the centroid of a triangle of the other class: weights 1/3 each, the lone point weight 1.
    X = [[0, 0], [3, 0], [0, 3], [1, 1]]
    y = [0, 0, 0, 1]
    with pytest.raises(NotSeparable) as info:
        separating_hyperplane(X, y)
    assert str(info.value.certificate) == "(1,1) = ⅓·(0,0) + ⅓·(3,0) + ⅓·(0,3)"


def test_seed_q2_max_margin_is_exact_and_optimal() -> None:
    h = separating_hyperplane(Q2_X, Q2_Y, margin="max")
    assert h.verified and h.exact and h.optimal_verified
    assert h.normal == (-2, 0) and h.offset == 1  # f = 1 − 2x1: the boundary x1 = 1/2, midway
    assert h.geometric_margin == pytest.approx(0.5)
    assert sorted(h.support) == [0, 1, 2, 3]
    assert h.classes == (0, 1)


def test_seed_q2_any_separates_exactly() -> None:
    h = separating_hyperplane(Q2_X, Q2_Y, margin="any")
    assert h.verified
    margins = _exact_margins(np.array(Q2_X, float), np.array([1, 1, -1, -1]), h)
    assert min(margins) == 1  # canonical form


def _separable(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    w = rng.normal(size=d)
    f = X @ w + rng.normal()
    keep = np.abs(f) > 0.1
    return X[keep], np.where(f[keep] > 0, 1, 0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("margin", ["any", "max"])
def test_random_separable_verified_exactly(seed: int, margin: str) -> None:
    X, y = _separable(seed, 120, 4)
    h = separating_hyperplane(X, y, margin=margin)
    assert h.verified and h.exact
    margins = _exact_margins(X, np.where(y == 1, 1, -1), h)
    assert min(margins) == 1
    assert sorted(h.support) == [i for i, m in enumerate(margins) if m == 1]


@pytest.mark.parametrize("seed", range(3))
def test_max_margin_matches_sklearn_svc(seed: int) -> None:
    svm = pytest.importorskip("sklearn.svm")
    X, y = _separable(seed + 10, 200, 3)
    s = np.where(y == 1, 1, -1)
    h = separating_hyperplane(X, y, margin="max")
    svc = svm.SVC(kernel="linear", C=1e8, tol=1e-8).fit(X, y)
    w, b = svc.coef_[0], svc.intercept_[0]
    svc_margin = np.min(s * (X @ w + b)) / np.linalg.norm(w)
    assert h.geometric_margin >= svc_margin - 1e-9
    assert h.geometric_margin == pytest.approx(svc_margin, rel=1e-4)
    cos = (h.coef @ w) / (np.linalg.norm(h.coef) * np.linalg.norm(w))
    assert cos > 1 - 1e-6
    assert h.optimal_verified


def test_max_margin_above_exact_limit_is_float_and_optimal() -> None:
    X, y = _separable(5, 400, 5)
    h = separating_hyperplane(X, y, margin="max", exact_limit=100)
    assert not h.verified and not h.exact
    s = np.where(y == 1, 1, -1)
    func = s * h.decision(X)
    assert func.min() == pytest.approx(1.0, abs=1e-9)
    exact = separating_hyperplane(X, y, margin="max")
    assert h.geometric_margin == pytest.approx(exact.geometric_margin, rel=1e-7)


def test_any_is_a_feasible_point_of_the_plain_lp() -> None:
    X, y = _separable(7, 300, 6)
    s = np.where(y == 1, 1, -1)
    h = separating_hyperplane(X, y, margin="any", verify=False)
    assert np.min(s * h.decision(X)) == pytest.approx(1.0)
    A = s[:, None] * np.hstack([X, np.ones((X.shape[0], 1))])
    res = linprog(np.zeros(7), A_ub=-A, b_ub=-np.ones(len(y)), bounds=(None, None), method="highs")
    assert res.status == 0  # the plain LP agrees that the data are separable


@pytest.mark.parametrize("seed", range(4))
def test_random_inseparable_certificates_are_exact(seed: int) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(80, 3))
    y = (rng.random(80) < 0.5).astype(int)
    with pytest.raises(NotSeparable) as info:
        separating_hyperplane(X, y)
    cert = info.value.certificate
    assert cert.exact and cert.verify(X, y)
    _check_certificate(X, np.where(y == 1, 1, -1), cert)
    assert len(cert.indices) <= X.shape[1] + 2  # a vertex: at most d + 2 points


@settings(max_examples=25)
@given(
    st.lists(
        st.tuples(st.integers(-3, 3), st.integers(-3, 3), st.sampled_from([0, 1])),
        min_size=2,
        max_size=12,
    )
)
def test_small_integer_sets_either_way_exactly(rows: list[tuple[int, int, int]]) -> None:
    X = np.array([[a, b] for a, b, _ in rows], dtype=float)
    y = np.array([c for _, _, c in rows])
    if len(set(y.tolist())) < 2:
        return
    s = np.where(y == 1, 1, -1)
    A = s[:, None] * np.hstack([X, np.ones((len(y), 1))])
    lp = linprog(np.zeros(3), A_ub=-A, b_ub=-np.ones(len(y)), bounds=(None, None), method="highs")
    try:
        h = separating_hyperplane(X, y)
    except NotSeparable as exc:
        assert lp.status == 2  # HiGHS agrees: infeasible
        _check_certificate(X, s, exc.certificate)
    else:
        assert lp.status == 0
        assert h.verified and min(_exact_margins(X, s, h)) == 1


def test_duplicate_point_in_both_classes() -> None:
    with pytest.raises(NotSeparable) as info:
        separating_hyperplane([[1, 2], [1, 2], [5, 5]], ["a", "b", "b"])
    assert str(info.value.certificate) == "(1,2) = (1,2)"
    assert info.value.certificate.classes == ("a", "b")


def test_any_two_labels_larger_is_positive() -> None:
    h = separating_hyperplane(Q2_X, ["low", "low", "high", "high"])
    # "low" > "high" as strings: the first two points are on the positive side
    assert h.classes == ("high", "low")
    assert np.all(h.decision(np.array(Q2_X[:2], float)) > 0)


def test_gordan_certificate_refuses_separable_rows() -> None:
    X = np.array([[0.0], [1.0]])
    with pytest.raises(ValueError, match="separable"):
        gordan_certificate(X, np.array([-1, 1]), np.arange(2), (0, 1))


def test_bad_input_messages() -> None:
    X = [[0.0, 1.0], [1.0, float("nan")], [2.0, 2.0]]
    with pytest.raises(ValueError, match=r"row 1, column 1"):
        separating_hyperplane(X, [0, 1, 1])
    with pytest.raises(ValueError, match="inf at row 2"):
        separating_hyperplane([[0.0], [1.0], [2.0]], [0.0, 1.0, float("inf")])
    with pytest.raises(ValueError, match="single class"):
        separating_hyperplane([[0.0], [1.0]], [1, 1])
    with pytest.raises(ValueError, match="different numbers of rows"):
        separating_hyperplane([[0.0], [1.0]], [0, 1, 1])
    with pytest.raises(ValueError, match="margin must be"):
        separating_hyperplane([[0.0], [1.0]], [0, 1], margin="big")  # type: ignore[arg-type]


def test_array_api_input() -> None:
    xp = pytest.importorskip("array_api_strict")
    h = separating_hyperplane(xp.asarray(np.array(Q2_X, float)), xp.asarray(Q2_Y))
    assert h.normal == (-2, 0) and h.offset == 1


def test_exact_solver_handles_larger_certificates_quickly() -> None:
    # d = 20 float data: the certificate has up to d + 2 points with 53-bit coordinates.
    rng = np.random.default_rng(11)
    X = rng.normal(size=(400, 20))
    y = rng.integers(0, 2, 400)
    with pytest.raises(NotSeparable) as info:
        separating_hyperplane(X, y, margin="any")
    cert = info.value.certificate
    assert cert.exact
    _check_certificate(X, np.where(y == 1, 1, -1), cert)


@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e150, 1e300])
@pytest.mark.parametrize("margin", ["any", "max"])
def test_extreme_scales(scale: float, margin: str) -> None:
    X = np.array(Q2_X, float) * scale
    h = separating_hyperplane(X, Q2_Y, margin=margin)
    assert h.verified
    assert min(_exact_margins(X, np.array([1, 1, -1, -1]), h)) == 1
    if margin == "max":
        assert h.geometric_margin == pytest.approx(0.5 * scale)
        assert h.optimal_verified
    assert "margin" in h.explain()


def test_extreme_scale_certificate_prints() -> None:
    X = np.array([[1e300, 0.0], [-1e300, 0.0], [0.0, 0.0]])
    with pytest.raises(NotSeparable) as info:
        separating_hyperplane(X, [0, 0, 1])
    assert str(info.value.certificate) == "(0,0) = ½·(1e+300,0) + ½·(-1e+300,0)"


def test_margin_below_rounding_is_flagged_not_certified() -> None:
    # Separable, but only by 1e-14 of the data's scale: no exact certificate can exist, and the answer
    # must not claim one.
    X = np.array([[0.0, 0.0], [2.0, 0.0], [1.0, 1e-14], [1.0, 1.0]])
    y = [0, 0, 1, 1]
    try:
        h = separating_hyperplane(X, y)
    except NotSeparable as exc:
        assert not exc.certificate.exact
        assert not exc.certificate.verify(X, y)
        assert "did not verify in exact arithmetic" in str(exc)
    else:
        assert h.verified
