"""Regression tests for the bugs of issue 12 in course_lib.training (each failed before its fix)."""
import warnings

import pytest
import torch
from torch import nn

from course_lib.training import (
    ImageHistory,
    critic_train_step,
    evaluating,
    fit,
    make_loader,
    wgan_train_step,
)


class _Gen(nn.Module):
    def __init__(self, latent_dim=3, out=4):
        super().__init__()
        self.net = nn.Linear(latent_dim, out)

    def forward(self, z):
        return self.net(z)


# ---------------------------------------------------------------- bug 3: n_critic updates exactly


def test_wgan_train_step_runs_n_critic_updates_on_an_uneven_batch():
    torch.manual_seed(0)
    g, c = _Gen(), nn.Linear(4, 1)
    g_opt, c_opt = torch.optim.SGD(g.parameters(), lr=0.01), torch.optim.SGD(c.parameters(), lr=0.01)
    steps = []
    c_opt.register_step_post_hook(lambda opt, args, kwargs: steps.append(1))
    wgan_train_step(g, c, g_opt, c_opt, torch.randn(6, 4), latent_dim=3, n_critic=4, clip_value=0.01)
    assert len(steps) == 4


def test_wgan_train_step_refuses_fewer_images_than_n_critic():
    g, c = _Gen(), nn.Linear(4, 1)
    opts = torch.optim.SGD(g.parameters(), lr=0.01), torch.optim.SGD(c.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="n_critic=4"):
        wgan_train_step(g, c, *opts, torch.randn(3, 4), latent_dim=3, n_critic=4, clip_value=0.01)


# ---------------------------------------------------------------- bug 6: tensor-returning steps do not warn


def test_fit_accepts_a_step_returning_a_tensor_that_requires_grad_without_warning():
    w = nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([w], lr=0.1)

    def step(batch):
        loss = (w * batch[0]).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss}  # a 0-dim tensor with requires_grad

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = fit(step, [(torch.ones(2),)] * 3, epochs=1, progress=False)
    assert len(result.history) == 3


# ---------------------------------------------------------------- bug 8: snapshots in eval mode


def test_fit_takes_snapshots_in_eval_mode_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    seen = []

    def step(batch):
        model.train()
        loss = model(batch[0]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    def snapshot(_step):
        seen.append(model.training)
        return model(torch.ones(1, 2))

    model.train()
    fit(step, [(torch.ones(4, 2),)] * 2, epochs=2, snapshot_fn=snapshot, modules={"m": model}, progress=False)
    assert seen and not any(seen)
    assert model.training  # restored


def test_evaluating_sets_eval_mode_no_grad_and_restores_each_mode():
    a, b = nn.Dropout(), nn.BatchNorm1d(2)
    a.train()
    b.eval()
    with evaluating(a, b):
        assert not a.training and not b.training and not torch.is_grad_enabled()
    assert a.training and not b.training and torch.is_grad_enabled()
    with pytest.raises(RuntimeError):
        with evaluating(a):
            raise RuntimeError("boom")
    assert a.training


# ---------------------------------------------------------------- bug 5: batch norm in a WGAN-GP critic


def test_critic_train_step_warns_about_batch_norm():
    g = _Gen()
    critic = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))
    opt = torch.optim.Adam(critic.parameters())
    with pytest.warns(UserWarning, match="batch norm"):
        critic_train_step(g, critic, opt, torch.randn(8, 4), latent_dim=3)
    plain = nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        critic_train_step(g, plain, torch.optim.Adam(plain.parameters()), torch.randn(8, 4), latent_dim=3)


def test_wgan_critic_default_norm_is_one_the_gradient_penalty_allows():
    from course_lib.models import WGANCritic

    assert WGANCritic(base_channels=4).norm in ("layer", "none", "instance")
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in WGANCritic(base_channels=4).modules())


# ---------------------------------------------------------------- bug 1: exact resume with zipped loaders and pools


class _Zipped:
    """Two independently shuffled loaders, zipped: the CycleGAN chapter's unpaired data."""

    def __init__(self, a, b):
        self.a, self.b = a, b

    def __len__(self):
        return min(len(self.a), len(self.b))

    def __iter__(self):
        return zip(self.a, self.b)


