"""Every ```python block of every docs/*.md page runs, in order, in one namespace per page.

A reader pastes a page's examples one after another; so does this test, in a temporary directory, so
the pages never drift from the code. The ```text block that follows a python block is the output it
printed when the page was written; it is compared too, so the numbers a page quotes stay true: the text
exactly, the numbers in it to 1e-6 relative (1e-12 absolute), so that a last-bit difference of another
BLAS or CPU (a residual of 1.1e-16 instead of 0) does not fail the page.
"""

import contextlib
import io
import math
import pathlib
import re
import warnings

import pytest

import chainrule as cr
from chainrule.autodiff import unregister_primitive

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md") if "```python" in p.read_text(encoding="utf-8"))
BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n```text\n(.*?)```\n)?", re.S)
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def same_output(got: str, expected: str) -> bool:
    """Equal text around the numbers, and numbers equal to 1e-6 relative or 1e-12 absolute."""
    if NUMBER.split(got) != NUMBER.split(expected):
        return False
    pairs = zip(NUMBER.findall(got), NUMBER.findall(expected), strict=True)
    return all(math.isclose(float(a), float(b), rel_tol=1e-6, abs_tol=1e-12) for a, b in pairs)


def test_same_output_tolerates_last_bits_only() -> None:
    assert same_output("max error 1.11e-16 ok", "max error 0 ok")
    assert same_output("[0.5 1.25]", "[0.5000000001 1.25]")
    assert not same_output("objective 37.7589", "objective 37.7590")
    assert not same_output("[1 2 3]", "[1 2]")
    assert not same_output("holds", "FAILS")


def test_pages_found() -> None:
    names = {p.name for p in PAGES}
    assert {"einsum.md", "autodiff.md", "explain.md", "nn.md", "linear.md", "cli.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_python_blocks_run(
    page: pathlib.Path, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = BLOCK.findall(page.read_text(encoding="utf-8"))
    assert blocks, f"{page.name} has no python block"
    monkeypatch.chdir(tmp_path)
    registered = set(cr.PRIMITIVES)  # pages register example primitives; remove them afterwards
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem}"}
    try:
        for k, (code, expected) in enumerate(blocks, start=1):
            out = io.StringIO()
            with contextlib.redirect_stdout(out), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pages show warnings by catching them
                try:
                    exec(compile(code, f"{page.name} python block {k}", "exec"), namespace)
                except Exception as exc:  # pragma: no cover - the message is the point
                    raise AssertionError(f"{page.name} python block {k} failed: {exc!r}") from exc
            if expected:
                got = out.getvalue()
                assert same_output(got, expected), (
                    f"{page.name} python block {k}: output differs\n--- page\n{expected}--- now\n{got}"
                )
    finally:
        for name in set(cr.PRIMITIVES) - registered:
            unregister_primitive(name)
