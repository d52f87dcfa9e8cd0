"""Losses of the course's generative models, as pure functions of tensors.

Every function states the equation it implements and its reduction. The conventions:

* VAE terms are **summed over the dimensions of one example** (pixels, latent units) and
  **averaged over the batch**, so ``vae_loss`` is the negative ELBO of one example in nats and
  does not change when the batch size changes.
* GAN, WGAN and least-squares GAN terms are **averaged over every element** of the score
  tensor (one score per example, or one per patch for a PatchGAN).
* Images and scores come in as raw tensors: discriminators return **logits** (no sigmoid before
  a loss that expects logits), WGAN critics return unbounded scores.

Contents:
    VAE              kl_divergence, reconstruction_loss, vae_loss
    sparse AE        sparsity_kl_loss, l1_activity_loss
    GAN              discriminator_loss, generator_loss
    WGAN / WGAN-GP   critic_loss, wasserstein_generator_loss, gradient_penalty
    CycleGAN         cycle_consistency_loss, identity_loss, lsgan_discriminator_loss,
                     lsgan_generator_loss, cyclegan_generator_loss
"""
from __future__ import annotations

from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F

Tensor = torch.Tensor
Module = Callable[[Tensor], Tensor]

__all__ = [
    "kl_divergence",
    "reconstruction_loss",
    "vae_loss",
    "sparsity_kl_loss",
    "l1_activity_loss",
    "discriminator_loss",
    "generator_loss",
    "critic_loss",
    "wasserstein_generator_loss",
    "gradient_penalty",
    "cycle_consistency_loss",
    "identity_loss",
    "lsgan_discriminator_loss",
    "lsgan_generator_loss",
    "cyclegan_generator_loss",
]

RECONSTRUCTION_KINDS = ("bce", "mse")


# ----------------------------------------------------------------------------- input checks


from .checks import check_same_shape as _check_same_shape, check_tensor as _check_tensor, shape_text as _shape  # noqa: E402,F401


# ----------------------------------------------------------------------------- VAE


def _shape_of(shape: tuple) -> str:
    return "(" + ", ".join(map(str, shape)) + ("," if len(shape) == 1 else "") + ")"


def kl_divergence(mu: Tensor, logvar: Tensor) -> Tensor:
    r"""KL divergence from the encoder's Gaussian to the standard normal prior.

    .. math::
        \mathrm{KL}\big(\mathcal N(\mu, \mathrm{diag}\,\sigma^2)\,\|\,\mathcal N(0, I)\big)
        = -\tfrac12 \sum_j \big(1 + \log\sigma_j^2 - \mu_j^2 - \sigma_j^2\big)

    (Kingma & Welling 2014, appendix B), with ``logvar`` :math:`= \log\sigma^2`.

    Reduction: **summed over the latent dimensions** (every non-batch dimension), **averaged
    over the batch**.

    Args:
        mu: means, shape ``(N, latent_dim)`` (or ``(N, *latent_shape)``).
        logvar: log-variances, same shape as ``mu``.

    Returns:
        0-dim tensor, the KL of one example in nats.
    """
    _check_tensor("mu", mu, min_dim=2, batch_hint=" as (N, latent_dim)")
    _check_tensor("logvar", logvar, min_dim=2, batch_hint=" as (N, latent_dim)")
    _check_same_shape("mu", mu, "logvar", logvar)
    kl_per_dim = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())  # (N, D) one term per latent unit
    return kl_per_dim.flatten(1).sum(dim=1).mean()  # sum over latent dims, mean over batch


