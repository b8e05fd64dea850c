"""The README's Python examples run, in order, in one namespace (as a reader would paste them)."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for k, block in enumerate(blocks):
        try:
            exec(compile(block, f"README.md python block {k + 1}", "exec"), namespace)
        except Exception as exc:  # pragma: no cover - the message is the point
            raise AssertionError(f"README python block {k + 1} failed: {exc!r}") from exc
    # The numbers the README quotes, recomputed.
    assert namespace["path"] == [(0, 1), (0, 1)]
    assert float(namespace["x"].grad.item()) == pytest.approx(-0.39263847718375655, rel=1e-12)
