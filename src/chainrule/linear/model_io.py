"""Save and load a fitted :class:`~chainrule.linear.logistic.LogisticRegression` without pickle.

A model is one ``PATH.npz`` archive in the project's file format (:mod:`chainrule._archive`, the format
``chainrule.nn.io`` writes too), read with ``allow_pickle=False``:

- the arrays ``coef`` (float64, ``(1, d)`` or ``(K, d)``), ``intercept`` (float64, ``(1,)`` or ``(K,)``)
  and ``n_iter`` (int64);
- the JSON entry ``__chainrule__``: the format marker ``{"format": "chainrule.linear.LogisticRegression",
  "format_version": 2}``, the hyperparameters, the class labels and feature names (JSON lists of numbers or
  strings, so no string or object array is ever stored), and the fit facts (solver, convergence,
  objective).

Beside it, ``PATH.json`` holds the same metadata, indented, for people and for tools that read no
``.npz``; it is written for reading only, and loading never needs it (the archive is complete and
authoritative). Loading checks the marker, the version, the
parameter names and values, the labels, and every array's shape and dtype, and raises ``ValueError`` (one
line, naming the file) for anything else; no code in the file runs.
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._archive import read_archive, write_archive
from chainrule._version import __version__

if TYPE_CHECKING:
    from chainrule.linear.logistic import LogisticRegression

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "chainrule.linear.LogisticRegression"
#: Version 1 was two files (PATH.npz + PATH.json); version 2 is one archive with the JSON inside.
FORMAT_VERSION = 2


def _npz_path(path: str | os.PathLike[str]) -> str:
    """``PATH.npz`` for ``PATH``, ``PATH.npz`` or the sidecar ``PATH.json``."""
    name = os.fspath(path)
    if name.endswith(".json"):
        name = name[: -len(".json")]
    return name if name.endswith(".npz") else name + ".npz"


def _json_number(value: float) -> float | str:
    """JSON has no inf/nan: those are written as strings."""
    return value if math.isfinite(value) else str(value)


def _plain_labels(classes: np.ndarray) -> list[Any]:
    """Class labels as JSON values (bool, int, float or str).

    Raises:
        ValueError: a label of another type.
    """
    labels = [c.item() if isinstance(c, np.generic) else c for c in classes]
    for c in labels:
        if not isinstance(c, (bool, int, float, str)):
            raise ValueError(
                f"cannot save class label {c!r} of type {type(c).__name__}: numbers or strings only"
            )
    return labels


def save_model(model: LogisticRegression, path: str | os.PathLike[str]) -> str:
    """Write the fitted ``model`` to ``PATH.npz`` (``.npz`` is appended unless ``path`` ends with it),
    and its metadata, readable, to ``PATH.json`` beside it.

    Returns:
        The path of the ``.npz`` archive (the one :func:`load_model` reads).

    Raises:
        ValueError: the model is not fitted, or a class label is neither a number nor a string.
        OSError: the file cannot be written.
    """
    model._check_fitted()
    arrays: dict[str, np.ndarray] = {
        "coef": np.asarray(model.coef_, dtype=np.float64),
        "intercept": np.asarray(model.intercept_, dtype=np.float64),
        "n_iter": np.asarray(model.n_iter_, dtype=np.int64),
    }
    names = getattr(model, "feature_names_in_", None)
    params = model.get_params()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chainrule_version": __version__,
        "params": {
            k: (_json_number(float(v)) if isinstance(v, float) else v) for k, v in params.items()
        },
        "classes": _plain_labels(np.asarray(model.classes_)),
        "feature_names": None if names is None else [str(n) for n in names],
        "n_features_in": int(model.n_features_in_),
        "solver_used": str(getattr(model, "solver_", params["solver"])),
        "converged": bool(getattr(model, "converged_", True)),
        "objective": _json_number(float(getattr(model, "objective_", float("nan")))),
    }
    name = _npz_path(path)
    write_archive(name, meta, arrays)
    with open(name[: -len(".npz")] + ".json", "w", encoding="utf-8") as sidecar:
        json.dump(meta, sidecar, indent=2, ensure_ascii=False, allow_nan=False)
        sidecar.write("\n")
    return name


def _labels(values: Any, name: str) -> np.ndarray:
    """The class labels from the metadata: a list of at least two distinct numbers, or of strings."""
    ok = isinstance(values, list) and len(values) >= 2
    kinds = (
        {bool if isinstance(v, bool) else str if isinstance(v, str) else float for v in values}
        if ok
        else set()
    )
    if not ok or not all(isinstance(v, (bool, int, float, str)) for v in values) or len(kinds) != 1:
        raise ValueError(
            f"{name!r}: 'classes' must list at least two labels, all numbers or all strings"
        )
    classes = np.asarray(values)
    if np.unique(classes).size != classes.size:
        raise ValueError(f"{name!r}: 'classes' lists a label twice")
    return classes


def load_model(path: str | os.PathLike[str]) -> LogisticRegression:
    """Read a model written by :func:`save_model` from ``PATH.npz`` (``path`` may name ``PATH``,
    ``PATH.npz`` or the sidecar ``PATH.json``; the archive is what is read).

    Raises:
        OSError: the file is missing or unreadable (names it).
        ValueError: a file that is not ours (not an archive, object arrays, another format), an
            unsupported version, unknown or invalid parameters, or arrays whose shapes or dtypes disagree
            with the metadata (names the file and what is wrong).
    """
    from chainrule.linear.logistic import LogisticRegression

    name = _npz_path(path)
    meta, arrays = read_archive(name, FORMAT, FORMAT_VERSION)
    params = meta.get("params")
    valid = LogisticRegression.param_names()
    if not isinstance(params, dict) or set(params) != set(valid):
        raise ValueError(
            f"{name!r}: 'params' must name exactly these parameters: {', '.join(valid)}"
        )
    if isinstance(params["C"], str):
        try:
            params["C"] = float(params["C"])
        except ValueError:
            raise ValueError(f"{name!r}: C = {params['C']!r} is not a number") from None
    model = LogisticRegression().set_params(**params)
    try:
        model._validate_params()
    except ValueError as exc:
        raise ValueError(f"{name!r}: {exc}") from None
    missing = {"coef", "intercept", "n_iter"} - set(arrays)
    if missing:
        raise ValueError(f"{name!r} lacks the arrays: {', '.join(sorted(missing))}")
    coef, intercept = arrays["coef"], arrays["intercept"]
    classes = _labels(meta.get("classes"), name)
    d = meta.get("n_features_in")
    K = classes.shape[0]
    rows = 1 if K == 2 else K
    if (
        not isinstance(d, int)
        or isinstance(d, bool)
        or coef.dtype != np.float64
        or intercept.dtype != np.float64
        or coef.shape != (rows, d)
        or intercept.shape != (rows,)
    ):
        raise ValueError(
            f"{name!r}: inconsistent arrays (coef {coef.shape} {coef.dtype}, intercept "
            f"{intercept.shape} {intercept.dtype}, {K} classes, n_features_in {d!r})"
        )
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise ValueError(f"{name!r}: coefficients are not all finite")
    model.coef_ = coef
    model.intercept_ = intercept
    model.classes_ = classes
    model.n_iter_ = arrays["n_iter"].astype(np.int32).reshape(-1)
    model.n_features_in_ = d
    names = meta.get("feature_names")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
            raise ValueError(f"{name!r}: 'feature_names' must be a list of strings")
        if len(names) != d:
            raise ValueError(f"{name!r}: {len(names)} feature names for {d} features")
        model.feature_names_in_ = np.asarray(names, dtype=object)
    model.solver_ = str(meta.get("solver_used", model.solver))
    model.converged_ = bool(meta.get("converged", True))
    objective: Any = meta.get("objective")
    try:
        model.objective_ = float(objective)  # a number, or "inf"/"nan" as written by _json_number
    except (TypeError, ValueError):
        model.objective_ = float("nan")
    model.separated_ = None
    return model
