"""LogisticRegression on row-chunked Dask arrays, on a LocalCluster of 2 worker processes started here."""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import dask.array as da  # a dev dependency: never skipped
import distributed
import numpy as np
import pytest

from chainrule import backend
from chainrule.linear import LogisticRegression
from chainrule.linear.logistic_dask import DaskLogisticObjective
from chainrule.linear.logistic_objective import block_sums, make_objective

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # distributed's own notes about ports and the dashboard
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            memory_limit="1GiB",
            dashboard_address=None,
        )
    with cluster, distributed.Client(cluster) as c:
        yield c


def _data(n: int, d: int, K: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    W = rng.normal(size=(K, d))
    y = np.argmax(X @ W.T + rng.gumbel(size=(n, K)), axis=1)
    return X, y, rng.uniform(0.0, 2.0, n)


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))


UNEVEN = (700, 1300, 257, 1743)  # 4,000 rows in chunks of unequal sizes


@pytest.mark.parametrize("solver", ["lbfgs", "newton"])
@pytest.mark.parametrize(
    ("K", "weighted", "penalty", "fit_intercept"),
    [
        (2, False, "l2", True),
        (2, True, None, True),
        (3, True, "l2", False),
        (2, False, "l2", False),
    ],
)
def test_coefficients_equal_the_in_memory_fit(
    client: Any, solver: str, K: int, weighted: bool, penalty: str | None, fit_intercept: bool
) -> None:
    X, y, sw = _data(sum(UNEVEN), 4, K, seed=K + 10 * weighted)
    weights = sw if weighted else None
    params: dict[str, Any] = {
        "solver": solver,
        "tol": 1e-10,
        "penalty": penalty,
        "fit_intercept": fit_intercept,
        "C": 0.5 if penalty else 1.0,
        "max_iter": 500,
    }
    ref = LogisticRegression(**params).fit(X, y, sample_weight=weights)
    Xd = da.from_array(X, chunks=(UNEVEN, 4))
    yd = da.from_array(y, chunks=(UNEVEN,))
    wd = None if weights is None else da.from_array(weights, chunks=(UNEVEN,))
    model = LogisticRegression(**params).fit(Xd, yd, sample_weight=wd)
    assert model.converged_ and ref.converged_
    assert model.solver_ == ref.solver_ == solver
    np.testing.assert_array_equal(model.classes_, ref.classes_)
    # Relative to the largest parameter (an intercept near 0 has no relative accuracy of its own).
    both = np.column_stack([model.coef_, model.intercept_])
    assert _rel(both, np.column_stack([ref.coef_, ref.intercept_])) <= 1e-8
    assert model.objective_ == pytest.approx(ref.objective_, rel=1e-12)


def test_kernel_sums_over_chunks_equal_the_whole(client: Any) -> None:
    # The Dask objective adds the kernel's sums over the chunks: the same f, gradient and Hessian.
    X, y, sw = _data(1000, 3, 2, seed=3)
    obj = make_objective(X, y, 2, sw, 0.7, True)
    theta = np.array([0.3, -0.2, 0.1, 0.05])
    Xd = da.from_array(X, chunks=((100, 400, 500), 3))
    lazy = DaskLogisticObjective(
        Xd,
        da.from_array(y, chunks=((100, 400, 500),)),
        da.from_array(sw, chunks=((100, 400, 500),)),
        np.array([0, 1]),
        obj.alpha,
        True,
        obj.weight_sum,
    )
    for a, b in zip(obj.loss_grad_hess(theta), lazy.loss_grad_hess(theta), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-15)
    whole = block_sums(X, y.astype(float), sw, theta, n_classes=2, fit_intercept=True, order=0)
    assert lazy.data_sums(theta, 0).loss == pytest.approx(whole.loss, rel=1e-13)


