"""The one place that knows array libraries.

Everything numeric in chainrule asks this module for the namespace of its inputs (the Python Array API
standard, through ``array_api_compat``) instead of importing NumPy directly, so the same code runs on
NumPy, ``array_api_strict``, Dask, CuPy or torch arrays. NumPy is the default namespace.
"""

from __future__ import annotations

from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "DEFAULT_FLOAT",
    "array_namespace",
    "asarray",
    "is_array",
    "is_numpy_namespace",
    "numpy_namespace",
    "to_numpy",
]

#: Default floating dtype name for new tensors and parameters.
DEFAULT_FLOAT = "float64"


def numpy_namespace() -> Any:
    """The Array-API-compatible NumPy namespace (``array_api_compat.numpy``)."""
    return array_api_compat.array_namespace(np.empty(0))


def is_array(x: object) -> bool:
    """True when ``x`` is an array of a namespace ``array_api_compat`` knows (NumPy arrays included)."""
    return bool(array_api_compat.is_array_api_obj(x)) and not isinstance(x, (int, float, complex))


def array_namespace(*xs: object) -> Any:
    """The namespace shared by the arrays among ``xs``.

    Python scalars and ``None`` are ignored; with no arrays at all, the NumPy namespace is returned.

    Raises:
        TypeError: the arrays come from different libraries.
    """
    arrays = [x for x in xs if x is not None and is_array(x)]
    if not arrays:
        return numpy_namespace()
    return array_api_compat.array_namespace(*arrays)


def is_numpy_namespace(xp: Any) -> bool:
    """True when ``xp`` is NumPy (bare or wrapped by ``array_api_compat``)."""
    return bool(array_api_compat.is_numpy_namespace(xp))


def asarray(x: object, xp: Any = None, dtype: Any = None) -> Any:
    """``x`` as an array of namespace ``xp`` (NumPy when ``None``), optionally cast to ``dtype``.

    ``dtype`` may be a dtype of ``xp`` or a dtype name such as ``"float32"``.
    """
    if xp is None:
        xp = array_namespace(x)
    if isinstance(dtype, str):
        dtype = getattr(xp, dtype)
    return xp.asarray(x, dtype=dtype)


def to_numpy(x: object) -> np.ndarray:
    """A NumPy copy (or view) of an array from any namespace, for printing, reports and file output."""
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError, ValueError):
            pass
    return np.asarray(x)
