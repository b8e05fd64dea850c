"""Check section: the numeric equivalence judge against SymPy, and the grading throughput on the seed set.

- C1: a corpus of scalar expression pairs (reference, answer) from deep-learning theory (sigmoid,
  log-sigmoid, softplus and tanh identities and derivatives, a two-class softmax, swish and mish), about 2/3
  equivalent and 1/3 not (sign flips, missing terms or factors, off by a constant). Each pair is judged by
  :func:`chainrule.problems.equivalence.judge` (the mean of ``JUDGE_CALLS`` calls; it is deterministic) and
  by the anchor ``sympy.simplify(to_sympy(ref) - to_sympy(ans)) == 0`` (one call, SymPy's cache cleared
  first so that every repeat does the same work, with a ``SYMPY_LIMIT_S`` alarm; a timeout counts as "SymPy
  undecided" and is not run again: its time stands for every repeat). The corpus is swept ``REPEATS``
  times, each pair's judge and SymPy in turn, so repeat ``i`` of the two is a pair taken under the same
  machine conditions (after one untimed warm-up of each on the first pair). Each ratio ours/SymPy (per
  pair, the corpus totals (target <= 0.1x), the totals per label) is the median of the per-repeat ratios
  with their min-max (as ``_ratio.py`` defines them, printed to four decimals; marked NOISY above a 10%
  spread). Also printed: the median and IQR over the pairs of the per-pair ratios, and the agreement table: SymPy proves equality but the judge says ``wrong`` (must be 0;
  listed if any), the judge says correct where SymPy proves nothing (SymPy's false negatives), agreements;
  and any verdict that contradicts the pair's known label.
- C2: ``N_SUBMISSIONS`` synthetic submissions to the seed set, each part drawn by a seeded RNG from the model
  answer and a few wrong variants per kind (a sign-flipped gradient, a flipped hyperplane, transposed einsum
  output, a missing back-propagation term, a threshold unit with a violated constraint, a derivation with
  ``steps``), graded sequentially with :func:`chainrule.problems.grading.grade`: submissions per second,
  seconds per submission (median and IQR), the time per part kind, and the verdicts per variant (a "correct"
  variant judged otherwise, or a wrong one judged correct, is flagged). A kind whose module does not import
  is left out of the set, with a note.

SymPy is an anchor from the ``bench`` extras: if it is not installed, C1 times the judge alone, with a note.
"""

from __future__ import annotations

import importlib
import inspect
import pathlib
import signal
import statistics
import sys
import time
import types
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

import numpy as np

from _machine import machine_line
from _ratio import Ratio, ratio
from chainrule.problems.equivalence import judge, split_terms
from chainrule.problems.expr.render import to_text
from chainrule.problems.expr.scope import Scope
from chainrule.problems.symbolic import to_sympy

#: Sweeps of the corpus; repeat ``i`` of the judge and of SymPy on a pair is one paired ratio.
REPEATS = 3
#: Judge calls per repeat (their mean is the repeat's figure): a call takes under a few milliseconds.
JUDGE_CALLS = 5
SYMPY_LIMIT_S = 10
N_SUBMISSIONS = 200
#: Share of parts answered with the model answer; the rest pick one of the kind's wrong variants.
P_CORRECT = 0.5

