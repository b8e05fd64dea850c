"""Data for the linear models: a CSV reader, input validation, and the embedded breast-cancer data.

- :func:`load_csv` reads a numeric CSV file with a header row into ``(X, y, feature_names, target_name)``.
- :func:`check_Xy` and :func:`check_X` validate arrays before a fit or a prediction; their errors name the
  row and column of the first bad value, or both shapes when shapes disagree.
- :func:`load_breast_cancer` returns the Wisconsin diagnostic breast-cancer data (569 x 30), embedded in
  ``chainrule/linear/data/breast_cancer.csv``. Source: UCI Machine Learning Repository; creators W. N. Street,
  W. H. Wolberg and O. L. Mangasarian; licence CC BY 4.0 (see ``data/README.md``).

Everything here works on NumPy arrays (float64 for features); it reads no file format that can run code.
"""

from __future__ import annotations

import csv
import math
import os
import pathlib
import warnings
from typing import Any

import numpy as np
import scipy.sparse

from chainrule.backend import to_numpy
from chainrule.linear.exceptions import DataConversionWarning

__all__ = [
    "check_X",
    "check_Xy",
    "check_class_labels",
    "check_sample_weight",
    "load_breast_cancer",
    "load_csv",
    "plain",
]

_DATA_DIR = pathlib.Path(__file__).parent / "data"


def _parse_float(text: str) -> float | None:
    """The float that ``text`` spells, or ``None`` when it is not a number (``nan``/``inf`` are numbers)."""
    try:
        return float(text)
    except ValueError:
        return None


