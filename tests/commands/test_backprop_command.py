"""``chainrule backprop``: the seed's Q4 derivation and its numeric check."""

from __future__ import annotations

import pytest

from chainrule.cli import main
from chainrule.commands.backprop import _parse_weights


def test_default_prints_the_five_equations_and_agrees(capsys):
    assert main(["backprop"]) == 0
    out = capsys.readouterr().out
    assert (
        "= ∂L/∂n_2 · g'(w_{2,4} n_4) w_{2,4} + ∂L/∂n_3 · g'(w_{3,4} n_4 + w_{3,6} n_6) w_{3,4}"
        in out
    )
    assert "= ∂L/∂n_7 · g'(w_{7,x} x) w_{7,x}" in out
    assert "L = ½(n_2 − 1)² + ½(n_3 + 0.5)²" in out
    row = next(ln for ln in out.splitlines() if ln.startswith("∂L/∂x ") and " = " not in ln)
    d, b, fd, ok = row.split()[1:]
    assert ok == "yes" and float(d) == pytest.approx(float(b), rel=1e-9)
    assert float(fd) == pytest.approx(float(b), rel=1e-5)
    assert "agree" in out.splitlines()[-1]


def test_batch_all_weights_sigmoid_and_custom_symbol(capsys):
    args = ["backprop", "--batch", "50", "--all", "--activation", "sigmoid", "--symbol", "s"]
    assert main([*args, "--weights", "7,x=1.5, 2,4=-0.2"]) == 0
    out = capsys.readouterr().out
    assert "s'(w_{7,x} x)" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("∂L/∂w_") and " = " not in ln]
    assert len(rows) == 8 and all(r.endswith("yes") for r in rows)


def test_latex_output(capsys):
    assert main(["backprop", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "\\begin{aligned}" in out and "g'\\left(w_{7,x} x\\right) w_{7,x}" in out


def test_bad_weights_exit_2(capsys):
    assert main(["backprop", "--weights", "9,9=1"]) == 2
    assert "unknown weight '9,9'" in capsys.readouterr().err
    assert main(["backprop", "--weights", "7,x=abc"]) == 2
    with pytest.raises(SystemExit) as exc:  # a usage error: argparse exits itself
        main(["backprop", "--batch", "-3"])
    assert exc.value.code == 2
    assert "--batch is between 1 and 1,000,000" in capsys.readouterr().err


def test_activation_names_match_the_engine() -> None:
    from chainrule.commands.backprop import ACTIVATION_NAMES
    from chainrule.problems.seed import ACTIVATIONS

    assert tuple(sorted(ACTIVATIONS)) == ACTIVATION_NAMES


def test_parse_weights():
    w = _parse_weights("7,x=0.25,3,6=-2")
    assert w["7,x"] == 0.25 and w["3,6"] == -2.0 and w["5,7"] == -0.8
    with pytest.raises(ValueError, match="cannot read"):
        _parse_weights("7,x")