# (reference, answer, equivalent?) in the answer language, over a (and b) real.
CORPUS: list[tuple[str, str, bool]] = [
    # -- equivalent ----------------------------------------------------------------------------------
    ("diff(log(sigma(a)), a)", "1 - sigma(a)", True),
    ("diff(log(sigma(a)), a)", "exp(-a)/(1 + exp(-a))", True),
    ("diff(log(1 - sigma(a)), a)", "-sigma(a)", True),
    ("diff(sigma(a), a)", "sigma(a)*(1 - sigma(a))", True),
    ("diff(tanh(a), a)", "1 - tanh(a)^2", True),
    ("log(1 + exp(a)) - a", "log(1 + exp(-a))", True),
    ("softplus(a) - softplus(-a)", "a", True),
    ("diff(softplus(a), a)", "sigma(a)", True),
    ("sigma(-a)", "1 - sigma(a)", True),
    ("tanh(a)", "2*sigma(2*a) - 1", True),
    ("log(sigma(a))", "-softplus(-a)", True),
    ("log(1 - sigma(a))", "-softplus(a)", True),
    ("sigma(a)/sigma(-a)", "exp(a)", True),
    ("diff(diff(sigma(a), a), a)", "sigma(a)*(1 - sigma(a))*(1 - 2*sigma(a))", True),
    ("sigma'(a)", "sigma(a)*sigma(-a)", True),
    ("diff(tanh(a), a)", "4/(exp(a) + exp(-a))^2", True),
    ("tanh(a)", "(exp(a) - exp(-a))/(exp(a) + exp(-a))", True),
    ("diff(log(1 + exp(a)), a)", "1/(1 + exp(-a))", True),
    ("diff(-(b*log(sigma(a)) + (1 - b)*log(1 - sigma(a))), a)", "sigma(a) - b", True),
    ("diff(log(sigma(a*b)), b)", "a*(1 - sigma(a*b))", True),
    ("diff(sigma(a*b), a)", "b*sigma(a*b)*(1 - sigma(a*b))", True),
    ("diff(tanh(a*b), b)", "a*(1 - tanh(a*b)^2)", True),
    ("diff(exp(a)/(exp(a) + exp(b)), a)", "exp(a)*exp(b)/(exp(a) + exp(b))^2", True),
    ("exp(a)/(exp(a) + exp(b))", "sigma(a - b)", True),
    ("log(exp(a) + exp(b)) - a", "softplus(b - a)", True),
    ("diff(log(exp(a) + exp(b)), a)", "sigma(a - b)", True),
    ("diff(a*sigma(a), a)", "sigma(a) + a*sigma(a)*(1 - sigma(a))", True),
    (
        "diff(a*tanh(softplus(a)), a)",
        "tanh(softplus(a)) + a*(1 - tanh(softplus(a))^2)*sigma(a)",
        True,
    ),
    ("diff(0.5*(sigma(a) - b)^2, a)", "(sigma(a) - b)*sigma(a)*(1 - sigma(a))", True),
    ("diff(sqrt(1 + a^2), a)", "a/sqrt(1 + a^2)", True),
    ("diff(log(exp(a) + exp(-a)), a)", "tanh(a)", True),
    # -- not equivalent: sign flips, missing terms or factors, off by a constant --------------------------
    ("diff(log(sigma(a)), a)", "sigma(a) - 1", False),
    ("diff(log(1 - sigma(a)), a)", "sigma(a)", False),
    ("diff(tanh(a), a)", "1 + tanh(a)^2", False),
    ("log(1 + exp(a)) - a", "log(1 + exp(a))", False),
    ("diff(sigma(a), a)", "sigma(a)*(1 - sigma(a)) + 1", False),
    ("diff(-(b*log(sigma(a)) + (1 - b)*log(1 - sigma(a))), a)", "b - sigma(a)", False),
    ("diff(sigma(a*b), a)", "sigma(a*b)*(1 - sigma(a*b))", False),
    ("diff(a*sigma(a), a)", "sigma(a)", False),
    ("tanh(a)", "2*sigma(a) - 1", False),
    ("log(sigma(a))", "-softplus(a)", False),
    ("diff(softplus(a), a)", "sigma(a) + 1", False),
    ("diff(diff(sigma(a), a), a)", "sigma(a)*(1 - sigma(a))*(1 + 2*sigma(a))", False),
    ("diff(log(exp(a) + exp(b)), a)", "sigma(b - a)", False),
    ("diff(0.5*(sigma(a) - b)^2, a)", "(sigma(a) - b)*sigma(a)", False),
]


# -- helpers -------------------------------------------------------------------------------------------
def mean_of(fn: Callable[[], Any], calls: int) -> tuple[float, Any]:
    """The mean seconds per call over ``calls`` calls, and the last result."""
    out = None
    t = time.perf_counter()
    for _ in range(calls):
        out = fn()
    return (time.perf_counter() - t) / calls, out


