"""The ``chainrule`` command line.

``chainrule`` with no arguments runs the main job on its embedded default: it solves and checks the seed
problem set (``chainrule.problems.seed``) and prints the worked answers. Subcommands live one per module in
``chainrule.commands``; each module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and
``run(args) -> int``, and imports its heavy dependencies inside ``run``. :data:`COMMANDS` names them with
their one-line summaries, so ``chainrule --help`` imports no command module, and ``chainrule CMD ...``
imports only ``CMD``'s.

The contract of every command (docs/cli.md):

- exit 0: success; exit 1: a check that failed (the output says which);
- exit 2: bad input or a resource limit (a bound on a number or a size, memory, nesting): one line on
  stderr, ``chainrule CMD: error: ...``, never a traceback;
- exit 130: interrupted (Ctrl-C), ``chainrule CMD: interrupted``.

Warnings raised while a command runs are printed as one line each (``chainrule CMD: warning: ...``; NumPy's
floating-point RuntimeWarnings as a single ``note``), without source paths, and not at all after an error.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any, NoReturn

from chainrule._version import __version__

#: The subcommands, in the order ``--help`` lists them: (name, module, one-line summary). The summary is the
#: module's ``HELP`` (a test keeps them equal); it is here so that ``--help`` imports no command module.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    (
        "solve",
        "chainrule.commands.solve",
        "solve a problem set (TOML; default: the embedded seed set), verify each answer, write a report",
    ),
    (
        "check",
        "chainrule.commands.check",
        "grade claimed answers (a TOML file or a directory of them) against a problem set",
    ),
    (
        "generate",
        "chainrule.commands.generate",
        "write self-tested randomised variants of a problem set (--count K or --students roster.csv)",
    ),
    (
        "backprop",
        "chainrule.commands.backprop",
        "the seed's Q4 DAG network: print the chain-rule derivation over its named nodes and check it "
        "against backward() and finite differences",
    ),
    (
        "einsum",
        "chainrule.commands.einsum",
        "index notation (C_{jk} = \\sum_i A_{ijk} b_i, C = A G^T B) or einsum subscripts: "
        "the spec, the contraction plan, and a check against loops",
    ),
    (
        "hyperplane",
        "chainrule.commands.hyperplane",
        "the hyperplane through the midpoint of two points, normal to their difference "
        "(worked, exact): --pos -5,1,3 --neg 2,2,-3",
    ),
    (
        "logreg",
        "chainrule.commands.logreg",
        "fit a logistic regression to a CSV file (default: the embedded breast-cancer data), "
        "check its gradient and print its summary",
    ),
    (
        "train",
        "chainrule.commands.train",
        "train a neural-network classifier (default: an MLP on the embedded UCI 8x8 digits) with a "
        "progress bar; print its held-out accuracy and plot its learning curves",
    ),
    (
        "separate",
        "chainrule.commands.separate",
        "find a (maximum-margin) separating hyperplane for a labelled CSV file, "
        "or a certificate that none exists",
    ),
    (
        "unit",
        "chainrule.commands.unit",
        "weights for a threshold unit z = w·x − w0 (output 1 iff z ≥ 0) from labelled points: "
        'solve, or check --weights (--points "0,0:1 0,-1:1 1,0:0 1,-1:0")',
    ),
)

#: The subcommand modules, in the order ``--help`` lists them.
COMMAND_MODULES: tuple[str, ...] = tuple(module for _, module, _ in COMMANDS)

#: The exit code of an interrupted command (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130

_EXIT_CODES = (
    "exit codes: 0 success; 1 a check failed; 2 bad input or a resource limit (one line on stderr); "
    "130 interrupted"
)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions and epilogs as written (examples keep their lines); each option's default is stated."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and "default" not in text
            and default is not None
            and not isinstance(default, (bool, list))
            and default != argparse.SUPPRESS
            and action.nargs != 0
        ):
            text += " (default: %(default)s)"
        return text


def _record(action: argparse.Action) -> None:
    """Make ``action`` note, in ``namespace._given``, that the user wrote it; a value option written twice
    with different values (or under two of its names) is a usage error."""
    if getattr(action, "_chainrule_records", False):
        return
    base = type(action)

    def __call__(
        self: argparse.Action,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        if self.nargs is None and isinstance(values, list):
            # argparse drops a value '--' (`--neg=--`) and hands an empty list instead of a string
            parser.error(f"{option_string or self.dest} needs a value, got '--'")
        seen: dict[str, tuple[str | None, Any]] = namespace.__dict__.setdefault("_given", {})
        earlier = seen.get(self.dest)
        if earlier is not None and isinstance(self, argparse._StoreAction) and earlier[1] != values:
            first = earlier[0] or self.dest
            later = option_string or self.dest
            names = (
                f"{first} is given twice"
                if first == later
                else f"{first} and {later} are both given"
            )
            parser.error(f"{names} ({earlier[1]!r} and {values!r}): give one")
        seen[self.dest] = (option_string, values)
        base.__call__(self, parser, namespace, values, option_string)

    action.__class__ = type(
        base.__name__, (base,), {"__call__": __call__, "_chainrule_records": True}
    )


_NEGATIVE_VALUE = re.compile(r"^-\.?\d[\d.,/eE+\-\s_]*$")


class SubcommandParser(argparse.ArgumentParser):
    """The parser of one subcommand: a usage error is one line on stderr and exit code 2.

    argparse prints the usage block before the message, and hands a subcommand's unknown words back to the
    top-level parser, which reports them with its own usage block. Bad input to a command is one line that
    names the command (the usage is one ``--help`` away), like the errors ``main`` reports. It also records
    which options the user wrote (:func:`chainrule.commands._options.given`), so that a command can refuse
    an option that another makes meaningless.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)
        # A word that starts like a negative number (-1e6, -.5, -3/4, -5,1,3) is a value, not an option.
        self._negative_number_matcher = _NEGATIVE_VALUE

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        for action in self._actions:
            _record(action)
        parsed, extras = super().parse_known_args(args, namespace)
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def _epilog(module: ModuleType) -> str:
    """A command's ``--help`` epilog: its module docstring (examples, defaults, exit codes) as plain text."""
    doc = (module.__doc__ or "").strip()
    lines = doc.splitlines()[1:]  # the first line repeats the summary
    text = "\n".join(lines).strip().replace("``", "").replace("::", ":")
    if "exit code" not in text.lower():
        text += "\n\n" + _EXIT_CODES
    return text


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, 100)


