"""Class weights (``class_weight=``) with scikit-learn's semantics, shared by the linear classifiers.

:func:`class_weights` turns the parameter into one weight per class; :func:`require_two_classes` refuses a
fit in which fewer than two classes keep a positive weight (after sample and class weights).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from chainrule.linear.datasets import plain

__all__ = ["class_weights", "require_two_classes"]


def class_weights(
    class_weight: Any, classes: np.ndarray, y_index: np.ndarray, sample_weight: np.ndarray | None
) -> np.ndarray:
    """The weight of each class, float64 ``(K,)``, with scikit-learn's semantics.

    Args:
        class_weight: ``None`` (ones), ``"balanced"`` (S / (K · S_k), S_k the sample-weighted count of
            class k and S their sum) or a dict ``{label: weight}`` (classes it does not name weigh 1).
        classes: the ``(K,)`` sorted labels; y_index: int ``(n,)``, each sample's position in them;
            sample_weight: float64 ``(n,)`` or ``None`` (only ``"balanced"`` reads it).

    Raises:
        ValueError: ``"balanced"`` with a class whose samples weigh 0 in all (its weight would be
            infinite; names the class), a dict key that is not one of ``classes`` (names it), or a
            weight that is not a finite number ≥ 0.
    """
    K = classes.size
    if class_weight is None:
        return np.ones(K)
    if isinstance(class_weight, str):  # "balanced" (the only string the constraints allow)
        counts = np.bincount(y_index, weights=sample_weight, minlength=K).astype(np.float64)
        empty = np.flatnonzero(~(counts > 0))
        if empty.size:
            raise ValueError(
                f"class_weight='balanced' needs a positive total sample weight in every class, but "
                f"the samples of class {plain(classes[empty[0]])!r} weigh 0 in all (its weight "
                "S / (K · S_k) would be infinite); drop those rows, or pass class_weight as a dict"
            )
        return counts.sum() / (K * counts)
    weights = np.ones(K)
    known = {plain(c): i for i, c in enumerate(classes)}
    unknown = []
    for label, value in class_weight.items():
        key = plain(label)
        if key not in known:
            unknown.append(key)
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise ValueError(f"class_weight[{label!r}] must be a number, got {value!r}")
        if not (np.isfinite(value) and value >= 0):
            raise ValueError(f"class_weight[{label!r}] must be finite and >= 0, got {value!r}")
        weights[known[key]] = float(value)
    if unknown:
        raise ValueError(
            f"class_weight names labels that are not classes of y: {unknown}; the classes are "
            f"{[plain(c) for c in classes]}"
        )
    return weights


def require_two_classes(
    classes: np.ndarray, y_index: np.ndarray, weight: np.ndarray | None, what: str = "sample weight"
) -> None:
    """Refuse a fit in which fewer than two classes have a sample of positive weight.

    Args:
        classes: the ``(K,)`` sorted labels; y_index: int ``(n,)``, each sample's position in them;
            weight: float64 ``(n,)``, each sample's weight, or ``None`` (all 1); what: the weight's
            name in the message (``"sample weight"``, ``"class_weight"``...).

    Raises:
        ValueError: one class or none keeps a positive weight (names the class and ``what``).
    """
    index = y_index if weight is None else y_index[weight > 0]
    present = np.unique(index)
    if present.size >= 2:
        return
    if present.size == 0:
        raise ValueError(
            f"every sample has {what} 0; a classifier needs samples of at least 2 classes"
        )
    which = f"with positive {what} " if classes.size >= 2 else ""
    raise ValueError(
        f"y has 1 class {which}({plain(classes[present[0]])!r}); "
        "a classifier needs samples of at least 2 classes"
    )
