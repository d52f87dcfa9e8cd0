"""course_lib.losses against closed forms, independent references and float64 gradcheck."""
import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.autograd import gradcheck

from course_lib import losses as L

D64 = torch.float64


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def randn(*shape, g, requires_grad=False):
    return torch.randn(*shape, generator=g, dtype=D64).requires_grad_(requires_grad)


def rand(*shape, g, requires_grad=False):
    return torch.rand(*shape, generator=g, dtype=D64).requires_grad_(requires_grad)


def close(a, b, **kw):
    torch.testing.assert_close(torch.as_tensor(a, dtype=D64), torch.as_tensor(b, dtype=D64), **kw)


# ----------------------------------------------------------------------------- KL


def test_kl_zero_at_prior():
    assert L.kl_divergence(torch.zeros(4, 3), torch.zeros(4, 3)).item() == 0.0


def test_kl_of_unit_shift_is_half_per_dim():
    # KL(N(1, 1) || N(0, 1)) = 1/2 per latent dimension; summed over 5 dims, same for each example
    close(L.kl_divergence(torch.ones(3, 5, dtype=D64), torch.zeros(3, 5, dtype=D64)), 2.5)


def test_kl_matches_torch_distributions(g):
    mu, logvar = randn(6, 4, g=g), randn(6, 4, g=g)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    reference = torch.distributions.kl_divergence(q, p).sum(dim=1).mean()
    close(L.kl_divergence(mu, logvar), reference)
    assert L.kl_divergence(mu, logvar).dim() == 0


def test_kl_sums_over_all_non_batch_dims(g):
    mu, logvar = randn(2, 3, 4, g=g), randn(2, 3, 4, g=g)
    close(L.kl_divergence(mu, logvar), L.kl_divergence(mu.flatten(1), logvar.flatten(1)))


def test_kl_is_nonnegative_and_positive_off_prior(g):
    assert L.kl_divergence(randn(8, 2, g=g), randn(8, 2, g=g)).item() > 0


def test_kl_gradcheck(g):
    assert gradcheck(L.kl_divergence, (randn(3, 4, g=g, requires_grad=True), randn(3, 4, g=g, requires_grad=True)))


def test_kl_errors():
    with pytest.raises(ValueError, match=r"same shape, got \(4, 2\) and \(4, 3\)"):
        L.kl_divergence(torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match="batch dimension"):
        L.kl_divergence(torch.zeros(3), torch.zeros(3))
    with pytest.raises(TypeError, match="torch.Tensor"):
        L.kl_divergence([0.0, 1.0], torch.zeros(1, 2))


# ----------------------------------------------------------------------------- reconstruction


def manual_bce(logits, x):
    return -(x * F.logsigmoid(logits) + (1 - x) * F.logsigmoid(-logits))


def test_bce_matches_log_sigmoid_formula(g):
    logits, x = randn(5, 1, 4, 4, g=g) * 3, rand(5, 1, 4, 4, g=g)
    reference = manual_bce(logits, x).sum(dim=(1, 2, 3)).mean()
    close(L.reconstruction_loss(logits, x), reference)
    close(L.reconstruction_loss(logits, x, kind="bce"), reference)


def test_bce_known_value_and_stability():
    # logits 0 -> ln 2 per pixel; 6 pixels per example
    close(L.reconstruction_loss(torch.zeros(2, 6, dtype=D64), torch.full((2, 6), 0.5, dtype=D64)), 6 * math.log(2))
    # huge confident logits, right and wrong: finite, ~0 and ~|logit|
    logits = torch.tensor([[100.0, -100.0]])
    assert L.reconstruction_loss(logits, torch.tensor([[1.0, 0.0]])).item() < 1e-6
    close(L.reconstruction_loss(logits, torch.tensor([[0.0, 1.0]])), 200.0, rtol=1e-6, atol=1e-4)


def test_mse_is_sum_of_squares_per_example(g):
    out, x = randn(3, 2, 5, g=g), randn(3, 2, 5, g=g)
    close(L.reconstruction_loss(out, x, kind="mse"), ((out - x) ** 2).sum(dim=(1, 2)).mean())


