import torch

from course_lib.config import checkpoint_path, get_budget
from course_lib.data import load_mnist
from course_lib.pretrained import MNIST_CLASSIFIER_NAME, mnist_classifier, train_mnist_classifier


def test_classifier_is_trained_once_then_loaded(capsys):
    budget = get_budget("smoke")
    path = checkpoint_path(MNIST_CLASSIFIER_NAME, budget)
    path.unlink(missing_ok=True)
    mnist = load_mnist(source="offline", max_train=budget.max_train_examples, verbose=False)
    model, result = train_mnist_classifier(mnist, budget, progress=False)
    assert path.exists() and not result.loaded and not model.training
    loaded = mnist_classifier(budget)
    assert "loaded trained model" in capsys.readouterr().out
    x = mnist.x_test[:16]
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))
    # even one smoke epoch (2 steps on 256 digits) beats chance (10%)
    with torch.no_grad():
        accuracy = (loaded(mnist.x_test).argmax(1) == mnist.y_test).float().mean().item()
    assert accuracy > 0.15


def test_avatar_classifier_learns_attributes():
    from course_lib.data import make_planet_pixel, planet_pixel_targets
    from course_lib.metrics import attribute_accuracy
    from course_lib.pretrained import avatar_classifier

    model, names = avatar_classifier(get_budget("smoke"))
    assert "glasses=sunglasses" in names and "smile" in names and len(names) == 29
    test = make_planet_pixel(200, seed=7)
    targets, _ = planet_pixel_targets(test.attributes)
    assert targets[:, :-1].sum(1).eq(6).all()  # six one-hot groups: exactly one value in each
    accuracy = attribute_accuracy(model, test.images, targets, names)
    # two smoke steps make no oracle, but the mean accuracy is already above a coin flip
    assert accuracy.mean() > 0.5


def _random_state():
    import random

    import numpy as np

    return (torch.get_rng_state(), random.getstate(), np.random.get_state()[1].copy(),
            torch.are_deterministic_algorithms_enabled())


def _same(a, b):
    import numpy as np

    return torch.equal(a[0], b[0]) and a[1] == b[1] and np.array_equal(a[2], b[2]) and a[3] == b[3]


def test_pretrained_classifiers_leave_the_callers_random_state_alone():
    import random

    import numpy as np

    from course_lib.pretrained import avatar_classifier

    budget = get_budget("smoke")
    was_deterministic = torch.are_deterministic_algorithms_enabled()
    try:
        torch.use_deterministic_algorithms(False)
        for call in (lambda: mnist_classifier(budget), lambda: avatar_classifier(budget)):
            for _ in range(2):  # trained (or loaded), then loaded
                torch.manual_seed(123)
                random.seed(123)
                np.random.seed(123)
                before = _random_state()
                call()
                assert _same(before, _random_state())
    finally:
        torch.use_deterministic_algorithms(was_deterministic, warn_only=True)


def test_a_finished_avatar_classifier_is_loaded_without_rendering_its_training_avatars(monkeypatch):
    import course_lib.pretrained as pretrained

    budget = get_budget("smoke")
    pretrained.avatar_classifier(budget)  # trained or loaded: the checkpoint exists after this

    def no_rendering(*args, **kwargs):
        raise AssertionError("the training avatars were rendered although the checkpoint is finished")

    monkeypatch.setattr(pretrained, "make_planet_pixel", no_rendering)
    monkeypatch.setattr(pretrained, "load_mnist", no_rendering)
    model, names = pretrained.avatar_classifier(budget)
    assert len(names) == 29 and not model.training
    from course_lib.data import make_planet_pixel, planet_pixel_targets
    assert names == planet_pixel_targets(make_planet_pixel(3).attributes)[1]
    assert not pretrained.mnist_classifier(budget).training


def test_avatar_classifier_recipe_has_no_dropout_and_follows_the_budget():
    # The smile (corners of the mouth one pixel up) is learned last; dropout and a short run hide it.
    from course_lib.pretrained import train_avatar_classifier

    model, result, names = train_avatar_classifier(get_budget("smoke"), progress=False)
    dropouts = [m for m in model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(m.p == 0.0 for m in dropouts)
    assert len(result.epochs) == 1 and names[-1] == "smile"
