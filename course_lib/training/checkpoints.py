"""Checkpoint files: save and load named modules and optimizers, written atomically."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Union

import torch
from torch import nn


CHECKPOINT_FORMAT = "course_lib.training/1"


def _check_named(kind: str, objects: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    if objects is None:
        return {}
    if not isinstance(objects, Mapping):
        example = "modules={'vae': model}" if kind == "modules" else "optimizers={'adam': optimizer}"
        raise TypeError(f"{kind} must be a dict of name -> object, e.g. {example}; got {type(objects).__name__}")
    return dict(objects)


def save_checkpoint(path: Union[str, os.PathLike], modules: Mapping[str, nn.Module],
                    optimizers: Optional[Mapping[str, torch.optim.Optimizer]] = None, **extra: Any) -> None:
    """Save the state dicts of ``modules`` and ``optimizers`` (dicts of name -> object) and ``extra``.

    The file is a dict ``{"format", "modules", "optimizers", **extra}`` written with
    :func:`torch.save` to a temporary file and then renamed, so an interrupted save never
    leaves a broken checkpoint. ``extra`` should hold plain Python values and tensors (it is
    read back with ``weights_only=True``).
    """
    modules, optimizers = _check_named("modules", modules), _check_named("optimizers", optimizers)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "format": CHECKPOINT_FORMAT,
        "modules": {name: m.state_dict() for name, m in modules.items()},
        "optimizers": {name: o.state_dict() for name, o in optimizers.items()},
        **extra,
    }
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Union[str, os.PathLike], modules: Mapping[str, nn.Module],
                    optimizers: Optional[Mapping[str, torch.optim.Optimizer]] = None) -> Dict[str, Any]:
    """Load a :func:`save_checkpoint` file into ``modules`` (and ``optimizers``), in place.

    Tensors are mapped to the CPU first and then copied onto each module's own device.
    Returns the whole checkpoint dict (with the ``extra`` entries that were saved).
    """
    modules, optimizers = _check_named("modules", modules), _check_named("optimizers", optimizers)
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path} is not a course_lib checkpoint (written by save_checkpoint); delete it or pass another path")
    for kind, named in (("modules", modules), ("optimizers", optimizers)):
        missing = sorted(set(named) - set(state[kind]))
        if missing:
            raise KeyError(
                f"checkpoint {path} has no {kind} named {missing}; it holds {sorted(state[kind])}. "
                "Use the names it was saved with, or delete it to retrain"
            )
        for name, obj in named.items():
            obj.load_state_dict(state[kind][name])
    return state
