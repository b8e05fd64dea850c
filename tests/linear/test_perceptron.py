"""The classic perceptron: Novikoff's bound, cycling on inseparable data, the estimator API."""

import warnings

import numpy as np
import pytest

from chainrule.linear import CyclingWarning, LogisticRegression, Perceptron, separating_hyperplane


def _separable(seed: int, n: int = 200, d: int = 4) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    f = X @ rng.normal(size=d) + 0.4
    keep = np.abs(f) > 0.2
    return X[keep], (f[keep] > 0).astype(int)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("shuffle", [False, True])
def test_mistakes_within_novikoff_bound(seed: int, shuffle: bool) -> None:
    X, y = _separable(seed)
    p = Perceptron(shuffle=shuffle, random_state=seed).fit(X, y)
    assert p.converged_ and p.score(X, y) == 1.0
    assert 0 < p.n_mistakes_ <= p.mistake_bound_
    # R and γ, recomputed here: R over the augmented points, γ of the homogeneous max-margin separator.
    Z = np.hstack([X, np.ones((len(y), 1))])
    assert p.radius_ == pytest.approx(np.max(np.linalg.norm(Z, axis=1)))
    s = np.where(y == 1, 1, -1)
    v = np.concatenate([p.coef_[0], p.intercept_])
    assert (
        np.min(s * (Z @ v)) / np.linalg.norm(v) <= p.margin_ + 1e-9
    )  # no separator beats the max margin
    assert "within" in p.report()


def test_augmented_margin_is_at_least_the_svm_bound() -> None:
    X, y = _separable(3)
    p = Perceptron().fit(X, y)
    h = separating_hyperplane(X, y, margin="max", verify=False)
    # (w*, b*) scaled to unit length in the augmented space is one candidate for the augmented margin.
    assert p.margin_ >= 1 / np.sqrt(h.coef @ h.coef + h.intercept**2) - 1e-9


def test_xor_cycles_and_warns_with_certificate() -> None:
    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    with pytest.warns(CyclingWarning) as record:
        p = Perceptron().fit(X, [0, 1, 1, 0])
    warning = record[0].message
    assert isinstance(warning, CyclingWarning)
    assert str(warning.certificate) == "½·(0,1) + ½·(1,0) = ½·(0,0) + ½·(1,1)"
    assert "not linearly separable" in str(warning)
    assert p.cycle_ is not None and not p.converged_
    assert p.n_iter_ < 10 and p.mistake_bound_ == float("inf")


def test_inseparable_shuffled_stops_early_with_certificate() -> None:
    X, y = _separable(4)
    y = y.copy()
    y[:6] = 1 - y[:6]
    with pytest.warns(CyclingWarning) as record:
        p = Perceptron(shuffle=True, random_state=0, max_iter=500).fit(X, y)
    assert record[0].message.certificate is not None  # type: ignore[union-attr]
    assert p.n_iter_ < 500


def test_without_bound_it_still_detects_the_cycle() -> None:
    with pytest.warns(CyclingWarning, match="cycles"):
        p = Perceptron(compute_bound=False).fit([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0])
    assert p.certificate_ is None and p.mistake_bound_ is None


def test_matches_the_one_point_at_a_time_rule() -> None:
    X, y = _separable(5, n=60, d=3)
    s = np.where(y == 1, 1, -1)
    w, b = np.zeros(3), 0.0
    for _ in range(1000):
        mistakes = 0
        for xi, si in zip(X, s, strict=True):
            if si * (xi @ w + b) <= 0:
                w, b = w + si * xi, b + si
                mistakes += 1
        if mistakes == 0:
            break
    p = Perceptron().fit(X, y)
    np.testing.assert_allclose(p.coef_[0], w, atol=1e-9)
    assert p.intercept_[0] == pytest.approx(b)


def test_partial_fit_and_params() -> None:
    X, y = _separable(6)
    p = Perceptron()
    with pytest.raises(ValueError, match="classes"):
        p.partial_fit(X[:3][y[:3] == y[0]], y[:3][y[:3] == y[0]])
    p = Perceptron()
    for _ in range(200):
        p.partial_fit(X, y, classes=[0, 1])
        if p.converged_:
            break
    assert p.converged_ and p.score(X, y) == 1.0
    assert p.get_params()["max_iter"] == 1000
    assert p.set_params(max_iter=5).max_iter == 5
    with pytest.raises(ValueError, match="Invalid parameter 'nope' for estimator Perceptron"):
        p.set_params(nope=1)
    assert p.decision_function(X).shape == (len(y),)
    with pytest.raises(ValueError, match="not fitted"):
        Perceptron().predict(X)
    with pytest.raises(ValueError, match="expecting 4 features"):
        p.predict(X[:, :2])


def test_string_labels_and_bad_input() -> None:
    X, y = _separable(7)
    labels = np.where(y == 1, "spam", "ham")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = Perceptron().fit(X, labels)
    assert list(p.classes_) == ["ham", "spam"]
    assert np.all(p.predict(X) == labels)
    with pytest.raises(ValueError, match="row 2, column 0"):
        Perceptron().fit([[0.0], [1.0], [float("nan")]], [0, 1, 1])
    with pytest.raises(ValueError, match="single class"):
        Perceptron().fit([[0.0], [1.0]], [1, 1])


def test_unproven_failure_is_a_convergence_warning() -> None:
    from chainrule.linear.exceptions import ConvergenceWarning

    X = [[0, 0], [0, 1], [1, 0], [1, 1]]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        p = Perceptron(compute_bound=False, shuffle=True, random_state=1, max_iter=3).fit(
            X, [0, 1, 1, 0]
        )
    kinds = [type(w.message) for w in record]
    assert kinds == [ConvergenceWarning] and p.n_iter_ == 3
    assert "Increase max_iter" in str(record[0].message)


@pytest.mark.parametrize("estimator", [Perceptron(), LogisticRegression()])
def test_labels_that_are_not_classes_are_refused_by_both_classifiers(estimator: object) -> None:
    X = [[0.0], [1.0], [2.0]]
    with pytest.raises(ValueError, match="Unknown label type: continuous"):
        estimator.fit(X, [0.5, 1.0, 0.0])  # type: ignore[attr-defined]
    mixed = np.array([1, "a", 1], dtype=object)
    with pytest.raises(ValueError, match="labels of types int, str"):
        estimator.fit(X, mixed)  # type: ignore[attr-defined]


@pytest.mark.parametrize("estimator", [Perceptron(), LogisticRegression()])
def test_score_validates_and_weights_for_both_classifiers(estimator: object) -> None:
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array(["a", "a", "b", "b"])
    model = estimator.fit(X, y)  # type: ignore[attr-defined]
    wrong = np.array(["b", "a", "b", "b"])  # the first one is misclassified
    assert model.score(X, wrong) == 0.75
    assert model.score(X, wrong, sample_weight=[2.0, 1.0, 1.0, 0.0]) == 0.5
    with pytest.raises(ValueError, match="different numbers of rows"):
        model.score(X, y[:3])
