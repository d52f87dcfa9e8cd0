"""Tests of course_lib.models: shapes on tiny configs, save/load, train/eval behaviour, injected noise."""
import io
import math

import pytest
import torch
from torch import nn

from course_lib.models import (
    SUPPORTED_IMAGE_SIZES,
    AttributeClassifier,
    CNNClassifier,
    ConvAutoencoder,
    ConvVAE,
    DCGANDiscriminator,
    DCGANGenerator,
    DenseAutoencoder,
    LinearAutoencoder,
    MLPClassifier,
    MLPDiscriminator,
    MLPGenerator,
    PatchDiscriminator,
    ResnetGenerator,
    WGANCritic,
    add_noise,
    count_parameters,
    dcgan_init_,
)

CHANNELS = {28: 1, 32: 3, 64: 3}  # the image kinds each size stands for: MNIST, avatars, faces


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


# ----------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("size", SUPPORTED_IMAGE_SIZES)
def test_conv_vae_shapes(size):
    c = CHANNELS[size]
    vae = ConvVAE(in_channels=c, image_size=size, latent_dim=3, base_channels=4)
    x = torch.rand(2, c, size, size)
    x_logits, mu, logvar = vae(x)
    assert x_logits.shape == (2, c, size, size)
    assert mu.shape == logvar.shape == (2, 3)
    assert vae.latent_dim == 3
    assert vae.decode(torch.randn(5, 3)).shape == (5, c, size, size)


@pytest.mark.parametrize("size", SUPPORTED_IMAGE_SIZES)
def test_conv_autoencoder_shapes(size):
    c = CHANNELS[size]
    ae = ConvAutoencoder(in_channels=c, image_size=size, latent_dim=2, base_channels=4)
    x = torch.rand(2, c, size, size)
    assert ae.encode(x).shape == (2, 2)
    assert ae.decode(torch.randn(3, 2)).shape == (3, c, size, size)
    assert ae(x).shape == x.shape


def test_dense_autoencoder_shapes():
    ae = DenseAutoencoder(in_shape=(1, 8, 8), latent_dim=2, hidden=(16, 8))
    x = torch.rand(4, 1, 8, 8)
    assert ae.encode(x).shape == (4, 2)
    assert ae(x).shape == (4, 1, 8, 8)


@pytest.mark.parametrize("size", SUPPORTED_IMAGE_SIZES)
def test_dcgan_shapes_and_tanh_range(size):
    c = CHANNELS[size]
    g = DCGANGenerator(latent_dim=8, out_channels=c, image_size=size, base_channels=4)
    d = DCGANDiscriminator(in_channels=c, image_size=size, base_channels=4, dropout=0.3)
    with torch.no_grad():
        fake = g(torch.randn(3, 8))
        assert fake.shape == (3, c, size, size)
        assert d(fake).shape == (3,)
        last_deconv = [m for m in g.modules() if isinstance(m, nn.ConvTranspose2d)][-1]
        last_deconv.weight.mul_(1e4)  # huge pre-activations saturate the tanh ...
        saturated = g(torch.randn(3, 8))
    assert saturated.abs().max() <= 1.0 and saturated.abs().max() > 0.99  # ... but never leave [-1, 1]


@pytest.mark.parametrize("size", SUPPORTED_IMAGE_SIZES)
@pytest.mark.parametrize("norm", ["batch", "layer", "instance", "none"])
def test_wgan_critic_shapes(size, norm):
    c = CHANNELS[size]
    critic = WGANCritic(in_channels=c, image_size=size, base_channels=4, norm=norm)
    assert critic(torch.rand(3, c, size, size) * 2 - 1).shape == (3,)


@pytest.mark.parametrize("model", [
    DCGANDiscriminator(base_channels=4), WGANCritic(base_channels=4, norm="none"), MLPDiscriminator(hidden=8),
])
def test_discriminators_return_raw_scores_not_probabilities(model):
    last_linear = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last_linear.bias.fill_(5.0)  # a sigmoid at the end would squash this into (0, 1)
    x = torch.zeros(2, 2) if isinstance(model, MLPDiscriminator) else torch.zeros(2, 1, 28, 28)
    assert (model.eval()(x) > 1.0).all()


