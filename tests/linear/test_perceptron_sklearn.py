"""scikit-learn's estimator checks against chainrule's Perceptron (binary only, declared in its tags)."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.linear import Perceptron

warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")


@parametrize_with_checks(
    [Perceptron(), Perceptron(shuffle=True, random_state=0, compute_bound=False)]
)
def test_sklearn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_sklearn_tools_accept_it() -> None:
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import cross_val_score

    X = [[0.0, 0.0], [0.0, -1.0], [1.0, 0.0], [1.0, -1.0]] * 5
    y = [1, 1, 0, 0] * 5
    model = Perceptron(max_iter=50)
    assert is_classifier(model)
    assert clone(model).get_params() == model.get_params()
    assert cross_val_score(model, X, y, cv=2).min() == 1.0