def reconstruction_loss(x_logits: Tensor, x: Tensor, kind: str = "bce") -> Tensor:
    r"""Reconstruction term of the VAE / autoencoder loss, :math:`-\log p(x \mid z)` per example.

    ``kind="bce"`` (default), Bernoulli decoder with logits :math:`\ell`:

    .. math::
        -\sum_i \big[x_i \log \sigma(\ell_i) + (1 - x_i) \log(1 - \sigma(\ell_i))\big]

    computed by :func:`torch.nn.functional.binary_cross_entropy_with_logits` (stable for large
    logits). Targets ``x`` must lie in ``[0, 1]``; images scaled to ``[-1, 1]`` need
    ``(x + 1) / 2`` first.

    ``kind="mse"``: squared error :math:`\sum_i (\hat x_i - x_i)^2`, where ``x_logits`` is the
    decoder's raw output :math:`\hat x` (no sigmoid is applied). This is the Gaussian decoder's
    negative log-likelihood with unit variance, up to a factor 1/2 and an additive constant.

    Reduction: **summed over all non-batch dimensions** (pixels and channels), **averaged over
    the batch**.

    Args:
        x_logits: decoder output, shape ``(N, ...)``; logits for ``"bce"``, values for ``"mse"``.
        x: targets, same shape as ``x_logits``.
        kind: ``"bce"`` or ``"mse"``.

    Returns:
        0-dim tensor, the reconstruction loss of one example (in nats for ``"bce"``).
    """
    if kind not in RECONSTRUCTION_KINDS:
        raise ValueError(f"unknown reconstruction kind {kind!r}; expected one of {RECONSTRUCTION_KINDS}")
    _check_tensor("x_logits", x_logits, min_dim=2)
    _check_tensor("x", x, min_dim=2)
    _check_same_shape("x_logits", x_logits, "x", x)
    if kind == "bce":
        lo, hi = float(x.min()), float(x.max())
        if lo < 0.0 or hi > 1.0:
            raise ValueError(
                f"binary cross-entropy needs targets x in [0, 1], got values in [{lo:.3g}, {hi:.3g}]; "
                "rescale images in [-1, 1] with (x + 1) / 2, or use kind='mse'"
            )
        per_element = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none")
    else:
        per_element = (x_logits - x).pow(2)
    return per_element.flatten(1).sum(dim=1).mean()  # sum over pixels, mean over batch


def vae_loss(
    x_logits: Tensor, x: Tensor, mu: Tensor, logvar: Tensor, beta: float = 1.0
) -> Tensor:
    r"""The (beta-)VAE loss: reconstruction plus ``beta`` times the KL term.

    .. math::
        \mathcal L = -\mathbb E_{q(z\mid x)}[\log p(x \mid z)]
                     + \beta\,\mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big)

    With ``beta = 1`` this is the negative ELBO of one example in nats (an upper bound on
    :math:`-\log p(x)`), estimated with the single ``z`` that produced ``x_logits``.
    ``beta > 1`` is the beta-VAE of Higgins et al. (2017).

    Reduction: both terms summed over the dimensions of one example, averaged over the batch
    (see :func:`reconstruction_loss` with ``kind="bce"`` and :func:`kl_divergence`).
    """
    _check_tensor("x", x, min_dim=2)
    _check_tensor("mu", mu, min_dim=2, batch_hint=" as (N, latent_dim)")
    if x.shape[0] != mu.shape[0]:
        raise ValueError(
            f"expected x and mu with the same batch size, got shapes {_shape(x)} and {_shape(mu)}"
        )
    return reconstruction_loss(x_logits, x) + beta * kl_divergence(mu, logvar)


# ----------------------------------------------------------------------------- sparse autoencoders


