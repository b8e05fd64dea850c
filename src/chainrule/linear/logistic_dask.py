"""Logistic regression on row-chunked Dask arrays: the same objective, kernel and solvers, per chunk.

``LogisticRegression.fit(X, y)`` with a Dask array ``X`` (or ``y``) comes here. Each evaluation of the
objective runs :func:`chainrule.linear.logistic_objective.block_sums` (the in-memory path's own kernel)
on every row chunk, where the chunk lives, and the client adds the small results (Σ s_i ℓ_i, the gradient
sum, and for Newton the (p, p) Hessian sum): one ``dask.compute`` per evaluation, so L-BFGS and Newton run
unchanged (:mod:`chainrule.linear.logistic_solvers`) and find the coefficients of the in-memory fit.

Before the fit, one pass checks the data (non-finite entries, named by row and column; weights; the
class labels) and finds the classes. ``X`` and ``y`` are persisted on the cluster first when they take at
most half of the workers' memory (with a ``distributed`` client; a quarter of this machine's memory with
the local schedulers); otherwise every evaluation streams them from their source (files, ``from_zarr``),
so data larger than the cluster's memory can be fitted.

Predictions on a Dask array are lazy Dask arrays (:func:`predict_lazy`); non-finite entries raise when
the chunk holding them is computed. Dask is imported only here, inside functions (it is optional).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.special

from chainrule import backend
from chainrule.linear.datasets import first_nonfinite
from chainrule.linear.logistic_objective import (
    BlockSums,
    ObjectiveBase,
    block_sums,
    chunk_rows_for,
    combine_sums,
)

__all__ = ["DaskLogisticObjective", "check_dask_X", "predict_lazy", "prepare"]

#: Share of the workers' total memory limit that data may take and still be persisted.
PERSIST_SHARE = 0.5


# ---- input checks ------------------------------------------------------------------------------------------
def check_dask_X(
    X: Any, name: str = "X", n_features: int | None = None, owner: str = "model"
) -> Any:
    """A 2-D numeric Dask array with known row chunks and whole rows in each chunk (one column chunk).

    Raises:
        ValueError: not 2-D; complex or non-numeric dtype; unknown chunk sizes; no rows or columns; chunked
            along columns (says how to rechunk); another number of features than ``n_features``.
        TypeError: ``X`` is not a Dask array.
    """
    if not backend.is_dask_array(X):
        raise TypeError(f"{name} must be a Dask array, not {type(X).__name__}")
    if X.ndim != 2:
        raise ValueError(f"Expected 2D array for {name}, got {X.ndim}D array of shape {X.shape}")
    if X.dtype.kind not in "fiub":
        raise ValueError(f"{name} must hold real numbers; got dtype {X.dtype}")
    if any(np.isnan(c) for c in X.chunks[0]):
        raise ValueError(
            f"{name} has unknown chunk sizes along its rows; call {name}.compute_chunk_sizes() first"
        )
    n, d = X.shape
    if n == 0 or d == 0:
        raise ValueError(
            f"Found array with shape {X.shape}: {name} needs at least 1 row and 1 column"
        )
    if len(X.chunks[1]) != 1:
        raise ValueError(
            f"{name} is chunked along its columns (column chunks {X.chunks[1]}); the fit reads whole "
            f"rows per chunk: use {name}.rechunk({{1: -1}}) (row chunks of a few MB to a few hundred MB)"
        )
    if n_features is not None and d != n_features:
        raise ValueError(
            f"{name} has {d} features, but {owner} is expecting {n_features} features as input "
            f"({name}.shape = {X.shape})"
        )
    return X


def _as_rows(v: Any, name: str, X: Any) -> Any:
    """``v`` (Dask, NumPy or a list; 1-D, one entry per row of ``X``) as a Dask array chunked like X's rows."""
    da = backend.dask_array_module()
    if not backend.is_dask_array(v):
        v = np.asarray(backend.to_numpy(v) if not isinstance(v, (list, tuple)) else v)
    if v.ndim == 2 and v.shape[1] == 1:
        v = v[:, 0]
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D (one entry per row of X); got shape {v.shape}")
    if v.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and {name} have different numbers of rows: X.shape = {X.shape}, "
            f"{name}.shape = {v.shape}"
        )
    if backend.is_dask_array(v):
        if any(np.isnan(c) for c in v.chunks[0]):
            raise ValueError(f"{name} has unknown chunk sizes; call {name}.compute_chunk_sizes()")
        return v.rechunk({0: X.chunks[0]}) if v.chunks[0] != X.chunks[0] else v
    return da.from_array(v, chunks=(X.chunks[0],))


