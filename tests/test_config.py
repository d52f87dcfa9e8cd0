import random

import numpy as np
import pytest
import torch

from course_lib.config import BUDGETS, get_budget, get_device, seed_everything


def test_budget_comes_from_environment(monkeypatch):
    monkeypatch.setenv("COURSE_BUDGET", "full")
    assert get_budget().name == "full"
    monkeypatch.setenv("COURSE_BUDGET", " CPU ")
    assert get_budget().name == "cpu"
    monkeypatch.delenv("COURSE_BUDGET")
    assert get_budget().name == "cpu"  # the default builds the book on a laptop


def test_unknown_budget_names_the_fix(monkeypatch):
    monkeypatch.setenv("COURSE_BUDGET", "huge")
    with pytest.raises(ValueError, match=r"'huge'.*COURSE_BUDGET.*smoke, cpu, full"):
        get_budget()


def test_budget_pick_and_sizes_are_ordered():
    assert get_budget("smoke").pick(smoke=1, cpu=2, full=3) == 1
    assert get_budget("full").pick(smoke=1, cpu=2, full=3) == 3
    assert BUDGETS["smoke"].max_train_examples < BUDGETS["cpu"].max_train_examples
    assert BUDGETS["full"].max_train_examples is None


def test_seed_everything_makes_all_generators_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3)

    seed_everything(123)
    a = draw()
    seed_everything(123)
    b = draw()
    assert a[0] == b[0] and a[1] == b[1] and torch.equal(a[2], b[2])
    g1, g2 = seed_everything(5), seed_everything(5)
    assert torch.equal(torch.rand(4, generator=g1), torch.rand(4, generator=g2))
    seed_everything(6)
    assert not torch.equal(torch.rand(3), b[2])


def test_seed_rejects_non_integers():
    with pytest.raises(TypeError):
        seed_everything(1.5)


def test_device_is_cpu_without_gpu():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert get_device().type == expected
    assert get_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA GPU"):
            get_device("cuda")


def test_checkpoint_path_is_per_budget(monkeypatch, tmp_path):
    from course_lib.config import checkpoint_path

    monkeypatch.setenv("COURSE_CHECKPOINT_DIR", str(tmp_path))
    smoke = checkpoint_path("vae", get_budget("smoke"))
    cpu = checkpoint_path("vae", get_budget("cpu"))
    assert smoke != cpu and smoke.parent.is_dir() and smoke.name == "vae.pt"
    assert smoke.parent.name == "smoke" and cpu.parent.name == "cpu"


def test_course_root_finds_toc(tmp_path):
    from course_lib.config import course_root

    (tmp_path / "_toc.yml").write_text("root: intro\n")
    (tmp_path / "book").mkdir()
    assert course_root(tmp_path / "book") == tmp_path.resolve()
