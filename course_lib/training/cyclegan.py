"""CycleGAN (Zhu et al. 2017): the image pool and the training round."""
from __future__ import annotations

from typing import Dict, List, Optional

import torch
from torch import nn

from ..losses import cyclegan_generator_loss, lsgan_discriminator_loss
from .common import _floats, _frozen, _update

Tensor = torch.Tensor


class ImageHistory:
    """The image pool of CycleGAN (Shrivastava et al. 2017; Zhu et al. 2017, section 4).

    The discriminators are shown a mix of the newest fakes and older ones, which damps the
    oscillation between generator and discriminator. :meth:`query` takes a batch of fakes:
    while the pool holds fewer than ``capacity`` images each image is stored and returned
    unchanged; once full, each image is, with probability 0.5, swapped for a random stored
    one (which it replaces in the pool), else returned as is. Images are stored detached.

    Args:
        capacity: how many images to keep (50 in CycleGAN; 0 turns the pool off).
        generator: optional :class:`torch.Generator` (CPU) for reproducible choices.
    """

    def __init__(self, capacity: int = 50, generator: Optional[torch.Generator] = None):
        if capacity < 0:
            raise ValueError(f"capacity must be >= 0, got {capacity}")
        self.capacity = capacity
        self.generator = generator
        self.images: List[Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    def state_dict(self) -> Dict[str, object]:
        """The stored images and the generator's state, for :func:`fit`'s ``state=`` (exact resume)."""
        return {"capacity": self.capacity, "images": [image.cpu() for image in self.images],
                "generator": self.generator.get_state() if self.generator is not None else None}

    def load_state_dict(self, state: Dict[str, object]) -> None:
        self.capacity = int(state["capacity"])
        self.images = [image.clone() for image in state["images"]]
        if self.generator is not None and state["generator"] is not None:
            self.generator.set_state(state["generator"])

    @torch.no_grad()
    def query(self, images: Tensor) -> Tensor:
        """A batch of the same shape as ``images``, detached, mixing new and stored images."""
        images = images.detach()
        if self.capacity == 0:
            return images
        n = images.shape[0]
        coins = torch.rand(n, generator=self.generator).tolist()
        slots = torch.randint(self.capacity, (n,), generator=self.generator).tolist()
        out = []
        for image, coin, slot in zip(images, coins, slots):
            if len(self.images) < self.capacity:  # filling up: keep it, return it
                self.images.append(image.clone())
                out.append(image)
            elif coin < 0.5:  # return an older image, store the new one in its place
                out.append(self.images[slot])
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


def cyclegan_train_step(
    g_xy: nn.Module,
    g_yx: nn.Module,
    d_x: nn.Module,
    d_y: nn.Module,
    g_optimizer: torch.optim.Optimizer,
    d_optimizer: torch.optim.Optimizer,
    real_x: Tensor,
    real_y: Tensor,
    history_x: Optional[ImageHistory] = None,
    history_y: Optional[ImageHistory] = None,
    cycle_weight: float = 10.0,
    identity_weight: float = 5.0,
) -> Dict[str, float]:
    """One CycleGAN round (Zhu et al. 2017): both generators, then both discriminators.

    1. Generators: :func:`cyclegan_generator_loss` (least-squares adversarial + ``cycle_weight``
       x cycle + ``identity_weight`` x identity); the discriminators are frozen and only
       ``g_optimizer`` (over the parameters of ``g_xy`` and ``g_yx``) steps.
    2. Discriminators: :func:`lsgan_discriminator_loss` of ``d_x`` on ``real_x`` vs fake X
       images and of ``d_y`` on ``real_y`` vs fake Y images, the fakes detached and passed
       through ``history_x`` / ``history_y`` when given; ``d_optimizer`` (over both
       discriminators' parameters) steps on the sum.

    Returns ``{"g_loss", "adversarial", "cycle", "identity", "d_x_loss", "d_y_loss", "d_loss"}``
    (``cycle`` and ``identity`` unweighted, as in :func:`cyclegan_generator_loss`).
    """
    for module in (g_xy, g_yx, d_x, d_y):
        module.train()

    # 1. generators
    with _frozen(d_x, d_y):
        out = cyclegan_generator_loss(
            g_xy, g_yx, d_x, d_y, real_x, real_y, cycle_weight=cycle_weight, identity_weight=identity_weight
        )
        g_values = _floats(g_loss=out["loss"], adversarial=out["adversarial"], cycle=out["cycle"], identity=out["identity"])
        _update(g_optimizer, out["loss"])

    # 2. discriminators, on detached (and possibly older) fakes
    fake_x, fake_y = out["fake_x"].detach(), out["fake_y"].detach()
    if history_x is not None:
        fake_x = history_x.query(fake_x)
    if history_y is not None:
        fake_y = history_y.query(fake_y)
    d_x_loss = lsgan_discriminator_loss(d_x(real_x), d_x(fake_x))
    d_y_loss = lsgan_discriminator_loss(d_y(real_y), d_y(fake_y))
    d_loss = d_x_loss + d_y_loss  # disjoint parameters: same gradients as two separate updates
    d_values = _floats(d_x_loss=d_x_loss, d_y_loss=d_y_loss, d_loss=d_loss)
    _update(d_optimizer, d_loss)
    return {**g_values, **d_values}