def test_classifier_shapes_and_features():
    mlp = MLPClassifier(in_shape=(1, 28, 28), hidden=(16,), num_classes=10)
    assert mlp(torch.rand(5, 1, 28, 28)).shape == (5, 10)
    cnn = CNNClassifier(in_channels=1, num_classes=10, image_size=28, channels=(4, 8), hidden=12).eval()
    x = torch.rand(5, 1, 28, 28)
    feats = cnn.features(x)
    assert feats.shape == (5, cnn.feature_dim) == (5, 12)
    assert torch.allclose(cnn(x), cnn.head(feats))  # logits are the head applied to the features
    attr = AttributeClassifier(num_outputs=6, in_channels=3, image_size=32, channels=(4, 8), hidden=8)
    assert attr(torch.rand(2, 3, 32, 32)).shape == (2, 6)


def test_toy_mlp_shapes():
    g, d = MLPGenerator(latent_dim=2, out_dim=2, hidden=16, depth=2), MLPDiscriminator(in_dim=2, hidden=16, depth=2)
    points = g(torch.randn(7, 2))
    assert points.shape == (7, 2)
    assert d(points).shape == (7,)
    assert sum(isinstance(m, nn.Linear) for m in g.modules()) == 3  # depth hidden layers + output


def test_cyclegan_shapes_and_tanh_range():
    g = ResnetGenerator(in_channels=3, out_channels=1, base_channels=4, n_res_blocks=1)
    out = g(torch.rand(2, 3, 32, 32) * 2 - 1)
    assert out.shape == (2, 1, 32, 32) and out.abs().max() <= 1.0
    assert PatchDiscriminator(in_channels=3, base_channels=4, n_layers=3)(torch.rand(2, 3, 32, 32)).shape == (2, 1, 2, 2)
    assert PatchDiscriminator(in_channels=3, base_channels=4, n_layers=2)(torch.rand(2, 3, 32, 32)).shape == (2, 1, 6, 6)


def test_shape_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"image_size must be one of \(28, 32, 64\)"):
        ConvVAE(image_size=30)
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 1, 28, 28\), got \(28, 28\)"):
        ConvVAE(base_channels=4)(torch.rand(28, 28))
    with pytest.raises(ValueError, match=r"unsqueeze"):
        WGANCritic(base_channels=4)(torch.rand(1, 28, 28))
    with pytest.raises(ValueError, match="unknown norm"):
        WGANCritic(norm="spectral")
    with pytest.raises(ValueError, match=r"noise of shape \(N, 100\)"):
        DCGANGenerator(base_channels=4)(torch.randn(2, 10))
    with pytest.raises(ValueError, match=">= 24"):
        PatchDiscriminator(base_channels=4, n_layers=3)(torch.rand(1, 3, 16, 16))
    with pytest.raises(ValueError, match="multiples of 4"):
        ResnetGenerator(base_channels=4, n_res_blocks=1)(torch.rand(1, 3, 30, 30))


# ----------------------------------------------------------------------------- parameter counts


def test_count_parameters_closed_forms():
    # MLP: 784*256 + 256 + 256*128 + 128 + 128*10 + 10
    assert count_parameters(MLPClassifier()) == 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10
    # Linear autoencoder: encoder 784*k + k, decoder k*784 + 784
    k = 5
    assert count_parameters(LinearAutoencoder(latent_dim=k)) == 784 * k + k + k * 784 + 784
    model = MLPGenerator(hidden=8, depth=1)  # 2*8 + 8 + 8*2 + 2 = 42
    assert count_parameters(model) == 42
    model.net[0].weight.requires_grad_(False)
    assert count_parameters(model) == 42 - 16
    assert count_parameters(model, trainable_only=False) == 42


def test_default_models_are_sized_for_a_cpu():
    defaults = [MLPClassifier(), CNNClassifier(), AttributeClassifier(6), DenseAutoencoder(), ConvAutoencoder(),
                ConvVAE(), DCGANGenerator(), DCGANDiscriminator(), WGANCritic(), MLPGenerator(), MLPDiscriminator(),
                ResnetGenerator(), PatchDiscriminator()]
    for model in defaults:
        n = count_parameters(model)
        assert 10_000 < n < 1_500_000, f"{type(model).__name__} has {n} parameters"


# ----------------------------------------------------------------------------- save / load