def sparsity_kl_loss(code: Tensor, target: float = 0.1, eps: float = 1e-6) -> Tensor:
    r"""KL sparsity penalty of a sparse autoencoder's code, whose units fire with probability in (0, 1).

    With :math:`\hat\rho_j = \frac{1}{N}\sum_n z_{nj}` the mean activation of code unit :math:`j`
    over the batch and :math:`\rho` the target,

    .. math::
        \sum_j \mathrm{KL}(\rho \,\|\, \hat\rho_j) = \sum_j \Big[\rho \log\frac{\rho}{\hat\rho_j}
            + (1 - \rho) \log\frac{1 - \rho}{1 - \hat\rho_j}\Big],

    the KL divergence between two Bernoulli distributions, zero only when every unit's mean
    activation equals :math:`\rho`.

    Reduction: the activations are **averaged over the batch first** (the penalty is on each
    unit's mean, not on each example), then the KL terms are **summed over the code units**.
    :math:`\hat\rho_j` is clamped to ``[eps, 1 - eps]`` so a dead unit gives a large finite value.

    Args:
        code: ``(N, units)`` activations in [0, 1] (e.g. after a sigmoid).
        target: :math:`\rho`, the wanted mean activation, in (0, 1).
    """
    _check_tensor("code", code, min_dim=2, batch_hint=" as (N, units)")
    if not 0.0 < target < 1.0:
        raise ValueError(f"target sparsity must lie in (0, 1), got {target}")
    lo, hi = float(code.detach().min()), float(code.detach().max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"sparsity_kl_loss needs activations in [0, 1] (a sigmoid code), got values in [{lo:.3g}, {hi:.3g}]")
    rho_hat = code.flatten(1).mean(dim=0).clamp(eps, 1.0 - eps)  # (units,) mean over the batch
    rho = torch.as_tensor(target, dtype=rho_hat.dtype, device=rho_hat.device)
    kl = rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))
    return kl.sum()  # sum over units


def l1_activity_loss(code: Tensor) -> Tensor:
    r"""L1 activity penalty :math:`\sum_j |z_j|` of a code, which pushes most units to exactly zero.

    Reduction: **summed over the code units**, **averaged over the batch**.

    Args:
        code: ``(N, units)`` activations.
    """
    _check_tensor("code", code, min_dim=2, batch_hint=" as (N, units)")
    return code.abs().flatten(1).sum(dim=1).mean()


# ----------------------------------------------------------------------------- GAN


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0) -> Tensor:
    r"""The GAN discriminator's binary cross-entropy (Goodfellow et al. 2014), from logits.

    .. math::
        \mathcal L_D = -\operatorname{mean}_i \log \sigma(D(x_i))
                       - \operatorname{mean}_j \log\big(1 - \sigma(D(G(z_j)))\big)

    i.e. real examples labelled 1, fakes labelled 0. ``real_label < 1`` is *one-sided label
    smoothing* (Salimans et al. 2016): real examples get the target ``a = real_label``, so the
    real term becomes :math:`-\operatorname{mean}_i [a \log \sigma(D(x_i)) + (1 - a) \log(1 - \sigma(D(x_i)))]`
    and the best discriminator is :math:`a\,p_{data} / (p_{data} + p_g)` instead of
    :math:`p_{data} / (p_{data} + p_g)`; fakes keep the target 0.

    Reduction: **each term averaged over its own batch** (over every element of the logits,
    so a PatchGAN's ``(N, 1, H, W)`` map works too), **the two terms summed**. Real and fake
    batches may differ in size. In the critic step pass ``fake_logits = D(fake.detach())``.
    """
    _check_tensor("real_logits", real_logits)
    _check_tensor("fake_logits", fake_logits)
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1] (1: no smoothing, 0.9: the usual smoothing), got {real_label}")
    real_term = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))  # -log D(x) at 1
    fake_term = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))  # -log(1 - D(G(z)))
    return real_term + fake_term


def generator_loss(fake_logits: Tensor) -> Tensor:
    r"""The non-saturating GAN generator loss (Goodfellow et al. 2014, section 3).

    .. math::
        \mathcal L_G = -\operatorname{mean}_j \log \sigma(D(G(z_j)))

    i.e. binary cross-entropy of the fakes against label 1. Its gradient stays large while the
    discriminator confidently rejects the fakes, unlike the saturating
    :math:`\log(1 - \sigma(D(G(z))))`.

    Reduction: **averaged** over every element of ``fake_logits``.
    """
    _check_tensor("fake_logits", fake_logits)
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


