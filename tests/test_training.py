"""Tests of course_lib.training: the step functions (one-batch overfitting, which parameters each
update may touch), the image history, and the fit loop (history, snapshots, checkpoints, errors,
determinism). Tiny models on 1x4x4 images, so the whole file runs in seconds."""
import copy
import math

import pandas as pd
import pytest
import torch
from torch import nn

from course_lib.config import get_budget, seed_everything
from course_lib.losses import (
    critic_loss,
    cyclegan_generator_loss,
    discriminator_loss,
    generator_loss,
    gradient_penalty,
    lsgan_discriminator_loss,
    reconstruction_loss,
)
from course_lib.training import (
    ImageHistory,
    NonFiniteLossError,
    autoencoder_train_step,
    classifier_train_step,
    clip_weights,
    critic_train_step,
    cyclegan_train_step,
    fit,
    gan_train_step,
    load_checkpoint,
    make_loader,
    save_checkpoint,
    vae_train_step,
    wasserstein_generator_step,
    wgan_critic_step,
    wgan_train_step,
)

LATENT = 3
SHAPE = (1, 4, 4)  # tiny one-channel images
PIXELS = 16


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models run fastest (and steadiest on a busy 2-core machine) on one thread."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ----------------------------------------------------------------------------- tiny models


class TinyVAE(nn.Module):
    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, PIXELS), nn.Unflatten(1, SHAPE))

    def forward(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decoder(z), mu, logvar


def classifier():
    return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 3))


def autoencoder():
    return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 4), nn.ReLU(), nn.Linear(4, PIXELS), nn.Unflatten(1, SHAPE))


def generator():
    return nn.Sequential(nn.Linear(LATENT, PIXELS), nn.Tanh(), nn.Unflatten(1, SHAPE))


def discriminator():
    return nn.Sequential(nn.Flatten(), nn.Linear(PIXELS, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))


def image_to_image():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 1, 3, padding=1), nn.Tanh())


def patch_discriminator():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.Conv2d(4, 1, 3, padding=1))


def images(n=8, seed=0, signed=False):
    x = torch.rand((n,) + SHAPE, generator=torch.Generator().manual_seed(seed))
    return 2 * x - 1 if signed else x


def params(*modules):
    return [p.detach().clone() for m in modules for p in m.parameters()]


def changed(before, *modules):
    """True when any parameter of ``modules`` differs from ``before``."""
    return any(not torch.equal(b, p) for b, p in zip(before, [p for m in modules for p in m.parameters()]))


def sgd(*modules, lr=0.05):
    return torch.optim.SGD([p for m in modules for p in m.parameters()], lr=lr)


def adam(*modules, lr=1e-2):
    return torch.optim.Adam([p for m in modules for p in m.parameters()], lr=lr, betas=(0.5, 0.999))


def decreases(values):
    assert all(math.isfinite(v) for v in values), values
    assert values[-1] < values[0], f"loss did not decrease over the steps: {values}"


# ----------------------------------------------------------------------------- classifier, AE, VAE


def test_classifier_step_overfits_one_batch_and_reports_accuracy():
    torch.manual_seed(0)
    model, x, y = classifier(), images(), torch.arange(8) % 3
    opt = sgd(model, lr=0.5)
    out = [classifier_train_step(model, opt, x, y) for _ in range(100)]
    assert set(out[0]) == {"loss", "accuracy"} and all(isinstance(v, float) for v in out[0].values())
    decreases([o["loss"] for o in out])
    assert out[-1]["accuracy"] == 1.0
    expected = torch.nn.functional.cross_entropy(model(x), y).item()
    assert classifier_train_step(model, opt, x, y)["loss"] == pytest.approx(expected, rel=1e-6)


def test_autoencoder_step_overfits_and_denoising_scores_against_the_clean_images():
    torch.manual_seed(0)
    model, x = autoencoder(), images()
    opt = adam(model, lr=3e-2)
    decreases([autoencoder_train_step(model, opt, x)["loss"] for _ in range(30)])

    noisy = (x + 0.5).clamp(0, 1)
    seen = []

    def noise_fn(batch):
        seen.append(batch)
        return noisy

    expected = reconstruction_loss(model(noisy), x).item()  # noisy in, clean target
    out = autoencoder_train_step(model, opt, x, noise_fn=noise_fn)
    assert len(seen) == 1 and torch.equal(seen[0], x)
    assert out["loss"] == pytest.approx(expected, rel=1e-6)
    assert model.training


