"""Save and load fitted linear estimators without pickle: a plain mapping in one ``.npz`` archive.

This module knows the file format, not the estimators. An estimator that can be saved gives its fitted
state as a plain mapping (``_fitted_state()``: JSON values and numeric arrays), says which arrays the
plain part implies, having checked that part (``_state_arrays(plain)``: name → shapes and dtypes), and
is rebuilt, with every entry checked, from such a mapping (``_from_state(state)``); its class names the
format (``_state_format``).
See :mod:`chainrule.linear._state`.

A model is one ``PATH.npz`` archive in the project's file format (:mod:`chainrule._archive`, the format
``chainrule.nn.io`` writes too), read with ``allow_pickle=False``:

- the state's arrays under their own names (for a ``LogisticRegression``: ``coef``, ``intercept``,
  ``n_iter``);
- the JSON entry ``__chainrule__``: the format marker (``{"format": "chainrule.linear.LogisticRegression",
  "format_version": 2}``), the chainrule version that wrote it, and the state's plain entries (for a
  ``LogisticRegression``: the hyperparameters, the class labels and feature names as JSON lists of numbers
  or strings, so no string or object array is ever stored, and the fit facts). JSON has no inf or nan:
  non-finite floats are the strings ``"inf"``, ``"-inf"``, ``"nan"``.

Beside it, ``PATH.json`` holds the same metadata, indented, for people and for tools that read no
``.npz``; it is written for reading only, and loading never needs it (the archive is complete and
authoritative). Loading (:func:`chainrule._archive.open_archive`, with its limits on size, members and
JSON) checks the marker and the version; then the estimator checks every entry of the metadata
(parameters, labels, a boolean where a boolean belongs) and this module the declared shape and dtype of
every array against those the metadata implies, all before any array is read. Anything wrong is a ``ValueError`` (one line, naming the file); no
code in the file runs. Paths are resolved as in every chainrule loader
(:func:`chainrule._archive.load_path`: ``PATH``, ``PATH.npz`` or ``PATH.json``).

Version history: version 1 was two files (``PATH.npz`` + ``PATH.json``); version 2 is one archive with
the JSON inside. Moving the state to the estimators changed nothing in the file: version 2 files written
before load as before (a test loads one).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, ClassVar, Protocol, TypeVar

import numpy as np

from chainrule._archive import load_path, open_archive, save_path, write_archive
from chainrule._version import __version__
from chainrule.linear._state import ArrayRule, check_arrays

__all__ = ["FORMAT", "FORMAT_VERSION", "SavableEstimator", "load_estimator", "save_estimator"]

#: The format marker of a saved ``LogisticRegression`` (its ``_state_format``).
FORMAT = "chainrule.linear.LogisticRegression"
#: Version 1 was two files (PATH.npz + PATH.json); version 2 is one archive with the JSON inside.
FORMAT_VERSION = 2

#: Entries of the metadata that belong to the file, not to the state.
_FILE_KEYS = ("format", "format_version", "chainrule_version")


class SavableEstimator(Protocol):
    """What :func:`save_estimator` and :func:`load_estimator` need of an estimator class."""

    _state_format: ClassVar[str]

    def _fitted_state(self) -> dict[str, Any]: ...

    @classmethod
    def _state_arrays(cls, plain: Mapping[str, Any]) -> dict[str, ArrayRule]: ...

    @classmethod
    def _from_state(cls, state: Mapping[str, Any]) -> Any: ...


E = TypeVar("E")


def _split(state: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """``(plain, arrays)``: the JSON entries and the NumPy arrays of a state."""
    plain: dict[str, Any] = {}
    arrays: dict[str, np.ndarray] = {}
    for key, value in state.items():
        if key in _FILE_KEYS:
            raise ValueError(f"a state may not use the key {key!r} (the file's own)")
        if isinstance(value, np.ndarray):
            arrays[key] = value
        else:
            plain[key] = value
    return plain, arrays


def save_estimator(model: SavableEstimator, path: str | os.PathLike[str]) -> str:
    """Write ``model``'s fitted state to ``PATH.npz`` (``.npz`` is appended unless ``path`` ends with
    it), and its metadata, readable, to ``PATH.json`` beside it.

    Returns:
        The path of the ``.npz`` archive (the one :func:`load_estimator` reads).

    Raises:
        ValueError: the model is not fitted, or its state holds something a file cannot (the estimator's
            message; a label that is neither a number nor a string).
        OSError: the file cannot be written.
    """
    plain, arrays = _split(model._fitted_state())
    meta = {
        "format": type(model)._state_format,
        "format_version": FORMAT_VERSION,
        "chainrule_version": __version__,
        **plain,
    }
    name = save_path(path)
    write_archive(name, meta, arrays)
    with open(name[: -len(".npz")] + ".json", "w", encoding="utf-8") as sidecar:
        json.dump(meta, sidecar, indent=2, ensure_ascii=False, allow_nan=False)
        sidecar.write("\n")
    return name


def load_estimator(cls: type[E], path: str | os.PathLike[str]) -> E:
    """Read a model of class ``cls`` written by :func:`save_estimator` from ``PATH.npz`` (``path``, a
    str or ``os.PathLike``, may name ``PATH``, ``PATH.npz`` or the sidecar ``PATH.json``; the archive is
    what is read; see :func:`chainrule._archive.load_path`).

    The declared shape and dtype of every array is checked against what the metadata implies before any
    array is read; then ``cls._from_state`` checks every entry.

    Raises:
        OSError: the file is missing or unreadable (names it).
        ValueError: a file that is not ours (not an archive, object arrays, another format, beyond the
            limits), an unsupported version, unknown or invalid parameters (a non-boolean
            ``fit_intercept``), or arrays whose shapes or dtypes disagree with the metadata (names the
            file and what is wrong).
        TypeError: ``path`` is not a str or ``os.PathLike``.
    """
    saver: Any = cls
    name = load_path(path)
    with open_archive(name, saver._state_format, FORMAT_VERSION) as archive:
        plain = {k: v for k, v in archive.meta.items() if k not in _FILE_KEYS}
        try:
            check_arrays(archive.specs, saver._state_arrays(plain))
        except ValueError as exc:
            raise ValueError(f"{name!r}: {exc}") from None
        arrays = archive.read()
    try:
        model: E = saver._from_state({**plain, **arrays})
    except ValueError as exc:
        raise ValueError(f"{name!r}: {exc}") from None
    return model
