"""The hostile bank of the `gan` assignment (the cases are in tests/hostile/common.py)."""
from hostile.common import cases, mistakes_bank

ASSIGNMENT = "gan"
FULL = {"discriminator_loss": 3, "generator_loss": 2, "gan_train_step": 5}
SIGNATURES = {"discriminator_loss": "discriminator_loss(real_logits, fake_logits)",
              "generator_loss": "generator_loss(fake_logits)",
              "gan_train_step": "gan_train_step(generator, discriminator, g_optimizer, d_optimizer, real, latent_dim)"}
WRONG = """
def discriminator_loss(real_logits, fake_logits):  # labels swapped
    return (F.binary_cross_entropy_with_logits(real_logits, torch.zeros_like(real_logits))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits)))
"""
CASES = cases(ASSIGNMENT, FULL, SIGNATURES, WRONG, mistakes_bank(ASSIGNMENT).CORRECT_VARIANTS)