# ----------------------------------------------------------------------------- WGAN, WGAN-GP


def critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    r"""The WGAN critic loss (Arjovsky et al. 2017): minus the critic's Wasserstein estimate.

    .. math::
        \mathcal L_C = \operatorname{mean}_j f(G(z_j)) - \operatorname{mean}_i f(x_i)

    Reduction: **each term averaged over its own batch**. The critic must be kept (roughly)
    1-Lipschitz, by weight clipping or by adding :func:`gradient_penalty`.
    """
    _check_tensor("real_scores", real_scores)
    _check_tensor("fake_scores", fake_scores)
    return fake_scores.mean() - real_scores.mean()


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    r"""The WGAN generator loss: :math:`\mathcal L_G = -\operatorname{mean}_j f(G(z_j))`.

    Reduction: **averaged** over every element of ``fake_scores``.
    """
    _check_tensor("fake_scores", fake_scores)
    return -fake_scores.mean()


def gradient_penalty(
    critic: Module,
    real: Tensor,
    fake: Tensor,
    eps: Optional[Union[Tensor, float]] = None,
    *,
    generator: Optional[torch.Generator] = None,
) -> Tensor:
    r"""The WGAN-GP gradient penalty (Gulrajani et al. 2017, algorithm 1).

    .. math::
        \hat x_i = \epsilon_i x_i + (1 - \epsilon_i)\,\tilde x_i, \qquad
        \epsilon_i \sim U(0, 1), \qquad
        \mathrm{GP} = \operatorname{mean}_i \big(\lVert \nabla_{\hat x} f(\hat x_i) \rVert_2 - 1\big)^2

    with ``real`` :math:`x`, ``fake`` :math:`\tilde x` and critic :math:`f`. The critic loss of
    WGAN-GP is ``critic_loss(...) + lambda_gp * gradient_penalty(...)`` with ``lambda_gp = 10``.

    * **One** :math:`\epsilon_i` **per example**, broadcast over all its pixels (shape
      ``(N, 1, ..., 1)``), never one per pixel.
    * The norm is taken over **all non-batch dimensions** (the gradient of one example is
      flattened), then the penalty is **averaged over the batch**.
    * The gradient is computed with ``create_graph=True``, so the penalty is differentiable
      with respect to the critic's parameters.
    * :math:`\hat x` is built from **detached** ``real`` and ``fake``: the penalty is a
      regulariser of the critic only and never sends gradients into the generator. Callers
      should still pass ``fake.detach()`` to the critic step (as for ``critic_loss``).
    * The critic should not use batch norm (the paper's advice): it couples the examples, so
      the gradient of one score would depend on the others.

    Args:
        critic: module or function mapping a batch ``(N, ...)`` to scores (any shape; they are
            summed before differentiating, which gives each example's own gradient when the
            examples are processed independently).
        real: real batch, shape ``(N, ...)`` with at least 2 dimensions.
        fake: fake batch, same shape as ``real``.
        eps: interpolation weights, one per example. ``None`` draws :math:`U(0, 1)` of shape
            ``(N, 1, ..., 1)`` (with ``generator`` if given). A tensor of shape ``(N,)`` is
            reshaped to ``(N, 1, ..., 1)``; any other shape (per-pixel weights, one shared
            number) raises ``ValueError``.
        generator: optional :class:`torch.Generator` to draw ``eps`` reproducibly.

    Returns:
        0-dim tensor, the penalty averaged over the batch.
    """
    if not callable(critic):
        raise TypeError(f"expected critic to be a module or function, got {type(critic).__name__}")
    _check_tensor("real", real, min_dim=2)
    _check_tensor("fake", fake, min_dim=2)
    _check_same_shape("real", real, "fake", fake)
    n = real.shape[0]
    per_example_shape = (n,) + (1,) * (real.dim() - 1)  # (N, 1, ..., 1)

    if eps is None:
        eps = torch.rand(per_example_shape, generator=generator, dtype=real.dtype, device=real.device)
    else:
        if generator is not None:
            raise ValueError("pass either eps or generator to gradient_penalty, not both")
        eps = torch.as_tensor(eps, dtype=real.dtype, device=real.device)
        if eps.dim() == 1 and eps.shape[0] == n:
            eps = eps.view(per_example_shape)  # one weight per example, even when N == a feature dim
        if tuple(eps.shape) != per_example_shape:
            raise ValueError(
                f"expected eps with one weight per example, of shape {_shape_of(per_example_shape)} or ({n},), "
                f"got {_shape(eps)}; per-pixel or shared weights are not the WGAN-GP penalty "
                f"(use torch.rand({', '.join(map(str, per_example_shape))}))"
            )
    eps = eps.detach()

    with torch.enable_grad():  # works even when called under torch.no_grad()
        x_hat = eps * real.detach() + (1 - eps) * fake.detach()  # random points between the batches
        x_hat.requires_grad_(True)
        scores = critic(x_hat)
        (grad,) = torch.autograd.grad(
            outputs=scores.sum(), inputs=x_hat, create_graph=True  # keep the graph: d(GP)/d(params)
        )
        grad_norm = grad.flatten(1).norm(2, dim=1)  # ||grad f(x_hat_i)||_2 over all non-batch dims
        return (grad_norm - 1).pow(2).mean()  # mean_i (||.|| - 1)^2


