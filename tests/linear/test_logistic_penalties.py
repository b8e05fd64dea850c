"""L1 and elastic-net penalties, class weights, warm starts, max_iter=0 and sparse X for
LogisticRegression; one-vs-rest, class weights and sparse X for the Perceptron."""

from __future__ import annotations

import pathlib
import warnings

import numpy as np
import pytest
import scipy.sparse

from chainrule.linear import ConvergenceWarning, LogisticRegression, Perceptron
from chainrule.linear._weights import class_weights
from chainrule.linear.logistic_objective import make_objective
from chainrule.linear.logistic_solvers import min_norm_subgradient


def _data(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X @ [1.0, -2.0, 0.0, 0.0, 0.5] + rng.logistic(size=n) > 0).astype(int)
    y3 = np.digitize(X[:, 0] + 0.5 * rng.logistic(size=n), [-0.5, 0.5])
    return X, y, y3


def _objective(
    X: np.ndarray, y: np.ndarray, coef: np.ndarray, b: float, C: float, rho: float
) -> float:
    """sklearn's elastic-net objective, written out here for the binary case."""
    z = X @ coef + b
    loss = np.sum(np.logaddexp(0.0, z) - y * z)
    return float(C * loss + 0.5 * (1 - rho) * coef @ coef + rho * np.abs(coef).sum())


@pytest.mark.parametrize("rho", [1.0, 0.5])
def test_l1_and_elastic_net_match_sklearn_saga(rho: float) -> None:
    sk = pytest.importorskip("sklearn.linear_model")
    X, y, _ = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sk.LogisticRegression(
            C=0.05, l1_ratio=rho, solver="saga", tol=1e-12, max_iter=100_000
        ).fit(X, y)
    penalty = "l1" if rho == 1.0 else "elasticnet"
    ours = LogisticRegression(
        penalty=penalty, l1_ratio=None if rho == 1 else rho, C=0.05, tol=1e-12
    )
    ours.fit(X, y)
    assert ours.solver_ == "prox-newton" and ours.converged_
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-9)
    # The zeros are exact zeros, where sklearn's are, and the objective is sklearn's.
    np.testing.assert_array_equal(ours.coef_ == 0, ref.coef_ == 0)
    assert np.sum(ours.coef_ == 0) >= 2
    mine = _objective(X, y, ours.coef_[0], float(ours.intercept_[0]), 0.05, rho)
    assert ours.objective_ == pytest.approx(mine, rel=1e-12)


def test_multinomial_l1_matches_sklearn_saga() -> None:
    sk = pytest.importorskip("sklearn.linear_model")
    X, _, y3 = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = sk.LogisticRegression(
            C=0.05, l1_ratio=1.0, solver="saga", tol=1e-12, max_iter=100_000
        ).fit(X, y3)
    ours = LogisticRegression(penalty="l1", C=0.05, tol=1e-12).fit(X, y3)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-9)


def test_prox_newton_meets_the_optimality_conditions() -> None:
    X, y, _ = _data(seed=3)
    model = LogisticRegression(penalty="l1", C=0.1, tol=1e-9).fit(X, y)
    obj = make_objective(X, y, 2, None, 0.1, True, 1.0)
    theta = np.r_[model.coef_[0], model.intercept_]
    _, g = obj.loss_grad(theta)
    lam = obj.l1 * obj.penalty_mask()
    assert np.max(np.abs(min_norm_subgradient(theta, g, lam))) <= 1e-9
    # At a zero coefficient |g_j| ≤ λ; at a nonzero one g_j = −λ sign θ_j.
    zero = theta[:-1] == 0
    assert np.all(np.abs(g[:-1][zero]) <= obj.l1 + 1e-12)
    np.testing.assert_allclose(g[:-1][~zero], -obj.l1 * np.sign(theta[:-1][~zero]), atol=1e-9)


