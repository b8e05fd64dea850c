"""The report writers (chainrule.problems.report): HTML, Markdown, JSON, the terminal, write_report."""

from __future__ import annotations

import html
import json
import os
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chainrule.problems.report import FORMATS, GENERATOR_MARK, render_report, write_report
from chainrule.problems.report import figures as figures_mod
from chainrule.problems.report.figures import PLOT_NOTE, figure_html, figure_svg
from chainrule.problems.report.html import check_html, solution_html, verdict_html
from chainrule.problems.report.markdown import check_markdown, solution_markdown
from chainrule.problems.report.mathml import (
    latex_to_mathml,
    markdown_to_html,
    split_lines,
    split_math,
)
from chainrule.problems.report.sample import sample_gradebook, sample_solution
from chainrule.problems.report.text import solution_summary, verdict_table
from chainrule.problems.results import (
    Counterexample,
    Figure,
    Gradebook,
    PartSolution,
    ProblemSolution,
    SetSolution,
    Submission,
    Verdict,
)

_VOID = {"meta", "br", "hr", "img", "input", "link", "col", "area", "base", "wbr", "source"}


class _Audit(HTMLParser):
    """Checks that tags nest and close, and collects every tag, id and src/href."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.ids: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if a.get("id"):
            self.ids.append(str(a["id"]))
        for key in ("src", "href", "xlink:href", "action", "poster", "data"):
            if a.get(key):
                self.links.append(str(a[key]))
        if tag not in _VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in _VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
        else:
            self.stack.pop()


def _audit(html: str) -> _Audit:
    a = _Audit()
    a.feed(html)
    a.close()
    return a


def _assert_self_contained(html: str) -> _Audit:
    a = _audit(html)
    assert not a.errors, a.errors[:5]
    assert not a.stack, f"unclosed: {a.stack[:5]}"
    assert "<script" not in html.lower()
    assert not any(t == "script" for t, _ in a.tags)
    for link in a.links:
        assert link.startswith("#"), f"a link leaves the page: {link}"
    # The only URLs anywhere are XML namespace names.
    without_ns = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in without_ns and "https://" not in without_ns
    assert "@import" not in html and "url(http" not in html
    assert len(a.ids) == len(set(a.ids)), "duplicate ids"
    return a


@pytest.fixture(scope="module")
def sol() -> SetSolution:
    return sample_solution()


@pytest.fixture(scope="module")
def book() -> Gradebook:
    return sample_gradebook()


@pytest.fixture(scope="module")
def sol_html(sol: SetSolution) -> str:
    return solution_html(sol)


@pytest.fixture(scope="module")
def check_page(book: Gradebook, sol: SetSolution) -> str:
    return check_html(book, solutions=sol)


# --- math ------------------------------------------------------------------------------------------


def test_markdown_math_becomes_mathml() -> None:
    out = markdown_to_html("Let $x^2$ be *big*.")
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in out
    assert out.count("<math") == 1 and "<em>big</em>" in out
    block = markdown_to_html("$$\\sum_i x_i$$")
    assert 'display="block"' in block


def test_math_is_protected_from_markdown() -> None:
    # Underscores and asterisks inside math are not emphasis.
    out = markdown_to_html("$a_1 * b_2 * c_3$ and $x_i$ and $y_i$")
    assert "<em>" not in out and out.count("<math") == 3


def test_split_math_rules() -> None:
    text, spans = split_math(r"costs $5 and $10; \$ stays; `$x$` is code; $a$ is math; $$b$$")
    assert spans == [("a", False), ("b", True)]
    assert "`$x$`" in text and "$5 and $10" in text


def test_user_html_in_a_statement_is_escaped() -> None:
    out = markdown_to_html(
        '<script>alert(1)</script> <img src="http://x/y.png"> [l](https://e.org)'
    )
    assert "<script" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and "<a " not in out and 'href="' not in out
    assert "e.org" in out  # the address is shown as text


def test_lines_and_alignment_marks() -> None:
    assert split_lines(r"n &= a \& b \\[2pt] m &= \begin{bmatrix}1&2\\3&4\end{bmatrix}") == [
        r"n = a \& b",
        r"m = \begin{bmatrix}1&2\\3&4\end{bmatrix}",
    ]
    two = latex_to_mathml(r"a \\ b", display=True)
    assert two.count("<math") == 2 and "linebreak" not in two
    assert "<br>" in latex_to_mathml(r"a \\ b")
    assert 'displaystyle="true"' in latex_to_mathml(r"\frac12", displaystyle=True)


def test_latex_that_cannot_convert_falls_back_to_code() -> None:
    out = latex_to_mathml(r"\frac{1}{")
    assert out.startswith('<code class="math-error"') and "\\frac{1}{" in out
    assert latex_to_mathml("").startswith("<code")


@pytest.mark.parametrize(
    "latex",
    [
        r"\text{<script>alert(1)</script>}",
        r"\href{javascript:alert(1)}{x}",
        r"\style{background:url(http://x.org/a.png)}{x}",
        r"\text{</mtext></math><img src=x onerror=alert(1)>}",
        "a < b & c",
    ],
)
def test_mathml_output_is_sanitised(latex: str) -> None:
    out = latex_to_mathml(latex)
    a = _audit(f"<div>{out}</div>")
    assert not any(t in {"script", "img", "a"} for t, _ in a.tags)
    assert all(k in {"class", "display", "xmlns", "encoding", "stretchy", "fence", "form"}
               for _, attrs in a.tags for k in attrs), a.tags  # fmt: skip
    assert "javascript" not in "".join(str(v) for _, attrs in a.tags for v in attrs.values())


# --- HTML ------------------------------------------------------------------------------------------


def test_solution_html_is_self_contained(sol_html: str, sol: SetSolution) -> None:
    a = _assert_self_contained(sol_html)
    assert sol_html.startswith("<!DOCTYPE html>")
    assert GENERATOR_MARK in sol_html[:300]
    assert sum(t == "math" for t, _ in a.tags) >= 10
    n_figures = sum(len(p.figures) for p in sol.problems)
    figs = [x for t, x in a.tags if t == "figure" and "figure" in str(x.get("class")).split()]
    assert len(figs) == n_figures
    assert sum(t == "svg" for t, _ in a.tags) == n_figures
    assert sum(t == "figcaption" for t, _ in a.tags) == n_figures
    # The statement's HTML is shown as text.
    assert "&lt;script&gt;alert(" in sol_html and "&lt;b&gt;not bold&lt;/b&gt;" in sol_html
    # Each check is marked.
    assert 'class="check failed"' in sol_html and "✗ FAILED" in sol_html
    assert 'class="check ok"' in sol_html and "✓ ok" in sol_html
    assert 'class="part failed"' in sol_html


def test_svg_parts_are_well_formed_xml(sol_html: str) -> None:
    svgs = re.findall(r"<svg\b.*?</svg>", sol_html, flags=re.DOTALL)
    assert svgs
    for svg in svgs:
        root = ET.fromstring(svg)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        assert root.find(".//{http://www.w3.org/2000/svg}style") is None


def test_figures_never_share_ids() -> None:
    fig = sample_solution().problems[1].figures[0]
    one, two = figure_svg(fig, uid="a"), figure_svg(fig, uid="b")
    ids_one = set(re.findall(r'\bid="([^"]+)"', one))
    ids_two = set(re.findall(r'\bid="([^"]+)"', two))
    assert ids_one and not ids_one & ids_two
    for ref in re.findall(r'href="#([^"]+)"', one) + re.findall(r"url\(#([^)]+)\)", one):
        assert ref in ids_one


@pytest.mark.parametrize("kind", figures_mod.KINDS)
def test_every_figure_kind_draws(kind: str, sol: SetSolution) -> None:
    fig = next(f for p in sol.problems for f in p.figures if f.kind == kind)
    out = figure_html(fig, uid="k")
    assert out.startswith(f'<figure class="figure figure-{kind}"><svg')
    assert "<figcaption>" in out


def test_a_figure_without_matplotlib_is_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(figures_mod, "have_matplotlib", lambda: False)
    sol = sample_solution()
    html = solution_html(sol)
    assert PLOT_NOTE in html
    # Boxes and arrows need no matplotlib.
    assert 'class="figure figure-dag"><svg' in html


def _svg_text(svg: str) -> str:
    root = ET.fromstring(svg)
    return " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


def test_dag_figure_adds_the_loss_and_lists_the_weights() -> None:
    data = {
        "nodes": ["x", "n_2", "n_1"],
        "edges": [["x", "n_2"], ["n_2", "n_1"]],
        "values": {"x": 0.5, "n_2": 0.25, "n_1": -1.5},
        "grads": {"x": 2, "n_2": "nan", "n_1": 0.125},
        "weights": {"w_{2,x}": 0.3, "w_{1,2}": -0.8},
        "loss_from": ["n_1"],
    }
    text = _svg_text(figure_svg(Figure("dag", "", data)))
    for piece in ("value 0.5", "grad 2", "grad nan", "value −1.5", "w2,x = 0.3", "w1,2 = −0.8"):
        assert piece in text
    assert "L" in text.split() and "grad 1" in text


def test_einsum_figure_replays_the_path() -> None:
    steps = [
        {"operands": ["iij"], "positions": [0], "result": "ji", "kernel": "diagonal", "flops": 12, "pre": True},
        {"operands": ["ji", "jk"], "positions": [0, 1], "result": "ik", "kernel": "matmul", "flops": 120},
        {"operands": ["kl", "ik"], "positions": [0, 1], "result": "il", "kernel": "matmul", "flops": 180},
    ]  # fmt: skip
    data = {
        "subscripts": "iij,jk,kl->il",
        "operands": ["A", "B", "C"],
        "shapes": [[3, 3, 4], [4, 5], [5, 6]],
        "steps": steps,
    }
    svg = figure_svg(Figure("einsum_path", "", data))
    text = _svg_text(svg)
    expected = ("A: iij", "3×3×4", "pre-step · diagonal", "step 1 · matmul", "ji,jk→ik", "step 2")
    for piece in (*expected, "300 FLOPs in all"):
        assert piece in text
    assert svg.count("marker-end=") == 5  # three inputs and two results feed the steps
    # opt_einsum-style positions alone give the same tree.
    by_position = [
        {**{k: v for k, v in s.items() if k != "positions"}, "operands": s["positions"]}
        for s in steps
    ]
    svg2 = figure_svg(Figure("einsum_path", "", {**data, "steps": by_position}))
    assert svg2.count("marker-end=") == 5 and "ji,jk→ik" in _svg_text(svg2)


@pytest.mark.parametrize("kind", ["hyperplane", "threshold_unit"])
@pytest.mark.parametrize("dim", [2, 3])
def test_a_set_that_cannot_be_separated_is_drawn_with_its_certificate(kind: str, dim: int) -> None:
    square = [[0, 0], [1, 1], [0, 1], [1, 0]]
    points = square if dim == 2 else [[*p, (p[0] + p[1]) % 2] for p in square]
    cert = {"rows": [0, 1, 2, 3], "weights": [0.5] * 4, "common_point": [0.5] * dim}
    data = {"points": points, "labels": [1, 1, 0, 0], "w": None, "certificate": cert}
    out = figure_html(Figure(kind, "not separable", data))
    assert out.startswith(f'<figure class="figure figure-{kind}"><svg'), out[:300]


def test_a_figure_with_bad_data_is_a_note() -> None:
    out = figure_html(
        Figure("dag", "a cycle", {"nodes": ["a", "b"], "edges": [["a", "b"], ["b", "a"]]})
    )
    assert "figure-error" in out and "cycle" in out
    out = figure_html(Figure("pie", "no such kind", {}))
    assert "figure-error" in out and "&#x27;pie&#x27;" in out


def test_check_html_shows_every_wrong_verdict(check_page: str, book: Gradebook) -> None:
    _assert_self_contained(check_page)
    wrong = [v for s in book.submissions for v in s.verdicts if v.status == "wrong"]
    assert check_page.count('class="verdict wrong"') >= len(wrong)
    assert check_page.count('class="verdict undecided"') == 1
    for v in wrong:
        assert v.counterexample is not None
        assert f"<code>{v.counterexample.got}</code>" in check_page or "[[0.25" in check_page
        for d in v.diagnosis:
            assert html.escape(d) in check_page
    assert "first differing index" in check_page and "5550123" in check_page
    # The student's name is text, not markup.
    assert "bob &lt;b&gt;&amp;amp;&lt;/b&gt;" in check_page
    # With solutions, the worked solutions follow.
    assert 'class="solutions"' in check_page and "Worked solutions" in check_page


def _tiny() -> SetSolution:
    """One problem, one figure, one part: quick to render."""
    full = sample_solution()
    return SetSolution("tiny", "t.toml", 1, [full.problems[2]])


def test_jupyter_reprs_are_fragments(book: Gradebook) -> None:
    tiny = _tiny()
    for page in (
        tiny._repr_html_(),
        book.submissions[1]._repr_html_(),
        verdict_html(book.submissions[1].verdicts[2]),
    ):
        assert "<html" not in page and "<style>" in page
        _assert_self_contained(page)
    # Two outputs in one notebook never share an id.
    a, b = tiny._repr_html_(), tiny._repr_html_()
    ids_a = set(re.findall(r'\bid="([^"]+)"', a))
    assert ids_a and ids_a.isdisjoint(re.findall(r'\bid="([^"]+)"', b))
    v = book.submissions[1].verdicts[2]
    assert v._repr_html_().count('class="verdict wrong"') == 1


# --- Markdown, JSON, terminal ---------------------------------------------------------------------


def test_markdown_views(sol: SetSolution, book: Gradebook) -> None:
    md = solution_markdown(sol)
    assert md.startswith("# Deep-learning theory")
    assert "$x_1 + x_2 - 1$" not in md  # answers are display math
    assert "$$f(\\mathbf{x}) = x_1 + x_2 - 1$$" in md
    assert "Show $\\frac{d}{da}\\log s(a) = 1 - s(a)$." in md  # statements as written
    assert "✗ FAILED" in md and "(drawn in the HTML report)" in md
    cm = check_markdown(book, solutions=sol)
    assert "| q3.b | **✗ wrong** | 0/2 |" in cm
    assert "- got: `0.679178699175393`" in cm and "- first differing index: `[0, 1]`" in cm
    assert "seed `5550123`" in cm and "## Worked solutions · Deep-learning theory" in cm
    assert "### q1 · The bisecting hyperplane" in cm
    # Text is text in any Markdown renderer (here one that passes raw HTML through).
    from markdown_it import MarkdownIt

    rendered = MarkdownIt("commonmark").render(cm)
    assert "bob &lt;b&gt;&amp;amp;&lt;/b&gt;" in rendered
    assert "<b>" not in rendered and "<script" not in rendered


def test_json_view_is_the_result_object(tmp_path: Path, sol: SetSolution, book: Gradebook) -> None:
    path = write_report(sol, str(tmp_path / "s.json"))
    assert json.loads(Path(path).read_text(encoding="utf-8")) == sol.to_dict()
    path = write_report(book, str(tmp_path / "c.json"), solutions=sol)
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    assert data["submissions"] == book.to_dict()["submissions"]
    assert data["solutions"]["ok"] is False
    # Non-finite numbers are strings, never NaN tokens.
    nan_book = Gradebook(
        "t",
        "s",
        [
            Submission(
                "x",
                "y",
                [
                    Verdict(
                        "q",
                        "",
                        "wrong",
                        "nan",
                        counterexample=Counterexample({"a": float("inf")}, float("nan"), 1.0),
                    )
                ],
            )
        ],
    )
    text = render_report(nan_book, "json")
    assert "NaN" not in text and '"nan"' in text and '"inf"' in text


def test_terminal_views(sol: SetSolution, book: Gradebook) -> None:
    out = solution_summary(sol)
    assert "q3.b  FAILED  answer: −s(a)" in out
    assert "FAILED  symbolic:" in out and "ok      autodiff:" in out
    assert out.rstrip().endswith("1 of 7 parts FAILED: q3.b")
    table = verdict_table(book)
    rows = [line for line in table.splitlines() if re.match(r"  q\d", line)]
    assert len(rows) == sum(len(s.verdicts) for s in book.submissions)
    assert "q3.b  ✗ wrong" in table
    wrong_at = table.index("q3.b  ✗ wrong")
    assert table.index("expected: -0.679178699175393") > wrong_at
    assert "first differing index: [0, 1]" in table and "seed: 5550123" in table


def test_a_problem_without_checks_is_not_ok() -> None:
    sol = SetSolution(
        "t", "s", 0, [ProblemSolution("q", "k", "T", "", 1, [PartSolution("", "", 1, "1")])]
    )
    assert "no independent check" in solution_html(sol)
    assert "no independent check" in solution_summary(sol)


# --- write_report ---------------------------------------------------------------------------------


def test_write_report_by_suffix(tmp_path: Path) -> None:
    sol = _tiny()
    for suffix in (".html", ".HTM", ".md", ".json"):
        path = write_report(sol, str(tmp_path / f"r{suffix}"))
        assert path == str(tmp_path / f"r{suffix}")
        text = Path(path).read_text(encoding="utf-8")
        assert text
        if FORMATS[suffix.lower()] == "html":
            assert text.startswith("<!DOCTYPE html>")
        assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_write_report_refuses_what_it_cannot_write(tmp_path: Path, sol: SetSolution) -> None:
    with pytest.raises(ValueError, match=r"'\.txt'"):
        write_report(sol, str(tmp_path / "r.txt"))
    with pytest.raises(ValueError, match=r"'\(none\)'"):
        write_report(sol, str(tmp_path / "report"))
    with pytest.raises(ValueError, match="empty"):
        write_report(sol, "")
    (tmp_path / "d.html").mkdir()
    with pytest.raises(ValueError, match="directory"):
        write_report(sol, str(tmp_path / "d.html"))
    with pytest.raises(TypeError):
        write_report("not a result", str(tmp_path / "x.html"))  # type: ignore[arg-type]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.html"]


def test_write_report_never_overwrites_without_force(tmp_path: Path, sol: SetSolution) -> None:
    path = tmp_path / "r.md"
    path.write_text("mine", encoding="utf-8")
    with pytest.raises(ValueError, match="exists; pass --force"):
        write_report(sol, str(path))
    assert path.read_text(encoding="utf-8") == "mine"
    write_report(sol, str(path), force=True)
    assert path.read_text(encoding="utf-8").startswith("# Deep-learning theory")
    assert "✗ FAILED" in path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]


def test_write_report_is_atomic(
    tmp_path: Path, sol: SetSolution, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "r.html"
    path.write_text("old", encoding="utf-8")

    def fail(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_report(sol, str(path), force=True)
    # The old file is whole and no temporary file is left behind.
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_file_that_appears_meanwhile_is_not_replaced(
    tmp_path: Path, sol: SetSolution, monkeypatch: pytest.MonkeyPatch
) -> None:
    import chainrule.problems.report as report

    path = tmp_path / "r.md"
    real = report.render_report

    def render_then_race(*args: object, **kwargs: object) -> str:
        path.write_text("theirs", encoding="utf-8")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(report, "render_report", render_then_race)
    with pytest.raises(ValueError, match="exists; pass --force"):
        write_report(sol, str(path))
    assert path.read_text(encoding="utf-8") == "theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["r.md"]
