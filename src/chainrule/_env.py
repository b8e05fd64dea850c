"""The switches read from the environment: one rule for what turns a switch off.

A switch is on unless its variable is ``0``, ``off``, ``false`` or ``no`` (any case, surrounding
blanks ignored); unset or anything else leaves it on. The switches: ``CHAINRULE_EINSUM_TUNE``
(:mod:`chainrule.einsum.tuning`), ``CHAINRULE_LOGISTIC_MEASURE`` (:mod:`chainrule.linear.logistic`)
and ``CHAINRULE_NATIVE`` (:data:`NATIVE`: the C extensions, :mod:`chainrule.nn.native`, the
backward walk of :mod:`chainrule.autodiff.backward` and :mod:`chainrule.vmath`). Imports nothing of
chainrule's.
"""

from __future__ import annotations

import os

__all__ = ["NATIVE", "OFF_VALUES", "switched_on"]

#: The switch of the C extensions (``0`` runs their NumPy/Python equivalents instead).
NATIVE = "CHAINRULE_NATIVE"

#: The values (lower case) that turn a switch off.
OFF_VALUES = frozenset({"0", "off", "false", "no"})


def switched_on(name: str) -> bool:
    """False when the environment variable ``name`` is one of :data:`OFF_VALUES`; True otherwise."""
    return os.environ.get(name, "").strip().lower() not in OFF_VALUES
