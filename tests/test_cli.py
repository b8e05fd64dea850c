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


def test_summaries_are_the_modules_help() -> None:
    import importlib

    from chainrule.cli import COMMANDS

    for name, module_name, summary in COMMANDS:
        module = importlib.import_module(module_name)
        assert name == module.NAME and summary == module.HELP


@pytest.mark.parametrize("command", [name.rsplit(".", 1)[1] for name in COMMAND_MODULES])
def test_every_command_help_has_examples_defaults_and_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "Example" in text and f"chainrule {command}" in text
    assert "xit code" in text  # "Exit codes:" or "exit codes:"
    # Every option with a default states it.
    import importlib

    from chainrule.cli import HelpFormatter, build_parser

    module = importlib.import_module(f"chainrule.commands.{command}")
    sub = build_parser([module])._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    formatter = HelpFormatter(f"chainrule {command}")
    for action in sub._actions:
        d = action.default
        if (
            action.option_strings
            and d is not None
            and not isinstance(d, (bool, list))
            and d != "==SUPPRESS=="
        ):
            assert "default" in formatter._get_help_string(action), action.option_strings


def _imports_after(code: str) -> set[str]:
    script = f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    return set(proc.stdout.split())


def test_import_and_help_load_no_engine() -> None:
    heavy = {"numpy", "scipy", "chainrule.autodiff", "chainrule.einsum", "chainrule.linear"}
    assert not heavy & _imports_after("import chainrule")
    after_help = _imports_after(
        "from chainrule.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass"
    )
    assert not heavy & after_help
    assert not {m for m in after_help if m.startswith("chainrule.commands.")}
    # A command's --help imports its own module (and the shared helpers), still no engine.
    after = _imports_after(
        "from chainrule.cli import main\n"
        "try:\n    main(['einsum', '--help'])\nexcept SystemExit:\n    pass"
    )
    assert "chainrule.commands.einsum" in after and not heavy & after
    assert "chainrule.commands.logreg" not in after


def test_the_public_api_loads_on_first_use() -> None:
    import chainrule as cr
    import chainrule.einsum.latex  # importing the subpackage must not hide the function

    assert callable(cr.einsum) and cr.einsum is chainrule.autodiff.einsum
    assert callable(cr.tensor) and cr.Tensor.__name__ == "Tensor"
    assert {"einsum", "grad", "linear", "nn"} <= set(dir(cr))
    from chainrule import grad, parse_index_notation

    assert callable(grad) and callable(parse_index_notation)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = cr.nope  # type: ignore[attr-defined]


def test_a_value_given_twice_or_under_two_names_is_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["backprop", "--x", "1", "--x", "2"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--x is given twice (1.0 and 2.0): give one" in err and err.count("\n") == 1


def test_negative_numbers_are_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["backprop", "--x", "-1e-1", "--quiet"]) == 0
    assert main(["hyperplane", "--pos", "-1e2,3", "--neg", "-.5,-3/4", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")