def test_reconstruction_gradcheck(g):
    x = rand(2, 3, 3, g=g)
    assert gradcheck(lambda lg: L.reconstruction_loss(lg, x), (randn(2, 3, 3, g=g, requires_grad=True),))
    assert gradcheck(lambda o: L.reconstruction_loss(o, x, kind="mse"), (randn(2, 3, 3, g=g, requires_grad=True),))


def test_reconstruction_errors():
    with pytest.raises(ValueError, match=r"x_logits and x of the same shape, got \(2, 4\) and \(2, 5\)"):
        L.reconstruction_loss(torch.zeros(2, 4), torch.zeros(2, 5))
    with pytest.raises(ValueError, match=r"\[0, 1\].*\(x \+ 1\) / 2"):
        L.reconstruction_loss(torch.zeros(2, 4), -torch.ones(2, 4))
    with pytest.raises(ValueError, match="'bce', 'mse'"):
        L.reconstruction_loss(torch.zeros(2, 4), torch.zeros(2, 4), kind="l1")
    # mse accepts targets outside [0, 1]
    assert L.reconstruction_loss(torch.zeros(2, 4), -torch.ones(2, 4), kind="mse").item() == 4.0


# ----------------------------------------------------------------------------- VAE loss


def test_vae_loss_is_recon_plus_beta_kl(g):
    logits, x = randn(4, 1, 3, 3, g=g), rand(4, 1, 3, 3, g=g)
    mu, logvar = randn(4, 2, g=g), randn(4, 2, g=g)
    recon = manual_bce(logits, x).sum(dim=(1, 2, 3)).mean()
    kl = (-0.5 * (1 + logvar - mu**2 - logvar.exp())).sum(dim=1).mean()
    close(L.vae_loss(logits, x, mu, logvar), recon + kl)
    close(L.vae_loss(logits, x, mu, logvar, beta=4.0), recon + 4.0 * kl)
    close(L.vae_loss(logits, x, mu, logvar, beta=0.0), recon)


def test_vae_loss_gradcheck(g):
    x = rand(2, 5, g=g)
    inputs = (randn(2, 5, g=g, requires_grad=True), randn(2, 3, g=g, requires_grad=True), randn(2, 3, g=g, requires_grad=True))
    assert gradcheck(lambda lg, mu, lv: L.vae_loss(lg, x, mu, lv, beta=0.7), inputs)


def test_vae_loss_batch_mismatch():
    with pytest.raises(ValueError, match=r"same batch size, got shapes \(4, 5\) and \(3, 2\)"):
        L.vae_loss(torch.zeros(4, 5), torch.zeros(4, 5), torch.zeros(3, 2), torch.zeros(3, 2))


# ----------------------------------------------------------------------------- sum vs mean


def test_duplicating_the_batch_leaves_losses_unchanged(g):
    logits, x = randn(3, 1, 4, 4, g=g), rand(3, 1, 4, 4, g=g)
    mu, logvar = randn(3, 2, g=g), randn(3, 2, g=g)
    r, f = randn(3, 1, g=g), randn(5, 1, g=g)
    dup = lambda t: torch.cat([t, t])  # noqa: E731
    cases = [
        (lambda lg, x, mu, lv: L.kl_divergence(mu, lv), (logits, x, mu, logvar)),
        (lambda lg, x, mu, lv: L.reconstruction_loss(lg, x), (logits, x, mu, logvar)),
        (lambda lg, x, mu, lv: L.reconstruction_loss(lg, x, kind="mse"), (logits, x, mu, logvar)),
        (L.vae_loss, (logits, x, mu, logvar)),
        (L.discriminator_loss, (r, f)),
        (L.generator_loss, (f,)),
        (L.critic_loss, (r, f)),
        (L.wasserstein_generator_loss, (f,)),
        (L.lsgan_discriminator_loss, (r, f)),
        (L.lsgan_generator_loss, (f,)),
        (L.cycle_consistency_loss, (x, logits)),
        (L.identity_loss, (x, logits)),
    ]
    for fn, args in cases:
        close(fn(*[dup(a) for a in args]), fn(*args))


