"""Probe specs, one module per assignment: ``PROBES = {function: probe(fn, namespace) -> values}``.

A probe fixes every input and every source of randomness, so that any correct implementation
returns the same numbers (up to float rounding) as the solution. It substitutes the reference
implementations of ``course_lib`` for the other graded functions that ``fn`` calls, so each
function is judged on its own, as the hidden tests do (with the same
:func:`~course_lib.grading.kernel.checks.substituted`). ``TOLERANCES`` (optional) gives
``{function: (rtol, atol)}`` where the default (1e-4, 1e-5) does not fit.
"""
import torch

from course_lib.grading.kernel.checks import substituted  # noqa: F401  (the probes' stand-ins, as in the hidden tests)


def seeded(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def parameters(*modules: torch.nn.Module) -> torch.Tensor:
    """Every parameter of ``modules``, flattened into one vector."""
    return torch.cat([p.detach().flatten() for m in modules for p in m.parameters()])


def mlp(sizes, seed: int) -> torch.nn.Sequential:
    """A small deterministic MLP (LeakyReLU between layers)."""
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.LeakyReLU(0.2)]
    return torch.nn.Sequential(*layers[:-1])


class FixedNoiseGenerator(torch.nn.Module):
    """A generator whose output ignores the *values* of its noise (``0 * z``), not its shape, so that
    however a correct implementation draws its noise, the fakes are the same."""

    def __init__(self, latent_dim: int, out_dim: int, n: int, seed: int):
        super().__init__()
        self.net = mlp([latent_dim, 8, out_dim], seed)
        self.z = torch.randn(n, latent_dim, generator=seeded(seed + 1))

    def forward(self, z):
        return self.net(self.z + 0 * z)
