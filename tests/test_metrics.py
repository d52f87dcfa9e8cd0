"""Tests of course_lib.metrics against closed forms, hand computations and a scipy reference."""
import math

import numpy as np
import pandas as pd
import pytest
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.metrics import (
    attribute_accuracy,
    classifier_score,
    frechet_distance,
    importance_weighted_nll,
    mode_coverage,
    negative_elbo,
    reconstruction_error,
    sample_quality_report,
)
from course_lib.models import CNNClassifier


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ----------------------------------------------------------------------------- stubs


class PixelFeatures(nn.Module):
    """Feature extractor stub: the first ``d`` pixels of an image are its features."""

    def __init__(self, d: int = 3, in_shape=(1, 28, 28)):
        super().__init__()
        self.feature_dim, self.in_shape = d, in_shape
        self.unused = nn.Parameter(torch.zeros(1))  # gives the metrics a device to read

    def features(self, x):
        return x.flatten(1)[:, : self.feature_dim]


class FixedLogits(nn.Module):
    """Classifier stub returning ``logits[i]`` for the image whose first pixel is ``i / 1000``."""

    def __init__(self, logits: torch.Tensor, in_shape=(1, 28, 28)):
        super().__init__()
        self.register_buffer("logits", logits)
        self.in_shape = in_shape

    def forward(self, x):
        return self.logits[(x.flatten(1)[:, 0] * 1000).round().long()]


def indexed_images(n: int) -> torch.Tensor:
    """Images whose first pixel encodes their index (for :class:`FixedLogits`)."""
    x = torch.zeros(n, 1, 28, 28)
    x[:, 0, 0, 0] = torch.arange(n) / 1000
    return x


class TinyVAE(nn.Module):
    """A linear VAE on 2x2 images with a 2-D latent space: small enough to compute its ELBO by hand."""

    latent_dim = 2
    in_shape = (1, 2, 2)

    def __init__(self):
        super().__init__()
        self.enc = nn.Linear(4, 4)  # -> (mu, logvar)
        self.dec = nn.Linear(2, 4)

    def encode(self, x):
        h = self.enc(x.flatten(1))
        return h[:, :2], h[:, 2:]

    def decode(self, z):
        return self.dec(z).view(-1, 1, 2, 2)

    def forward(self, x, noise=None):
        mu, logvar = self.encode(x)
        noise = torch.randn_like(mu) if noise is None else noise
        return self.decode(mu + torch.exp(0.5 * logvar) * noise), mu, logvar


