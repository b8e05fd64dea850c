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

Loading never unpickles or runs anything: :mod:`chainrule._archive` (shared with
``chainrule.linear.model_io``) checks the zip, its size limits, the JSON metadata (depth, number and
string lengths), the marker and version, and every member's ``.npy`` header; then this module checks
each declared shape and dtype against the state tree (every array referenced, none missing), and only
then is any array read. Anything wrong is a ``ValueError`` that names the file. Only numeric and
boolean arrays are written or read. Paths are resolved as in every chainrule loader
(:func:`chainrule._archive.load_path`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from chainrule import backend
from chainrule._archive import (
    ARRAY_KINDS,
    ArraySpec,
    load_path,
    open_archive,
    save_path,
    write_archive,
)
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

    ``.npz`` is appended when ``path`` has no such suffix (``PATH.json`` names ``PATH.npz``), as for
    every chainrule file (:func:`chainrule._archive.save_path`).

    Returns:
        The path written.

    Raises:
        ValueError: a value that is not an array, number, string, list or string-keyed mapping, or a
            state beyond the limits a file may hold (it would not load).
        TypeError: ``path`` is not a str or ``os.PathLike``.
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
    name = save_path(path)
    write_archive(name, meta, arrays)
    return name


_FLOATS = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def _not_ours(name: str, why: str) -> ValueError:
    return ValueError(f"{name!r} is not a chainrule.nn file ({why})")


def _check_arrays(tree: Any, specs: Mapping[str, ArraySpec], name: str) -> None:
    """Every array leaf of ``tree`` names a member of the declared shape and dtype; no member is left over.

    Runs on the headers only, before any array is read (the tree's depth is bounded by the reader).
    """
    used: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict) and "__array__" in node:
            key = node["__array__"]
            if not isinstance(key, str) or key not in specs:
                raise _not_ours(name, f"missing array {repr(key)[:60]}")
            shape, dtype = node.get("shape"), node.get("dtype")
            spec = specs[key]
            if shape != list(spec.shape) or dtype != spec.dtype.str:
                raise ValueError(
                    f"{name!r}: array {key} has shape {spec.shape} and dtype {spec.dtype.str}, "
                    f"the metadata says {str(shape)[:80]} and {str(dtype)[:40]}"
                )
            used.add(key)
        elif isinstance(node, dict) and "__float__" in node:
            text = node["__float__"]
            if not isinstance(text, str) or text not in _FLOATS:
                raise _not_ours(name, f"{str(text)[:40]!r} is not inf, -inf or nan")
        elif isinstance(node, dict):
            stack.extend(node.values())
    extra = sorted(set(specs) - used)
    if extra:
        raise _not_ours(name, f"array {extra[0]} is not in the state ({len(extra)} unreferenced)")


def _decode(node: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    """The state for the tree ``node`` (checked by :func:`_check_arrays`)."""
    if isinstance(node, dict):
        if "__array__" in node:
            return arrays[node["__array__"]]
        if "__float__" in node:
            return _FLOATS[node["__float__"]]
        return {k: _decode(v, arrays) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    return node


def load(path: str | os.PathLike[str], into: Module | Optimizer | None = None) -> Any:
    """Read a file written by :func:`save`.

    Args:
        path: the file: ``PATH.npz``, or ``PATH`` (str or ``os.PathLike``) as given to :func:`save`
            (resolved by :func:`chainrule._archive.load_path`, as in every chainrule loader).
        into: a Module or Optimizer to restore in place (its ``load_state_dict``); it is returned.

    Returns:
        ``into`` when given, else the saved state (a dict of arrays and plain values; for a
        module, dotted parameter name → array).

    Raises:
        OSError: the file cannot be opened (names it).
        ValueError: the file is not ours or beyond the limits (names it and what is wrong), an
            unsupported version, arrays that disagree with the metadata, or a state that does not fit
            ``into`` (names the parameter). Everything but the last is found before any array is read.
        TypeError: ``path`` is not a str or ``os.PathLike``; ``into`` is not a Module or Optimizer.
    """
    if into is not None and not isinstance(into, (Module, Optimizer)):
        raise TypeError(f"load: into must be a Module or Optimizer, not {type(into).__name__}")
    name = load_path(path)
    with open_archive(name, FORMAT, FORMAT_VERSION) as archive:
        meta = archive.meta
        tree = meta.get("state")
        if not isinstance(tree, dict):
            raise _not_ours(name, "the state is not a mapping")
        kind = str(meta.get("kind"))[:40]
        if isinstance(into, Module) and kind not in ("module", "state"):
            raise ValueError(f"{name!r} holds a {kind} state, not a module's")
        if isinstance(into, Optimizer) and kind != "optimizer":
            raise ValueError(f"{name!r} holds a {kind} state, not an optimizer's")
        _check_arrays(tree, archive.specs, name)
        arrays = archive.read()
    state = _decode(tree, arrays)
    if into is None:
        return state
    into.load_state_dict(state)
    return into