def test_doubling_pixels_doubles_reconstruction_and_latents_double_kl(g):
    logits, x = randn(3, 1, 4, 4, g=g), rand(3, 1, 4, 4, g=g)
    wide = lambda t: torch.cat([t, t], dim=-1)  # noqa: E731  (3, 1, 4, 8): twice the pixels
    for kind in ("bce", "mse"):
        close(L.reconstruction_loss(wide(logits), wide(x), kind=kind), 2 * L.reconstruction_loss(logits, x, kind=kind))
    mu, logvar = randn(3, 2, g=g), randn(3, 2, g=g)
    close(L.kl_divergence(wide(mu), wide(logvar)), 2 * L.kl_divergence(mu, logvar))


# ----------------------------------------------------------------------------- GAN


def test_discriminator_loss_matches_reference(g):
    real, fake = randn(4, 1, g=g), randn(6, 1, g=g)  # different batch sizes: each term its own mean
    reference = -F.logsigmoid(real).mean() - F.logsigmoid(-fake).mean()
    close(L.discriminator_loss(real, fake), reference)
    close(L.discriminator_loss(torch.zeros(3), torch.zeros(3)), 2 * math.log(2))


def test_discriminator_loss_orders_good_and_bad_discriminators():
    good = L.discriminator_loss(torch.full((4,), 5.0), torch.full((4,), -5.0))
    bad = L.discriminator_loss(torch.full((4,), -5.0), torch.full((4,), 5.0))
    assert good.item() < 0.02 < 10 < bad.item()


def test_generator_loss_is_non_saturating(g):
    fake = randn(7, 1, g=g)
    close(L.generator_loss(fake), -F.logsigmoid(fake).mean())
    close(L.generator_loss(torch.zeros(2, 1)), math.log(2))
    # D confidently rejects the fakes: the non-saturating loss still has gradient ~ -1 per example
    logits = torch.full((4,), -20.0, requires_grad=True)
    L.generator_loss(logits).backward()
    close(logits.grad, torch.full((4,), -0.25), atol=1e-6, rtol=0)


def test_gan_losses_gradcheck(g):
    r, f = randn(3, 1, g=g, requires_grad=True), randn(4, 1, g=g, requires_grad=True)
    assert gradcheck(L.discriminator_loss, (r, f))
    assert gradcheck(L.generator_loss, (f,))
    assert gradcheck(L.critic_loss, (r, f))
    assert gradcheck(L.wasserstein_generator_loss, (f,))
    assert gradcheck(L.lsgan_discriminator_loss, (r, f))
    assert gradcheck(L.lsgan_generator_loss, (f,))


def test_wasserstein_losses(g):
    r, f = randn(5, g=g), randn(3, g=g)
    close(L.critic_loss(r, f), f.mean() - r.mean())
    close(L.critic_loss(torch.tensor([3.0, 5.0]), torch.tensor([1.0])), 1.0 - 4.0)
    close(L.wasserstein_generator_loss(torch.tensor([1.0, 2.0, 6.0])), -3.0)


def test_gan_loss_type_errors():
    with pytest.raises(TypeError, match="real_logits"):
        L.discriminator_loss(1.0, torch.zeros(2))
    with pytest.raises(TypeError, match="fake_scores"):
        L.wasserstein_generator_loss([1.0])
    with pytest.raises(ValueError, match="non-empty"):
        L.generator_loss(torch.zeros(0))


# ----------------------------------------------------------------------------- gradient penalty


class Linear(nn.Module):
    """f(x) = <w, x> + b over all non-batch dims: grad_x f = w for every x."""

    def __init__(self, shape, g):
        super().__init__()
        self.w = nn.Parameter(torch.randn(shape, generator=g, dtype=D64))
        self.b = nn.Parameter(torch.randn((), generator=g, dtype=D64))

    def forward(self, x):
        return (x * self.w).flatten(1).sum(dim=1) + self.b


