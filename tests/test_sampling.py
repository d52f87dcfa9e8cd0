"""course_lib.sampling: reparameterisation, the prior, and latent interpolation."""
import math

import pytest
import torch

from course_lib.sampling import interpolate, reparameterize, sample_prior

D64 = torch.float64


@pytest.fixture
def g():
    return torch.Generator().manual_seed(0)


def close(a, b, **kw):
    torch.testing.assert_close(torch.as_tensor(a, dtype=D64), torch.as_tensor(b, dtype=D64), **kw)


# ----------------------------------------------------------------------------- reparameterize


def test_reparameterize_with_noise_matches_formula(g):
    mu, logvar, noise = (torch.randn(4, 3, generator=g, dtype=D64) for _ in range(3))
    close(reparameterize(mu, logvar, noise), mu + torch.exp(0.5 * logvar) * noise)
    # known numbers: mu = 1, var = 4 (std 2), noise = -1 -> z = -1
    close(reparameterize(torch.ones(1, 1), torch.full((1, 1), math.log(4.0)), -torch.ones(1, 1)), [[-1.0]])


def test_reparameterize_gradients_flow_to_mu_and_logvar(g):
    mu = torch.randn(5, 2, generator=g, dtype=D64, requires_grad=True)
    logvar = torch.randn(5, 2, generator=g, dtype=D64, requires_grad=True)
    noise = torch.randn(5, 2, generator=g, dtype=D64)
    reparameterize(mu, logvar, noise).sum().backward()
    close(mu.grad, torch.ones_like(mu))
    close(logvar.grad, 0.5 * torch.exp(0.5 * logvar.detach()) * noise)


def test_reparameterize_gradcheck(g):
    noise = torch.randn(3, 2, generator=g, dtype=D64)
    inputs = tuple(torch.randn(3, 2, generator=g, dtype=D64, requires_grad=True) for _ in range(2))
    assert torch.autograd.gradcheck(lambda m, lv: reparameterize(m, lv, noise), inputs)


def test_reparameterize_generator_determinism_and_statistics():
    mu, logvar = torch.full((20000, 2), 2.0), torch.full((20000, 2), math.log(9.0))  # N(2, 3^2)
    a = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(5))
    b = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(5))
    c = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.mean().item() == pytest.approx(2.0, abs=0.05)
    assert a.std().item() == pytest.approx(3.0, abs=0.05)
    assert reparameterize(mu[:3], logvar[:3]).shape == (3, 2)  # default: torch's global generator


def test_reparameterize_errors():
    with pytest.raises(ValueError, match=r"mu and logvar of the same shape, got \(4, 2\) and \(4, 3\)"):
        reparameterize(torch.zeros(4, 2), torch.zeros(4, 3))
    with pytest.raises(ValueError, match=r"mu and noise of the same shape, got \(4, 2\) and \(2,\)"):
        reparameterize(torch.zeros(4, 2), torch.zeros(4, 2), torch.zeros(2))
    with pytest.raises(ValueError, match="not both"):
        reparameterize(torch.zeros(1, 2), torch.zeros(1, 2), torch.zeros(1, 2), generator=torch.Generator())
    with pytest.raises(TypeError, match="mu to be a torch.Tensor"):
        reparameterize([0.0], torch.zeros(1))


# ----------------------------------------------------------------------------- sample_prior


def test_sample_prior_shape_and_determinism():
    z = sample_prior(7, 3, generator=torch.Generator().manual_seed(0))
    assert z.shape == (7, 3) and z.dtype == torch.get_default_dtype()
    assert torch.equal(z, sample_prior(7, 3, generator=torch.Generator().manual_seed(0)))
    assert not torch.equal(z, sample_prior(7, 3, generator=torch.Generator().manual_seed(1)))
    assert sample_prior(2, 4, dtype=D64, device="cpu").dtype == D64
    assert sample_prior(0, 4).shape == (0, 4)


def test_sample_prior_is_standard_normal():
    z = sample_prior(50000, 2, generator=torch.Generator().manual_seed(0), dtype=D64)
    assert z.mean().item() == pytest.approx(0.0, abs=0.02)
    assert z.std().item() == pytest.approx(1.0, abs=0.02)