def _tiny_models():
    return [
        (lambda: MLPClassifier(in_shape=(1, 28, 28), hidden=(8,)), (2, 1, 28, 28)),
        (lambda: CNNClassifier(channels=(4, 8), hidden=8), (2, 1, 28, 28)),
        (lambda: DenseAutoencoder(latent_dim=2, hidden=(8,)), (2, 1, 28, 28)),
        (lambda: ConvAutoencoder(base_channels=4), (2, 1, 28, 28)),
        (lambda: ConvVAE(in_channels=3, image_size=32, latent_dim=4, base_channels=4), (2, 3, 32, 32)),
        (lambda: DCGANGenerator(latent_dim=8, base_channels=4), (2, 8)),
        (lambda: DCGANDiscriminator(base_channels=4), (2, 1, 28, 28)),
        (lambda: WGANCritic(base_channels=4, norm="layer"), (2, 1, 28, 28)),
        (lambda: MLPGenerator(hidden=8), (2, 2)),
        (lambda: ResnetGenerator(base_channels=4, n_res_blocks=1), (2, 3, 16, 16)),
        (lambda: PatchDiscriminator(base_channels=4), (2, 3, 32, 32)),
    ]


@pytest.mark.parametrize("make,in_shape", _tiny_models())
def test_state_dict_round_trip_gives_identical_outputs(make, in_shape):
    model = make()
    model.train()
    model(torch.rand(*in_shape))  # move batch-norm running statistics off their initial values
    model.eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    torch.manual_seed(123)  # a differently initialised copy
    copy = make().eval()
    x = torch.rand(*in_shape)
    noise = {"noise": torch.randn(2, 4)} if isinstance(model, ConvVAE) else {}
    before = model(x, **noise)
    if isinstance(before, tuple):
        before = before[0]
    assert not torch.equal(before, copy(x, **noise)[0] if noise else copy(x))
    buffer.seek(0)
    copy.load_state_dict(torch.load(buffer, weights_only=True))
    after = copy(x, **noise)
    after = after[0] if isinstance(after, tuple) else after
    assert torch.equal(before, after)


# ----------------------------------------------------------------------------- train / eval behaviour


def test_cyclegan_generator_is_identical_in_train_and_eval_mode():
    g = ResnetGenerator(base_channels=4, n_res_blocks=2)
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    g.train()
    for _ in range(2):
        g(torch.rand(3, 3, 16, 16) * 5)  # with running statistics, eval mode would now differ from train mode
    with torch.no_grad():
        out_train = g(x)
        out_eval = g.eval()(x)
    assert torch.allclose(out_train, out_eval, atol=1e-6)
    d = PatchDiscriminator(base_channels=4, n_layers=2)
    assert torch.allclose(d.train()(x), d.eval()(x), atol=1e-6)


@pytest.mark.parametrize("norm", ["none", "layer", "instance"])
def test_wgan_gp_critic_scores_each_example_independently(norm):
    critic = WGANCritic(base_channels=4, norm=norm).train()
    x = torch.rand(4, 1, 28, 28)
    changed = x.clone()
    changed[1:] = torch.rand(3, 1, 28, 28)  # change every example but the first
    assert torch.allclose(critic(x)[0], critic(changed)[0], atol=1e-6)
    # ... and example 0's gradient comes from example 0 only
    x.requires_grad_(True)
    critic(x)[0].backward()
    assert x.grad[1:].abs().max() == 0


def test_batch_norm_critic_couples_the_examples_of_a_batch():
    critic = WGANCritic(base_channels=4, norm="batch").train()
    x = torch.rand(4, 1, 28, 28)
    changed = x.clone()
    changed[1:] = torch.rand(3, 1, 28, 28)
    assert not torch.allclose(critic(x)[0], critic(changed)[0], atol=1e-4)
    x.requires_grad_(True)
    critic(x)[0].backward()
    assert x.grad[1:].abs().max() > 0  # one score depends on the other examples


# ----------------------------------------------------------------------------- VAE noise


def test_vae_forward_uses_the_injected_noise():
    vae = ConvVAE(latent_dim=3, base_channels=4).eval()
    x = torch.rand(4, 1, 28, 28)
    noise = torch.randn(4, 3)
    logits_a, mu, logvar = vae(x, noise=noise)
    logits_b, _, _ = vae(x, noise=noise)
    assert torch.equal(logits_a, logits_b)
    z = mu + torch.exp(0.5 * logvar) * noise  # the reparameterisation, by hand
    assert torch.allclose(logits_a, vae.decode(z), atol=1e-6)
    assert torch.allclose(vae(x, noise=torch.zeros(4, 3))[0], vae.decode(mu), atol=1e-6)
    assert not torch.allclose(logits_a, vae(x, noise=-noise)[0])


