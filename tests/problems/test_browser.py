"""The HTML reports in a real browser: Debian's chromium, driven by Playwright (never a downloaded
browser).

Every ``<math>`` and every figure's ``<svg>`` must be present, visible and of non-zero size, math must
be laid out as MathML (not as unknown inline elements), and opening a report must log no console error
and request nothing but the file itself. A full-page screenshot of each report goes to the test's tmp
path and, when ``CHAINRULE_SCREENSHOT_DIR`` is set, there too.

The reports come from the ``report_files`` fixture, parametrized over :data:`REPORT_BUILDERS`: add a
builder (a function of a directory returning ``{"solution": path, "check": path}``) to test more.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chainrule.problems.report import write_report
from chainrule.problems.report.sample import sample_gradebook, sample_solution

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
IN_CI = os.environ.get("CI") == "true"


def _need(condition: bool, why: str) -> None:
    """Skip when ``condition`` fails, except in CI, where a missing browser is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"{why} (CI=true: the browser test may not skip)")
    pytest.skip(why)


# --- the reports under test ------------------------------------------------------------------------


def _hand_built(directory: Path) -> dict[str, Path]:
    """Reports of hand-built results: every figure kind, a failed check, wrong and undecided verdicts,
    statements with $…$ math and with HTML that must stay text."""
    sol, book = sample_solution(), sample_gradebook()
    return {
        "solution": Path(write_report(sol, str(directory / "solution.html"))),
        "check": Path(write_report(book, str(directory / "check.html"), solutions=sol)),
    }


def _seed(directory: Path) -> dict[str, Path]:
    """The seed set solved, and a check of docs/examples/wrong-answers.toml against it (every kind's
    diagnosis, with the worked solutions beside the verdicts)."""
    from chainrule.problems.grading import grade_file
    from chainrule.problems.results import Gradebook
    from chainrule.problems.solve import load_seed_set, solve_set

    pset = load_seed_set()
    sol = solve_set(pset)
    answers = Path(__file__).parents[2] / "docs" / "examples" / "wrong-answers.toml"
    book = Gradebook(pset.title, pset.source, [grade_file(pset, answers)])
    return {
        "solution": Path(write_report(sol, str(directory / "seed.html"))),
        "check": Path(write_report(book, str(directory / "seed-check.html"), solutions=sol)),
    }


#: name → builder of the reports to open; the ``report_files`` fixture runs once per entry.
REPORT_BUILDERS: dict[str, Callable[[Path], dict[str, Path]]] = {
    "hand_built": _hand_built,
    "seed": _seed,
}


@pytest.fixture(scope="module", params=sorted(REPORT_BUILDERS))
def report_files(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, Path]]:
    """``(builder name, {"solution": path, "check": path})``."""
    name = str(request.param)
    return name, REPORT_BUILDERS[name](tmp_path_factory.mktemp(name))


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium under Playwright, for the whole module."""
    _need(os.path.exists(CHROMIUM), f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "playwright is not installed")
        raise
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


# --- the test --------------------------------------------------------------------------------------


def _assert_shown(locator: Any, what: str) -> int:
    """Every element of ``locator`` is visible with a non-empty box; returns how many there are."""
    elements = locator.all()
    bad = []
    for i, el in enumerate(elements):
        box = el.bounding_box()
        if not el.is_visible() or box is None or not (box["width"] > 0 and box["height"] > 0):
            bad.append(f"{what} #{i}: visible={el.is_visible()} box={box}")
    assert not bad, "\n".join(bad[:10])
    return len(elements)


@pytest.mark.parametrize("which", ["solution", "check"])
def test_report_renders_in_chromium(
    chromium: Any, report_files: tuple[str, dict[str, Path]], which: str, tmp_path: Path
) -> None:
    name, files = report_files
    path = files[which].resolve()
    source = path.read_text(encoding="utf-8")
    url = path.as_uri()

    page = chromium.new_page(viewport={"width": 1100, "height": 900})
    console_errors: list[str] = []
    page_errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page_errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")

        # Math: every <math> of the file is in the DOM, shown, and laid out as MathML.
        n_math_source = len(re.findall(r"<math[\s>]", source))
        assert n_math_source > 0
        maths = page.locator("math")
        assert maths.count() == n_math_source
        assert _assert_shown(maths, "<math>") == n_math_source
        displays = page.eval_on_selector_all(
            "math", "els => els.map(e => getComputedStyle(e).display)"
        )
        assert all("math" in d for d in displays), sorted(set(displays))

        # Figures: one inline <svg> per figure, shown, each with its caption.
        n_fig_source = len(re.findall(r'<figure class="figure\b', source))
        assert n_fig_source > 0
        assert page.locator("figure.figure").count() == n_fig_source
        svgs = page.locator("figure.figure > svg")
        assert svgs.count() == n_fig_source, "a figure was not drawn (is matplotlib installed?)"
        _assert_shown(svgs, "figure <svg>")
        assert page.locator("figure.figure > figcaption").count() == n_fig_source

        # Outcomes are marked where a reader sees them.
        if which == "solution":
            assert page.locator(".check.ok .badge.ok").count() > 0
            if name == "hand_built":
                _assert_shown(page.locator(".check.failed .badge.failed"), "FAILED mark")
        else:
            _assert_shown(page.locator("table.verdicts .badge"), "verdict mark")
            if name == "hand_built":
                wrong = page.locator(".verdict.wrong")
                assert _assert_shown(wrong, "wrong verdict") >= 3
                _assert_shown(page.locator(".verdict.wrong table.counterexample"), "counterexample")
                _assert_shown(page.locator(".verdict.undecided"), "undecided verdict")

        # No scripts, no errors, nothing fetched but the file itself.
        assert page.locator("script").count() == 0
        assert not console_errors, console_errors
        assert not page_errors, page_errors
        assert requests and all(r.split("#")[0] == url for r in requests), requests

        shot = tmp_path / f"{name}-{which}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        out_dir = os.environ.get("CHAINRULE_SCREENSHOT_DIR")
        if out_dir:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, Path(out_dir) / shot.name)
    finally:
        page.close()
