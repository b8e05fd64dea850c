"""Embedded data for the nn examples: the UCI 8×8 handwritten digits.

:func:`load_digits` reads ``chainrule/nn/data/digits.csv.gz`` (1,797 images of 8×8 pixels, each
pixel an integer 0–16, and the digit 0–9): the UCI Machine Learning Repository's "Optical
Recognition of Handwritten Digits", by E. Alpaydin and C. Kaynak, CC BY 4.0 (``data/README.md``).

The file is plain gzip-compressed CSV text; it is read with a bound on its decompressed size and
checked (shape, integer cells, pixel and class ranges) before anything is returned. No pickle.
"""

from __future__ import annotations

import gzip
import io
import pathlib

import numpy as np

__all__ = ["DIGITS_IMAGE_SHAPE", "DIGITS_SHAPE", "load_digits"]

_DIGITS = pathlib.Path(__file__).parent / "data" / "digits.csv.gz"

#: ``(samples, features)`` of the digits data.
DIGITS_SHAPE = (1797, 64)
#: One digit image: 8 rows of 8 pixels.
DIGITS_IMAGE_SHAPE = (8, 8)
#: The decompressed file is 264,712 bytes; more than this is not our file.
_MAX_BYTES = 1 << 20


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits (Alpaydin & Kaynak; CC BY 4.0).

    Returns:
        ``(X, y)``: ``X`` float64 of shape ``(1797, 64)``, each row an 8×8 image read row by row
        (``X[i].reshape(8, 8)``), values the integers 0–16; ``y`` int64 of shape ``(1797,)``, the
        digits 0–9 (about 180 of each).

    Raises:
        ValueError: the embedded file is not what it should be (too large, not CSV of integers,
            another shape, a pixel outside 0–16 or a class outside 0–9): the message names it.
        OSError: the file cannot be read.
    """
    with gzip.open(_DIGITS, "rb") as fh:
        raw = fh.read(_MAX_BYTES + 1)
    if len(raw) > _MAX_BYTES:
        raise ValueError(f"{_DIGITS}: more than {_MAX_BYTES:,} bytes decompressed; not the digits")
    try:
        table = np.loadtxt(io.StringIO(raw.decode("ascii")), delimiter=",", dtype=np.int64, ndmin=2)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{_DIGITS}: not CSV of integers ({exc})") from None
    n, d = DIGITS_SHAPE
    if table.shape != (n, d + 1):
        raise ValueError(f"{_DIGITS}: shape {table.shape}, expected {(n, d + 1)}")
    X, y = table[:, :d], table[:, d]
    if X.min() < 0 or X.max() > 16:
        raise ValueError(f"{_DIGITS}: pixel values outside 0-16")
    if y.min() < 0 or y.max() > 9:
        raise ValueError(f"{_DIGITS}: classes outside 0-9")
    return X.astype(np.float64), np.ascontiguousarray(y)
