"""LogisticRegression edges: summary() independent of later changes to the training data and
feature_names=, the penalty=None/C warning, float32 coefficients for float32 X, and a loss that is
not finite."""

import warnings

import numpy as np
import pytest

from chainrule.linear import ConvergenceWarning, LogisticRegression
from chainrule.linear.logistic import NonFiniteLossWarning


def data(n: int = 80, d: int = 3, k: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    score = X @ rng.standard_normal((d, k)) + 1.5 * rng.standard_normal((n, k))
    return X, np.argmax(score, axis=1) if k > 2 else (score[:, 0] > 0).astype(int)


# --- summary -------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
def test_summary_does_not_change_when_training_data_change_after_fit(solver) -> None:
    X, y = data()
    w = np.linspace(0.5, 2.0, len(y))
    model = LogisticRegression(penalty=None, solver=solver, tol=1e-10).fit(X, y, sample_weight=w)
    before = model.summary()
    X[:] = 0.0
    X[0, 0] = np.nan
    y[:] = 1 - y
    w[:] = 7.0
    after = model.summary()
    assert str(before) == str(after)
    np.testing.assert_array_equal(before.std_err, after.std_err)


def test_summary_with_a_view_or_a_frame_is_independent_too() -> None:
    import pandas as pd

    X, y = data(d=2)
    big = np.column_stack([X, np.ones(len(y))])
    view = big[:, :2]  # not owning its data
    model = LogisticRegression(penalty=None).fit(view, y)
    text = str(model.summary())
    big[:] = 5.0
    assert str(model.summary()) == text
    frame = pd.DataFrame(X.copy(), columns=["age", "dose"])
    model = LogisticRegression(penalty=None).fit(frame, y)
    text = str(model.summary())
    assert "age" in text and "dose" in text
    frame.iloc[:, :] = 0.0
    assert str(model.summary()) == text


def test_summary_feature_names() -> None:
    X, y = data()
    model = LogisticRegression(penalty=None).fit(X, y)
    s = model.summary(feature_names=["age", "dose", "weight"])
    assert s.names == ["const", "age", "dose", "weight"]
    assert "weight" in str(s)
    np.testing.assert_array_equal(s.coef, model.summary().coef)
    assert model.summary(feature_names=np.array(["a", "b", "c"])).names[1:] == ["a", "b", "c"]
    assert model.summary().names == ["const", "x1", "x2", "x3"]
    with pytest.raises(ValueError, match="feature_names has 2 names but the model has 3 features"):
        model.summary(feature_names=["a", "b"])
    with pytest.raises(TypeError, match="single string"):
        model.summary(feature_names="abc")
    multi = LogisticRegression(penalty=None).fit(*data(k=3))
    names = multi.summary(feature_names=["p", "q", "r"]).names
    assert names[:4] == ["1: const", "1: p", "1: q", "1: r"]
    # with data passed in, as for a loaded model
    assert model.summary(X, y, feature_names=["u", "v", "w"]).names[1:] == ["u", "v", "w"]


# --- penalty=None with C ---------------------------------------------------------------------------


@pytest.mark.parametrize("C", [0.5, 10.0, 1e-3, np.float64(2.0)])
@pytest.mark.parametrize("penalty", [None, "none"])
def test_penalty_none_with_C_warns_that_C_is_ignored(penalty, C) -> None:
    X, y = data()
    with pytest.warns(UserWarning, match=r"penalty=.*ignores C") as record:
        model = LogisticRegression(penalty=penalty, C=C).fit(X, y)
    messages = [str(w.message) for w in record if "ignores C" in str(w.message)]
    assert len(messages) == 1 and "penalty" in messages[0] and f"C={C!r}" in messages[0]
    plain = LogisticRegression(penalty=penalty).fit(X, y)
    np.testing.assert_allclose(model.coef_, plain.coef_)  # C really is ignored


@pytest.mark.parametrize(("penalty", "C"), [(None, 1.0), ("none", 1), ("l2", 0.5), ("l2", 1.0)])
def test_no_C_warning_for_default_C_or_a_penalty(penalty, C) -> None:
    X, y = data()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression(penalty=penalty, C=C).fit(X, y)


# --- dtypes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("k", [2, 3])
def test_float32_X_gives_float32_coefficients(solver, k) -> None:
    X, y = data(k=k)
    m32 = LogisticRegression(solver=solver, tol=1e-8).fit(X.astype(np.float32), y)
    m64 = LogisticRegression(solver=solver, tol=1e-8).fit(X.astype(np.float32).astype(float), y)
    assert m32.coef_.dtype == np.float32 and m32.intercept_.dtype == np.float32
    assert m64.coef_.dtype == np.float64 and m64.intercept_.dtype == np.float64
    np.testing.assert_allclose(m32.coef_, m64.coef_, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(m32.predict(X), m64.predict(X))
    assert m32.coef_.shape == m64.coef_.shape


@pytest.mark.parametrize("dtype", [np.float64, np.float16, np.int64, np.int32, bool])
def test_other_dtypes_give_float64_coefficients(dtype) -> None:
    X, y = data()
    Xd = (X > 0) if dtype is bool else (X * 3).astype(dtype)
    m = LogisticRegression().fit(Xd, y)
    assert m.coef_.dtype == np.float64 and m.intercept_.dtype == np.float64


def test_float32_frame_and_lists() -> None:
    import pandas as pd

    X, y = data()
    frame = pd.DataFrame(X.astype(np.float32), columns=["a", "b", "c"])
    assert LogisticRegression().fit(frame, y).coef_.dtype == np.float32
    mixed = frame.astype({"a": np.float64})
    assert LogisticRegression().fit(mixed, y).coef_.dtype == np.float64
    assert LogisticRegression().fit(X.tolist(), y).coef_.dtype == np.float64


def test_float32_summary_uses_the_float64_solution() -> None:
    X, y = data()
    X32 = X.astype(np.float32)
    s32 = LogisticRegression(penalty=None, tol=1e-10).fit(X32, y).summary()
    s64 = LogisticRegression(penalty=None, tol=1e-10).fit(X32.astype(float), y).summary()
    np.testing.assert_allclose(s32.std_err, s64.std_err, rtol=1e-10)
    assert s32.coef.dtype == np.float64


# --- a loss that is not finite ---------------------------------------------------------------------


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize("scale", [1e200, 1e307])
def test_non_finite_loss_stops_with_a_warning(solver, scale) -> None:
    X, y = data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = LogisticRegression(solver=solver).fit(X * scale, y)
    kinds = [w.category for w in caught]
    assert kinds == [NonFiniteLossWarning], [str(w.message) for w in caught]
    msg = str(caught[0].message)
    assert "iteration" in msg and ("not finite" in msg or "nan" in msg)
    assert "scale the data" in msg
    assert issubclass(NonFiniteLossWarning, RuntimeWarning)
    assert issubclass(NonFiniteLossWarning, ConvergenceWarning)
    assert np.all(np.isfinite(model.coef_)) and np.all(np.isfinite(model.intercept_))
    assert not model.converged_


def test_well_scaled_data_never_warn() -> None:
    X, y = data(k=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for solver in ("lbfgs", "newton"):
            LogisticRegression(solver=solver, penalty=None, tol=1e-8).fit(X, y)