def scipy_frechet(f1: np.ndarray, f2: np.ndarray) -> float:
    """Reference Frechet distance from two feature matrices with scipy's matrix square root."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean))


# ----------------------------------------------------------------------------- Frechet distance


def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = torch.rand(64, 1, 28, 28)
    assert frechet_distance(x, x, PixelFeatures()) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_closed_forms_for_shifted_and_scaled_sets():
    feats = PixelFeatures(d=3)
    x = 0.25 + 0.5 * torch.rand(200, 1, 28, 28, dtype=torch.float64)  # in [0.25, 0.75]
    shift = torch.zeros(1, 1, 28, 28, dtype=torch.float64)
    shift.view(-1)[:3] = torch.tensor([0.1, -0.2, 0.05], dtype=torch.float64)
    # same covariance, means apart by the shift: d^2 = ||shift||^2
    assert frechet_distance(x, x + shift, feats) == pytest.approx(0.01 + 0.04 + 0.0025, rel=1e-4)
    # scaled about the mean by a: d^2 = tr(S + a^2 S - 2 a S) = (1 - a)^2 tr(S)
    a, mean = 0.5, x.mean(0, keepdim=True)
    trace = float(x.flatten(1)[:, :3].var(0, unbiased=True).sum())
    assert frechet_distance(x, mean + a * (x - mean), feats) == pytest.approx((1 - a) ** 2 * trace, rel=1e-4)
    # larger shifts, larger distances
    d = [frechet_distance(x, (x + s).clamp(0, 1), feats) for s in (0.0, 0.05, 0.1, 0.2)]
    assert d == sorted(d) and d[0] < 1e-6 < d[1]


def test_frechet_distance_agrees_with_a_scipy_reference():
    g = torch.Generator().manual_seed(3)
    d = 5
    mixing = torch.randn(d, d, generator=g) * 0.1
    real = torch.rand(300, 1, 28, 28, generator=g) * 0.5
    fake = torch.rand(300, 1, 28, 28, generator=g) * 0.5
    fake.view(300, -1)[:, :d] = 0.4 + fake.view(300, -1)[:, :d] @ mixing  # other covariance and mean
    assert fake.min() >= 0 and fake.max() <= 1
    expected = scipy_frechet(real.view(300, -1)[:, :d].double().numpy(), fake.view(300, -1)[:, :d].double().numpy())
    assert frechet_distance(real, fake, PixelFeatures(d)) == pytest.approx(expected, rel=1e-3)


def test_frechet_distance_runs_the_classifier_in_eval_mode_and_restores_its_mode():
    cnn = CNNClassifier(channels=(4, 8), hidden=16, dropout=0.5).train()  # dropout would make FD(x, x) > 0
    x = torch.rand(40, 1, 28, 28)
    assert frechet_distance(x, x, cnn, batch_size=16) == pytest.approx(0.0, abs=1e-4)
    assert cnn.training
    assert frechet_distance(x, (x * 0.3), cnn) > 1e-3


def test_sample_metrics_reject_images_outside_the_unit_interval_or_of_the_wrong_shape():
    x = torch.rand(8, 1, 28, 28)
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        frechet_distance(x, 2 * x - 1, PixelFeatures())
    with pytest.raises(ValueError, match=r"expected fake of shape \(N, 1, 28, 28\), got \(8, 28, 28\)"):
        frechet_distance(x, x[:, 0], PixelFeatures())
    with pytest.raises(ValueError, match=r"expected images of shape \(N, 1, 28, 28\)"):
        classifier_score(torch.rand(4, 3, 32, 32), FixedLogits(torch.zeros(4, 10)))
    with pytest.raises(TypeError, match="features"):
        frechet_distance(x, x, FixedLogits(torch.zeros(8, 10)))


# ----------------------------------------------------------------------------- classifier score


def test_classifier_score_is_one_when_every_image_gets_the_same_prediction():
    logits = torch.tensor([3.0, 1.0, -2.0, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]).repeat(50, 1)
    assert classifier_score(indexed_images(50), FixedLogits(logits)) == pytest.approx(1.0, abs=1e-5)


def test_classifier_score_is_the_number_of_classes_for_confident_evenly_spread_predictions():
    labels = torch.arange(100) % 10
    logits = 30.0 * F.one_hot(labels, 10).float()  # p(y|x) ~ one-hot, p(y) uniform
    assert classifier_score(indexed_images(100), FixedLogits(logits)) == pytest.approx(10.0, rel=1e-4)
    # half the classes used: 5
    logits5 = 30.0 * F.one_hot(torch.arange(100) % 5, 10).float()
    assert classifier_score(indexed_images(100), FixedLogits(logits5)) == pytest.approx(5.0, rel=1e-4)


def test_classifier_score_matches_its_definition_and_leaves_the_global_rng_alone():
    logits = torch.randn(90, 10) * 2
    p = logits.softmax(1)
    p_y = p.mean(0)
    expected = math.exp(float((p * (p.log() - p_y.log())).sum(1).mean()))
    state = torch.get_rng_state()
    assert classifier_score(indexed_images(90), FixedLogits(logits)) == pytest.approx(expected, rel=1e-5)
    scores = [classifier_score(indexed_images(90), FixedLogits(logits), splits=3) for _ in range(2)]
    assert scores[0] == scores[1]  # the shuffle before splitting is seeded
    assert torch.equal(state, torch.get_rng_state())


def test_sample_quality_report_puts_generated_images_next_to_held_out_real_ones():
    real = 0.5 * torch.rand(80, 1, 28, 28)
    fake = (0.5 * torch.rand(50, 1, 28, 28) + 0.3).clamp(0, 1)
    report = sample_quality_report(real, fake, PixelFeaturesWithLogits())
    assert isinstance(report, pd.DataFrame)
    assert list(report.index) == ["generated", "real (held out)"]
    assert list(report.columns) == ["frechet_distance", "classifier_score", "n_images"]
    assert (report["n_images"] == 40).all()  # min(len(fake), len(real) // 2)
    assert report.loc["generated", "frechet_distance"] > 10 * report.loc["real (held out)", "frechet_distance"]


class PixelFeaturesWithLogits(PixelFeatures):
    """Stub with both ``features`` and logits (the first 10 pixels)."""

    def forward(self, x):
        return 10 * x.flatten(1)[:, :10]


# ----------------------------------------------------------------------------- likelihood


def hand_negative_elbo(model: TinyVAE, x: torch.Tensor, noises) -> float:
    """-ELBO per image from its definition: -log Bernoulli(x | sigmoid(logits)) summed over pixels + KL."""
    with torch.no_grad():
        h = model.enc.weight @ x.view(len(x), 4).T + model.enc.bias[:, None]  # (4, N)
        mu, logvar = h[:2].T, h[2:].T
        kl = 0.5 * (mu**2 + logvar.exp() - 1 - logvar).sum(1)  # (N,)
        recon = 0.0
        for eps in noises:
            z = mu + (0.5 * logvar).exp() * eps
            logits = z @ model.dec.weight.T + model.dec.bias  # (N, 4)
            p = 1 / (1 + torch.exp(-logits))
            recon = recon - (x.view(len(x), 4) * p.log() + (1 - x.view(len(x), 4)) * (1 - p).log()).sum(1)
        return float((recon / len(noises) + kl).mean())


@pytest.mark.parametrize("n_samples", [1, 3])
def test_negative_elbo_matches_a_hand_computation(n_samples):
    model = TinyVAE().double().train()
    x = torch.rand(10, 1, 2, 2, dtype=torch.float64)
    # negative_elbo draws noise batch by batch, n_samples times per batch: reproduce that order
    g = torch.Generator().manual_seed(5)
    noise_batches = [[torch.randn(b, 2, generator=g, dtype=torch.float64) for _ in range(n_samples)] for b in (4, 4, 2)]
    expected = sum(hand_negative_elbo(model, xb, nb) * len(xb)
                   for xb, nb in zip(x.split(4), noise_batches)) / len(x)
    got = negative_elbo(model, x, n_samples=n_samples, batch_size=4, generator=torch.Generator().manual_seed(5))
    assert got == pytest.approx(expected, rel=1e-6)
    assert model.training  # mode restored


def test_likelihood_bounds_are_exact_when_the_decoder_ignores_z():
    model = TinyVAE()
    with torch.no_grad():  # q(z|x) = p(z) = N(0, I) and p(x|z) = p(x): every bound equals -log p(x)
        model.enc.weight.zero_()
        model.enc.bias.zero_()
        model.dec.weight.zero_()
        model.dec.bias.copy_(torch.tensor([1.0, -2.0, 0.5, 0.0]))
    x = torch.rand(6, 1, 2, 2)
    exact = float(F.binary_cross_entropy_with_logits(model.dec.bias.detach().expand(6, 4), x.view(6, 4), reduction="sum")) / 6
    assert negative_elbo(model, x) == pytest.approx(exact, rel=1e-5)
    assert importance_weighted_nll(model, x, n_samples=7) == pytest.approx(exact, rel=1e-5)


def test_importance_weighted_bound_is_tighter_than_the_elbo():
    model = TinyVAE()
    x = torch.rand(64, 1, 2, 2)
    elbo = negative_elbo(model, x, n_samples=50, generator=torch.Generator().manual_seed(0))
    iw = importance_weighted_nll(model, x, n_samples=200, generator=torch.Generator().manual_seed(1))
    assert iw < elbo - 0.01


def test_reconstruction_error_per_image():
    class Constant(nn.Module):  # an "autoencoder" that always outputs logits 0 (pixels 0.5)
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return self.w.expand_as(x)

    x = torch.rand(5, 1, 4, 4)
    x[2] = 1.0
    bce = reconstruction_error(Constant(), x, batch_size=2)
    assert bce.shape == (5,)
    assert torch.allclose(bce, torch.full((5,), 16 * math.log(2.0)))  # BCE of p = 0.5 is log 2 whatever x
    mse = reconstruction_error(Constant(), x, kind="mse")
    assert torch.allclose(mse, x.flatten(1).pow(2).sum(1))
    sig = reconstruction_error(Constant(), x, kind="sigmoid_mse")
    assert torch.allclose(sig, (x - 0.5).flatten(1).pow(2).sum(1))
    assert int(sig.argmax()) == 2  # the all-white image is the outlier
    vae_errors = reconstruction_error(TinyVAE(), torch.rand(3, 1, 2, 2))  # tuple outputs: the first element
    assert vae_errors.shape == (3,)
    with pytest.raises(ValueError, match="unknown kind"):
        reconstruction_error(Constant(), x, kind="l1")


# ----------------------------------------------------------------------------- attributes and modes


def test_attribute_accuracy_per_attribute_and_single_label():
    logits = torch.tensor([[2.0, -1.0], [3.0, 1.0], [-1.0, 1.0], [-2.0, -3.0]])
    targets = torch.tensor([[1, 0], [1, 0], [1, 1], [0, 1]])
    acc = attribute_accuracy(FixedLogits(logits), indexed_images(4), targets, names=["smile", "glasses"])
    assert list(acc.index) == ["smile", "glasses"]
    assert acc["smile"] == pytest.approx(0.75) and acc["glasses"] == pytest.approx(0.5)
    labels = torch.tensor([0, 0, 1, 1])  # arg-max predictions: 0, 0, 1, 0
    assert attribute_accuracy(FixedLogits(logits), indexed_images(4), labels) == pytest.approx(0.75)
    with pytest.raises(ValueError, match="one column per logit"):
        attribute_accuracy(FixedLogits(logits), indexed_images(4), torch.zeros(4, 3))


def test_mode_coverage_counts_modes_and_good_samples():
    angles = torch.arange(8) * 2 * math.pi / 8
    centres = 2.0 * torch.stack([angles.cos(), angles.sin()], 1)  # (8, 2)
    std = 0.05
    g = torch.Generator().manual_seed(0)
    near = centres[torch.tensor([0, 1, 2] * 30)] + std * torch.randn(90, 2, generator=g).clamp(-2, 2)
    far = torch.zeros(30, 2)  # the centre of the ring is 2 away from every mode
    result = mode_coverage(torch.cat([near, far]), centres, std=std)
    assert result["modes_covered"] == 3 and result["n_modes"] == 8
    assert result["high_quality_fraction"] == pytest.approx(0.75)
    assert result["counts"].tolist() == [30, 30, 30, 0, 0, 0, 0, 0]
    assert mode_coverage(near, centres, std=std, min_count=31)["modes_covered"] == 0
    everywhere = centres.repeat(5, 1)
    assert mode_coverage(everywhere, centres, std=std)["modes_covered"] == 8
