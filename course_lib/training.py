"""Training: one step function per model family, and one short loop that runs any of them.

A **step function** takes models, optimizers and a batch, makes one update (or one round of
updates, for the adversarial models) and returns a dict of Python floats::

    classifier_train_step(model, optimizer, x, y)                   -> loss, accuracy
    autoencoder_train_step(model, optimizer, x, noise_fn=None)      -> loss
    vae_train_step(model, optimizer, x, beta=1.0)                   -> loss, reconstruction, kl
    gan_train_step(G, D, g_opt, d_opt, real, latent_dim)            -> d_loss, g_loss, d_accuracy, d_real, d_fake
    wgan_critic_step(G, C, c_opt, real, latent_dim, clip_value)     -> critic_loss, wasserstein_distance
    critic_train_step(G, C, c_opt, real, latent_dim, gp_weight)     -> critic_loss, wasserstein_distance,
                                                                       gradient_penalty, loss
    wasserstein_generator_step(G, C, g_opt, batch_size, latent_dim) -> g_loss
    wgan_train_step(G, C, g_opt, c_opt, real, latent_dim, n_critic, clip_value | gp_weight)
    cyclegan_train_step(g_xy, g_yx, d_x, d_y, g_opt, d_opt, real_x, real_y, history_x, history_y)

Every step puts its models in train mode, zeroes the gradients of the optimizer it is about to
step, and raises :class:`NonFiniteLossError` *before* the update if a loss is NaN or infinite,
so the weights are never overwritten with NaNs.

:func:`fit` is the loop every chapter uses. The chapter writes a one-line closure that picks
the tensors out of a batch::

    result = fit(lambda batch: vae_train_step(model, optimizer, batch[0].to(device)),
                 loader, epochs=budget.pick(smoke=1, cpu=10, full=50),
                 checkpoint="checkpoints/vae.pt", modules={"vae": model},
                 optimizers={"adam": optimizer})
    result.history   # one row per step: epoch, step, loss, reconstruction, kl
    result.epochs    # one row per epoch: the means, and the epoch's wall-clock seconds
"""
from __future__ import annotations

import math
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler, Subset, TensorDataset

from .config import Budget
from .losses import (
    critic_loss,
    cyclegan_generator_loss,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    kl_divergence,
    lsgan_discriminator_loss,
    reconstruction_loss,
    vae_loss,
    wasserstein_generator_loss,
)

Tensor = torch.Tensor

__all__ = [
    "NonFiniteLossError",
    "classifier_train_step",
    "autoencoder_train_step",
    "vae_train_step",
    "gan_train_step",
    "clip_weights",
    "wgan_critic_step",
    "critic_train_step",
    "wasserstein_generator_step",
    "wgan_train_step",
    "ImageHistory",
    "cyclegan_train_step",
    "TrainingResult",
    "fit",
    "save_checkpoint",
    "load_checkpoint",
    "make_loader",
]


# ============================================================================ errors and helpers


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; training stops instead of writing NaNs into the weights.

    Attributes:
        losses: the non-finite values, ``{name: value}``.
        name, value: the first of them.
        step: the training step (set by :func:`fit`; ``None`` when raised by a bare step call).
    """

    def __init__(self, losses: Mapping[str, float], step: Optional[int] = None):
        self.losses = dict(losses)
        self.name, self.value = next(iter(self.losses.items()))
        self.step = step
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" at step {self.step}" if self.step is not None else ""
        values = ", ".join(f"{name}={value}" for name, value in self.losses.items())
        return (
            f"non-finite loss{where}: {values}. Try a lower learning rate, check that the inputs "
            "are finite and in the range the loss expects (BCE targets in [0, 1]), and that the "
            "model returns logits (no sigmoid before a loss that takes logits)"
        )

    def at_step(self, step: int) -> "NonFiniteLossError":
        """Record the step number (used by :func:`fit`) and return the error."""
        self.step = step
        self.args = (self._message(),)
        return self


def _floats(**values: Tensor) -> Dict[str, float]:
    """0-dim tensors -> Python floats; raise :class:`NonFiniteLossError` if any is NaN or infinite."""
    floats = {name: v.item() for name, v in values.items()}
    bad = {name: x for name, x in floats.items() if not math.isfinite(x)}
    if bad:
        raise NonFiniteLossError(bad)
    return floats


def _update(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
    """zero_grad, backward, step: one gradient update of the optimizer's parameters."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


