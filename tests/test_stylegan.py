"""Tests of course_lib.models.stylegan: closed-form properties of each layer on tiny configs."""
import math

import pytest
import torch
from torch import nn

from course_lib.models.stylegan import (
    AdaIN,
    EqualizedConv2d,
    EqualizedLinear,
    MappingNetwork,
    MinibatchStdDev,
    NoiseInput,
    PixelNorm,
    ProgressiveGenerator,
    ToyStyleGenerator,
    fade_in,
    mix_styles,
)


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def test_pixel_norm_gives_unit_mean_square_per_pixel():
    x = torch.randn(3, 8, 5, 5) * torch.rand(3, 1, 5, 5) * 10  # a different scale at every pixel
    y = PixelNorm()(x)
    assert torch.allclose(y.pow(2).mean(dim=1), torch.ones(3, 5, 5), atol=1e-5)
    assert torch.allclose(y / y.norm(dim=1, keepdim=True), x / x.norm(dim=1, keepdim=True), atol=1e-6)  # direction kept
    v = PixelNorm()(torch.randn(4, 6) * 3)
    assert torch.allclose(v.pow(2).mean(dim=1), torch.ones(4), atol=1e-5)


def test_pixel_norm_rejects_3d_input():
    with pytest.raises(ValueError, match="expected"):
        PixelNorm()(torch.randn(2, 3, 4))


def test_minibatch_stddev_matches_a_direct_computation():
    x = torch.randn(6, 3, 4, 4)
    y = MinibatchStdDev(eps=0.0)(x)
    assert y.shape == (6, 4, 4, 4)
    assert torch.equal(y[:, :3], x)
    expected = x.std(dim=0, unbiased=False).mean()
    assert torch.allclose(y[:, 3], expected.expand(6, 4, 4))


def test_minibatch_stddev_is_about_zero_for_identical_examples_and_grows_with_variety():
    layer = MinibatchStdDev()
    one = torch.randn(1, 3, 4, 4)
    identical = layer(one.repeat(8, 1, 1, 1))[0, 3, 0, 0]
    near = layer(one + 0.1 * torch.randn(8, 3, 4, 4))[0, 3, 0, 0]
    varied = layer(torch.randn(8, 3, 4, 4))[0, 3, 0, 0]
    assert identical < 1e-3 < near < varied


def test_minibatch_stddev_needs_a_batch():
    with pytest.raises(ValueError, match="at least 2"):
        MinibatchStdDev()(torch.randn(1, 3, 4, 4))


def test_equalized_linear_stores_unit_normal_weights_and_uses_he_scaled_ones():
    layer = EqualizedLinear(400, 300)
    assert abs(layer.weight.std().item() - 1.0) < 0.02
    assert abs(layer.effective_weight.std().item() - math.sqrt(2 / 400)) < 0.02 * math.sqrt(2 / 400)
    x = torch.randn(5, 400)
    assert torch.allclose(layer(x), x @ (layer.weight * math.sqrt(2 / 400)).T + layer.bias, atol=1e-5)


def test_equalized_conv_matches_a_plain_conv_with_the_scaled_weight():
    layer = EqualizedConv2d(3, 4, 3, padding=1)
    plain = nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        plain.weight.copy_(layer.weight * math.sqrt(2 / 27))
        plain.bias.copy_(layer.bias)
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(layer(x), plain(x), atol=1e-5)


def test_equalized_lr_makes_adam_change_every_layer_at_the_same_relative_speed():
    # Adam's first step moves every parameter by about lr, so the relative change of a layer's effective
    # weight is lr / std(stored weight): the same for every layer when stored weights are N(0, 1).
    def relative_steps(layers):
        opt = torch.optim.Adam([p for layer in layers for p in layer.parameters()], lr=1e-3)
        before = [layer.weight.detach().clone() for layer in layers]
        x = torch.randn(16, 4)
        out = x
        for layer in layers:
            out = torch.relu(layer(out))
        out.pow(2).mean().backward()
        opt.step()
        return [((layer.weight - b).norm() / b.norm()).item() for layer, b in zip(layers, before)]

    equal = relative_steps([EqualizedLinear(4, 512), EqualizedLinear(512, 8)])
    plain_layers = [nn.Linear(4, 512), nn.Linear(512, 8)]
    for layer in plain_layers:
        nn.init.kaiming_normal_(layer.weight)
    plain = relative_steps(plain_layers)
    assert max(equal) / min(equal) < 1.5
    assert plain[1] / plain[0] > 5  # sqrt(512 / 4) = 11 times larger relative step for the wide layer


