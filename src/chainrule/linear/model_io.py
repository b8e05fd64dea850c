"""Save and load a fitted :class:`~chainrule.linear.logistic.LogisticRegression` without pickle.

A model is two files side by side:

- ``PATH.npz``: the arrays (``coef``, ``intercept``, ``classes``, ``n_iter``, optional ``feature_names``),
  written by ``np.savez`` and read with ``allow_pickle=False``, so an object array cannot smuggle code;
- ``PATH.json``: the format marker ``{"format": "chainrule.linear.LogisticRegression",
  "format_version": 1}``, the hyperparameters, and the fit facts (solver, convergence, objective).

Loading checks the marker, the version, the parameter names and every array's shape and dtype, and
raises ``ValueError`` (one line, naming the file) for anything else.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from typing import TYPE_CHECKING, Any

import numpy as np

from chainrule._version import __version__

if TYPE_CHECKING:
    from chainrule.linear.logistic import LogisticRegression

__all__ = ["FORMAT", "FORMAT_VERSION", "load_model", "save_model"]

FORMAT = "chainrule.linear.LogisticRegression"
FORMAT_VERSION = 1
_MAX_JSON_BYTES = 1 << 20


def _stem(path: str | os.PathLike[str]) -> str:
    name = os.fspath(path)
    for suffix in (".npz", ".json"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _json_number(value: float) -> float | str:
    """JSON has no inf/nan: those are written as strings."""
    return value if math.isfinite(value) else str(value)


def save_model(model: LogisticRegression, path: str | os.PathLike[str]) -> tuple[str, str]:
    """Write ``PATH.npz`` and ``PATH.json`` (a trailing ``.npz``/``.json`` on ``path`` is dropped).

    Returns:
        The two paths written.

    Raises:
        ValueError: the model is not fitted, or its class labels are neither numbers nor strings.
    """
    model._check_fitted()
    stem = _stem(path)
    classes = np.asarray(model.classes_)
    if classes.dtype.kind == "O":
        if not all(isinstance(c, str) for c in classes):
            raise ValueError("cannot save class labels that are neither numbers nor strings")
        classes = classes.astype(str)
    if classes.dtype.kind not in "biufU":
        raise ValueError(f"cannot save class labels of dtype {classes.dtype}")
    arrays: dict[str, np.ndarray] = {
        "coef": np.asarray(model.coef_, dtype=np.float64),
        "intercept": np.asarray(model.intercept_, dtype=np.float64),
        "classes": classes,
        "n_iter": np.asarray(model.n_iter_, dtype=np.int64),
    }
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        arrays["feature_names"] = np.asarray([str(n) for n in names], dtype=str)
    params = model.get_params()
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chainrule_version": __version__,
        "params": {
            k: (_json_number(float(v)) if isinstance(v, float) else v) for k, v in params.items()
        },
        "n_features_in": int(model.n_features_in_),
        "solver_used": str(getattr(model, "solver_", params["solver"])),
        "converged": bool(getattr(model, "converged_", True)),
        "objective": _json_number(float(getattr(model, "objective_", float("nan")))),
        "arrays": sorted(arrays),
    }
    npz_path, json_path = stem + ".npz", stem + ".json"
    with open(npz_path, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    with open(json_path, "w", encoding="utf-8") as handle:
        json.dump(meta, handle, indent=2)
        handle.write("\n")
    return npz_path, json_path


def _read_meta(json_path: str) -> dict[str, Any]:
    try:
        with open(json_path, "rb") as handle:
            raw = handle.read(_MAX_JSON_BYTES + 1)
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot read model file {json_path!r}: {exc.strerror}") from exc
    if len(raw) > _MAX_JSON_BYTES:
        raise ValueError(f"{json_path!r} is not a chainrule model file (larger than 1 MiB)")
    try:
        meta = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{json_path!r} is not a chainrule model file (not JSON: {exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(
            f'{json_path!r} is not a chainrule model file (expected "format": "{FORMAT}")'
        )
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{json_path!r}: model format version {meta.get('format_version')!r} is not supported "
            f"(this chainrule reads version {FORMAT_VERSION})"
        )
    return meta


def _read_arrays(npz_path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except OSError as exc:
        raise type(exc)(exc.errno, f"cannot read model file {npz_path!r}: {exc.strerror}") from exc
    except (ValueError, zipfile.BadZipFile, EOFError) as exc:
        # allow_pickle=False turns an object array into a ValueError: nothing is unpickled.
        raise ValueError(f"{npz_path!r} is not a chainrule model array file ({exc})") from exc


def load_model(path: str | os.PathLike[str]) -> LogisticRegression:
    """Read a model written by :func:`save_model` from ``PATH.npz`` and ``PATH.json``.

    Raises:
        OSError: a file is missing or unreadable (names it).
        ValueError: a file that is not ours, an unsupported version, unknown parameters, or arrays
            whose shapes or dtypes disagree with the metadata (names the file and what is wrong).
    """
    from chainrule.linear.logistic import _PARAM_NAMES, LogisticRegression

    stem = _stem(path)
    npz_path, json_path = stem + ".npz", stem + ".json"
    meta = _read_meta(json_path)
    params = meta.get("params")
    if not isinstance(params, dict) or set(params) != set(_PARAM_NAMES):
        raise ValueError(
            f"{json_path!r}: 'params' must name exactly these parameters: {', '.join(_PARAM_NAMES)}"
        )
    if isinstance(params["C"], str):
        try:
            params["C"] = float(params["C"])
        except ValueError as exc:
            raise ValueError(f"{json_path!r}: C = {params['C']!r} is not a number") from exc
    model = LogisticRegression().set_params(**params)
    model._validate_params()
    arrays = _read_arrays(npz_path)
    missing = {"coef", "intercept", "classes", "n_iter"} - set(arrays)
    if missing:
        raise ValueError(f"{npz_path!r} lacks the arrays: {', '.join(sorted(missing))}")
    coef, intercept, classes = arrays["coef"], arrays["intercept"], arrays["classes"]
    d = meta.get("n_features_in")
    K = classes.shape[0] if classes.ndim == 1 else -1
    rows = 1 if K == 2 else K
    if (
        not isinstance(d, int)
        or K < 2
        or coef.dtype != np.float64
        or intercept.dtype != np.float64
        or coef.shape != (rows, d)
        or intercept.shape != (rows,)
    ):
        raise ValueError(
            f"{npz_path!r}: inconsistent arrays (coef {coef.shape} {coef.dtype}, intercept "
            f"{intercept.shape}, classes {classes.shape}, n_features_in {d!r})"
        )
    if not (np.all(np.isfinite(coef)) and np.all(np.isfinite(intercept))):
        raise ValueError(f"{npz_path!r}: coefficients are not all finite")
    model.coef_ = coef
    model.intercept_ = intercept
    model.classes_ = classes
    model.n_iter_ = arrays["n_iter"].astype(np.int32).reshape(-1)
    model.n_features_in_ = d
    if "feature_names" in arrays:
        names = arrays["feature_names"]
        if names.shape != (d,):
            raise ValueError(f"{npz_path!r}: {names.shape[0]} feature names for {d} features")
        model.feature_names_in_ = names.astype(object)
    model.solver_ = str(meta.get("solver_used", model.solver))
    model.converged_ = bool(meta.get("converged", True))
    objective = meta.get("objective")
    model.objective_ = (
        float(objective) if isinstance(objective, (int, float, str)) else float("nan")
    )
    model.separated_ = None
    return model