def half_square(x):
    """f(x) = ||x||^2 / 2 per example: grad_x f = x, so the norm depends on where x_hat is."""
    return 0.5 * x.pow(2).flatten(1).sum(dim=1)


@pytest.mark.parametrize("shape", [(4, 3), (4, 2, 3, 3)])
def test_gp_linear_critic_is_closed_form_for_any_eps(shape, g):
    critic = Linear(shape[1:], g)
    expected = (critic.w.detach().norm() - 1) ** 2  # norm over *all* non-batch dims (C, H, W)
    real, fake = randn(*shape, g=g), randn(*shape, g=g)
    for eps in (None, torch.rand(shape[0], generator=g, dtype=D64), torch.full((shape[0],), 0.3),
                torch.zeros(shape[0]), torch.ones(shape[0])):
        close(L.gradient_penalty(critic, real, fake, eps=eps), expected)


def test_gp_norm_over_all_non_batch_dims_not_channels(g):
    # w chosen so that ||w||_F = 1 (penalty 0) while each channel slice has norm 1/sqrt(2)
    critic = Linear((2, 2, 2), g)
    with torch.no_grad():
        critic.w.fill_(1 / math.sqrt(8))
    real, fake = randn(3, 2, 2, 2, g=g), randn(3, 2, 2, 2, g=g)
    assert L.gradient_penalty(critic, real, fake).item() == pytest.approx(0.0, abs=1e-12)


def test_gp_draws_one_eps_per_example(g):
    seen = {}

    def recording_critic(x):
        seen["x_hat"] = x.detach().clone()
        return half_square(x)

    n = 6
    real, fake = torch.ones(n, 2, 3, 3, dtype=D64), torch.zeros(n, 2, 3, 3, dtype=D64)
    gp = L.gradient_penalty(recording_critic, real, fake, generator=torch.Generator().manual_seed(1))
    x_hat = seen["x_hat"]  # = eps broadcast, since real = 1 and fake = 0
    per_example = x_hat.flatten(1)
    # constant within each example (one eps per example, not per pixel) ...
    assert torch.equal(per_example, per_example[:, :1].expand_as(per_example))
    # ... in [0, 1] and different across examples
    assert (per_example[:, 0] >= 0).all() and (per_example[:, 0] <= 1).all()
    assert per_example[:, 0].unique().numel() == n
    # and the value is the penalty at those points: grad of half_square is x_hat itself
    close(gp, ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean())


def test_gp_generator_makes_it_reproducible(g):
    real, fake = randn(5, 4, g=g), randn(5, 4, g=g)
    a = L.gradient_penalty(half_square, real, fake, generator=torch.Generator().manual_seed(3))
    b = L.gradient_penalty(half_square, real, fake, generator=torch.Generator().manual_seed(3))
    c = L.gradient_penalty(half_square, real, fake, generator=torch.Generator().manual_seed(4))
    assert a.item() == b.item() != c.item()


def manual_gp_half_square(real, fake, eps_full):
    x_hat = eps_full * real + (1 - eps_full) * fake
    return ((x_hat.flatten(1).norm(dim=1) - 1) ** 2).mean()  # grad of half_square is x_hat


def test_gp_given_eps_of_shape_n_is_per_example(g):
    # N == feature dim: eps of shape (N,) must weight examples, not features
    real, fake, eps = randn(3, 3, g=g), randn(3, 3, g=g), torch.tensor([0.1, 0.5, 0.9], dtype=D64)
    got = L.gradient_penalty(half_square, real, fake, eps=eps)
    close(got, manual_gp_half_square(real, fake, eps.view(3, 1)))
    assert not torch.allclose(got, manual_gp_half_square(real, fake, eps.view(1, 3)))
    # images: (N,) -> (N, 1, 1, 1)
    real, fake = randn(3, 2, 4, 4, g=g), randn(3, 2, 4, 4, g=g)
    close(L.gradient_penalty(half_square, real, fake, eps=eps), manual_gp_half_square(real, fake, eps.view(3, 1, 1, 1)))