def test_vae_gradients_reach_the_encoder():
    vae = ConvVAE(latent_dim=3, base_channels=4)
    x_logits, mu, logvar = vae(torch.rand(2, 1, 28, 28), noise=torch.randn(2, 3))
    x_logits.sum().backward()
    assert vae.to_logvar.weight.grad.abs().sum() > 0  # flows through exp(logvar / 2) * noise
    assert vae.encoder[0][0].weight.grad.abs().sum() > 0


# ----------------------------------------------------------------------------- autoencoder details


def test_linear_autoencoder_is_affine():
    ae = LinearAutoencoder(in_shape=(1, 6, 6), latent_dim=2)
    assert not any(isinstance(m, (nn.ReLU, nn.LeakyReLU, nn.Tanh)) for m in ae.modules())
    f0 = ae(torch.zeros(1, 1, 6, 6))
    a, b = torch.rand(1, 1, 6, 6), torch.rand(1, 1, 6, 6)
    assert torch.allclose(ae(a + b) - f0, (ae(a) - f0) + (ae(b) - f0), atol=1e-5)
    nonlinear = DenseAutoencoder(in_shape=(1, 6, 6), latent_dim=2, hidden=(8,))
    g0 = nonlinear(torch.zeros(1, 1, 6, 6))
    assert not torch.allclose(nonlinear(a + b) - g0, (nonlinear(a) - g0) + (nonlinear(b) - g0), atol=1e-5)


def test_add_noise_gaussian_is_reproducible_and_stays_in_range():
    x = torch.full((2000,), 0.5)
    noisy = add_noise(x, "gaussian", 0.1, generator=torch.Generator().manual_seed(1))
    again = add_noise(x, "gaussian", 0.1, generator=torch.Generator().manual_seed(1))
    assert torch.equal(noisy, again)
    assert noisy.min() >= 0 and noisy.max() <= 1
    assert abs(float((noisy - x).std()) - 0.1) < 0.01
    assert torch.equal(x, torch.full((2000,), 0.5))  # the input is untouched


def test_add_noise_dropout_zeroes_pixels_without_rescaling():
    x = torch.rand(10_000) * 0.5 + 0.5
    noisy = add_noise(x, "dropout", 0.3, generator=torch.Generator().manual_seed(2))
    dropped = noisy == 0
    assert abs(float(dropped.float().mean()) - 0.3) < 0.02
    assert torch.equal(noisy[~dropped], x[~dropped])  # kept pixels keep their value (no 1/(1-p) scaling)
    with pytest.raises(ValueError, match="unknown noise kind"):
        add_noise(x, "salt")


@torch.no_grad()
def test_dcgan_init_draws_small_normal_weights():
    net = nn.Sequential(nn.Conv2d(64, 64, 3), nn.BatchNorm2d(256), nn.Linear(200, 200))
    assert dcgan_init_(net) is net
    conv, bn, linear = net
    assert abs(float(conv.weight.std()) - 0.02) < 0.002 and float(conv.bias.abs().max()) == 0.0
    assert abs(float(linear.weight.std()) - 0.02) < 0.002
    assert abs(float(bn.weight.mean()) - 1.0) < 0.01 and 0.01 < float(bn.weight.std()) < 0.03
    # the DCGAN constructors apply it: PyTorch's default would give this deconvolution std ~0.036
    deconv = [m for m in DCGANGenerator(base_channels=16).modules() if isinstance(m, nn.ConvTranspose2d)][0]
    assert abs(float(deconv.weight.std()) - 0.02) < 0.002
    assert math.isclose(float(DCGANDiscriminator().net[-1].weight.std()), 0.02, rel_tol=0.2)


def test_tied_linear_shares_the_encoders_weight_storage():
    from course_lib.models import TiedLinear, count_parameters

    encoder_layer = nn.Linear(6, 3)
    tied = TiedLinear(encoder_layer)
    assert tied.weight.shape == (6, 3)
    assert tied.weight.data_ptr() == encoder_layer.weight.data_ptr()  # a view, not a copy
    assert count_parameters(tied) == 6  # the bias only
    x = torch.randn(4, 3)
    torch.testing.assert_close(tied(x), x @ encoder_layer.weight + tied.bias)
    with torch.no_grad():
        encoder_layer.weight.add_(1.0)  # a change to the encoder shows in the decoder
    torch.testing.assert_close(tied(x), x @ encoder_layer.weight + tied.bias)
    tied(x).sum().backward()  # the decoder's gradient reaches the encoder's weight
    assert encoder_layer.weight.grad is not None and encoder_layer.weight.grad.abs().sum() > 0
    with pytest.raises(TypeError, match="nn.Linear"):
        TiedLinear(nn.Conv2d(1, 1, 3))