def load_csv(
    path: str | os.PathLike[str], target: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Read a CSV file with a header row into a feature matrix and a target vector.

    Args:
        path: the file. The first row names the columns; every later non-blank row is one sample.
        target: the name of the target column; the last column when ``None``.

    Returns:
        ``(X, y, feature_names, target_name)``: ``X`` is float64 of shape ``(n, d)`` (every column but the
        target, in file order), ``y`` has shape ``(n,)`` and is int64 when every target value is an integer,
        float64 when every value is numeric, and ``str`` labels otherwise. ``nan``/``inf`` spelled in the
        file are read as numbers; :func:`check_Xy` rejects them before a fit.

    Raises:
        FileNotFoundError / OSError: the file cannot be read (the message names it).
        ValueError: the file is not UTF-8 text or not CSV (names the line); the file is empty or has no
            data rows; the target column does not exist (the message
            lists the columns); a row has the wrong number of cells (names the line); a feature cell is not a
            number (names the file, the column and the line).
    """
    name = os.fspath(path)
    try:
        handle = open(name, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise type(exc)(exc.errno, f"cannot read CSV file {name!r}: {reason}") from exc
    reader = csv.reader(handle)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    with handle:
        try:
            for row in reader:
                if not row or all(not cell.strip() for cell in row):
                    continue  # blank lines carry no sample
                if header is None:
                    header = [cell.strip() for cell in row]
                    continue
                rows.append((reader.line_num, row))
        except UnicodeDecodeError:
            raise ValueError(f"CSV file {name!r}, {_first_undecodable(name)}") from None
        except csv.Error as exc:
            raise ValueError(f"CSV file {name!r}, line {reader.line_num}: {exc}") from None
    if header is None:
        raise ValueError(f"CSV file {name!r} is empty: a header row naming the columns is required")
    if len(header) < 2:
        raise ValueError(
            f"CSV file {name!r} has {len(header)} column ({header[0]!r}); "
            "at least one feature column and a target column are required"
        )
    seen: set[str] = set()
    for col in header:
        if not col:
            raise ValueError(f"CSV file {name!r}: the header row has an empty column name")
        if col in seen:
            raise ValueError(f"CSV file {name!r}: the header names column {col!r} twice")
        seen.add(col)
    if target is None:
        target_index = len(header) - 1
    elif target in header:
        target_index = header.index(target)
    else:
        raise ValueError(
            f"CSV file {name!r} has no column {target!r}; its columns are: {', '.join(header)}"
        )
    if not rows:
        raise ValueError(f"CSV file {name!r} has a header but no data rows")

    feature_names = [col for j, col in enumerate(header) if j != target_index]
    X = np.empty((len(rows), len(feature_names)), dtype=np.float64)
    raw_target: list[str] = []
    for i, (line, row) in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(
                f"CSV file {name!r}, line {line}: {len(row)} cells, but the header has {len(header)} columns"
            )
        k = 0
        for j, cell in enumerate(row):
            if j == target_index:
                raw_target.append(cell.strip())
                continue
            value = _parse_float(cell)
            if value is None:
                raise ValueError(
                    f"CSV file {name!r}, line {line}, column {header[j]!r}: {cell!r} is not a number"
                )
            X[i, k] = value
            k += 1
    return X, _target_array(raw_target), feature_names, header[target_index]


def _first_undecodable(name: str) -> str:
    """Where a file stops being UTF-8: ``"line 3: byte 0xff is not UTF-8 text; ..."``.

    The text reader decodes in blocks, so the line is found again from the raw bytes (on the error path only).
    """
    with open(name, "rb") as handle:
        data = handle.read()
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data.count(b"\n", 0, start) + 1
        return f"line {line}: byte 0x{data[start]:02x} is not UTF-8 text; is it a CSV file?"
    return "not UTF-8 text"  # pragma: no cover - the reader just failed to decode it


def _target_array(cells: list[str]) -> np.ndarray:
    """Target cells as int64 (all integers), float64 (all numbers) or str labels (anything else)."""
    values = [_parse_float(cell) for cell in cells]
    if any(v is None for v in values):
        return np.asarray(cells, dtype=str)
    floats = np.asarray(values, dtype=np.float64)
    integral = bool(np.all(np.isfinite(floats)) and np.all(floats == np.round(floats)))
    if integral and floats.size and np.max(np.abs(floats)) < 2**53:
        return floats.astype(np.int64)
    return floats


def _first_nonfinite(a: np.ndarray) -> tuple[tuple[int, ...], str] | None:
    """Index and kind ('NaN' or 'inf') of the first non-finite entry of a float array, or ``None``."""
    # Fast path: a finite sum means every entry is finite (NaN and inf propagate through a sum); it reads
    # the array once without the n·d mask. A sum that overflows falls through to the full search.
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(np.sum(a)):
            return None
    bad = ~np.isfinite(a)
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    kind = "NaN" if math.isnan(float(a[index])) else "inf"
    return index, kind


def check_X(
    X: Any, *, name: str = "X", n_features: int | None = None, owner: str = "model"
) -> np.ndarray:
    """Validate a feature matrix: a finite float64 2-D array with at least one row and one column.

    Args:
        X: array-like of shape ``(n, d)`` (any Array-API array, nested lists, ...).
        name: what to call it in messages.
        n_features: when given, the required ``d`` (e.g. the number seen in ``fit``).
        owner: one word naming who expects ``n_features`` (e.g. the estimator's class name).

    Returns:
        ``X`` as a float64 NumPy array of shape ``(n, d)`` (a copy only when a conversion is needed).

    Raises:
        ValueError: complex data; entries that are not numbers; not 2-D (a 1-D array says "Reshape your
            data"); zero samples or zero features; a NaN/inf entry (names its row and column); a wrong
            number of features (names both counts).
    """
    if X is None:
        raise ValueError(
            f"{name} is None: expected array-like (array or non-string sequence), got None"
        )
    if scipy.sparse.issparse(X):
        raise TypeError(
            f"sparse input is not supported: {name} is a {type(X).__name__}; "
            f"pass a dense array ({name}.toarray())"
        )
    arr = to_numpy(X) if not isinstance(X, (list, tuple)) else np.asarray(X)
    if np.iscomplexobj(arr):
        raise ValueError(f"Complex data not supported: {name} has dtype {arr.dtype}")
    if arr.dtype.kind not in "fiub":
        try:
            arr = arr.astype(np.float64)
        except TypeError as exc:  # e.g. a dict among the entries: a type error, as numpy says
            raise TypeError(f"{name} must hold numbers; {exc}") from exc
        except ValueError as exc:
            raise ValueError(f"{name} must hold numbers; got dtype {arr.dtype}: {exc}") from exc
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2:
        if arr.ndim == 1:
            raise ValueError(
                f"Expected 2D array for {name}, got a 1D array of shape {arr.shape}. Reshape your data "
                "with X.reshape(-1, 1) for a single feature or X.reshape(1, -1) for a single sample."
            )
        raise ValueError(
            f"Expected 2D array for {name}, got {arr.ndim}D array of shape {arr.shape}"
        )
    n, d = arr.shape
    if n == 0:
        raise ValueError(
            f"Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 is required: {name}"
        )
    if d == 0:
        raise ValueError(
            f"Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 is required: {name}"
        )
    found = _first_nonfinite(arr)
    if found is not None:
        (row, col), kind = found
        raise ValueError(
            f"{name} contains {kind} at row {row}, column {col} (0-based); "
            "remove or impute non-finite values before fitting"
        )
    if n_features is not None and d != n_features:
        raise ValueError(
            f"{name} has {d} features, but {owner} is expecting {n_features} features as input "
            f"({name}.shape = {arr.shape})"
        )
    return arr


def check_Xy(
    X: Any, y: Any, *, name_X: str = "X", name_y: str = "y"
) -> tuple[np.ndarray, np.ndarray]:
    """Validate a feature matrix and its target vector together.

    Args:
        X: array-like of shape ``(n, d)``.
        y: array-like of shape ``(n,)`` (numbers or labels). A column vector ``(n, 1)`` is flattened with a
            :class:`~chainrule.linear.exceptions.DataConversionWarning`.

    Returns:
        ``(X, y)``: ``X`` float64 of shape ``(n, d)`` (see :func:`check_X`); ``y`` a NumPy array of shape
        ``(n,)`` with its own dtype.

    Raises:
        ValueError: anything :func:`check_X` rejects; ``y`` is ``None``, not 1-D, or has NaN/inf (names
            the row); the numbers of rows disagree (names both shapes).
    """
    if y is None:
        raise ValueError(f"this estimator requires y to be passed, but the target {name_y} is None")
    X_arr = check_X(X, name=name_X)
    y_arr = to_numpy(y) if not isinstance(y, (list, tuple)) else np.asarray(y)
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        warnings.warn(
            DataConversionWarning(
                "A column-vector y was passed when a 1d array was expected; "
                f"{name_y} of shape {y_arr.shape} is flattened to ({y_arr.shape[0]},). "
                "Pass a 1-D array, e.g. y.ravel()."
            ),
            stacklevel=2,
        )
        y_arr = y_arr.ravel()
    if y_arr.ndim != 1:
        raise ValueError(
            f"{name_y} should be a 1d array, got an array of shape {y_arr.shape} "
            f"({name_X}.shape = {X_arr.shape})"
        )
    if y_arr.shape[0] != X_arr.shape[0]:
        raise ValueError(
            f"{name_X} and {name_y} have different numbers of rows: "
            f"{name_X}.shape = {X_arr.shape}, {name_y}.shape = {y_arr.shape}"
        )
    if np.iscomplexobj(y_arr):
        raise ValueError(f"Complex data not supported: {name_y} has dtype {y_arr.dtype}")
    if y_arr.dtype.kind == "f":
        found = _first_nonfinite(y_arr)
        if found is not None:
            (row,), kind = found
            raise ValueError(f"{name_y} contains {kind} at row {row} (0-based)")
    elif y_arr.dtype.kind == "O":
        for row, value in enumerate(y_arr):
            if isinstance(value, float) and not math.isfinite(value):
                kind = "NaN" if math.isnan(value) else "inf"
                raise ValueError(f"{name_y} contains {kind} at row {row} (0-based)")
    return X_arr, y_arr


def plain(value: Any) -> Any:
    """A NumPy scalar as the Python value it holds (``1``, not ``np.int64(1)``); anything else as is."""
    return value.item() if isinstance(value, np.generic) else value


def check_class_labels(y: np.ndarray, owner: str) -> None:
    """Reject targets that are not class labels: non-integer floats, or objects of mixed kinds.

    Args:
        y: the target, shape ``(n,)`` (as :func:`check_Xy` returns it); owner: the classifier's name.

    Raises:
        ValueError: ``Unknown label type: continuous ...`` for non-integer floats, or ``Unknown label type:
            y holds labels of types ...`` for an object array mixing strings and numbers.
    """
    if y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError(
            "Unknown label type: continuous target (y holds non-integer values); "
            f"{owner} is a classifier: pass class labels (integers or strings)"
        )
    if y.dtype.kind == "O":
        kinds = {type(v) for v in y.tolist()}
        if not (kinds <= {str} or kinds <= {int, bool}):
            names = ", ".join(sorted(k.__name__ for k in kinds))
            raise ValueError(
                f"Unknown label type: y holds labels of types {names}; pass ints or strings"
            )


def check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Validate sample weights: ``None``, a scalar (one weight for every row) or array-like of shape ``(n,)``.

    Returns:
        ``None`` for ``None``; otherwise float64 of shape ``(n,)``, finite, non-negative, not all zero.

    Raises:
        ValueError: a wrong shape (names both), NaN/inf or a negative weight (names the row), all zero.
    """
    if sample_weight is None:
        return None
    sw = np.asarray(
        to_numpy(sample_weight) if not isinstance(sample_weight, (list, tuple)) else sample_weight
    )
    if sw.ndim == 0:
        sw = np.full(n, float(sw))
    sw = np.asarray(sw, dtype=np.float64)
    if sw.ndim != 1 or sw.shape[0] != n:
        raise ValueError(
            f"sample_weight.shape == {sw.shape}, expected ({n},) (one weight per row of X)"
        )
    bad = np.flatnonzero(~np.isfinite(sw))
    if bad.size:
        raise ValueError(f"sample_weight contains NaN or inf at row {int(bad[0])}")
    neg = np.flatnonzero(sw < 0)
    if neg.size:
        raise ValueError(f"sample_weight is negative at row {int(neg[0])}: {sw[neg[0]]}")
    if not sw.sum() > 0:
        raise ValueError("sample weights are all zero: at least one sample needs a positive weight")
    return sw


def load_breast_cancer() -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """The Wisconsin diagnostic breast-cancer data (UCI; Street, Wolberg, Mangasarian; CC BY 4.0).

    Returns:
        ``(X, y, feature_names, target_names)``: ``X`` float64 of shape ``(569, 30)``, ``y`` int64 of shape
        ``(569,)`` with 0 = malignant (212) and 1 = benign (357), the 30 feature names, and
        ``["malignant", "benign"]`` (the meaning of ``y == 0`` and ``y == 1``).
    """
    X, y, feature_names, _ = load_csv(_DATA_DIR / "breast_cancer.csv", target="target")
    return X, y, feature_names, ["malignant", "benign"]
