"""Solve a problem set, self-testing it first: every model answer in the file must pass its own check.

``solve_set`` returns the :class:`~chainrule.problems.results.SetSolution` every report is a view of.
``self_test_failures`` lists what fails (a model answer judged wrong, a part whose verification failed);
``chainrule solve`` refuses to write a report for a set that fails it, naming the problem.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from chainrule.problems.kinds import KINDS
from chainrule.problems.results import SetSolution
from chainrule.problems.schema import ProblemSet, load_set, parse_set, parse_toml

__all__ = [
    "SEED_NAME",
    "SEED_SET",
    "is_seed",
    "load",
    "load_seed_set",
    "seed_text",
    "self_test_failures",
    "solve_set",
]

#: The embedded seed set, inside the package.
SEED_SET = "data/seed.toml"


def seed_text() -> str:
    """The text of the embedded seed set."""
    return resources.files("chainrule.problems").joinpath(SEED_SET).read_text("utf-8")


def load_seed_set() -> ProblemSet:
    """The seed problem set shipped in the package (``chainrule/problems/data/seed.toml``)."""
    text = seed_text()
    return parse_set(parse_toml(text, "seed.toml"), text, "seed.toml (embedded)")


def is_seed(path: str | Path | None) -> bool:
    """True when ``path`` means the embedded set: None, or ``"seed"`` with no file of that name."""
    return path is None or (str(path) == SEED_NAME and not Path(path).exists())


#: The name that means the embedded seed set on the command line (unless a file has that name).
SEED_NAME = "seed"


def load(path: str | Path | None) -> ProblemSet:
    """The set at ``path``; the embedded seed set when ``path`` is None, or ``"seed"`` and no such file."""
    return load_seed_set() if is_seed(path) else load_set(path)  # type: ignore[arg-type]


def solve_set(pset: ProblemSet, variant: str = "") -> SetSolution:
    """Solve every problem; each part carries its independent checks and its model answer's verdict."""
    out = SetSolution(pset.title, pset.source, pset.seed, variant=variant)
    for problem in pset.problems:
        out.problems.append(KINDS[problem.kind].solve(problem))
    return out


def self_test_failures(solution: SetSolution) -> list[str]:
    """One line per failure: a model answer that its own check rejects, or a verification that failed."""
    lines = []
    for p in solution.problems:
        for part in p.parts:
            label = f"{p.id}.{part.part}" if part.part else p.id
            if part.model_check is not None and part.model_check.status != "correct":
                lines.append(
                    f"problem {label}: the set's own answer is judged {part.model_check.status}: "
                    f"{part.model_check.summary}"
                )
            for c in part.checks:
                if not c.ok:
                    lines.append(f"problem {label}: the {c.method} check failed: {c.detail}")
    return lines
