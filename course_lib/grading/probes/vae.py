"""Probes of the `vae` assignment (solutions/vae/vae.ipynb)."""
import torch

from course_lib import losses, sampling
from course_lib.grading.probes import parameters, seeded, substituted


def _normal(*shape: int, seed: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=seeded(seed))


def _gradients(*leaves: torch.Tensor):
    return [leaf.grad for leaf in leaves]


def reparameterize(fn, namespace):
    mu, logvar, noise = _normal(3, 4, seed=1), _normal(3, 4, seed=2), _normal(3, 4, seed=3)
    mu_leaf, logvar_leaf = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    z = fn(mu_leaf, logvar_leaf, noise=noise.clone())
    (z * _normal(3, 4, seed=4)).sum().backward()
    given = {"keyword": z, "positional": fn(mu, logvar, noise), "gradients": _gradients(mu_leaf, logvar_leaf)}
    # noise=None: only the law of the draw is determined. With a tiny variance z is mu, whatever was drawn;
    # on many rows the moments, rounded far coarser than their sampling error, are those of N(mu, sigma^2).
    given["tiny variance"] = fn(mu, torch.full_like(mu, -40.0))
    n, mean, std = 40000, torch.tensor([2.0, -1.0]), torch.tensor([0.5, 2.0])
    torch.manual_seed(5)
    drawn = [fn(mean.repeat(n, 1), torch.log(std.pow(2)).repeat(n, 1)) for _ in range(2)]
    given["moments"] = [torch.round((drawn[0].mean(0) - mean) / std, decimals=1),
                        torch.round(drawn[0].std(0) / std, decimals=1)]
    given["a new draw every call"] = not torch.equal(drawn[0], drawn[1])
    given["shape"] = list(fn(torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)).shape)
    return given


def kl_divergence(fn, namespace):
    mu, logvar = _normal(5, 3, seed=6, scale=1.5), _normal(5, 3, seed=7)
    mu_leaf, logvar_leaf = mu.clone().requires_grad_(True), logvar.clone().requires_grad_(True)
    value = fn(mu_leaf, logvar_leaf)
    value.backward()
    return {"value": value, "gradients": _gradients(mu_leaf, logvar_leaf), "zero": fn(torch.zeros(2, 4), torch.zeros(2, 4)),
            "wide": fn(_normal(64, 8, seed=8, scale=2.0), _normal(64, 8, seed=9, scale=2.0))}


def vae_loss(fn, namespace):
    g = seeded(10)
    x_logits, x = 3 * torch.randn(4, 1, 3, 5, generator=g), torch.rand(4, 1, 3, 5, generator=g)
    mu, logvar = torch.randn(4, 2, generator=g), 0.5 * torch.randn(4, 2, generator=g)
    values = {}
    with substituted(namespace, kl_divergence=losses.kl_divergence):
        logits_leaf = x_logits.clone().requires_grad_(True)
        loss = fn(logits_leaf, x, mu, logvar)
        loss.backward()
        values.update(default=loss, gradient=logits_leaf.grad, beta=fn(x_logits, x, mu, logvar, beta=0.3),
                      positional=fn(x_logits, x, mu, logvar, 4.0),
                      saturated=fn(torch.tensor([40.0, -30.0, 25.0, -45.0]).view(2, 1, 1, 2),  # sigmoid rounds to 0 or 1
                                   torch.tensor([0.2, 0.9, 0.0, 0.5]).view(2, 1, 1, 2), mu[:2], logvar[:2]))
    return values


def interpolate(fn, namespace):
    z0, z1 = _normal(5, seed=11), _normal(5, seed=12, scale=2.0)
    a, b = _normal(2, 3, seed=13), _normal(2, 3, seed=14)
    same = torch.tensor([0.6, -0.8, 1.2])
    values = {"linear": fn(z0, z1, 6, method="linear"), "default": fn(z0, z1, 4), "two": fn(z0, z1, 2),
              "matrices": fn(a, b, 5), "slerp": fn(z0, z1, 7, method="slerp"),
              "slerp orthogonal": fn(torch.tensor([2.0, 0.0, 0.0, 1.0]), torch.tensor([0.0, 2.0, 1.0, 0.0]), 5, method="slerp"),
              "slerp parallel": fn(same, same.clone(), 4, method="slerp")}
    try:
        fn(z0, z1, 5, method="cubic")
        values["unknown method raises ValueError"] = False
    except ValueError:
        values["unknown method raises ValueError"] = True
    return values


class _TinyVAE(torch.nn.Module):
    """Deterministic: a fixed noise buffer instead of a fresh draw (and no call of ``reparameterize``)."""

    def __init__(self, seed: int):
        super().__init__()
        torch.manual_seed(seed)
        self.encoder, self.decoder = torch.nn.Linear(6, 4), torch.nn.Linear(2, 6)
        self.register_buffer("eps", torch.randn(4, 2, generator=seeded(seed + 1)))

    def forward(self, x):
        mu, logvar = self.encoder(x.flatten(1)).chunk(2, dim=1)
        return self.decoder(mu + torch.exp(0.5 * logvar) * self.eps[: x.shape[0]]).view(x.shape), mu, logvar


def vae_train_step(fn, namespace):
    model = _TinyVAE(seed=15)
    g = seeded(17)
    x = torch.rand(4, 1, 2, 3, generator=g)
    for p in model.parameters():  # gradients left by an earlier backward pass
        p.grad = torch.randn(p.shape, generator=g)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    results = []
    with substituted(namespace, reparameterize=sampling.reparameterize, kl_divergence=losses.kl_divergence,
                     vae_loss=losses.vae_loss):
        for beta in (2.5, None):
            result = fn(model, optimizer, x) if beta is None else fn(model, optimizer, x, beta=beta)
            results.append(result["loss"] if type(result) is dict else result)
    return {"losses": results, "model": parameters(model)}


PROBES = {"reparameterize": reparameterize, "kl_divergence": kl_divergence, "vae_loss": vae_loss,
          "interpolate": interpolate, "vae_train_step": vae_train_step}