def test_vae_step_overfits_and_its_parts_add_up():
    torch.manual_seed(0)
    model, x = TinyVAE(), images()
    opt = adam(model)
    out = [vae_train_step(model, opt, x) for _ in range(40)]
    assert set(out[0]) == {"loss", "reconstruction", "kl"}
    decreases([o["loss"] for o in out])
    for beta in (1.0, 4.0):
        o = vae_train_step(model, opt, x, beta=beta)
        assert o["loss"] == pytest.approx(o["reconstruction"] + beta * o["kl"], rel=1e-5)


@pytest.mark.parametrize("kind", ["classifier", "autoencoder", "vae"])
def test_single_model_steps_update_the_weights_and_leave_train_mode(kind):
    """A step that forgot optimizer.step() (or zero_grad + backward) would leave the weights as they were."""
    torch.manual_seed(0)
    x = images()
    model = {"classifier": classifier, "autoencoder": autoencoder, "vae": TinyVAE}[kind]()
    opt = sgd(model)
    model.eval()
    before = params(model)
    if kind == "classifier":
        classifier_train_step(model, opt, x, torch.arange(8) % 3)
    elif kind == "autoencoder":
        autoencoder_train_step(model, opt, x)
    else:
        vae_train_step(model, opt, x)
    assert changed(before, model)
    assert model.training


# ----------------------------------------------------------------------------- GAN


def reference_gan_step(G, D, g_opt, d_opt, real, z):
    fake = G(z)
    d_opt.zero_grad()
    discriminator_loss(D(real), D(fake.detach())).backward()
    d_opt.step()
    g_opt.zero_grad()
    generator_loss(D(fake)).backward()
    g_opt.step()


def test_gan_step_matches_a_reference_round_of_d_then_g():
    torch.manual_seed(0)
    G, D = generator(), discriminator()
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    g_opt, d_opt, g_ref, d_ref = adam(G), adam(D), adam(G_ref), adam(D_ref)
    real = images(signed=True)
    for i in range(3):  # several rounds: leaked gradients or a missing zero_grad would show
        z = torch.randn(8, LATENT, generator=torch.Generator().manual_seed(i))
        out = gan_train_step(G, D, g_opt, d_opt, real, LATENT, noise=z)
        reference_gan_step(G_ref, D_ref, g_ref, d_ref, real, z)
    for p, q in zip(list(G.parameters()) + list(D.parameters()), list(G_ref.parameters()) + list(D_ref.parameters())):
        torch.testing.assert_close(p, q)
    assert set(out) >= {"d_loss", "g_loss", "d_accuracy", "d_real", "d_fake"}
    assert 0 <= out["d_accuracy"] <= 1 and 0 < out["d_real"] < 1 and 0 < out["d_fake"] < 1


def test_gan_d_update_uses_detached_fakes_and_touches_no_generator_weight():
    torch.manual_seed(0)
    G, D = generator(), discriminator()
    g_opt, d_opt = adam(G), adam(D)
    g_before, d_before = params(G), params(D)
    seen = {}

    def at_d_step(optimizer, args, kwargs):
        seen["g_grads_at_d_step"] = [p.grad for p in G.parameters()]
        seen["g_changed_before_d_step"] = changed(g_before, G)

    def at_g_step(optimizer, args, kwargs):
        seen["g_changed_before_g_step"] = changed(g_before, G)
        seen["d_changed_by_g_step"] = params(D)

    d_opt.register_step_pre_hook(at_d_step)
    g_opt.register_step_pre_hook(at_g_step)
    gan_train_step(G, D, g_opt, d_opt, images(signed=True), LATENT)
    assert all(g is None or not g.any() for g in seen["g_grads_at_d_step"]), "the D update sent gradients into G"
    assert not seen["g_changed_before_d_step"] and not seen["g_changed_before_g_step"]
    d_after_d_step = seen["d_changed_by_g_step"]
    assert changed(d_before, D) and changed(g_before, G)
    assert all(torch.equal(a, p) for a, p in zip(d_after_d_step, D.parameters())), "the G update changed D"


def test_gan_each_player_lowers_its_own_loss_when_the_other_is_held_still():
    torch.manual_seed(0)
    real, z = images(signed=True), torch.randn(8, LATENT)
    G, D = generator(), discriminator()
    d_only = [gan_train_step(G, D, sgd(G, lr=0.0), sgd(D, lr=0.1), real, LATENT, noise=z)["d_loss"] for _ in range(20)]
    decreases(d_only)
    G, D = generator(), discriminator()
    g_opt, d_still = adam(G, lr=3e-2), sgd(D, lr=0.0)
    decreases([gan_train_step(G, D, g_opt, d_still, real, LATENT, noise=z)["g_loss"] for _ in range(20)])


# ----------------------------------------------------------------------------- WGAN, WGAN-GP


def test_clip_weights_keeps_every_critic_weight_in_bounds():
    torch.manual_seed(0)
    critic = discriminator()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(100)
    assert any(p.abs().max() > 0.01 for p in critic.parameters())
    clip_weights(critic, 0.01)
    assert all(p.abs().max() <= 0.01 for p in critic.parameters())
    assert any((p.abs() == 0.01).any() for p in critic.parameters())
    with pytest.raises(ValueError, match="positive"):
        clip_weights(critic, 0.0)


def test_wgan_critic_step_clips_lowers_its_loss_and_leaves_the_generator_alone():
    torch.manual_seed(0)
    G, C = generator(), discriminator()
    g_before = params(G)
    c_opt = torch.optim.RMSprop(C.parameters(), lr=5e-3)
    real, z = images(signed=True), torch.randn(8, LATENT)
    out = [wgan_critic_step(G, C, c_opt, real, LATENT, clip_value=0.05, noise=z) for _ in range(20)]
    assert set(out[0]) == {"critic_loss", "wasserstein_distance"}
    assert out[0]["wasserstein_distance"] == -out[0]["critic_loss"]
    decreases([o["critic_loss"] for o in out])
    assert all(p.abs().max() <= 0.05 for p in C.parameters())
    assert not changed(g_before, G) and all(p.grad is None for p in G.parameters())


def test_wgan_gp_critic_step_reports_a_finite_penalty_and_the_total_it_minimised():
    torch.manual_seed(0)
    G, C = generator(), discriminator()
    g_before, c_before = params(G), params(C)
    c_opt = adam(C, lr=1e-2)
    real, z, eps = images(signed=True), torch.randn(8, LATENT), torch.rand(8)
    with torch.no_grad():
        fake = G(z)
    expected_gp = gradient_penalty(C, real, fake, eps=eps).item()
    expected_c = critic_loss(C(real), C(fake)).item()
    out = critic_train_step(G, C, c_opt, real, LATENT, gp_weight=10.0, noise=z, eps=eps)
    assert set(out) == {"critic_loss", "wasserstein_distance", "gradient_penalty", "loss"}
    assert math.isfinite(out["gradient_penalty"]) and out["gradient_penalty"] >= 0
    assert out["gradient_penalty"] == pytest.approx(expected_gp, rel=1e-5)
    assert out["critic_loss"] == pytest.approx(expected_c, rel=1e-5)
    assert out["wasserstein_distance"] == -out["critic_loss"]
    assert out["loss"] == pytest.approx(out["critic_loss"] + 10.0 * out["gradient_penalty"], rel=1e-5)
    assert changed(c_before, C) and not changed(g_before, G)
    assert all(p.grad is None for p in G.parameters()), "the critic update sent gradients into the generator"
    decreases([critic_train_step(G, C, c_opt, real, LATENT, noise=z, eps=eps)["loss"] for _ in range(20)])


def test_wasserstein_generator_step_lowers_its_loss_and_changes_only_the_generator():
    torch.manual_seed(0)
    G, C = generator(), discriminator()
    g_opt = adam(G, lr=3e-2)
    c_before, g_before = params(C), params(G)
    z = torch.randn(8, LATENT)
    out = [wasserstein_generator_step(G, C, g_opt, 8, LATENT, noise=z) for _ in range(20)]
    assert set(out[0]) == {"g_loss"}
    decreases([o["g_loss"] for o in out])
    assert changed(g_before, G) and not changed(c_before, C)
    assert all(p.grad is None for p in C.parameters()), "the generator update left gradients in the critic"