# ----------------------------------------------------------------------------- CycleGAN


def cycle_consistency_loss(real: Tensor, reconstructed: Tensor) -> Tensor:
    r"""Cycle-consistency loss (Zhu et al. 2017, eq. 2), one direction.

    .. math::
        \mathcal L_{\text{cyc}} = \operatorname{mean} \lvert F(G(x)) - x \rvert

    Reduction: L1, **mean absolute error over all elements** (batch, channels, pixels).
    """
    _check_tensor("real", real)
    _check_tensor("reconstructed", reconstructed)
    _check_same_shape("real", real, "reconstructed", reconstructed)
    return (reconstructed - real).abs().mean()


def identity_loss(real: Tensor, same: Tensor) -> Tensor:
    r"""Identity-mapping loss (Zhu et al. 2017, section 5.2; Taigman et al. 2017).

    .. math::
        \mathcal L_{\text{id}} = \operatorname{mean} \lvert G(y) - y \rvert

    where ``same`` is a generator applied to an image already in its *target* domain.
    Reduction: L1, **mean absolute error over all elements**.
    """
    _check_tensor("real", real)
    _check_tensor("same", same)
    _check_same_shape("real", real, "same", same)
    return (same - real).abs().mean()


def lsgan_discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    r"""Least-squares GAN discriminator loss (Mao et al. 2017), as used by CycleGAN.

    .. math::
        \mathcal L_D = \tfrac12\Big(\operatorname{mean}\,(D(y) - 1)^2
                                    + \operatorname{mean}\,D(G(x))^2\Big)

    The factor 1/2 follows the CycleGAN paper (section 7.1, "we divide the objective by 2 while
    optimizing D") and its reference implementation; it slows D relative to G.

    Reduction: **each term averaged over every element** of its scores (a PatchGAN's
    ``(N, 1, H, W)`` map included), the sum halved. Pass ``D(fake.detach())``.
    """
    _check_tensor("real_scores", real_scores)
    _check_tensor("fake_scores", fake_scores)
    real_term = (real_scores - 1).pow(2).mean()  # real patches -> 1
    fake_term = fake_scores.pow(2).mean()  # fake patches -> 0
    return 0.5 * (real_term + fake_term)


