"""Training: one step function per model family, and one short loop that runs any of them.

A **step function** takes models, optimizers and a batch, makes one update (or one round of
updates, for the adversarial models) and returns a dict of Python floats::

    classifier_train_step(model, optimizer, x, y)                   -> loss, accuracy
    autoencoder_train_step(model, optimizer, x, noise_fn=None)      -> loss
    sparse_autoencoder_train_step(model, optimizer, x, penalty, weight, target)
                                                                    -> loss, reconstruction, sparsity, mean_activation
    vae_train_step(model, optimizer, x, beta=1.0)                   -> loss, reconstruction, kl
    gan_train_step(G, D, g_opt, d_opt, real, latent_dim)            -> d_loss, g_loss, d_accuracy, d_real, d_fake
    clipped_critic_train_step(G, C, c_opt, real, latent_dim, clip_value) -> critic_loss, wasserstein_distance
    critic_train_step(G, C, c_opt, real, latent_dim, gp_weight)     -> critic_loss, wasserstein_distance,
                                                                       gradient_penalty, loss
    wasserstein_generator_train_step(G, C, g_opt, batch_size, latent_dim) -> g_loss
    wgan_train_step(G, C, g_opt, c_opt, real, latent_dim, n_critic, clip_value | gp_weight)
    cyclegan_train_step(g_xy, g_yx, d_x, d_y, g_opt, d_opt, real_x, real_y, history_x, history_y)

(``wgan_critic_step`` and ``wasserstein_generator_step`` are the earlier names of the clipped
critic step and the generator step, kept as aliases.)

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

Files, one subject each (the step files mirror ``course_lib.models``)::

    common.py       NonFiniteLossError and the helpers every step shares
    classifier.py   classifier_train_step
    autoencoder.py  autoencoder_train_step, vae_train_step
    dcgan.py        gan_train_step
    wgan.py         clip_weights, WGAN and WGAN-GP critic/generator steps, wgan_train_step
    cyclegan.py     ImageHistory, cyclegan_train_step
    loop.py         fit, TrainingResult, evaluating
    state.py        the random states and the fingerprint a checkpoint keeps
    checkpoints.py  save_checkpoint, load_checkpoint
    loaders.py      make_loader
"""
from .autoencoder import autoencoder_train_step, sparse_autoencoder_train_step, vae_train_step
from .checkpoints import CHECKPOINT_FORMAT, load_checkpoint, save_checkpoint
from .classifier import classifier_train_step
from .common import NonFiniteLossError, _device_of, _floats, _frozen, _latent, _update
from .cyclegan import ImageHistory, cyclegan_train_step
from .dcgan import gan_train_step
from .loaders import make_loader
from .loop import TrainingResult, evaluating, fit
from .wgan import (
    clip_weights,
    clipped_critic_train_step,
    critic_train_step,
    wasserstein_generator_step,
    wasserstein_generator_train_step,
    wgan_critic_step,
    wgan_train_step,
)

__all__ = [
    "NonFiniteLossError",
    "classifier_train_step",
    "autoencoder_train_step",
    "sparse_autoencoder_train_step",
    "vae_train_step",
    "gan_train_step",
    "clip_weights",
    "clipped_critic_train_step",
    "wgan_critic_step",
    "critic_train_step",
    "wasserstein_generator_train_step",
    "wasserstein_generator_step",
    "wgan_train_step",
    "ImageHistory",
    "cyclegan_train_step",
    "TrainingResult",
    "fit",
    "evaluating",
    "save_checkpoint",
    "load_checkpoint",
    "make_loader",
]