def build_parser(commands: Sequence[ModuleType] = ()) -> argparse.ArgumentParser:
    """The argument parser: one subparser per command, with full options for the modules in ``commands``.

    The other commands get a stub (their summary only), which is all ``chainrule --help`` needs.
    """
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description=(
            "Solve and check deep-learning theory problems, and show the work:\n"
            "with no command, solve the embedded seed problem set."
        ),
        epilog=(
            "Run 'chainrule COMMAND --help' for a command's options and examples.\n" + _EXIT_CODES
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=SubcommandParser)
    loaded = {module.NAME: module for module in commands}
    for name, _, summary in COMMANDS:
        module = loaded.pop(name, None)
        if module is None:
            sub.add_parser(name, help=summary, description=summary)
            continue
        p = sub.add_parser(
            name, help=module.HELP, description=_wrap(module.HELP), epilog=_epilog(module)
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    for name, module in loaded.items():  # a module not in COMMANDS (a test's, say)
        p = sub.add_parser(
            name, help=module.HELP, description=_wrap(module.HELP), epilog=_epilog(module)
        )
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option, when it is a command."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if any(word == name for name, _, _ in COMMANDS) else None
    return None


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


def _first_line(exc: BaseException) -> str:
    """An exception's message as one line (a KeyError's without its quotes, an OSError's without [Errno])."""
    if isinstance(exc, KeyError) and exc.args:
        text = str(exc.args[0])
    elif isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror + (f": {exc.filename!r}" if exc.filename else "")
    else:
        text = str(exc)
    text = text.strip()
    line = text.splitlines()[0].strip() if text else type(exc).__name__
    return line if len(line) <= 500 else line[:497] + "..."


def _warning_lines(prefix: str, caught: Sequence[warnings.WarningMessage]) -> list[str]:
    """One line per distinct warning (at most five), NumPy's RuntimeWarnings folded into one note."""
    lines: list[str] = []
    numeric: list[str] = []
    for w in caught:
        message = str(w.message).strip().splitlines()[0] if str(w.message).strip() else ""
        if issubclass(w.category, RuntimeWarning):
            if message not in numeric:
                numeric.append(message)
            continue
        line = f"{prefix}: warning: {message}"
        if line not in lines:
            lines.append(line)
    lines = lines[:5]
    if numeric:
        lines.append(
            f"{prefix}: note: floating-point trouble during the computation "
            f"({'; '.join(numeric[:2])})"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (argparse's usage errors and --help exit themselves)."""
    words = list(sys.argv[1:] if argv is None else argv)
    name = _command_in(words)
    prefix = f"chainrule {name or ''}".rstrip()
    try:
        commands: list[ModuleType] = []
        if name is not None:
            commands = [importlib.import_module(dict((n, m) for n, m, _ in COMMANDS)[name])]
        args = build_parser(commands).parse_args(words)
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        code = _run(args, prefix)
    if code in (0, 1) and not getattr(args, "quiet", False):
        for line in _warning_lines(prefix, caught):
            print(line, file=sys.stderr)
    return code


def _run(args: argparse.Namespace, prefix: str) -> int:
    """Run the parsed command under the exit-code contract."""
    try:
        if args.command is None:
            return _main_job()
        return int(args._run(args))
    except BrokenPipeError:
        # The reader went away (`chainrule | head`): not an error of ours, and nothing more to say.
        # Point stdout at devnull so that the interpreter's final flush does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except MemoryError as exc:
        detail = _first_line(exc) if str(exc) else "the input needs more memory than there is"
        print(f"{prefix}: error: out of memory: {detail}", file=sys.stderr)
        return 2
    except RecursionError:
        print(
            f"{prefix}: error: the input is nested too deeply to read (Python's recursion limit)",
            file=sys.stderr,
        )
        return 2
    except (ValueError, OSError, KeyError, ArithmeticError, RuntimeError) as exc:
        # Bad input or a limit: one line that says what and where (an expression's caret under it), code 2.
        print(f"{prefix}: error: {_first_line(exc)}", file=sys.stderr)
        detail = getattr(exc, "detail", "")
        if detail:
            print(detail, file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("CHAINRULE_TRACEBACK"):
            raise
        print(
            f"{prefix}: error: internal error ({type(exc).__name__}: {_first_line(exc)}); "
            "please report it (CHAINRULE_TRACEBACK=1 shows the traceback)",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