def ratio_text(r: Ratio) -> str:
    """A :class:`Ratio` as ``_ratio.py`` prints it, with four decimals (ours/SymPy is far below 0.1x)."""
    mark = f"  NOISY (spread {r.spread:.0%})" if r.noisy else ""
    return f"{r.median:.4f}x ({r.lo:.4f}-{r.hi:.4f}){mark}"


def quartiles(xs: list[float]) -> tuple[float, float, float]:
    q1, med, q3 = np.percentile(np.asarray(xs, dtype=float), [25, 50, 75])
    return float(q1), float(med), float(q3)


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} µs"
    if seconds < 1.0:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def sympy_proves(ref: Any, ans: Any, limit_s: int) -> tuple[str, float]:
    """``("proved" | "not proved" | "undecided" | "unsupported", seconds)`` for simplify(ref − ans) == 0."""
    import sympy

    use_alarm = hasattr(signal, "SIGALRM")
    old = signal.signal(signal.SIGALRM, _alarm) if use_alarm else None
    t = time.perf_counter()
    try:
        if use_alarm:
            signal.alarm(limit_s)
        r, a = to_sympy(ref), to_sympy(ans)
        if r is None or a is None:
            outcome = "unsupported"
        else:
            outcome = "proved" if sympy.simplify(r - a) == 0 else "not proved"
    except _Timeout:
        outcome = "undecided"
    except Exception:  # SymPy may raise anything; it only ever proves
        outcome = "not proved"
    finally:
        if use_alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    return outcome, time.perf_counter() - t


