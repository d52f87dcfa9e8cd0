r"""How good is a trained generative model? Likelihood bounds, reconstruction errors and sample quality.

=========================  ==========================================================================
function                   measures
=========================  ==========================================================================
negative_elbo              a VAE's test negative ELBO, nats per image (an upper bound on -log p(x))
importance_weighted_nll    a tighter bound on -log p(x) with K importance samples (Burda et al. 2016)
reconstruction_error       an autoencoder's error on each image (for outlier detection)
frechet_distance           Frechet distance between real and generated images in a classifier's
                           feature space (FID with the course's MNIST CNN instead of Inception)
classifier_score           exp(E_x KL(p(y|x) || p(y))) with the MNIST classifier ("inception score")
sample_quality_report      both, for generated digits and for held-out real digits as the reference
attribute_accuracy         how often an attribute classifier agrees with the attributes of images
mode_coverage              modes of a 2-D Gaussian mixture covered by samples, and sample quality
=========================  ==========================================================================

Sample-quality metrics take images in **[0, 1]** of the classifier's input shape (``(N, 1, 28, 28)``
for MNIST). Generators with a ``tanh`` output produce [-1, 1]: map them first with ``(x + 1) / 2``.

The Frechet distance and the classifier score are computed by torchmetrics
(:class:`torchmetrics.image.fid.FrechetInceptionDistance` and
:class:`torchmetrics.image.inception.InceptionScore`), each given the course's classifier as a
custom feature extractor, so the maths is a maintained implementation's. Values from a different
feature extractor (Inception-v3) are on another scale: compare numbers only within this course.
"""
from __future__ import annotations

import contextlib
import math
import warnings
from typing import Dict, Iterator, Optional, Sequence, Union

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .checks import check_images, device_of as _device_of, evaluating
from .losses import vae_loss

_check_images = check_images

Tensor = torch.Tensor

__all__ = [
    "negative_elbo",
    "importance_weighted_nll",
    "reconstruction_error",
    "frechet_distance",
    "classifier_score",
    "sample_quality_report",
    "attribute_accuracy",
    "mode_coverage",
]

RECONSTRUCTION_ERROR_KINDS = ("bce", "mse", "sigmoid_mse")
LOG_2PI = math.log(2 * math.pi)


# ----------------------------------------------------------------------------- helpers


def _evaluating(model: nn.Module):
    """Evaluation mode and no gradients inside the block; the model's previous mode afterwards."""
    return evaluating(model)


def _batches(x: Tensor, batch_size: int) -> Iterator[Tensor]:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    for start in range(0, len(x), batch_size):
        yield x[start:start + batch_size]


class _Features(nn.Module):
    """Adapter giving torchmetrics a classifier's embedding (or logits) as ``(N, d)`` features."""

    def __init__(self, classifier: nn.Module, use_logits: bool = False):
        super().__init__()
        if not use_logits and not (callable(getattr(classifier, "features", None)) and hasattr(classifier, "feature_dim")):
            raise TypeError(
                f"{type(classifier).__name__} needs a features(x) method and a feature_dim attribute; use a "
                "course_lib.models.CNNClassifier (or any module with features(x) -> (N, feature_dim))"
            )
        self.classifier = classifier
        self.use_logits = use_logits
        if not use_logits:
            self.num_features = int(getattr(classifier, "feature_dim"))

    def forward(self, x: Tensor) -> Tensor:
        out = self.classifier(x) if self.use_logits else self.classifier.features(x)
        return out.flatten(1)


# ----------------------------------------------------------------------------- likelihood


