"""The command line: version, usage errors, and the main job on the embedded default."""

import subprocess
import sys

import pytest

import chainrule
from chainrule.cli import COMMAND_MODULES, main


def test_version_attribute_is_a_release_string() -> None:
    parts = chainrule.__version__.split(".")
    assert len(parts) == 3 and all(p.isdigit() for p in parts)


def test_version_flag_prints_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"chainrule {chainrule.__version__}"


def test_unknown_command_exits_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["nosuchcommand"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: chainrule")
    error_lines = [line for line in err.splitlines() if "error:" in line]
    assert len(error_lines) == 1 and "nosuchcommand" in error_lines[0]


def test_main_job_prints_seed_answers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "f(x) = [-7 -1 6]·x − 9" in out


def test_python_dash_m_runs_the_same_command() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "chainrule", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"chainrule {chainrule.__version__}"


@pytest.mark.parametrize("command", [name.rsplit(".", 1)[1] for name in COMMAND_MODULES])
def test_every_command_reports_a_usage_error_in_one_line(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--no-such-flag"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"chainrule {command}: error:")


def test_unknown_words_after_a_command_are_reported_by_that_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["backprop", "--x", "0.5", "--no-such-flag"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "chainrule backprop: error: unrecognized arguments: --no-such-flag"
        " (see chainrule backprop --help)"
    ]