def _cycle_run(path, epochs):
    """A fresh process's run: every object built anew, then fit (resuming from ``path`` if it exists)."""
    torch.manual_seed(0)
    x, y = torch.arange(20.).view(10, 2), -torch.arange(24.).view(12, 2)
    data = _Zipped(make_loader(x, batch_size=3, seed=1), make_loader(y, batch_size=3, seed=2))
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    pool = ImageHistory(capacity=4, generator=torch.Generator().manual_seed(5))

    def step(batch):
        (bx,), (by,) = batch
        fake = pool.query(model(bx).detach() + 0.01 * torch.randn(1))
        loss = (model(bx) - fake).pow(2).mean() + (model(bx) - by[: len(bx)]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    result = fit(step, data, epochs=epochs, checkpoint=path, modules={"m": model}, optimizers={"o": opt},
                 progress=False, state={"pool": pool})
    return result, model


def test_resume_with_zipped_loaders_and_an_image_pool_matches_an_uninterrupted_run(tmp_path):
    full, m_full = _cycle_run(tmp_path / "full.pt", epochs=3)
    _cycle_run(tmp_path / "resumed.pt", epochs=1)  # interrupted after one epoch
    resumed, m_resumed = _cycle_run(tmp_path / "resumed.pt", epochs=3)
    assert full.history["loss"].tolist() == resumed.history["loss"].tolist()
    assert torch.equal(m_full.weight, m_resumed.weight)


# ---------------------------------------------------------------- bug 2: stale checkpoints


def _tiny_fit(path, lr=0.1, epochs=2, hidden=3, n=8, batch_size=4):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, hidden), nn.Linear(hidden, 1))
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    loader = make_loader(torch.randn(n, 2), batch_size=batch_size, seed=0)

    def step(batch):
        loss = model(batch[0]).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.item()}

    return fit(step, loader, epochs=epochs, checkpoint=path, modules={"m": model}, optimizers={"o": opt},
               progress=False)


@pytest.mark.parametrize("change, field", [
    (dict(lr=0.01), "optimizers"),
    (dict(hidden=4), "modules"),
    (dict(n=12), "data"),
    (dict(batch_size=2), "data"),
])
def test_a_checkpoint_made_differently_is_retrained_with_one_line_saying_why(tmp_path, capsys, change, field):
    path = tmp_path / "run.pt"
    _tiny_fit(path)
    assert _tiny_fit(path).loaded
    capsys.readouterr()
    result = _tiny_fit(path, **change)
    out = capsys.readouterr().out
    assert not result.loaded
    lines = [line for line in out.splitlines() if "retrain" in line]
    assert len(lines) == 1 and field in lines[0], out
    assert _tiny_fit(path, **change).loaded  # the new checkpoint is used from now on


def test_a_checkpoint_with_fewer_epochs_resumes_but_a_different_budget_is_not_stale(tmp_path):
    path = tmp_path / "run.pt"
    _tiny_fit(path, epochs=1)
    result = _tiny_fit(path, epochs=2)
    assert not result.loaded and len(result.epochs) == 2  # resumed, not restarted


def test_an_old_checkpoint_without_fingerprint_is_retrained(tmp_path, capsys):
    path = tmp_path / "run.pt"
    _tiny_fit(path)
    state = torch.load(path, weights_only=True)
    del state["fingerprint"]
    torch.save(state, path)
    capsys.readouterr()
    assert not _tiny_fit(path).loaded
    assert "fingerprint" in capsys.readouterr().out


def test_consistent_step_names_with_the_earlier_names_kept():
    import course_lib.training as training

    assert training.wgan_critic_step is training.clipped_critic_train_step
    assert training.wasserstein_generator_step is training.wasserstein_generator_train_step


def test_package_docstring_lists_every_module():
    import pathlib

    import course_lib

    root = pathlib.Path(course_lib.__file__).parent
    names = {p.stem for p in root.glob("*.py") if p.stem != "__init__"} | {p.name for p in root.iterdir()
                                                                          if (p / "__init__.py").exists()}
    assert all(name in course_lib.__doc__ for name in names), sorted(n for n in names if n not in course_lib.__doc__)