def negative_elbo(model: nn.Module, x: Tensor, n_samples: int = 1, batch_size: int = 256,
                  generator: Optional[torch.Generator] = None) -> float:
    r"""Test negative ELBO of a VAE, in nats per image.

    .. math::
        -\mathrm{ELBO}(x) = \mathbb E_{q(z\mid x)}\big[-\log p(x \mid z)\big]
                           + \mathrm{KL}\big(q(z \mid x)\,\|\,p(z)\big) \;\ge\; -\log p(x)

    The reconstruction term is the binary cross-entropy with logits **summed over pixels**, estimated
    with ``n_samples`` draws of ``z`` per image; the KL term is the closed form. Both come from
    :func:`course_lib.losses.vae_loss` (``beta=1``); the result is **averaged over images**. The model
    runs in evaluation mode without gradients, and gets its previous mode back afterwards.

    Args:
        model: a VAE whose ``forward(x, noise=None)`` returns ``(x_logits, mu, logvar)``.
        x: images in [0, 1], ``(N, C, H, W)``.
        n_samples: draws of ``z`` per image for the reconstruction term.
        batch_size: images per forward pass.
        generator: optional :class:`torch.Generator` (on the model's device) for the noise; needs
            ``model.latent_dim``. Without one the model draws its own noise.

    Returns:
        The mean negative ELBO in nats per image (lower is better). Divide by ``H * W * C * ln 2``
        for bits per dimension.
    """
    _check_images(x, "x", model)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    if generator is not None and not hasattr(model, "latent_dim"):
        raise TypeError(f"{type(model).__name__} has no latent_dim attribute, needed to draw noise with a generator")
    device = _device_of(model)
    total = 0.0
    with _evaluating(model):
        for xb in _batches(x, batch_size):
            xb = xb.to(device)
            for _ in range(n_samples):
                noise = None
                if generator is not None:
                    noise = torch.randn(len(xb), model.latent_dim, generator=generator, device=device, dtype=xb.dtype)
                x_logits, mu, logvar = model(xb, noise=noise)
                total += float(vae_loss(x_logits, xb, mu, logvar)) * len(xb)  # batch mean -> batch sum
    return total / (len(x) * n_samples)


def importance_weighted_nll(model: nn.Module, x: Tensor, n_samples: int = 50, batch_size: int = 64,
                            generator: Optional[torch.Generator] = None) -> float:
    r"""Importance-weighted estimate of :math:`-\log p(x)`, nats per image (Burda, Grosse & Salakhutdinov 2016).

    .. math::
        -\log p(x) \approx -\log \frac1K \sum_{k=1}^K \frac{p(x \mid z_k)\,p(z_k)}{q(z_k \mid x)},
        \qquad z_k \sim q(z \mid x)

    Its expectation is a bound that tightens as ``K = n_samples`` grows (``K = 1`` is the negative
    ELBO with a sampled KL term). ``p(x | z)`` is the Bernoulli likelihood of the decoder's logits
    (summed over pixels), ``p(z) = N(0, I)``, ``q(z | x) = N(mu, diag exp(logvar))``. Averaged over images.

    Args:
        model: a VAE with ``encode(x) -> (mu, logvar)``, ``decode(z) -> x_logits`` and ``latent_dim``.
        x: images in [0, 1], ``(N, C, H, W)``.
        n_samples: ``K``, importance samples per image (cost: ``K`` decoder passes per image).
        batch_size: images per pass (``K * batch_size`` codes are decoded at once).
        generator: optional :class:`torch.Generator` for the noise.
    """
    _check_images(x, "x", model)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    device = _device_of(model)
    total = 0.0
    with _evaluating(model):
        for xb in _batches(x, batch_size):
            xb = xb.to(device)
            b = len(xb)
            mu, logvar = model.encode(xb)  # (B, D) each
            eps = torch.randn(n_samples, b, mu.shape[1], generator=generator, device=device, dtype=mu.dtype)  # (K, B, D)
            z = mu + torch.exp(0.5 * logvar) * eps  # (K, B, D)
            x_logits = model.decode(z.reshape(n_samples * b, -1)).reshape(n_samples, *xb.shape)  # (K, B, C, H, W)
            target = xb.expand_as(x_logits)
            log_px_z = -F.binary_cross_entropy_with_logits(x_logits, target, reduction="none").flatten(2).sum(2)  # (K, B)
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(2)  # (K, B)
            log_qz_x = -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(2)  # (K, B): (z - mu)^2 / var = eps^2
            log_w = log_px_z + log_pz - log_qz_x  # (K, B)
            log_px = torch.logsumexp(log_w, dim=0) - math.log(n_samples)  # (B,)
            total += float(-log_px.sum())
    return total / len(x)


