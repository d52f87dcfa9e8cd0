"""The training loop every chapter uses (:func:`fit`) and what it returns (:class:`TrainingResult`)."""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple, Union

import pandas as pd
import torch
from torch import nn

from .checkpoints import CHECKPOINT_FORMAT, _check_named, load_checkpoint, save_checkpoint
from ..checks import evaluating
from .common import NonFiniteLossError
from .state import fingerprint, fingerprint_difference, rng_state, set_rng_state

Tensor = torch.Tensor


@dataclass(repr=False)
class TrainingResult:
    """What :func:`fit` returns.

    Attributes:
        history: one row per logged step: ``epoch``, ``step`` and the step function's values.
        epochs: one row per epoch: ``epoch``, ``steps``, the mean of every value over *all*
            the epoch's steps, and ``seconds`` (wall-clock time of the epoch's steps).
        snapshots: ``[(step, tensor), ...]`` from ``snapshot_fn``.
        seconds: total training time in seconds (of all runs that built the checkpoint).
        loaded: ``True`` when a finished checkpoint was loaded and nothing was trained.
    """

    history: pd.DataFrame
    epochs: pd.DataFrame
    snapshots: List[Tuple[int, Tensor]] = field(default_factory=list)
    seconds: float = 0.0
    loaded: bool = False

    def __repr__(self) -> str:
        steps = int(self.history["step"].iloc[-1]) if len(self.history) else 0
        return (
            f"TrainingResult({len(self.epochs)} epochs, {steps} steps, {self.seconds:.1f} s, "
            f"{len(self.snapshots)} snapshots{', loaded from checkpoint' if self.loaded else ''})"
        )


def _load_if_current(checkpoint, modules, optimizers, current_fingerprint, epochs, max_steps) -> Optional[Dict[str, Any]]:
    """The checkpoint's state, loaded into ``modules`` and ``optimizers``, if it exists and was made by this run.

    Otherwise (a different fingerprint, none at all, or a run longer than this one asks for)
    prints one line saying why and returns ``None``: the run trains from scratch.
    """
    if checkpoint is None or not Path(checkpoint).exists():
        return None
    saved = torch.load(Path(checkpoint), map_location="cpu", weights_only=True)
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        return load_checkpoint(checkpoint, modules, optimizers)  # raises: not a course_lib checkpoint
    why = fingerprint_difference(saved.get("fingerprint") if isinstance(saved, dict) else None, current_fingerprint)
    if why is None and ((epochs is not None and saved["epoch"] > epochs) or (max_steps is not None and saved["step"] > max_steps)):
        why = (f"it holds a longer run ({saved['epoch']} epochs, {saved['step']} steps) than asked "
               f"(epochs={epochs}, max_steps={max_steps})")
    if why is not None:
        print(f"retraining instead of loading {checkpoint}: {why}")
        return None
    return load_checkpoint(checkpoint, modules, optimizers)


def _result_from(state: Mapping[str, Any], loaded: bool) -> TrainingResult:
    return TrainingResult(
        history=pd.DataFrame.from_records(state["history"]),
        epochs=pd.DataFrame.from_records(state["epoch_history"]),
        snapshots=list(state["snapshots"]),
        seconds=float(state["seconds"]),
        loaded=loaded,
    )


