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
authoritative). Loading (:func:`chainrule._archive.open_archive`, with its limits on size, members and
JSON) checks the marker, the version, the parameter names and values (a boolean where a boolean belongs),
the labels, and every array's declared shape and dtype before any array is read, and raises ``ValueError``
(one line, naming the file) for anything else; no code in the file runs. Paths are resolved as in every
chainrule loader (:func:`chainrule._archive.load_path`: ``PATH``, ``PATH.npz`` or ``PATH.json``).
"""

from __future__ import annotations

import json
import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._archive import ArraySpec, load_path, open_archive, save_path, write_archive
from chainrule._version import __version__

if TYPE_CHECKING:
    from chainrule.linear.logistic import LogisticRegression

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "chainrule.linear.LogisticRegression"
#: Version 1 was two files (PATH.npz + PATH.json); version 2 is one archive with the JSON inside.
FORMAT_VERSION = 2


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
    name = save_path(path)
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


_NON_FINITE = ("inf", "-inf", "nan")  # how _json_number writes them


def _number(value: Any, what: str, name: str) -> float:
    """A float parameter or fact from the metadata: a JSON number, or "inf", "-inf" or "nan"."""
    if isinstance(value, str) and value in _NON_FINITE:
        return float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{name!r}: {what} = {str(value)[:40]!r} is not a number")
    return float(value)


def _flag(value: Any, what: str, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name!r}: {what} = {str(value)[:40]!r} is not a boolean (true or false)")
    return value


def _model_from_meta(meta: dict[str, Any], name: str) -> LogisticRegression:
    """An unfitted model with the parameters, labels, feature names and fit facts of ``meta``, checked."""
    from chainrule.linear.logistic import _SOLVERS, LogisticRegression

    params = meta.get("params")
    valid = LogisticRegression.param_names()
    if not isinstance(params, dict) or set(params) != set(valid):
        raise ValueError(
            f"{name!r}: 'params' must name exactly these parameters: {', '.join(valid)}"
        )
    params = dict(params)
    for key in ("C", "tol"):
        if isinstance(params[key], str):
            params[key] = _number(params[key], key, name)
    _flag(params["fit_intercept"], "fit_intercept", name)
    verbose = params["verbose"]
    if not isinstance(verbose, int):  # an int or a bool, as the constructor takes it
        raise ValueError(f"{name!r}: verbose = {str(verbose)[:40]!r} is not an integer")
    model = LogisticRegression().set_params(**params)
    try:
        model._validate_params()
    except ValueError as exc:
        raise ValueError(f"{name!r}: {exc}") from None
    model.classes_ = _labels(meta.get("classes"), name)
    d = meta.get("n_features_in")
    if not isinstance(d, int) or isinstance(d, bool) or d < 1:
        raise ValueError(f"{name!r}: n_features_in = {str(d)[:40]!r} is not a positive integer")
    model.n_features_in_ = d
    names = meta.get("feature_names")
    if names is not None:
        if not isinstance(names, list) or not all(isinstance(v, str) for v in names):
            raise ValueError(f"{name!r}: 'feature_names' must be a list of strings")
        if len(names) != d:
            raise ValueError(f"{name!r}: {len(names)} feature names for {d} features")
        model.feature_names_in_ = np.asarray(names, dtype=object)
    solver = meta.get("solver_used", model.solver)
    if solver not in _SOLVERS:
        raise ValueError(f"{name!r}: solver_used = {str(solver)[:40]!r} is not one of {_SOLVERS}")
    model.solver_ = solver
    model.converged_ = _flag(meta.get("converged", True), "converged", name)
    model.objective_ = _number(meta.get("objective", "nan"), "objective", name)
    model.separated_ = None
    return model


def _check_specs(specs: dict[str, ArraySpec], model: LogisticRegression, name: str) -> None:
    """The declared arrays are exactly coef, intercept and n_iter, of the shapes the metadata implies."""
    missing = {"coef", "intercept", "n_iter"} - set(specs)
    if missing:
        raise ValueError(f"{name!r} lacks the arrays: {', '.join(sorted(missing))}")
    extra = set(specs) - {"coef", "intercept", "n_iter"}
    if extra:
        raise ValueError(f"{name!r} holds unexpected arrays: {', '.join(sorted(extra))[:200]}")
    coef, intercept, n_iter = specs["coef"], specs["intercept"], specs["n_iter"]
    K = model.classes_.shape[0]
    rows = 1 if K == 2 else K
    d = model.n_features_in_
    if (
        coef.dtype != np.float64
        or intercept.dtype != np.float64
        or coef.shape != (rows, d)
        or intercept.shape != (rows,)
    ):
        raise ValueError(
            f"{name!r}: inconsistent arrays (coef {coef.shape} {coef.dtype}, intercept "
            f"{intercept.shape} {intercept.dtype}, {K} classes, n_features_in {d!r})"
        )
    if n_iter.dtype.kind not in "iu" or n_iter.shape not in ((), (1,)):
        raise ValueError(f"{name!r}: n_iter is {n_iter.shape} {n_iter.dtype}, not one integer")


def load_model(path: str | os.PathLike[str]) -> LogisticRegression:
    """Read a model written by :func:`save_model` from ``PATH.npz`` (``path``, a str or ``os.PathLike``,
    may name ``PATH``, ``PATH.npz`` or the sidecar ``PATH.json``; the archive is what is read; see
    :func:`chainrule._archive.load_path`).

    Everything in the metadata, and the declared shape and dtype of every array, is checked before any
    array is read.

    Raises:
        OSError: the file is missing or unreadable (names it).
        ValueError: a file that is not ours (not an archive, object arrays, another format, beyond the
            limits), an unsupported version, unknown or invalid parameters (a non-boolean
            ``fit_intercept``), or arrays whose shapes or dtypes disagree with the metadata (names the
            file and what is wrong).
        TypeError: ``path`` is not a str or ``os.PathLike``.
    """
    name = load_path(path)
    with open_archive(name, FORMAT, FORMAT_VERSION) as archive:
        model = _model_from_meta(archive.meta, name)
        _check_specs(archive.specs, model, name)
        arrays = archive.read()
    coef, intercept = arrays["coef"], arrays["intercept"]
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise ValueError(f"{name!r}: coefficients are not all finite")
    model.coef_ = coef
    model.intercept_ = intercept
    model.n_iter_ = arrays["n_iter"].astype(np.int32).reshape(-1)
    return model
