"""How much does the course's shared training loop cost over a bare PyTorch loop?

Trains the same small convolutional classifier on the same synthetic 28x28 images, with the
same seeded batches, three ways:

* ``bare``: a hand-written loop (zero_grad, forward, loss, backward, step, ``loss.item()``);
* ``fit+closure``: :func:`course_lib.training.fit` running that same update in a closure, so
  the difference is the loop alone (progress bar, history table, checks, timing);
* ``fit+step``: ``fit`` with :func:`course_lib.training.classifier_train_step`, as a chapter
  uses it (which also measures the accuracy of every batch).

Runs are interleaved (the order rotates every repeat) so that a slow moment of the machine hits
all variants alike, and the medians are compared. Usage::

    python benchmarks/loop_overhead.py                 # 4096 images, batch 128, 3 epochs, 5 repeats
    python benchmarks/loop_overhead.py --repeats 3 --epochs 2 --no-progress
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from course_lib.training import classifier_train_step, fit, make_loader  # noqa: E402


def small_cnn() -> nn.Module:
    """Two strided convolutions and a linear layer: (N, 1, 28, 28) -> (N, 10) logits."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),  # (N, 16, 14, 14)
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),  # (N, 32, 7, 7)
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10),
    )


def setup(data, batch_size):
    torch.manual_seed(0)
    model = small_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = make_loader(data, batch_size=batch_size, seed=0)
    return model, optimizer, loader


def run_bare(data, batch_size, epochs, progress):
    model, optimizer, loader = setup(data, batch_size)
    start = time.perf_counter()
    model.train()
    losses = []
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return time.perf_counter() - start, losses[-1]


def run_fit_closure(data, batch_size, epochs, progress):
    model, optimizer, loader = setup(data, batch_size)

    def step(batch):
        x, y = batch
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    start = time.perf_counter()
    model.train()
    result = fit(step, loader, epochs=epochs, progress=progress, desc="fit+closure")
    return time.perf_counter() - start, result.history["loss"].iloc[-1]


def run_fit_step(data, batch_size, epochs, progress):
    model, optimizer, loader = setup(data, batch_size)
    start = time.perf_counter()
    result = fit(lambda batch: classifier_train_step(model, optimizer, *batch), loader,
                 epochs=epochs, progress=progress, desc="fit+step")
    return time.perf_counter() - start, result.history["loss"].iloc[-1]


VARIANTS = {"bare": run_bare, "fit+closure": run_fit_closure, "fit+step": run_fit_step}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--no-progress", action="store_true", help="run fit without its progress bar")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    progress = not args.no_progress

    g = torch.Generator().manual_seed(0)
    data = (torch.rand(args.examples, 1, 28, 28, generator=g), torch.randint(10, (args.examples,), generator=g))
    steps = args.epochs * -(-args.examples // args.batch_size)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.examples} images 1x28x28, "
          f"batch {args.batch_size}, {args.epochs} epochs = {steps} steps per run; {args.repeats} repeats; "
          f"progress bar {'on' if progress else 'off'}")

    run_bare(data, args.batch_size, 1, False)  # warm-up: first-call costs (lazy imports, allocator)
    names = list(VARIANTS)
    times = {name: [] for name in names}
    final_loss = {}
    for r in range(args.repeats):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
        if r % 2:
            order.reverse()
        for name in order:
            seconds, loss = VARIANTS[name](data, args.batch_size, args.epochs, progress)
            times[name].append(seconds)
            final_loss.setdefault(name, loss)
        print(f"repeat {r + 1}: " + ", ".join(f"{n} {times[n][-1]:.2f} s" for n in names), flush=True)

    bare = statistics.median(times["bare"])
    print(f"\n{'variant':<12} {'median s':>9} {'min s':>7} {'ms/step':>8} {'overhead':>9}   final loss")
    for name in names:
        med = statistics.median(times[name])
        print(f"{name:<12} {med:9.3f} {min(times[name]):7.3f} {1000 * med / steps:8.2f} "
              f"{100 * (med / bare - 1):+8.1f}%   {final_loss[name]:.6f}")
    same = len({round(v, 6) for v in final_loss.values()}) == 1
    print(f"same final loss in all variants (same seeded computation): {same}")
    worst = max(100 * (statistics.median(times[n]) / bare - 1) for n in names if n != "bare")
    print(f"largest median overhead: {worst:+.1f}% (target: at most +5%)")


if __name__ == "__main__":
    main()
