"""LogisticRegression: objective and gradients, agreement with scikit-learn, stability, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.linear.exceptions import ConvergenceWarning, SeparableDataWarning
from chainrule.linear.logistic import LogisticRegression, choose_solver
from chainrule.linear.logistic_objective import make_objective
from chainrule.linear.logistic_solvers import lbfgs, newton
from chainrule.linear.sigmoid import (
    log1m_sigmoid,
    log_sigmoid,
    log_softmax,
    logsumexp,
    sigmoid,
    softmax,
    softplus,
)

sklearn_linear = pytest.importorskip("sklearn.linear_model")


def _data(n: int, d: int, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(k, d))
    logits = X @ W.T
    y = np.array([rng.choice(k, p=p) for p in softmax(logits, axis=1)])
    sw = rng.uniform(0.2, 3.0, size=n)
    return X, y, sw


def _fd_grad(f, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = h
        out[i] = (f(theta + e) - f(theta - e)) / (2 * h)
    return out


# ---- the sigmoid family -----------------------------------------------------------------------------------
def test_sigmoid_family_is_finite_and_exact_at_800() -> None:
    a = np.array([-800.0, -30.0, 0.0, 30.0, 800.0])
    assert np.all(np.isfinite(softplus(a))) and np.all(np.isfinite(log_sigmoid(a)))
    assert softplus(np.array([800.0]))[0] == 800.0
    assert log_sigmoid(np.array([-800.0]))[0] == -800.0
    assert log1m_sigmoid(np.array([800.0]))[0] == -800.0
    np.testing.assert_allclose(sigmoid(a) + sigmoid(-a), 1.0)
    # d/da log s(a) = 1 − s(a) and d/da log(1 − s(a)) = −s(a), by central differences.
    x = np.linspace(-20, 20, 41)
    h = 1e-5
    np.testing.assert_allclose(
        (log_sigmoid(x + h) - log_sigmoid(x - h)) / (2 * h), 1 - sigmoid(x), atol=1e-8
    )
    np.testing.assert_allclose(
        (log1m_sigmoid(x + h) - log1m_sigmoid(x - h)) / (2 * h), -sigmoid(x), atol=1e-8
    )


def test_softmax_family_rows() -> None:
    Z = np.array([[800.0, 0.0, -800.0], [1.0, 2.0, 3.0]])
    P = softmax(Z, axis=1)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(logsumexp(Z, axis=1)[0], 800.0)
    np.testing.assert_allclose(np.exp(log_softmax(Z, axis=1)), P, atol=1e-300)


def test_sigmoid_family_array_api_path() -> None:
    xp = pytest.importorskip("array_api_strict")
    a = xp.asarray([-800.0, -1.0, 0.0, 2.0, 800.0])
    ref = np.array([-800.0, -1.0, 0.0, 2.0, 800.0])
    np.testing.assert_allclose(np.asarray(softplus(a)), softplus(ref))
    np.testing.assert_allclose(np.asarray(sigmoid(a)), sigmoid(ref))
    Z = xp.asarray([[1.0, 2.0], [800.0, -800.0]])
    np.testing.assert_allclose(
        np.asarray(logsumexp(Z, axis=1)), logsumexp(np.array([[1.0, 2.0], [800.0, -800.0]]), 1)
    )


# ---- objective, gradient, Hessian -------------------------------------------------------------------------
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("C", [0.3, np.inf])
def test_gradient_and_hessian_match_finite_differences(k: int, weighted: bool, C: float) -> None:
    X, y, sw = _data(60, 4, k, seed=k)
    obj = make_objective(X, y, k, sw if weighted else None, C, True)
    theta = np.random.default_rng(7).normal(scale=0.5, size=obj.size)
    f, g = obj.loss_grad(theta)
    f2, g2, H = obj.loss_grad_hess(theta)
    assert f == pytest.approx(obj.loss(theta), rel=1e-14)
    assert f2 == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(g2, g, atol=1e-14)
    np.testing.assert_allclose(g, _fd_grad(obj.loss, theta), atol=1e-8)
    H_fd = np.array(
        [_fd_grad(lambda t, i=i: obj.loss_grad(t)[1][i], theta) for i in range(obj.size)]
    )
    np.testing.assert_allclose(H, H_fd, atol=1e-7)


def test_binary_gradient_is_the_seed_formula() -> None:
    """∇_w of Σ ℓ_i (unscaled, unpenalized) is Σ x_i (h(x_i) − y_i)."""
    X, y, _ = _data(40, 3, 2, seed=3)
    obj = make_objective(X, y, 2, None, np.inf, False)
    w = np.array([0.3, -0.2, 0.5])
    _, g = obj.loss_grad(w)
    seed_formula = X.T @ (sigmoid(X @ w) - y)
    np.testing.assert_allclose(g * obj.weight_sum, seed_formula, rtol=1e-12)


def test_objective_is_sklearns_exactly() -> None:
    X, y, sw = _data(50, 3, 2, seed=4)
    C = 0.7
    obj = make_objective(X, y, 2, sw, C, True)
    theta = np.array([0.1, -0.4, 0.2, 0.3])
    z = X @ theta[:3] + theta[3]
    direct = C * np.sum(sw * (np.log1p(np.exp(z)) - y * z)) + 0.5 * theta[:3] @ theta[:3]
    assert obj.sklearn_objective(theta) == pytest.approx(direct, rel=1e-13)


@given(
    scale=st.floats(min_value=1.0, max_value=1e3),
    seed=st.integers(min_value=0, max_value=10_000),
)
@settings(max_examples=25)
def test_loss_and_gradient_finite_for_huge_margins(scale: float, seed: int) -> None:
    X, y, _ = _data(30, 2, 2, seed=seed % 50)
    obj = make_objective(X, y, 2, None, 1.0, True)
    theta = np.array([scale, -scale, 800.0])
    f, g = obj.loss_grad(theta)
    _, _, H = obj.loss_grad_hess(theta)
    assert np.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))


def test_margin_800_exact_values() -> None:
    # One sample with z = ±800: the loss is 800 when wrong and e^-800 (≈ 0) when right.
    X = np.array([[1.0], [1.0]])
    obj = make_objective(X, np.array([0, 1]), 2, None, np.inf, False)
    f, g = obj.loss_grad(np.array([800.0]))
    assert f == pytest.approx(800.0 / 2)
    assert g[0] == pytest.approx(0.5)


# ---- fits against scikit-learn ----------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("k", [2, 4])
@pytest.mark.parametrize("weighted", [False, True])
def test_matches_sklearn_l2(solver: str, k: int, weighted: bool) -> None:
    X, y, sw = _data(200, 5, k, seed=10 + k)
    weights = sw if weighted else None
    ours = LogisticRegression(C=0.5, solver=solver, tol=1e-10, max_iter=500).fit(X, y, weights)
    ref = sklearn_linear.LogisticRegression(C=0.5, tol=1e-10, max_iter=1000).fit(X, y, weights)
    assert ours.coef_.shape == ref.coef_.shape
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-7)
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))
    assert ours.converged_


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_matches_sklearn_unpenalized(solver: str) -> None:
    X, y, sw = _data(300, 3, 2, seed=21)
    ours = LogisticRegression(penalty=None, solver=solver, tol=1e-10).fit(X, y, sw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's own deprecation notes about `penalty`
        ref = sklearn_linear.LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(X, y, sw)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)


def test_unpenalized_multinomial_probabilities_match_sklearn() -> None:
    X, y, _ = _data(300, 3, 3, seed=22)
    ours = LogisticRegression(penalty=None, tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sklearn_linear.LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(X, y)
    # Softmax coefficients are identified only up to a shift shared by all classes: compare probabilities.
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-6)


def test_solvers_agree_and_sample_weights_equal_repeats() -> None:
    X, y, _ = _data(80, 3, 3, seed=5)
    counts = np.random.default_rng(0).integers(0, 3, size=80)
    a = LogisticRegression(solver="newton", tol=1e-10).fit(X, y, sample_weight=counts)
    b = LogisticRegression(solver="lbfgs", tol=1e-10).fit(
        np.repeat(X, counts, 0), np.repeat(y, counts)
    )
    np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-6)


def test_string_labels_and_methods() -> None:
    X, y, _ = _data(100, 2, 2, seed=6)
    labels = np.array(["no", "yes"])[y]
    model = LogisticRegression().fit(X, labels)
    assert list(model.classes_) == ["no", "yes"]
    P = model.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), P)
    z = model.decision_function(X)
    assert z.shape == (100,)
    np.testing.assert_array_equal(model.predict(X), np.where(z > 0, "yes", "no"))
    assert model.score(X, labels) == pytest.approx(np.mean(model.predict(X) == labels))


def test_log_proba_finite_at_huge_margins() -> None:
    model = LogisticRegression(penalty=None).fit(
        np.array([[0.0], [1.0], [0.2], [0.9]]), [0, 1, 1, 0]
    )
    model.coef_ = np.array([[1e4]])
    logp = model.predict_log_proba(np.array([[-1.0], [1.0]]))
    assert np.all(np.isfinite(logp))
    assert logp[0, 1] == pytest.approx(-1e4 + model.intercept_[0], rel=1e-9)


def test_params_repr_and_choose_solver() -> None:
    model = LogisticRegression(C=2.0, solver="newton")
    assert model.get_params()["C"] == 2.0
    assert repr(model) == "LogisticRegression(C=2.0, solver='newton')"
    assert model.set_params(tol=1e-6) is model and model.tol == 1e-6
    with pytest.raises(ValueError, match="Invalid parameter 'alpha'"):
        model.set_params(alpha=1.0)
    assert choose_solver(569, 30, 2, True) == "newton"
    assert choose_solver(1000, 500, 2, True) == "lbfgs"
    assert choose_solver(10, 30, 2, True) == "lbfgs"


# ---- separation and convergence ---------------------------------------------------------------------------
@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_separable_unpenalized_warns_with_direction(solver: str) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] - 2 * X[:, 1] > 0.1).astype(int)
    with pytest.warns(SeparableDataWarning, match="separable") as record:
        model = LogisticRegression(penalty=None, solver=solver).fit(X, y)
    direction = model.separated_
    assert direction is not None and np.all(np.isfinite(model.coef_))
    assert record[0].message.direction is direction
    signed = np.where(y == 1, 1.0, -1.0) * (X @ direction[:2] + direction[2])
    assert np.all(signed >= -1e-9) and np.any(signed > 0)
    assert model.score(X, y) == 1.0
    with pytest.raises(ValueError, match="separable"):
        model.summary()


def test_quasi_separable_found_by_lp() -> None:
    # x1 <= 0 always class 0, x1 >= 0 always class 1, with ties at x1 = 0 in both classes.
    X = np.array([[-2.0, 1.0], [-1.0, -1.0], [0.0, 0.5], [0.0, -0.5], [1.0, 2.0], [2.0, 0.0]])
    y = np.array([0, 0, 0, 1, 1, 1])
    with pytest.warns(SeparableDataWarning):
        model = LogisticRegression(penalty=None, solver="newton", max_iter=50).fit(X, y)
    assert model.separated_ is not None


def test_convergence_warning_says_what_to_do() -> None:
    X, y, _ = _data(200, 5, 2, seed=8)
    with pytest.warns(ConvergenceWarning, match="Increase max_iter.*scale the data"):
        model = LogisticRegression(solver="lbfgs", max_iter=1, tol=1e-12).fit(X * 100, y)
    assert not model.converged_


# ---- bad input --------------------------------------------------------------------------------------------
def test_bad_input_errors() -> None:
    X, y, _ = _data(20, 3, 2, seed=9)
    model = LogisticRegression()
    Xn = X.copy()
    Xn[4, 2] = np.nan
    with pytest.raises(ValueError, match="X contains NaN at row 4, column 2"):
        model.fit(Xn, y)
    with pytest.raises(ValueError, match="1 class"):
        model.fit(X, np.zeros(20))
    with pytest.raises(ValueError, match=r"\(20, 3\).*\(19,\)"):
        model.fit(X, y[:19])
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        model.fit(X, np.linspace(0, 1, 20))
    with pytest.raises(ValueError, match="sample weights are all zero"):
        model.fit(X, y, sample_weight=np.zeros(20))
    with pytest.raises(ValueError, match="negative at row 3"):
        model.fit(X, y, sample_weight=np.array([1.0, 1, 1, -1] + [1.0] * 16))
    with pytest.raises(ValueError, match="C must be a positive number"):
        LogisticRegression(C=0.0).fit(X, y)
    with pytest.raises(ValueError, match="solver must be one of"):
        LogisticRegression(solver="sag").fit(X, y)
    with pytest.raises(ValueError, match="not fitted"):
        LogisticRegression().predict(X)
    model.fit(X, y)
    with pytest.raises(ValueError, match="X has 2 features, but LogisticRegression is expecting 3"):
        model.predict(X[:, :2])


def test_fit_runs_the_solvers_functions_directly() -> None:
    X, y, _ = _data(100, 3, 2, seed=12)
    obj = make_objective(X, y, 2, None, 1.0, True)
    a = lbfgs(obj, np.zeros(obj.size), tol=1e-10, max_iter=200)
    b = newton(obj, np.zeros(obj.size), tol=1e-10, max_iter=50)
    assert a.converged and b.converged
    assert b.n_iter < a.n_iter
    np.testing.assert_allclose(a.theta, b.theta, atol=1e-7)


def test_separable_multinomial_warns() -> None:
    rng = np.random.default_rng(1)
    centers = np.array([[0.0, 6.0], [6.0, 0.0], [-6.0, -6.0]])
    y = np.arange(90) % 3
    X = centers[y] + rng.normal(scale=0.5, size=(90, 2))
    with pytest.warns(SeparableDataWarning, match="classifies every sample correctly"):
        model = LogisticRegression(penalty=None).fit(X, y)
    assert model.separated_ is not None and model.score(X, y) == 1.0


@pytest.mark.parametrize("k", [2, 3])
def test_no_intercept_matches_sklearn(k: int) -> None:
    X, y, _ = _data(150, 3, k, seed=30 + k)
    ours = LogisticRegression(fit_intercept=False, solver="newton", tol=1e-10).fit(X, y)
    ref = sklearn_linear.LogisticRegression(fit_intercept=False, tol=1e-10, max_iter=1000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_array_equal(ours.intercept_, np.zeros_like(ref.intercept_))


def test_accepts_array_api_arrays() -> None:
    xp = pytest.importorskip("array_api_strict")
    X, y, _ = _data(60, 2, 2, seed=40)
    model = LogisticRegression().fit(xp.asarray(X), xp.asarray(y))
    reference = LogisticRegression().fit(X, y)
    np.testing.assert_allclose(model.coef_, reference.coef_)
    np.testing.assert_array_equal(model.predict(xp.asarray(X)), reference.predict(X))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"max_iter": True}, "max_iter must be a non-negative integer"),
        ({"C": True}, "C must be a positive number"),
        ({"tol": False}, "tol must be a non-negative number"),
        ({"solver": "sag"}, "solver must be one of"),
        ({"penalty": "L1"}, "penalty must be one of 'l2', 'l1', 'elasticnet', 'none' or None"),
        ({"l1_ratio": 1.5}, r"l1_ratio must be a number in \[0, 1\] or None"),
        ({"class_weight": "even"}, "class_weight must be one of 'balanced', a dict"),
    ],
)
def test_bad_hyperparameters_are_refused(params: dict[str, object], message: str) -> None:
    # A bool is an int to Python, but max_iter=True is a mistake, not one iteration.
    with pytest.raises(ValueError, match=message):
        LogisticRegression(**params).fit([[0.0], [1.0]], [0, 1])  # type: ignore[arg-type]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_chunked_binary_passes_match_the_dense_formulas(
    weighted: bool, fit_intercept: bool
) -> None:
    # Tall data go through the chunked passes; small chunks make several (and a ragged last one) here.
    rng = np.random.default_rng(5)
    n, d = 103, 4
    X = rng.normal(size=(n, d))
    y = (rng.random(n) < 0.4).astype(np.int64)
    sw = rng.uniform(0.0, 2.0, n) if weighted else None
    obj = make_objective(X, y, 2, sw, 0.7, fit_intercept)
    obj.chunk_rows = 10
    theta = rng.normal(size=obj.size)
    f, g = obj.loss_grad(theta)
    f2, g2, H = obj.loss_grad_hess(theta)
    Xt = np.column_stack([X, np.ones(n)]) if fit_intercept else X
    s = np.ones(n) if sw is None else sw
    z = Xt @ theta
    p = 1.0 / (1.0 + np.exp(-z))
    S = s.sum()
    mask = obj.penalty_mask()
    alpha = 1.0 / (0.7 * S)
    f_ref = (s @ (np.logaddexp(0.0, z) - y * z)) / S + 0.5 * alpha * np.sum((theta * mask) ** 2)
    g_ref = Xt.T @ (s * (p - y)) / S + alpha * theta * mask
    H_ref = (Xt * (s * p * (1 - p))[:, None]).T @ Xt / S + alpha * np.diag(mask)
    assert f == pytest.approx(f_ref, rel=1e-12) and f2 == pytest.approx(f_ref, rel=1e-12)
    np.testing.assert_allclose(g, g_ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g2, g_ref, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(H, H_ref, rtol=1e-10, atol=1e-14)
