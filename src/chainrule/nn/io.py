"""Save and load modules, optimizer states and state dicts as ``.npz`` files, without pickle.

File format (``format_version`` 1): one ``.npz`` archive written by ``np.savez`` holding

- the arrays, under the entry names ``a0``, ``a1``, … (parameter names such as ``w_{2,4}`` or
  ``fc1.weight`` are never used as file names inside the archive);
- ``__chainrule__``: UTF-8 JSON (stored as a uint8 array) with the format marker
  ``{"format": "chainrule.nn", "format_version": 1}``, what was saved (``"kind"``: ``"module"``,
  ``"optimizer"`` or ``"state"``; the class name) and the state as a tree whose array leaves are
  ``{"__array__": "a0", "shape": [...], "dtype": "float32"}`` and whose other leaves are JSON
  numbers, strings, booleans, null or lists of them (non-finite floats are written as
  ``{"__float__": "inf"}``).

Loading reads with ``allow_pickle=False`` (an object array is refused, nothing is unpickled) and
checks the marker and every array's shape and dtype against the JSON; anything else is a
``ValueError`` that names the file. Only numeric and boolean arrays are written or read. The archive
layer (metadata entry, marker, version, no pickle) is :mod:`chainrule._archive`, shared with
``chainrule.linear.model_io``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule import backend
from chainrule._archive import ARRAY_KINDS, META_ENTRY, read_archive, write_archive
from chainrule._version import __version__
from chainrule.autodiff import Tensor
from chainrule.nn.module import Module
from chainrule.nn.optim import Optimizer

__all__ = ["FORMAT", "FORMAT_VERSION", "load", "save"]

FORMAT = "chainrule.nn"
FORMAT_VERSION = 1


def _is_array(x: Any) -> bool:
    return isinstance(x, (Tensor, np.ndarray, np.generic)) or (
        backend.is_array(x) and not isinstance(x, (bool, int, float, str))
    )


def _encode(value: Any, arrays: dict[str, np.ndarray], where: str) -> Any:
    """The JSON tree for ``value``; arrays go to ``arrays`` (iterative over nested mappings)."""
    if _is_array(value):
        arr = np.asarray(backend.to_numpy(value.data if isinstance(value, Tensor) else value))
        if arr.dtype.kind not in ARRAY_KINDS:
            raise ValueError(f"cannot save {where or 'the value'}: arrays of dtype {arr.dtype}")
        key = f"a{len(arrays)}"
        arrays[key] = arr
        return {"__array__": key, "shape": list(arr.shape), "dtype": arr.dtype.str}
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"cannot save {where or 'the state'}: key {k!r} is not a string")
            out[k] = _encode(v, arrays, f"{where}.{k}" if where else k)
        return out
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        return {"__float__": repr(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ValueError(
        f"cannot save {where or 'the value'}: {type(value).__name__} is not an array, number, "
        "string or mapping"
    )


def save(obj: Module | Optimizer | Mapping[str, Any], path: str | os.PathLike[str]) -> str:
    """Write ``obj`` (a Module's state dict, an Optimizer's state, or a mapping) to ``path``.

    ``.npz`` is appended when ``path`` has no such suffix.

    Returns:
        The path written.

    Raises:
        ValueError: a value that is not an array, number, string, list or string-keyed mapping.
        OSError: the file cannot be written.
    """
    state: Mapping[str, Any]
    if isinstance(obj, Module):
        kind, state = "module", obj.state_dict()
    elif isinstance(obj, Optimizer):
        kind, state = "optimizer", obj.state_dict()
    elif isinstance(obj, Mapping):
        kind, state = "state", obj
    else:
        raise TypeError(f"save: expected a Module, Optimizer or mapping, not {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(state, arrays, "")
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "chainrule_version": __version__,
        "kind": kind,
        "class": type(obj).__name__,
        "state": tree,
    }
    name = os.fspath(path)
    if not name.endswith(".npz"):
        name += ".npz"
    write_archive(name, meta, arrays)
    return name


def _not_ours(name: str, why: str) -> ValueError:
    return ValueError(f"{name!r} is not a chainrule.nn file ({why})")


def _decode(node: Any, arrays: Mapping[str, np.ndarray], name: str) -> Any:
    if isinstance(node, dict):
        if "__array__" in node:
            key = node["__array__"]
            if not isinstance(key, str) or key not in arrays or key == META_ENTRY:
                raise _not_ours(name, f"missing array {key!r}")
            arr = arrays[key]
            shape = node.get("shape")
            dtype = node.get("dtype")
            if list(arr.shape) != shape or arr.dtype.str != dtype:
                raise ValueError(
                    f"{name!r}: array {key} has shape {arr.shape} and dtype {arr.dtype.str}, "
                    f"the metadata says {shape} and {dtype}"
                )
            return arr
        if "__float__" in node:
            return float(node["__float__"])
        return {k: _decode(v, arrays, name) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode(v, arrays, name) for v in node]
    return node


def load(path: str | os.PathLike[str], into: Module | Optimizer | None = None) -> Any:
    """Read a file written by :func:`save`.

    Args:
        path: the ``.npz`` file.
        into: a Module or Optimizer to restore in place (its ``load_state_dict``); it is returned.

    Returns:
        ``into`` when given, else the saved state (a dict of arrays and plain values; for a
        module, dotted parameter name → array).

    Raises:
        OSError: the file cannot be read.
        ValueError: the file is not ours (names it), an unsupported version, inconsistent arrays,
            or a state that does not fit ``into`` (names the parameter).
    """
    name = os.fspath(path)
    meta, arrays = read_archive(name, FORMAT, FORMAT_VERSION)
    state = _decode(meta.get("state"), arrays, name)
    if not isinstance(state, dict):
        raise _not_ours(name, "the state is not a mapping")
    if into is None:
        return state
    kind = meta.get("kind")
    if isinstance(into, Module):
        if kind != "module" and kind != "state":
            raise ValueError(f"{name!r} holds a {kind} state, not a module's")
        into.load_state_dict(state)
    elif isinstance(into, Optimizer):
        if kind != "optimizer":
            raise ValueError(f"{name!r} holds a {kind} state, not an optimizer's")
        into.load_state_dict(state)
    else:
        raise TypeError(f"load: into must be a Module or Optimizer, not {type(into).__name__}")
    return into