def lsgan_generator_loss(fake_scores: Tensor) -> Tensor:
    r"""Least-squares GAN generator loss (Mao et al. 2017; Zhu et al. 2017, section 4).

    .. math::
        \mathcal L_G = \operatorname{mean}\,(D(G(x)) - 1)^2

    Reduction: **averaged over every element** of ``fake_scores``.
    """
    _check_tensor("fake_scores", fake_scores)
    return (fake_scores - 1).pow(2).mean()


def cyclegan_generator_loss(
    g_xy: Module,
    g_yx: Module,
    d_x: Module,
    d_y: Module,
    real_x: Tensor,
    real_y: Tensor,
    cycle_weight: float = 10.0,
    identity_weight: float = 5.0,
) -> dict[str, Tensor]:
    r"""The full CycleGAN objective of both generators (Zhu et al. 2017, eq. 3 plus identity).

    .. math::
        \mathcal L = \mathcal L_{\text{GAN}}(G_{XY}, D_Y) + \mathcal L_{\text{GAN}}(G_{YX}, D_X)
            + \lambda_{\text{cyc}}\big(\lVert G_{YX}(G_{XY}(x)) - x\rVert_1
                                      + \lVert G_{XY}(G_{YX}(y)) - y\rVert_1\big)
            + \lambda_{\text{id}}\big(\lVert G_{XY}(y) - y\rVert_1 + \lVert G_{YX}(x) - x\rVert_1\big)

    with the least-squares adversarial terms of :func:`lsgan_generator_loss` and the L1 terms
    of :func:`cycle_consistency_loss` / :func:`identity_loss` (each a mean over elements).
    The paper's defaults are :math:`\lambda_{\text{cyc}} = 10` and
    :math:`\lambda_{\text{id}} = 0.5\,\lambda_{\text{cyc}} = 5`. With ``identity_weight == 0``
    the two identity forward passes are skipped and ``"identity"`` is a zero tensor.

    Args:
        g_xy, g_yx: generators X -> Y and Y -> X.
        d_x, d_y: discriminators of domains X and Y (return scores, no sigmoid).
        real_x, real_y: batches from X and Y.
        cycle_weight, identity_weight: :math:`\lambda_{\text{cyc}}`, :math:`\lambda_{\text{id}}`.

    Returns:
        dict with ``"loss"`` (0-dim, to backpropagate), its parts ``"adversarial"``, ``"cycle"``
        and ``"identity"`` (unweighted, 0-dim), and the fakes ``"fake_x"`` = ``g_yx(real_y)``
        and ``"fake_y"`` = ``g_xy(real_x)`` (still attached to the graph; detach them before
        the discriminator step or an image history buffer).
    """
    _check_tensor("real_x", real_x)
    _check_tensor("real_y", real_y)
    fake_y = g_xy(real_x)  # G(x): X -> Y
    fake_x = g_yx(real_y)  # F(y): Y -> X

    # adversarial: each generator tries to make its discriminator output 1 on its fakes
    adversarial = lsgan_generator_loss(d_y(fake_y)) + lsgan_generator_loss(d_x(fake_x))

    # cycle: x -> G(x) -> F(G(x)) ~ x and y -> F(y) -> G(F(y)) ~ y
    cycle = cycle_consistency_loss(real_x, g_yx(fake_y)) + cycle_consistency_loss(real_y, g_xy(fake_x))

    # identity: a generator fed an image of its target domain should leave it unchanged
    if identity_weight != 0:
        identity = identity_loss(real_y, g_xy(real_y)) + identity_loss(real_x, g_yx(real_x))
    else:
        identity = torch.zeros((), dtype=cycle.dtype, device=cycle.device)

    loss = adversarial + cycle_weight * cycle + identity_weight * identity
    return {
        "loss": loss,
        "adversarial": adversarial,
        "cycle": cycle,
        "identity": identity,
        "fake_x": fake_x,
        "fake_y": fake_y,
    }
