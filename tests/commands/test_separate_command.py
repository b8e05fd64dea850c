"""``chainrule separate``: a hyperplane or a certificate for a CSV file."""

import pathlib

import pytest

from chainrule.cli import main


def _csv(tmp_path: pathlib.Path, text: str) -> str:
    path = tmp_path / "data.csv"
    path.write_text(text)
    return str(path)


def test_separable_file_prints_exact_max_margin(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, "y,a,b\n1,0,0\n1,0,-1\n0,1,0\n0,1,-1\n")
    assert main(["separate", path, "--label", "y"]) == 0
    out = capsys.readouterr().out
    assert "maximum-margin hyperplane: f(x) = [-2 0]·x + 1" in out
    assert "f = -2·a + 1" in out
    assert "margin² = 1/4" in out and "optimality verified exactly" in out


def test_inseparable_file_prints_certificate_and_exits_0(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, "x1,x2,y\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n")
    assert main(["separate", path, "--label", "y", "--margin", "any"]) == 0
    out = capsys.readouterr().out
    assert "½·(0,1) + ½·(1,0) = ½·(0,0) + ½·(1,1)" in out
    assert "verified in exact rational arithmetic" in out


def test_default_label_is_last_column_and_no_verify(
    tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _csv(tmp_path, "a,label\n0.5,no\n1.5,no\n3.0,yes\n")
    assert main(["separate", path, "--no-verify"]) == 0
    out = capsys.readouterr().out
    assert "positive side: class 'yes'" in out and "floating point" in out


@pytest.mark.parametrize(
    ("text", "args", "needle"),
    [
        ("a,y\n0,1\nx,0\n", ["--label", "y"], "line 3, column 'a'"),
        ("a,y\n0,1\n1,1\n", ["--label", "y"], "single class"),
        ("a,y\n0,1\n1,0\n", ["--label", "z"], "no column 'z'"),
        ("a,y\nnan,1\n1,0\n", ["--label", "y"], "line 2, column 'a': 'nan' is not a finite"),
    ],
)
def test_bad_files_exit_2(
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    args: list[str],
    needle: str,
) -> None:
    path = _csv(tmp_path, text)
    assert main(["separate", path, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0]


def test_missing_file_exits_2(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["separate", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err
