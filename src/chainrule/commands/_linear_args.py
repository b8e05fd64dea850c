"""Argument parsing shared by the linear-model commands (``hyperplane``, ``separate``, ``unit``).

Vectors are written ``-5,1,3`` (commas or spaces; each entry an integer, a decimal or ``p/q``) and parsed
exactly. argparse would take ``--pos -5,1,3`` for an option named ``-5,1,3``;
:func:`accept_negative_vectors` teaches a subparser that such words are values.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import NoReturn

from chainrule.linear._exact import as_fraction

__all__ = ["accept_negative_vectors", "one_line_errors", "parse_vector"]

#: A word that starts like a negative number (``-5``, ``-5,1,3``, ``-.5``, ``-3/4``) is a value, not an option.
_NEGATIVE_VALUE = re.compile(r"^-\.?\d[\d.,/eE+\-\s]*$")


def accept_negative_vectors(parser: argparse.ArgumentParser) -> None:
    """Let ``parser`` read ``--pos -5,1,3`` (a value starting with '-') as it reads ``--pos=-5,1,3``."""
    # argparse keeps the negative-number pattern on the parser; ours also allows commas and fractions.
    parser._negative_number_matcher = _NEGATIVE_VALUE


def one_line_errors(parser: argparse.ArgumentParser) -> None:
    """Make ``parser`` report a usage error as one line on stderr and exit 2.

    argparse prints the usage block before the message, and leaves unknown words to the top-level parser;
    bad input to these commands is one line (the usage is one ``--help`` away), as for the errors
    ``cli.main`` reports.
    """

    def error(message: str) -> NoReturn:
        print(f"{parser.prog}: error: {message} (see {parser.prog} --help)", file=sys.stderr)
        sys.exit(2)

    parse_known = parser.parse_known_args

    def parse_known_args(
        args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # argparse hands a subcommand's unknown words back to the top-level parser, which reports them
        # with its own usage block; report them here, in one line that names the command.
        parsed, extras = parse_known(args, namespace)
        if extras:
            error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras

    # Instance attributes, not methods of the class: only these subparsers change.
    setattr(parser, "error", error)  # noqa: B010
    setattr(parser, "parse_known_args", parse_known_args)  # noqa: B010


def parse_vector(text: str, what: str) -> list[Fraction]:
    """``"-5,1,3"`` → ``[-5, 1, 3]`` as Fractions.

    Raises:
        ValueError: empty, or an entry that is not a finite number (the message names ``what`` and the entry).
    """
    items = [t for t in re.split(r"[,\s]+", text.strip()) if t]
    if not items:
        raise ValueError(f"{what} is empty: give coordinates such as -5,1,3")
    out = []
    for i, item in enumerate(items):
        try:
            out.append(as_fraction(item))
        except ValueError:
            raise ValueError(
                f"{what}: coordinate {i + 1} {item!r} is not a number (use e.g. -5,1.5,3/4)"
            ) from None
    return out
