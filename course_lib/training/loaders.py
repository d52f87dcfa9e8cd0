"""Reproducible data loaders."""
from __future__ import annotations

from typing import Optional, Sequence, Union

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset, TensorDataset

from ..config import Budget

Tensor = torch.Tensor


def make_loader(
    dataset_or_tensors: Union[Dataset, Tensor, Sequence[Tensor]],
    batch_size: int,
    budget: Optional[Budget] = None,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A reproducible DataLoader, capped at the budget's number of training examples.

    Args:
        dataset_or_tensors: a Dataset, a tensor, or a tuple of tensors with the same first
            dimension (then each batch is a tuple ``(x, y, ...)``; a single tensor gives ``(x,)``).
        batch_size: examples per batch.
        budget: when given, keep a seeded random subset of ``budget.max_train_examples``.
        shuffle: reshuffle every epoch, with a generator seeded by ``seed`` (the same seed gives
            the same batches in the same order).
        seed: seed of the subset and of the shuffling.
        drop_last: drop the last, smaller batch of each epoch (e.g. for
            :func:`wgan_train_step`, which splits a batch into ``n_critic`` parts).

    Tensors are batched by indexing them with a whole batch of indices at once (much faster
    than the default one-example-at-a-time collation).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(dataset_or_tensors, Tensor):
        dataset: Dataset = TensorDataset(dataset_or_tensors)
    elif isinstance(dataset_or_tensors, (tuple, list)) and all(isinstance(t, Tensor) for t in dataset_or_tensors):
        dataset = TensorDataset(*dataset_or_tensors)
    elif isinstance(dataset_or_tensors, Dataset):
        dataset = dataset_or_tensors
    else:
        raise TypeError(f"expected a Dataset, a tensor or a tuple of tensors, got {type(dataset_or_tensors).__name__}")

    cap = budget.max_train_examples if budget is not None else None
    if cap is not None and cap < len(dataset):  # type: ignore[arg-type]
        keep = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:cap]  # type: ignore[arg-type]
        if isinstance(dataset, TensorDataset):
            dataset = TensorDataset(*(t[keep] for t in dataset.tensors))
        else:
            dataset = Subset(dataset, keep.tolist())

    generator = torch.Generator().manual_seed(seed)
    if isinstance(dataset, TensorDataset):
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        # batch_size=None: each "index" is a list of batch_size indices, and TensorDataset
        # returns tensor[indices] for each of its tensors, one batch in one indexing operation.
        return DataLoader(dataset, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last),
                          generator=generator)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator)