def reconstruction_error(model: nn.Module, x: Tensor, batch_size: int = 256, kind: str = "bce") -> Tensor:
    r"""Reconstruction error of each image under an autoencoder, shape ``(N,)``.

    Images the model reconstructs badly are unlike its training data: rank images by this error to
    flag outliers (e.g. threshold at a high quantile of the errors on held-out normal data).

    ``kind``:

    * ``"bce"`` (default): binary cross-entropy with the model's logits, **summed over pixels**
      (nats; the per-image version of ``course_lib.losses.reconstruction_loss``).
    * ``"mse"``: squared error of the raw output, summed over pixels (for models trained with
      ``reconstruction_loss(..., kind="mse")``, e.g. a linear autoencoder).
    * ``"sigmoid_mse"``: squared error of ``sigmoid(logits)``, summed over pixels: the pixel-space
      error of a model trained with binary cross-entropy.

    The model (``forward(x)`` returns the reconstruction's logits, or a tuple whose first element
    they are, as a VAE's) runs in evaluation mode without gradients. Returns a CPU float tensor.
    """
    if kind not in RECONSTRUCTION_ERROR_KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {RECONSTRUCTION_ERROR_KINDS}")
    _check_images(x, "x", model)
    device = _device_of(model)
    errors = []
    with _evaluating(model):
        for xb in _batches(x, batch_size):
            xb = xb.to(device)
            out = model(xb)
            out = out[0] if isinstance(out, (tuple, list)) else out
            if kind == "bce":
                per_pixel = F.binary_cross_entropy_with_logits(out, xb, reduction="none")
            elif kind == "mse":
                per_pixel = (out - xb).pow(2)
            else:
                per_pixel = (torch.sigmoid(out) - xb).pow(2)
            errors.append(per_pixel.flatten(1).sum(1).cpu())  # (B,)
    return torch.cat(errors)


# ----------------------------------------------------------------------------- sample quality


def _fid_metric(classifier: nn.Module):
    from torchmetrics.image.fid import FrechetInceptionDistance

    # normalize=True: a custom extractor gets float images as they are (no uint8 conversion);
    # num_features on the adapter spares torchmetrics a probe with a dummy image.
    return FrechetInceptionDistance(feature=_Features(classifier), normalize=True, reset_real_features=False)


def _update(metric, images: Tensor, batch_size: int, device: torch.device, **kwargs) -> None:
    for xb in _batches(images, batch_size):
        metric.update(xb.to(device), **kwargs)


def frechet_distance(real: Tensor, fake: Tensor, classifier: nn.Module, batch_size: int = 256) -> float:
    r"""Frechet distance between real and generated images in a classifier's feature space.

    With :math:`(\mu_r, \Sigma_r)` and :math:`(\mu_g, \Sigma_g)` the mean and covariance of
    ``classifier.features(x)`` over the real and the generated images,

    .. math::
        d^2 = \lVert \mu_r - \mu_g \rVert^2 + \operatorname{tr}\big(\Sigma_r + \Sigma_g
              - 2 (\Sigma_r \Sigma_g)^{1/2}\big)

    the squared Wasserstein-2 distance between two Gaussians with those moments (Heusel et al.
    2017). With the course's :class:`~course_lib.models.CNNClassifier` trained on MNIST this is
    "FID" with an MNIST network instead of Inception-v3. Lower is better; 0 for identical feature
    statistics. The estimate is biased upwards for small sets, so compare values computed from the
    same numbers of images (:func:`sample_quality_report` does).

    Computed by torchmetrics' ``FrechetInceptionDistance`` with the classifier as a custom feature
    extractor (statistics accumulated in float64; the matrix square root's trace from the
    eigenvalues of :math:`\Sigma_r \Sigma_g`). Tiny negative round-off is clipped to 0.

    Args:
        real, fake: images in [0, 1] of the classifier's input shape, e.g. ``(N, 1, 28, 28)``, at
            least 2 of each. Map tanh outputs first: ``(fake + 1) / 2``.
        classifier: a module with ``features(x) -> (N, d)`` and ``feature_dim`` (run in eval mode).
        batch_size: images per forward pass.
    """
    _check_images(real, "real", classifier, min_count=2)
    _check_images(fake, "fake", classifier, min_count=2)
    device = _device_of(classifier)
    with _evaluating(classifier):
        metric = _fid_metric(classifier).to(device)
        _update(metric, real, batch_size, device, real=True)
        _update(metric, fake, batch_size, device, real=False)
        return max(float(metric.compute()), 0.0)


