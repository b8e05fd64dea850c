"""scikit-learn's estimator checks, run against chainrule's LogisticRegression and Perceptron.

sklearn (and pandas, for its data-frame checks) are test dependencies only. One check is left out by
name, so that the suite reports no skips of its own making:

- ``check_array_api_input`` runs only when ``SCIPY_ARRAY_API=1`` is set before SciPy is first imported
  (a process-wide switch that would change SciPy for every other test); otherwise sklearn skips it. The
  Array-API behaviour of these models is tested directly in this package's own tests.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("sklearn")
pytest.importorskip("pandas")

from sklearn.utils.estimator_checks import estimator_checks_generator

from chainrule.linear import Perceptron
from chainrule.linear.logistic import LogisticRegression

# sklearn notes that the estimators do not inherit BaseEstimator; that is deliberate (no runtime dep).
warnings.filterwarnings("ignore", message=".*does not inherit from `sklearn.base.BaseEstimator`")

#: Checks not run, by name, and why (see the module docstring).
LEFT_OUT = {"check_array_api_input": "needs SCIPY_ARRAY_API=1 before SciPy is imported"}

ESTIMATORS = [
    LogisticRegression(),
    LogisticRegression(solver="lbfgs"),
    Perceptron(),
    Perceptron(shuffle=True, random_state=0, compute_bound=False),
]


def _check_name(check: Callable[..., Any]) -> str:
    base = getattr(check, "func", check)  # sklearn wraps checks in functools.partial
    return str(base.__name__)


def _checks() -> Iterator[tuple[Any, Callable[..., Any]]]:
    for estimator in ESTIMATORS:
        for est, check in estimator_checks_generator(estimator):
            if _check_name(check) not in LEFT_OUT:
                yield est, check


def _id(value: Any) -> str:
    if callable(value) and not hasattr(value, "get_params"):
        return _check_name(value)
    return repr(value)


CHECKS = list(_checks())


def test_only_the_named_checks_are_left_out() -> None:
    names = {_check_name(c) for e in ESTIMATORS for _, c in estimator_checks_generator(e)}
    assert set(LEFT_OUT) <= names  # the name still exists in this sklearn: nothing else dropped
    assert len(CHECKS) == sum(
        1
        for e in ESTIMATORS
        for _, c in estimator_checks_generator(e)
        if _check_name(c) not in LEFT_OUT
    )


@pytest.mark.parametrize(("estimator", "check"), CHECKS, ids=_id)
def test_sklearn_estimator_checks(estimator: Any, check: Callable[[Any], None]) -> None:
    check(estimator)


def test_logistic_regression_works_with_sklearn_tools() -> None:
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


def test_perceptron_works_with_sklearn_tools() -> None:
    from sklearn.base import clone, is_classifier
    from sklearn.model_selection import cross_val_score

    X = [[0.0, 0.0], [0.0, -1.0], [1.0, 0.0], [1.0, -1.0]] * 5
    y = [1, 1, 0, 0] * 5
    model = Perceptron(max_iter=50)
    assert is_classifier(model)
    assert clone(model).get_params() == model.get_params()
    assert cross_val_score(model, X, y, cv=2).min() == 1.0
