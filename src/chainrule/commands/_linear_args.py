"""Argument parsing shared by the linear-model commands (``hyperplane``, ``separate``, ``unit``).

Vectors are written ``-5,1,3`` (commas or spaces; each entry an integer, a decimal or ``p/q``) and parsed
exactly. argparse would take ``--pos -5,1,3`` for an option named ``-5,1,3``;
:func:`accept_negative_vectors` teaches a subparser that such words are values.
"""

from __future__ import annotations

import argparse
import re
from fractions import Fraction

from chainrule.linear._exact import as_fraction

__all__ = ["accept_negative_vectors", "parse_vector"]

#: A word that starts like a negative number (``-5``, ``-5,1,3``, ``-.5``, ``-3/4``) is a value, not an option.
_NEGATIVE_VALUE = re.compile(r"^-\.?\d[\d.,/eE+\-\s]*$")


def accept_negative_vectors(parser: argparse.ArgumentParser) -> None:
    """Let ``parser`` read ``--pos -5,1,3`` (a value starting with '-') as it reads ``--pos=-5,1,3``."""
    # argparse keeps the negative-number pattern on the parser; ours also allows commas and fractions.
    parser._negative_number_matcher = _NEGATIVE_VALUE


def parse_vector(text: str, what: str) -> list[Fraction]:
    """``"-5,1,3"`` → ``[-5, 1, 3]`` as Fractions.

    Raises:
        ValueError: empty, or an entry that is not a finite number (the message names ``what`` and the entry).
    """
    items = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not items:
        raise ValueError(f"{what} is empty: give coordinates such as -5,1,3")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(as_fraction(item))
        except ValueError:
            raise ValueError(
                f"{what}: coordinate {i + 1} {item!r} is not a number (use e.g. -5,1.5,3/4)"
            ) from None
    return out
