"""Data for the linear models: a CSV reader, input validation, and the embedded breast-cancer data.

- :func:`load_csv` reads a numeric CSV file with a header row into ``(X, y, feature_names, target_name)``;
  :func:`read_csv` is its engine (a path or a stream such as stdin, a given or detected delimiter, bounds on
  cells, lines, columns and rows, optionally refusing non-finite cells).
- :func:`check_Xy` and :func:`check_X` validate arrays before a fit or a prediction; their errors name the
  row and column of the first bad value, or both shapes when shapes disagree.
- :func:`load_breast_cancer` returns the Wisconsin diagnostic breast-cancer data (569 x 30), embedded in
  ``chainrule/linear/data/breast_cancer.csv``. Source: UCI Machine Learning Repository; creators W. N. Street,
  W. H. Wolberg and O. L. Mangasarian; licence CC BY 4.0 (see ``data/README.md``).

Everything here works on NumPy arrays (float64 for features); it reads no file format that can run code.
"""

from __future__ import annotations

import csv
import itertools
import math
import os
import pathlib
import warnings
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np
import scipy.sparse

from chainrule.backend import to_numpy
from chainrule.linear.exceptions import DataConversionWarning

__all__ = [
    "CSVData",
    "check_X",
    "check_Xy",
    "check_class_labels",
    "check_sample_weight",
    "load_breast_cancer",
    "load_csv",
    "plain",
    "read_csv",
    "sniff_delimiter",
]

_DATA_DIR = pathlib.Path(__file__).parent / "data"


#: Bounds of :func:`read_csv`, each refused at once with one line naming the limit.
MAX_CELL_CHARS = 1_000
MAX_LINE_CHARS = 1_000_000
MAX_COLUMNS = 10_000
MAX_ROWS = 10_000_000
MAX_CELLS = 50_000_000

#: The delimiters :func:`sniff_delimiter` chooses among.
DELIMITERS = (",", ";", "\t", "|")

#: How much of the text :func:`sniff_delimiter` looks at.
_SNIFF_CHARS = 64 * 1024


