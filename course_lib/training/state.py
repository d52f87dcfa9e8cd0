"""What a checkpoint must remember besides the weights: every random state, and a fingerprint.

* :func:`rng_state` / :func:`set_rng_state`: torch's (and CUDA's) global RNG, Python's
  ``random``, every ``torch.Generator`` of the data (a DataLoader's, or those of the loaders an
  object such as a zip of two loaders holds as attributes) and any extra stateful objects
  (``state={"pool": image_history}``: anything with ``state_dict``/``load_state_dict``, or a
  ``torch.Generator``). Restoring them makes "1 epoch, resume, 2 more" equal "3 epochs".
* :func:`fingerprint` / :func:`fingerprint_difference`: a description of what produced a
  checkpoint (each module's ``repr`` and parameter shapes, each optimiser's class and
  hyperparameters, the data's size and batch size), so a checkpoint made differently is
  retrained instead of loaded.
"""
from __future__ import annotations

import random
import re
from typing import Any, Dict, Iterable, List, Mapping, Optional

import torch
from torch import nn
from torch.utils.data import DataLoader

FINGERPRINT_FIELDS = ("modules", "optimizers", "data")


def _loaders(data: Any) -> List[Any]:
    """``data`` itself if it is a DataLoader, else the DataLoaders it holds as attributes (one level)."""
    if isinstance(data, DataLoader):
        return [data]
    found = []
    for value in list(vars(data).values()) if hasattr(data, "__dict__") else []:
        if isinstance(value, DataLoader):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found += [v for v in value if isinstance(v, DataLoader)]
    return found


def _generators(data: Any) -> List[torch.Generator]:
    gens = []
    own = getattr(data, "generator", None)
    if isinstance(own, torch.Generator):
        gens.append(own)
    for loader in _loaders(data):
        for g in (loader.generator, getattr(loader.sampler, "generator", None),
                  getattr(getattr(loader.sampler, "sampler", None), "generator", None)):
            if isinstance(g, torch.Generator) and all(g is not seen for seen in gens):
                gens.append(g)
    return gens


def rng_state(data: Iterable, extra: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """Every random state that decides the rest of a run (see the module docstring)."""
    state: Dict[str, Any] = {"torch": torch.get_rng_state(), "python": random.getstate(),
                             "loaders": [g.get_state() for g in _generators(data)], "extra": {}}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    for name, obj in (extra or {}).items():
        state["extra"][name] = obj.get_state() if isinstance(obj, torch.Generator) else obj.state_dict()
    return state


def set_rng_state(data: Iterable, state: Mapping[str, Any], extra: Optional[Mapping[str, Any]] = None) -> None:
    torch.set_rng_state(state["torch"])
    if "python" in state:
        random.setstate(_as_tuple(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    saved = state.get("loaders", [state["loader"]] if "loader" in state else [])
    for g, g_state in zip(_generators(data), saved):
        g.set_state(g_state)
    for name, obj in (extra or {}).items():
        if name in state.get("extra", {}):
            value = state["extra"][name]
            obj.set_state(value) if isinstance(obj, torch.Generator) else obj.load_state_dict(value)


def _as_tuple(x: Any) -> Any:
    return tuple(_as_tuple(v) for v in x) if isinstance(x, (list, tuple)) else x


def _describe_module(module: nn.Module) -> str:
    text = re.sub(r" at 0x[0-9a-fA-F]+", "", repr(module))  # no memory addresses (functions in a repr)
    shapes = ", ".join(f"{name}{tuple(t.shape)}" for name, t in module.state_dict().items())
    return f"{text} | {shapes}"


def _describe_optimizer(optimizer: torch.optim.Optimizer) -> str:
    groups = []
    for group in optimizer.param_groups:
        settings = ", ".join(f"{k}={float(v) if torch.is_tensor(v) and v.numel() == 1 else v!r}"
                             for k, v in sorted(group.items()) if k != "params")
        groups.append(f"{len(group['params'])} params: {settings}")
    return f"{type(optimizer).__name__}({'; '.join(groups)})"


def _describe_data(data: Any) -> str:
    parts = [type(data).__name__]
    try:
        parts.append(f"{len(data)} batches")
    except TypeError:
        pass
    for loader in _loaders(data):
        batch_size = loader.batch_size if loader.batch_size is not None else getattr(loader.sampler, "batch_size", None)
        try:
            size = len(loader.dataset)
        except TypeError:
            size = None
        parts.append(f"loader of {size} examples, batch_size={batch_size}, "
                     f"drop_last={getattr(loader.sampler, 'drop_last', loader.drop_last)}")
    return "; ".join(parts)


def fingerprint(modules: Mapping[str, nn.Module], optimizers: Mapping[str, torch.optim.Optimizer],
                data: Any) -> Dict[str, Dict[str, str]]:
    """A description of what produced a run, stored in its checkpoint (plain strings)."""
    return {
        "modules": {name: _describe_module(m) for name, m in modules.items()},
        "optimizers": {name: _describe_optimizer(o) for name, o in optimizers.items()},
        "data": {"data": _describe_data(data)},
    }


def fingerprint_difference(saved: Optional[Mapping[str, Any]], current: Mapping[str, Any]) -> Optional[str]:
    """``None`` when the fingerprints agree, else a short phrase naming the first field that differs."""
    if saved is None:
        return "it has no fingerprint (written by an older course_lib)"
    for field in FINGERPRINT_FIELDS:
        old, new = dict(saved.get(field, {})), dict(current.get(field, {}))
        for name in sorted(set(old) | set(new)):
            if old.get(name) != new.get(name):
                return f"its {field} differ: {name!r} was {_excerpt(old.get(name), new.get(name))}"
    return None


def _excerpt(old: Optional[str], new: Optional[str], width: int = 60) -> str:
    """The part around the first difference of two descriptions: ``'...lr=0.1...' now '...lr=0.01...'``."""
    if old is None or new is None:
        return f"{'absent' if old is None else 'present'}, now {'absent' if new is None else 'present'}"
    i = next((k for k, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    start = max(0, i - width // 2)
    cut = lambda s: ("..." if start else "") + s[start:start + width] + ("..." if len(s) > start + width else "")  # noqa: E731
    return f"{cut(old)!r}, now {cut(new)!r}"
