"""Declarative hyperparameters (linear/_params.py) and fitted states (linear/_state.py, model_io.py)."""

from __future__ import annotations

import ast
import inspect
import pathlib
import shutil
from typing import Any

import numpy as np
import pytest

from chainrule.linear import model_io
from chainrule.linear._params import (
    BOOLEAN,
    NONE,
    InstanceOf,
    Interval,
    InvalidParameterError,
    Options,
    check_param,
)
from chainrule.linear.logistic import LogisticRegression
from chainrule.linear.perceptron import Perceptron

ESTIMATORS: list[type[Any]] = [LogisticRegression, Perceptron]
DATA = pathlib.Path(__file__).parent / "data"
X = np.array([[0.0, 1.0], [1.0, 0.0], [2.0, 1.5], [3.0, 0.5]])
Y = np.array([0, 0, 1, 1])


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_every_constructor_parameter_has_a_constraint(cls: type[Any]) -> None:
    signature = inspect.signature(cls.__init__)
    names = {n for n in signature.parameters if n != "self"}
    assert set(cls._parameter_constraints) == names
    # The defaults satisfy their own constraints.
    cls()._validate_params()


def _int_params(cls: type[Any]) -> list[str]:
    return [
        name
        for name, constraints in cls._parameter_constraints.items()
        if any(isinstance(c, Interval) and c.kind == "int" for c in constraints)
        and BOOLEAN not in constraints
    ]


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bools_are_refused_where_integers_are_expected(cls: type[Any]) -> None:
    names = _int_params(cls)
    assert "max_iter" in names  # both estimators: max_iter=True was accepted by one of them
    for name in names:
        for flag in (True, np.bool_(False)):
            with pytest.raises(InvalidParameterError, match=rf"^{name} must be .*\(bool"):
                cls(**{name: flag}).fit(X, Y)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize("bad", ["3", 2.5, None, [1], float("nan")])
def test_wrong_values_name_the_parameter_and_are_value_and_type_errors(
    cls: type[Any], bad: Any
) -> None:
    for name, constraints in cls._parameter_constraints.items():
        if any(c.accepts(bad) for c in constraints):
            continue
        model = cls(**{name: bad})  # never raises in __init__ (sklearn's protocol) ...
        model.set_params(**{name: bad})  # ... nor in set_params
        for error in (ValueError, TypeError):
            with pytest.raises(error) as info:
                model.fit(X, Y)
            message = str(info.value)
            assert message.startswith(f"{name} must be "), message
            assert repr(bad)[:20] in message


def test_string_eta0_is_a_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"eta0 must be a positive number, got '1' \(str\)"):
        Perceptron(eta0="1").fit(X, Y)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"eta0 must be a positive number, got -1\.0"):
        Perceptron(eta0=-1.0).fit(X, Y)
    with pytest.raises(ValueError, match="eta0 must be a positive number, got 0"):
        Perceptron(eta0=0).partial_fit(X, Y, classes=[0, 1])


def test_both_estimators_refuse_the_same_bad_max_iter_alike() -> None:
    messages = []
    for cls in ESTIMATORS:
        with pytest.raises(InvalidParameterError) as info:
            cls(max_iter=True).fit(X, Y)
        messages.append(str(info.value))
    # Both refuse a bool; LogisticRegression allows max_iter=0 (scikit-learn's "no iterations").
    assert messages[0] == "max_iter must be a non-negative integer, got True (bool)"
    assert messages[1] == "max_iter must be a positive integer, got True (bool)"


def test_accepted_values() -> None:
    # numpy scalars, inf where it means something, the string 'none', bools where bools belong
    LogisticRegression(
        C=np.float32(2.0), max_iter=np.int64(50), tol=0, verbose=False
    )._validate_params()
    LogisticRegression(C=float("inf"), penalty="none")._validate_params()
    Perceptron(random_state=np.random.default_rng(0), eta0=np.float64(0.5))._validate_params()
    for bad in (float("inf"), 0.0, -1.0):
        with pytest.raises(InvalidParameterError, match="tol" if bad < 0 else "eta0"):
            (LogisticRegression(tol=bad) if bad < 0 else Perceptron(eta0=bad))._validate_params()
    with pytest.raises(InvalidParameterError, match="fit_intercept must be a boolean"):
        LogisticRegression(fit_intercept=1)._validate_params()  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="random_state must be None, a non-negative"):
        Perceptron(random_state=-1)._validate_params()


