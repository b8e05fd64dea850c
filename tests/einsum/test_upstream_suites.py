"""NumPy's and opt_einsum's own einsum test suites, run against chainrule.

Each suite runs from the installed package (never copied here) in a pytest subprocess with the plugin
``upstream_shim.py`` (this directory), which puts chainrule's ``einsum``, ``einsum_path``, ``contract``,
``contract_path`` and ``contract_expression`` in place of NumPy's and opt_einsum's. The tests that fail
must be exactly those listed as not applicable in the table of docs/einsum.md ("Upstream test suites"),
each for its own reason (its failure message contains the fragment the table gives): a failure missing
from the table fails here, and so does a table entry whose test no longer fails (a stale entry) or fails
otherwise. Skipped tests (opt_einsum's backends that are not installed) are counted apart, never as
passes, and a floor of passing tests must have called chainrule (:data:`CALLING_FLOOR`).

In opt_einsum's run the references stay independent: NumPy's einsum is not replaced, and
``contract(..., optimize=False)`` (opt_einsum's reference form) runs opt_einsum's own ``contract``;
:func:`test_opt_einsum_suite_fails_when_chainrule_is_wrong` checks that doubling chainrule's results makes
opt_einsum's comparisons fail.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

HERE = Path(__file__).resolve().parent
DOC = HERE.parent.parent / "docs" / "einsum.md"
#: The heading of the section of docs/einsum.md whose table lists the not-applicable tests.
SECTION = "## Upstream test suites"
#: A table row: | suite | `test id` | `a fragment of its failure message` | reason |
ROW = re.compile(r"^\|\s*(NumPy|opt_einsum)\s*\|\s*`([^`]+)`\s*\|\s*`([^`]+)`\s*\|(.+)\|\s*$")
#: The fewest passing tests of each suite that must have called chainrule (NumPy 2.4.6: 72 of 72;
#: opt_einsum 3.4.0: 7,656 of 7,726): a shim that stopped reaching chainrule would pass them vacuously.
CALLING_FLOOR = {"NumPy": 70, "opt_einsum": 7500}


def _suite_paths() -> dict[str, list[str]]:
    import numpy
    import opt_einsum

    numpy_dir = Path(numpy.__file__).parent
    oe_dir = Path(opt_einsum.__file__).parent
    return {
        "NumPy": [str(numpy_dir / "_core" / "tests" / "test_einsum.py")],
        "opt_einsum": [str(oe_dir / "tests")],
    }


def not_applicable() -> dict[str, dict[str, str]]:
    """suite → {test id: failure message fragment}, read from the table in docs/einsum.md (the one
    source of truth).

    Raises:
        ValueError: the section is missing, or a test id is listed twice.
    """
    text = DOC.read_text(encoding="utf-8")
    if SECTION not in text:
        raise ValueError(f"{DOC} has no section {SECTION!r}")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    table: dict[str, dict[str, str]] = {"NumPy": {}, "opt_einsum": {}}
    for line in section.splitlines():
        m = ROW.match(line.strip())
        if m is None:
            continue
        suite, test_id, fragment, reason = m.group(1), m.group(2), m.group(3), m.group(4).strip()
        if test_id in table[suite]:
            raise ValueError(f"{DOC}: {suite} test {test_id!r} is listed twice")
        if not reason:
            raise ValueError(f"{DOC}: {suite} test {test_id!r} has no reason")
        table[suite][test_id] = fragment
    return table


def _start(
    suite: str, paths: list[str], work: Path, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen[str], Path]:
    """Start ``suite``'s pytest run under the shim (``extra``: more pytest arguments, e.g. plugins)."""
    work.mkdir(parents=True, exist_ok=True)
    ini = work / "pytest.ini"
    ini.write_text("[pytest]\n", encoding="utf-8")  # none of this project's options or markers
    results = work / "results.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    env["CHAINRULE_UPSTREAM_RESULTS"] = str(results)
    env["CHAINRULE_UPSTREAM_SUITE"] = suite
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-c",
        str(ini),
        "--rootdir",
        str(work),
        "-p",
        "upstream_shim",
        *extra,
        *paths,
    ]
    proc = subprocess.Popen(
        cmd, cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    return proc, results


@pytest.fixture(scope="module")
def upstream_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Both suites, started together (one subprocess each), as suite → (exit code, output, results)."""
    base = tmp_path_factory.mktemp("upstream")
    started = {suite: _start(suite, paths, base / suite) for suite, paths in _suite_paths().items()}
    runs: dict[str, Any] = {}
    try:
        for suite, (proc, results) in started.items():
            output, _ = proc.communicate(timeout=900)
            data = json.loads(results.read_text(encoding="utf-8")) if results.exists() else None
            runs[suite] = (proc.returncode, output, data)
        yield runs
    finally:
        for proc, _ in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_the_table_is_read() -> None:
    table = not_applicable()
    assert table["NumPy"] and table["opt_einsum"]
    for suite in table.values():
        for test_id, fragment in suite.items():
            assert "::" in test_id and fragment.strip(), (test_id, fragment)


@pytest.mark.parametrize("suite", ["NumPy", "opt_einsum"])
def test_upstream_suite(
    suite: str, upstream_runs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    code, output, data = upstream_runs[suite]
    tail = "\n".join(output.splitlines()[-30:])
    # 0: all passed, 1: some failed. 5 (nothing collected) and anything else are errors of the run.
    assert code in (0, 1) and data is not None, f"{suite} suite: pytest exited {code}\n{tail}"
    tests: dict[str, dict[str, Any]] = data["tests"]
    table = not_applicable()[suite]
    failed = {t for t, r in tests.items() if r["outcome"] == "failed"}
    passed = [t for t, r in tests.items() if r["outcome"] == "passed"]
    skipped = [t for t, r in tests.items() if r["outcome"] in ("skipped", "xfailed")]
    calling = [t for t in passed if tests[t]["called"]]
    unexpected = sorted(failed - set(table))
    stale = sorted(set(table) - failed)
    # A listed test must fail for its own reason: its message contains the table's fragment.
    other_reason = sorted(
        t for t in failed & set(table) if table[t] not in "\n".join(tests[t].get("message", []))
    )
    version = __import__("numpy" if suite == "NumPy" else "opt_einsum").__version__
    line = (
        f"{suite} {version} suite against chainrule: {len(passed)} passed ({len(calling)} of them "
        f"call chainrule), {len(failed & set(table))} not applicable, {len(skipped)} skipped"
    )
    with capsys.disabled():
        print(f"\n{line}")
    messages = [line]
    for t in unexpected:
        messages.append(f"FAILED, not in the table: {t}: {' '.join(tests[t].get('message', []))}")
    for t in stale:
        outcome = tests[t]["outcome"] if t in tests else "not run"
        messages.append(f"stale table entry ({outcome}): {t}")
    for t in other_reason:
        messages.append(
            f"fails for another reason than the table's (expected {table[t]!r}): {t}: "
            f"{' '.join(tests[t].get('message', []))}"
        )
    assert not unexpected and not stale and not other_reason, "\n".join(messages)
    assert len(calling) >= CALLING_FLOOR[suite], line


def test_numpy_suite_fails_when_chainrule_is_wrong(tmp_path: Path) -> None:
    # NumPy's suite checks values against NumPy's other functions (dot, sum, trace...) and hand-made
    # results; with chainrule's results doubled, most of its tests must fail (51 of 78 with NumPy 2.4.6;
    # the others check paths, errors and reports).
    proc, results = _start(
        "NumPy", _suite_paths()["NumPy"], tmp_path / "doubled", ("-p", "upstream_perturb")
    )
    output, _ = proc.communicate(timeout=600)
    assert results.exists(), output[-3000:]
    tests = json.loads(results.read_text(encoding="utf-8"))["tests"]
    failed = [t for t, r in tests.items() if r["outcome"] == "failed"]
    assert len(failed) >= 45, output[-3000:]


def test_opt_einsum_suite_fails_when_chainrule_is_wrong(tmp_path: Path) -> None:
    # opt_einsum's references (contract(..., optimize=False) and numpy.einsum) must not be chainrule:
    # with chainrule's results doubled (the upstream_perturb plugin), every comparison of a subset fails.
    tests_dir = Path(_suite_paths()["opt_einsum"][0])
    subset = ("-k", "test_drop_in_replacement or test_compare[greedy")
    runs = {}
    for name, extra in (("plain", subset), ("doubled", ("-p", "upstream_perturb", *subset))):
        proc, results = _start(
            "opt_einsum", [str(tests_dir / "test_contract.py")], tmp_path / name, extra
        )
        output, _ = proc.communicate(timeout=600)
        assert results.exists(), output[-3000:]
        runs[name] = json.loads(results.read_text(encoding="utf-8"))["tests"]
    plain, doubled = runs["plain"], runs["doubled"]
    assert len(plain) >= 100 and plain.keys() == doubled.keys()
    assert all(r["outcome"] == "passed" and r["called"] for r in plain.values())
    assert all(r["outcome"] == "failed" for r in doubled.values())


# ------------------------------------------------------------------------------------------------------
# The features those suites need, tested directly.


def test_opt_einsum_names_run_real_searches() -> None:
    import random

    from chainrule.einsum.paths import find_path, optimal, optimal_connected, path_cost

    rng = random.Random(7)
    for _ in range(40):
        n = rng.randint(3, 7)
        terms = [frozenset(rng.sample("abcdefgh", rng.randint(1, 3))) for _ in range(n)]
        sizes = {x: rng.randint(2, 6) for x in "abcdefgh"}
        output = frozenset(rng.sample(sorted(frozenset().union(*terms)), 1))
        costs = {
            name: path_cost(terms, output, sizes, find_path(terms, output, sizes, name))[0]
            for name in ("branch-1", "branch-2", "branch-all", "eager", "opportunistic", "dp")
        }
        best = path_cost(terms, output, sizes, optimal(terms, output, sizes))[0]
        assert costs["dp"] == best
        assert best <= costs["branch-all"] <= costs["branch-2"] <= costs["branch-1"]
        connected = optimal_connected(terms, output, sizes)
        if connected is not None:  # branch-all is exact among orders without outer products
            assert costs["branch-all"] == path_cost(terms, output, sizes, connected)[0]


def test_unmet_memory_limit_falls_back_to_one_nary_step() -> None:
    from chainrule.einsum import contract_path, einsum

    shapes = [(2, 30), (30, 40), (40, 3)]
    for optimize in ("greedy", "optimal", "branch-2", "auto"):
        path, _ = contract_path(
            "ij,jk,kl->il", *shapes, optimize=optimize, memory_limit=10, shapes=True
        )
        assert path == [(0, 1, 2)]
    # ij,jk fits in 80 elements (ik: 2·40), then no pair does (il: 100, km: 2400, jl: 1500): one pair,
    # then the rest at once.
    path, _ = contract_path(
        "ij,jk,kl,lm->im", (2, 30), (30, 40), (40, 50), (50, 60), memory_limit=80, shapes=True
    )
    assert path == [(0, 1), (0, 1, 2)]
    ops = [np.random.default_rng(1).random(s) for s in shapes]
    np.testing.assert_allclose(
        einsum("ij,jk,kl->il", *ops, optimize=("greedy", 10)), ops[0] @ ops[1] @ ops[2]
    )
    unlimited, _ = contract_path("ij,jk,kl->il", *shapes, memory_limit=-1, shapes=True)
    assert unlimited == [(0, 1), (0, 1)]


def test_einsum_path_reads_lists_as_arrays_and_shapes_on_request() -> None:
    from chainrule.einsum import einsum_path

    with pytest.raises(ValueError, match="too many labels"):
        einsum_path("ij", [0, 0])  # a 1-d array of two zeros, as NumPy reads it
    path, info = einsum_path("ij,jk", [2, 3], [3, 4], shapes=True)
    assert path == [(0, 1)] and info.opt_cost == 2 * 3 * 4 * 2
    with pytest.raises(ValueError, match="operand 1 must be a shape"):
        einsum_path("ij,jk", (2, 3), "x", shapes=True)


def test_optimize_none_order_and_casting() -> None:
    from chainrule.einsum import contract, einsum, einsum_path

    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    assert einsum_path("ij,jk,kl->il", a, b, b.T, optimize=None)[0] == [(0, 1), (0, 1)]
    np.testing.assert_allclose(contract("ij,jk->ik", a, b, optimize=None), a @ b)
    assert einsum("ij,jk->ik", a, b, order="F").flags.f_contiguous
    assert einsum("ij,jk->ik", a, b, order="c").flags.c_contiguous
    fa, fb = np.asfortranarray(a), np.asfortranarray(b)
    assert einsum("ij,jk->ik", fa, fb, order="A").flags.f_contiguous
    assert einsum("ij,jk->ik", fa, b, order="A").flags.c_contiguous
    with pytest.raises(ValueError, match="order must be one of"):
        einsum("ij->i", a, order="W")
    with pytest.raises(ValueError, match="casting must be one of"):
        einsum("ij->i", a, casting="blah")  # checked although nothing is cast
    with pytest.raises(TypeError, match="casting must be a string"):
        einsum("ij->i", a, casting=3)
    with pytest.raises(ValueError, match="subscripts and at least one operand"):
        einsum()


def test_contract_expression_with_constants() -> None:
    from chainrule.einsum import contract_expression

    rng = np.random.default_rng(2)
    a, b, c = rng.random((2, 3)), rng.random((3, 4)), rng.random((4, 5))
    expr = contract_expression("ij,jk,kl->il", a, (3, 4), c, constants=[0, 2])
    np.testing.assert_allclose(expr(b), a @ b @ c)
    assert "constants=[0, 2]" in repr(expr)
    with pytest.raises(ValueError, match="expected 1 arrays"):
        expr(b, b)
    with pytest.raises(TypeError, match="constant operand 1 must be an array"):
        contract_expression("ij,jk->ik", a, (3, 4), constants=[1])


def test_object_operands_use_their_own_arithmetic() -> None:
    from fractions import Fraction

    from chainrule.einsum import contract, einsum

    a = np.array([[Fraction(1, k + j + 1) for j in range(3)] for k in range(2)], dtype=object)
    b = np.array([Fraction(1, 3), Fraction(1, 5), Fraction(1, 7)], dtype=object)
    got = einsum("ij,j->i", a, b)
    assert got.dtype == object
    assert list(got) == [
        sum((a[k, j] * b[j] for j in range(3)), Fraction(0)) for k in range(2)
    ]  # exact: no float anywhere
    assert einsum("ii->", np.array([[Fraction(1, 2), 0], [0, Fraction(1, 3)]], dtype=object)) == (
        Fraction(5, 6)
    )
    scalar = contract("i,i->", b, b, backend="object")
    assert scalar.shape == () and scalar[()] == Fraction(1, 9) + Fraction(1, 25) + Fraction(1, 49)


def test_callable_optimizer_and_backend_check() -> None:
    from chainrule.einsum import contract

    seen: list[int] = []

    def left_to_right(inputs: Any, output: Any, size_dict: Any, memory_limit: Any) -> list[Any]:
        seen.append(len(inputs))
        return [(0, 1)] * (len(inputs) - 1)

    ops = [np.ones((2, 2))] * 3
    np.testing.assert_allclose(contract("ij,jk,kl->il", *ops, optimize=left_to_right), 4.0)
    assert seen == [3]
    with pytest.raises(ValueError, match="leaves 2 operands"):
        contract("ij,jk,kl->il", *ops, optimize=lambda *args: [(0, 1)])
    with pytest.raises(ValueError, match="backend='torch'"):
        contract("ij,jk->ik", *ops[:2], backend="torch")
