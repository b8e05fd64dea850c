"""The gradient check of a fitted logistic regression catches a wrong analytic gradient."""

from __future__ import annotations

import numpy as np
import pytest

from chainrule.linear.logistic import LogisticRegression
from chainrule.linear.logistic_check import autodiff_gradient, logistic_gradient_check
from chainrule.linear.logistic_objective import LogisticObjective, make_objective


def _fit(k: int, **params: object) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(k)
    X = rng.normal(size=(120, 3))
    y = rng.integers(0, k, size=120)
    return LogisticRegression(tol=1e-10, **params).fit(X, y), X, y


@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("fit_intercept", [True, False])
def test_check_passes_on_fitted_models(k: int, fit_intercept: bool) -> None:
    model, _, _ = _fit(k, fit_intercept=fit_intercept)
    check = logistic_gradient_check(model)
    assert check.ok, check.text
    assert check.coords.size == check.analytic.size
    assert "ok" in check.text and "FAILED" not in check.text


def test_check_on_weighted_data_and_a_coordinate_subset() -> None:
    model, X, y = _fit(2)
    sw = np.linspace(0.5, 2.0, X.shape[0])
    check = logistic_gradient_check(model, X, y, sw, max_coords=2)
    assert check.coords.size == 2 and check.ok


def test_check_catches_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    model, _, _ = _fit(2)
    right = LogisticObjective.loss_grad

    def wrong(self: LogisticObjective, theta: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = right(self, theta)
        g = g.copy()
        g[0] += 1e-3  # e.g. a forgotten term
        return f, g

    monkeypatch.setattr(LogisticObjective, "loss_grad", wrong)
    check = logistic_gradient_check(model)
    assert not check.ok
    assert check.text.count("FAILED") == 2


def test_autodiff_gradient_away_from_the_optimum() -> None:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2))
    y = rng.integers(0, 2, size=40)
    obj = make_objective(X, y, 2, None, 0.5, True)
    theta = np.array([3.0, -800.0, 2.0])
    np.testing.assert_allclose(
        autodiff_gradient(obj, theta), obj.loss_grad(theta)[1], rtol=1e-12, atol=1e-15
    )