def test_gp_per_example_eps_of_shape_n_1_1_1_used_as_is(g):
    real, fake = randn(3, 2, 4, 4, g=g), randn(3, 2, 4, 4, g=g)
    per_example = rand(3, 1, 1, 1, g=g)
    close(L.gradient_penalty(half_square, real, fake, eps=per_example), manual_gp_half_square(real, fake, per_example))


@pytest.mark.parametrize("eps_shape", [(3, 2, 4, 4), (3, 1, 4, 4), (1, 1, 1, 1), (), (3, 2)])
def test_gp_refuses_eps_that_is_not_one_weight_per_example(g, eps_shape):
    # per-pixel (or shared) interpolation weights are the classic WGAN-GP mistake: refuse them
    real, fake = randn(3, 2, 4, 4, g=g), randn(3, 2, 4, 4, g=g)
    with pytest.raises(ValueError, match=r"\(3, 1, 1, 1\) or \(3,\)"):
        L.gradient_penalty(half_square, real, fake, eps=torch.rand(eps_shape))
    with pytest.raises(ValueError, match="one weight per example"):
        L.gradient_penalty(half_square, real, fake, eps=0.5)


def test_gp_differentiable_wrt_critic_params(g):
    critic = Linear((2, 3, 3), g)
    real, fake = randn(4, 2, 3, 3, g=g), randn(4, 2, 3, 3, g=g)
    L.gradient_penalty(critic, real, fake).backward()
    w = critic.w.detach()
    assert critic.w.grad is not None and critic.w.grad.abs().sum() > 0
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    close(critic.w.grad, 2 * (w.norm() - 1) * w / w.norm())


def test_gp_gradcheck_wrt_params_of_nonlinear_critic(g):
    real, fake, eps = randn(4, 3, g=g), randn(4, 3, g=g), rand(4, g=g)

    def gp_of_params(w1, w2):
        critic = lambda x: torch.tanh(x @ w1) @ w2  # noqa: E731  grad_x depends on x
        return L.gradient_penalty(critic, real, fake, eps=eps)

    assert gradcheck(gp_of_params, (randn(3, 5, g=g, requires_grad=True), randn(5, g=g, requires_grad=True)))


def test_gp_does_not_reach_the_generator(g):
    gen = nn.Linear(2, 4).double()
    z = randn(3, 2, g=g, requires_grad=True)
    fake = gen(z)  # not detached on purpose
    critic = lambda x: torch.tanh(x).sum(dim=1)  # noqa: E731
    L.gradient_penalty(critic, randn(3, 4, g=g), fake).backward()
    assert z.grad is None and gen.weight.grad is None


def test_gp_works_under_no_grad_and_zero_gradient_is_finite(g):
    critic = Linear((4,), g)
    with torch.no_grad():
        gp = L.gradient_penalty(critic, randn(2, 4, g=g), randn(2, 4, g=g))
    close(gp, (critic.w.detach().norm() - 1) ** 2)
    # constant critic: gradient 0, penalty 1, and the backward pass stays finite
    p = nn.Parameter(torch.ones((), dtype=D64))
    gp = L.gradient_penalty(lambda x: 0 * x.sum(dim=1) * p, randn(2, 4, g=g), randn(2, 4, g=g))
    close(gp, 1.0)
    gp.backward()
    assert torch.isfinite(p.grad).all()


def test_gp_errors(g):
    with pytest.raises(ValueError, match=r"real and fake of the same shape, got \(4, 3\) and \(5, 3\)"):
        L.gradient_penalty(half_square, torch.zeros(4, 3), torch.zeros(5, 3))
    with pytest.raises(ValueError, match=r"one weight per example, of shape \(4, 1\) or \(4,\)"):
        L.gradient_penalty(half_square, torch.zeros(4, 3), torch.zeros(4, 3), eps=torch.zeros(2))
    with pytest.raises(ValueError, match="not both"):
        L.gradient_penalty(half_square, torch.zeros(4, 3), torch.zeros(4, 3), eps=0.5, generator=torch.Generator())
    with pytest.raises(TypeError, match="critic"):
        L.gradient_penalty("critic", torch.zeros(4, 3), torch.zeros(4, 3))