def test_elastic_net_ends_are_l1_and_l2() -> None:
    X, y, _ = _data()
    l2 = LogisticRegression(C=0.3, tol=1e-10).fit(X, y)
    en0 = LogisticRegression(penalty="elasticnet", l1_ratio=0.0, C=0.3, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(en0.coef_, l2.coef_, atol=1e-8)
    assert en0.solver_ != "prox-newton"  # no L1 part: a smooth solver
    l1 = LogisticRegression(penalty="l1", C=0.3, tol=1e-10).fit(X, y)
    en1 = LogisticRegression(penalty="elasticnet", l1_ratio=1.0, C=0.3, tol=1e-10).fit(X, y)
    np.testing.assert_allclose(en1.coef_, l1.coef_, atol=1e-10)


def test_penalty_parameter_errors() -> None:
    X, y, _ = _data()
    with pytest.raises(ValueError, match="l1_ratio must be set"):
        LogisticRegression(penalty="elasticnet").fit(X, y)
    with pytest.raises(ValueError, match="solver='newton' supports only penalty 'l2' or None"):
        LogisticRegression(penalty="l1", solver="newton").fit(X, y)
    with pytest.warns(UserWarning, match="ignores l1_ratio=0.5"):
        LogisticRegression(l1_ratio=0.5).fit(X, y)
    wide = np.zeros((3, 5000))
    wide[:, 0] = [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="more than its limit of 4096"):
        LogisticRegression(penalty="l1").fit(wide, [0, 1, 1])


@pytest.mark.parametrize("K", [2, 3])
@pytest.mark.parametrize("penalty", ["l2", "l1", None])
def test_sparse_X_gives_the_dense_fit(K: int, penalty: str | None) -> None:
    X, y, y3 = _data(seed=5)
    X = np.where(np.abs(X) > 0.8, X, 0.0)
    target = y if K == 2 else y3
    sparse = scipy.sparse.csr_matrix(X)
    kwargs = {"penalty": penalty, "tol": 1e-10, "C": 0.5 if penalty else 1.0}
    for solver in ("lbfgs", "newton") if penalty != "l1" else ("auto",):
        a = LogisticRegression(solver=solver, **kwargs).fit(sparse, target)  # type: ignore[arg-type]
        b = LogisticRegression(solver=solver, **kwargs).fit(X, target)  # type: ignore[arg-type]
        np.testing.assert_allclose(a.coef_, b.coef_, atol=1e-7)
        np.testing.assert_allclose(a.intercept_, b.intercept_, atol=1e-7)
        np.testing.assert_allclose(a.predict_proba(sparse), b.predict_proba(X), atol=1e-9)
    assert isinstance(a.coef_, np.ndarray)
    # Other sparse formats are converted to CSR, not to a dense array.
    c = LogisticRegression(**kwargs).fit(scipy.sparse.coo_matrix(X), target)  # type: ignore[arg-type]
    np.testing.assert_allclose(c.coef_, b.coef_, atol=1e-7)


def test_sparse_X_errors_name_row_and_column() -> None:
    X = scipy.sparse.csr_matrix(np.array([[0.0, 1.0], [np.nan, 0.0], [0.0, 2.0]]))
    with pytest.raises(ValueError, match="row 1, column 0"):
        LogisticRegression().fit(X, [0, 1, 1])
    fitted = LogisticRegression().fit(scipy.sparse.csr_matrix(np.eye(3)[:, :2]), [0, 1, 1])
    with pytest.raises(ValueError, match="has 3 features, but LogisticRegression is expecting 2"):
        fitted.predict(scipy.sparse.csr_matrix(np.eye(3)))


def test_class_weight_is_a_sample_weight_per_class() -> None:
    X, y, y3 = _data()
    n0, n1 = np.bincount(y)
    balanced = LogisticRegression(class_weight="balanced", tol=1e-10).fit(X, y)
    by_hand = LogisticRegression(tol=1e-10).fit(
        X, y, sample_weight=np.where(y == 1, len(y) / (2 * n1), len(y) / (2 * n0))
    )
    np.testing.assert_allclose(balanced.coef_, by_hand.coef_, atol=1e-9)
    as_dict = LogisticRegression(class_weight={2: 3.0}, tol=1e-10).fit(X, y3)
    weights = np.where(y3 == 2, 3.0, 1.0)
    by_weights = LogisticRegression(tol=1e-10).fit(X, y3, sample_weight=weights)
    np.testing.assert_allclose(as_dict.coef_, by_weights.coef_, atol=1e-9)
    # Balanced weights with sample weights: the classes' weighted counts (sklearn's rule).
    sw = np.linspace(0.5, 2.0, len(y))
    got = class_weights("balanced", np.array([0, 1]), y, sw)
    counts = np.array([sw[y == 0].sum(), sw[y == 1].sum()])
    np.testing.assert_allclose(got, counts.sum() / (2 * counts))
    with pytest.raises(ValueError, match=r"not classes of y: \[7\]"):
        LogisticRegression(class_weight={7: 2.0}).fit(X, y)
    with pytest.raises(ValueError, match="must be finite and >= 0"):
        LogisticRegression(class_weight={0: -1.0}).fit(X, y)


def test_warm_start_continues_and_checks_shapes() -> None:
    X, y, y3 = _data()
    model = LogisticRegression(warm_start=True, tol=1e-8).fit(X, y)
    first = model.coef_.copy()
    assert model.fit(X, y).n_iter_[0] == 0  # already optimal
    np.testing.assert_array_equal(model.coef_, first)
    with pytest.raises(ValueError, match="warm_start"):
        model.fit(X, y3)
    # One Newton step from the optimum of a nearby problem lands closer than one from zero.
    near = LogisticRegression(warm_start=True, C=0.9, tol=1e-10).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        near.set_params(C=1.0, max_iter=1, solver="newton").fit(X, y)
        zero = LogisticRegression(C=1.0, max_iter=1, solver="newton").fit(X, y)
    best = LogisticRegression(C=1.0, tol=1e-12).fit(X, y)
    assert np.abs(near.coef_ - best.coef_).max() < np.abs(zero.coef_ - best.coef_).max()


def test_max_iter_zero_keeps_the_start() -> None:
    X, y, _ = _data()
    with pytest.warns(ConvergenceWarning, match="max_iter=0"):
        model = LogisticRegression(max_iter=0).fit(X, y)
    assert model.n_iter_[0] == 0 and not model.converged_
    np.testing.assert_array_equal(model.coef_, 0.0)
    np.testing.assert_allclose(model.predict_proba(X), 0.5)
    assert model.objective_ == pytest.approx(len(y) * np.log(2.0))


def test_new_parameters_are_saved_and_old_files_unchanged(tmp_path: pathlib.Path) -> None:
    X, y, _ = _data()
    model = LogisticRegression(penalty="l1", C=0.5, class_weight={0: 2.0, 1: 1.0}).fit(X, y)
    model.save(tmp_path / "m")
    back = LogisticRegression.load(tmp_path / "m")
    assert back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.coef_, model.coef_)
    plain = LogisticRegression().fit(X, y)._fitted_state()
    assert not {"l1_ratio", "class_weight", "warm_start"} & set(plain["params"])


