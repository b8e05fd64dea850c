"""The option vocabulary the ``chainrule`` subcommands share, and bounded number types for argparse.

One name, one meaning, in every command (docs/cli.md has the table):

- the input is positional (a CSV file, a statement); ``-`` reads it from stdin;
- ``--label NAME``: the label (class) column of a CSV file; ``--delimiter C``: its cell separator (detected
  when not given, and said in the output);
- ``-o/--out PATH``: the output file (``-``: stdout); an existing file needs ``--force``, an input is never
  written over, and the write is atomic (:mod:`chainrule.commands._output`);
- ``--seed N``: the seed of any random draw; ``--quiet``: print nothing but errors; ``--json``: print the
  result as one JSON object.

Old names stay one release as deprecated aliases (:class:`DeprecatedAlias`: they work, with a one-line note on
stderr). Every number an option takes is bounded (:func:`int_type`, :func:`float_type`): a value past the
bound is one line naming the option and the limit, at once. This module imports only the standard library, so
that building the parser (``--help``) stays cheap.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from typing import Any, TextIO

__all__ = [
    "MAX_SEED",
    "DeprecatedAlias",
    "add_delimiter",
    "add_force",
    "add_json",
    "add_label",
    "add_output",
    "add_quiet",
    "add_seed",
    "check_common",
    "delimiter_type",
    "float_type",
    "given",
    "int_type",
    "print_json",
    "report",
    "say",
]

#: The largest ``--seed`` (NumPy's generators take any non-negative integer; 2^63 − 1 is plenty).
MAX_SEED = 2**63 - 1
#: The longest number an option reads.
MAX_NUMBER_CHARS = 100
_INTEGER = re.compile(r"[+-]?[0-9]+")


def given(args: argparse.Namespace, dest: str) -> bool:
    """Whether the user wrote the option whose destination is ``dest`` (``cli.SubcommandParser`` records it)."""
    return dest in getattr(args, "_given", {})


def int_type(option: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type`` for an integer in ``[low, high]``; anything else is one line naming both."""

    def parse(text: str) -> int:
        t = text.strip().replace("_", "")
        if len(t) > MAX_NUMBER_CHARS or not _INTEGER.fullmatch(t):
            raise argparse.ArgumentTypeError(f"{_short(text)} is not an integer")
        value = int(t)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{_short(text)} is out of range: {option} is between {low:,} and {high:,}"
            )
        return value

    parse.__name__ = "integer"
    return parse


def float_type(
    option: str,
    low: float = -1e300,
    high: float = 1e300,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> Callable[[str], float]:
    """An argparse ``type`` for a finite number in ``[low, high]`` (open at ``low``/``high`` when asked).

    NaN and infinities are refused (before any computation sees them), and so is text past
    :data:`MAX_NUMBER_CHARS` characters.
    """

    def parse(text: str) -> float:
        t = text.strip()
        if len(t) > MAX_NUMBER_CHARS:
            raise argparse.ArgumentTypeError(
                f"a number of {len(t):,} characters; the limit is {MAX_NUMBER_CHARS}"
            )
        try:
            value = float(t)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{_short(text)} is not a number") from None
        if math.isnan(value):
            raise argparse.ArgumentTypeError(f"{_short(text)} is not a number (NaN is refused)")
        if math.isinf(value) and t.lower().lstrip("+-") in ("inf", "infinity"):
            raise argparse.ArgumentTypeError(f"{_short(text)} is not finite")
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above:
            left, right = "(" if low_open else "[", ")" if high_open else "]"
            raise argparse.ArgumentTypeError(
                f"{_short(text)} is out of range: {option} is in {left}{low:g}, {high:g}{right}"
            )
        return value

    parse.__name__ = "number"
    return parse


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:37] + "...")


def delimiter_type(text: str) -> str:
    """``--delimiter``: one character; ``tab``, ``\\t``, ``space``, ``comma``, ``semicolon`` by name."""
    names = {"tab": "\t", "\\t": "\t", "space": " ", "comma": ",", "semicolon": ";", "pipe": "|"}
    value = names.get(text.lower(), text)
    if len(value) != 1 or value in '"\r\n':
        raise argparse.ArgumentTypeError(
            f"{_short(text)}: the delimiter is one character (or tab, space, comma, semicolon, pipe)"
        )
    return value