@pytest.mark.parametrize("variant", [{"clip_value": 0.01}, {"gp_weight": 10.0}])
def test_wgan_round_runs_n_critic_critic_updates_then_one_generator_update(variant):
    torch.manual_seed(0)
    G, C = generator(), discriminator()
    g_opt, c_opt = adam(G), adam(C)
    counts = {"g": 0, "c": 0}
    g_opt.register_step_pre_hook(lambda *a: counts.__setitem__("g", counts["g"] + 1))
    c_opt.register_step_pre_hook(lambda *a: counts.__setitem__("c", counts["c"] + 1))
    out = wgan_train_step(G, C, g_opt, c_opt, images(n=12, signed=True), LATENT, n_critic=3, **variant)
    assert counts == {"g": 1, "c": 3}
    assert "g_loss" in out and "wasserstein_distance" in out
    if "gp_weight" in variant:
        assert "gradient_penalty" in out
    else:
        assert all(p.abs().max() <= 0.01 for p in C.parameters())
    batches = [images(n=4, seed=s, signed=True) for s in range(3)]
    wgan_train_step(G, C, g_opt, c_opt, batches, LATENT, n_critic=3, **variant)
    assert counts["c"] == 6 and counts["g"] == 2
    with pytest.raises(ValueError, match="n_critic"):
        wgan_train_step(G, C, g_opt, c_opt, batches[:2], LATENT, n_critic=3, **variant)


def test_wgan_round_needs_exactly_one_of_clipping_and_penalty():
    G, C = generator(), discriminator()
    for kwargs in ({}, {"clip_value": 0.01, "gp_weight": 10.0}):
        with pytest.raises(ValueError, match="exactly one"):
            wgan_train_step(G, C, adam(G), adam(C), images(signed=True), LATENT, **kwargs)


# ----------------------------------------------------------------------------- CycleGAN


def test_image_history_fills_then_swaps_reproducibly():
    def run(seed):
        pool = ImageHistory(capacity=6, generator=torch.Generator().manual_seed(seed))
        batches = [images(n=4, seed=100 + i) for i in range(10)]
        first = pool.query(batches[0])
        assert torch.equal(first, batches[0]) and len(pool) == 4  # not full yet: inputs come back
        outs = [first] + [pool.query(b) for b in batches[1:]]
        assert len(pool) == 6 and all(o.shape == b.shape for o, b in zip(outs, batches))
        return batches, outs

    batches, outs = run(0)
    _, again = run(0)
    assert all(torch.equal(a, b) for a, b in zip(outs, again))
    # once full, about half of the returned images are older ones
    later = torch.cat(outs[3:])
    fresh = torch.cat(batches[3:])
    swapped = (later != fresh).flatten(1).any(dim=1).float().mean().item()
    assert 0.25 < swapped < 0.75, swapped
    # every new image is either returned or stored (in place of an older one it was swapped for)
    pool = ImageHistory(capacity=4, generator=torch.Generator().manual_seed(0))
    pool.query(images(n=4, seed=0))
    for seed in range(1, 6):
        batch = images(n=4, seed=seed)
        kept = torch.cat([pool.query(batch), torch.stack(pool.images)])
        for new in batch:
            assert (kept == new).flatten(1).all(dim=1).any(), "an image was swapped out but not stored"
    _, other = run(1)
    assert not all(torch.equal(a, b) for a, b in zip(outs, other))


def test_image_history_stores_detached_copies_and_capacity_zero_is_a_pass_through():
    pool = ImageHistory(capacity=4)
    fake = images(n=2).requires_grad_(True) * 1.0
    out = pool.query(fake)
    assert not out.requires_grad and all(not img.requires_grad for img in pool.images)
    assert torch.equal(out, fake.detach())
    x = images(n=3)
    assert torch.equal(ImageHistory(capacity=0).query(x), x)