# ---- the one pass that checks the data -------------------------------------------------------------------
def _block_stats(
    Xb: np.ndarray, yb: np.ndarray, wb: np.ndarray | None, offset: int
) -> dict[str, Any]:
    """What the checks need from one row chunk (run where the chunk is)."""
    out: dict[str, Any] = {"bad": None, "w_bad": None}
    found = first_nonfinite(np.asarray(Xb, dtype=np.float64))
    if found is not None:
        (i, j), kind = found
        out["bad"] = (offset + i, j, kind)
    out["labels"] = np.unique(yb)
    if wb is not None:
        w = np.asarray(wb, dtype=np.float64)
        wrong = np.flatnonzero(~np.isfinite(w) | (w < 0))
        if wrong.size:
            out["w_bad"] = (offset + int(wrong[0]), float(w[wrong[0]]))
        out["w_sum"] = float(w.sum())
        out["positive_labels"] = np.unique(yb[w > 0])
    else:
        out["w_sum"] = float(len(yb))
        out["positive_labels"] = out["labels"]
    return out


def _encode(yb: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """A chunk's labels as the kernel's y: float64 0/1 (two classes) or class indices."""
    index = np.searchsorted(classes, yb)
    if classes.size == 2:
        return index.astype(np.float64)
    return index.astype(np.intp)


def _task(
    Xb: np.ndarray,
    yb: np.ndarray,
    wb: np.ndarray | None,
    classes: np.ndarray,
    theta: np.ndarray,
    fit_intercept: bool,
    order: int,
    margins: bool,
) -> BlockSums:
    """One chunk's sums (run on a worker): the in-memory path's kernel on the chunk."""
    sw = None if wb is None else np.asarray(wb, dtype=np.float64)
    return block_sums(
        Xb,
        _encode(np.asarray(yb), classes),
        sw,
        theta,
        n_classes=int(classes.size),
        fit_intercept=fit_intercept,
        order=order,
        chunk_rows=chunk_rows_for(Xb.shape[1]),
        margins=margins,
    )


@dataclass
class DaskLogisticObjective(ObjectiveBase):
    """The scaled objective (see :mod:`chainrule.linear.logistic_objective`) over the row chunks of Dask
    arrays; :meth:`data_sums` is one ``dask.compute`` of the kernel on every chunk.

    Attributes:
        X, y, sample_weight: the (possibly persisted) Dask arrays, chunked alike along rows.
        classes: (K,) the sorted labels. alpha, fit_intercept: as for the in-memory objective.
    """

    X: Any
    y: Any
    sample_weight: Any
    classes: np.ndarray
    alpha: float
    fit_intercept: bool
    weight_sum: float
    track_margins: bool = False
    _last: tuple[np.ndarray, float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.n_samples, self.n_features = (int(v) for v in self.X.shape)
        self.n_classes = int(self.classes.size)
        self._init_layout()
        self._blocks()

    def _blocks(self) -> None:
        self._xb = list(self.X.to_delayed().ravel())
        self._yb = list(self.y.to_delayed().ravel())
        self._wb = (
            [None] * len(self._xb)
            if self.sample_weight is None
            else list(self.sample_weight.to_delayed().ravel())
        )

    def data_sums(self, theta: np.ndarray, order: int, margins: bool = False) -> BlockSums:
        """Σ over every chunk of the kernel's sums: one ``dask.compute``, combined here."""
        import dask

        margins = margins or self.track_margins
        theta = np.array(theta, dtype=np.float64, copy=True)
        run = dask.delayed(_task, pure=True)
        tasks = [
            run(x, y, w, self.classes, theta, self.fit_intercept, order, margins)
            for x, y, w in zip(self._xb, self._yb, self._wb, strict=True)
        ]
        parts = list(dask.compute(*tasks))
        sums = combine_sums(parts)
        if margins:
            self._last = (theta, sums.min_margin)
        return sums

    def margins_all_positive(self, theta: np.ndarray) -> bool:
        """As the in-memory objective's; reuses the last evaluation's margins when it was at ``theta``."""
        if self._last is not None and np.array_equal(self._last[0], theta):
            low = self._last[1]
            return bool(np.isfinite(low) and low > 0.0)
        return super().margins_all_positive(theta)

    def max_abs_x(self) -> float:
        """max |X| (one pass), for the message when the loss overflows."""
        import dask

        return float(dask.compute(abs(self.X).max())[0])


def _memory_budget() -> float:
    """Bytes that persisted data may take: a share of the workers' memory limits (distributed), or a
    quarter of this machine's memory (the local schedulers)."""
    try:
        from distributed import default_client

        client = default_client()
    except (ImportError, ValueError):
        client = None
    if client is not None:
        workers = client.scheduler_info().get("workers", {})
        limits = [float(w.get("memory_limit") or 0) for w in workers.values()]
        if limits and all(limits):
            return PERSIST_SHARE * sum(limits)
        return 0.0
    try:
        return 0.25 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        return 0.0


@dataclass
class Prepared:
    """What :func:`prepare` returns: the objective, the classes and the dtype of ``coef_``."""

    objective: DaskLogisticObjective
    classes: np.ndarray
    out_dtype: type
    persisted: bool


def prepare(
    X: Any,
    y: Any,
    sample_weight: Any,
    C: float,
    fit_intercept: bool,
    owner: str,
) -> Prepared:
    """Check Dask (or NumPy ``y``/weights beside a Dask ``X``) inputs in one pass and build the objective.

    Raises:
        ValueError: see :func:`check_dask_X`; ``y`` or weights of another length or not 1-D; NaN/inf in
            ``X`` (names the row and column) or in the weights, negative weights (names the row); a
            continuous target; fewer than two classes (with positive weight).
        TypeError: ``X`` is not a Dask array (a Dask ``y`` with an in-memory ``X``: make both Dask).
    """
    import dask

    if not backend.is_dask_array(X):
        raise TypeError(
            f"X must be a Dask array when y or sample_weight is one (got {type(X).__name__}); "
            "use dask.array.from_array(X) or pass NumPy arrays throughout"
        )
    X = check_dask_X(X)
    if y is None:
        raise ValueError("this estimator requires y to be passed, but the target y is None")
    y = _as_rows(y, "y", X)
    sw = None
    if sample_weight is not None:
        if np.ndim(sample_weight) == 0 and not backend.is_dask_array(sample_weight):
            sample_weight = np.full(X.shape[0], float(sample_weight))
        sw = _as_rows(sample_weight, "sample_weight", X).astype(np.float64)
    out_dtype = np.float32 if X.dtype == np.float32 else np.float64
    nbytes = X.nbytes + y.nbytes + (0 if sw is None else sw.nbytes)
    persisted = nbytes <= _memory_budget()
    if persisted:
        X, y, *rest = dask.persist(X, y, *([] if sw is None else [sw]))
        sw = rest[0] if rest else None
    offsets = np.concatenate([[0], np.cumsum(X.chunks[0])[:-1]]).astype(int)
    xb = X.to_delayed().ravel()
    yb = y.to_delayed().ravel()
    wb = [None] * len(xb) if sw is None else sw.to_delayed().ravel()
    stats_fn = dask.delayed(_block_stats, pure=True)
    stats = dask.compute(
        *[stats_fn(x, yy, w, int(o)) for x, yy, w, o in zip(xb, yb, wb, offsets, strict=True)]
    )
    for s in stats:
        if s["bad"] is not None:
            row, col, kind = s["bad"]
            raise ValueError(
                f"X contains {kind} at row {row}, column {col} (0-based); "
                "remove or impute non-finite values before fitting"
            )
    for s in stats:
        if s["w_bad"] is not None:
            row, value = s["w_bad"]
            raise ValueError(f"sample_weight is NaN, inf or negative at row {row}: {value}")
    classes = np.unique(np.concatenate([s["labels"] for s in stats]))
    if classes.dtype.kind == "f" and not np.all(classes == np.round(classes)):
        raise ValueError(
            "Unknown label type: continuous target (y holds non-integer values); "
            f"{owner} is a classifier: pass class labels (integers or strings)"
        )
    if classes.dtype.kind not in "iubfUS":
        raise ValueError(f"y must hold integer or string labels; got dtype {classes.dtype}")
    present = np.unique(np.concatenate([s["positive_labels"] for s in stats]))
    weight_sum = float(sum(s["w_sum"] for s in stats))
    if not weight_sum > 0:
        raise ValueError("sample weights are all zero: at least one sample needs a positive weight")
    if classes.size < 2 or present.size < 2:
        which = "with positive sample weight " if classes.size >= 2 else ""
        shown = present[0].item() if present.size else classes[0].item()
        raise ValueError(
            f"y has 1 class {which}({shown!r}); a classifier needs samples of at least 2 classes"
        )
    alpha = 0.0 if not np.isfinite(C) else 1.0 / (C * weight_sum)
    obj = DaskLogisticObjective(
        X, y, sw, classes, alpha, fit_intercept, weight_sum, track_margins=not np.isfinite(C)
    )
    return Prepared(obj, classes, out_dtype, persisted)


# ---- lazy predictions -------------------------------------------------------------------------------------
def _predict_block(
    Xb: np.ndarray,
    coef: np.ndarray,
    intercept: np.ndarray,
    classes: np.ndarray,
    what: str,
    block_info: Any = None,
) -> np.ndarray:
    """One chunk's decision values, probabilities, log-probabilities or labels (run where it is)."""
    X = np.asarray(Xb, dtype=np.float64)
    if not np.all(np.isfinite(X)):
        i, j = (int(k) for k in np.argwhere(~np.isfinite(X))[0])
        offset = 0 if not block_info else int(block_info[0]["array-location"][0][0])
        kind = "NaN" if np.isnan(X[i, j]) else "inf"
        raise ValueError(
            f"X contains {kind} at row {offset + i}, column {j} (0-based); "
            "remove or impute non-finite values before predicting"
        )
    Z = X @ coef.T + intercept
    if Z.shape[1] == 1:
        z = Z[:, 0]
        if what == "decision":
            return z
        if what == "proba":
            return np.column_stack([scipy.special.expit(-z), scipy.special.expit(z)])
        if what == "log_proba":
            return np.column_stack([-np.logaddexp(0.0, z), -np.logaddexp(0.0, -z)])
        return classes[(z > 0).astype(np.intp)]
    if what == "decision":
        return Z
    if what == "proba":
        return scipy.special.softmax(Z, axis=1)
    if what == "log_proba":
        return Z - scipy.special.logsumexp(Z, axis=1)[:, None]
    return classes[np.argmax(Z, axis=1)]


def predict_lazy(model: Any, X: Any, what: str) -> Any:
    """A lazy Dask array of ``what`` (``"decision"``, ``"proba"``, ``"log_proba"``, ``"predict"``) for
    the fitted ``model`` on the Dask array ``X``; column chunks are joined (lazily) first.

    Raises:
        ValueError: ``X`` not 2-D or non-numeric, or with another number of features than in ``fit``
            (at once); NaN/inf in ``X`` (when the chunk holding it is computed; names row and column).
    """
    if backend.is_dask_array(X) and X.ndim == 2 and len(X.chunks[1]) != 1:
        X = X.rechunk({1: -1})
    X = check_dask_X(X, n_features=int(model.n_features_in_), owner=type(model).__name__)
    coef = np.asarray(model.coef_, dtype=np.float64)
    intercept = np.asarray(model.intercept_, dtype=np.float64)
    classes = np.asarray(model.classes_)
    K = coef.shape[0]
    rows = X.chunks[0]
    if what == "predict" or (what == "decision" and K == 1):
        return X.map_blocks(
            _predict_block,
            coef,
            intercept,
            classes,
            what,
            drop_axis=1,
            chunks=(rows,),
            dtype=classes.dtype if what == "predict" else np.float64,
            meta=np.empty(0, dtype=classes.dtype if what == "predict" else np.float64),
        )
    width = K if what == "decision" else classes.size
    return X.map_blocks(
        _predict_block,
        coef,
        intercept,
        classes,
        what,
        chunks=(rows, (width,)),
        dtype=np.float64,
        meta=np.empty((0, 0), dtype=np.float64),
    )