def test_perceptron_one_vs_rest_matches_per_class_binary_fits() -> None:
    rng = np.random.default_rng(2)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    labels = np.repeat([0, 1, 2], 20)
    X = centres[labels] + rng.normal(size=(60, 2))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a class may overlap the rest: the runs still compare
        ovr = Perceptron(compute_bound=False).fit(X, labels)
    assert ovr.coef_.shape == (3, 2) and ovr.intercept_.shape == (3,)
    for k in range(3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            one = Perceptron(compute_bound=False).fit(X, (labels == k).astype(int))
        np.testing.assert_array_equal(ovr.coef_[k], one.coef_[0])
        assert ovr.intercept_[k] == one.intercept_[0]
    Z = X @ ovr.coef_.T + ovr.intercept_
    np.testing.assert_array_equal(ovr.predict(X), np.argmax(Z, axis=1))
    assert ovr.score(X, labels) > 0.9
    # partial_fit one-vs-rest: one epoch per class
    part = Perceptron().partial_fit(X, labels, classes=[0, 1, 2])
    assert part.coef_.shape == (3, 2)


def test_perceptron_class_weight_scales_updates_and_the_bound() -> None:
    X = np.array([[0.0, 0.0], [0.0, -1.0], [1.0, 0.0], [1.0, -1.0]])
    y = np.array([1, 1, 0, 0])
    plain_fit = Perceptron().fit(X, y)
    weighted = Perceptron(class_weight={0: 2.0, 1: 2.0}).fit(X, y)
    # Equal weights of 2 are the rule with η doubled: the same mistakes, weights twice as large.
    np.testing.assert_allclose(weighted.coef_, 2 * plain_fit.coef_)
    assert weighted.n_mistakes_ == plain_fit.n_mistakes_
    uneven = Perceptron(class_weight={0: 3.0}).fit(X, y)
    assert uneven.mistake_bound_ == pytest.approx(plain_fit.mistake_bound_ * 9)
    assert uneven.n_mistakes_ <= uneven.mistake_bound_
    with pytest.raises(ValueError, match="balanced"):
        Perceptron(class_weight="balanced").partial_fit(X, y)


def test_perceptron_sparse_input_and_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule.linear import perceptron

    X = np.array([[0.0, 0.0], [0.0, -1.0], [1.0, 0.0], [1.0, -1.0]])
    y = [1, 1, 0, 0]
    dense = Perceptron().fit(X, y)
    sparse = Perceptron().fit(scipy.sparse.csr_matrix(X), y)
    np.testing.assert_array_equal(sparse.coef_, dense.coef_)
    np.testing.assert_array_equal(sparse.predict(scipy.sparse.csr_matrix(X)), dense.predict(X))
    monkeypatch.setattr(perceptron, "DENSE_LIMIT", 7)
    with pytest.raises(ValueError, match="makes a sparse X dense only up to 7 entries"):
        Perceptron().fit(scipy.sparse.csr_matrix(X), y)


def test_auto_solver_compares_measured_pass_costs(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule.linear import logistic

    monkeypatch.delenv(logistic.MEASURE_ENV_VAR, raising=False)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60_000, 40))
    y = (X[:, 0] + rng.logistic(size=60_000) > 0).astype(int)
    obj = make_objective(X, y, 2, None, 1.0, True)
    t_grad, t_hess = logistic.measure_passes(obj)
    assert 0 < t_grad < 10 and 0 < t_hess < 10
    # The decision is the cheaper predicted total: NEWTON_PASSES Hessian passes (plus Cholesky)
    # against LBFGS_PASSES gradient passes.
    for grad, hess, expected in [(1.0, 2.0, "newton"), (1.0, 5.0, "lbfgs")]:
        monkeypatch.setattr(logistic, "measure_passes", lambda o, g=grad, h=hess: (g, h))
        solver, costs = logistic.choose_solver_measured(obj)
        assert solver == expected
        assert costs is not None
        assert costs["lbfgs"] == pytest.approx(logistic.LBFGS_PASSES * grad)
        assert costs["newton"] >= logistic.NEWTON_PASSES * hess
        model = LogisticRegression().fit(X, y)
        assert model.solver_ == expected and model.auto_costs_ == costs
    # Small problems are not measured; too many parameters or too few samples never pick Newton.
    small = make_objective(X[:500, :5], y[:500], 2, None, 1.0, True)
    assert logistic.choose_solver_measured(small) == ("newton", None)
    few = make_objective(X[:60], y[:60], 2, None, 1.0, True)
    assert logistic.choose_solver_measured(few) == ("lbfgs", None)


