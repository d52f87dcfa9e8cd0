"""The hostile bank of the `vae` assignment (the cases are in tests/hostile/common.py)."""
from hostile.common import cases, mistakes_bank

ASSIGNMENT = "vae"
BANK = mistakes_bank(ASSIGNMENT)
FULL = dict(BANK.POINTS)
SIGNATURES = {"reparameterize": "reparameterize(mu, logvar, noise=None)", "kl_divergence": "kl_divergence(mu, logvar)",
              "vae_loss": "vae_loss(x_logits, x, mu, logvar, beta=1.0)",
              "interpolate": 'interpolate(z0, z1, steps, method="linear")',
              "vae_train_step": "vae_train_step(model, optimizer, x, beta=1.0)"}
WRONG = "\n" + BANK.MISTAKES["reparameterize"]["variance instead of standard deviation"][0]
CASES = cases(ASSIGNMENT, FULL, SIGNATURES, WRONG, BANK.CORRECT_VARIANTS)
