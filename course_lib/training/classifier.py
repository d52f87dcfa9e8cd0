"""The classifier step: one cross-entropy update."""
from __future__ import annotations

from typing import Callable, Dict, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from .common import _floats, _update

Tensor = torch.Tensor


def classifier_train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor) -> Dict[str, float]:
    """One cross-entropy update of a classifier that returns logits ``(N, classes)``.

    Returns ``{"loss", "accuracy"}``: the batch-mean cross-entropy and the fraction of the batch
    classified correctly, both measured before the update.
    """
    model.train()
    logits = model(x)  # (N, classes)
    loss = F.cross_entropy(logits, y)  # mean over the batch
    accuracy = (logits.detach().argmax(dim=1) == y).float().mean()
    values = _floats(loss=loss, accuracy=accuracy)
    _update(optimizer, loss)
    return values