def test_summary_refuses_an_l1_fit() -> None:
    X, y, _ = _data()
    with pytest.raises(ValueError, match="no standard errors for penalty='l1'"):
        LogisticRegression(penalty="l1").fit(X, y).summary()


def test_l1_on_dask_arrays_matches_in_memory() -> None:
    da = pytest.importorskip("dask.array")
    X, y, _ = _data(n=2000, seed=4)
    lazy = LogisticRegression(penalty="l1", C=0.01, tol=1e-10).fit(
        da.from_array(X, chunks=500), da.from_array(y, chunks=500)
    )
    eager = LogisticRegression(penalty="l1", C=0.01, tol=1e-10).fit(X, y)
    assert lazy.solver_ == "prox-newton"
    np.testing.assert_allclose(lazy.coef_, eager.coef_, atol=1e-10)
    assert np.sum(eager.coef_ == 0) >= 1
    with pytest.raises(ValueError, match="class_weight is not supported on Dask"):
        LogisticRegression(class_weight="balanced").fit(da.from_array(X, chunks=500), y)


def _blobs() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_blobs

    X, y = make_blobs(150, 4, centers=3, random_state=1, cluster_std=0.6)
    return np.asarray(X), np.asarray(y)


@pytest.mark.parametrize("class_weight", [{0: 2.0}, {1: 0.0, 2: 3.0}, "balanced"])
def test_perceptron_one_vs_rest_class_weight_matches_sklearn(class_weight: object) -> None:
    from sklearn.linear_model import Perceptron as SkPerceptron

    X, y = _blobs()
    X, y = X[:120], y[:120]  # unequal class counts, so that "balanced" weighs them differently
    ours = Perceptron(max_iter=50, class_weight=class_weight).fit(X, y)
    ref = SkPerceptron(max_iter=50, shuffle=False, tol=None, class_weight=class_weight).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-12)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-12)
    # sklearn's one-vs-rest rule: run k weighs class k by c_k and every other sample by 1.
    cw = class_weights(class_weight, np.arange(3), y, None)
    for k in np.flatnonzero(cw > 0):  # (a binary fit with one class of weight 0 is refused)
        one = Perceptron(max_iter=50, class_weight={1: cw[k], 0: 1.0}).fit(X, (y == k).astype(int))
        np.testing.assert_array_equal(ours.coef_[k], one.coef_[0])
    part = Perceptron(class_weight={0: 2.0}).partial_fit(X, y, classes=[0, 1, 2])
    ref_part = SkPerceptron(shuffle=False, tol=None, class_weight={0: 2.0})
    ref_part.partial_fit(X, y, classes=[0, 1, 2])
    np.testing.assert_allclose(part.coef_, ref_part.coef_, atol=1e-12)


