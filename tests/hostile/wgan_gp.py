"""The hostile bank of the `wgan_gp` assignment (the cases are in tests/hostile/common.py)."""
from hostile.common import cases, mistakes_bank

ASSIGNMENT = "wgan_gp"
BANK = mistakes_bank(ASSIGNMENT)
FULL = dict(BANK.POINTS)
SIGNATURES = {"critic_loss": "critic_loss(real_scores, fake_scores)",
              "wasserstein_generator_loss": "wasserstein_generator_loss(fake_scores)",
              "clip_weights": "clip_weights(critic, clip_value)",
              "gradient_penalty": "gradient_penalty(critic, real, fake, eps=None)",
              "critic_train_step": "critic_train_step(generator, critic, c_optimizer, real, latent_dim, gp_weight=10.0)"}
WRONG = "\n" + BANK.MISTAKES["critic_loss"]["sign flipped"][0]
CASES = cases(ASSIGNMENT, FULL, SIGNATURES, WRONG, BANK.CORRECT_VARIANTS)
