"""The ``chainrule`` command line.

``chainrule`` with no arguments runs the main job on its embedded default: it solves and checks the seed
problem set (``chainrule.problems.seed``) and prints the worked answers. Subcommands live one per module in
``chainrule.commands``; each module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``.

Exit codes: 0 success, 1 a check that failed, 2 bad usage or bad input (one line on stderr, no traceback).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NoReturn

from chainrule._version import __version__

#: The subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = (
    "chainrule.commands.solve",
    "chainrule.commands.check",
    "chainrule.commands.generate",
    "chainrule.commands.backprop",
    "chainrule.commands.einsum",
    "chainrule.commands.hyperplane",
    "chainrule.commands.logreg",
    "chainrule.commands.separate",
    "chainrule.commands.unit",
)


class SubcommandParser(argparse.ArgumentParser):
    """The parser of one subcommand: a usage error is one line on stderr and exit code 2.

    argparse prints the usage block before the message, and hands a subcommand's unknown words back to the
    top-level parser, which reports them with its own usage block. Bad input to a command is one line that
    names the command (the usage is one ``--help`` away), like the errors ``main`` reports.
    """

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def _load_commands() -> list[ModuleType]:
    return [importlib.import_module(name) for name in COMMAND_MODULES]


def build_parser(commands: Sequence[ModuleType] = ()) -> argparse.ArgumentParser:
    """The argument parser with one subparser per command module."""
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description=(
            "Solve and check deep-learning theory problems, and show the work: "
            "with no command, solve the embedded seed problem set."
        ),
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=SubcommandParser)
    for module in commands:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


#: Where the main job (``chainrule`` with no command) writes its report.
DEFAULT_REPORT = "chainrule-report.html"


def _main_job() -> int:
    """Solve the embedded seed set, print the summary, write the HTML report and name its path.

    A file already at :data:`DEFAULT_REPORT` is replaced only when chainrule wrote it.
    """
    from pathlib import Path

    from chainrule.problems.report import GENERATOR_MARK, write_report
    from chainrule.problems.report.text import solution_summary
    from chainrule.problems.solve import load_seed_set, solve_set

    solution = solve_set(load_seed_set())
    print(solution_summary(solution))
    target = Path(DEFAULT_REPORT)
    ours = target.is_file() and GENERATOR_MARK in target.read_text("utf-8", errors="replace")[:4096]
    if target.exists() and not ours:
        print(f"{target} exists and was not written by chainrule; the report was not written")
        return 1
    path = write_report(solution, str(target), force=ours)
    print(f"report written to {Path(path).resolve()}")
    return 0 if solution.ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    commands = _load_commands()
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            return _main_job()
        return int(args._run(args))
    except BrokenPipeError:
        # The reader went away (`chainrule | head`): not an error of ours, and nothing more to say.
        # Point stdout at devnull so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError, KeyError) as exc:
        # Bad input: one line that says what and where (an expression's caret under it), then code 2.
        name = args.command or "chainrule"
        # A KeyError's str() is its repr, quotes included; its message is the first argument.
        text = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc).strip()
        msg = text.splitlines()[0] if text else type(exc).__name__
        print(f"chainrule {name}: error: {msg}", file=sys.stderr)
        detail = getattr(exc, "detail", "")
        if detail:
            print(detail, file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