def test_cyclegan_step_updates_all_four_models_and_the_d_update_touches_no_generator():
    torch.manual_seed(0)
    g_xy, g_yx, d_x, d_y = image_to_image(), image_to_image(), patch_discriminator(), patch_discriminator()
    g_opt, d_opt = adam(g_xy, g_yx), adam(d_x, d_y)
    before = {name: params(m) for name, m in dict(g_xy=g_xy, g_yx=g_yx, d_x=d_x, d_y=d_y).items()}
    seen = {}
    g_opt.register_step_pre_hook(lambda *a: seen.__setitem__("d_at_g_step", params(d_x, d_y)))
    d_opt.register_step_pre_hook(lambda *a: seen.__setitem__("g_at_d_step", params(g_xy, g_yx)))
    history_x, history_y = ImageHistory(4), ImageHistory(4)
    out = cyclegan_train_step(
        g_xy, g_yx, d_x, d_y, g_opt, d_opt, images(signed=True, seed=1), images(signed=True, seed=2),
        history_x=history_x, history_y=history_y,
    )
    assert len(history_x) == 4 and len(history_y) == 4, "the fakes did not go through the image histories"
    assert set(out) == {"g_loss", "adversarial", "cycle", "identity", "d_x_loss", "d_y_loss", "d_loss"}
    for name, m in dict(g_xy=g_xy, g_yx=g_yx, d_x=d_x, d_y=d_y).items():
        assert changed(before[name], m), f"{name} was not updated"
    # the D update came after the G update and changed no generator weight
    assert all(torch.equal(a, p) for a, p in zip(seen["g_at_d_step"], list(g_xy.parameters()) + list(g_yx.parameters())))
    # the G update changed no discriminator weight
    assert all(torch.equal(a, b) for a, b in zip(seen["d_at_g_step"], before["d_x"] + before["d_y"]))


def test_cyclegan_step_losses_match_the_loss_functions_and_each_side_learns():
    torch.manual_seed(0)
    x, y = images(signed=True, seed=1), images(signed=True, seed=2)
    g_xy, g_yx, d_x, d_y = image_to_image(), image_to_image(), patch_discriminator(), patch_discriminator()
    expected = cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, x, y, cycle_weight=3.0, identity_weight=1.0)
    exp_dx = lsgan_discriminator_loss(d_x(x), d_x(expected["fake_x"].detach())).item()
    out = cyclegan_train_step(g_xy, g_yx, d_x, d_y, sgd(g_xy, g_yx, lr=0.0), sgd(d_x, d_y, lr=0.0), x, y,
                              cycle_weight=3.0, identity_weight=1.0)
    for key in ("adversarial", "cycle", "identity"):
        assert out[key] == pytest.approx(expected[key].item(), rel=1e-5)
    assert out["g_loss"] == pytest.approx(expected["loss"].item(), rel=1e-5)
    assert out["d_x_loss"] == pytest.approx(exp_dx, rel=1e-5)
    assert out["d_loss"] == pytest.approx(out["d_x_loss"] + out["d_y_loss"], rel=1e-5)

    g_opt, still = adam(g_xy, g_yx, lr=1e-2), sgd(d_x, d_y, lr=0.0)
    decreases([cyclegan_train_step(g_xy, g_yx, d_x, d_y, g_opt, still, x, y)["g_loss"] for _ in range(15)])
    still, d_opt = sgd(g_xy, g_yx, lr=0.0), adam(d_x, d_y, lr=1e-2)
    decreases([cyclegan_train_step(g_xy, g_yx, d_x, d_y, still, d_opt, x, y)["d_loss"] for _ in range(15)])


# ----------------------------------------------------------------------------- errors


def test_steps_raise_non_finite_loss_error_before_updating():
    torch.manual_seed(0)
    model = classifier()
    opt = sgd(model)
    before = params(model)
    x = images()
    x[0, 0, 0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError, match="loss=nan") as info:
        classifier_train_step(model, opt, x, torch.arange(8) % 3)
    assert isinstance(info.value, FloatingPointError) and info.value.name == "loss"
    assert not changed(before, model), "the NaN update was applied"


def test_fit_names_the_step_and_the_loss_that_became_non_finite():
    torch.manual_seed(0)
    model = TinyVAE()
    opt = adam(model)
    batches = [images(seed=i) for i in range(5)]

    def step(batch):
        if step.calls == 3:
            with torch.no_grad():
                model.encoder[1].bias.fill_(float("inf"))
        step.calls += 1
        return vae_train_step(model, opt, batch)

    step.calls = 0
    with pytest.raises(NonFiniteLossError, match=r"at step 4: .*kl=") as info:
        fit(step, batches, epochs=1, progress=False)
    assert info.value.step == 4

    values = iter([1.0, 0.5, float("nan")])
    with pytest.raises(NonFiniteLossError, match=r"at step 3: g_loss=nan"):
        fit(lambda b: {"g_loss": next(values)}, [0, 1, 2], epochs=1, progress=False)


# ----------------------------------------------------------------------------- fit