def test_predictions_are_lazy_and_match(client: Any) -> None:
    X, y, _ = _data(3000, 3, 3, seed=5)
    Xd = da.from_array(X, chunks=(1000, 3))
    model = LogisticRegression(tol=1e-8).fit(Xd, da.from_array(y, chunks=1000))
    ref = LogisticRegression(tol=1e-8).fit(X, y)
    for method in ("decision_function", "predict_proba", "predict_log_proba", "predict"):
        out = getattr(model, method)(Xd)
        assert backend.is_dask_array(out), method
        assert out.shape[0] == 3000 and out.chunks[0] == (1000, 1000, 1000)
        expected = getattr(ref, method)(X)
        got = out.compute()
        assert got.shape == expected.shape
        if method == "predict":
            assert np.mean(got == expected) > 0.99
        else:
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)
    # Column chunks are joined lazily for predictions; NaN raises when its chunk is computed.
    assert backend.is_dask_array(model.predict(da.from_array(X, chunks=(1000, 1))))
    bad = X.copy()
    bad[2500, 1] = np.nan
    lazy = model.predict_proba(da.from_array(bad, chunks=(1000, 3)))
    with pytest.raises(ValueError, match="NaN at row 2500, column 1"):
        lazy.compute()
    with pytest.raises(ValueError, match="expecting 3 features"):
        model.predict(da.from_array(X[:, :2], chunks=(1000, 2)))


def test_bad_input_is_refused_with_a_clear_message(client: Any) -> None:
    X, y, _ = _data(400, 3, 2, seed=7)
    yd = da.from_array(y, chunks=100)
    with pytest.raises(ValueError, match=r"chunked along its columns .*rechunk\(\{1: -1\}\)"):
        LogisticRegression().fit(da.from_array(X, chunks=(100, 2)), yd)
    bad = X.copy()
    bad[250, 2] = np.inf
    with pytest.raises(ValueError, match="X contains inf at row 250, column 2"):
        LogisticRegression().fit(da.from_array(bad, chunks=(100, 3)), yd)
    with pytest.raises(ValueError, match="different numbers of rows"):
        LogisticRegression().fit(da.from_array(X, chunks=(100, 3)), yd[:399])
    with pytest.raises(ValueError, match="1 class"):
        LogisticRegression().fit(da.from_array(X, chunks=(100, 3)), da.zeros(400, chunks=100))
    with pytest.raises(ValueError, match="continuous"):
        LogisticRegression().fit(
            da.from_array(X, chunks=(100, 3)), da.from_array(X[:, 0], chunks=100)
        )
    weights = np.ones(400)
    weights[123] = -1.0
    with pytest.raises(ValueError, match="negative at row 123"):
        LogisticRegression().fit(da.from_array(X, chunks=(100, 3)), yd, sample_weight=weights)
    with pytest.raises(TypeError, match="X must be a Dask array"):
        LogisticRegression().fit(X, yd)
    with pytest.raises(ValueError, match="Expected 2D"):
        LogisticRegression().fit(da.from_array(X[:, 0], chunks=100), yd)
    unknown = da.from_array(X, chunks=(100, 3))
    unknown = unknown[unknown[:, 0] > -10]  # unknown chunk sizes
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        LogisticRegression().fit(unknown, yd)


def test_summary_on_dask_data_says_what_to_do(client: Any) -> None:
    X, y, _ = _data(400, 2, 2, seed=8)
    model = LogisticRegression(penalty=None).fit(
        da.from_array(X, chunks=(200, 2)), da.from_array(y, chunks=200)
    )
    with pytest.raises(ValueError, match=r"needs in-memory data.*X\.compute\(\)"):
        model.summary()
    assert model.summary(X, y).names[0] == "const"  # with NumPy data it works


def test_the_out_of_core_example_runs_tiny(client: Any, tmp_path: pathlib.Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "logistic_out_of_core", ROOT / "examples" / "logistic_out_of_core.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["logistic_out_of_core"] = module
    spec.loader.exec_module(module)
    report = module.run(rows=20_000, features=5, files=4, folder=tmp_path, client=client, tol=1e-8)
    assert report["data_bytes"] == 20_000 * 5 * 8
    assert len(list(tmp_path.glob("X_*.npy"))) == 4
    # The example's fit equals an in-memory fit of the same files.
    X = np.concatenate([np.load(p) for p in sorted(tmp_path.glob("X_*.npy"))])
    y = np.concatenate([np.load(p) for p in sorted(tmp_path.glob("y_*.npy"))])
    ref = LogisticRegression(tol=1e-8, solver=report["solver"]).fit(X, y)
    assert _rel(report["coef"], np.append(ref.coef_.ravel(), ref.intercept_)) <= 1e-6