@contextmanager
def _frozen(*modules: nn.Module) -> Iterator[None]:
    """Stop gradients from accumulating in ``modules``' parameters (restored on exit).

    Used while updating a generator: the discriminator still passes gradients back to its
    input, but computes none for its own weights (faster, and nothing left in ``.grad``).
    """
    params = [p for m in modules for p in m.parameters()]
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def _device_of(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def _latent(n: int, latent_dim: int, device: torch.device, noise: Optional[Tensor]) -> Tensor:
    """``noise`` if given (checked), else ``z ~ N(0, I)`` of shape ``(n, latent_dim)``."""
    if noise is None:
        return torch.randn(n, latent_dim, device=device)
    if noise.shape[0] != n:
        raise ValueError(f"expected noise for {n} examples (one per real image), got shape {tuple(noise.shape)}")
    return noise


# ============================================================================ classifier, autoencoder, VAE


def classifier_train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, y: Tensor) -> Dict[str, float]:
    """One cross-entropy update of a classifier that returns logits ``(N, classes)``.

    Returns ``{"loss", "accuracy"}``: the batch-mean cross-entropy and the fraction of the batch
    classified correctly, both measured before the update.
    """
    model.train()
    logits = model(x)  # (N, classes)
    loss = F.cross_entropy(logits, y)  # mean over the batch
    accuracy = (logits.detach().argmax(dim=1) == y).float().mean()
    values = _floats(loss=loss, accuracy=accuracy)
    _update(optimizer, loss)
    return values


def autoencoder_train_step(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: Tensor,
    noise_fn: Optional[Callable[[Tensor], Tensor]] = None,
    kind: str = "bce",
) -> Dict[str, float]:
    """One update of an autoencoder ``model(x) -> x_logits`` with :func:`reconstruction_loss`.

    The denoising variant passes ``noise_fn`` (e.g. ``lambda x: (x + 0.3 * torch.randn_like(x)).clamp(0, 1)``):
    the model sees ``noise_fn(x)`` and is scored against the clean ``x``.

    Returns ``{"loss"}``: the reconstruction loss, summed over pixels, averaged over the batch.
    """
    model.train()
    x_in = x if noise_fn is None else noise_fn(x)
    loss = reconstruction_loss(model(x_in), x, kind=kind)  # against the clean x
    values = _floats(loss=loss)
    _update(optimizer, loss)
    return values


def vae_train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: Tensor, beta: float = 1.0) -> Dict[str, float]:
    """One update of a VAE ``model(x) -> (x_logits, mu, logvar)`` with :func:`vae_loss`.

    Returns ``{"loss", "reconstruction", "kl"}`` per example (summed over pixels / latent units,
    averaged over the batch): ``loss = reconstruction + beta * kl``, the negative ELBO when
    ``beta == 1``.
    """
    model.train()
    x_logits, mu, logvar = model(x)
    loss = vae_loss(x_logits, x, mu, logvar, beta=beta)
    with torch.no_grad():  # the two parts, for the history table only
        reconstruction = reconstruction_loss(x_logits, x)
        kl = kl_divergence(mu, logvar)
    values = _floats(loss=loss, reconstruction=reconstruction, kl=kl)
    _update(optimizer, loss)
    return values


# ============================================================================ GAN