def classifier_score(images: Tensor, classifier: nn.Module, splits: int = 1, batch_size: int = 256) -> float:
    r"""The "inception score" with the course's classifier: :math:`\exp\big(\mathbb E_x\,
    \mathrm{KL}(p(y \mid x)\,\|\,p(y))\big)`, where :math:`p(y) = \mathbb E_x\,p(y \mid x)`.

    High when each image is classified confidently (low-entropy :math:`p(y|x)`) **and** the classes
    are used evenly (high-entropy :math:`p(y)`): between 1 (every image gets the same prediction)
    and the number of classes (confident predictions spread evenly over all classes). It says
    nothing about whether the images look like the real ones; pair it with :func:`frechet_distance`.

    Computed by torchmetrics' ``InceptionScore`` with the classifier's logits as features (softmax
    inside). With ``splits > 1`` the images are shuffled (with a fixed seed, leaving the global
    random state untouched) into ``splits`` groups and the mean of the groups' scores is returned.

    Args:
        images: images in [0, 1] of the classifier's input shape, e.g. ``(N, 1, 28, 28)``.
        classifier: a module returning logits ``(N, num_classes)`` (run in eval mode).
        splits: number of groups.
        batch_size: images per forward pass.
    """
    from torchmetrics.image.inception import InceptionScore

    _check_images(images, "images", classifier, min_count=max(splits, 1))
    if splits < 1:
        raise ValueError(f"splits must be at least 1, got {splits}")
    device = _device_of(classifier)
    with _evaluating(classifier), warnings.catch_warnings(), torch.random.fork_rng(devices=[]):
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        warnings.filterwarnings("ignore", message=".*degrees of freedom.*")  # std of a single split
        torch.manual_seed(0)  # InceptionScore shuffles before splitting
        metric = InceptionScore(feature=_Features(classifier, use_logits=True), splits=splits).to(device)
        _update(metric, images, batch_size, device)
        mean, _std = metric.compute()
    return float(mean)


def sample_quality_report(real_test: Tensor, fake: Tensor, classifier: nn.Module, batch_size: int = 256,
                          seed: int = 0) -> pd.DataFrame:
    """Frechet distance and classifier score of generated images, next to held-out real images as the reference.

    ``real_test`` is shuffled (with ``seed``) and cut into halves A and B. Half A is the "real"
    set of both Frechet distances; the generated images and half B are each compared with it, with
    the same number ``n = min(len(fake), len(B))`` of images, so the "real" row shows the value a
    perfect generator would reach with that many images (not 0: sampling noise and bias).

    Args:
        real_test: held-out real images in [0, 1], at least 4.
        fake: generated images in [0, 1] (map tanh outputs with ``(x + 1) / 2``).
        classifier: the course's :class:`~course_lib.models.CNNClassifier` (``features`` and logits).

    Returns:
        A DataFrame indexed by ``"generated"`` and ``"real (held out)"`` with columns
        ``frechet_distance``, ``classifier_score`` and ``n_images``.
    """
    _check_images(real_test, "real_test", classifier, min_count=4)
    _check_images(fake, "fake", classifier, min_count=2)
    perm = torch.randperm(len(real_test), generator=torch.Generator().manual_seed(seed))
    half = len(real_test) // 2
    ref, held_out = real_test[perm[:half]], real_test[perm[half:]]
    n = min(len(fake), len(held_out))
    rows = {}
    device = _device_of(classifier)
    with _evaluating(classifier):
        metric = _fid_metric(classifier).to(device)
        _update(metric, ref, batch_size, device, real=True)  # kept across reset(): reset_real_features=False
        for name, images in (("generated", fake[:n]), ("real (held out)", held_out[:n])):
            metric.reset()
            _update(metric, images, batch_size, device, real=False)
            rows[name] = {
                "frechet_distance": max(float(metric.compute()), 0.0),
                "classifier_score": classifier_score(images, classifier, batch_size=batch_size),
                "n_images": n,
            }
    return pd.DataFrame.from_dict(rows, orient="index")


