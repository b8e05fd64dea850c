"""Every ```python block of every docs/*.md page runs, in order, in one namespace per page.

A reader pastes a page's examples one after another; so does this test, in a temporary directory, so
the pages never drift from the code. The ```text block that follows a python block is the output it
printed when the page was written; it is compared too, so the numbers a page quotes stay true.
"""

import contextlib
import io
import pathlib
import re
import warnings

import pytest

import chainrule as cr
from chainrule.autodiff import unregister_primitive

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
PAGES = sorted(p for p in DOCS.glob("*.md") if "```python" in p.read_text(encoding="utf-8"))
BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n```text\n(.*?)```\n)?", re.S)
# Outputs that depend on timing or on the machine are not compared (none at present).
UNCHECKED: set[tuple[str, int]] = set()


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
            if expected and (page.name, k) not in UNCHECKED:
                assert out.getvalue() == expected, f"{page.name} python block {k}: output differs"
    finally:
        for name in set(cr.PRIMITIVES) - registered:
            unregister_primitive(name)
