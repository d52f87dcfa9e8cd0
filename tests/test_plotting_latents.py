"""Tests of course_lib.plotting.plot_latent_histograms."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.plotting import plot_latent_histograms  # noqa: E402


def test_one_panel_per_dimension_with_the_prior_curve():
    codes = {"means": torch.randn(200, 5), "sampled": torch.randn(200, 5) * 2}
    fig = plot_latent_histograms(codes, ncols=3, titles=[f"dim {d}" for d in range(5)])
    axes = fig.axes
    assert len(axes) == 6 and not axes[5].axison  # 2 x 3 grid, the last panel unused
    assert [ax.get_title() for ax in axes[:5]] == [f"dim {d}" for d in range(5)]
    assert all(len(ax.lines) == 1 for ax in axes[:5])  # the N(0, 1) density
    assert all(len(ax.patches) == 2 for ax in axes[:5])  # one histogram per set of codes
    plt.close(fig)


def test_mismatched_dimensions_are_rejected():
    with pytest.raises(ValueError, match="one D"):
        plot_latent_histograms({"a": torch.randn(10, 3), "b": torch.randn(10, 4)})
    with pytest.raises(ValueError, match="titles"):
        plot_latent_histograms({"a": torch.randn(10, 3)}, titles=["x"])