def test_constraint_helpers() -> None:
    closed = Interval("int", 0, 3)
    assert [closed.accepts(v) for v in (0, 3, 4, -1, 1.0, True)] == [
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    half_open = Interval("real", 0, 1, closed="right")
    assert [half_open.accepts(v) for v in (0.0, 1.0, 0.5, np.inf)] == [False, True, True, False]
    assert half_open.describe() == "a number in (0, 1]"
    assert Options(("a", 1)).accepts(1) and not Options(("a", 1)).accepts(True)
    assert NONE.accepts(None) and not NONE.accepts(0)
    assert InstanceOf((np.random.Generator,), "a Generator").accepts(np.random.default_rng())
    with pytest.raises(InvalidParameterError, match=r"^k must be an integer in \[0, 3\] or None"):
        check_param("k", 7, (closed, NONE))


# ---- fitted states and the file format --------------------------------------------------------------------
def test_model_io_knows_no_estimator() -> None:
    tree = ast.parse(pathlib.Path(model_io.__file__).read_text(encoding="utf-8"))
    imported = {
        node.module
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module is not None
    }
    assert not {"chainrule.linear.logistic", "chainrule.linear.perceptron"} & imported
    assert "LogisticRegression(" not in pathlib.Path(model_io.__file__).read_text(encoding="utf-8")


def test_fitted_state_round_trips_in_memory() -> None:
    rng = np.random.default_rng(1)
    Xr = rng.normal(size=(80, 3))
    yr = np.array(["a", "b", "c"])[rng.integers(0, 3, 80)]
    model = LogisticRegression(C=0.3, tol=1e-8).fit(Xr, yr)
    state = model._fitted_state()
    assert {k for k, v in state.items() if isinstance(v, np.ndarray)} == {
        "coef",
        "intercept",
        "n_iter",
    }
    back = LogisticRegression._from_state(state)
    assert back.get_params() == model.get_params()
    np.testing.assert_array_equal(back.coef_, model.coef_)
    np.testing.assert_array_equal(back.predict_proba(Xr), model.predict_proba(Xr))
    # The state is checked as a plain mapping: shapes, dtypes and parameters.
    for change, message in [
        ({"coef": state["coef"][:, :2]}, "inconsistent arrays: coef"),
        ({"intercept": state["intercept"].astype(np.float32)}, "inconsistent arrays: intercept"),
        ({"n_iter": None}, "lacks the arrays: n_iter"),
        ({"extra": np.zeros(2)}, "unexpected arrays: extra"),
        (
            {"params": dict(state["params"], fit_intercept="yes")},
            "fit_intercept = .yes. is not a boolean",
        ),
        (
            {"params": dict(state["params"], max_iter=-1)},
            "max_iter must be a non-negative integer",
        ),
        ({"classes": ["a", "a", "b"]}, "a label twice"),
        ({"n_features_in": True}, "n_features_in"),
    ]:
        bad = {**state, **change}
        bad = {k: v for k, v in bad.items() if v is not None}
        with pytest.raises(ValueError, match=message):
            LogisticRegression._from_state(bad)


def _refit(multinomial: bool) -> LogisticRegression:
    # The data and parameters that wrote tests/linear/data/logistic_v2*.npz (format version 2, before
    # the estimators gave their own state): the same fit must come back from the old file.
    rng = np.random.default_rng(7)
    Xb = rng.normal(size=(60, 3))
    yb = np.array(["no", "yes"])[(Xb[:, 0] + 0.3 * rng.normal(size=60) > 0).astype(int)]
    if not multinomial:
        return LogisticRegression(C=0.5, solver="newton", tol=1e-10).fit(Xb, yb)
    Xm = rng.normal(size=(60, 2))
    with pytest.warns(UserWarning, match="ignores C"):
        return LogisticRegression(penalty=None, C=float("inf")).fit(Xm, np.arange(60) % 3)


@pytest.mark.parametrize("multinomial", [False, True])
def test_a_version_2_file_written_before_still_loads(
    tmp_path: pathlib.Path, multinomial: bool
) -> None:
    name = "logistic_v2_multinomial" if multinomial else "logistic_v2"
    shutil.copy(DATA / f"{name}.npz", tmp_path / f"{name}.npz")
    loaded = LogisticRegression.load(tmp_path / name)
    fresh = _refit(multinomial)
    assert loaded.get_params() == fresh.get_params()
    np.testing.assert_array_equal(loaded.classes_, fresh.classes_)
    np.testing.assert_allclose(loaded.coef_, fresh.coef_, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(loaded.intercept_, fresh.intercept_, rtol=1e-6, atol=1e-8)
    # Writing it again gives the same metadata (the format did not change).
    again = loaded.save(tmp_path / "again")
    with (
        np.load(again, allow_pickle=False) as new,
        np.load(DATA / f"{name}.npz", allow_pickle=False) as old,
    ):
        assert sorted(new.files) == sorted(old.files)
        meta_new = bytes(new["__chainrule__"]).decode()
        meta_old = bytes(old["__chainrule__"]).decode()
    assert meta_new == meta_old