def linear_regression_run(epochs=2, seed=0, **fit_kwargs):
    """A seeded run that draws random numbers inside the step (dropout) and shuffles the data."""
    seed_everything(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 1))
    opt = adam(model)
    x = torch.randn(40, 4)
    y = x.sum(dim=1, keepdim=True)
    loader = make_loader((x, y), batch_size=8)

    def step(batch):
        xb, yb = batch
        model.train()
        loss = nn.functional.mse_loss(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    result = fit(step, loader, epochs=epochs, progress=False, modules={"model": model}, optimizers={"adam": opt}, **fit_kwargs)
    return model, result


def test_fit_history_epochs_and_snapshots():
    torch.manual_seed(0)
    model = classifier()
    opt = sgd(model)
    data = [(images(n=4, seed=i), torch.arange(4) % 3) for i in range(5)]
    result = fit(lambda b: classifier_train_step(model, opt, *b), data, epochs=3, progress=False,
                 snapshot_fn=lambda step: model[1].weight.detach() * 1.0, snapshot_every=4)
    h = result.history
    assert list(h.columns) == ["epoch", "step", "loss", "accuracy"]
    assert len(h) == 15 and h["step"].tolist() == list(range(1, 16)) and h["epoch"].tolist() == [1] * 5 + [2] * 5 + [3] * 5
    e = result.epochs
    assert list(e.columns) == ["epoch", "steps", "loss", "accuracy", "seconds"] and len(e) == 3
    assert e["loss"].tolist() == pytest.approx(h.groupby("epoch")["loss"].mean().tolist())
    assert (e["seconds"] > 0).all() and result.seconds == pytest.approx(e["seconds"].sum())
    assert [s for s, _ in result.snapshots] == [0, 4, 8, 12, 15]
    assert not torch.equal(result.snapshots[0][1], result.snapshots[-1][1])
    assert "3 epochs, 15 steps" in repr(result)

    sparse = fit(lambda b: classifier_train_step(model, opt, *b), data, epochs=2, max_steps=7, log_every=2,
                 progress=False, snapshot_fn=lambda step: torch.zeros(1))
    assert sparse.history["step"].tolist() == [2, 4, 6]
    assert sparse.epochs["steps"].tolist() == [5, 2]
    assert [s for s, _ in sparse.snapshots] == [0, 5, 7]  # default: start and end of every epoch


def test_fit_sees_the_same_batches_as_a_plain_loop_over_the_same_loader():
    data = (torch.randn(20, 2), torch.arange(20))
    seen = []
    fit(lambda batch: seen.append(batch[1]) or {"loss": 0.0}, make_loader(data, batch_size=8, seed=5),
        epochs=3, progress=False)
    loader = make_loader(data, batch_size=8, seed=5)
    plain = [batch[1] for _ in range(3) for batch in loader]
    assert len(seen) == len(plain) == 9 and all(torch.equal(a, b) for a, b in zip(seen, plain))


def test_fit_rejects_missing_length_and_one_shot_iterators():
    with pytest.raises(ValueError, match="epochs= or max_steps="):
        fit(lambda b: {"loss": 0.0}, [1], progress=False)
    with pytest.raises(TypeError, match="one-shot iterator"):
        fit(lambda b: {"loss": 0.0}, iter([1, 2]), epochs=2, progress=False)
    with pytest.raises(TypeError, match="dict of floats"):
        fit(lambda b: 0.5, [1], epochs=1, progress=False)
    with pytest.raises(ValueError, match="needs modules"):
        fit(lambda b: {"loss": 0.0}, [1], epochs=1, progress=False, checkpoint="x.pt")


def test_seeded_runs_give_identical_histories_and_weights():
    model_a, a = linear_regression_run(seed=0)
    model_b, b = linear_regression_run(seed=0)
    pd.testing.assert_frame_equal(a.history, b.history)
    assert all(torch.equal(p, q) for p, q in zip(model_a.parameters(), model_b.parameters()))
    _, c = linear_regression_run(seed=1)
    assert not a.history["loss"].equals(c.history["loss"])


def test_checkpoint_is_loaded_instead_of_retraining(tmp_path, capsys):
    path = tmp_path / "run.pt"
    model, first = linear_regression_run(epochs=2, checkpoint=path)
    assert path.exists() and not first.loaded
    trained = params(model)
    capsys.readouterr()

    calls = []
    seed_everything(123)
    fresh = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 1))
    opt = adam(fresh)
    same_data = make_loader((torch.zeros(40, 4), torch.zeros(40, 1)), batch_size=8)  # same size and batches
    second = fit(lambda b: calls.append(b) or {"loss": 0.0}, same_data, epochs=2, checkpoint=path,
                 modules={"model": fresh}, optimizers={"adam": opt}, progress=False)
    assert calls == [], "a finished checkpoint was trained again"
    assert second.loaded and "loaded trained model from" in capsys.readouterr().out
    pd.testing.assert_frame_equal(second.history, first.history)
    pd.testing.assert_frame_equal(second.epochs, first.epochs)
    assert all(torch.equal(a, b) for a, b in zip(trained, fresh.parameters()))
    # a third call with the same checkpoint: still nothing trained, weights unchanged
    third = fit(lambda b: calls.append(b) or {"loss": 0.0}, same_data, epochs=2, checkpoint=path,
                modules={"model": fresh}, optimizers={"adam": opt}, progress=False)
    assert calls == [] and third.loaded and all(torch.equal(a, b) for a, b in zip(trained, fresh.parameters()))