# -- C1: equivalence against SymPy ---------------------------------------------------------------------
def bench_equivalence() -> None:
    try:
        import sympy
    except ImportError:
        sympy = None
    scope = Scope.from_tables({"a": "real", "b": "real"})
    n_eq = sum(1 for _, _, eq in CORPUS if eq)
    print(
        f"C1: {len(CORPUS)} scalar pairs ({n_eq} equivalent, {len(CORPUS) - n_eq} not), in a (and b); "
        f"{REPEATS} sweeps, each pair's judge (mean of {JUDGE_CALLS} calls) and SymPy "
        f"{sympy.__version__ if sympy else '-'} (simplify(ref - ans) == 0, one call, cache cleared, "
        f"{SYMPY_LIMIT_S} s limit) in turn"
    )
    if sympy is None:
        print("note: SymPy is not installed (pip install chainrule[bench]); its anchor is skipped")
    parsed = [(scope.parse(r), scope.parse(a)) for r, a, _ in CORPUS]
    t_ours: list[list[float]] = [[] for _ in CORPUS]
    t_sym: list[list[float]] = [[] for _ in CORPUS]
    status: list[str] = [""] * len(CORPUS)
    outcome: list[str] = ["-"] * len(CORPUS)
    judge(*parsed[0], scope, problem="bench", part="warm-up", answer_key=CORPUS[0][1])
    if sympy is not None:  # first-use costs (SymPy's lazy imports) out of the first repeat
        sympy_proves(*parsed[0], SYMPY_LIMIT_S)
    for _ in range(REPEATS):
        for k, ((ref, ans), (_, ans_text, _)) in enumerate(zip(parsed, CORPUS, strict=True)):
            t, j = mean_of(
                lambda r=ref, a=ans, k=k, t=ans_text: judge(
                    r, a, scope, problem="bench", part=f"p{k + 1}", answer_key=t
                ),
                JUDGE_CALLS,
            )
            t_ours[k].append(t)
            status[k] = j.verdict.status
            if sympy is None:
                continue
            if outcome[k] == "undecided":  # timed out: not run again, its time stands
                t_sym[k].append(t_sym[k][-1])
                continue
            sympy.core.cache.clear_cache()
            outcome[k], t = sympy_proves(ref, ans, SYMPY_LIMIT_S)
            t_sym[k].append(t)
    rows = [
        (k + 1, ref_text, ans_text, label, status[k], t_ours[k], outcome[k], t_sym[k])
        for k, (ref_text, ans_text, label) in enumerate(CORPUS)
    ]

    med = statistics.median
    print(
        f"\n{'#':>3} {'label':<5} {'judge':<9} {'ours':>9} {'SymPy':<11} {'SymPy time':>10} "
        f"ratio: median (min-max) of {REPEATS} paired repeats"
    )
    for k, _, _, label, verdict, t_o, sym, t_s in rows:
        shown = fmt(med(t_s)) if sympy else "-"
        r = ratio_text(ratio(t_o, t_s)) if sympy else "-"
        eq = "eq" if label else "neq"
        print(f"{k:>3} {eq:<5} {verdict:<9} {fmt(med(t_o)):>9} {sym:<11} {shown:>10} {r}")

    def totals(times: list[list[float]], label: bool | None = None) -> list[float]:
        """The corpus total (or that of one label's pairs) in each repeat."""
        chosen = [ts for ts, (_, _, lab) in zip(times, CORPUS, strict=True) if label in (None, lab)]
        return [sum(ts[i] for ts in chosen) for i in range(REPEATS)]

    ours_total = med(totals(t_ours))
    print(f"\njudge total: {ours_total:.3f} s ({fmt(ours_total / len(rows))} per pair)")
    if sympy:
        sym_total = med(totals(t_sym))
        print(f"SymPy total: {sym_total:.2f} s ({fmt(sym_total / len(rows))} per pair)")
        print(
            "ratio ours/SymPy, corpus totals (target <= 0.1x): "
            + ratio_text(ratio(totals(t_ours), totals(t_sym)))
        )
        for label, name in ((True, "equivalent"), (False, "not equivalent")):
            o, y = totals(t_ours, label), totals(t_sym, label)
            print(
                f"  {name} pairs: ours {med(o):.3f} s, SymPy {med(y):.2f} s, ratio "
                + ratio_text(ratio(o, y))
            )
        per_pair = [ratio(t_o, t_s) for t_o, t_s in zip(t_ours, t_sym, strict=True)]
        q1, mid, q3 = quartiles([r.median for r in per_pair])
        noisy = sum(r.noisy for r in per_pair)
        print(
            f"ratio ours/SymPy across the pairs (each its median over the repeats): median "
            f"{mid:.4f}x, IQR {q1:.4f}x-{q3:.4f}x; {noisy} of {len(per_pair)} pairs NOISY"
        )

    def listing(title: str, sel: list[Any]) -> None:
        print(f"  {title}: {len(sel)}")
        for r in sel:
            print(f"    #{r[0]}: {r[1]}  vs  {r[2]}  (judge {r[4]}, SymPy {r[6]})")

    print("\nagreement table:")
    if sympy:
        listing(
            "SymPy proves equality, judge says wrong (must be 0)",
            [r for r in rows if r[6] == "proved" and r[4] == "wrong"],
        )
        print(
            "  SymPy proves equality, judge says correct (agreement): "
            f"{sum(1 for r in rows if r[6] == 'proved' and r[4] == 'correct')}"
        )
        listing(
            "judge says correct, SymPy does not prove it (SymPy false negatives)",
            [r for r in rows if r[4] == "correct" and r[6] == "not proved"],
        )
        print(
            "  judge says wrong, SymPy does not prove equality (agreement): "
            f"{sum(1 for r in rows if r[4] == 'wrong' and r[6] != 'proved')}"
        )
        listing("SymPy undecided (timed out)", [r for r in rows if r[6] == "undecided"])
        listing("outside SymPy's fragment", [r for r in rows if r[6] == "unsupported"])
    listing("judge undecided", [r for r in rows if r[4] == "undecided"])
    listing(
        "judge verdict contradicts the pair's label (must be 0)",
        [r for r in rows if (r[4] == "correct") != r[3] and r[4] != "undecided"],
    )
    if sympy:
        listing(
            "SymPy proves a pair labelled not equivalent (must be 0)",
            [r for r in rows if r[6] == "proved" and not r[3]],
        )


