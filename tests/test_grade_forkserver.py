"""The fork server (one pre-imported process per autograde run) keeps the sandbox as strong as fresh
interpreters did: each job starts from the same pristine state, the kernel is confined before the
student's code runs, the grader still watches memory and time, and a dead server costs speed only."""
import json
import os

import nbformat
import pytest

from course_lib.grading import runner, sandbox
from course_lib.grading.forkserver import PRELOAD

pytestmark = pytest.mark.slow


def _tiny(*sources, graded=()):
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    for i in graded:
        cells[i].metadata["nbgrader"] = {"grade": True, "grade_id": f"t{i}", "points": 1, "solution": False}
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "py",
                                                                          "language": "python"}})


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    root = tmp_path_factory.mktemp("forkserver")
    root.chmod(0o711)
    jobs = root / "jobs"
    jobs.mkdir()
    jobs.chmod(0o711)
    return jobs


@pytest.fixture(scope="module")
def server(jobs):
    server = sandbox.start_server(jobs)
    yield server
    server.close()


def _run(nb, jobs, server, **kw):
    outcome = sandbox.run_notebook(nb, jobs_root=jobs, mode=kw.pop("mode", sandbox.detect_isolation("auto")),
                                   limits=kw.pop("limits", sandbox.Limits(cell_timeout=30, notebook_timeout=120)),
                                   probe_sources=[], server=server, **kw)
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in (outcome.notebook.cells if outcome.notebook else [])]
    return outcome, texts


def test_the_server_imports_nothing_that_holds_grades_or_answers():
    assert not [m for m in PRELOAD if m.startswith(("nbgrader", "course_lib.grading.runner", "course_lib.grading.scoring",
                                                    "course_lib.grading.compare", "course_lib.grading.probes"))]


def test_no_job_sees_what_an_earlier_job_did(jobs, server):
    spoil = ("import torch, course_lib, os\n"
             "torch.nn.functional.mse_loss = lambda *a, **k: 0.0\ncourse_lib.SPOILED = True\n"
             "os.environ['COURSE_BUDGET'] = 'full'\n"
             "try:\n    open('/tmp/left-behind', 'w').write('x')\nexcept OSError:\n    pass\nprint('spoiled')")
    look = ("import torch, course_lib, os\n"
            "print(torch.nn.functional.mse_loss(torch.ones(2), torch.zeros(2)).item(), hasattr(course_lib, 'SPOILED'),"
            " os.environ['COURSE_BUDGET'], os.path.exists('/tmp/left-behind'))")
    first, texts = _run(_tiny(spoil), jobs, server)
    assert first.status == {0: "ok"} and texts == ["spoiled\n"], first.log
    second, texts = _run(_tiny(look), jobs, server)
    assert second.status == {0: "ok"}, second.log
    leaked_tmp = sandbox.detect_isolation("auto") == "process"  # only that mode shares /tmp
    assert texts == [f"1.0 False smoke {leaked_tmp}\n"]


def _modes():
    # the strongest mode here, and the weakest (``user`` needs the Python readable by ``nobody``,
    # which a pyenv under /root is not; the namespace mode bind-mounts it)
    return sorted({sandbox.detect_isolation("auto"), "process"})


@pytest.mark.parametrize("mode", _modes())
def test_a_forked_kernel_is_confined_like_a_fresh_one(jobs, server, mode):
    probe = ("import os, resource, sys\n"
             "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
             "fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n"
             "print(os.getuid(), resource.getrlimit(resource.RLIMIT_AS)[0], max(pids) < 100 and len(pids) < 10,"
             " os.getcwd().endswith('work'), 'nbgrader' in sys.modules, os.environ['HOME'].endswith('home'))")
    outcome, texts = _run(_tiny(probe), jobs, server, mode=mode)
    assert outcome.status == {0: "ok"}, outcome.log
    uid, address_space, own_pids, in_work, nbgrader, home = texts[0].split()
    assert int(address_space) == sandbox.Limits().address_space
    assert (in_work, nbgrader, home) == ("True", "False", "True")
    if mode in ("namespace", "user"):
        assert int(uid) == sandbox.sandbox_user()[0]
    if mode == "namespace":
        assert own_pids == "True"  # its own PID namespace: the server and the grader are not there


@pytest.mark.parametrize("forked", [True, False])
def test_a_memory_or_time_kill_keeps_what_ran_before(jobs, server, forked):
    """Only the student's processes are killed: the worker still reports the cells before (their grades count)."""
    hog = "import numpy as np\nx = np.ones((1024, 1024, 1024), dtype=np.uint8)\nprint('survived')"
    outcome, texts = _run(_tiny("print('graded before')", hog, "print('next')"), jobs, server if forked else None,
                          limits=sandbox.Limits(cell_timeout=30, notebook_timeout=60, memory=700 * 1024 ** 2))
    assert outcome.flags == [sandbox.KILLED_FOR_MEMORY], outcome.log  # not "kernel died": the grader killed it
    assert outcome.status[0] == "ok" and texts[0] == "graded before\n" and outcome.status.get(2) is None
    outcome, texts = _run(_tiny("print('graded before')", "import time\ntime.sleep(60)"), jobs,
                          server if forked else None, limits=sandbox.Limits(cell_timeout=60, notebook_timeout=8))
    assert sandbox.TIMED_OUT in outcome.flags and outcome.wall_s < 30
    assert outcome.status[0] == "ok" and texts[0] == "graded before\n"


def test_cells_after_the_last_graded_one_are_not_run_but_say_so(jobs, server):
    nb = _tiny("x = 1", "assert x == 1\nprint('test ran')", "print('demo ran')", graded=[1])
    assert runner.last_graded(nb) == 1
    outcome, texts = _run(nb, jobs, server, stop_after=runner.last_graded(nb))
    assert outcome.status == {0: "ok", 1: "ok"}
    assert texts[1] == "test ran\n" and "not run by the grader" in texts[2] and "demo ran" not in texts[2]
    assert runner.last_graded(_tiny("print(1)")) is None


def test_a_dead_server_falls_back_to_fresh_interpreters(jobs):
    server = sandbox.start_server(jobs)
    server.proc.kill()
    server.proc.wait()
    outcome, texts = _run(_tiny("print('still graded')"), jobs, server)
    assert outcome.status == {0: "ok"} and texts == ["still graded\n"], outcome.log
    server.close()


def test_a_figure_survives_a_forked_kernel(jobs, server):
    outcome, _ = _run(_tiny("import matplotlib.pyplot as plt\nplt.plot([0, 1, 4]);"), jobs, server)
    images = [o for o in outcome.notebook.cells[0].outputs if "image/png" in o.get("data", {})]
    assert outcome.status == {0: "ok"} and len(images) == 1, json.dumps(outcome.notebook.cells[0].outputs)[:500]