def test_a_partial_checkpoint_resumes_and_matches_an_uninterrupted_run(tmp_path, capsys):
    path = tmp_path / "run.pt"
    _, partial = linear_regression_run(epochs=1, checkpoint=path)
    assert len(partial.epochs) == 1
    model_resumed, resumed = linear_regression_run(epochs=3, checkpoint=path)
    assert "resuming training from" in capsys.readouterr().out and not resumed.loaded
    model_full, full = linear_regression_run(epochs=3)
    assert resumed.history["epoch"].tolist() == [1] * 5 + [2] * 5 + [3] * 5
    pd.testing.assert_frame_equal(resumed.history, full.history)
    assert all(torch.equal(p, q) for p, q in zip(model_resumed.parameters(), model_full.parameters()))
    state = torch.load(path, weights_only=True)
    assert state["epoch"] == 3 and state["step"] == 15


def test_save_and_load_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = classifier()
    opt = adam(model)
    classifier_train_step(model, opt, images(), torch.arange(8) % 3)
    save_checkpoint(tmp_path / "sub" / "c.pt", {"net": model}, {"adam": opt}, note="hello", epoch=2)
    other = classifier()
    other_opt = adam(other)
    state = load_checkpoint(tmp_path / "sub" / "c.pt", {"net": other}, {"adam": other_opt})
    assert state["note"] == "hello" and state["epoch"] == 2
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), other.parameters()))
    assert other_opt.state_dict()["state"][0]["step"] == 1
    with pytest.raises(KeyError, match="no modules named"):
        load_checkpoint(tmp_path / "sub" / "c.pt", {"classifier": other})
    with pytest.raises(TypeError, match="dict of name"):
        save_checkpoint(tmp_path / "d.pt", model)


def test_progress_bar_goes_to_stderr_only_when_asked(capsys):
    run = lambda progress: fit(lambda b: {"loss": float(b)}, [1, 2, 3], epochs=2, progress=progress, desc="tiny")  # noqa: E731
    run(False)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""
    run(True)
    captured = capsys.readouterr()
    assert "tiny" in captured.err and captured.out == ""


def test_make_loader_caps_at_the_budget_and_is_reproducible():
    x, y = torch.randn(1000, 2), torch.arange(1000)
    smoke = get_budget("smoke")
    loader = make_loader((x, y), batch_size=64, budget=smoke, seed=3)
    again = make_loader((x, y), batch_size=64, budget=smoke, seed=3)
    seen = torch.cat([b[1] for b in loader])
    assert len(seen) == smoke.max_train_examples == len(loader.dataset)
    assert len(set(seen.tolist())) == len(seen)
    assert torch.equal(seen, torch.cat([b[1] for b in again])), "same seed, different batches"
    epoch1, epoch2 = [torch.cat([b[1] for b in loader]) for _ in range(2)]
    assert not torch.equal(epoch1, epoch2), "the loader should reshuffle every epoch"
    xb, yb = next(iter(loader))
    assert torch.equal(xb, x[yb])  # images and labels stay paired
    assert len(make_loader(x, batch_size=64)) == 16 and len(make_loader(x, batch_size=64, drop_last=True)) == 15
    ordered = torch.cat([b[0] for b in make_loader(x, batch_size=100, shuffle=False)])
    assert torch.equal(ordered, x)
    with pytest.raises(TypeError, match="Dataset"):
        make_loader("not data", batch_size=2)