# -- C2: grading throughput ----------------------------------------------------------------------------
def load_kinds() -> tuple[dict[str, Any], list[str]]:
    """The kinds registry, and notes on kinds that do not import.

    When ``chainrule.problems.kinds`` itself fails to import (a kind module missing or broken), a stand-in
    package holding the kinds that do import is put in its place, so that the rest can be graded.
    """
    try:
        from chainrule.problems.kinds import KINDS

        return dict(KINDS), []
    except Exception as exc:  # any kind module may be half-written
        first = f"{type(exc).__name__}: {exc}"
    import chainrule.problems as problems_pkg

    name = "chainrule.problems.kinds"
    folder = pathlib.Path(problems_pkg.__file__).parent / "kinds"
    stub = types.ModuleType(name)
    stub.__path__ = [str(folder)]
    stub.__package__ = name
    sys.modules[name] = stub
    problems_pkg.kinds = stub  # type: ignore[attr-defined]
    from chainrule.problems.kinds.base import Kind

    kinds: dict[str, Any] = {}
    notes = [f"the kinds registry does not import ({first}); grading with the kinds that do"]
    for path in sorted(folder.glob("*.py")):
        if path.stem in ("__init__", "base"):
            continue
        try:
            module = importlib.import_module(f"{name}.{path.stem}")
        except Exception as exc:
            notes.append(f"kind module {path.stem} does not import: {type(exc).__name__}: {exc}")
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Kind) and cls is not Kind and cls.__module__ == module.__name__:
                kinds[cls.name] = cls()
    stub.Kind = Kind  # type: ignore[attr-defined]
    stub.KINDS = kinds  # type: ignore[attr-defined]
    return kinds, notes


def load_set(kinds: dict[str, Any]) -> tuple[Any, list[str]]:
    """The seed set, less the problems whose kind is not in ``kinds`` or that do not load (each noted)."""
    from importlib import resources

    from chainrule.problems.errors import FormatError
    from chainrule.problems.schema import parse_set, parse_toml
    from chainrule.problems.solve import SEED_SET

    text = resources.files("chainrule.problems").joinpath(SEED_SET).read_text("utf-8")
    data = parse_toml(text, "seed.toml")
    problems = data.get("problem", [])
    kept = [p for p in problems if p.get("kind") in kinds]
    notes = [
        f"left out of the seed set: {p.get('id')} (kind {p.get('kind')} does not import)"
        for p in problems
        if p not in kept
    ]
    while True:
        source = "seed.toml (embedded)" if len(kept) == len(problems) else "seed.toml (filtered)"
        try:
            return parse_set({**data, "problem": kept}, text, source), notes
        except FormatError as exc:
            bad = [p for p in kept if exc.problem is not None and p.get("id") == exc.problem]
            if not bad:
                raise
            kept.remove(bad[0])
            notes.append(f"left out of the seed set: {exc.problem} does not load: {exc}")


def _top_terms(text: str) -> list[str]:
    """``text`` split at its top-level `` + `` (outside brackets)."""
    out, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "+" and depth == 0 and i > 0 and text[i - 1] == " ":
            out.append(text[start:i].strip())
            start = i + 1
    out.append(text[start:].strip())
    return [t for t in out if t]


def _neg(value: Any) -> Any:
    if isinstance(value, list):
        return [_neg(v) for v in value]
    if isinstance(value, (int, float)):
        return -value
    if isinstance(value, str):
        return value[1:] if value.startswith("-") else f"-{value}"
    return value


def _drop_term(text: str) -> str:
    """A missing term: the expression less its last top-level term (or sign-flipped when it has one)."""
    terms = _top_terms(text)
    return " + ".join(terms[:-1]) if len(terms) > 1 else f"-({text})"


