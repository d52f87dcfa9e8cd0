"""Probes of the `gan` assignment (solutions/gan/gan.ipynb)."""
import torch

from course_lib import losses
from course_lib.grading.probes import FixedNoiseGenerator, mlp, parameters, seeded, substituted


def _logits(n: int, seed: int, scale: float = 3.0) -> torch.Tensor:
    return scale * torch.randn(n, 1, generator=seeded(seed))


def discriminator_loss(fn, namespace):
    extreme = torch.tensor([[40.0], [-30.0]]), torch.tensor([[-50.0], [35.0], [0.0]])
    return [fn(_logits(6, 1), _logits(5, 2)), fn(torch.zeros(4), torch.zeros(4)), fn(*extreme)]


def generator_loss(fn, namespace):
    return [fn(_logits(7, 3)), fn(torch.tensor([[-120.0], [45.0]]))]


def gan_train_step(fn, namespace):
    n, latent_dim = 8, 3
    generator = FixedNoiseGenerator(latent_dim, 2, n, seed=4)
    discriminator = mlp([2, 8, 1], seed=5)
    g_optimizer = torch.optim.SGD(generator.parameters(), lr=0.1)
    d_optimizer = torch.optim.SGD(discriminator.parameters(), lr=0.1)
    real = torch.randn(n, 2, generator=seeded(6))
    torch.manual_seed(7)
    results = []
    with substituted(namespace, discriminator_loss=losses.discriminator_loss, generator_loss=losses.generator_loss):
        for _ in range(2):  # a second step shows gradients left over from the first
            result = fn(generator, discriminator, g_optimizer, d_optimizer, real, latent_dim)
            results.append({key: result[key] for key in ("d_loss", "g_loss")} if type(result) is dict else result)
    return {"results": results, "generator": parameters(generator.net), "discriminator": parameters(discriminator)}


PROBES = {"discriminator_loss": discriminator_loss, "generator_loss": generator_loss, "gan_train_step": gan_train_step}