def test_balanced_class_weight_refuses_a_class_of_zero_weight() -> None:
    X, _, y3 = _data()
    sw = np.where(y3 == 2, 0.0, 1.0)
    with pytest.raises(ValueError, match="samples of class 2 weigh 0"):
        LogisticRegression(class_weight="balanced").fit(X, y3, sample_weight=sw)
    with pytest.raises(ValueError, match="samples of class 2 weigh 0"):
        class_weights("balanced", np.arange(3), y3, sw)
    # Without "balanced" such a class is allowed (its samples simply count for nothing).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = LogisticRegression().fit(X, y3, sample_weight=sw)
    assert np.all(np.isfinite(fit.coef_)) and np.abs(fit.coef_).max() > 0.1


def test_class_weight_leaving_one_class_is_refused() -> None:
    X, _, y3 = _data()
    for model in (
        LogisticRegression(class_weight={0: 0, 1: 0}),
        Perceptron(class_weight={0: 0, 1: 0}),
    ):
        with pytest.raises(ValueError, match=r"1 class .*\(2\).*at least 2 classes"):
            model.fit(X, y3)
    with pytest.raises(ValueError, match="at least 2 classes"):
        LogisticRegression(class_weight={0: 0, 1: 0, 2: 0}).fit(X, y3)
    online = Perceptron(class_weight={0: 0, 1: 0})
    with pytest.raises(ValueError, match=r"1 class .*\(2\).*at least 2 classes"):
        online.partial_fit(X[:5], y3[:5], classes=[0, 1, 2])
    assert not hasattr(online, "classes_")  # refused before any state was set
    # Two classes left with a positive weight: a fit.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the classes overlap: a CyclingWarning
        assert Perceptron(class_weight={0: 0}, max_iter=5).fit(X, y3).coef_.shape == (3, 5)