def gan_train_step(
    generator: nn.Module,
    discriminator: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    real: Tensor,
    latent_dim: int,
    noise: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One GAN round (Goodfellow et al. 2014, algorithm 1 with k = 1): D update, then G update.

    1. Discriminator: :func:`discriminator_loss` on ``D(real)`` and ``D(fake.detach())`` (the
       detach keeps the generator out of this update); only ``d_optimizer`` steps.
    2. Generator: the non-saturating :func:`generator_loss` on a fresh ``D(fake)`` (D as just
       updated, ``fake`` not detached so the gradient reaches G); D's weights are frozen during
       this backward pass and only ``g_optimizer`` steps.

    Args:
        real: a batch of real images ``(N, ...)``.
        latent_dim: size of the generator's input ``z``.
        noise: ``z`` of shape ``(N, latent_dim)`` (default: drawn from ``N(0, I)``), used for
            both updates.

    Returns:
        ``{"d_loss", "g_loss", "d_accuracy", "d_real", "d_fake"}``: the two losses,
        the fraction of real and fake images D classifies correctly, and the mean
        probabilities D(x) and D(G(z)) D gives real and fake images before its update.
    """
    generator.train()
    discriminator.train()
    z = _latent(real.shape[0], latent_dim, real.device, noise)
    fake = generator(z)

    # 1. discriminator: real -> 1, fake -> 0
    real_logits = discriminator(real)
    fake_logits = discriminator(fake.detach())  # no gradient into G
    d_loss = discriminator_loss(real_logits, fake_logits)
    d_values = _floats(d_loss=d_loss)
    _update(d_optimizer, d_loss)

    # 2. generator: make the updated D call the fakes real
    with _frozen(discriminator):
        g_loss = generator_loss(discriminator(fake))
        g_values = _floats(g_loss=g_loss)
        _update(g_optimizer, g_loss)

    with torch.no_grad():
        real_logits, fake_logits = real_logits.detach(), fake_logits.detach()
        correct = (real_logits > 0).float().sum() + (fake_logits < 0).float().sum()
        stats = _floats(
            d_accuracy=correct / (real_logits.numel() + fake_logits.numel()),
            d_real=torch.sigmoid(real_logits).mean(),
            d_fake=torch.sigmoid(fake_logits).mean(),
        )
    return {**d_values, **g_values, **stats}


# ============================================================================ WGAN and WGAN-GP


@torch.no_grad()
def clip_weights(critic: nn.Module, clip_value: float) -> None:
    """Clamp every parameter of ``critic`` in place to ``[-clip_value, clip_value]`` (original WGAN)."""
    if not clip_value > 0:
        raise ValueError(f"clip_value must be positive, got {clip_value}")
    for p in critic.parameters():
        p.clamp_(-clip_value, clip_value)


def wgan_critic_step(
    generator: nn.Module,
    critic: nn.Module,
    c_optimizer: torch.optim.Optimizer,
    real: Tensor,
    latent_dim: int,
    clip_value: float = 0.01,
    noise: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One critic update of the original WGAN (Arjovsky et al. 2017, algorithm 1, lines 3-8).

    :func:`critic_loss` on real and generated images (the generator runs under ``no_grad``,
    so none of its parameters can change), then :func:`clip_weights`.

    Returns ``{"critic_loss", "wasserstein_distance"}``, the latter ``= -critic_loss``, the
    critic's estimate of the Wasserstein distance (up to the Lipschitz constant).
    """
    generator.train()
    critic.train()
    with torch.no_grad():  # fakes are constants here
        fake = generator(_latent(real.shape[0], latent_dim, real.device, noise))
    loss = critic_loss(critic(real), critic(fake))
    values = _floats(critic_loss=loss)
    _update(c_optimizer, loss)
    clip_weights(critic, clip_value)
    return {**values, "wasserstein_distance": -values["critic_loss"]}


def critic_train_step(
    generator: nn.Module,
    critic: nn.Module,
    c_optimizer: torch.optim.Optimizer,
    real: Tensor,
    latent_dim: int,
    gp_weight: float = 10.0,
    noise: Optional[Tensor] = None,
    eps: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One critic update of WGAN-GP (Gulrajani et al. 2017, algorithm 1, lines 3-9).

    ``loss = critic_loss(C(real), C(fake)) + gp_weight * gradient_penalty(C, real, fake, eps)``
    with ``fake`` generated under ``no_grad`` (so the generator is not updated).

    Args:
        noise: ``z`` for the fakes (default: drawn from ``N(0, I)``).
        eps: the per-example interpolation weights of the penalty (default: drawn ``U(0, 1)``).

    Returns:
        ``{"critic_loss", "wasserstein_distance", "gradient_penalty", "loss"}``: the critic
        loss without the penalty, its negative (the Wasserstein estimate), the penalty, and
        the total that was minimised.
    """
    generator.train()
    critic.train()
    with torch.no_grad():
        fake = generator(_latent(real.shape[0], latent_dim, real.device, noise))
    c_loss = critic_loss(critic(real), critic(fake))
    penalty = gradient_penalty(critic, real, fake, eps=eps)
    loss = c_loss + gp_weight * penalty
    values = _floats(critic_loss=c_loss, gradient_penalty=penalty, loss=loss)
    _update(c_optimizer, loss)
    return {
        "critic_loss": values["critic_loss"],
        "wasserstein_distance": -values["critic_loss"],
        "gradient_penalty": values["gradient_penalty"],
        "loss": values["loss"],
    }


def wasserstein_generator_step(
    generator: nn.Module,
    critic: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    batch_size: int,
    latent_dim: int,
    noise: Optional[Tensor] = None,
) -> Dict[str, float]:
    """One generator update of (W)GAN-GP: minimise :func:`wasserstein_generator_loss` ``= -mean C(G(z))``.

    The critic's weights are frozen during the backward pass; only ``g_optimizer`` steps.
    Returns ``{"g_loss"}``.
    """
    generator.train()
    critic.train()
    z = _latent(batch_size, latent_dim, _device_of(generator), noise)
    with _frozen(critic):
        g_loss = wasserstein_generator_loss(critic(generator(z)))
        values = _floats(g_loss=g_loss)
        _update(g_optimizer, g_loss)
    return values


def wgan_train_step(
    generator: nn.Module,
    critic: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    c_optimizer: torch.optim.Optimizer,
    real: Union[Tensor, Sequence[Tensor]],
    latent_dim: int,
    *,
    n_critic: int = 5,
    clip_value: Optional[float] = None,
    gp_weight: Optional[float] = None,
) -> Dict[str, float]:
    """One WGAN round: ``n_critic`` critic updates, then one generator update.

    ``real`` holds the real images of all the critic updates, either

    * one tensor of ``n_critic * B`` images, split into ``n_critic`` batches of ``B`` (so a
      loader with ``batch_size = n_critic * B`` feeds :func:`fit` one round per batch, and an
      epoch shows every image to the critic once), or
    * a list of ``n_critic`` batch tensors.

    Exactly one of ``clip_value`` (original WGAN: :func:`wgan_critic_step`) and ``gp_weight``
    (WGAN-GP: :func:`critic_train_step`) must be given. The generator update
    (:func:`wasserstein_generator_step`) uses as many fakes as one critic batch.

    Returns the critic metrics averaged over the ``n_critic`` updates, plus ``"g_loss"``.
    """
    if (clip_value is None) == (gp_weight is None):
        raise ValueError("give exactly one of clip_value= (original WGAN, e.g. 0.01) or gp_weight= (WGAN-GP, e.g. 10.0)")
    if isinstance(real, Tensor):
        batches = list(real.chunk(n_critic))  # fewer when the tensor holds fewer than n_critic images
    else:
        batches = list(real)
        if len(batches) != n_critic:
            raise ValueError(
                f"expected {n_critic} real batches (n_critic={n_critic}), got {len(batches)}; "
                "pass a list of n_critic tensors or one tensor of n_critic * batch_size images"
            )
    totals: Dict[str, float] = {}
    for batch in batches:
        if gp_weight is not None:
            values = critic_train_step(generator, critic, c_optimizer, batch, latent_dim, gp_weight=gp_weight)
        else:
            values = wgan_critic_step(generator, critic, c_optimizer, batch, latent_dim, clip_value=clip_value)
        for name, value in values.items():
            totals[name] = totals.get(name, 0.0) + value
    means = {name: total / len(batches) for name, total in totals.items()}
    g_values = wasserstein_generator_step(generator, critic, g_optimizer, batches[0].shape[0], latent_dim)
    return {**means, **g_values}


# ============================================================================ CycleGAN


class ImageHistory:
    """The image pool of CycleGAN (Shrivastava et al. 2017; Zhu et al. 2017, section 4).

    The discriminators are shown a mix of the newest fakes and older ones, which damps the
    oscillation between generator and discriminator. :meth:`query` takes a batch of fakes:
    while the pool holds fewer than ``capacity`` images each image is stored and returned
    unchanged; once full, each image is, with probability 0.5, swapped for a random stored
    one (which it replaces in the pool), else returned as is. Images are stored detached.

    Args:
        capacity: how many images to keep (50 in CycleGAN; 0 turns the pool off).
        generator: optional :class:`torch.Generator` (CPU) for reproducible choices.
    """

    def __init__(self, capacity: int = 50, generator: Optional[torch.Generator] = None):
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self.generator = generator
        self.images: List[Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """A batch of the same shape as ``images``, detached, mixing new and stored images."""
        images = images.detach()
        if self.capacity == 0:
            return images
        n = images.shape[0]
        coins = torch.rand(n, generator=self.generator).tolist()
        slots = torch.randint(self.capacity, (n,), generator=self.generator).tolist()
        out = []
        for image, coin, slot in zip(images, coins, slots):
            if len(self.images) < self.capacity:  # filling up: keep it, return it
                self.images.append(image.clone())
                out.append(image)
            elif coin < 0.5:  # return an older image, store the new one in its place
                out.append(self.images[slot])
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


def cyclegan_train_step(
    g_xy: nn.Module,
    g_yx: nn.Module,
    d_x: nn.Module,
    d_y: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    real_x: Tensor,
    real_y: Tensor,
    history_x: Optional[ImageHistory] = None,
    history_y: Optional[ImageHistory] = None,
    cycle_weight: float = 10.0,
    identity_weight: float = 5.0,
) -> Dict[str, float]:
    """One CycleGAN round (Zhu et al. 2017): both generators, then both discriminators.

    1. Generators: :func:`cyclegan_generator_loss` (least-squares adversarial + ``cycle_weight``
       x cycle + ``identity_weight`` x identity); the discriminators are frozen and only
       ``g_optimizer`` (over the parameters of ``g_xy`` and ``g_yx``) steps.
    2. Discriminators: :func:`lsgan_discriminator_loss` of ``d_x`` on ``real_x`` vs fake X
       images and of ``d_y`` on ``real_y`` vs fake Y images, the fakes detached and passed
       through ``history_x`` / ``history_y`` when given; ``d_optimizer`` (over both
       discriminators' parameters) steps on the sum.

    Returns ``{"g_loss", "adversarial", "cycle", "identity", "d_x_loss", "d_y_loss", "d_loss"}``
    (``cycle`` and ``identity`` unweighted, as in :func:`cyclegan_generator_loss`).
    """
    for module in (g_xy, g_yx, d_x, d_y):
        module.train()

    # 1. generators
    with _frozen(d_x, d_y):
        out = cyclegan_generator_loss(
            g_xy, g_yx, d_x, d_y, real_x, real_y, cycle_weight=cycle_weight, identity_weight=identity_weight
        )
        g_values = _floats(g_loss=out["loss"], adversarial=out["adversarial"], cycle=out["cycle"], identity=out["identity"])
        _update(g_optimizer, out["loss"])

    # 2. discriminators, on detached (and possibly older) fakes
    fake_x, fake_y = out["fake_x"].detach(), out["fake_y"].detach()
    if history_x is not None:
        fake_x = history_x.query(fake_x)
    if history_y is not None:
        fake_y = history_y.query(fake_y)
    d_x_loss = lsgan_discriminator_loss(d_x(real_x), d_x(fake_x))
    d_y_loss = lsgan_discriminator_loss(d_y(real_y), d_y(fake_y))
    d_loss = d_x_loss + d_y_loss  # disjoint parameters: same gradients as two separate updates
    d_values = _floats(d_x_loss=d_x_loss, d_y_loss=d_y_loss, d_loss=d_loss)
    _update(d_optimizer, d_loss)
    return {**g_values, **d_values}


# ============================================================================ the training loop


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


def _rng_state(data: Iterable) -> Dict[str, Any]:
    """The random state that decides the rest of a run: torch's global RNG and the loader's."""
    state: Dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    loader_generator = getattr(data, "generator", None)
    if isinstance(loader_generator, torch.Generator):
        state["loader"] = loader_generator.get_state()
    return state


def _set_rng_state(data: Iterable, state: Mapping[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    loader_generator = getattr(data, "generator", None)
    if "loader" in state and isinstance(loader_generator, torch.Generator):
        loader_generator.set_state(state["loader"])


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
    if checkpoint is not None and Path(checkpoint).exists():
        state = load_checkpoint(checkpoint, modules, optimizers)
        _set_rng_state(data, state["rng"])
        if finished(state["epoch"], state["step"]):
            print(f"loaded trained model from {checkpoint} ({state['epoch']} epochs, {state['step']} steps; "
                  "delete the file to train again)")
            return _result_from(state, loaded=True)
        print(f"resuming training from {checkpoint} after epoch {state['epoch']} (step {state['step']})")
        records, epoch_records, snapshots = list(state["history"]), list(state["epoch_history"]), list(state["snapshots"])
        epoch, step, seconds = state["epoch"], state["step"], float(state["seconds"])

    def snapshot() -> None:
        with torch.no_grad():
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
                    snapshots=snapshots, rng=_rng_state(data),
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
    floats = {name: float(value) for name, value in values.items()}
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


# ============================================================================ data loaders


def make_loader(
    dataset_or_tensors: Union[Dataset, Tensor, Sequence[Tensor]],
    batch_size: int,
    budget: Optional[Budget] = None,
    shuffle: bool = True,
    seed: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A reproducible DataLoader, capped at the budget's number of training examples.

    Args:
        dataset_or_tensors: a Dataset, a tensor, or a tuple of tensors with the same first
            dimension (then each batch is a tuple ``(x, y, ...)``; a single tensor gives ``(x,)``).
        batch_size: examples per batch.
        budget: when given, keep a seeded random subset of ``budget.max_train_examples``.
        shuffle: reshuffle every epoch, with a generator seeded by ``seed`` (the same seed gives
            the same batches in the same order).
        seed: seed of the subset and of the shuffling.
        drop_last: drop the last, smaller batch of each epoch (e.g. for
            :func:`wgan_train_step`, which splits a batch into ``n_critic`` parts).

    Tensors are batched by indexing them with a whole batch of indices at once (much faster
    than the default one-example-at-a-time collation).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if isinstance(dataset_or_tensors, Tensor):
        dataset: Dataset = TensorDataset(dataset_or_tensors)
    elif isinstance(dataset_or_tensors, (tuple, list)) and all(isinstance(t, Tensor) for t in dataset_or_tensors):
        dataset = TensorDataset(*dataset_or_tensors)
    elif isinstance(dataset_or_tensors, Dataset):
        dataset = dataset_or_tensors
    else:
        raise TypeError(f"expected a Dataset, a tensor or a tuple of tensors, got {type(dataset_or_tensors).__name__}")

    cap = budget.max_train_examples if budget is not None else None
    if cap is not None and cap < len(dataset):  # type: ignore[arg-type]
        keep = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:cap]  # type: ignore[arg-type]
        if isinstance(dataset, TensorDataset):
            dataset = TensorDataset(*(t[keep] for t in dataset.tensors))
        else:
            dataset = Subset(dataset, keep.tolist())

    generator = torch.Generator().manual_seed(seed)
    if isinstance(dataset, TensorDataset):
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
        # batch_size=None: each "index" is a list of batch_size indices, and TensorDataset
        # returns tensor[indices] for each of its tensors, one batch in one indexing operation.
        return DataLoader(dataset, batch_size=None, sampler=BatchSampler(sampler, batch_size, drop_last),
                          generator=generator)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last, generator=generator)