# ----------------------------------------------------------------------------- CycleGAN


def test_l1_losses(g):
    a, b = randn(2, 3, 4, 4, g=g), randn(2, 3, 4, 4, g=g)
    close(L.cycle_consistency_loss(a, b), (a - b).abs().sum() / a.numel())
    close(L.identity_loss(a, b), (a - b).abs().sum() / a.numel())
    close(L.cycle_consistency_loss(torch.zeros(1, 4), torch.tensor([[1.0, -1.0, 2.0, 0.0]])), 1.0)
    with pytest.raises(ValueError, match=r"real and reconstructed of the same shape"):
        L.cycle_consistency_loss(a, b[:, :2])


def test_lsgan_losses_closed_form(g):
    r, f = randn(2, 1, 3, 3, g=g), randn(2, 1, 3, 3, g=g)  # PatchGAN-shaped scores
    close(L.lsgan_discriminator_loss(r, f), 0.5 * (((r - 1) ** 2).mean() + (f**2).mean()))
    close(L.lsgan_generator_loss(f), ((f - 1) ** 2).mean())
    # perfect discriminator: 0; fooled discriminator: 0.5 * (1 + 1)
    assert L.lsgan_discriminator_loss(torch.ones(3), torch.zeros(3)).item() == 0.0
    assert L.lsgan_discriminator_loss(torch.zeros(3), torch.ones(3)).item() == 1.0
    assert L.lsgan_generator_loss(torch.ones(3)).item() == 0.0


class Counting(nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module, self.calls = module, 0

    def forward(self, x):
        self.calls += 1
        return self.module(x)


def tiny_cyclegan(seed=0):
    torch.manual_seed(seed)
    gen = lambda: Counting(nn.Conv2d(3, 3, 3, padding=1).double())  # noqa: E731
    disc = lambda: nn.Conv2d(3, 1, 3, stride=2).double()  # noqa: E731  (N, 1, 3, 3) patch scores
    return gen(), gen(), disc(), disc()


def test_cyclegan_generator_loss_matches_manual(g):
    g_xy, g_yx, d_x, d_y = tiny_cyclegan()
    x, y = randn(2, 3, 8, 8, g=g), randn(2, 3, 8, 8, g=g)
    out = L.cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, x, y, cycle_weight=7.0, identity_weight=3.0)
    assert set(out) == {"loss", "adversarial", "cycle", "identity", "fake_x", "fake_y"}

    G, Fm = g_xy.module, g_yx.module
    adv = ((d_y(G(x)) - 1) ** 2).mean() + ((d_x(Fm(y)) - 1) ** 2).mean()
    cyc = (Fm(G(x)) - x).abs().mean() + (G(Fm(y)) - y).abs().mean()
    idt = (G(y) - y).abs().mean() + (Fm(x) - x).abs().mean()
    close(out["adversarial"], adv)
    close(out["cycle"], cyc)
    close(out["identity"], idt)
    close(out["loss"], adv + 7.0 * cyc + 3.0 * idt)
    close(out["fake_y"], G(x))
    close(out["fake_x"], Fm(y))
    assert g_xy.calls == g_yx.calls == 3  # fake, cycle, identity

    out["loss"].backward()
    for p in list(G.parameters()) + list(Fm.parameters()):
        assert p.grad is not None and p.grad.abs().sum() > 0


def test_cyclegan_generator_loss_defaults_and_no_identity(g):
    g_xy, g_yx, d_x, d_y = tiny_cyclegan(1)
    x, y = randn(2, 3, 8, 8, g=g), randn(2, 3, 8, 8, g=g)
    full = L.cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, x, y)
    close(full["loss"], full["adversarial"] + 10.0 * full["cycle"] + 5.0 * full["identity"])
    assert full["identity"].item() > 0

    g_xy.calls = g_yx.calls = 0
    out = L.cyclegan_generator_loss(g_xy, g_yx, d_x, d_y, x, y, identity_weight=0.0)
    assert g_xy.calls == g_yx.calls == 2  # identity passes skipped
    assert out["identity"].dim() == 0 and out["identity"].item() == 0.0
    close(out["loss"], full["adversarial"] + 10.0 * full["cycle"])