def test_perceptron_warm_start_refuses_other_classes_or_features() -> None:
    X, y, y3 = _data()
    model = Perceptron(warm_start=True, max_iter=5, compute_bound=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(X, y)
        with pytest.raises(ValueError, match=r"warm_start: .*classes \[0, 1\].*\[0, 1, 2\]"):
            model.fit(X, y3)
        with pytest.raises(ValueError, match=r"warm_start: .*\(1, 5\).*\(1, 4\)"):
            model.fit(X[:, :4], y)
        # The same classes and features continue from the previous weights.
        model.set_params(max_iter=1).fit(X, y)
        restart = Perceptron(max_iter=1, compute_bound=False).fit(X, y)
    assert not np.array_equal(model.coef_, restart.coef_)


def test_auto_measures_a_small_fraction_of_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from chainrule.linear import logistic, logistic_objective

    monkeypatch.delenv(logistic.MEASURE_ENV_VAR, raising=False)
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60_000, 40))
    y = (X[:, 0] + rng.logistic(size=60_000) > 0).astype(int)
    obj = make_objective(X, y, 2, None, 1.0, True)
    timed: dict[int, int] = {1: 0, 2: 0}
    real = logistic_objective.block_sums

    def counting(Xb: np.ndarray, *args: object, order: int, **kwargs: object) -> object:
        timed[order] += Xb.shape[0]
        return real(Xb, *args, order=order, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(logistic_objective, "block_sums", counting)
    logistic.measure_passes(obj)
    assert 0 < timed[1] <= len(y) / 20 and 0 < timed[2] <= len(y) / 20
    # Too few rows for a block of MEASURE_MIN_ROWS within 1/MEASURE_FRACTION of them: the fixed rule,
    # nothing timed (n = 4096 rows would once have been timed whole, twice).
    for n, d in [(4096, 500), (4000, 499), (20_000, 120)]:
        assert logistic.measure_rows(n, logistic_objective.chunk_rows_for(d)) == 0
        Xs = rng.normal(size=(n, d))
        small = make_objective(Xs, (Xs[:, 0] > 0).astype(int), 2, None, 1.0, True)
        assert small.n_samples * small.size >= logistic.MEASURE_ABOVE
        timed[1] = timed[2] = 0
        got = logistic.choose_solver_measured(small)
        assert got == (logistic.choose_solver(n, d, 2, True), None) and timed == {1: 0, 2: 0}
        with pytest.raises(ValueError, match="too few to measure"):
            logistic.measure_passes(small)


@pytest.mark.parametrize("value", ["0", "off", "False", " no "])
def test_auto_measurement_can_be_turned_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from chainrule.linear import logistic

    def refuse(obj: object, repeats: int = 2) -> tuple[float, float]:
        raise AssertionError("measured although CHAINRULE_LOGISTIC_MEASURE=0")

    rng = np.random.default_rng(2)
    X = rng.normal(size=(60_000, 40))
    y = (X[:, 0] + rng.logistic(size=60_000) > 0).astype(int)
    obj = make_objective(X, y, 2, None, 1.0, True)
    monkeypatch.setattr(logistic, "measure_passes", refuse)
    monkeypatch.setenv("CHAINRULE_LOGISTIC_MEASURE", value)
    assert logistic.choose_solver_measured(obj) == (
        logistic.choose_solver(60_000, 40, 2, True),
        None,
    )
    model = LogisticRegression().fit(X, y)
    assert model.auto_costs_ is None and model.solver_ == "newton"
    monkeypatch.setenv("CHAINRULE_LOGISTIC_MEASURE", "1")
    with pytest.raises(AssertionError, match="measured although"):
        logistic.choose_solver_measured(obj)


@pytest.mark.parametrize(
    ("blocks", "stream"),
    [((0.004, 0.010, 0.003, 0.012), 0.01), ((0.0001, 0.0002, 0.0001, 0.0003), 0.5)],
)
def test_measured_passes_count_the_memory_time_once(
    monkeypatch: pytest.MonkeyPatch, blocks: tuple[float, ...], stream: float
) -> None:
    """With a scripted clock: each pass is its fastest block scaled to n rows, and never less than
    one streaming product over X; the stream is not added on top of the gradient pass (the blocks
    are read from memory once, like a real pass's chunks)."""
    from chainrule.linear import logistic

    rng = np.random.default_rng(4)
    X = rng.normal(size=(50_000, 48))
    y = (X[:, 0] > 0).astype(int)
    obj = make_objective(X, y, 2, None, 1.0, True)
    rows = logistic.measure_rows(obj.n_samples, obj.chunk_rows)
    assert rows > 0
    # perf_counter is read before and after each timed block (gradient, Hessian, gradient, Hessian),
    # then around the streaming product.
    durations = [*blocks, stream]
    ticks: list[float] = []
    now = 100.0
    for d in durations:
        ticks += [now, now + d]
        now += d + 1.0
    clock = iter(ticks)
    monkeypatch.setattr(logistic.time, "perf_counter", lambda: next(clock))
    t_grad, t_hess = logistic.measure_passes(obj)
    monkeypatch.undo()
    assert next(clock, None) is None  # every scripted tick was read: the order above is the code's
    scale = obj.n_samples / rows
    assert t_grad == pytest.approx(max(min(blocks[0], blocks[2]) * scale, stream))
    assert t_hess == pytest.approx(max(min(blocks[1], blocks[3]) * scale, stream))
