"""What a problem kind is: the keys it reads, and how it solves, checks and randomises a problem.

A kind is a subclass of :class:`Kind` registered in :data:`chainrule.problems.kinds.KINDS` under its
``name``. The schema (:mod:`chainrule.problems.schema`) reads the keys every problem has (``id``, ``kind``,
``points``, ``title``, ``statement``, ``answer``, ``check``, ``random``, ``part``) and hands every other key
to the kind, which declares them in ``givens`` (problem level) and ``part_fields`` (in each
``[[problem.part]]``). Unknown keys are errors. ``prepare`` then checks their meaning (an edge list that is
a DAG, an expression that parses) once, when the file is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from chainrule.problems.fields import Field

if TYPE_CHECKING:
    from chainrule.problems.results import Figure, PartSolution, ProblemSolution, Verdict
    from chainrule.problems.schema import Part, Problem

__all__ = ["Kind"]


class Kind:
    """One kind of problem (``bisector``, ``separate``, ``threshold_unit``, ``derivation``, ``backprop``,
    ``einsum``).

    Class attributes:
        name: the ``kind`` value in the file.
        summary: one line for ``--help`` and the docs.
        givens: the problem-level keys this kind reads, beyond the common ones.
        part_fields: the keys a ``[[problem.part]]`` may have beyond ``id``, ``statement``, ``points``,
            ``answer``.
        check_options: the keys of the problem's ``check`` table.
        random_fields: the givens a ``[problem.random]`` table may redraw (besides ``require`` and
            ``max_tries``).
        needs_parts: a problem of this kind must have parts (a derivation with several identities...).
    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    givens: ClassVar[dict[str, Field]] = {}
    part_fields: ClassVar[dict[str, Field]] = {}
    check_options: ClassVar[dict[str, Field]] = {}
    random_fields: ClassVar[tuple[str, ...]] = ()

    def prepare(self, problem: Problem) -> None:
        """Check the meaning of the problem's givens and model answers, and cache what ``solve`` and
        ``check`` need on ``problem.prepared`` (a dict). Called once when the set is loaded.

        Raises:
            FormatError: a given that is malformed in meaning (names its field; the caller adds where).
        """

    def solve(self, problem: Problem) -> ProblemSolution:
        """Solve every part and verify each answer independently (the ``checks`` of each part)."""
        raise NotImplementedError

    def check(self, problem: Problem, part: Part, answer: Any) -> Verdict:
        """Grade a claimed ``answer`` (the raw TOML value) for ``part``.

        The verdict is a pure function of (problem, part, answer): any points drawn come from
        :func:`chainrule.problems.points.answer_seed`.

        Raises:
            FormatError: an answer that cannot be read (a syntax error with a caret, an undeclared
                symbol, a wrong type). It is never graded ``wrong``.
        """
        raise NotImplementedError

    def model_answer(self, problem: Problem, part: Part) -> Any:
        """The answer of the solved part, as an answers file would hold it (for answer keys)."""
        raise NotImplementedError

    # -- helpers every kind's solve uses ----------------------------------------------------------------
    def new_solution(
        self,
        problem: Problem,
        parts: Iterable[PartSolution] = (),
        figures: Iterable[Figure] = (),
    ) -> ProblemSolution:
        """The solution of ``problem`` with its id, kind, title, statement, points and givens."""
        from chainrule.problems.results import ProblemSolution

        return ProblemSolution(
            id=problem.id,
            kind=self.name,
            title=problem.title,
            statement=problem.statement,
            points=problem.points,
            parts=list(parts),
            figures=list(figures),
            givens=dict(problem.givens),
        )

    def model_verdict(self, problem: Problem, part: Part) -> Verdict | None:
        """The self-test: the verdict of the file's own answer to ``part``, or None when it gives none."""
        return self.check(problem, part, part.answer) if part.answer is not None else None

    def draw(self, problem: Problem, rng: np.random.Generator) -> dict[str, Any]:
        """New values for the givens named in ``problem.random`` (a variant); ``require`` is checked by
        the caller, which redraws up to ``max_tries`` times.

        Raises:
            FormatError: a rule that cannot be read.
        """
        raise NotImplementedError
