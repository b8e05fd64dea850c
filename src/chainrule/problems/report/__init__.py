"""Reports: views of one result object (:mod:`chainrule.problems.results`).

- :func:`write_report` writes a solved set or a gradebook as HTML (``.html``/``.htm``: one file, MathML
  and inline SVG, no network, no JavaScript), Markdown (``.md``, ``$…$`` math) or JSON (``.json``, the
  objects' ``to_dict()``), chosen by the path's suffix;
- :mod:`.html`, :mod:`.markdown` and :mod:`.text` (the terminal) render the views; :mod:`.mathml` and
  :mod:`.figures` are their math and their figures.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

from chainrule._files import check_output, write_atomic
from chainrule.problems.results import Gradebook, SetSolution

__all__ = ["FORMATS", "GENERATOR_MARK", "render_report", "write_report"]

#: In the ``<head>`` of every standalone HTML report (within its first 300 characters): how a caller
#: recognises a report chainrule wrote.
GENERATOR_MARK = '<meta name="generator" content="chainrule">'

#: The suffixes :func:`write_report` knows, and the format each one writes.
FORMATS: dict[str, str] = {".html": "html", ".htm": "html", ".md": "markdown", ".json": "json"}


def _json(obj: SetSolution | Gradebook, solutions: SetSolution | None) -> str:
    data: dict[str, Any] = obj.to_dict()
    if isinstance(obj, Gradebook) and solutions is not None:
        data["solutions"] = solutions.to_dict()
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render_report(
    obj: SetSolution | Gradebook, fmt: str, *, solutions: SetSolution | None = None
) -> str:
    """The text of a report of ``obj`` in ``fmt`` (``html``, ``markdown`` or ``json``).

    ``solutions`` goes with a Gradebook: the worked solutions follow the verdicts (in JSON under the key
    ``"solutions"``). It is ignored with a SetSolution.

    Raises:
        TypeError: ``obj`` is neither a SetSolution nor a Gradebook.
        ValueError: an unknown ``fmt``.
    """
    if not isinstance(obj, (SetSolution, Gradebook)):
        raise TypeError(f"a report shows a SetSolution or a Gradebook, not {type(obj).__name__}")
    if fmt == "json":
        return _json(obj, solutions)
    if fmt == "html":
        from chainrule.problems.report.html import check_html, solution_html

        if isinstance(obj, SetSolution):
            return solution_html(obj)
        return check_html(obj, solutions=solutions)
    if fmt == "markdown":
        from chainrule.problems.report.markdown import check_markdown, solution_markdown

        if isinstance(obj, SetSolution):
            return solution_markdown(obj)
        return check_markdown(obj, solutions=solutions)
    raise ValueError(f"unknown report format {fmt!r}; formats are html, markdown, json")


def write_report(
    obj: SetSolution | Gradebook,
    path: str | os.PathLike[str],
    *,
    solutions: SetSolution | None = None,
    force: bool = False,
    inputs: Iterable[str | os.PathLike[str]] = (),
) -> str:
    """Write a report of ``obj`` to ``path``, in the format its suffix names (see :data:`FORMATS`,
    case-insensitive), and return the path written.

    The report is written through :func:`chainrule._files.write_atomic`: a temporary file in the same
    directory, then moved into place, so ``path`` never holds half a report; without ``force`` an existing
    file is never replaced, and ``inputs`` are never written over.

    Raises:
        ValueError: an empty path, a directory, an input, an unknown suffix (named), or an existing file
            without ``force`` ("exists; pass --force").
        TypeError: ``obj`` is neither a SetSolution nor a Gradebook.
        OSError: the directory cannot be written.
    """
    p = check_output(path, force=force, inputs=inputs)
    suffix = os.path.splitext(p)[1].lower()
    if suffix not in FORMATS:
        known = ", ".join(FORMATS)
        raise ValueError(f"{p}: unknown report suffix {suffix or '(none)'!r}; use one of {known}")
    text = render_report(obj, FORMATS[suffix], solutions=solutions)
    return write_atomic(p, text, force=force, inputs=inputs)