# ----------------------------------------------------------------------------- attributes and modes


def attribute_accuracy(classifier: nn.Module, images: Tensor, targets: Tensor,
                       names: Optional[Sequence[str]] = None, batch_size: int = 256) -> Union[pd.Series, float]:
    """Agreement of a classifier's predictions with known attributes of images.

    * Multi-label (:class:`~course_lib.models.AttributeClassifier`): ``targets`` is ``(N, A)`` with
      0/1 (or bool) entries; attribute ``a`` is predicted present when its logit is above 0.
      Returns a Series of ``A`` accuracies indexed by ``names`` (default ``attr_0``, ...).
    * Single-label: ``targets`` is ``(N,)`` class indices; the prediction is the arg-max logit.
      Returns the accuracy as a float.

    Use it to check which attributes a VAE reconstruction or a CycleGAN translation keeps: score
    the translated images against the attributes they should have.
    """
    _check_images(images, "images", classifier)
    targets = torch.as_tensor(targets)
    if len(targets) != len(images):
        raise ValueError(f"expected one target row per image, got {len(targets)} targets for {len(images)} images")
    device = _device_of(classifier)
    with _evaluating(classifier):
        logits = torch.cat([classifier(xb.to(device)).cpu() for xb in _batches(images, batch_size)])
    if targets.dim() == 1:
        return float((logits.argmax(1) == targets.long()).float().mean())
    if logits.shape != targets.shape:
        raise ValueError(f"expected targets of shape {tuple(logits.shape)} (one column per logit), got {tuple(targets.shape)}")
    correct = ((logits > 0) == targets.bool()).float().mean(0)  # (A,)
    names = list(names) if names is not None else [f"attr_{i}" for i in range(logits.shape[1])]
    if len(names) != logits.shape[1]:
        raise ValueError(f"expected {logits.shape[1]} attribute names, got {len(names)}")
    return pd.Series(correct.numpy(), index=names, name="accuracy")


def mode_coverage(samples: Tensor, centres: Tensor, std: float, threshold: float = 3.0,
                  min_count: int = 1) -> Dict[str, object]:
    """How many modes of a Gaussian mixture samples cover, and how many samples are good.

    Each sample is assigned to its nearest centre; it is **high quality** when it lies within
    ``threshold * std`` of that centre (Srivastava et al. 2017, "VEEGAN"). A mode is **covered**
    when at least ``min_count`` high-quality samples are assigned to it.

    Args:
        samples: generated points ``(N, 2)`` (any dimension ``d`` works: ``(N, d)``).
        centres: the mixture's means ``(K, d)``, e.g. ``course_lib.data.gaussian_ring_centres()``.
        std: the standard deviation of each mixture component.
        threshold: distance, in standard deviations, that counts as high quality.
        min_count: high-quality samples a mode needs to count as covered.

    Returns:
        ``{"modes_covered": int, "n_modes": K, "high_quality_fraction": float, "counts": (K,) tensor}``
        where ``counts[k]`` is the number of high-quality samples at mode ``k``.
    """
    samples, centres = torch.as_tensor(samples).float(), torch.as_tensor(centres).float()
    if samples.dim() != 2 or centres.dim() != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"expected samples (N, d) and centres (K, d) of the same d, got {tuple(samples.shape)} and {tuple(centres.shape)}"
        )
    if len(samples) == 0:
        raise ValueError("expected at least one sample")
    if std <= 0 or threshold <= 0:
        raise ValueError(f"std and threshold must be positive, got std={std}, threshold={threshold}")
    dist, nearest = torch.cdist(samples, centres).min(dim=1)  # (N,) each
    good = dist <= threshold * std
    counts = torch.bincount(nearest[good], minlength=len(centres))  # (K,)
    return {
        "modes_covered": int((counts >= min_count).sum()),
        "n_modes": len(centres),
        "high_quality_fraction": float(good.float().mean()),
        "counts": counts,
    }