def test_sample_prior_errors():
    with pytest.raises(ValueError, match="latent_dim >= 1, got 0"):
        sample_prior(3, 0)
    with pytest.raises(ValueError, match="n >= 0, got -1"):
        sample_prior(-1, 2)
    with pytest.raises(TypeError, match="n to be an int, got float"):
        sample_prior(2.0, 2)


# ----------------------------------------------------------------------------- interpolate


@pytest.mark.parametrize("method", ["linear", "slerp"])
@pytest.mark.parametrize("shape", [(4,), (2, 3, 3)])
def test_interpolate_shapes_and_exact_endpoints(method, shape, g):
    z0, z1 = torch.randn(shape, generator=g), torch.randn(shape, generator=g)
    path = interpolate(z0, z1, 5, method=method)
    assert path.shape == (5, *shape)
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    assert interpolate(z0, z1, 2, method=method).shape == (2, *shape)


def test_linear_is_evenly_spaced(g):
    z0, z1 = torch.randn(6, generator=g, dtype=D64), torch.randn(6, generator=g, dtype=D64)
    path = interpolate(z0, z1, 5)
    close(path[2], (z0 + z1) / 2)
    close(path[1], 0.75 * z0 + 0.25 * z1)
    steps = path[1:] - path[:-1]
    close(steps, ((z1 - z0) / 4).expand_as(steps))


def test_slerp_keeps_the_norm_for_equal_norm_endpoints(g):
    z0, z1 = torch.randn(16, generator=g, dtype=D64), torch.randn(16, generator=g, dtype=D64)
    z1 = z1 * z0.norm() / z1.norm()
    norms = interpolate(z0, z1, 9, method="slerp").norm(dim=1)
    close(norms, z0.norm().expand(9))
    # linear interpolation cuts through the inside of the sphere
    assert interpolate(z0, z1, 9)[4].norm() < 0.99 * z0.norm()


def test_slerp_orthogonal_midpoint_and_constant_angular_speed():
    e1, e2 = torch.tensor([1.0, 0.0, 0.0], dtype=D64), torch.tensor([0.0, 1.0, 0.0], dtype=D64)
    path = interpolate(e1, e2, 3, method="slerp")
    close(path[1], torch.tensor([1.0, 1.0, 0.0], dtype=D64) / math.sqrt(2))
    path = interpolate(e1, e2, 7, method="slerp")
    angles = torch.arccos((path[1:] * path[:-1]).sum(dim=1).clamp(-1, 1))
    close(angles, torch.full((6,), math.pi / 12, dtype=D64))


def test_slerp_on_tensors_is_slerp_of_flattened_vectors(g):
    z0, z1 = torch.randn(2, 3, generator=g, dtype=D64), torch.randn(2, 3, generator=g, dtype=D64)
    close(interpolate(z0, z1, 4, method="slerp").flatten(1), interpolate(z0.flatten(), z1.flatten(), 4, method="slerp"))


def test_slerp_falls_back_to_linear_for_parallel_and_zero_vectors(g):
    z0 = torch.randn(5, generator=g, dtype=D64)
    close(interpolate(z0, 3 * z0, 5, method="slerp"), interpolate(z0, 3 * z0, 5))
    zero = torch.zeros(5, dtype=D64)
    path = interpolate(zero, z0, 5, method="slerp")
    assert torch.isfinite(path).all()
    close(path, interpolate(zero, z0, 5))


def test_slerp_antipodal_raises(g):
    z0 = torch.randn(5, generator=g, dtype=D64)
    with pytest.raises(ValueError, match="antipodal.*method='linear'"):
        interpolate(z0, -z0, 5, method="slerp")
    close(interpolate(z0, -z0, 3)[1], torch.zeros(5))  # linear is fine


def test_interpolate_errors():
    z = torch.zeros(3)
    with pytest.raises(ValueError, match=r"'linear', 'slerp'"):
        interpolate(z, z, 3, method="cubic")
    with pytest.raises(ValueError, match="steps >= 2, got 1"):
        interpolate(z, z, 1)
    with pytest.raises(ValueError, match=r"z0 and z1 of the same shape, got \(3,\) and \(4,\)"):
        interpolate(z, torch.zeros(4), 3)
    with pytest.raises(TypeError, match="floating dtype"):
        interpolate(torch.zeros(3, dtype=torch.long), torch.ones(3, dtype=torch.long), 3)
