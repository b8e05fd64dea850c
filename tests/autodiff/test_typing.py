"""A user's type checker sees Tensors: mypy on a snippet that misuses the API reports each misuse, and
a correct snippet passes.

mypy runs from the repository root with the project's configuration, so it reuses the cache that
``make test`` leaves from its mypy step (a cold run analyses chainrule and NumPy's stubs first).
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

MISUSE = """\
import numpy as np

import chainrule as cr

t = cr.tensor([1.0, 2.0], requires_grad=True)
a: np.ndarray = cr.tanh(t)
cr.exp("2.0")
cr.sigmoid(t).itemset(0, 1.0)
cr.maximum(t, 0.0).sum().numpy().backward()
cr.stack([t, t]).T.reshape(4).nonexistent
cr.softmax(t, axis="0")
"""

#: line -> (error code, a piece of the message) for each misuse above.
EXPECTED = {
    6: ("assignment", 'expression has type "Tensor"'),
    7: ("call-overload", 'matches argument type "str"'),
    8: ("attr-defined", '"Tensor" has no attribute "itemset"'),
    9: ("attr-defined", 'has no attribute "backward"'),
    10: ("attr-defined", '"Tensor" has no attribute "nonexistent"'),
    11: ("call-overload", '"softmax" matches argument types "Tensor", "str"'),
}

CORRECT = """\
import numpy as np

import chainrule as cr

t = cr.tensor([1.0, 2.0], requires_grad=True)
w = cr.tensor(np.ones((2, 2)), requires_grad=True)
h: cr.Tensor = cr.tanh(t @ w) * 2.0 + cr.exp(t).sum() - 1.0 / cr.sigmoid(t)
loss = cr.maximum(h, 0.0).mean() + cr.clip(t, -1.0, 1.0).sum()
loss = loss + cr.where(np.array([True, False]), t, 0.0).sum() + cr.softplus(-t).max()
loss = loss + cr.stack([t, t]).sum(axis=0).min() + cr.concatenate([t, np.zeros(2)]).prod()
loss = loss + cr.logsumexp(cr.log_softmax(w, axis=0)) + (w.T @ t).reshape(2, 1).softmax(0).sum()
loss.backward()
grad = t.grad
assert grad is not None
plain: np.ndarray = np.asarray(cr.tanh(np.linspace(-1.0, 1.0, 5)))
print(grad.numpy(), float(loss), plain, [row.sum().item() for row in w])
"""


@pytest.mark.slow
def test_mypy_catches_misuse_and_passes_correct_use(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "user_misuse.py"
    good = tmp_path / "user_correct.py"
    bad.write_text(MISUSE)
    good.write_text(CORRECT)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-error-summary",
            "--hide-error-context",
            str(bad),
            str(good),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    errors: dict[int, list[str]] = {}
    for line in run.stdout.splitlines():
        m = re.match(r"(.+?):(\d+): error: (.*)", line)
        if m is None:
            continue
        assert pathlib.Path(m.group(1)).name == bad.name, f"the correct snippet fails: {line}"
        errors.setdefault(int(m.group(2)), []).append(m.group(3))
    assert sorted(errors) == sorted(EXPECTED), run.stdout
    for lineno, (code, text) in EXPECTED.items():
        assert any(f"[{code}]" in e and text in e for e in errors[lineno]), (lineno, errors[lineno])
