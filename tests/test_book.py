"""The whole book builds with Jupyter Book, Sphinx warnings as errors, using the smoke budget."""
import re
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def toc_files():
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def chapters_in_toc():
    """The chapter notebooks (every notebook in the toc except the results appendix)."""
    return [f for f in toc_files() if (REPO / f"{f}.ipynb").exists() and f != "book/results"]


def test_every_book_notebook_is_in_the_toc():
    on_disk = {f"book/{p.stem}" for p in (REPO / "book").glob("*.ipynb")}
    assert on_disk <= set(toc_files()), f"notebooks missing from _toc.yml: {on_disk - set(toc_files())}"


@pytest.mark.parametrize("path", sorted((REPO / "book").glob("*.ipynb")), ids=lambda p: p.name)
def test_committed_notebooks_carry_no_outputs(path):
    """Outputs come from the build, never from a file pasted in."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear outputs before committing"


# `built_book` (tests/conftest.py): the smoke-budget build, shared with tests/test_browser.py.


@pytest.mark.slow
def test_book_builds_with_every_page(built_book):
    for f in toc_files():
        page = built_book / f"{f}.html"
        assert page.exists(), f"{page} missing"
    assert (built_book / "index.html").exists()


@pytest.mark.slow
def test_chapter_pages_contain_their_figures(built_book):
    for f in chapters_in_toc():
        html = (built_book / f"{f}.html").read_text()
        figures = re.findall(r'<img[^>]+src="[^"]*_images/[^"]+\.png"', html)
        assert len(figures) >= 3, f"{f}: expected the chapter's figures in the built page, found {len(figures)}"
        assert "Traceback (most recent call last)" not in html, f"{f}: an error traceback is in the page"
        assert not re.search(r'class="[^"]*output[^"]*traceback', html), f"{f}: an error output is in the page"


@pytest.mark.slow
def test_results_appendix_lists_every_chapter(built_book):
    text = re.sub(r"<[^>]+>", " ", (built_book / "book" / "results.html").read_text())
    for f in chapters_in_toc():
        chapter = f.split("/")[-1]
        assert chapter in text, f"the results appendix has no entry for {chapter}"
    assert "chapters without a record: none" in text


@pytest.mark.slow
def test_every_chapter_offers_its_executed_notebook(built_book):
    """Item 5 of issue 10: the download menu has the executed notebook, with outputs."""
    import json

    for f in chapters_in_toc():
        executed = built_book / "_executed" / f"{f}.ipynb"
        assert executed.exists(), f"{executed} missing"
        cells = json.loads(executed.read_text())["cells"]
        assert any(c.get("outputs") for c in cells), f"{executed.name} has no outputs"
        assert "btn-download-executed-notebook-button" in (built_book / f"{f}.html").read_text()


@pytest.mark.slow
def test_maths_are_served_from_the_book(built_book):
    assert (built_book / "_static" / "mathjax" / "tex-chtml.js").exists()
    for f in chapters_in_toc():
        html = (built_book / f"{f}.html").read_text()
        assert "cdn.jsdelivr.net" not in html and "_static/mathjax/tex-chtml.js" in html, f"{f}: MathJax not local"
