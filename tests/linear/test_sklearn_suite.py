"""scikit-learn's own tests of LogisticRegression and Perceptron, run against chainrule's estimators.

The test modules shipped in the installed sklearn wheel (``sklearn/linear_model/tests/test_logistic.py``
and ``test_perceptron.py``) run, from the installed package (never copied here), in a separate pytest
process with the plugin ``sklearn_shim`` (this folder), which substitutes thin adapters around chainrule's
estimators for ``sklearn.linear_model.LogisticRegression`` and ``Perceptron``. Every failure must be
listed, with its reason, in the one table of docs/linear.md ("scikit-learn's own tests"); the test
fails on a failure that is not listed, and on a listed test that now passes (unless its row begins
"either way:", for a test whose outcome hangs on rounding). Which tests are left out of the run, and
why, is said there too (``DESELECTED`` below is that list).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

import pytest

sklearn = pytest.importorskip("sklearn")

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "linear.md"
SECTION = "### scikit-learn's own tests"
MODULES = ("test_logistic.py", "test_perceptron.py")

#: Left out of the run (a -k expression): tests of sklearn's LogisticRegressionCV alone, whose fits run
#: sklearn's own path code, never the adapter (see docs/linear.md).
DESELECTED = (
    "not test_logisticregressioncv_warns_with_use_legacy_attributes"
    " and not test_multinomial_cv_iris"
    " and not test_LogisticRegressionCV_GridSearchCV_elastic_net"
    " and not test_lr_cv_scores_differ_when_sample_weight_is_requested"
    " and not test_lr_cv_scores_without_enabling_metadata_routing"
)


def listed() -> dict[str, str]:
    """The table of docs/linear.md: node-id pattern (``*`` matches anything) → reason."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start)
    table: dict[str, str] = {}
    for line in text[start : end if end > 0 else None].splitlines():
        m = re.match(r"^\| `([^`]+)` +\| (.+?) +\|$", line)
        if m:
            if m.group(1) in table:
                raise AssertionError(f"{m.group(1)} is listed twice in {DOC.name}")
            table[m.group(1)] = m.group(2)
    return table


def _matcher(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")) + r"\Z")


def _outcomes(junit: pathlib.Path) -> dict[str, str]:
    """node id (``test_logistic.py::name[params]``) → ``passed``, ``failed`` or ``skipped``."""
    out: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        node = f"{module}.py::{case.get('name')}"
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            out[node] = "failed"
        elif "skipped" in tags:
            out[node] = "skipped"
        else:
            out[node] = "passed"
    return out


def test_sklearn_own_tests_pass_or_are_listed(tmp_path: pathlib.Path) -> None:
    tests_dir = pathlib.Path(sklearn.__file__).parent / "linear_model" / "tests"
    paths = [str(tests_dir / name) for name in MODULES]
    junit = tmp_path / "junit.xml"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(ROOT / "src"), env.get("PYTHONPATH", "")])
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "sklearn_shim",
        "-p",
        "no:cacheprovider",
        "-q",
        "--disable-warnings",
        f"--junitxml={junit}",
        "-k",
        DESELECTED,
        *paths,
    ]
    start = time.perf_counter()
    run = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    seconds = time.perf_counter() - start
    assert junit.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    outcomes = _outcomes(junit)
    assert outcomes, run.stdout[-3000:]
    table = listed()
    patterns = {p: _matcher(p) for p in table}
    failed = sorted(n for n, o in outcomes.items() if o == "failed")
    unlisted = [n for n in failed if not any(m.match(n) for m in patterns.values())]
    # A row whose reason starts with "either way:" names a test whose outcome hangs on rounding (sklearn
    # marks it FIXME itself): it may pass too.
    strict = {p: m for p, m in patterns.items() if not table[p].startswith("either way:")}
    now_passing = sorted(
        n for n, o in outcomes.items() if o == "passed" and any(m.match(n) for m in strict.values())
    )
    stale = sorted(p for p, m in patterns.items() if not any(m.match(n) for n in outcomes))
    counts = {
        o: sum(1 for v in outcomes.values() if v == o) for o in ("passed", "failed", "skipped")
    }
    print(
        f"sklearn {sklearn.__version__} own tests through the shim: {counts['passed']} passed, "
        f"{counts['failed']} failed, all listed ({len(table)} table rows), {counts['skipped']} skipped, "
        f"in {seconds:.0f} s"
    )
    assert not unlisted, "failures not listed in docs/linear.md:\n" + "\n".join(unlisted)
    assert not now_passing, "listed in docs/linear.md but passing now:\n" + "\n".join(now_passing)
    assert not stale, "rows of docs/linear.md that match no test:\n" + "\n".join(stale)