def test_fade_in_endpoints_and_linearity():
    old, new = torch.randn(2, 1, 8, 8), torch.randn(2, 1, 8, 8)
    assert torch.equal(fade_in(0.0, old, new), old)
    assert torch.equal(fade_in(1.0, old, new), new)
    assert torch.allclose(fade_in(0.25, old, new), 0.75 * old + 0.25 * new)
    with pytest.raises(ValueError, match="alpha"):
        fade_in(1.5, old, new)
    with pytest.raises(ValueError, match="same shape"):
        fade_in(0.5, old, new[:, :, :4])


def test_progressive_generator_fades_from_the_upsampled_previous_stage():
    g = ProgressiveGenerator(latent_dim=8, channels=8, num_stages=3)
    z = torch.randn(3, 8)
    low = g(z, stage=1, alpha=1.0)  # (3, 1, 8, 8)
    assert low.shape == (3, 1, 8, 8) and g(z).shape == (3, 1, 16, 16)
    at_zero = g(z, stage=2, alpha=0.0)
    assert torch.allclose(at_zero, low.repeat_interleave(2, 2).repeat_interleave(2, 3), atol=1e-6)
    at_one, halfway = g(z, stage=2, alpha=1.0), g(z, stage=2, alpha=0.5)
    assert torch.allclose(halfway, 0.5 * at_zero + 0.5 * at_one, atol=1e-6)
    with pytest.raises(ValueError, match="stage"):
        g(z, stage=3)


def test_mapping_network_shapes_and_input_check():
    m = MappingNetwork(latent_dim=6, w_dim=10, depth=3)
    assert m(torch.randn(4, 6)).shape == (4, 10)
    assert torch.allclose(m(torch.randn(4, 6) * 0 + 2.0), m(torch.ones(4, 6) * 7.0))  # PixelNorm first: scale of z ignored
    with pytest.raises(ValueError, match="expected noise"):
        m(torch.randn(4, 5))


def test_adain_sets_each_feature_maps_mean_and_std_from_the_style():
    layer = AdaIN(channels=5, w_dim=7)
    x, w = torch.randn(3, 5, 6, 6) * 4 + 2, torch.randn(3, 7)
    y = layer(x, w)
    y_s, y_b = layer.affine(w).view(3, 2, 5).unbind(1)
    assert torch.allclose(y.mean(dim=(2, 3)), y_b, atol=1e-4)
    assert torch.allclose(y.std(dim=(2, 3), unbiased=False), (1 + y_s).abs(), atol=1e-4)


def test_noise_input_adds_scaled_noise_per_channel():
    layer = NoiseInput(3, init=0.5)
    x, noise = torch.zeros(2, 3, 4, 4), torch.randn(2, 1, 4, 4)
    assert torch.allclose(layer(x, noise), 0.5 * noise.expand(2, 3, 4, 4))
    same = layer(x, generator=torch.Generator().manual_seed(1))
    assert torch.equal(same, layer(x, generator=torch.Generator().manual_seed(1)))
    assert torch.equal(NoiseInput(3)(x + 1.0), x + 1.0)  # StyleGAN's start: weight 0, no effect


def test_mix_styles_takes_the_first_layers_from_w1():
    w1, w2 = torch.zeros(2, 4), torch.ones(2, 4)
    ws = mix_styles(w1, w2, crossover=2, num_layers=5)
    assert ws.shape == (2, 5, 4)
    assert torch.equal(ws[:, :2], torch.zeros(2, 2, 4)) and torch.equal(ws[:, 2:], torch.ones(2, 3, 4))
    with pytest.raises(ValueError, match="crossover"):
        mix_styles(w1, w2, crossover=6, num_layers=5)


def test_toy_style_generator_shapes_noise_and_style_mixing():
    g = ToyStyleGenerator(latent_dim=8, w_dim=8, channels=8, num_levels=3, mapping_depth=2, noise_init=0.3)
    z = torch.randn(2, 8)
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    image = g(z, generator=gen())
    assert image.shape == (2, 1, 16, 16) and g.num_style_layers == 6
    assert torch.equal(image, g(z, generator=gen()))  # injected randomness
    assert not torch.allclose(image, g(z, generator=torch.Generator().manual_seed(1)))  # noise changes the image
    w1, w2 = g.mapping(z), g.mapping(torch.randn(2, 8))
    assert torch.allclose(g.synthesis(mix_styles(w1, w2, 6, 6), generator=gen()), g.synthesis(w1, generator=gen()))
    assert torch.allclose(g.synthesis(mix_styles(w1, w2, 0, 6), generator=gen()), g.synthesis(w2, generator=gen()))
    with pytest.raises(ValueError, match="styles of shape"):
        g.synthesis(torch.randn(2, 5, 8))