def fit(
    step_fn: Callable[[Any], Mapping[str, float]],
    data: Iterable,
    *,
    epochs: Optional[int] = None,
    max_steps: Optional[int] = None,
    log_every: int = 1,
    snapshot_fn: Optional[Callable[[int], Tensor]] = None,
    snapshot_every: Optional[int] = None,
    checkpoint: Optional[Union[str, os.PathLike]] = None,
    modules: Optional[Mapping[str, nn.Module]] = None,
    optimizers: Optional[Mapping[str, torch.optim.Optimizer]] = None,
    desc: Optional[str] = None,
    progress: bool = True,
    state: Optional[Mapping[str, Any]] = None,
) -> TrainingResult:
    """Train by calling ``step_fn(batch)`` on every batch of ``data``, for ``epochs`` passes.

    Args:
        step_fn: makes one update from a batch and returns a dict of floats, usually a closure
            around a step function: ``lambda batch: vae_train_step(model, opt, batch[0])``.
        data: a DataLoader (see :func:`make_loader`) or any re-iterable collection of batches.
        epochs: number of passes over ``data``.
        max_steps: stop after this many steps in all (an epoch cut short counts as done).
            At least one of ``epochs`` and ``max_steps`` is required.
        log_every: keep every ``log_every``-th step in ``history`` (the epoch means use all steps).
        snapshot_fn: ``snapshot_fn(step) -> tensor``, e.g. samples from fixed noise, called
            under ``no_grad`` before training (step 0), then every ``snapshot_every`` steps
            (default: at the end of every epoch) and after the last step.
        checkpoint: a file path. After every epoch ``modules``, ``optimizers``, the history,
            the snapshots, the step and epoch counters and the random state are saved there.
            If the file already holds a run of at least ``epochs`` epochs (or ``max_steps``
            steps) it is loaded and nothing is trained; a shorter run is resumed after its last
            epoch. Either way the random state (torch's and the loader's) is restored too, so a
            resumed run matches an uninterrupted one, and the code after ``fit`` draws the same
            random numbers whether the model was trained or loaded.
        modules, optimizers: dicts of name -> object to save and restore (needed with ``checkpoint``).
            The checkpoint also stores their fingerprint (each module's ``repr`` and parameter
            shapes, each optimiser's class and settings) and the data's (size, batch size): a
            checkpoint made differently is retrained, with one line saying which differs. The
            ``modules`` are put in eval mode while ``snapshot_fn`` runs (their modes restored after).
        state: further stateful objects whose state the checkpoint must keep for an exact
            resume, e.g. ``{"history_x": pool_x}`` for :class:`ImageHistory` pools, or
            ``torch.Generator`` s the step function draws from (anything with
            ``state_dict``/``load_state_dict``, or a generator). The generators of ``data`` (a
            DataLoader, or the loaders an object zipping several holds as attributes) are kept
            automatically.
        desc: label of the progress bar.
        progress: show a tqdm progress bar (on stderr, or a widget in a notebook); ``False``
            prints nothing while training.

    Returns:
        a :class:`TrainingResult` with ``history`` (per step), ``epochs`` (per-epoch means and
        seconds), ``snapshots`` and ``seconds``.

    Raises:
        NonFiniteLossError: a loss became NaN or infinite; the message names the step.
    """
    if epochs is None and max_steps is None:
        raise ValueError("give epochs= or max_steps= (or both), e.g. epochs=budget.pick(smoke=1, cpu=10, full=50)")
    for name, value in (("epochs", epochs), ("max_steps", max_steps), ("log_every", log_every), ("snapshot_every", snapshot_every)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if isinstance(data, Iterator) and (epochs is None or epochs > 1):  # not iter(data): that would draw from the loader's RNG
        raise TypeError(
            "data is a one-shot iterator, so a second epoch would see no batches; "
            "pass a DataLoader or a list of batches"
        )
    modules, optimizers = _check_named("modules", modules), _check_named("optimizers", optimizers)
    if checkpoint is not None and not modules:
        raise ValueError("checkpoint= needs modules={'name': model, ...} (and optimizers=) to save and restore")

    def finished(epoch: int, step: int) -> bool:
        return (epochs is not None and epoch >= epochs) or (max_steps is not None and step >= max_steps)

    # ----- state, fresh or from a checkpoint
    records: List[Dict[str, float]] = []  # the history rows; the DataFrame is built once, at the end
    epoch_records: List[Dict[str, float]] = []
    snapshots: List[Tuple[int, Tensor]] = []
    epoch, step, seconds = 0, 0, 0.0
    extra_state = dict(state or {})
    for name, obj in extra_state.items():
        if not (isinstance(obj, torch.Generator) or (hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict"))):
            raise TypeError(f"state[{name!r}] must be a torch.Generator or have state_dict()/load_state_dict(), "
                            f"got {type(obj).__name__}")
    current_fingerprint = fingerprint(modules, optimizers, data) if checkpoint is not None else None
    state = _load_if_current(checkpoint, modules, optimizers, current_fingerprint, epochs, max_steps)
    if state is not None:
        set_rng_state(data, state["rng"], extra_state)
        if finished(state["epoch"], state["step"]):
            print(f"loaded trained model from {checkpoint} ({state['epoch']} epochs, {state['step']} steps; "
                  "delete the file to train again)")
            return _result_from(state, loaded=True)
        print(f"resuming training from {checkpoint} after epoch {state['epoch']} (step {state['step']})")
        records, epoch_records, snapshots = list(state["history"]), list(state["epoch_history"]), list(state["snapshots"])
        epoch, step, seconds = state["epoch"], state["step"], float(state["seconds"])

    def snapshot() -> None:
        with evaluating(*modules.values()):  # eval mode and no_grad; the modes restored after
            snapshots.append((step, snapshot_fn(step).detach().cpu()))

    if snapshot_fn is not None and step == 0:
        snapshot()

    # ----- the loop
    try:
        steps_per_epoch = len(data)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    total = None
    if epochs is not None and steps_per_epoch is not None:
        total = epochs * steps_per_epoch
    if max_steps is not None:
        total = max_steps if total is None else min(total, max_steps)
    bar = _progress_bar(total, step, desc, progress)
    next_postfix = 0.0
    try:
        while not finished(epoch, step):
            epoch += 1
            sums: Dict[str, float] = {}
            n = 0
            start = time.perf_counter()
            for batch in data:
                step += 1
                try:
                    values = step_fn(batch)
                except NonFiniteLossError as err:
                    raise err.at_step(step)
                metrics = _as_floats(values, step)
                n += 1
                for name, value in metrics.items():
                    sums[name] = sums.get(name, 0.0) + value
                if step % log_every == 0:
                    records.append({"epoch": epoch, "step": step, **metrics})
                if snapshot_fn is not None and snapshot_every is not None and step % snapshot_every == 0:
                    snapshot()
                if progress:
                    bar.update(1)
                    now = time.perf_counter()
                    if now >= next_postfix:  # formatting the postfix costs, so at most twice a second
                        bar.set_postfix(_postfix(epoch, metrics), refresh=False)
                        next_postfix = now + 0.5
                if max_steps is not None and step >= max_steps:
                    break
            elapsed = time.perf_counter() - start
            if n == 0:
                raise ValueError(f"data yielded no batches in epoch {epoch}; is the dataset empty?")
            seconds += elapsed
            means = {name: value / n for name, value in sums.items()}
            epoch_records.append({"epoch": epoch, "steps": n, **means, "seconds": elapsed})
            if progress:
                bar.set_postfix(_postfix(epoch, means))  # the epoch's means stay on the bar
            last_snapshot = snapshots[-1][0] if snapshots else None
            if snapshot_fn is not None and (snapshot_every is None or finished(epoch, step)) and last_snapshot != step:
                snapshot()
            if checkpoint is not None:
                save_checkpoint(
                    checkpoint, modules, optimizers,
                    epoch=epoch, step=step, seconds=seconds, history=records, epoch_history=epoch_records,
                    snapshots=snapshots, rng=rng_state(data, extra_state), fingerprint=current_fingerprint,
                )
    finally:
        bar.close()
    return TrainingResult(
        history=pd.DataFrame.from_records(records),
        epochs=pd.DataFrame.from_records(epoch_records),
        snapshots=snapshots,
        seconds=seconds,
    )


def _as_floats(values: Mapping[str, Any], step: int) -> Dict[str, float]:
    """A step's values as Python floats, checked finite (0-dim tensors too, so no graph is kept alive)."""
    if not isinstance(values, Mapping):
        raise TypeError(f"step_fn must return a dict of floats, e.g. {{'loss': 0.5}}; got {type(values).__name__}")
    floats = {name: float(value.detach()) if torch.is_tensor(value) else float(value) for name, value in values.items()}
    bad = {name: value for name, value in floats.items() if not math.isfinite(value)}
    if bad:
        raise NonFiniteLossError(bad, step=step)
    return floats


def _postfix(epoch: int, metrics: Mapping[str, float]) -> Dict[str, str]:
    return {"epoch": str(epoch), **{name: f"{value:.4g}" for name, value in metrics.items()}}


def _progress_bar(total: Optional[int], initial: int, desc: Optional[str], progress: bool):
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm  # notebook widget in Jupyter, text on stderr elsewhere

    return tqdm(total=total, initial=min(initial, total) if total else initial, desc=desc, unit="step",
                dynamic_ncols=True)


class _NoBar:
    def close(self) -> None:
        pass