def test_sparse_autoencoder_train_step_reports_and_lowers_the_penalty():
    from course_lib.losses import sparsity_kl_loss
    from course_lib.models import DenseAutoencoder
    from course_lib.training import sparse_autoencoder_train_step

    seed_everything(0)
    model = DenseAutoencoder(in_shape=(1, 4, 4), latent_dim=6, hidden=(8,), code_activation="sigmoid")
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    x = torch.rand(16, 1, 4, 4)
    with torch.no_grad():
        z = model.encode(x)
        expected = reconstruction_loss(model.decode(z), x) + 2.0 * sparsity_kl_loss(z, 0.1)
    first = sparse_autoencoder_train_step(model, optimizer, x, penalty="kl", weight=2.0, target=0.1)
    assert set(first) == {"loss", "reconstruction", "sparsity", "mean_activation"}
    assert math.isclose(first["loss"], expected.item(), rel_tol=1e-5)
    for _ in range(150):
        last = sparse_autoencoder_train_step(model, optimizer, x, penalty="kl", weight=2.0, target=0.1)
    assert last["sparsity"] < 0.2 * first["sparsity"]
    assert abs(last["mean_activation"] - 0.1) < 0.05
    l1 = sparse_autoencoder_train_step(model, optimizer, x, penalty="l1", weight=0.5)
    assert math.isclose(l1["loss"], l1["reconstruction"] + 0.5 * l1["sparsity"], rel_tol=1e-5)
    with pytest.raises(ValueError, match="penalty"):
        sparse_autoencoder_train_step(model, optimizer, x, penalty="l2")


def test_update_ema_is_an_exponential_average_with_warm_up():
    from course_lib.training.dcgan import update_ema_

    model, ema = nn.Linear(2, 1), nn.Linear(2, 1)
    with torch.no_grad():
        ema.weight.fill_(0.0)
        model.weight.fill_(1.0)
    update_ema_(ema, model, decay=0.9)
    assert torch.allclose(ema.weight, torch.full_like(ema.weight, 0.1))  # 0.9 * 0 + 0.1 * 1
    update_ema_(ema, model, decay=0.9)
    assert torch.allclose(ema.weight, torch.full_like(ema.weight, 0.19))
    with torch.no_grad():
        ema.weight.fill_(0.0)
    update_ema_(ema, model, decay=0.999, step=0)  # warm-up: decay min(0.999, 1/10) = 0.1
    assert torch.allclose(ema.weight, torch.full_like(ema.weight, 0.9))
    bn_model, bn_ema = nn.BatchNorm1d(3), nn.BatchNorm1d(3)
    bn_model.running_mean.fill_(2.0)
    update_ema_(bn_ema, bn_model)
    assert torch.equal(bn_ema.running_mean, bn_model.running_mean)  # buffers copied
    with pytest.raises(ValueError, match="same architecture"):
        update_ema_(nn.Linear(3, 1), model)
    with pytest.raises(ValueError, match="decay"):
        update_ema_(ema, model, decay=1.0)


def test_gan_train_step_conditional_and_smoothed():
    from course_lib.models.dcgan import ConditionalDCGANDiscriminator, ConditionalDCGANGenerator

    seed_everything(0)
    g = ConditionalDCGANGenerator(latent_dim=8, n_classes=10, base_channels=8)
    d = ConditionalDCGANDiscriminator(in_channels=1, n_classes=10, base_channels=8)
    g_opt, d_opt = torch.optim.Adam(g.parameters(), 1e-3), torch.optim.Adam(d.parameters(), 1e-3)
    real, y, z = torch.rand(6, 1, 28, 28) * 2 - 1, torch.arange(6), torch.randn(6, 8)
    with torch.no_grad():
        g.train(); d.train()
        fake = g(z, y)
        expected = discriminator_loss(d(real, y), d(fake, y), real_label=0.9)
    out = gan_train_step(g, d, g_opt, d_opt, real, 8, noise=z, labels=y, real_label=0.9)
    assert math.isclose(out["d_loss"], expected.item(), rel_tol=1e-4)
    with pytest.raises(ValueError, match="one label per real example"):
        gan_train_step(g, d, g_opt, d_opt, real, 8, labels=y[:2])
