"""scikit-learn's estimator checks, run against chainrule's LogisticRegression (sklearn is test-only)."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("sklearn")

from sklearn.utils.estimator_checks import parametrize_with_checks

from chainrule.linear.logistic import LogisticRegression

# sklearn notes that the estimator does not inherit BaseEstimator; that is deliberate (no runtime dep).
warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")


@parametrize_with_checks([LogisticRegression(), LogisticRegression(solver="lbfgs")])
def test_sklearn_estimator_checks(estimator: object, check: object) -> None:
    check(estimator)  # type: ignore[operator]


def test_sklearn_tools_accept_it() -> None:
    from sklearn.base import clone, is_classifier
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(C=0.5)
    assert is_classifier(model)
    assert clone(model).get_params() == model.get_params()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), model), {"logisticregression__C": [0.1, 1.0]}, cv=3
    )
    search.fit(X, y)
    assert search.best_score_ > 0.9
