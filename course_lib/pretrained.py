"""Models that several chapters share, trained once and loaded from a checkpoint afterwards.

The MNIST classifier of the CNN chapter is the feature extractor of the sample-quality metrics
(:func:`course_lib.metrics.frechet_distance`, :func:`course_lib.metrics.classifier_score`) used to
score generated digits in later chapters. :func:`train_mnist_classifier` is the one recipe; the CNN
chapter shows and runs it, and :func:`mnist_classifier` loads its checkpoint (or runs the same
recipe when the checkpoint is missing, e.g. when a later chapter is opened first).
"""
from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Iterator, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from .config import Budget, checkpoint_path, get_budget, get_device, seed_everything
from .data import PLANET_PIXEL_ATTRIBUTES, MNISTData, load_mnist, make_planet_pixel, planet_pixel_targets
from .models import AttributeClassifier, CNNClassifier
from .training import TrainingResult, classifier_train_step, fit, load_checkpoint, make_loader
from .training.checkpoints import CHECKPOINT_FORMAT
from .training.loop import _result_from
from .training.state import fingerprint_difference

MNIST_CLASSIFIER_NAME = "mnist_cnn_classifier"


@contextlib.contextmanager
def isolated_random_state() -> Iterator[None]:
    """Run the block without touching the caller's random state: torch's (CPU and CUDA), Python's
    ``random``, NumPy's, and the deterministic-algorithms and cuDNN flags are restored after.

    The classifiers below seed everything to train reproducibly; a chapter that loads one
    mid-way must still draw the random numbers its text assumes.
    """
    python_state, numpy_state = random.getstate(), np.random.get_state()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    benchmark = torch.backends.cudnn.benchmark
    try:
        with torch.random.fork_rng(devices=list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []):
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark = benchmark


def _load_if_finished(path: Path, modules, optimizers, epochs: int) -> Optional[TrainingResult]:
    """The finished run in ``path`` loaded into ``modules``/``optimizers``, before any data is built.

    ``None`` (so the caller builds its data and calls :func:`fit`, which resumes or retrains and
    says why) when the file is missing, shorter or longer than ``epochs``, or made by other
    modules or optimisers.
    """
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:
        return None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT or saved.get("epoch") != epochs:
        return None
    from .training.state import fingerprint

    current = fingerprint(modules, optimizers, data=None)
    stored = saved.get("fingerprint")
    if stored is None or fingerprint_difference({**stored, "data": {}}, {**current, "data": {}}) is not None:
        return None
    load_checkpoint(path, modules, optimizers)
    print(f"loaded trained model from {path} ({saved['epoch']} epochs, {saved['step']} steps; "
          "delete the file to train again)")
    return _result_from(saved, loaded=True)


def train_mnist_classifier(
    mnist: Optional[MNISTData] = None, budget: Optional[Budget] = None, progress: bool = True
) -> Tuple[CNNClassifier, TrainingResult]:
    """Train (or load, if its checkpoint is complete) the course's MNIST CNN classifier.

    Adam (lr 1e-3), batch 128, cross-entropy; epochs from the budget (smoke 1, cpu 4, full 10).
    Returns the model in eval mode and the training result.
    """
    budget = budget or get_budget()
    with isolated_random_state():
        return _train_mnist_classifier(mnist, budget, progress)


def _train_mnist_classifier(mnist, budget, progress):
    device = get_device()
    seed_everything(0)
    model = CNNClassifier(in_channels=1, num_classes=10, image_size=28).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    epochs = budget.pick(smoke=1, cpu=4, full=10)
    path = checkpoint_path(MNIST_CLASSIFIER_NAME, budget)
    if mnist is None:  # look for a finished checkpoint before loading the digits
        loaded = _load_if_finished(path, {"classifier": model}, {"adam": optimizer}, epochs)
        if loaded is not None:
            return model.eval(), loaded
    mnist = mnist or load_mnist(max_train=budget.max_train_examples)
    loader = make_loader((mnist.x_train, mnist.y_train), batch_size=128, budget=budget, seed=0)
    result = fit(
        lambda batch: classifier_train_step(model, optimizer, batch[0].to(device), batch[1].to(device)),
        loader,
        epochs=epochs,
        checkpoint=path,
        modules={"classifier": model},
        optimizers={"adam": optimizer},
        desc="MNIST classifier",
        progress=progress,
    )
    return model.eval(), result


def mnist_classifier(budget: Optional[Budget] = None, progress: bool = False) -> CNNClassifier:
    """The trained MNIST classifier (eval mode), from its checkpoint or trained now if missing."""
    model, _ = train_mnist_classifier(budget=budget, progress=progress)
    return model


AVATAR_CLASSIFIER_NAME = "planet_pixel_attribute_classifier"
AVATAR_CLASSIFIER_SEED = 1000  # its training avatars are drawn apart from the chapters' (seed 0)


def train_avatar_classifier(
    budget: Optional[Budget] = None, size: int = 32, progress: bool = True
) -> Tuple[AttributeClassifier, TrainingResult, list]:
    """Train (or load) a multi-label classifier of Planet Pixel attributes (see
    :func:`course_lib.data.planet_pixel_targets`). It scores which attributes generated or
    translated avatars show, and its features give a Frechet distance for avatars.

    Recipe: :class:`AttributeClassifier` without dropout, Adam (lr 3e-3), batch 128, binary
    cross-entropy; avatars and epochs from the budget (smoke 256 x 1, cpu 6000 x 12, full
    20000 x 12). The smile (a mouth whose corners turn up by one pixel) is the hardest attribute
    and the last one learned: a shorter run reads it barely better than a coin flip.

    Returns ``(model in eval mode, training result, attribute names)``.
    """
    budget = budget or get_budget()
    with isolated_random_state():
        return _train_avatar_classifier(budget, size, progress)


def _attribute_names() -> list:
    """The names :func:`planet_pixel_targets` gives its columns, without rendering any avatar."""
    return [f"{a}={v}" for a, probs in PLANET_PIXEL_ATTRIBUTES.items() for v in probs] + ["smile"]


def _train_avatar_classifier(budget, size, progress):
    names = _attribute_names()
    device = get_device()
    seed_everything(0)
    model = AttributeClassifier(num_outputs=len(names), in_channels=3, image_size=size, dropout=0.0).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    epochs = budget.pick(smoke=1, cpu=12, full=12)
    path = checkpoint_path(f"{AVATAR_CLASSIFIER_NAME}_{size}", budget)
    loaded = _load_if_finished(path, {"classifier": model}, {"adam": optimizer}, epochs)
    if loaded is not None:  # found before rendering thousands of avatars
        return model.eval(), loaded, names
    n = budget.pick(smoke=256, cpu=6000, full=20000)
    avatars = make_planet_pixel(n, size=size, seed=AVATAR_CLASSIFIER_SEED)
    targets, names = planet_pixel_targets(avatars.attributes)

    def step(batch):
        x, y = batch[0].to(device), batch[1].to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    result = fit(
        step, make_loader((avatars.images, targets), batch_size=128, seed=0),
        epochs=epochs,
        checkpoint=path,
        modules={"classifier": model}, optimizers={"adam": optimizer},
        desc="avatar attribute classifier", progress=progress,
    )
    return model.eval(), result, names


def avatar_classifier(budget: Optional[Budget] = None, size: int = 32, progress: bool = False):
    """``(classifier, attribute names)``: the trained avatar attribute classifier, loaded or trained now."""
    model, _, names = train_avatar_classifier(budget=budget, size=size, progress=progress)
    return model, names
