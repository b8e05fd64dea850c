"""Hand-built result objects that show every part of a report: each figure kind, a failed check, a
wrong verdict with its counterexample, an undecided one, statements with ``$…$`` math (and HTML that must
come out escaped). The report tests use them, and ``python -m chainrule.problems.report.sample DIR``
writes the sample reports to look at.

The numbers follow the seed problem set, but nothing here is solved: these are fixtures, not answers.
"""

from __future__ import annotations

import math
import sys

from chainrule.problems.results import (
    CheckLine,
    Counterexample,
    Figure,
    Gradebook,
    PartSolution,
    ProblemSolution,
    SetSolution,
    Step,
    Submission,
    Verdict,
)

__all__ = ["sample_gradebook", "sample_solution"]


def _sigmoid(a: float) -> float:
    return 1.0 / (1.0 + math.exp(-a)) if a >= 0 else math.exp(a) / (1.0 + math.exp(a))


def sample_solution() -> SetSolution:
    """A solved set of six problems covering every figure kind; q3's part (b) has a failed check."""
    q1 = ProblemSolution(
        id="q1",
        kind="bisector",
        title="The bisecting hyperplane",
        statement=(
            "Find the hyperplane $f(\\mathbf{x}) = \\mathbf{w}^\\top \\mathbf{x} + b = 0$ that "
            "bisects the segment from $\\mathbf{a} = (-5, 1, 3)$ to $\\mathbf{b} = (2, 2, -3)$. "
            "Untrusted text stays text: <script>alert('x')</script> <b>not bold</b>."
        ),
        points=2,
        parts=[
            PartSolution(
                part="",
                statement="",
                answer={"w": [-7, -1, 6], "b": -9},
                answer_text="f(x) = [-7 -1 6]·x − 9",
                answer_latex=r"f(\mathbf{x}) = \begin{bmatrix}-7 & -1 & 6\end{bmatrix}\mathbf{x} - 9",
                steps=[
                    Step(
                        "w = b − a = (7, 1, −6); we take w = a − b",
                        r"\mathbf{w} = \mathbf{a} - \mathbf{b} = (-7, -1, 6)",
                        "the normal",
                    ),
                    Step(
                        "m = (a + b)/2 = (−1.5, 1.5, 0)",
                        r"\mathbf{m} = \tfrac12(\mathbf{a} + \mathbf{b}) = (-\tfrac32, \tfrac32, 0)",
                        "the midpoint",
                    ),
                    Step(
                        "b = −w·m = −9",
                        r"b = -\mathbf{w}^\top\mathbf{m} = -9",
                        "the plane passes through m",
                    ),
                ],
                checks=[
                    CheckLine(
                        "exact", "f(a) = 43 > 0, f(b) = −43 < 0, f(m) = 0 in rationals", True
                    ),
                    CheckLine(
                        "certificate", "w ∥ a − b: the plane is perpendicular to the segment", True
                    ),
                ],
            )
        ],
        figures=[
            Figure(
                "hyperplane",
                "The two points and the bisecting plane, seen edge-on.",
                {
                    "points": [[-5, 1, 3], [2, 2, -3]],
                    "labels": ["a", "b"],
                    "w": [-7, -1, 6],
                    "b": -9,
                },
            )
        ],
        givens={"a": [-5, 1, 3], "b": [2, 2, -3]},
    )
    q1b = ProblemSolution(
        id="q1x",
        kind="separate",
        title="A separating hyperplane with the widest margin",
        statement="Separate the labelled points in $\\mathbb{R}^2$ with the widest margin.",
        points=2,
        parts=[
            PartSolution(
                part="",
                statement="",
                answer={"w": [1, 1], "b": -1},
                answer_text="f(x) = x₁ + x₂ − 1",
                answer_latex=r"f(\mathbf{x}) = x_1 + x_2 - 1",
                checks=[CheckLine("constraints", "every point on its side, margin 0.7071", True)],
            )
        ],
        figures=[
            Figure(
                "hyperplane",
                "The maximum-margin separator and its margin.",
                {
                    "points": [[0, 0], [0, 0.2], [1, 1], [2, 0.5]],
                    "labels": [-1, -1, 1, 1],
                    "w": [1, 1],
                    "b": -1,
                    "margin": math.sqrt(0.5),
                },
            )
        ],
    )
    q2 = ProblemSolution(
        id="q2",
        kind="threshold_unit",
        title="A threshold unit",
        statement=(
            "Points $(0,0)\\mapsto 1$, $(0,-1)\\mapsto 1$, $(1,0)\\mapsto 0$, $(1,-1)\\mapsto 0$; "
            "the unit outputs 1 iff $z = w_1 x_1 + w_2 x_2 - w_0 \\ge 0$."
        ),
        points=2,
        parts=[
            PartSolution(
                part="",
                statement="",
                answer={"w0": 0, "w1": -1, "w2": 0},
                answer_text="w0 = 0, w1 = −1, w2 = 0",
                answer_latex=r"w_0 = 0,\; w_1 = -1,\; w_2 = 0",
                checks=[CheckLine("constraints", "4 of 4 constraints hold", True)],
            )
        ],
        figures=[
            Figure(
                "threshold_unit",
                "The decision regions of the unit and the four labelled points.",
                {
                    "points": [[0, 0], [0, -1], [1, 0], [1, -1]],
                    "labels": [1, 1, 0, 0],
                    "w": [-1, 0],
                    "w0": 0,
                    "bias_sign": -1,
                    "strict": False,
                },
            )
        ],
    )
    xs = [-8 + 16 * i / 80 for i in range(81)]
    q3 = ProblemSolution(
        id="q3",
        kind="derivation",
        title="Log-sigmoid identities",
        statement="Let $s(a) = 1/(1 + e^{-a})$. Show both identities below.",
        points=4,
        parts=[
            PartSolution(
                part="a",
                statement="Show $\\frac{d}{da}\\log s(a) = 1 - s(a)$.",
                answer="1 - s(a)",
                answer_text="1 − s(a)",
                answer_latex=r"\frac{d}{da}\log s(a) = 1 - s(a)",
                steps=[
                    Step(
                        "d/da log s(a) = s'(a)/s(a)",
                        r"\frac{d}{da}\log s(a) = \frac{s'(a)}{s(a)}",
                        "chain rule",
                    ),
                    Step(
                        "= s(a)(1 − s(a))/s(a) = 1 − s(a)",
                        r"= \frac{s(a)(1 - s(a))}{s(a)} = 1 - s(a)",
                    ),
                ],
                checks=[
                    CheckLine(
                        "autodiff", "agrees at 41 points in [−800, 800], max error 1.1e-16", True
                    ),
                    CheckLine("finite differences", "agrees at 41 points, max error 3.2e-10", True),
                ],
            ),
            PartSolution(
                part="b",
                statement="Show $\\frac{d}{da}\\log(1 - s(a)) = -s(a)$.",
                answer="-s(a)",
                answer_text="−s(a)",
                answer_latex=r"\frac{d}{da}\log(1 - s(a)) = -s(a)",
                checks=[
                    CheckLine("autodiff", "agrees at 41 points", True),
                    CheckLine(
                        "symbolic",
                        "sympy could not simplify the difference to 0 (timed out)",
                        False,
                    ),
                ],
            ),
        ],
        figures=[
            Figure(
                "identity",
                "Both sides of each identity over a ∈ [−8, 8]; they coincide.",
                {
                    "x": xs,
                    "xlabel": "a",
                    "curves": {
                        "d/da log s(a)": [1 - _sigmoid(x) for x in xs],
                        "1 − s(a)": [1 - _sigmoid(x) for x in xs],
                        "d/da log(1 − s(a))": [-_sigmoid(x) for x in xs],
                        "−s(a)": [-_sigmoid(x) for x in xs],
                    },
                },
            )
        ],
    )
    nodes = ["x", "n_7", "n_5", "n_6", "n_4", "n_3", "n_2", "L"]
    edges = [
        ["x", "n_7"], ["n_7", "n_5"], ["n_7", "n_6"], ["n_5", "n_4"], ["n_6", "n_4"],
        ["n_4", "n_3"], ["n_6", "n_3"], ["n_4", "n_2"], ["n_2", "L"], ["n_3", "L"],
    ]  # fmt: skip
    q4 = ProblemSolution(
        id="q4",
        kind="backprop",
        title="Back-propagation through a DAG",
        statement="With $n_i = g\\left(\\sum_j w_{i,j} n_j\\right)$, find $\\partial L/\\partial n_4$.",
        points=3,
        parts=[
            PartSolution(
                part="",
                statement="",
                answer="dL/dn_2 * dn_2/dn_4 + dL/dn_3 * dn_3/dn_4",
                answer_text="∂L/∂n₄ = ∂L/∂n₂ · ∂n₂/∂n₄ + ∂L/∂n₃ · ∂n₃/∂n₄",
                answer_latex=(
                    r"\frac{\partial L}{\partial n_4} = \frac{\partial L}{\partial n_2}"
                    r"\frac{\partial n_2}{\partial n_4} + \frac{\partial L}{\partial n_3}"
                    r"\frac{\partial n_3}{\partial n_4}"
                ),
                checks=[
                    CheckLine("autodiff", "backward() gives ∂L/∂n₄ = −0.2317", True),
                    CheckLine("finite differences", "central differences agree to 2.1e-10", True),
                ],
            )
        ],
        figures=[
            Figure(
                "dag",
                "The network with each node's value and gradient.",
                {
                    "nodes": nodes,
                    "edges": edges,
                    "values": {
                        "x": 0.5,
                        "n_7": 0.1489,
                        "n_5": -0.1185,
                        "n_6": 0.0743,
                        "n_4": -0.1597,
                        "n_3": -0.1287,
                        "n_2": 0.2049,
                        "L": 0.4095,
                    },
                    "grads": {
                        "x": -0.0121,
                        "n_7": -0.0405,
                        "n_5": 0.2701,
                        "n_6": -0.1663,
                        "n_4": -0.2317,
                        "n_3": 0.3713,
                        "n_2": -0.7951,
                        "L": 1.0,
                    },
                },
            )
        ],
    )
    q5 = ProblemSolution(
        id="q5",
        kind="einsum",
        title="Index notation to einsum",
        statement="Write $C_{efgh} = \\sum_{abcd} A_{ea} B_{fb} T_{abcd} G_{gc} H_{hd}$ as an einsum.",
        points=1,
        parts=[
            PartSolution(
                part="",
                statement="",
                answer="ea,fb,abcd,gc,hd->efgh",
                answer_text="ea,fb,abcd,gc,hd->efgh",
                checks=[
                    CheckLine("loops", "equals the literal loop sum (max error 4.4e-16)", True)
                ],
            )
        ],
        figures=[
            Figure(
                "einsum_path",
                "The contraction path: one pairwise step at a time.",
                {
                    "subscripts": "ea,fb,abcd,gc,hd->efgh",
                    "shapes": [[4, 5], [4, 5], [5, 5, 5, 5], [4, 5], [4, 5]],
                    "steps": [
                        {"operands": [0, 2], "result": "ebcd", "flops": 5000},
                        {"operands": [0, 3], "result": "efcd", "flops": 4000},
                        {"operands": [0, 2], "result": "efgd", "flops": 3200},
                        {"operands": [0, 1], "result": "efgh", "flops": 2560},
                    ],
                },
            )
        ],
    )
    return SetSolution(
        title="Deep-learning theory: a sample set",
        source="sample.toml",
        seed=20240601,
        problems=[q1, q1b, q2, q3, q4, q5],
    )