def _derivation_variants(problem: Any, part: Any, model: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = [
        ("sign flipped", f"-({model})"),
        ("off by a constant", f"({model}) + 1"),
    ]
    scope = problem.prepared.get("scope")
    if scope is not None:
        try:
            terms = split_terms(scope.parse(model))
        except Exception:  # the bench must survive a kind's changes
            terms = []
        if len(terms) > 1:
            kept = " + ".join(f"({s:g})*({to_text(t)})" for s, t in terms[:-1])
            out.append(("missing term", kept))
    out.append(("steps, all follow", {"answer": model, "steps": [model]}))
    out.append(("steps, a refuted line", {"answer": model, "steps": [f"-({model})", model]}))
    return out


def _einsum_variants(model: Any) -> list[tuple[str, Any]]:
    if not isinstance(model, str) or "->" not in model:
        return []
    lhs, out = (s.strip() for s in model.split("->", 1))
    if len(out) >= 2:
        return [("transposed", f"{lhs} -> {out[::-1]}")]
    summed = [c for c in lhs if c.isalpha() and c not in out]
    return [("summed index kept", f"{lhs} -> {out}{summed[0]}")] if summed else []


def variants(kind: str, problem: Any, part: Any, model: Any) -> list[tuple[str, Any]]:
    """The wrong variants of ``model`` for a part of ``kind`` (labelled)."""
    if kind == "bisector" and isinstance(model, dict):
        return [
            ("flipped hyperplane", {"w": _neg(model.get("w")), "b": _neg(model.get("b"))}),
            ("bias sign flipped", {**model, "b": _neg(model.get("b"))}),
        ]
    if kind == "threshold_unit" and isinstance(model, dict) and "w" in model:
        return [
            ("violated constraint (negated)", {"w0": _neg(model.get("w0")), "w": _neg(model["w"])}),
            ("violated constraint (w0 + 5)", {**model, "w0": model.get("w0", 0) + 5}),
        ]
    if kind == "derivation" and isinstance(model, str):
        return _derivation_variants(problem, part, model)
    if kind == "einsum":
        return _einsum_variants(model)
    if isinstance(model, str):  # backprop and others: an expression
        return [("missing term", _drop_term(model)), ("sign flipped", f"-({model})")]
    if isinstance(model, dict) and model and all(isinstance(v, str) for v in model.values()):
        key = sorted(model)[0]  # backprop without parts: one expression per asked gradient
        return [
            ("missing term", {**model, key: _drop_term(model[key])}),
            ("sign flipped", {**model, key: f"-({model[key]})"}),
        ]
    return []


def synthetic_submissions(
    pset: Any, kinds: dict[str, Any], n: int, seed: int = 20210219
) -> list[tuple[dict[str, Any], list[tuple[str, str, str]]]]:
    """``n`` answer dicts and, per part, (kind, part label, variant label)."""
    rng = np.random.default_rng(seed)
    menu = []
    for problem in pset.problems:
        kind = kinds[problem.kind]
        for part in problem.parts:
            model = kind.model_answer(problem, part)
            menu.append((problem, part, model, variants(problem.kind, problem, part, model)))
    subs = []
    for _ in range(n):
        answers: dict[str, Any] = {}
        picks = []
        for problem, part, model, wrong in menu:
            if not wrong or rng.random() < P_CORRECT:
                label, value = "correct", model
            else:
                label, value = wrong[int(rng.integers(len(wrong)))]
            if problem.has_parts:
                answers.setdefault(problem.id, {})[part.id] = value
            else:
                answers[problem.id] = value
            picks.append(
                (problem.kind, f"{problem.id}.{part.id}" if part.id else problem.id, label)
            )
        subs.append((answers, picks))
    return subs


def bench_grading() -> None:
    kinds, notes = load_kinds()
    from chainrule.problems.grading import grade

    pset, more = load_set(kinds)
    notes += more
    n_parts = sum(len(p.parts) for p in pset.problems)
    print(
        f"\nC2: {N_SUBMISSIONS} synthetic submissions to the seed set ({len(pset.problems)} problems, "
        f"{n_parts} parts), graded sequentially; each part correct with p = {P_CORRECT}, "
        "else one of its kind's wrong variants"
    )
    for note in notes:
        print(f"note: {note}")
    subs = synthetic_submissions(pset, kinds, N_SUBMISSIONS)

    # Per-kind time: each kind instance's check wrapped with a timer (under a µs per part).
    per_kind: dict[str, list[float]] = defaultdict(list)
    originals = {}
    for name, kind in kinds.items():
        originals[name] = kind.check

        def timed(*args: Any, _f: Any = kind.check, _n: str = name) -> Any:
            t = time.perf_counter()
            try:
                return _f(*args)
            finally:
                per_kind[_n].append(time.perf_counter() - t)

        kind.check = timed
    per_sub = []
    tally: Counter[tuple[str, str, str, str]] = Counter()
    scored: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    try:
        grade(pset, subs[0][0], "warm-up")
        per_kind.clear()
        t0 = time.perf_counter()
        for s, (answers, picks) in enumerate(subs):
            t = time.perf_counter()
            result = grade(pset, answers, f"student{s:03d}")
            per_sub.append(time.perf_counter() - t)
            for (kind, label, variant), v in zip(picks, result.verdicts, strict=True):
                tally[(kind, label, variant, v.status)] += 1
                scored[(kind, label, variant)].append(
                    v.points / v.max_points if v.max_points else 0
                )
        wall = time.perf_counter() - t0
    finally:
        for name, kind in kinds.items():
            kind.check = originals[name]

    q1, med, q3 = quartiles(per_sub)
    print(
        f"throughput: {N_SUBMISSIONS / wall:.1f} submissions/s, {wall / N_SUBMISSIONS * 1e3:.1f} ms per "
        f"submission (median {med * 1e3:.1f} ms, IQR {q1 * 1e3:.1f}-{q3 * 1e3:.1f} ms); {wall:.2f} s in all"
    )
    head = f"{'kind':<16} {'parts':>6} {'mean/part':>10} {'median':>10} {'IQR':>21} {'share':>6}"
    print("\n" + head)
    graded = sum(sum(ts) for ts in per_kind.values())
    for name, ts in sorted(per_kind.items(), key=lambda kv: -sum(kv[1])):
        a, m, b = quartiles(ts)
        print(
            f"{name:<16} {len(ts):>6} {fmt(sum(ts) / len(ts)):>10} {fmt(m):>10} "
            f"{fmt(a) + ' - ' + fmt(b):>21} {sum(ts) / wall:>6.1%}"
        )
    print(f"{'(outside check)':<16} {'':>6} {'':>10} {'':>10} {'':>21} {1 - graded / wall:>6.1%}")

    print(f"\n{'part':<8} {'kind':<15} {'variant':<31} {'points':>6}  verdicts")
    flagged = []
    keys = sorted({k[:3] for k in tally}, key=lambda k: (k[1], k[2] != "correct", k[2]))
    for kind, label, variant in keys:
        counts = {st: tally[(kind, label, variant, st)] for st in ("correct", "wrong", "undecided")}
        shown = ", ".join(f"{st} {c}" for st, c in counts.items() if c)
        share = statistics.fmean(scored[(kind, label, variant)])
        print(f"{label:<8} {kind:<15} {variant:<31} {share:>6.0%}  {shown}")
        expect = "correct" if variant in ("correct", "steps, all follow") else "wrong"
        if variant == "steps, a refuted line":
            expect = "correct"  # the final answer is right; the refuted line costs points
        if counts[expect] != sum(counts.values()):
            flagged.append(f"{label} {variant!r}: expected {expect}, got {shown}")
        elif variant == "steps, a refuted line" and share >= 1:
            flagged.append(f"{label} {variant!r}: full points despite a refuted line")
    for line in flagged:
        print(f"flag: {line}")
    if not flagged:
        print("every variant got the verdict it was built for")


def main() -> None:
    print(machine_line())
    bench_equivalence()
    bench_grading()


if __name__ == "__main__":
    main()
