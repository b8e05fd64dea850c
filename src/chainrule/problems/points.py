"""Seeds for grading: the points at which an answer is judged are a pure function of what is judged.

``answer_seed(problem, part, answer_text)`` hashes the problem id, the part id and the answer's normalised
text (whitespace removed), so the same answer gets the same points, and the same verdict, on every run and
every machine, and a resubmission of the same text cannot be judged differently.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

__all__ = ["answer_rng", "answer_seed", "normalized_text"]


def normalized_text(answer: Any) -> str:
    """The answer as canonical text: strings without whitespace, other values as sorted-key JSON."""
    if isinstance(answer, str):
        return "".join(answer.split())
    return json.dumps(answer, sort_keys=True, separators=(",", ":"), default=str)


def answer_seed(problem: str, part: str, answer: Any, salt: str = "") -> int:
    """A 63-bit seed from (problem id, part id, normalised answer[, salt])."""
    text = "\x1f".join((problem, part, normalized_text(answer), salt))
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big") >> 1


def answer_rng(
    problem: str, part: str, answer: Any, salt: str = ""
) -> tuple[np.random.Generator, int]:
    """``(Generator, seed)`` seeded by :func:`answer_seed`."""
    seed = answer_seed(problem, part, answer, salt)
    return np.random.default_rng(seed), seed
