"""How much does the course's shared training loop cost over a bare PyTorch loop?

Trains the same small convolutional classifier on the same synthetic 28x28 images, with the
same seeded batches, three ways:

* ``bare``: a hand-written loop (zero_grad, forward, loss, backward, step, ``loss.item()``);
* ``fit+closure``: :func:`course_lib.training.fit` running that same update in a closure, so
  the difference is the loop alone (progress bar, history table, checks, timing);
* ``fit+step``: ``fit`` with :func:`course_lib.training.classifier_train_step`, as a chapter
  uses it (which also measures the accuracy of every batch).

Runs are interleaved (the order rotates every repeat) so that a slow moment of the machine hits
all variants alike; wall-clock and CPU time are compared run by run (median of the paired
ratios) and between the fastest runs. On a busy machine these end-to-end figures swing by
several percent, so two steadier measurements follow: the step function against the bare update
call by call on one batch, and fit's own cost per step over a step that does nothing. Usage::

    python benchmarks/loop_overhead.py                 # 4096 images, batch 128, 3 epochs, 5 repeats
    python benchmarks/loop_overhead.py --threads 1     # steadier when other processes share the cores
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


def clocks():
    return time.perf_counter(), time.process_time()


def elapsed(start):
    """(wall-clock seconds, CPU seconds of this process) since ``start``."""
    wall, cpu = clocks()
    return wall - start[0], cpu - start[1]


def setup(data, batch_size):
    torch.manual_seed(0)
    model = small_cnn()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = make_loader(data, batch_size=batch_size, seed=0)
    return model, optimizer, loader


def run_bare(data, batch_size, epochs, progress):
    model, optimizer, loader = setup(data, batch_size)
    start = clocks()
    model.train()
    losses = []
    for _ in range(epochs):
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return elapsed(start), losses[-1]


def run_fit_closure(data, batch_size, epochs, progress):
    model, optimizer, loader = setup(data, batch_size)

    def step(batch):
        x, y = batch
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return {"loss": loss.item()}

    start = clocks()
    model.train()
    result = fit(step, loader, epochs=epochs, progress=progress, desc="fit+closure")
    return elapsed(start), result.history["loss"].iloc[-1]


def run_fit_step(data, batch_size, epochs, progress):
    model, optimizer, loader = setup(data, batch_size)
    start = clocks()
    result = fit(lambda batch: classifier_train_step(model, optimizer, *batch), loader,
                 epochs=epochs, progress=progress, desc="fit+step")
    return elapsed(start), result.history["loss"].iloc[-1]


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

    for run in VARIANTS.values():  # warm-up: first-call costs (lazy imports, allocator) hit no timed run
        run(data, args.batch_size, 1, False)
    names = list(VARIANTS)
    wall = {name: [] for name in names}
    cpu = {name: [] for name in names}
    final_loss = {}
    for r in range(args.repeats):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate who goes first
        if r % 2:
            order.reverse()
        for name in order:
            (w, c), loss = VARIANTS[name](data, args.batch_size, args.epochs, progress)
            wall[name].append(w)
            cpu[name].append(c)
            final_loss.setdefault(name, loss)
        print(f"repeat {r + 1}: " + ", ".join(f"{n} {wall[n][-1]:.2f} s (cpu {cpu[n][-1]:.2f} s)" for n in names),
              flush=True)

    def overhead(times, name):
        """Median over repeats of (variant / bare - 1) within a repeat: runs close in time are compared."""
        return 100 * statistics.median(t / b - 1 for t, b in zip(times[name], times["bare"]))

    def best(times, name):
        """Overhead of the fastest run of each variant (the run least disturbed by other processes)."""
        return 100 * (min(times[name]) / min(times["bare"]) - 1)

    print(f"\n{'variant':<12} {'wall s':>7} {'ms/step':>8} {'overhead':>9} {'cpu s':>7} {'overhead':>9}   final loss")
    print(f"{'':<12} {'median':>7} {'':>8} {'(wall)':>9} {'median':>7} {'(cpu)':>9}")
    for name in names:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"{name:<12} {w:7.2f} {1000 * w / steps:8.1f} {overhead(wall, name):+8.1f}% {c:7.2f} "
              f"{overhead(cpu, name):+8.1f}%   {final_loss[name]:.6f}")
    same = len({round(v, 6) for v in final_loss.values()}) == 1
    print(f"same final loss in all variants (same seeded computation, same batches): {same}")
    for name in names[1:]:
        print(f"{name}: overhead {overhead(wall, name):+.1f}% wall-clock, {overhead(cpu, name):+.1f}% CPU time "
              f"(median of paired runs); {best(wall, name):+.1f}% wall, {best(cpu, name):+.1f}% CPU (fastest runs); "
              "target: at most +5%")

    # The step function's extras (train mode, accuracy, checks), call by call: bare update and
    # classifier_train_step alternate on the same batch, so both see the same machine state.
    model, optimizer, loader = setup(data, args.batch_size)
    x, y = next(iter(loader))
    bare_calls, step_calls = [], []
    for i in range(2 * steps):
        for name in (("bare", "step") if i % 2 else ("step", "bare")):
            start = time.thread_time()
            if name == "bare":
                loss = F.cross_entropy(model(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                loss.item()
                bare_calls.append(time.thread_time() - start)
            else:
                classifier_train_step(model, optimizer, x, y)
                step_calls.append(time.thread_time() - start)
    b, t = statistics.median(bare_calls), statistics.median(step_calls)
    print(f"one update, {len(bare_calls)} alternating calls: bare {1000 * b:.2f} ms, classifier_train_step "
          f"{1000 * t:.2f} ms CPU (median) = {100 * (t / b - 1):+.1f}%")

    # The loop's own cost, free of the training step's noise: fit over a step that does nothing.
    n = 20_000
    start = clocks()
    fit(lambda batch: {"loss": 0.5, "accuracy": 0.5}, range(n), epochs=1, progress=progress)
    w, c = elapsed(start)
    step_cpu = statistics.median(cpu["bare"]) / steps
    print(f"fit's own cost per step (no-op step, {n} steps): {1e6 * w / n:.1f} us wall, {1e6 * c / n:.1f} us CPU "
          f"= {100 * (c / n) / step_cpu:.2f}% of a bare training step's CPU time ({1000 * step_cpu:.1f} ms)")

if __name__ == "__main__":
    main()
