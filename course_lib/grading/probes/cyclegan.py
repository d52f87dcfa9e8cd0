"""Probes of the `cyclegan` assignment (solutions/cyclegan/cyclegan.ipynb)."""
import torch
from torch import nn

from course_lib import losses
from course_lib.grading.probes import seeded, substituted
from course_lib.models import PatchDiscriminator, ResnetGenerator


def _images(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=seeded(seed))


def _l1_probe(fn, seed: int):
    """Differences both below and above 1 (L1 and Huber part there), on images and on other shapes."""
    real, other = _images(2, 3, 4, 4, seed=seed), _images(2, 3, 4, 4, seed=seed + 1, scale=2.0)
    first, second = real.clone().requires_grad_(True), other.clone().requires_grad_(True)
    value = fn(first, second)
    value.backward()
    return {"value": value, "gradients": [first.grad, second.grad],
            "batch of 5": fn(_images(5, 1, 3, 2, seed=seed + 2), _images(5, 1, 3, 2, seed=seed + 3, scale=0.3)),
            "vectors": fn(_images(7, seed=seed + 4), _images(7, seed=seed + 5, scale=3.0)),
            "equal": fn(real, real.clone())}


def cycle_consistency_loss(fn, namespace):
    return _l1_probe(fn, seed=1)


def identity_loss(fn, namespace):
    return _l1_probe(fn, seed=11)


class _AffineMap(nn.Module):
    """A stand-in generator: x -> a x + b, elementwise."""

    def __init__(self, a: float, b: float):
        super().__init__()
        self.a, self.b = nn.Parameter(torch.tensor(a)), nn.Parameter(torch.tensor(b))

    def forward(self, x):
        return self.a * x + self.b


class _PixelScores(nn.Module):
    """A stand-in PatchGAN: one score per pixel, c * (mean over channels) + o, of shape (N, 1, H, W)."""

    def __init__(self, c: float, o: float):
        super().__init__()
        self.c, self.o = nn.Parameter(torch.tensor(c)), nn.Parameter(torch.tensor(o))

    def forward(self, x):
        return self.c * x.mean(dim=1, keepdim=True) + self.o


def _objective(fn, models, real_x, real_y, **weights):
    g_xy, g_yx, d_x, d_y = models
    out = fn(g_xy, g_yx, d_x, d_y, real_x, real_y, **weights)
    if type(out) is not dict:
        return out
    keys = ["loss", "adversarial", "cycle", "fake_x", "fake_y"]
    if weights.get("identity_weight", 5.0) != 0:  # with weight 0, computing the identity terms is optional
        keys.append("identity")
    values = {key: out[key] for key in keys}
    generators = [p for m in (g_xy, g_yx) for p in m.parameters()]
    values["generator gradients"] = torch.autograd.grad(out["loss"], generators)
    values["no .grad filled"] = [p.grad is None for m in models for p in m.parameters()]
    return values


def cyclegan_generator_loss(fn, namespace):
    x, y = _images(2, 3, 4, 4, seed=21), _images(2, 3, 4, 4, seed=22, scale=0.8) + 0.5

    def stand_ins():
        return _AffineMap(0.5, 0.25), _AffineMap(-1.5, 0.1), _PixelScores(1.3, 0.2), _PixelScores(-0.6, 0.4)

    values = {}
    with substituted(namespace, cycle_consistency_loss=losses.cycle_consistency_loss, identity_loss=losses.identity_loss):
        values["default weights"] = _objective(fn, stand_ins(), x, y)
        values["3, 0.5"] = _objective(fn, stand_ins(), x, y, cycle_weight=3.0, identity_weight=0.5)
        values["2, 0"] = _objective(fn, stand_ins(), x, y, cycle_weight=2.0, identity_weight=0.0)
        torch.manual_seed(23)
        networks = (ResnetGenerator(base_channels=4, n_res_blocks=1), ResnetGenerator(base_channels=4, n_res_blocks=1),
                    PatchDiscriminator(base_channels=4, n_layers=1), PatchDiscriminator(base_channels=4, n_layers=1))
        g = seeded(24)
        values["networks"] = _objective(fn, networks, torch.rand(2, 3, 8, 8, generator=g) * 2 - 1,
                                        torch.rand(2, 3, 8, 8, generator=g) * 2 - 1)
    return values


PROBES = {"cycle_consistency_loss": cycle_consistency_loss, "identity_loss": identity_loss,
          "cyclegan_generator_loss": cyclegan_generator_loss}
