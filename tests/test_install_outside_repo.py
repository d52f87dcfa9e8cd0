"""A chapter runs from a plain install of course_lib, outside the repository (issue 10, item 3).

A wheel of course_lib is built and installed (without dependencies) into a fresh virtual
environment; the third-party packages come from the test's own environment through a .pth file
(installing torch afresh would take minutes and gigabytes). Chapter 1 then runs at the smoke budget
from a temporary folder, with a kernel of the fresh environment, and must import course_lib from
that environment's site-packages, never from the checkout.
"""
import json
import os
import subprocess
import sysconfig
from pathlib import Path

import pytest

from fresh_env import REPO, build_wheel, fresh_environment, install_wheel


RUNNER = r"""
import json, sys
import nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
nb.cells.append(nbformat.v4.new_code_cell("import course_lib; print('COURSE_LIB_AT', course_lib.__file__)"))
NotebookClient(nb, kernel_name="python3", timeout=600, resources={"metadata": {"path": sys.argv[2]}}).execute()
out = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
print(out)
"""


@pytest.mark.slow
def test_chapter_runs_from_an_installed_wheel(tmp_path):
    fresh = fresh_environment(tmp_path)
    install_wheel(fresh, build_wheel(tmp_path))
    python, purelib, venv = fresh.python, fresh.purelib, fresh.venv
    # Third-party packages only: the test environment's site-packages, whose .pth files (the
    # editable install of the checkout among them) are not processed from a .pth line.
    fresh.see(Path(sysconfig.get_paths()["purelib"]))

    kernels = tmp_path / "jupyter" / "kernels" / "python3"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "fresh", "language": "python"}))
    work = tmp_path / "reader"
    work.mkdir()
    chapter = work / "01_generative_modeling.ipynb"
    chapter.write_text((REPO / "book" / "01_generative_modeling.ipynb").read_text())
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(JUPYTER_PATH=str(tmp_path / "jupyter"), COURSE_BUDGET="smoke", COURSE_OFFLINE="1",
               COURSE_RESULTS_DIR=str(tmp_path / "results"), COURSE_CHECKPOINT_DIR=str(tmp_path / "ckpt"),
               MPLBACKEND="Agg", PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    proc = subprocess.run([str(python), "-c", RUNNER, str(chapter), str(work)], cwd=work, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    where = Path(proc.stdout.split("COURSE_LIB_AT")[1].split()[0])
    assert purelib in where.parents, f"course_lib was imported from {where}, not from the fresh environment"
    assert (tmp_path / "results" / "01_generative_modeling.json").exists(), "the chapter did not record its results"
