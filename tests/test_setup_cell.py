"""Colab and Binder work from the launch buttons (issue 10, item 3): the first code cell of every
chapter, solution and assignment installs course_lib on a hosted service, from the repository and
branch of _config.yml's launch buttons; Binder's environment installs the same."""
import re
from pathlib import Path

import nbformat
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((REPO / "_config.yml").read_text())
NOTEBOOKS = sorted([*REPO.glob("book/*.ipynb"), *REPO.glob("solutions/*/*.ipynb"), *REPO.glob("assignments/*/*.ipynb")])


def test_launch_buttons_point_to_the_repository():
    repo = CONFIG["repository"]
    assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+", repo["url"]), repo["url"]
    assert repo.get("branch") and repo.get("path_to_book", "") == "", "chapters live at book/ from the repo root"
    assert CONFIG["launch_buttons"]["binderhub_url"] and CONFIG["launch_buttons"]["colab_url"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: str(p.relative_to(REPO)))
def test_first_code_cell_installs_course_lib_on_hosted_services(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    setup = [c for c in code if c.get("id") == "colab-setup"]
    assert len(setup) == 1, f"{path.name}: expected exactly one cell with id colab-setup, found {len(setup)}"
    assert code[0] is setup[0], f"{path.name}: the colab-setup cell must be the first code cell"
    source = setup[0].source
    url = f"git+{CONFIG['repository']['url']}@{CONFIG['repository']['branch']}"
    assert f'"{url}"' in source, f"{path.name}: the setup cell must install {url} (the launch buttons' repo and branch)"
    assert 'find_spec("course_lib") is None' in source, f"{path.name}: install only when course_lib is missing"
    assert '"google.colab" in sys.modules' in source and '"BINDER_LAUNCH_HOST" in os.environ' in source, \
        f"{path.name}: install only on Colab or Binder, never locally"
    assert "hide-input" in setup[0].metadata.get("tags", []), f"{path.name}: the setup cell is collapsed"


def test_setup_cell_does_nothing_locally():
    cell = next(c for c in nbformat.read(REPO / "book" / "01_generative_modeling.ipynb", as_version=4).cells if c.get("id") == "colab-setup")
    calls = []
    import subprocess

    original = subprocess.run
    subprocess.run = lambda *a, **k: calls.append(a)
    try:
        exec(cell.source, {})
    finally:
        subprocess.run = original
    assert not calls, "the setup cell ran pip outside Colab/Binder"


def test_binder_environment_installs_the_course():
    reqs = (REPO / "binder" / "requirements.txt").read_text()
    deps = re.findall(r'"([A-Za-z0-9_-]+)[<>=]', (REPO / "pyproject.toml").read_text().split("dependencies = [")[1].split("]")[0])
    for dep in deps:
        assert re.search(rf"^{re.escape(dep)}\b", reqs, re.M), f"binder/requirements.txt lacks {dep} (a course_lib dependency)"
    post = REPO / "binder" / "postBuild"
    assert post.stat().st_mode & 0o111 and "pip install --no-deps ." in post.read_text()
