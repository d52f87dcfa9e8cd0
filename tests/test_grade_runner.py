"""Fast unit tests of course-grade's parts: rebuilding a notebook, strict probe files, the probes
against the mistake bank, and the sandbox's limits on a tiny notebook (no torch)."""
import json
import os
import tempfile
from pathlib import Path

import nbformat
import numpy as np
import pytest

from course_lib.grading import compare, notebook, sandbox
from course_lib.grading.probe import run_probes

from banks import load_bank


@pytest.fixture(scope="module")
def gan(repo_root):
    read = lambda folder: nbformat.read(repo_root / folder / "gan" / "gan.ipynb", as_version=4)  # noqa: E731
    return read("solutions"), read("assignments")


def _test_cell(nb, gid):
    return next(c for c in nb.cells if notebook.grade_id(c) == gid)


def test_a_rebuilt_notebook_has_the_instructors_tests_and_the_students_answers(gan):
    instructor, release = gan
    submission = nbformat.reads(nbformat.writes(release), as_version=4)
    _test_cell(submission, "generator_loss_code").source = "def generator_loss(x):\n    return x"
    submission.cells.remove(_test_cell(submission, "discriminator_loss"))
    _test_cell(submission, "generator_loss").source = "pass"
    submission.cells.append(nbformat.v4.new_code_cell("print('my own cell')"))
    built = notebook.build(instructor, release, submission)
    assert built.flags == [notebook.RESTORED]
    assert _test_cell(built.notebook, "discriminator_loss").source == _test_cell(instructor, "discriminator_loss").source
    assert _test_cell(built.notebook, "generator_loss").source == _test_cell(instructor, "generator_loss").source
    assert _test_cell(built.notebook, "generator_loss_code").source == "def generator_loss(x):\n    return x"
    assert "raise NotImplementedError" in _test_cell(built.notebook, "discriminator_loss_code").source
    assert built.notebook.cells[-1].source == "print('my own cell')" and "nbgrader" not in built.notebook.cells[-1].metadata


def test_an_unchanged_release_builds_without_flags_and_duplicates_count_once(gan):
    instructor, release = gan
    assert notebook.build(instructor, release, release).flags == []
    doubled = nbformat.reads(nbformat.writes(release), as_version=4)
    extra = nbformat.from_dict(json.loads(json.dumps(_test_cell(doubled, "generator_loss_code"))))
    extra.source = "def generator_loss(x):\n    return 0"
    doubled.cells.append(extra)
    built = notebook.build(instructor, release, doubled)
    assert built.flags == [notebook.RESTORED]
    assert "return 0" not in "".join(c.source for c in built.notebook.cells)


@pytest.mark.parametrize("data, why", [(b'{"cells": [', "not valid JSON"), (b"[1, 2]", "no 'nbformat'"),
                                       (b"\xff\xfe", "not valid JSON")])
def test_unreadable_submissions_are_reported(data, why):
    with pytest.raises(notebook.MalformedNotebook, match=why):
        notebook.read_submission(data)


def test_probe_files_are_loaded_strictly(tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, **{"f::0": np.float32(1.0), "f::name": np.array(["a"])})
    assert set(compare.load_strict(good, 10_000)) == {"f::0", "f::name"}
    with pytest.raises(compare.BadProbeFile, match="larger than"):
        compare.load_strict(good, 10)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, x=np.array([object()], dtype=object))
    with pytest.raises(compare.BadProbeFile, match="not a plain .npz"):
        compare.load_strict(pickled, 10_000)
    (tmp_path / "link.npz").symlink_to(good)
    with pytest.raises(compare.BadProbeFile, match="no probe file"):
        compare.load_strict(tmp_path / "link.npz", 10_000)


def test_comparison_checks_dtype_shape_specials_then_values():
    want = {"f": np.array([1.0, np.inf], dtype=np.float32)}
    assert compare.mismatch(want, {"f": np.array([1.00001, np.inf], dtype=np.float32)}) is None
    assert "float64" in compare.mismatch(want, {"f": np.array([1.0, np.inf])})
    assert "float32[1]" in compare.mismatch(want, {"f": np.array([1.0], dtype=np.float32)})
    assert "infinity" in compare.mismatch(want, {"f": np.array([1.0, 5.0], dtype=np.float32)})
    assert "differ" in compare.mismatch(want, {"f": np.array([1.1, np.inf], dtype=np.float32)})
    assert "missing" in compare.mismatch(want, {})


@pytest.mark.filterwarnings("ignore")
def test_gan_probes_pass_every_correct_variant_and_catch_most_mistakes(gan, tmp_path):
    instructor, _ = gan
    cells = {c.id: c.source for c in instructor.cells}
    bank = load_bank("mistakes", "gan")

    def probe(replacements):
        namespace = {"__name__": "__main__"}
        exec(cells["setup"], namespace)
        for f in bank.POINTS:
            default = "\n".join(ln for ln in cells[f"{f}_code"].splitlines() if "### " not in ln)
            exec(replacements.get(f, default), namespace)
        path = tempfile.mktemp(suffix=".npz", dir=tmp_path)
        run_probes("gan", namespace, path)
        return compare.load_strict(Path(path), 10 ** 7)

    reference = probe({})
    judged = lambda values, f: compare.mismatch(compare.function_arrays(reference, f),  # noqa: E731
                                                compare.function_arrays(values, f))
    for f, source in bank.CORRECT_VARIANTS.items():
        assert judged(probe({f: source}), f) is None, f
    missed = {(f, m) for f, mistakes in bank.MISTAKES.items() for m, (source, _) in mistakes.items()
              if judged(probe({f: source}), f) is None}
    # The probes compare values: they cannot see borrowed code, nor an undetached fake in the D
    # update (G's gradients are zeroed before its own update), nor the law of the noise (the
    # probe's generator ignores the noise's values); the hidden tests catch those.
    assert missed == {("discriminator_loss", "imports course_lib"), ("gan_train_step", "fake not detached in the D update"),
                      ("gan_train_step", "uniform noise")}