class DeprecatedAlias(argparse._StoreAction):
    """An old option name kept one release: it stores into the new option's destination, and says so.

    Use: ``parser.add_argument("--target", dest="label", action=DeprecatedAlias, new="--label",
    help=argparse.SUPPRESS)``.
    """

    def __init__(self, option_strings: list[str], dest: str, new: str = "", **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.new = new

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        print(
            f"{parser.prog}: note: {option_string} is deprecated and will be removed in the next "
            f"release; use {self.new}",
            file=sys.stderr,
        )
        super().__call__(parser, namespace, values, option_string)


def add_output(parser: argparse.ArgumentParser, what: str, metavar: str = "FILE") -> None:
    """``-o/--out``: where the result is written."""
    parser.add_argument(
        "-o",
        "--out",
        metavar=metavar,
        default=None,
        help=(
            f"{what}; '-' writes it to stdout (the text report then goes to stderr). An existing file "
            "needs --force; an input is never written over; the write is atomic"
        ),
    )


def add_force(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--force", action="store_true", help="replace an existing --out file (never an input)"
    )


def add_quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="print nothing but errors; the exit code tells the result",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the result as one JSON object instead of text"
    )


def add_seed(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--seed",
        type=int_type("--seed", 0, MAX_SEED),
        default=0,
        metavar="N",
        help=f"the seed of {what} (0 to 2^63-1)",
    )


def add_test_size(parser: Any, default: float) -> None:
    """``--test-size F``: the fraction of rows held out for the accuracy, 0 <= F < 1 (``parser``
    is a parser or an argument group)."""
    parser.add_argument(
        "--test-size",
        type=float_type("--test-size", 0.0, 1.0, high_open=True),
        default=default,
        metavar="F",
        help="fraction of the rows held out for the accuracy, 0 <= F < 1",
    )


def add_label(parser: argparse.ArgumentParser, old: str | None = None) -> None:
    """``--label NAME`` (and, for one release, the old name ``old`` as a deprecated alias)."""
    parser.add_argument(
        "--label",
        metavar="NAME",
        default=None,
        help="the name of the label (class) column (default: the last column)",
    )
    if old:
        parser.add_argument(
            old, dest="label", action=DeprecatedAlias, new="--label", help=argparse.SUPPRESS
        )


def add_delimiter(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--delimiter",
        type=delimiter_type,
        default=None,
        metavar="C",
        help=(
            "the CSV cell separator: one character, or tab, space, comma, semicolon, pipe "
            "(default: detected among , ; tab |, and said in the output when not a comma)"
        ),
    )


def check_common(args: argparse.Namespace) -> None:
    """The contradictions of the shared vocabulary, refused in every command that has the options.

    Raises:
        ValueError: ``--json`` with ``--quiet`` or with ``--out -`` (both on stdout), ``--force`` without an
            ``--out`` file.
    """
    json_ = getattr(args, "json", False)
    quiet = getattr(args, "quiet", False)
    out = getattr(args, "out", None)
    if json_ and quiet:
        raise ValueError("--json and --quiet contradict each other: choose one")
    if json_ and out == "-":
        raise ValueError("--json and --out - both write to stdout: give --out a file name")
    if getattr(args, "force", False) and (out is None or out == "-"):
        raise ValueError("--force applies only to an --out file: there is none to replace")


def report(args: argparse.Namespace) -> TextIO | None:
    """Where the text report goes: stdout; stderr when ``--out -`` takes stdout; nowhere with --quiet/--json."""
    if getattr(args, "quiet", False) or getattr(args, "json", False):
        return None
    return sys.stderr if getattr(args, "out", None) == "-" else sys.stdout


def say(args: argparse.Namespace, *lines: str) -> None:
    """Print ``lines`` to the report stream (:func:`report`), if any."""
    stream = report(args)
    if stream is not None:
        for line in lines:
            print(line, file=stream)


def print_json(obj: Any) -> None:
    """One JSON object on stdout (no NaN or infinity: those are written as strings)."""
    print(json.dumps(_finite(obj), indent=2, ensure_ascii=False, allow_nan=False))


def _finite(obj: Any) -> Any:
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj
