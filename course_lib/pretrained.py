"""Models that several chapters share, trained once and loaded from a checkpoint afterwards.

The MNIST classifier of the CNN chapter is the feature extractor of the sample-quality metrics
(:func:`course_lib.metrics.frechet_distance`, :func:`course_lib.metrics.classifier_score`) used to
score generated digits in later chapters. :func:`train_mnist_classifier` is the one recipe; the CNN
chapter shows and runs it, and :func:`mnist_classifier` loads its checkpoint (or runs the same
recipe when the checkpoint is missing, e.g. when a later chapter is opened first).
"""
from __future__ import annotations

from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from .config import Budget, checkpoint_path, get_budget, get_device, seed_everything
from .data import MNISTData, load_mnist, make_planet_pixel, planet_pixel_targets
from .models import AttributeClassifier, CNNClassifier
from .training import TrainingResult, classifier_train_step, fit, make_loader

MNIST_CLASSIFIER_NAME = "mnist_cnn_classifier"


def train_mnist_classifier(
    mnist: Optional[MNISTData] = None, budget: Optional[Budget] = None, progress: bool = True
) -> Tuple[CNNClassifier, TrainingResult]:
    """Train (or load, if its checkpoint is complete) the course's MNIST CNN classifier.

    Adam (lr 1e-3), batch 128, cross-entropy; epochs from the budget (smoke 1, cpu 4, full 10).
    Returns the model in eval mode and the training result.
    """
    budget = budget or get_budget()
    mnist = mnist or load_mnist(max_train=budget.max_train_examples)
    device = get_device()
    seed_everything(0)
    model = CNNClassifier(in_channels=1, num_classes=10, image_size=28).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = make_loader((mnist.x_train, mnist.y_train), batch_size=128, budget=budget, seed=0)
    result = fit(
        lambda batch: classifier_train_step(model, optimizer, batch[0].to(device), batch[1].to(device)),
        loader,
        epochs=budget.pick(smoke=1, cpu=4, full=10),
        checkpoint=checkpoint_path(MNIST_CLASSIFIER_NAME, budget),
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

    Returns ``(model in eval mode, training result, attribute names)``.
    """
    budget = budget or get_budget()
    n = budget.pick(smoke=256, cpu=4000, full=20000)
    avatars = make_planet_pixel(n, size=size, seed=AVATAR_CLASSIFIER_SEED)
    targets, names = planet_pixel_targets(avatars.attributes)
    device = get_device()
    seed_everything(0)
    model = AttributeClassifier(num_outputs=len(names), in_channels=3, image_size=size).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(batch):
        x, y = batch[0].to(device), batch[1].to(device)
        optimizer.zero_grad(set_to_none=True)
        loss = F.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    result = fit(
        step, make_loader((avatars.images, targets), batch_size=128, seed=0),
        epochs=budget.pick(smoke=1, cpu=3, full=10),
        checkpoint=checkpoint_path(f"{AVATAR_CLASSIFIER_NAME}_{size}", budget),
        modules={"classifier": model}, optimizers={"adam": optimizer},
        desc="avatar attribute classifier", progress=progress,
    )
    return model.eval(), result, names


def avatar_classifier(budget: Optional[Budget] = None, size: int = 32, progress: bool = False):
    """``(classifier, attribute names)``: the trained avatar attribute classifier, loaded or trained now."""
    model, _, names = train_avatar_classifier(budget=budget, size=size, progress=progress)
    return model, names