def _parse_float(text: str) -> float | None:
    """The float that ``text`` spells, or ``None`` when it is not a number (``nan``/``inf`` are numbers)."""
    try:
        return float(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class CSVData:
    """What :func:`read_csv` read: the arrays, the column names, and the delimiter it used."""

    X: np.ndarray
    y: np.ndarray
    feature_names: list[str]
    target_name: str
    delimiter: str
    sniffed: bool


def sniff_delimiter(sample: str) -> str:
    """The delimiter of a CSV text: the one of :data:`DELIMITERS` that splits the header line into the
    most columns and every other sampled line into as many (a comma when none does better)."""
    lines = [ln for ln in sample.splitlines()[:50] if ln.strip()]
    if len(sample) >= _SNIFF_CHARS and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut short
    if not lines:
        return ","
    best, best_count = ",", 0
    for d in DELIMITERS:
        try:
            counts = {len(row) for row in csv.reader(lines, delimiter=d)}
        except csv.Error:
            continue
        width = max(counts)
        if len(counts) == 1 and width > best_count and width > 1:
            best, best_count = d, width
    return best


def _delimiter_name(d: str) -> str:
    return {"\t": "tab", " ": "space"}.get(d, repr(d))


def _bounded_lines(handle: TextIO, name: str) -> Iterator[str]:
    """The lines of ``handle``, each refused past :data:`MAX_LINE_CHARS` (without reading it whole)."""
    number = 0
    while True:
        line = handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            raise ValueError(
                f"CSV file {name!r}, line {number}: longer than {MAX_LINE_CHARS:,} characters "
                "(the limit of a line)"
            )
        yield line


def load_csv(
    path: str | os.PathLike[str] | TextIO, target: str | None = None, *, delimiter: str | None = ","
) -> tuple[np.ndarray, np.ndarray, list[str], str]:
    """Read a CSV file with a header row into a feature matrix and a target vector.

    Args:
        path: the file (or an open text stream, e.g. ``sys.stdin``). The first row names the columns;
            every later non-blank row is one sample.
        target: the name of the target column; the last column when ``None``.
        delimiter: the cell separator; ``None`` detects it (:func:`sniff_delimiter`).

    Returns:
        ``(X, y, feature_names, target_name)``: ``X`` is float64 of shape ``(n, d)`` (every column but the
        target, in file order), ``y`` has shape ``(n,)`` and is int64 when every target value is an integer,
        float64 when every value is numeric, and ``str`` labels otherwise. ``nan``/``inf`` spelled in the
        file are read as numbers; :func:`check_Xy` rejects them before a fit.

    Raises:
        FileNotFoundError / OSError: the file cannot be read (the message names it).
        ValueError: see :func:`read_csv`.
    """
    data = read_csv(path, target, delimiter=delimiter)
    return data.X, data.y, data.feature_names, data.target_name


def read_csv(
    source: str | os.PathLike[str] | TextIO,
    target: str | None = None,
    *,
    delimiter: str | None = None,
    finite: bool = False,
    name: str | None = None,
) -> CSVData:
    """Read a CSV text with a header row (the engine of :func:`load_csv`), within bounds.

    Args:
        source: a path, or an open text stream (``sys.stdin``: read once, not seekable).
        target: the name of the target column; the last column when ``None``.
        delimiter: the cell separator; ``None`` detects it among :data:`DELIMITERS`.
        finite: refuse ``nan``, ``inf`` and numbers beyond the float64 range (``1e999``), naming the cell.
        name: what to call the source in messages (default: the path, or ``<stdin>`` for a stream).

    Every cell is at most :data:`MAX_CELL_CHARS` characters, every line :data:`MAX_LINE_CHARS`; at most
    :data:`MAX_COLUMNS` columns, :data:`MAX_ROWS` rows and :data:`MAX_CELLS` cells. Rows are converted as
    they are read, so memory stays near that of the float64 result.

    Raises:
        FileNotFoundError / OSError: the file cannot be read (the message names it).
        ValueError: the text is not UTF-8 or not CSV (names the line); a bound is exceeded (names the line
            and the limit); the file is empty or has no data rows; the target column does not exist (the
            message lists the columns); a row has the wrong number of cells (names the line); a feature cell
            is not a number, or (``finite``) not a finite float64 (names the file, the column and the line).
    """
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise ValueError(
            f"the delimiter must be one character (not a quote or newline), got {delimiter!r}"
        )
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        try:
            handle: TextIO = open(source, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed below
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise type(exc)(exc.errno, f"cannot read CSV file {label!r}: {reason}") from exc
        close = True
    else:
        label, handle, close = name or "<stdin>", source, False
    try:
        return _read(handle, label, target, delimiter, finite)
    except UnicodeDecodeError as exc:
        where = (
            _first_undecodable(label)
            if close
            else f"byte 0x{exc.object[exc.start]:02x} is not UTF-8 text"
        )
        raise ValueError(f"CSV file {label!r}, {where}") from None
    finally:
        if close:
            handle.close()


def _read(
    handle: TextIO, name: str, target: str | None, delimiter: str | None, finite: bool
) -> CSVData:
    lines: Iterator[str] = _bounded_lines(handle, name)
    sniffed = delimiter is None
    if delimiter is None:
        head: list[str] = []
        size = 0
        for text in lines:
            head.append(text)
            size += len(text)
            if size >= _SNIFF_CHARS:
                break
        delimiter = sniff_delimiter("".join(head))
        lines = itertools.chain(head, lines)
    reader = csv.reader(lines, delimiter=delimiter)
    header: list[str] | None = None
    target_index = -1
    values = array("d")
    raw_target: list[str] = []
    n_rows = 0
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue  # blank lines carry no sample
            line = reader.line_num
            if header is None:
                header = _header(row, name, line)
                target_index = _target_index(header, target, name)
                continue
            if len(row) != len(header):
                raise ValueError(
                    f"CSV file {name!r}, line {line}: {len(row)} cells, but the header has "
                    f"{len(header)} columns"
                )
            n_rows += 1
            if n_rows > MAX_ROWS or n_rows * len(header) > MAX_CELLS:
                raise ValueError(
                    f"CSV file {name!r}, line {line}: more than {MAX_ROWS:,} rows or "
                    f"{MAX_CELLS:,} cells (the limits of a CSV file)"
                )
            for j, cell in enumerate(row):
                if len(cell) > MAX_CELL_CHARS:
                    raise ValueError(
                        f"CSV file {name!r}, line {line}, column {header[j]!r}: a cell of "
                        f"{len(cell):,} characters; the limit is {MAX_CELL_CHARS:,}"
                    )
                if j == target_index:
                    raw_target.append(cell.strip())
                    continue
                value = _parse_float(cell)
                if value is None:
                    raise ValueError(
                        f"CSV file {name!r}, line {line}, column {header[j]!r}: {cell!r} is not a number"
                    )
                if finite and not math.isfinite(value):
                    raise ValueError(
                        f"CSV file {name!r}, line {line}, column {header[j]!r}: {_not_finite(cell)}"
                    )
                values.append(value)
    except csv.Error as exc:
        raise ValueError(f"CSV file {name!r}, line {reader.line_num}: {exc}") from None
    if header is None:
        raise ValueError(f"CSV file {name!r} is empty: a header row naming the columns is required")
    if not n_rows:
        raise ValueError(f"CSV file {name!r} has a header but no data rows")
    feature_names = [col for j, col in enumerate(header) if j != target_index]
    X = np.frombuffer(values, dtype=np.float64).reshape(n_rows, len(feature_names)).copy()
    y = _target_array(raw_target)
    if finite and y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ValueError(
            f"CSV file {name!r}, data row {i + 1}, column {header[target_index]!r}: "
            f"{_not_finite(raw_target[i])}"
        )
    return CSVData(X, y, feature_names, header[target_index], delimiter, sniffed)


def _not_finite(cell: str) -> str:
    """Why a cell that parsed as a float is refused: NaN/inf spelled out, or beyond the float64 range."""
    word = cell.strip().lower().lstrip("+-")
    if word in ("nan", "inf", "infinity"):
        return f"{cell.strip()!r} is not a finite number"
    return f"{cell.strip()!r} is outside the float64 range (|x| ≤ 1.8e308)"


def _header(row: list[str], name: str, line: int) -> list[str]:
    """The column names of the header row, checked: at least two, at most :data:`MAX_COLUMNS`, distinct."""
    if len(row) > MAX_COLUMNS:
        raise ValueError(
            f"CSV file {name!r}, line {line}: {len(row):,} columns; the limit is {MAX_COLUMNS:,}"
        )
    header = [cell.strip() for cell in row]
    if len(header) < 2:
        raise ValueError(
            f"CSV file {name!r} has {len(header)} column ({header[0]!r}); "
            "at least one feature column and a target column are required"
        )
    seen: set[str] = set()
    for col in header:
        if not col:
            raise ValueError(f"CSV file {name!r}: the header row has an empty column name")
        if len(col) > MAX_CELL_CHARS:
            raise ValueError(
                f"CSV file {name!r}, line {line}: a column name of {len(col):,} characters; "
                f"the limit is {MAX_CELL_CHARS:,}"
            )
        if col in seen:
            raise ValueError(f"CSV file {name!r}: the header names column {col!r} twice")
        seen.add(col)
    return header


def _target_index(header: list[str], target: str | None, name: str) -> int:
    if target is None:
        return len(header) - 1
    if target in header:
        return header.index(target)
    shown = ", ".join(header[:20]) + (f", ... ({len(header)} in all)" if len(header) > 20 else "")
    raise ValueError(f"CSV file {name!r} has no column {target!r}; its columns are: {shown}")


def _first_undecodable(name: str) -> str:
    """Where a file stops being UTF-8: ``"line 3: byte 0xff is not UTF-8 text; ..."``.

    The text reader decodes in blocks, so the line is found again from the raw bytes (on the error path
    only), block by block: it stops at the first bad byte, so an endless file (``/dev/urandom``) ends too.
    """
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    lines = 1
    with open(name, "rb") as handle:
        first = True
        while True:
            block = handle.read(1 << 16)
            if first and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
            first = False
            try:
                decoder.decode(block, final=not block)
            except UnicodeDecodeError as exc:
                pending = len(exc.object) - len(block)  # bytes held over from the previous block
                at = max(exc.start - pending, 0)
                lines += block.count(b"\n", 0, at)
                bad = exc.object[exc.start]
                return f"line {lines}: byte 0x{bad:02x} is not UTF-8 text; is it a CSV file?"
            if not block:
                return "not UTF-8 text"  # pragma: no cover - the reader just failed to decode it
            lines += block.count(b"\n")


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


def first_nonfinite(a: np.ndarray) -> tuple[tuple[int, ...], str] | None:
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


def check_sparse_X(
    X: Any, *, name: str = "X", n_features: int | None = None, owner: str = "model"
) -> Any:
    """Validate a SciPy sparse feature matrix: returns it as CSR float64 (converted only when needed,
    never densified), with at least one row and one column and finite stored entries.

    Raises:
        ValueError: complex data; zero samples or features; a NaN/inf entry (names its row and column);
            a wrong number of features.
    """
    if np.iscomplexobj(X.data if hasattr(X, "data") else np.zeros(0)):
        raise ValueError(f"Complex data not supported: {name} has dtype {X.dtype}")
    csr = scipy.sparse.csr_matrix(X, dtype=np.float64)

    def first_bad() -> tuple[tuple[int, ...], str] | None:
        bad = np.flatnonzero(~np.isfinite(csr.data))
        if not bad.size:
            return None
        k = int(bad[0])
        row = int(np.searchsorted(csr.indptr, k, side="right") - 1)
        return (row, int(csr.indices[k])), "NaN" if np.isnan(csr.data[k]) else "inf"

    _check_matrix(name, csr.shape, first_bad, n_features, owner)
    return csr


def _check_matrix(
    name: str,
    shape: tuple[int, ...],
    first_bad: Callable[[], tuple[tuple[int, ...], str] | None],
    n_features: int | None,
    owner: str,
) -> None:
    """The checks :func:`check_X` and :func:`check_sparse_X` share, on a 2-D ``shape``, in order: at
    least one sample and one feature, no non-finite entry (``first_bad()``: its (row, column) and
    kind, searched only once the shape passed), and ``n_features`` columns when given.

    Raises:
        ValueError: the first check that fails, naming ``name``.
    """
    n, d = shape
    if n == 0 or d == 0:
        what = "sample" if n == 0 else "feature"
        raise ValueError(
            f"Found array with 0 {what}(s) (shape={shape}) while a minimum of 1 is required: {name}"
        )
    found = first_bad()
    if found is not None:
        (row, col), kind = found
        raise ValueError(
            f"{name} contains {kind} at row {row}, column {col} (0-based); "
            "remove or impute non-finite values before fitting"
        )
    if n_features is not None and d != n_features:
        raise ValueError(
            f"{name} has {d} features, but {owner} is expecting {n_features} features as input "
            f"({name}.shape = {shape})"
        )


def check_X(
    X: Any,
    *,
    name: str = "X",
    n_features: int | None = None,
    owner: str = "model",
    accept_sparse: bool = False,
) -> Any:
    """Validate a feature matrix: a finite float64 2-D array with at least one row and one column.

    Args:
        X: array-like of shape ``(n, d)`` (any Array-API array, nested lists, ...).
        name: what to call it in messages.
        n_features: when given, the required ``d`` (e.g. the number seen in ``fit``).
        owner: one word naming who expects ``n_features`` (e.g. the estimator's class name).

        accept_sparse: return a SciPy sparse ``X`` as CSR float64 (:func:`check_sparse_X`) instead of
            refusing it.

    Returns:
        ``X`` as a float64 NumPy array of shape ``(n, d)`` (a copy only when a conversion is needed), or
        CSR when sparse and accepted.

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
        if accept_sparse:
            return check_sparse_X(X, name=name, n_features=n_features, owner=owner)
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
    _check_matrix(name, arr.shape, lambda: first_nonfinite(arr), n_features, owner)
    return arr


def check_Xy(
    X: Any, y: Any, *, name_X: str = "X", name_y: str = "y", accept_sparse: bool = False
) -> tuple[Any, np.ndarray]:
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
    X_arr = check_X(X, name=name_X, accept_sparse=accept_sparse)
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
        found = first_nonfinite(y_arr)
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