def test_dense_autoencoder_tied_halves_the_decoder_and_keeps_the_untied_layout():
    from course_lib.models import TiedLinear, count_parameters

    torch.manual_seed(0)
    untied = DenseAutoencoder(in_shape=(1, 4, 4), latent_dim=2, hidden=(5,))
    torch.manual_seed(0)
    tied = DenseAutoencoder(in_shape=(1, 4, 4), latent_dim=2, hidden=(5,), tied=True)
    decoder_linears = [m for m in tied.decoder if isinstance(m, TiedLinear)]
    encoder_linears = [m for m in tied.encoder if isinstance(m, nn.Linear)]
    for dec, enc in zip(decoder_linears, reversed(encoder_linears)):
        assert dec.weight.data_ptr() == enc.weight.data_ptr()
    assert count_parameters(tied.decoder) == 5 + 16  # biases only
    assert count_parameters(tied) == count_parameters(untied) - (16 * 5 + 5 * 2)
    assert len(list(tied.parameters())) == 6  # each shared weight listed once (for the optimizer)
    x = torch.rand(3, 1, 4, 4)
    assert tied(x).shape == x.shape
    # the same seed gives the same encoder whether or not the decoder is tied
    torch.testing.assert_close(tied.encode(x), untied.encode(x))
    # a state dict round trip keeps the tie
    copy_ = DenseAutoencoder(in_shape=(1, 4, 4), latent_dim=2, hidden=(5,), tied=True)
    copy_.load_state_dict(tied.state_dict())
    torch.testing.assert_close(copy_(x), tied(x))


def test_dense_autoencoder_sigmoid_code_lies_in_the_unit_interval():
    model = DenseAutoencoder(in_shape=(1, 4, 4), latent_dim=3, hidden=(5,), code_activation="sigmoid")
    with torch.no_grad():
        z = model.encode(torch.rand(8, 1, 4, 4) * 10)
    assert z.shape == (8, 3) and float(z.min()) > 0 and float(z.max()) < 1
    relu_code = DenseAutoencoder(in_shape=(1, 4, 4), latent_dim=3, hidden=(), code_activation="relu")
    assert float(relu_code.encode(torch.randn(8, 1, 4, 4)).detach().min()) >= 0
    with pytest.raises(ValueError, match="code_activation"):
        DenseAutoencoder(code_activation="softmax")


def test_conditional_dcgan_uses_the_label():
    from course_lib.models.dcgan import ConditionalDCGANDiscriminator, ConditionalDCGANGenerator

    torch.manual_seed(0)
    g = ConditionalDCGANGenerator(latent_dim=8, n_classes=10, base_channels=8).eval()
    d = ConditionalDCGANDiscriminator(in_channels=1, n_classes=10, base_channels=8).eval()
    z, y = torch.randn(4, 8), torch.tensor([0, 3, 3, 9])
    x = g(z, y)
    assert x.shape == (4, 1, 28, 28) and x.abs().max() <= 1
    assert d(x, y).shape == (4,)
    assert not torch.allclose(g(z, y), g(z, (y + 1) % 10))  # the same z, another label: another image
    assert not torch.allclose(d(x, y), d(x, (y + 1) % 10))
    with pytest.raises(ValueError, match="labels must be in"):
        g(z, torch.tensor([0, 1, 2, 10]))
    with pytest.raises(ValueError, match="one label per"):
        d(x, y[:3])


def test_minibatch_std_appends_the_batch_spread():
    from course_lib.models import MLPDiscriminator
    from course_lib.models.toy import MinibatchStdDev

    h = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    out = MinibatchStdDev()(h)
    assert out.shape == (2, 3) and torch.allclose(out[:, 2], torch.tensor([1.0, 1.0]))  # std of (0, 2) and (1, 3) is 1
    d = MLPDiscriminator(in_dim=2, hidden=16, depth=2, minibatch_std=True)
    same = torch.zeros(8, 2)
    spread = torch.cat([torch.zeros(7, 2), torch.full((1, 2), 5.0)])
    assert d(same).shape == (8,)
    assert not torch.allclose(d(same)[0], d(spread)[0])  # the same point scores differently in another batch
    with pytest.raises(ValueError, match="N >= 2"):
        MinibatchStdDev()(torch.zeros(1, 4))