def sample_gradebook() -> Gradebook:
    """Two submissions: one all correct, one with a wrong verdict (counterexample, diagnosis, steps)
    and an undecided one."""
    alice = Submission(
        student="alice",
        source="answers/alice.toml",
        verdicts=[
            Verdict("q1", "", "correct", "a positive multiple (×2) of the expected hyperplane", method="exact", points=2, max_points=2, answer={"w": [-14, -2, 12], "b": -18}),
            Verdict("q3", "a", "correct", "equal at 12 points", method="numeric: 12 points, rtol 1e-09, atol 1e-12", seed=918273, points=2, max_points=2, answer="1 - s(a)"),
        ],
    )  # fmt: skip
    wrong = Verdict(
        "q3",
        "b",
        "wrong",
        "sign flipped: −1 × the expected answer",
        diagnosis=[
            "the answer is −1 times the expected value at every point drawn",
            "check the sign of d/da log(1 − s(a)) = −s'(a)/(1 − s(a))",
        ],
        counterexample=Counterexample(
            point={"a": 0.75},
            expected=-0.679178699175393,
            got=0.679178699175393,
            difference=1.358357398350786,
        ),
        method="numeric: 12 points, rtol 1e-09, atol 1e-12",
        seed=5550123,
        points=0,
        max_points=2,
        answer="s(a)",
    )
    wrong_tensor = Verdict(
        "q5",
        "",
        "wrong",
        "two output labels swapped",
        diagnosis=["the result equals the expected one with axes f and e swapped"],
        counterexample=Counterexample(
            point={"A": "4×5 random", "T": "5×5×5×5 random"},
            expected=[[0.25, 1.5], [-0.75, 2.0]],
            got=[[0.25, -0.75], [1.5, 2.0]],
            difference=[[0.0, 2.25], [-2.25, 0.0]],
            index=[0, 1],
        ),
        method="numeric: 3 draws",
        seed=77,
        points=0,
        max_points=1,
        answer="ea,fb,abcd,gc,hd->fegh",
    )
    derivation = Verdict(
        "q4",
        "",
        "wrong",
        "step 2 does not follow from step 1",
        diagnosis=["the term ∂L/∂n₃ · ∂n₃/∂n₄ is missing"],
        counterexample=Counterexample(
            point={"w_{3,4}": 0.9, "x": 0.5}, expected=-0.2317, got=-0.5659, difference=0.3342
        ),
        method="numeric: 8 points",
        seed=4242,
        points=0.5,
        max_points=3,
        steps=[
            Verdict("q4", "", "correct", "step 1 = step 0", method="numeric"),
            Verdict(
                "q4",
                "",
                "wrong",
                "step 2 ≠ step 1",
                counterexample=Counterexample(point={"x": 0.5}, expected=-0.2317, got=-0.5659),
                method="numeric",
            ),
        ],
    )
    undecided = Verdict(
        "q1x",
        "",
        "undecided",
        "the answer could not be evaluated at 3 of 12 points",
        diagnosis=["log of a negative number at x = (−1, 0)", "flagged for the instructor"],
        method="numeric: 12 points",
        seed=31337,
        points=0,
        max_points=2,
        answer="log(x_1) + x_2",
    )
    bob = Submission(
        student="bob <b>&amp;</b>",
        source="answers/bob.toml",
        verdicts=[
            Verdict("q1", "", "correct", "the expected hyperplane", method="exact", points=2, max_points=2),
            undecided,
            wrong,
            derivation,
            wrong_tensor,
        ],
    )  # fmt: skip
    return Gradebook(
        title="Deep-learning theory: a sample set", source="sample.toml", submissions=[alice, bob]
    )


def main(argv: list[str] | None = None) -> int:
    """Write ``solution.html``, ``check.html`` and their ``.md``/``.json`` twins to a directory.

    Raises:
        ValueError: a file is already there (they are never overwritten).
    """
    from pathlib import Path

    from chainrule.problems.report import write_report

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else ".")
    out.mkdir(parents=True, exist_ok=True)
    sol, book = sample_solution(), sample_gradebook()
    for suffix in (".html", ".md", ".json"):
        print(write_report(sol, str(out / f"solution{suffix}")))
        print(write_report(book, str(out / f"check{suffix}"), solutions=sol))
    return 0


if __name__ == "__main__":
    sys.exit(main())
