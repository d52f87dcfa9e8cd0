"""Probes of the `wgan_gp` assignment (solutions/wgan_gp/wgan_gp.ipynb)."""
import numpy as np
import torch
from torch import nn

from course_lib import losses
from course_lib.grading.probes import FixedNoiseGenerator, mlp, parameters, seeded, substituted


def _scores(*shape: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    return 2 * torch.randn(*shape, generator=seeded(seed)) + shift


def critic_loss(fn, namespace):
    real, fake = _scores(5, seed=1).requires_grad_(True), _scores(3, seed=2, shift=0.7).requires_grad_(True)
    value = fn(real, fake)
    value.backward()
    return {"value": value, "gradients": [real.grad, fake.grad],
            "columns": fn(_scores(4, 1, seed=3), _scores(6, 1, seed=4)),
            "maps": fn(_scores(2, 1, 3, 3, seed=5), _scores(3, 1, 3, 3, seed=6, shift=-1.0)),
            "float64": fn(_scores(4, seed=7).double(), _scores(2, seed=8).double())}


def wasserstein_generator_loss(fn, namespace):
    fake = _scores(7, seed=9).requires_grad_(True)
    value = fn(fake)
    value.backward()
    return {"value": value, "gradient": fake.grad, "column": fn(_scores(5, 1, seed=10)),
            "maps": fn(_scores(3, 1, 2, 2, seed=11))}


class _ClipCritic(nn.Module):
    """Nested containers, biases, a layer norm, a bare parameter, and batch-norm buffers."""

    def __init__(self, seed: int, spread: float):
        super().__init__()
        torch.manual_seed(seed)
        self.features = nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(0.2), nn.Sequential(nn.Linear(5, 4), nn.LayerNorm(4)))
        self.norm = nn.BatchNorm1d(4)
        self.scale = nn.Parameter(torch.tensor([2.0, -3.0, 0.004]))
        self.head = nn.Linear(4, 1)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name != "scale":
                    p.copy_(spread * torch.randn(p.shape, generator=seeded(seed + 1)))
            self.norm.running_mean.copy_(torch.tensor([1.5, -2.0, 0.3, 4.0]))
            self.norm.running_var.fill_(3.0)


def clip_weights(fn, namespace):
    values = {}
    for clip_value in (0.5, 0.01):
        critic = _ClipCritic(seed=12, spread=3 * clip_value)
        held = dict(critic.named_parameters())
        fn(critic, clip_value)
        after = dict(critic.named_parameters())
        values[str(clip_value)] = {
            "names": np.array(sorted(after)), "parameters": [after[name].detach() for name in sorted(held)],
            "in place": [after[name] is held[name] for name in sorted(held)],
            "require gradients": [after[name].requires_grad for name in sorted(held)],
            "buffers": [b.detach() for _, b in sorted(critic.named_buffers())]}
    return values


class _QuadraticCritic(nn.Module):
    """f(x) = a ||x||^2 / 2 for each example; remembers where it was evaluated."""

    def __init__(self, a: float = 1.5):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(a))
        self.inputs = []

    def forward(self, x):
        self.inputs.append(x.detach().clone())
        return 0.5 * self.a * x.pow(2).flatten(1).sum(1)


def _conv_critic(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.Tanh(), nn.Flatten(), nn.Linear(27, 1))  # (N, 1) scores


def _penalty_and_gradients(fn, critic, real, fake, **kwargs):
    penalty = fn(critic, real, fake, **kwargs)
    untouched = [p.grad is None for p in critic.parameters()]  # autograd.grad, not backward
    held = list(critic.parameters())  # the last bias does not move the input gradient: no gradient
    gradients = torch.autograd.grad(penalty, held, allow_unused=True)
    return [penalty, [torch.zeros_like(p) if g is None else g for p, g in zip(held, gradients)], untouched]


def gradient_penalty(fn, namespace):
    g = seeded(13)
    real, fake = torch.randn(3, 2, 5, 5, generator=g), torch.randn(3, 2, 5, 5, generator=g)
    eps = torch.tensor([0.25, 0.6, 0.9])
    values = {"conv": _penalty_and_gradients(fn, _conv_critic(14), real, fake, eps=eps),
              "conv eps (N, 1, 1, 1)": _penalty_and_gradients(fn, _conv_critic(14), real, fake, eps=eps.view(3, 1, 1, 1))}
    critic = _QuadraticCritic()
    values["quadratic"] = fn(critic, real, fake, eps=eps)
    values["evaluated at"] = critic.inputs[-1]
    # eps=None: a linear critic has the same penalty for every eps; for the rest only the law of eps is
    # determined, so report the weights the critic saw, rounded far coarser than their sampling error.
    linear = nn.Linear(8, 1, bias=False)
    with torch.no_grad():
        linear.weight.copy_(torch.randn(1, 8, generator=g))
    values["linear"] = _penalty_and_gradients(fn, linear, real.flatten(1)[:, :8], fake.flatten(1)[:, :8])
    real = torch.randn(4000, 1, 2, 2, generator=g)
    fake = real - 1 - torch.rand(4000, 1, 2, 2, generator=g)  # real - fake lies in [1, 2]
    torch.manual_seed(16)
    drawn = []
    for _ in range(2):
        critic = _QuadraticCritic()
        fn(critic, real, fake)
        weights = ((critic.inputs[-1] - fake) / (real - fake)).flatten(1)
        drawn.append(weights[:, 0])
        values["pixels share eps"] = torch.round((weights.max(1).values - weights.min(1).values).max(), decimals=3)
    eps = drawn[0]
    values["law of eps"] = torch.round(torch.stack([eps.min(), eps.max(), eps.mean(), eps.std()]), decimals=1)
    values["a new eps every call"] = not torch.equal(drawn[0], drawn[1])
    return values


def _fixed_eps_penalty(critic, real, fake, eps=None):
    """A correct penalty with a fixed eps (any eps drawn by the step is as good), so that the step is determined."""
    return losses.gradient_penalty(critic, real, fake, torch.linspace(0.2, 0.8, real.shape[0]))


def critic_train_step(fn, namespace):
    n, latent_dim = 6, 3
    generator = FixedNoiseGenerator(latent_dim, 2, n, seed=17)
    critic = mlp([2, 8, 1], seed=18)
    real = torch.randn(n, 2, generator=seeded(19)) * 0.5 + torch.tensor([2.0, 0.0])
    for p in critic.parameters():  # gradients left by an earlier step
        p.grad = torch.full_like(p, 0.7)
    optimizer = torch.optim.SGD(critic.parameters(), lr=0.1)
    torch.manual_seed(20)
    results = []
    with substituted(namespace, critic_loss=losses.critic_loss, gradient_penalty=_fixed_eps_penalty):
        for gp_weight in (None, 2.5):
            result = fn(generator, critic, optimizer, real, latent_dim) if gp_weight is None else \
                fn(generator, critic, optimizer, real, latent_dim, gp_weight=gp_weight)
            results.append(result["loss"] if type(result) is dict else result)
    return {"losses": results, "critic": parameters(critic), "generator": parameters(generator.net),
            "no gradient reached the generator": [p.grad is None or not bool(p.grad.any()) for p in generator.parameters()]}


PROBES = {"critic_loss": critic_loss, "wasserstein_generator_loss": wasserstein_generator_loss,
          "clip_weights": clip_weights, "gradient_penalty": gradient_penalty, "critic_train_step": critic_train_step}