# ----------------------------------------------------------------------------- sparse autoencoders


def test_sparsity_kl_loss_matches_hand_computed_bernoulli_kl():
    # two units with batch means 0.3 and 0.1 (the second equals the target, so it adds 0)
    code = torch.tensor([[0.2, 0.0], [0.4, 0.2]])
    # KL(0.1 || 0.3) = 0.1 ln(0.1 / 0.3) + 0.9 ln(0.9 / 0.7) = -0.1098612 + 0.2261827 = 0.1163215
    close(L.sparsity_kl_loss(code, target=0.1), torch.tensor(0.1163215), atol=1e-6, rtol=0)
    # KL(0.5 || 0.25) = 0.5 ln 2 + 0.5 ln(2 / 3) = 0.5 ln(4 / 3) = 0.1438410, for each of 3 units
    close(L.sparsity_kl_loss(torch.full((4, 3), 0.25), target=0.5), torch.tensor(3 * 0.1438410), atol=1e-6, rtol=0)
    assert L.sparsity_kl_loss(torch.full((5, 7), 0.05), target=0.05).abs().item() < 1e-6  # zero at the target


def test_sparsity_kl_loss_averages_over_the_batch_before_the_kl():
    # per-example activations 0 and 1 average to 0.5: the penalty is KL(rho || 0.5), not a mean of KLs
    code = torch.tensor([[0.0], [1.0]])
    expected = 0.1 * math.log(0.1 / 0.5) + 0.9 * math.log(0.9 / 0.5)
    close(L.sparsity_kl_loss(code, target=0.1), torch.tensor(expected), atol=1e-6, rtol=0)
    assert torch.isfinite(L.sparsity_kl_loss(torch.zeros(3, 2), target=0.1))  # a dead unit stays finite
    # its gradient pushes an over-active unit down and an under-active one up
    z = torch.tensor([[0.5, 0.01]], requires_grad=True)
    L.sparsity_kl_loss(z, target=0.1).backward()
    assert z.grad[0, 0] > 0 and z.grad[0, 1] < 0


def test_sparsity_kl_loss_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        L.sparsity_kl_loss(torch.tensor([[-0.5, 0.2]]))
    with pytest.raises(ValueError, match="target"):
        L.sparsity_kl_loss(torch.rand(2, 3), target=1.0)
    with pytest.raises(ValueError, match="batch dimension"):
        L.sparsity_kl_loss(torch.rand(3))


def test_l1_activity_loss_sums_units_and_averages_the_batch():
    code = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.5, 0.0]])
    close(L.l1_activity_loss(code), torch.tensor((3.0 + 1.0) / 2))


def test_discriminator_loss_one_sided_label_smoothing_matches_closed_form():
    real, fake = torch.tensor([0.3, -1.2, 2.0]), torch.tensor([-0.5, 0.7])
    sig = torch.sigmoid
    expected = (-(0.9 * torch.log(sig(real)) + 0.1 * torch.log(1 - sig(real))).mean()
                - torch.log(1 - sig(fake)).mean())
    assert torch.allclose(L.discriminator_loss(real, fake, real_label=0.9), expected, atol=1e-6)
    assert torch.equal(L.discriminator_loss(real, fake, real_label=1.0), L.discriminator_loss(real, fake))
    # the real term is smallest at D(x) = real_label: the smoothed optimum of a lone real example
    logits = torch.linspace(-5, 5, 2001)
    per_logit = torch.stack([L.discriminator_loss(l.view(1), torch.tensor([-30.0]), real_label=0.9) for l in logits])
    assert abs(float(sig(logits[per_logit.argmin()])) - 0.9) < 0.01
    with pytest.raises(ValueError, match="real_label"):
        L.discriminator_loss(real, fake, real_label=0.0)
