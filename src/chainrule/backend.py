"""The one place that knows array libraries.

Everything numeric in chainrule asks this module for the namespace of its inputs (the Python Array API
standard, through ``array_api_compat``) instead of importing NumPy directly, so the same code runs on
NumPy, ``array_api_strict``, Dask, CuPy or torch arrays. NumPy is the default namespace.
"""

from __future__ import annotations

import sys
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "DEFAULT_FLOAT",
    "any_dask",
    "array_namespace",
    "asarray",
    "dask_array_module",
    "has_cuda_device",
    "is_array",
    "is_dask_array",
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


def is_dask_array(x: object) -> bool:
    """True when ``x`` is a ``dask.array.Array``; never imports Dask (only looks when ``x``'s type
    comes from a ``dask`` module, which is then already imported)."""
    module = type(x).__module__
    if not (module == "dask" or module.startswith("dask.")):
        return False
    da = sys.modules.get("dask.array")
    return da is not None and isinstance(x, da.Array)


def any_dask(*xs: object) -> bool:
    """True when any of ``xs`` is a Dask array (:func:`is_dask_array`)."""
    return any(is_dask_array(x) for x in xs)


def dask_array_module() -> Any:
    """The ``dask.array`` module, imported on first use (Dask is optional: ``chainrule[scale]``).

    Raises:
        ImportError: Dask is not installed (the message says which extra installs it).
    """
    try:
        import dask.array as da
    except ImportError as exc:  # pragma: no cover - dask is a dev dependency
        raise ImportError(
            "Dask arrays need dask: pip install 'chainrule[scale]' (or 'dask[array]')"
        ) from exc
    return da


def has_cuda_device() -> bool:
    """True when CuPy is importable and sees at least one CUDA device (for GPU tests and benches)."""
    try:
        import cupy

        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # ImportError, or CUDA's own errors when there is no driver or device
        return False


def array_namespace(*xs: object) -> Any:
    """The namespace shared by the arrays among ``xs``.

    Python scalars and ``None`` are ignored; with no arrays at all, the NumPy namespace is returned.
    NumPy arrays mixed with Dask arrays give Dask's namespace (Dask takes NumPy operands and wraps
    them lazily).

    Raises:
        TypeError: the arrays come from different libraries (other than NumPy with Dask).
    """
    arrays = [x for x in xs if x is not None and is_array(x)]
    if not arrays:
        return numpy_namespace()
    if len(arrays) > 1 and any_dask(*arrays):
        arrays = [x for x in arrays if not isinstance(x, np.ndarray | np.generic)]
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
    """A NumPy copy (or view) of an array from any namespace, for printing, reports and file output.

    Device arrays are copied to the host (CuPy's ``get``, torch's ``cpu``); a Dask array is computed.
    """
    if isinstance(x, np.ndarray):
        return x
    module = type(x).__module__
    device: Any = x
    if module.startswith("cupy") and hasattr(device, "get"):
        return np.asarray(device.get())
    if module.startswith("torch") and hasattr(device, "cpu"):
        return np.asarray(device.detach().cpu().numpy())
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError, ValueError):
            pass
    return np.asarray(x)