def _tiny(*sources):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources],
                                    metadata={"kernelspec": {"name": "python3", "display_name": "py", "language": "python"}})


@pytest.mark.slow
def test_the_sandbox_enforces_its_limits(tmp_path):
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    jobs.chmod(0o711)
    mode = sandbox.detect_isolation("auto")
    limits = sandbox.Limits(cell_timeout=5, notebook_timeout=60, output=10_000)
    secret = tmp_path / "secret.txt"
    secret.write_text("the answers")
    outcome = sandbox.run_notebook(
        _tiny("import os\nprint(os.getcwd(), sorted(os.listdir('.')))", f"print(open({str(secret)!r}).read())",
              "while True: pass", "print('after the loop')", "print('x' * 100_000)"),
        jobs_root=jobs, mode=mode, limits=limits, probe_sources=[], hide=[secret])
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in outcome.notebook.cells]
    assert outcome.flags == ["output truncated", "timed out"]
    assert len(texts[4]) < 10_000 and "truncated by the grader" in texts[4]
    assert "submission.ipynb" in texts[0]
    if mode in ("namespace", "user"):
        assert "the answers" not in texts[1] and outcome.status[1] == "error"
    assert outcome.status[2] == "timeout" and texts[3] == "after the loop\n"
    assert not any(jobs.iterdir()) or outcome.job_dir.exists()


def test_a_renamed_notebook_is_found_and_a_missing_one_is_not_called_malformed(tmp_path):
    """Trial finding: `vae-Copy1.ipynb` got 0 as "malformed notebook (not valid JSON ... char 0)"."""
    from types import SimpleNamespace
    from course_lib.grading import runner
    source = tmp_path / "source" / "vae"
    source.mkdir(parents=True)
    (source / "vae.ipynb").write_text("{}")
    folder = tmp_path / "submitted" / "s" / "vae"
    folder.mkdir(parents=True)
    fake = SimpleNamespace(submitted=tmp_path / "submitted", assignment="vae", source=source)
    read = lambda: runner.Run._submitted_bytes(fake, "s", "vae.ipynb")  # noqa: E731
    assert read().startswith(runner.MISSING_MARK) and read()[len(runner.MISSING_MARK):] == b""
    (folder / "vae-Copy1.ipynb").write_bytes(b'{"nbformat": 4}')
    data = read()
    assert data.startswith(runner.RENAMED_MARK) and data.endswith(b'\n{"nbformat": 4}')
    (folder / "notes.ipynb").write_text("{}")
    assert read() == runner.MISSING_MARK + b"notes.ipynb, vae-Copy1.ipynb"
    (folder / "vae.ipynb").write_bytes(b"mine")
    assert read() == b"mine"


def test_make_autograde_takes_one_assignment_and_skips_ones_without_submissions(tmp_path, repo_root):
    import shutil
    import subprocess
    shutil.copy(repo_root / "Makefile", tmp_path / "Makefile")
    for name in ("gan", "vae"):
        (tmp_path / "solutions" / name).mkdir(parents=True)
    (tmp_path / "submitted" / "s" / "vae").mkdir(parents=True)
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "course-grade"
    fake.write_text("#!/bin/sh\necho graded \"$@\"\n")
    fake.chmod(0o755)
    run = lambda *args: subprocess.run(["make", "-s", "autograde", "STAMP=", f"BIN={tmp_path / 'bin'}", *args],  # noqa: E731
                                       cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    everything = run()
    assert "gan: no submissions, skipped" in everything and "graded autograde vae" in everything
    assert "graded autograde gan" not in everything
    assert "vae" not in run("ASSIGNMENT=gan").replace("gan: no submissions, skipped", "")


@pytest.mark.slow
def test_a_students_figure_survives_into_the_graded_notebook(tmp_path):
    """Trial finding: with MPLBACKEND=Agg in the sandbox, autograded/ and feedback/ had no plots."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    jobs.chmod(0o711)
    outcome = sandbox.run_notebook(
        _tiny("import matplotlib.pyplot as plt\nplt.plot([0, 1, 4, 9])\nplt.title('my loss');",
              "fig, ax = plt.subplots()\nax.imshow([[0, 1], [1, 0]])\nprint('second')"),
        jobs_root=jobs, mode=sandbox.detect_isolation("auto"), limits=sandbox.Limits(cell_timeout=60, notebook_timeout=120),
        probe_sources=[])
    assert outcome.status == {0: "ok", 1: "ok"}, outcome.log
    for cell in outcome.notebook.cells:  # each cell keeps its figure, as a PNG image output
        images = [o for o in cell.outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
        assert len(images) == 1, cell.outputs
        assert len(images[0].data["image/png"]) > 1000
