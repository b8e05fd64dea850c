"""``chainrule hyperplane``: the seed's Q1 from the command line, exactly as documented."""

import subprocess
import sys

import pytest

from chainrule.cli import main


def test_documented_form_with_negative_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hyperplane", "--pos", "-5,1,3", "--neg", "2,2,-3"]) == 0
    out = capsys.readouterr().out
    assert "f(x) = [-7 -1 6]·x − 9" in out
    assert "n = x₊ − x₋ = (-5, 1, 3) − (2, 2, -3) = (-7, -1, 6)" in out
    assert "f(x₊) = 43 > 0, f(x₋) = -43 < 0, f(m) = 0: ok" in out


def test_equals_form_fractions_and_latex(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hyperplane", "--pos=-1/2,0.5", "--neg", "0,0", "--latex"]) == 0
    out = capsys.readouterr().out
    assert "f(x) = [-1/2 1/2]·x − 1/4" in out
    assert r"\begin{bmatrix}" in out


def test_installed_console_script_reads_negative_values() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "chainrule", "hyperplane", "--pos", "-5,1,3", "--neg", "2,2,-3"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "f(x) = [-7 -1 6]·x − 9" in proc.stdout


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--pos", "-5,1,3", "--neg", "2,2"], "--pos has 3 coordinates but --neg has 2"),
        (["--pos", "1,2", "--neg", "1,2"], "same point"),
        (["--pos", "1,abc", "--neg", "1,2"], "--pos: coordinate 2 'abc' is not a number"),
        (["--pos", "1,nan", "--neg", "1,2"], "--pos: coordinate 2 'nan'"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hyperplane", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("chainrule hyperplane: error:") and needle in err[0]


def test_coordinates_beyond_float64_are_worked_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    # 1e400 is a valid exact number; the float view of the hyperplane must not crash the command.
    assert main(["hyperplane", "--pos", "1e400,1", "--neg", "1,2"]) == 0
    assert "f(m) = 0: ok" in capsys.readouterr().out
