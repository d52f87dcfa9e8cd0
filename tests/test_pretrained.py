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
